//! APM011 keepalive-not-below-socket-timeout: pass-through `worker_thread_keepalive_sec` must stay
//! below `http.socket.timeout`.
//!
//! WSO2: "worker_thread_keepalive_sec: Default value is 60s. This should be less than the socket
//! timeout." The keep-alive is in seconds, the socket timeout in milliseconds.

use super::set_setting;
use crate::diag::Finding;
use crate::model::Location;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// The pass-through `worker_thread_keepalive_sec` is not below `http.socket.timeout`.
    /// ### Why it matters
    /// WSO2: the worker keep-alive should be less than the socket timeout, or idle workers
    /// outlive the connections they serve.
    /// ### Fix
    /// Lower `worker_thread_keepalive_sec` below the socket timeout (in seconds).
    /// ### Sources
    /// - thread-pool-executor: keepAliveTime
    /// - tuning-1.9: PassThrough transport
    pub(crate) static RULE = "APM011" "keepalive-not-below-socket-timeout" Warning "worker keep-alive is not below the socket timeout",
    inputs: [Input::Apim],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
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
        RULE.code(),
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
        f = f.fix(set_setting(&ka, &below.to_string(), Some(loc.clone())));
    }
    for o in [&ka, &to] {
        if let Some(n) = &o.note {
            f = f.note(format!("`{}`: {n}", o.key));
        }
    }
    out.push(f);
}
