//! Limits rules that need code: soft above hard, nproc for Carbon's threads, root and `*`.

mod nproc_threads;
mod root_wildcard;
mod soft_above_hard;

use super::RuleContext;
use crate::finding::Finding;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    // limits.conf does not reach a systemd service: the service rules judge the unit instead.
    if !cx.units.is_empty() {
        return;
    }
    soft_above_hard::check(cx, out);
    nproc_threads::check(cx, out);
    root_wildcard::check(cx, out);
}
