//! SYS021 ephemeral-port-range-same-parity: both ends of the ephemeral range are even, or both
//! odd.
//!
//! Since Linux 4.6 `connect()` prefers ports of the low end's parity and `bind()` to port 0 the
//! other; ip-sysctl.rst: "it is better these numbers have different parity". Info: an uneven
//! split, not a failure. When SYS020 already fixes the range, its value has different parity.

use super::{PORT_RANGE, boot_or_live, different_parity, port_range, set_key};
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// The two ends of `net.ipv4.ip_local_port_range` have the same parity.
    /// ### Why it matters
    /// The kernel splits the range by parity: `connect()` tries ports of one parity first and
    /// `bind()` to port 0 the other. With both ends even (or odd) one half has a port more
    /// than the other; the kernel documentation asks for different parity.
    /// ### Fix
    /// Move the high end up by one (or, at 65535, the low end).
    /// ### Sources
    /// - ip-sysctl: ip_local_port_range ("it is better these numbers have different parity")
    pub(crate) static RULE = "SYS021" "ephemeral-port-range-same-parity" Info "both ends of the ephemeral port range have the same parity",
    inputs: [Input::Sysctl, Input::SysctlKeys(&[PORT_RANGE])],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    if super::range_too_small(cx) {
        return;
    }
    let Some((value, line)) = boot_or_live(cx, PORT_RANGE) else {
        return;
    };
    let Some((lo, hi)) = port_range(&value) else {
        return;
    };
    if lo % 2 != hi % 2 {
        return;
    }
    let fixed = different_parity((lo, hi));
    let f = Finding::new(
        RULE.code(),
        Subject::sysctl(PORT_RANGE),
        format!("`{PORT_RANGE}` ends {lo} and {hi} have the same parity"),
    )
    .at(line.map(|l| l.location()))
    .current(value.clone())
    .expected("ends of different parity")
    .why("the kernel gives connect() the ports of one parity first and bind() to port 0 the other; ip-sysctl.rst: \"it is better these numbers have different parity\"")
    .see("ip-sysctl, ip_local_port_range")
    .fix(set_key(cx, PORT_RANGE, format!("{} {}", fixed.0, fixed.1), line));
    out.push(f);
}
