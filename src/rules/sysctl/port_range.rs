//! SYS020 ephemeral-port-range-small: the ephemeral port range is smaller than the kernel's
//! default on a node that opens many outbound connections.
//!
//! The range is judged by its size, not element by element: `40000 45535` (5,536 ports) is
//! small whatever its ends, and `1024 65535` is large. Only on the roles that open many
//! outbound connections (gateway, all-in-one); a key manager's or traffic manager's outbound
//! connections are pooled and few.

use super::{
    DEFAULT_RANGE, PORT_RANGE, boot_or_live, different_parity, port_range,
    range_too_small as too_small, set_key, size,
};
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// On a gateway or all-in-one node, `net.ipv4.ip_local_port_range` (the line that wins at
    /// boot, else the running kernel's value) holds fewer ports than the kernel's default
    /// `32768 60999` (28,232 ports).
    /// ### Why it matters
    /// Every outbound connection to one backend `ip:port` takes its own local port, and a port
    /// the gateway closed first stays in TIME_WAIT for 60 s (fixed in the kernel). Without
    /// reuse, the range bounds the rate of new connections per backend to about
    /// size / 60 per second (470/s with the default range); beyond it `connect()` fails with
    /// `EADDRNOTAVAIL` ("Cannot assign requested address").
    /// ### Fix
    /// Set at least the kernel's default range `32768 60999`, keeping a lower start or a higher
    /// end (a sysctl.d line). Widening further is safe when the node's own listen ports are
    /// reserved (SYS022).
    /// ### Sources
    /// - ip-sysctl: ip_local_port_range (default 32768 60999)
    /// - https://github.com/torvalds/linux/blob/master/include/net/tcp.h (TCP_TIMEWAIT_LEN, 60 s)
    /// - sysctl.d: where the fix writes the range
    pub(crate) static RULE = "SYS020" "ephemeral-port-range-small" Warning "the ephemeral port range is smaller than the kernel's default",
    inputs: [Input::Sysctl, Input::SysctlKeys(&[PORT_RANGE])],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    if !too_small(cx) {
        return;
    }
    let Some((value, line)) = boot_or_live(cx, PORT_RANGE) else {
        return;
    };
    let Some(range) = port_range(&value) else {
        return;
    };
    // Never narrower at either end: the default range, widened to the current ends, then to
    // ends of different parity (SYS021).
    let (lo, hi) = different_parity((range.0.min(DEFAULT_RANGE.0), range.1.max(DEFAULT_RANGE.1)));
    let mut f = Finding::new(
        RULE.code(),
        Subject::sysctl(PORT_RANGE),
        format!(
            "`{PORT_RANGE}` holds {} ports, fewer than the kernel's default {}: a {} opens a local port per connection to each backend",
            size(range),
            size(DEFAULT_RANGE),
            cx.role
        ),
    )
    .at(line.map(|l| l.location()))
    .current(value.clone())
    .expected(format!(">= {} ports (e.g. `{lo} {hi}`)", size(DEFAULT_RANGE)))
    .why(format!(
        "each connection to one backend ip:port needs its own local port, and a port closed by this side stays in TIME_WAIT for 60 s: {} ports allow about {} new connections per second to one backend before connect() fails with EADDRNOTAVAIL (the default allows about {})",
        size(range),
        size(range) / 60,
        size(DEFAULT_RANGE) / 60
    ))
    .see("ip-sysctl, ip_local_port_range; https://github.com/torvalds/linux/blob/master/include/net/tcp.h, TCP_TIMEWAIT_LEN");
    if line.is_none() {
        f = f.note("set in the running kernel only (no sysctl.d line)");
    }
    f = f.fix(set_key(cx, PORT_RANGE, format!("{lo} {hi}"), line));
    out.push(f);
}
