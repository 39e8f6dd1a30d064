//! PRC001 process-limit-below-recommended: a running API-M JVM whose live limits
//! (`/proc/<pid>/limits`) are below the profile's, even when every file is right: limits are
//! fixed at process start, so it needs a restart.

use super::minimum;
use crate::finding::Finding;
use crate::model::Location;
use crate::rules::RuleContext;
use crate::rules::codes::Code;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for p in cx.processes {
        // With an API-M home audited, only its own processes (matched by -Dcarbon.home).
        if let (Some(apim), Some(home)) = (cx.apim, &p.carbon_home) {
            let home = home.trim_end_matches('/').trim_start_matches('/');
            if !apim.home.path.ends_with(home) {
                continue;
            }
        }
        for (item, live) in [("nofile", p.nofile), ("nproc", p.nproc)] {
            let Some((soft, hard)) = live else { continue };
            let (Some((soft_min, why)), Some((hard_min, _))) =
                (minimum(cx, item, "soft"), minimum(cx, item, "hard"))
            else {
                continue;
            };
            if soft >= soft_min && hard >= hard_min {
                continue;
            }
            out.push(
                Finding::new(
                    Code::Prc001,
                    format!("process:{}:{item}", p.pid),
                    format!(
                        "the running API-M JVM (pid {}) has `{item}` {soft}/{hard}, expected at least {soft_min}/{hard_min}",
                        p.pid
                    ),
                )
                .at(Some(Location::file_only(&format!("proc/{}/limits", p.pid))))
                .current(format!("{soft}/{hard}"))
                .expected(format!(">= {soft_min}/{hard_min}"))
                .why(format!("{why}; a process keeps the limits it started with"))
                .note("restart API-M after fixing the limits (the unit's, or limits.conf for a login session)"),
            );
        }
    }
}
