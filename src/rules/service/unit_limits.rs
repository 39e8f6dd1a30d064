//! SVC001 unit-limit-below-recommended: the limits the systemd unit running API-M really gets.
//!
//! A systemd service never goes through pam_limits: its limits are the unit's `LimitNOFILE=` /
//! `LimitNPROC=` (drop-ins included), else `DefaultLimitNOFILE=` of system.conf, else systemd's
//! default 1024:524288 (systemd.exec(5)). See: ../shared/knowledge/linux-jvm-cache.md §3.5.

use super::minimum;
use crate::diag::{Change, Effect, Finding, Fix, Subject};
use crate::host::systemd::{SYSTEMD_DEFAULT_NOFILE, parse_limit};
use crate::model::Location;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// `LimitNOFILE`/`LimitNPROC` of the systemd unit that runs API-M (from the unit, its
    /// drop-ins, `DefaultLimitNOFILE` in system.conf, or systemd's default 1024:524288) below
    /// the profile's limits.
    /// ### Why it matters
    /// A systemd service never reads limits.conf: only the unit's limits apply to API-M.
    /// ### Fix
    /// A unit drop-in `<unit>.d/zz-apim-tune.conf` with `[Service] LimitNOFILE=soft:hard`, then
    /// `systemctl daemon-reload` and a restart of the unit. Only the hard `nofile` is raised to
    /// the profile's: HotSpot raises its soft limit to the hard one at start (`MaxFDLimit`).
    /// ### Sources
    /// - systemd.exec, LimitNOFILE= and LimitNPROC=
    /// - systemd-system.conf, DefaultLimitNOFILE=
    /// - verified-facts, HotSpot raises nofile soft to hard (MaxFDLimit)
    pub(crate) static RULE = "SVC001" "unit-limit-below-recommended" Warning "the systemd unit running API-M has a limit below the recommended one",
    inputs: [Input::Units, Input::Expectations],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for unit in cx.units {
        for (item, key) in [("nofile", "LimitNOFILE"), ("nproc", "LimitNPROC")] {
            // The hard minimum is what matters; a soft one only where the profile has it (not
            // for `nofile`: HotSpot raises its soft limit to the hard one, MaxFDLimit).
            let Some((hard_min, why)) = minimum(cx, item, "hard") else {
                continue;
            };
            let soft_min = minimum(cx, item, "soft").map(|(v, _)| v);
            let own = if item == "nofile" {
                unit.limit_nofile.as_ref()
            } else {
                unit.limit_nproc.as_ref()
            };
            let (value, location, from) = match (own, item) {
                (Some(s), _) => (
                    s.value.clone(),
                    Some(s.location.clone()),
                    s.location.to_string(),
                ),
                (None, "nofile") => match cx.default_nofile {
                    Some(d) => (
                        d.value.clone(),
                        Some(d.location.clone()),
                        format!("DefaultLimitNOFILE at {}", d.location),
                    ),
                    None => (
                        format!("{}:{}", SYSTEMD_DEFAULT_NOFILE.0, SYSTEMD_DEFAULT_NOFILE.1),
                        None,
                        "systemd's default".into(),
                    ),
                },
                // Unset LimitNPROC leaves the kernel's per-user default, which scales with RAM.
                _ => continue,
            };
            let Some((written_soft, hard)) = parse_limit(&value) else {
                continue;
            };
            // HotSpot raises its soft NOFILE to the hard limit at start (MaxFDLimit): for the
            // JVM the soft value in effect is the hard one.
            let soft = if item == "nofile" {
                written_soft.max(hard)
            } else {
                written_soft
            };
            if soft_min.is_none_or(|m| soft >= m) && hard >= hard_min {
                continue;
            }
            let hard_fixed = hard.max(hard_min);
            let fixed = format!(
                "{}:{hard_fixed}",
                // Never above the new hard limit: systemd refuses a soft value above it.
                written_soft
                    .max(soft_min.unwrap_or(written_soft))
                    .min(hard_fixed)
            );
            let expected = match soft_min {
                Some(m) => format!("{m}:{hard_min}"),
                None => format!("hard {hard_min}"),
            };
            // Sorts after every drop-in of the unit (`override.conf`, what `systemctl edit`
            // writes, among them), so ours wins.
            let drop_in = crate::host::in_effect::unit_drop_in(unit);
            let mut f = Finding::new(
                RULE.code(),
                Subject::Unit {
                    unit: unit.name.clone(),
                    setting: key.to_string(),
                },
                format!(
                    "`{key}` of `{}` is {value}, expected at least {expected}",
                    unit.name
                ),
            )
            .at(location.or_else(|| Some(Location::file_only(&unit.file.display))))
            .current(value.clone())
            .expected(format!(">= {expected}"))
            .why(format!(
                "{why}; a systemd service gets its limits from the unit, never from limits.conf"
            ))
            .see("systemd.exec, LimitNOFILE=; systemd-system.conf, DefaultLimitNOFILE=")
            .note(format!("from {from}"))
            .note(format!(
                "applies to the service, which runs as `{}`; limits.conf does not",
                unit.user.as_ref().map_or("root", |u| u.value.as_str())
            ))
            .note(format!(
                "after the fix: `systemctl daemon-reload` and `systemctl restart {}`",
                unit.name
            ));
            f.fix = Some(Fix::safe(
                Change::SetUnitLimit {
                    drop_in,
                    directive: key.to_string(),
                    value: fixed,
                },
                Effect::RestartService,
            ));
            out.push(f);
        }
    }
}
