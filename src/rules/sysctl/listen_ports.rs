//! SYS022 listen-port-in-ephemeral-range: a port the API-M node listens on (with its offset)
//! lies in the ephemeral range and is not in `net.ipv4.ip_local_reserved_ports`.
//!
//! The old advice "start the range at 10000 to avoid API-M's ports" is false: the JMX RMI
//! server listens on 11111 by default, the 1.x/2.x Thrift key-validation server on 10397, and a
//! port offset moves every port. Reserving the node's own ports keeps the range wide and the
//! ports free.

use super::{PORT_RANGE, RESERVED_PORTS, boot_or_live, port_range, set_key};
use crate::apim::ports::node_ports;
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// Each port the node listens on (servlet 9443/9763, pass-through 8243/8280, JMX RMI
    /// 9999/11111, broker 5672, event receivers, WebSocket, 1.x/2.x Thrift 10397), plus the port
    /// offset (`carbon.xml` `Ports/Offset`, `deployment.toml` `[server] offset`), against
    /// `net.ipv4.ip_local_port_range` and `net.ipv4.ip_local_reserved_ports`.
    /// ### Why it matters
    /// The kernel hands any port of the ephemeral range to an outbound connection (`connect()`,
    /// `bind()` to port 0). If one holds a listen port when API-M starts, the server cannot bind
    /// it ("Address already in use") and that transport does not come up. Ports in
    /// `ip_local_reserved_ports` are never handed out automatically.
    /// ### Fix
    /// Add the listen ports to `net.ipv4.ip_local_reserved_ports` (a sysctl.d line), keeping
    /// the ports already reserved.
    /// ### Sources
    /// - ip-sysctl: ip_local_reserved_ports
    /// - ip-sysctl: ip_local_port_range
    /// - https://github.com/wso2/carbon-kernel/blob/v4.4.11/distribution/kernel/carbon-home/repository/conf/carbon.xml (RMIRegistryPort 9999, RMIServerPort 11111)
    /// - sysctl.d: where the fix writes the reserved ports
    pub(crate) static RULE = "SYS022" "listen-port-in-ephemeral-range" Warning "a listen port of the node is in the ephemeral range and not reserved",
    inputs: [Input::Apim, Input::Sysctl, Input::SysctlKeys(&[PORT_RANGE, RESERVED_PORTS])],
    check: Check::Node(check),
}

/// `ip_local_reserved_ports` as ranges (`8243,9443-9444`). `None` when a part does not parse.
pub(crate) fn parse_reserved(value: &str) -> Option<Vec<(u32, u32)>> {
    let mut out = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let p = part.parse().ok()?;
                (p, p)
            }
        };
        if lo > hi {
            return None;
        }
        out.push((lo, hi));
    }
    Some(out)
}

/// Ranges merged and written as the kernel writes them (`8243,8280,9443-9444`).
pub(crate) fn render_reserved(mut ranges: Vec<(u32, u32)>) -> String {
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::new();
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else {
        return;
    };
    let Some((range_value, range_line)) = boot_or_live(cx, PORT_RANGE) else {
        return;
    };
    let Some((lo, hi)) = port_range(&range_value) else {
        return;
    };
    let (reserved_value, reserved_line) =
        boot_or_live(cx, RESERVED_PORTS).unwrap_or((String::new(), None));
    // A list that does not parse is reported by the kernel when loaded; do not build on it.
    let Some(reserved) = parse_reserved(&reserved_value) else {
        return;
    };
    let ports = node_ports(apim);
    let exposed: Vec<_> = ports
        .ports
        .iter()
        .filter(|p| (lo..=hi).contains(&p.port))
        .filter(|p| !reserved.iter().any(|&(a, b)| (a..=b).contains(&p.port)))
        .collect();
    if exposed.is_empty() {
        return;
    }
    let list = exposed
        .iter()
        .map(|p| p.port.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut f = Finding::new(
        RULE.code(),
        Subject::sysctl(RESERVED_PORTS),
        format!(
            "{} listen port(s) of the node in the ephemeral range {lo}-{hi} not reserved: {list}",
            exposed.len()
        ),
    )
    .at(reserved_line.or(range_line).map(|l| l.location()))
    .current(if reserved_value.is_empty() {
        "(none reserved)".to_string()
    } else {
        reserved_value.clone()
    })
    .expected(format!("includes {list}"))
    .why("the kernel may give a port of the ephemeral range to any outbound connection (connect(), bind() to port 0); if one holds a listen port when API-M starts, that transport cannot bind it (Address already in use). Ports in ip_local_reserved_ports are never handed out automatically, so the range can stay wide")
    .see("ip-sysctl, ip_local_reserved_ports; ip-sysctl, ip_local_port_range")
    .note(format!(
        "port offset {} ({}); {}",
        ports.offset,
        ports.offset_from,
        exposed
            .iter()
            .map(|p| format!("{} {}", p.port, p.what))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    // Every kernel since 2.6.35 has the key; a `proc/sys` that shows none (a trimmed copy of
    // a host) would make the line fail `sysctl -p`, so no line is written there.
    if cx.sysctl.kernel_has(RESERVED_PORTS) == Some(false) {
        f = f.note(format!(
            "the running kernel shows no `{RESERVED_PORTS}`: add the ports where the kernel has it"
        ));
    } else {
        let mut all = reserved;
        all.extend(exposed.iter().map(|p| (p.port, p.port)));
        f = f.fix(set_key(
            cx,
            RESERVED_PORTS,
            render_reserved(all),
            reserved_line,
        ));
    }
    out.push(f);
}
