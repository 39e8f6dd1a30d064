//! SYS005 sysctl-live-differs-from-persisted: the running kernel's value is not what boot sets.
//!
//! Either the live value was changed by hand (lost at reboot) or the files were edited and never
//! loaded. Keys systemd raises at boot (`fs.file-max`, `fs.nr_open`) are SYS012's business.
//! Only keys the profile or a rule reads are judged: a difference in a key nobody advises on is
//! the administrator's business, not a finding.

use super::NEVER_LOWER;
use crate::diag::{Finding, Subject};
use crate::host::sysctl::normalize_value;
use crate::profile::Family;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// The running kernel's value (`/proc/sys`) differs from the value the persisted files set,
    /// for a key the profile or a rule reads.
    /// ### Why it matters
    /// Either someone changed the live value by hand (lost at the next boot) or the files were
    /// edited and never loaded: what is tested today is not what the next boot gives.
    /// ### Fix
    /// Load the files as boot does (`systemctl restart systemd-sysctl`) or persist the live
    /// value.
    /// ### Sources
    /// - sysctl.d
    pub(crate) static RULE = "SYS005" "sysctl-live-differs-from-persisted" Warning "the live kernel value differs from the persisted one",
    inputs: [Input::Sysctl],
    check: Check::Node(check),
}

/// Whether the profile or a rule reads `key`.
fn advised(cx: &RuleContext, rule_keys: &[&str], key: &str) -> bool {
    rule_keys.contains(&key)
        || cx
            .expectations
            .iter()
            .any(|e| e.family == Family::Sysctl && e.key == key)
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let rule_keys = crate::rules::sysctl_keys();
    for entry in cx.sysctl.entries.values() {
        if !advised(cx, &rule_keys, &entry.key) {
            continue;
        }
        let (Some(winner), Some(live)) = (&entry.winner, &entry.live) else {
            continue;
        };
        if NEVER_LOWER.contains(&entry.key.as_str()) {
            continue;
        }
        let persisted = normalize_value(&winner.value);
        if persisted == normalize_value(live) {
            continue;
        }
        out.push(
            Finding::new(
                RULE.code(),
                Subject::sysctl(&entry.key),
                format!(
                    "`{}` is {live} in the running kernel but {persisted} at boot",
                    entry.key
                ),
            )
            .at(Some(winner.location()))
            .current(live.clone())
            .expected(persisted)
            .why("what runs today is not what the next boot gives: load the files as boot does with `systemctl restart systemd-sysctl` (not `sysctl --system`, which applies /etc/sysctl.conf last), or persist the live value")
            .see("sysctl.d")
            .note(format!("live value from `proc/sys/{}`", entry.key.replace('.', "/"))),
        );
    }
}
