//! APM020 timeout-order-inverted: the gateway's timeouts must nest.
//!
//! From the inside out: each endpoint's timeout <= `synapse.global_timeout_interval` (how long a
//! callback waits for any backend) < the idle timeout of the clients or load balancer in front
//! (only when the operator gives it, `--client-timeout`) < the pass-through socket timeout
//! (`http.socket.timeout`, idle time on client and backend sockets). WSO2 shipped a 60 s socket
//! timeout under a 120 s global timeout until 2.6.0 (carbon-apimgt#5560): slow backends were cut
//! at 60 s whatever the endpoint and global timeouts said.
//!
//! This rule reports an inversion; it writes nothing itself. The socket timeout's profile entry
//! (APM001) carries the fix, with its minimum raised above the global and client timeouts, so
//! that `--apply` never writes an inverting value; the endpoint and global timeouts are the
//! operator's choice, and a fix between them would be a guess.

use crate::apim::Observed;
use crate::diag::Finding;
use crate::model::Location;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// On gateway roles, that endpoint timeouts (`<timeout><duration>` of the APIs and endpoints
    /// deployed under `repository/deployment/server/synapse-configs/default`, up to 3.x) are at
    /// most `synapse.global_timeout_interval`, that the global timeout is below the client or
    /// load-balancer idle timeout (`--client-timeout SECONDS`, only when given), and that all of
    /// them are below the pass-through socket timeout.
    /// ### Why it matters
    /// A socket timeout shorter than the global or endpoint timeout cuts slow backends before
    /// the endpoint's timeout action or the global timeout can run (the 60 s under 120 s shipped
    /// until 2.6.0); a global timeout longer than the client's keeps the gateway working for a
    /// client that has gone; an endpoint timeout above the global one never fires, because the
    /// global timeout handler drops the callback first; a load balancer that keeps idle
    /// connections longer than the gateway reuses connections the gateway has closed.
    /// ### Fix
    /// Raise the socket timeout above the others (the profile's socket-timeout entry does, and
    /// `--apply` writes it), or lower the global or endpoint timeout: that one is yours to choose.
    /// ### Sources
    /// - https://github.com/wso2/carbon-apimgt/issues/5560
    /// - carbon-apimgt-5560
    /// - endpoint-timeouts
    /// - tuning-4.x, Timeout configurations for an API call
    pub(crate) static RULE = "APM020" "timeout-order-inverted" Warning "gateway timeouts are not nested (endpoint <= global < client < socket)",
    inputs: [Input::Apim],
    check: Check::Node(check),
}

const SEE: &str = "carbon-apimgt-5560; endpoint-timeouts; tuning-4.x, Timeout configurations";

fn millis(o: &Observed) -> Option<i64> {
    o.value
        .as_deref()
        .and_then(|v| v.trim().parse::<i64>().ok())
}

fn at(o: &Observed) -> Option<Location> {
    o.set_at
        .clone()
        .or_else(|| Some(Location::file_only(&o.file)))
}

fn with_notes(mut f: Finding, obs: &[&Observed]) -> Finding {
    for o in obs {
        if let Some(n) = &o.note {
            f = f.note(format!("`{}`: {n}", o.key));
        }
    }
    f
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    if !matches!(cx.role, "all-in-one" | "gateway") {
        return;
    }
    let (Some(socket), Some(global)) = (
        apim.observe("passthru.socket_timeout"),
        apim.observe("synapse.global_timeout_interval"),
    ) else {
        return;
    };
    // Unknown stays unknown: a value that is not a number is not compared.
    let (Some(s), Some(g)) = (millis(&socket), millis(&global)) else {
        return;
    };
    let client = cx.client_timeout_ms.and_then(|c| i64::try_from(c).ok());
    let endpoints = apim.endpoint_timeouts();
    let in_memory = endpoints
        .in_memory
        .then_some("API-M 4.x deploys APIs in memory: their endpoint timeouts are not in files here and were not compared");

    // When the profile judges the socket timeout, its minimum already lies above the global and
    // client timeouts (APM001 reports and fixes the same key): one finding, not two.
    let socket_judged = cx
        .expectations
        .iter()
        .any(|e| e.key == "passthru.socket_timeout");
    if g >= s && !socket_judged {
        let mut f = Finding::new(
            RULE.code(),
            socket.subject.clone(),
            format!(
                "`{}` is {s} ms, not above `{}` = {g} ms: the gateway closes a waiting connection before the global timeout ends",
                socket.key, global.key
            ),
        )
        .at(at(&socket))
        .current(format!("{s} ms"))
        .expected(format!("> {g} ms"))
        .why("the socket timeout cuts a slow backend before the global timeout (and any endpoint timeout) can act; WSO2 raised the shipped 60 s to 180 s in 2.6.0 for this inversion")
        .see(SEE)
        .note("the socket-timeout profile entry (APM001) carries the fix, above the global timeout");
        f = with_notes(f, &[&socket, &global]);
        out.push(f);
    }
    if let Some(c) = client {
        if g >= c {
            let f = Finding::new(
                RULE.code(),
                global.subject.clone(),
                format!(
                    "`{}` is {g} ms, not below the client idle timeout {c} ms (--client-timeout): clients give up before the gateway does",
                    global.key
                ),
            )
            .at(at(&global))
            .current(format!("{g} ms"))
            .expected(format!("< {c} ms"))
            .why("a gateway that waits longer than its clients keeps workers and backend connections busy for callers that have already gone, and they see a load-balancer timeout instead of the gateway's error")
            .see(SEE);
            out.push(with_notes(f, &[&global]));
        }
        if c >= s && !socket_judged {
            let f = Finding::new(
                RULE.code(),
                socket.subject.clone(),
                format!(
                    "`{}` is {s} ms, not above the client idle timeout {c} ms (--client-timeout): the gateway closes idle connections the load balancer may still reuse",
                    socket.key
                ),
            )
            .at(at(&socket))
            .current(format!("{s} ms"))
            .expected(format!("> {c} ms"))
            .why("the side in front must close an idle connection first; when the gateway closes it first, a request sent on it at that moment fails")
            .see(SEE)
            .note("the socket-timeout profile entry (APM001) carries the fix, above the client timeout");
            out.push(with_notes(f, &[&socket]));
        }
    }
    for e in endpoints.timeouts.iter().filter(|e| e.millis > g) {
        let f = Finding::new(
            RULE.code(),
            crate::diag::Subject::setting(
                e.at.file.rsplit('/').next().unwrap_or(&e.at.file),
                "timeout/duration",
            ),
            format!(
                "an endpoint timeout of {} ms is above `{}` = {g} ms: the global timeout drops the callback first",
                e.millis, global.key
            ),
        )
        .at(Some(e.at.clone()))
        .current(format!("{} ms", e.millis))
        .expected(format!("<= {g} ms"))
        .why("the global timeout handler clears any callback older than the global timeout, so an endpoint timeout above it (and its timeout action) never runs")
        .see(SEE);
        out.push(with_notes(f, &[&global]));
    }
    // The note only where it changes what was found: a finding about the global timeout.
    if let Some(n) = in_memory {
        for f in out
            .iter_mut()
            .filter(|f| f.code == RULE.code() && f.subject == global.subject)
        {
            f.notes.push(n.to_string());
        }
    }
}
