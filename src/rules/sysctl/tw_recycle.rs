//! SYS010 tcp-tw-recycle-enabled: `net.ipv4.tcp_tw_recycle = 1` where the kernel still has it.
//!
//! On 4.12+ the key does not exist; a persisted line for it is SYS011's business. This rule fires
//! when recycling is (or will be, at boot) on: before 4.12 it silently drops SYNs from clients
//! behind NAT. WSO2's tuning page lists it; the facts win and the finding says so.
//! See: kernel commit 4396e46187ca (tcp: remove tcp_tw_recycle), tcp(7).

use super::{disable, not_editable, override_in_drop_in};
use crate::diag::{Finding, Subject};
use crate::host::Nat;
use crate::rules::{Check, Input, RuleContext};
use crate::version::Version;

declare_rule! {
    /// ### What it checks
    /// `net.ipv4.tcp_tw_recycle = 1` on a kernel that still has the key (before 4.12).
    /// ### Why it matters
    /// Recycling keeps the last TCP timestamp per remote host and drops SYNs with an older one;
    /// clients behind one NAT share an address but not a timestamp clock, so their connections
    /// are silently dropped. Broken since 4.10 and removed in 4.12 (commit 4396e46187ca).
    /// ### Fix
    /// Remove the line; never set it. `tcp_tw_reuse` covers the outbound case safely.
    /// ### Sources
    /// - tw-recycle-removal
    /// - tcp.7: tcp_tw_recycle
    /// - tuning-1.9: the NAT warning on tcp_tw_recycle
    pub(crate) static RULE = "SYS010" "tcp-tw-recycle-enabled" Error "tcp_tw_recycle is enabled",
    inputs: [Input::Host, Input::Sysctl, Input::SysctlKeys(&[KEY])],
    check: Check::Node(check),
}

const KEY: &str = "net.ipv4.tcp_tw_recycle";

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(entry) = cx.sysctl.get(KEY) else {
        return;
    };
    let kernel_removed = cx
        .facts
        .kernel_version()
        .is_some_and(|v| v >= Version::new(4, 12, 0));
    if kernel_removed || cx.sysctl.kernel_has(KEY) == Some(false) {
        return;
    }
    let persisted_on = entry.winner.as_ref().is_some_and(|w| w.value.trim() == "1");
    let live_on = entry.live.as_deref().map(str::trim) == Some("1");
    if !persisted_on && !live_on {
        return;
    }
    let mut f = Finding::new(
        RULE.code(),
        Subject::sysctl(KEY),
        match cx.facts.nat.value {
            Nat::Yes => format!(
                "`{KEY}` is 1 on a host behind NAT: connections from clients sharing an address are silently dropped"
            ),
            _ => format!(
                "`{KEY}` is 1: clients behind NAT (most Internet and corporate clients) get their connections silently dropped"
            ),
        },
    )
    .current("1")
    .expected("absent (never set it)")
    .why("recycling keeps the last TCP timestamp per remote address and drops SYNs with an older one; clients behind one NAT share an address but not a clock. WSO2's tuning page still lists it; it was broken from Linux 4.10 and removed in 4.12")
    .see("kernel commit 4396e46187ca; tcp(7); WSO2 tuning page warning on NAT");
    for signal in &cx.facts.nat_signals {
        f = f.note(format!("NAT: {signal}"));
    }
    f = f.note(format!(
        "NAT verdict `{}` ({})",
        cx.facts.nat.value.as_str(),
        cx.facts.nat.source
    ));
    match &entry.winner {
        Some(w) if w.value.trim() == "1" => {
            f = f.at(Some(w.location()));
            f = match not_editable(cx, w) {
                None => f.fix(disable(
                    KEY,
                    w.location(),
                    "drops connections from clients behind NAT (removed in Linux 4.12)",
                )),
                // The line stays; a 0 that sorts after it wins at boot.
                Some(why) => f
                    .note(format!("{why}: the drop-in sets 0, which wins at boot"))
                    .fix(override_in_drop_in(cx, KEY, "0".into())),
            };
        }
        _ => {
            f = f.note("set in the running kernel only (not persisted): `sysctl -w net.ipv4.tcp_tw_recycle=0`");
        }
    }
    out.push(f);
}
