//! LIM003 nproc-below-carbon-threads: nproc below the 1024 threads one Carbon instance needs.
//!
//! WSO2: "each carbon server instance you run would require up to 1024 threads (with default
//! thread pool configuration)". Threads count against RLIMIT_NPROC for the user.

use crate::diag::{Finding, Subject};
use crate::host::limits::LimitValue;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// An `nproc` limit below the 1024 threads one Carbon instance needs with its default pools.
    /// ### Why it matters
    /// Thread creation fails with "unable to create new native thread" under load.
    /// ### Fix
    /// Give `nproc` at least 1024 per Carbon instance on the host.
    /// ### Sources
    /// - limits.conf.5
    /// - tuning-1.9: OS-level settings (1024 threads per Carbon instance)
    pub(crate) static RULE = "LIM003" "nproc-below-carbon-threads" Error "nproc is below what one Carbon instance needs",
    inputs: [Input::Limits, Input::Units],
    check: Check::Node(check),
}

/// Threads one Carbon instance may start with the default pools (WSO2 tuning guide).
const THREADS_PER_INSTANCE: u64 = 1024;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    // limits.conf does not reach a systemd service: the service rules judge the unit instead.
    if !cx.units.is_empty() {
        return;
    }
    let eff = cx.limits.effective(&cx.user.name, &cx.user.groups, "nproc");
    for (kind, line) in [("soft", eff.soft), ("hard", eff.hard)] {
        let Some(line) = line else { continue };
        // pam_limits clamps soft to hard: judge what the session really gets.
        let value = match (kind, eff.hard) {
            ("soft", Some(hard)) => line.value.min(hard.value),
            _ => line.value,
        };
        let LimitValue::Value(v) = value else {
            continue;
        };
        if v >= THREADS_PER_INSTANCE {
            continue;
        }
        out.push(
            Finding::new(
                RULE.code(),
                Subject::limit(&cx.user.name, "nproc", Some(kind)),
                format!(
                    "{kind} `nproc` for `{}` is {v}: one Carbon instance needs up to {THREADS_PER_INSTANCE} threads",
                    cx.user.name
                ),
            )
            .at(Some(line.location()))
            .current(v.to_string())
            .expected(format!(">= {THREADS_PER_INSTANCE} per Carbon instance"))
            .why("thread creation fails with `unable to create new native thread` once the user's processes and threads reach nproc")
            .see("tuning-1.9, limits.conf"),
        );
    }
}
