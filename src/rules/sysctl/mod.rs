//! Sysctl rules that need code: `tcp_tw_recycle`, keys the kernel lacks, live vs persisted,
//! shadowed lines, and persisted values that lower what systemd raised.

mod key_not_in_kernel;
mod live_differs;
mod lowers_maximum;
mod shadowed;
mod tw_recycle;

use super::RuleContext;
use crate::finding::Finding;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    tw_recycle::check(cx, out);
    key_not_in_kernel::check(cx, out);
    live_differs::check(cx, out);
    shadowed::check(cx, out);
    lowers_maximum::check(cx, out);
}
