//! PRC002 process-differs-from-restart: a running API-M JVM whose heap or judged options (on
//! its command line, the truth of what runs) are not what the next start would give.

use super::runs_the_audited_home;
use crate::apim::jvm::{option_of, parse_size, render_option};
use crate::diag::{Finding, Subject};
use crate::model::Location;
use crate::profile::Family;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// The `-Xmx`, `-Xms` and every JVM option the profile judges, as a running API-M JVM of
    /// the audited home was started with them (`/proc/<pid>/cmdline`), against what the next
    /// start gives: the start script with the environment of the unit that runs the home
    /// (`Environment=`, `EnvironmentFile=`).
    /// ### Why it matters
    /// The audit judges what the next start gives, but the running server may have been started
    /// with other options (an environment a person set, an edit since): a restart then changes
    /// them, for better or worse, without anyone having decided it.
    /// ### Fix
    /// Make the script or the unit's environment say what should run, then restart API-M; or
    /// restart now to run what they say.
    /// ### Sources
    /// - https://man7.org/linux/man-pages/man5/proc_pid_cmdline.5.html
    /// - systemd.exec, Environment= and EnvironmentFile=
    pub(crate) static RULE = "PRC002" "process-differs-from-restart" Info "a running API-M JVM's options are not what a restart would give",
    inputs: [Input::Processes, Input::Jvm],
    check: Check::Node(check),
}

/// Options compared beyond the profile's: the heap.
const ALWAYS: [&str; 2] = ["-Xmx", "-Xms"];

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(jvm) = cx.jvm() else { return };
    let mut names: Vec<&str> = ALWAYS.to_vec();
    for e in cx.expectations.iter().filter(|e| e.family == Family::Jvm) {
        if !names.contains(&e.key.as_str()) {
            names.push(&e.key);
        }
    }
    for p in cx.processes.iter().filter(|p| runs_the_audited_home(cx, p)) {
        for flag in &names {
            // The JVM takes the last of repeated options.
            let live = p.jvm_args.iter().rev().find_map(|a| {
                let (name, value) = option_of(a)?;
                (name == *flag).then(|| value.unwrap_or_default())
            });
            let restart = jvm.get(flag);
            // Set through JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS or _JAVA_OPTIONS: the running
            // JVM got it from its environment, which its command line does not show.
            if restart.and_then(|o| o.env()).is_some_and(|e| {
                crate::apim::jvm_effect::LAUNCHER_VARIABLES.contains(&e.var.as_str())
            }) {
                continue;
            }
            let written = restart.map(|o| o.flag.value.clone().unwrap_or_default());
            let same = match (&live, &written) {
                (None, None) => true,
                (Some(a), Some(b)) => match (parse_size(a), parse_size(b)) {
                    (Some(x), Some(y)) => x == y,
                    _ => a == b,
                },
                _ => false,
            };
            if same {
                continue;
            }
            let secret = crate::redact::is_secret_key(flag);
            let plain = |v: &Option<String>| match v {
                None => "not set (the JVM's default)".to_string(),
                Some(_) if secret => format!("{flag} ({})", crate::redact::MASK),
                Some(v) => render_option(flag, v),
            };
            let shown = |v: &Option<String>| match v {
                None => plain(v),
                Some(_) => format!("`{}`", plain(v)),
            };
            let who = p
                .carbon_home
                .clone()
                .unwrap_or_else(|| format!("pid {}", p.pid));
            let mut f = Finding::new(
                RULE.code(),
                Subject::Process {
                    who,
                    item: flag.to_string(),
                },
                format!(
                    "the running API-M JVM (pid {}) has {}; a restart gives {}",
                    p.pid,
                    shown(&live),
                    shown(&written)
                ),
            )
            .at(Some(Location::file_only(&format!("{}/cmdline", p.source))))
            .current(plain(&live))
            .expected(format!("{} (after a restart)", plain(&written)))
            .why("the running JVM's command line is what runs; the script and the unit's environment are what the next start gives");
            f = f.note(match restart {
                Some(o) => format!("a restart takes it from {}", o.source()),
                None => "nothing the next start reads sets it".to_string(),
            });
            out.push(f);
        }
    }
}
