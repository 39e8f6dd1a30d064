//! APM012 io-threads-not-core-count: I/O reactor threads that differ from the core count.
//!
//! WSO2: I/O reactors keep one dispatch thread per core ("Make the number of threads equal to
//! the number of processor cores"). Pass-through is the live gateway transport; NHTTP settings
//! only matter when its axis2.xml is swapped in, so they are reported as info.

use crate::apim::ApimModel;
use crate::finding::{Finding, Fix, Severity};
use crate::model::Location;
use crate::rules::RuleContext;
use crate::rules::codes::Code;

const SETTINGS: &[(&str, Severity)] = &[
    ("passthru.io_threads_per_reactor", Severity::Warning),
    ("nhttp.snd_io_threads", Severity::Info),
    ("nhttp.lst_io_threads", Severity::Info),
];

pub fn check(cx: &RuleContext, apim: &ApimModel, out: &mut Vec<Finding>) {
    if !matches!(cx.role, "all-in-one" | "gateway") {
        return;
    }
    let cores = cx.facts.cores.value;
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
            Code::Apm012,
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
            Some(loc) => Some(Fix::Replace {
                location: loc.clone(),
                value: cores.to_string(),
            }),
            None if obs.file_exists => Some(Fix::Insert {
                file: obs.file.clone(),
                key: obs.key.clone(),
                value: cores.to_string(),
            }),
            None => None,
        };
        out.push(f);
    }
}
