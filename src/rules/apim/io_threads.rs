//! APM012 io-threads-not-core-count: I/O reactor threads that differ from the core count.
//!
//! WSO2: I/O reactors keep one dispatch thread per core ("Make the number of threads equal to
//! the number of processor cores"). Pass-through is the live gateway transport; NHTTP settings
//! only matter when its axis2.xml is swapped in, so they are reported as info.

use super::set_setting;
use crate::diag::{Finding, Severity};
use crate::model::Location;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// I/O reactor thread counts (`io_threads_per_reactor`, `snd_io_threads`, `lst_io_threads`)
    /// that differ from the host's core count.
    /// ### Why it matters
    /// One dispatch thread per core is the design point of the non-blocking reactors; more only
    /// adds context switches, fewer leaves cores idle.
    /// ### Fix
    /// Set it to the core count, or remove it where the code default is the core count.
    /// ### Sources
    /// - tuning-1.9: PassThrough transport
    /// - tuning-4.x
    pub(crate) static RULE = "APM012" "io-threads-not-core-count" Warning "I/O reactor threads differ from the core count",
    inputs: [Input::Host, Input::Apim],
    check: Check::Node(check),
}

const SETTINGS: &[(&str, Severity)] = &[
    ("passthru.io_threads_per_reactor", Severity::Warning),
    ("nhttp.snd_io_threads", Severity::Info),
    ("nhttp.lst_io_threads", Severity::Info),
];

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
    for (id, severity) in SETTINGS {
        let Some(obs) = apim.observe(id) else {
            continue;
        };
        let Some(v) = obs
            .value
            .as_deref()
            .and_then(|v| v.trim().parse::<u32>().ok())
        else {
            continue;
        };
        if v == cores {
            continue;
        }
        let mut f = Finding::new(
            RULE.code(),
            obs.subject.clone(),
            format!("`{}` is {v} on a host with {cores} cores", obs.key),
        )
        .severity(*severity)
        .at(obs.set_at.clone().or_else(|| Some(Location::file_only(&obs.file))))
        .current(v.to_string())
        .expected(cores.to_string())
        .why("non-blocking I/O reactors are designed for one dispatch thread per core: more threads only add context switches, fewer leave cores idle")
        .see("tuning-1.9, NHTTP and PassThrough transports")
        .note(format!("cores: {} from {}", cores, cx.facts.cores.source));
        if let Some(n) = &obs.note {
            f = f.note(n.clone());
        }
        f.fix = match &obs.set_at {
            Some(loc) => Some(set_setting(&obs, &cores.to_string(), Some(loc.clone()))),
            None if obs.file_exists => Some(set_setting(&obs, &cores.to_string(), None)),
            None => None,
        };
        out.push(f);
    }
}
