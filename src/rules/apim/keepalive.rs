//! APM011 keepalive-not-below-socket-timeout: pass-through `worker_thread_keepalive_sec` must stay
//! below `http.socket.timeout`.
//!
//! WSO2: "worker_thread_keepalive_sec: Default value is 60s. This should be less than the socket
//! timeout." The keep-alive is in seconds, the socket timeout in milliseconds.

use crate::apim::ApimModel;
use crate::finding::{Finding, Fix};
use crate::model::Location;
use crate::rules::codes::Code;

pub fn check(apim: &ApimModel, out: &mut Vec<Finding>) {
    let (Some(ka), Some(to)) = (
        apim.observe("passthru.worker_thread_keepalive_sec"),
        apim.observe("passthru.socket_timeout"),
    ) else {
        return;
    };
    let (Some(ka_s), Some(to_ms)) = (
        ka.value
            .as_deref()
            .and_then(|v| v.trim().parse::<i64>().ok()),
        to.value
            .as_deref()
            .and_then(|v| v.trim().parse::<i64>().ok()),
    ) else {
        return;
    };
    if ka_s * 1000 < to_ms {
        return;
    }
    let below = (to_ms / 1000 - 1).max(1);
    let mut f = Finding::new(
        Code::Apm011,
        ka.subject.clone(),
        format!(
            "`{}` is {ka_s} s, not below `{}` = {to_ms} ms",
            ka.key, to.key
        ),
    )
    .at(ka
        .set_at
        .clone()
        .or_else(|| Some(Location::file_only(&ka.file))))
    .current(format!("{ka_s} s"))
    .expected(format!("< {} s", to_ms / 1000))
    .why("WSO2: the worker keep-alive should be less than the socket timeout")
    .see("tuning-1.9, PassThrough transport");
    if let Some(loc) = &ka.set_at {
        f = f.fix(Fix::Replace {
            location: loc.clone(),
            value: below.to_string(),
        });
    }
    for o in [&ka, &to] {
        if let Some(n) = &o.note {
            f = f.note(format!("`{}`: {n}", o.key));
        }
    }
    out.push(f);
}
