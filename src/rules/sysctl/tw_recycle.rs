//! SYS010 tcp-tw-recycle-enabled: a `net.ipv4.tcp_tw_recycle` line or live value, judged by the
//! kernel it runs on.
//!
//! Before 4.12 recycling on silently drops SYNs from clients behind NAT: an error. On 4.12 and
//! later the key does not exist and any line for it is dead: it changes nothing, but procps
//! `sysctl -p` exits 1 on it (systemd-sysctl only logs it), so a warning. When the kernel is
//! unknown (an image, a copied tree), the line is one or the other: a warning that says both.
//! SYS011 leaves this key to this rule.

use super::{
    and_earlier, disable, earlier_editable, lines_by_file, not_editable, override_in_drop_in,
};
use crate::diag::{Finding, Severity, Subject};
use crate::host::Nat;
use crate::rules::{Check, Input, RuleContext};
use crate::version::Version;

declare_rule! {
    /// ### What it checks
    /// `net.ipv4.tcp_tw_recycle`: set to 1 on a kernel before 4.12 (error), any persisted
    /// line for it on 4.12 and later, where the key does not exist (warning), and a 1 where the
    /// kernel is unknown (warning).
    /// ### Why it matters
    /// Recycling keeps the last TCP timestamp per remote host and drops SYNs with an older one;
    /// clients behind one NAT share an address but not a timestamp clock, so their connections
    /// are silently dropped. Broken since 4.10 and removed in 4.12 (commit 4396e46187ca); on
    /// 4.12+ the line does nothing but make procps `sysctl -p` exit 1.
    /// ### Fix
    /// Remove the line; never set it. `tcp_tw_reuse` covers the outbound case safely.
    /// ### Sources
    /// - tw-recycle-removal
    /// - tcp.7: tcp_tw_recycle
    /// - ip-sysctl: tcp_tw_reuse
    /// - sysctl.d
    /// - tuning-1.9 (lists the key; the facts above win)
    pub(crate) static RULE = "SYS010" "tcp-tw-recycle-enabled" Error "tcp_tw_recycle is enabled, or a dead line for it",
    inputs: [Input::Host, Input::Sysctl, Input::SysctlKeys(&[KEY])],
    check: Check::Node(check),
}

pub(crate) const KEY: &str = "net.ipv4.tcp_tw_recycle";

/// What the kernel says about the key.
enum Kernel {
    /// Before 4.12, the key exists.
    Has,
    /// 4.12 or later, or `proc/sys` shows the key is missing.
    Removed(String),
    Unknown,
}

fn kernel(cx: &RuleContext) -> Kernel {
    let release = cx.facts.kernel.as_ref().map(|k| k.value.clone());
    match cx.facts.kernel_version() {
        Some(v) if v >= Version::new(4, 12, 0) => {
            Kernel::Removed(format!("kernel {}", release.unwrap_or_default()))
        }
        _ if cx.sysctl.kernel_has(KEY) == Some(false) => Kernel::Removed(
            release
                .map(|r| format!("kernel {r}"))
                .unwrap_or_else(|| "the running kernel".into()),
        ),
        Some(_) => Kernel::Has,
        None if cx.sysctl.kernel_has(KEY) == Some(true) => Kernel::Has,
        None => Kernel::Unknown,
    }
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(entry) = cx.sysctl.get(KEY) else {
        return;
    };
    match kernel(cx) {
        Kernel::Removed(kernel) => dead_lines(cx, entry, &kernel, out),
        Kernel::Has => recycling_on(cx, entry, Severity::Error, out),
        Kernel::Unknown => recycling_on(cx, entry, Severity::Warning, out),
    }
}

/// 4.12+: every persisted line for the key, whatever its value, is dead.
fn dead_lines(
    cx: &RuleContext,
    entry: &crate::host::sysctl::SysctlEntry,
    kernel: &str,
    out: &mut Vec<Finding>,
) {
    for (line, earlier) in lines_by_file(entry) {
        let mut f = Finding::new(
            RULE.code(),
            Subject::sysctl(KEY),
            format!(
                "`{KEY}` does not exist in {kernel} (removed in 4.12): the line{} is dead, and procps `sysctl -p` exits 1 on it",
                and_earlier(earlier.len())
            ),
        )
        .severity(Severity::Warning)
        .at(Some(line.location()))
        .current(line.value.clone())
        .expected("absent (the key does not exist)")
        .why("tcp_tw_recycle was removed in Linux 4.12 (commit 4396e46187ca): the line changes nothing, but `sysctl -p` prints \"cannot stat\" and exits 1, which fails provisioning scripts (systemd-sysctl only logs it)")
        .see("tw-recycle-removal; sysctl.d");
        f = match not_editable(cx, line) {
            None => f.fix(disable(
                KEY,
                line.location(),
                "does not exist in the running kernel (removed in Linux 4.12)",
                earlier.iter().map(|l| l.location()).collect(),
            )),
            Some(why) => f.note(format!(
                "{why}, and no later file can unset a key: have the line removed where the file comes from"
            )),
        };
        if line.ignore_failure {
            f = f.note(
                "the `-` prefix silences systemd-sysctl, but procps `sysctl -p` still exits 1",
            );
        }
        out.push(f);
    }
}

/// Before 4.12 (or an unknown kernel): recycling on, persisted or live.
fn recycling_on(
    cx: &RuleContext,
    entry: &crate::host::sysctl::SysctlEntry,
    severity: Severity,
    out: &mut Vec<Finding>,
) {
    let persisted_on = entry.winner.as_ref().is_some_and(|w| w.value.trim() == "1");
    let live_on = entry.live.as_deref().map(str::trim) == Some("1");
    if !persisted_on && !live_on {
        return;
    }
    let mut f = Finding::new(
        RULE.code(),
        Subject::sysctl(KEY),
        match (severity, cx.facts.nat.value) {
            (Severity::Error, Nat::Yes) => format!(
                "`{KEY}` is 1 on a host behind NAT: connections from clients sharing an address are silently dropped"
            ),
            (Severity::Error, _) => format!(
                "`{KEY}` is 1: clients behind NAT (most Internet and corporate clients) get their connections silently dropped"
            ),
            _ => format!(
                "`{KEY}` is 1 and the kernel is unknown: before 4.12 it drops connections from clients behind NAT; from 4.12 the line is dead and `sysctl -p` exits 1 on it"
            ),
        },
    )
    .severity(severity)
    .current("1")
    .expected("absent (never set it)")
    .why("recycling keeps the last TCP timestamp per remote address and drops SYNs with an older one; clients behind one NAT share an address but not a clock. WSO2's tuning page still lists it; it was broken from Linux 4.10 and removed in 4.12")
    .see("tw-recycle-removal; tcp.7, tcp_tw_recycle");
    if severity == Severity::Warning {
        f = f.note("the kernel release is unknown (no proc/sys/kernel/osrelease under the root): give it with --kernel");
    }
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
                    earlier_editable(cx, entry),
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
