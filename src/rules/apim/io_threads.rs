//! APM012 io-threads-not-core-count: pass-through I/O reactor threads that differ from the core
//! count.
//!
//! Synapse sizes the pass-through I/O reactor to `Runtime.availableProcessors()` when
//! `io_threads_per_reactor` is unset, and WSO2's 4.x guide says to keep it at the core count.
//! Only the pass-through transport is judged: it is the gateway's transport in every version, and
//! the NHTTP reactor settings are only read when axis2.xml configures NHTTP, which no shipped
//! home does. A finding is info: a different count is a deviation worth knowing, not a fault.

use super::set_setting;
use crate::diag::Finding;
use crate::model::Location;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// The pass-through `io_threads_per_reactor` set to something other than the host's core
    /// count (on gateway roles; unset, it is the core count).
    /// ### Why it matters
    /// Reactor threads only move bytes between sockets and buffers (the worker pool mediates),
    /// so one per core keeps every core busy under load; more only add context switches, and
    /// fewer can leave cores idle under TLS. A count copied from another host is the usual cause.
    /// ### Fix
    /// Set it to the core count (or remove the line: the default is the core count).
    /// ### Sources
    /// - tuning-4.x, PassThrough transport of API Gateway (io_threads_per_reactor)
    pub(crate) static RULE = "APM012" "io-threads-not-core-count" Info "pass-through I/O reactor threads differ from the core count",
    inputs: [Input::Host, Input::Apim],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    if !matches!(cx.role, "all-in-one" | "gateway") {
        return;
    }
    let cores = cx.facts.cores.value;
    // Unknown stays unknown: no core count, no verdict on threads per core.
    if cores == 0 {
        return;
    }
    let Some(obs) = apim.observe("passthru.io_threads_per_reactor") else {
        return;
    };
    // Unset, the default is the core count of the host the gateway runs on: nothing to judge.
    let Some(loc) = obs.set_at.clone() else {
        return;
    };
    let Some(v) = obs
        .value
        .as_deref()
        .and_then(|v| v.trim().parse::<u32>().ok())
    else {
        return;
    };
    if v == cores {
        return;
    }
    let mut f = Finding::new(
        RULE.code(),
        obs.subject.clone(),
        format!("`{}` is {v} on a host with {cores} cores", obs.key),
    )
    .at(Some(loc.clone()).or_else(|| Some(Location::file_only(&obs.file))))
    .current(v.to_string())
    .expected(cores.to_string())
    .why("the pass-through I/O reactor moves bytes between sockets and buffers, one thread per core by default (Runtime.availableProcessors()); WSO2 advises keeping it at the core count: more threads only add context switches, fewer can leave cores idle under TLS load")
    .see("tuning-4.x, PassThrough transport of API Gateway")
    .note(format!("cores: {} from {}", cores, cx.facts.cores.source));
    if let Some(n) = &obs.note {
        f = f.note(n.clone());
    }
    f.fix = Some(set_setting(&obs, &cores.to_string(), Some(loc)));
    out.push(f);
}
