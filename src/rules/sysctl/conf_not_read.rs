//! SYS013 sysctl-conf-not-read-at-boot: a tuning line in `/etc/sysctl.conf` on a distribution
//! whose boot no longer reads that file (Debian 13+, unless a `99-sysctl.conf` link makes it).
//!
//! The audit sets such lines aside (they are not persisted values); this rule reports each one.
//! Moving it is only right when nothing read at boot sets the key, the key is not one a rule
//! rejects, and its value is not below the profile (then the recommended value moves instead);
//! otherwise it is only commented out.

use super::NEVER_LOWER;
use super::{disable, sysctl_fix};
use crate::diag::{Change, Finding, Subject};
use crate::host::sysctl::SysctlLine;
use crate::profile::Family;
use crate::rules::compare::{Outcome, compare, target_value};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// A tuning line in `/etc/sysctl.conf` on a distribution that no longer reads that file at
    /// boot (Debian 13 and later, unless `/etc/sysctl.d/99-sysctl.conf` links to it).
    /// ### Why it matters
    /// The value looks persisted but the next boot does not apply it.
    /// ### Fix
    /// Move the line to a drop-in in `/etc/sysctl.d` (apim-tune comments it out with a note).
    pub(crate) static RULE = "SYS013" "sysctl-conf-not-read-at-boot" Warning "a sysctl.conf line is not applied at boot on this distribution",
    inputs: [Input::Host, Input::Sysctl, Input::Expectations],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for line in cx.sysctl_unread {
        out.push(finding(cx, line));
    }
}

fn finding(cx: &RuleContext, line: &SysctlLine) -> Finding {
    let distro = cx
        .facts
        .distro
        .as_ref()
        .map(|d| format!("{} {}", d.id, d.version_id.clone().unwrap_or_default()))
        .unwrap_or_default();
    let drop_in = cx.sysctl_drop_in;
    let key = line.key.as_str();
    let entry = cx.sysctl.get(key);
    let set_elsewhere = entry.and_then(|e| e.winner.as_ref());
    let live = entry.and_then(|e| e.live.as_deref());
    let lowers_live = NEVER_LOWER.contains(&key)
        && matches!(
            (line.value.trim().parse::<u64>(), live.map(|l| l.trim().parse::<u64>())),
            (Ok(v), Some(Ok(l))) if v < l
        );
    let rejected = key == "net.ipv4.tcp_tw_recycle" || lowers_live;
    let recommended = cx
        .expectations
        .iter()
        .find(|e| e.family == Family::Sysctl && e.key == key)
        .and_then(|e| match compare(&e.check, Some(&line.value)) {
            Outcome::Pass => None,
            o => target_value(&e.check, o),
        });
    let comment_only = disable(key, line.location(), "is in a file not read at boot");
    let moved = |value: String| {
        sysctl_fix(Change::MoveSysctl {
            key: key.to_string(),
            value,
            from: line.location(),
            drop_in: drop_in.to_string(),
        })
    };
    let (message, fix) = match (set_elsewhere, rejected, recommended) {
        (Some(w), _, _) => (
            format!(
                "`{key}` = {} in etc/sysctl.conf is not read at boot ({distro}); {} sets it at boot",
                line.value,
                w.location()
            ),
            comment_only,
        ),
        (None, true, _) => (
            format!(
                "`{key}` = {} in etc/sysctl.conf is not read at boot ({distro}), and must not be moved: it is harmful",
                line.value
            ),
            comment_only,
        ),
        (None, false, Some(value)) => (
            format!(
                "`{key}` = {} in etc/sysctl.conf is not read at boot ({distro}); the drop-in gets the recommended {value}",
                line.value
            ),
            moved(value),
        ),
        (None, false, None) => (
            format!(
                "`{key}` = {} in etc/sysctl.conf is not applied at boot: {distro} does not read that file",
                line.value
            ),
            moved(line.value.clone()),
        ),
    };
    Finding::new(RULE.code(), Subject::sysctl(key), message)
        .at(Some(line.location()))
        .current(line.value.clone())
        .expected(format!("in {drop_in}, or removed"))
        .why("systemd-sysctl reads only sysctl.d directories; Debian 13 dropped the 99-sysctl.conf link that made it read /etc/sysctl.conf")
        .see("Debian 13 release notes (procps); sysctl.d(5)")
        .fix(fix)
}
