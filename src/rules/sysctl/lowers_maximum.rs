//! SYS012 sysctl-lowers-kernel-maximum: a persisted `fs.file-max`/`fs.nr_open` below the live value.
//!
//! systemd (since v240) raises both to the kernel maximum at boot; a copied tuning line then
//! lowers the limit it meant to raise. See: systemd src/core/main.c bump_file_max_and_nr_open().

use super::NEVER_LOWER;
use super::{disable, earlier_editable, not_editable, override_in_drop_in};
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// A persisted `fs.file-max` or `fs.nr_open` lower than the live value.
    /// ### Why it matters
    /// systemd raises both to the kernel maximum at boot; a copied `fs.file-max = 2097152` then
    /// lowers the system-wide limit instead of raising it.
    /// ### Fix
    /// Remove the line, or set it no lower than the live value.
    /// ### Sources
    /// - https://github.com/systemd/systemd/blob/main/src/core/main.c (bump_file_max_and_nr_open, systemd 240)
    /// - sysctl.d
    pub(crate) static RULE = "SYS012" "sysctl-lowers-kernel-maximum" Warning "a persisted value lowers a limit the system already raised",
    inputs: [Input::Sysctl, Input::SysctlKeys(NEVER_LOWER)],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for key in NEVER_LOWER {
        let Some(entry) = cx.sysctl.get(key) else {
            continue;
        };
        let (Some(winner), Some(live)) = (&entry.winner, &entry.live) else {
            continue;
        };
        let (Ok(p), Ok(l)) = (
            winner.value.trim().parse::<u64>(),
            live.trim().parse::<u64>(),
        ) else {
            continue;
        };
        if p >= l {
            continue;
        }
        let f = Finding::new(
            RULE.code(),
            Subject::sysctl(*key),
            format!("`{key}` = {p} persisted is below the live {l}: at boot it lowers the limit"),
        )
        .at(Some(winner.location()))
        .current(p.to_string())
        .expected(format!(">= {l} (or no line at all)"))
        .why("systemd raises fs.file-max and fs.nr_open to the kernel maximum at boot; a lower persisted value takes that back");
        out.push(match not_editable(cx, winner) {
            None => f.fix(disable(
                key,
                winner.location(),
                "would lower a limit systemd raises at boot",
                earlier_editable(cx, entry),
            )),
            // The package's line stays; the live value, set after it, wins at boot.
            Some(why) => f
                .note(format!(
                    "{why}: the drop-in sets the live value {l}, which wins at boot"
                ))
                .fix(override_in_drop_in(cx, key, l.to_string())),
        });
    }
}
