//! PRC002 process-heap-differs-from-restart: a running API-M JVM whose heap (`-Xms`/`-Xmx` on
//! its command line, the truth of what runs) is not what the start script would give at the
//! next restart.

use super::runs_the_audited_home;
use crate::apim::jvm::parse_size;
use crate::diag::{Finding, Subject};
use crate::model::Location;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// The `-Xmx`/`-Xms` a running API-M JVM of the audited home was started with
    /// (`/proc/<pid>/cmdline`) against the start script's value in effect.
    /// ### Why it matters
    /// What runs is judged from the script, but the running server may have been started with
    /// other options (an environment the unit or a person set, an edit since): a restart then
    /// changes the heap, for better or worse, without anyone having decided it.
    /// ### Fix
    /// Make the script (or the unit's environment) say what should run, then restart API-M; or
    /// restart now to run what the script says.
    pub(crate) static RULE = "PRC002" "process-heap-differs-from-restart" Info "a running API-M JVM's heap is not what a restart would give",
    inputs: [Input::Processes, Input::Jvm],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(opts) = cx.jvm() else { return };
    // The script's default heap applies only when the environment does not set JVM_MEM_OPTS
    // (`if [ -z "$JVM_MEM_OPTS" ]`): a unit of this home that sets it decides the restart.
    let unit_mem_opts = cx
        .home_units
        .iter()
        .find_map(|u| u.environment.get("JVM_MEM_OPTS"));
    for p in cx.processes.iter().filter(|p| runs_the_audited_home(cx, p)) {
        for (flag, live) in [("-Xmx", &p.xmx), ("-Xms", &p.xms)] {
            let (Some(live), Some(script)) = (live, opts.get(flag)) else {
                continue;
            };
            let from_unit = unit_mem_opts
                .filter(|_| script.in_mem_opts_default)
                .map(|env| {
                    let value = env
                        .value
                        .split_whitespace()
                        .rev()
                        .find_map(|w| w.strip_prefix(flag))
                        .map(str::to_string);
                    (
                        value,
                        format!("`JVM_MEM_OPTS` of the unit at {}", env.location),
                    )
                });
            let (written, set_at) = match from_unit {
                // The unit sets JVM_MEM_OPTS without this option: the JVM's default, unknown here.
                Some((None, _)) => continue,
                Some((Some(v), at)) => (v, at),
                None => match script.value.as_deref() {
                    Some(v) => (
                        v.to_string(),
                        format!("the script at {}", opts.file.location(script.token_span)),
                    ),
                    None => continue,
                },
            };
            let written = written.as_str();
            if parse_size(live).is_none() || parse_size(live) == parse_size(written) {
                continue;
            }
            let who = p
                .carbon_home
                .clone()
                .unwrap_or_else(|| format!("pid {}", p.pid));
            out.push(
                Finding::new(
                    RULE.code(),
                    Subject::Process {
                        who,
                        item: flag.to_string(),
                    },
                    format!(
                        "the running API-M JVM (pid {}) has `{flag}{live}`; a restart gives `{flag}{written}`",
                        p.pid
                    ),
                )
                .at(Some(Location::file_only(&format!("{}/cmdline", p.source))))
                .current(format!("{flag}{live}"))
                .expected(format!("{flag}{written} (after a restart)"))
                .why("the running JVM's command line is what runs; the script is what the next start gives")
                .note(format!("a restart takes it from {set_at}")),
            );
        }
    }
}
