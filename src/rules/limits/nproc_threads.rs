//! LIM003 nproc-below-carbon-threads: nproc below the 1024 threads one Carbon instance needs.
//!
//! WSO2: "each carbon server instance you run would require up to 1024 threads (with default
//! thread pool configuration)". Threads count against RLIMIT_NPROC for the user.
//!
//! One finding per user: the limit thread creation hits is the soft one, as pam_limits leaves
//! it (clamped to the hard one). A hard limit below 1024 is the same shortfall, not a second one.

use crate::diag::{Finding, Subject};
use crate::host::limits::LimitValue;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// The `nproc` limit in effect for the API-M user (the soft one, clamped to the hard one as
    /// pam_limits does) below the 1024 threads one Carbon instance needs with its default pools.
    /// ### Why it matters
    /// Linux counts threads against RLIMIT_NPROC and the kernel enforces the soft limit: thread
    /// creation fails with "unable to create new native thread" under load. The JVM does not
    /// raise it (it raises only `nofile`).
    /// ### Fix
    /// Give `nproc` at least 1024 per Carbon instance on the host (soft and hard).
    /// ### Sources
    /// - tuning-1.9, "each carbon server instance ... would require up to 1024 threads"
    /// - limits.conf.5
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
    // pam_limits clamps soft to hard: the line in effect is the hard one when it is lower, or
    // when no soft line exists (the session's soft limit cannot exceed it).
    let line = match (eff.soft, eff.hard) {
        (Some(s), Some(h)) if h.value < s.value => h,
        (Some(s), _) => s,
        (None, Some(h)) => h,
        (None, None) => return,
    };
    let LimitValue::Value(v) = line.value else {
        return;
    };
    if v >= THREADS_PER_INSTANCE {
        return;
    }
    let clamped = eff.soft.is_some_and(|s| !std::ptr::eq(s, line));
    let mut f = Finding::new(
        RULE.code(),
        // The soft limit is the one in effect (and keeps waivers on `…:nproc:soft` working);
        // the location is the line whose value it has.
        Subject::limit(&cx.user.name, "nproc", Some("soft")),
        format!(
            "`nproc` for `{}` is {v}: one Carbon instance needs up to {THREADS_PER_INSTANCE} threads",
            cx.user.name
        ),
    )
    .at(Some(line.location()))
    .current(v.to_string())
    .expected(format!(">= {THREADS_PER_INSTANCE} per Carbon instance"))
    .why("Linux counts threads against nproc: thread creation fails with `unable to create new native thread` once the user's threads reach it")
    .see("tuning-1.9, 1024 threads per Carbon instance; limits.conf.5");
    if clamped {
        f = f.note("the soft line is higher, but pam_limits clamps it to this hard limit");
    }
    out.push(f);
}
