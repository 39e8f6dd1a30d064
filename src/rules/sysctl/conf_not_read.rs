//! SYS013 sysctl-conf-not-read-at-boot: a line in `/etc/sysctl.conf` when no sysctl.d entry
//! links to that file, so systemd-sysctl does not read it at boot, on any distribution.
//!
//! The sysctl reader keeps such lines apart (they are not persisted values); this rule reports
//! each key whose last line would change something: a line whose value is what boot sets anyway
//! is quiet. Earlier lines of the same key are overridden by the last even where the file is
//! applied (procps), so they belong to the last line's finding and its fix comments them out
//! too: a file that repeats a line 100,000 times gives one finding, and memory and time grow
//! with the lines, not with their product.
//! Moving it is only right when nothing read at boot sets the key, the key exists and is not
//! one a rule rejects, and its value is not below the profile (then the recommended value moves
//! instead); otherwise it is only commented out.

use super::NEVER_LOWER;
use super::sysctl_fix;
use crate::diag::{Change, Finding, Subject};
use crate::host::sysctl::{SysctlLine, normalize_value};
use crate::profile::Family;
use crate::rules::compare::{Outcome, compare, target_value_keeping};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// A line in `/etc/sysctl.conf` when no sysctl.d directory has an entry that links to that
    /// file (the `99-sysctl.conf` link many distributions ship and Debian 13 dropped), and the
    /// line would change the value boot sets.
    /// ### Why it matters
    /// systemd-sysctl reads only the sysctl.d directories: without the link the value looks
    /// persisted, `sysctl --system` even applies it, but the next boot does not.
    /// ### Fix
    /// Move the line to a drop-in in `/etc/sysctl.d` (apim-tune comments it out with a note), or
    /// only comment it out when boot already sets the key elsewhere or the value must not be set.
    /// ### Sources
    /// - sysctl.d: the directories systemd-sysctl reads
    /// - verified-facts: tests/systemd_oracle.rs
    pub(crate) static RULE = "SYS013" "sysctl-conf-not-read-at-boot" Warning "a sysctl.conf line is not applied at boot",
    inputs: [Input::Sysctl, Input::Expectations],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    // Lines by key in file order; keys in the order of their last line.
    let mut by_key: std::collections::HashMap<&str, Vec<&SysctlLine>> = Default::default();
    for line in &cx.sysctl.unread {
        by_key.entry(line.key.as_str()).or_default().push(line);
    }
    let mut groups: Vec<Vec<&SysctlLine>> = by_key.into_values().collect();
    groups.sort_by_key(|lines| lines.last().map(|l| l.line_span.start));
    for lines in groups {
        if let Some((last, earlier)) = lines.split_last()
            && let Some(f) = finding(cx, last, earlier)
        {
            out.push(f);
        }
    }
}

fn finding(cx: &RuleContext, line: &SysctlLine, earlier: &[&SysctlLine]) -> Option<Finding> {
    let drop_in = cx.sysctl_drop_in;
    let key = line.key.as_str();
    let entry = cx.sysctl.get(key);
    let at_boot = entry.and_then(|e| e.winner.as_ref());
    // Boot sets the same value from a file it reads: the line changes nothing.
    if at_boot.is_some_and(|w| normalize_value(&w.value) == normalize_value(&line.value)) {
        return None;
    }
    let live = entry.and_then(|e| e.live.as_deref());
    let lowers_live = NEVER_LOWER.contains(&key)
        && matches!(
            (line.value.trim().parse::<u64>(), live.map(|l| l.trim().parse::<u64>())),
            (Ok(v), Some(Ok(l))) if v < l
        );
    let harmful = key == "net.ipv4.tcp_tw_recycle" && line.value.trim() == "1";
    let missing = cx.sysctl.kernel_has(key) == Some(false);
    let recommended = cx
        .expectations
        .iter()
        .find(|e| e.family == Family::Sysctl && e.key == key)
        .and_then(|e| match compare(&e.check, Some(&line.value)) {
            Outcome::Pass => None,
            // Boot does not read the line, so the kernel's live value is what it gives now: a
            // list keeps every element either has above the profile.
            o => {
                let current: Vec<&str> = std::iter::once(line.value.as_str()).chain(live).collect();
                target_value_keeping(&e.check, o, &current)
            }
        });
    let also: Vec<_> = earlier.iter().map(|l| l.location()).collect();
    let comment_only = || {
        sysctl_fix(Change::DisableSysctl {
            key: key.to_string(),
            line: line.location(),
            because: "is in a file not read at boot".to_string(),
            also: also.clone(),
        })
    };
    let moved = |value: String| {
        sysctl_fix(Change::MoveSysctl {
            key: key.to_string(),
            value,
            from: line.location(),
            drop_in: drop_in.to_string(),
            also: also.clone(),
        })
    };
    let repeated = match earlier.len() {
        0 => String::new(),
        1 => " (and on 1 earlier line)".to_string(),
        n => format!(" (and on {n} earlier lines)"),
    };
    let head = format!(
        "`{key}` = {} in etc/sysctl.conf{repeated} is not read at boot",
        line.value
    );
    let (message, fix) = if let Some(w) = at_boot {
        (
            format!("{head}; {} sets {} at boot", w.location(), w.value),
            comment_only(),
        )
    } else if harmful {
        (
            format!("{head}, and must not be moved: it is harmful"),
            comment_only(),
        )
    } else if missing {
        (
            format!("{head}, and the running kernel has no such parameter"),
            comment_only(),
        )
    } else if lowers_live {
        (
            format!("{head}, and must not be moved: it would lower a limit systemd raises at boot"),
            comment_only(),
        )
    } else if let Some(value) = recommended {
        (
            format!("{head}; the drop-in gets the recommended {value}"),
            moved(value),
        )
    } else {
        (
            format!(
                "{head}: no sysctl.d entry links to that file, so systemd-sysctl never opens it"
            ),
            moved(line.value.clone()),
        )
    };
    Some(
        Finding::new(RULE.code(), Subject::sysctl(key), message)
            .at(Some(line.location()))
            .current(line.value.clone())
            .expected(format!("in {drop_in}, or removed"))
            .why("systemd-sysctl reads only the sysctl.d directories, and /etc/sysctl.conf only through an entry there that links to it (`99-sysctl.conf`); this host has none")
            .note("procps `sysctl --system` still applies /etc/sysctl.conf (last), so a live value may show the line until the next boot")
            .see("sysctl.d; verified-facts, tests/systemd_oracle.rs")
            .fix(fix),
    )
}
