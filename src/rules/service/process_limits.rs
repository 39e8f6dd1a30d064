//! PRC001 process-limit-below-recommended: a running API-M JVM whose live limits
//! (`/proc/<pid>/limits`) are below the profile's, even when every file is right: limits are
//! fixed at process start, so it needs a restart.

use super::minimum;
use crate::diag::{Finding, Subject};
use crate::model::Location;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// The live limits of a running API-M JVM (`/proc/<pid>/limits`) below the profile's, even
    /// when every file is right.
    /// ### Why it matters
    /// Limits are fixed when the process starts: the running server keeps the old ones until it
    /// is restarted.
    /// ### Fix
    /// Restart API-M (from the unit or a new login session) after fixing the files.
    /// ### Sources
    /// - https://man7.org/linux/man-pages/man5/proc_pid_limits.5.html
    /// - verified-facts, HotSpot raises nofile soft to hard (MaxFDLimit)
    pub(crate) static RULE = "PRC001" "process-limit-below-recommended" Warning "a running API-M JVM has a live limit below the recommended one",
    inputs: [Input::Processes, Input::Expectations],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for p in cx.processes {
        if cx.apim.is_some() && !super::runs_the_audited_home(cx, p) {
            continue;
        }
        // Named by its home, not its pid: the pid changes at every restart, the finding does not.
        let who = p
            .carbon_home
            .clone()
            .unwrap_or_else(|| format!("pid {}", p.pid));
        for (item, live) in [("nofile", p.nofile), ("nproc", p.nproc)] {
            let Some((soft, hard)) = live else { continue };
            // A soft minimum only where the profile has one: not for `nofile`, whose soft limit
            // HotSpot raises to the hard one at start (MaxFDLimit), so the live soft is the hard.
            let Some((hard_min, why)) = minimum(cx, item, "hard") else {
                continue;
            };
            let soft_min = minimum(cx, item, "soft").map(|(v, _)| v);
            if soft_min.is_none_or(|m| soft >= m) && hard >= hard_min {
                continue;
            }
            let expected = match soft_min {
                Some(m) => format!("{m}/{hard_min}"),
                None => format!("hard {hard_min}"),
            };
            out.push(
                Finding::new(
                    RULE.code(),
                    Subject::Process {
                        who: who.clone(),
                        item: item.to_string(),
                    },
                    format!(
                        "the running API-M JVM (pid {}) has `{item}` {soft}/{hard}, expected at least {expected}",
                        p.pid
                    ),
                )
                .at(Some(Location::file_only(&format!("proc/{}/limits", p.pid))))
                .current(format!("{soft}/{hard}"))
                .expected(format!(">= {expected}"))
                .why(format!("{why}; a process keeps the limits it started with"))
                .note("restart API-M after fixing the limits (the unit's, or limits.conf for a login session)"),
            );
        }
    }
}
