//! SVC001 unit-limit-below-recommended and SVC002 limits-conf-not-applied-to-service.
//!
//! A systemd service never goes through pam_limits: its limits are the unit's `LimitNOFILE=` /
//! `LimitNPROC=` (drop-ins included), else `DefaultLimitNOFILE=` of system.conf, else systemd's
//! default 1024:524288 (systemd.exec(5)). See: ../shared/knowledge/linux-jvm-cache.md §3.5.

use super::minimum;
use crate::finding::{Finding, Fix};
use crate::host::limits::LimitValue;
use crate::host::systemd::{SYSTEMD_DEFAULT_NOFILE, parse_limit};
use crate::model::Location;
use crate::rules::RuleContext;
use crate::rules::codes::Code;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for unit in cx.units {
        for (item, key) in [("nofile", "LimitNOFILE"), ("nproc", "LimitNPROC")] {
            let (Some((soft_min, why)), Some((hard_min, _))) =
                (minimum(cx, item, "soft"), minimum(cx, item, "hard"))
            else {
                continue;
            };
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
            let Some((soft, hard)) = parse_limit(&value) else {
                continue;
            };
            // HotSpot raises its soft NOFILE to the hard limit at start (MaxFDLimit): for the
            // JVM the soft value in effect is the hard one.
            let soft = if item == "nofile" {
                soft.max(hard)
            } else {
                soft
            };
            if soft >= soft_min && hard >= hard_min {
                continue;
            }
            let target = |cur: LimitValue, min: LimitValue| cur.max(min).to_string();
            let fixed = format!("{}:{}", target(soft, soft_min), target(hard, hard_min));
            // `zz-` sorts after `override.conf` (what `systemctl edit` writes), so ours wins.
            let drop_in = format!("etc/systemd/system/{}.d/zz-apim-tune.conf", unit.name);
            let mut f = Finding::new(
                Code::Svc001,
                format!("systemd:{}:{key}", unit.name),
                format!(
                    "`{key}` of `{}` is {value}, expected at least {soft_min}:{hard_min}",
                    unit.name
                ),
            )
            .at(location.or_else(|| Some(Location::file_only(&unit.file.display))))
            .current(value.clone())
            .expected(format!(">= {soft_min}:{hard_min}"))
            .why(format!(
                "{why}; a systemd service gets its limits from the unit, never from limits.conf"
            ))
            .see("systemd.exec(5) LimitNOFILE=; systemd-system.conf(5) DefaultLimitNOFILE=")
            .note(format!("from {from}"))
            .note(format!(
                "after the fix: `systemctl daemon-reload` and `systemctl restart {}`",
                unit.name
            ));
            f.fix = Some(Fix::Insert {
                file: drop_in,
                key: key.to_string(),
                value: fixed,
            });
            out.push(f);
        }
        // limits.conf lines for the service's user give a false sense of being tuned.
        let user = unit
            .user
            .as_ref()
            .map(|u| u.value.clone())
            .unwrap_or_else(|| "root".into());
        if let Some(line) = cx.limits.lines.iter().find(|l| {
            (l.domain == user || (l.domain == "*" && user != "root"))
                && (l.item == "nofile" || l.item == "nproc")
        }) {
            out.push(
                Finding::new(
                    Code::Svc002,
                    format!("systemd:{}:limits.conf", unit.name),
                    format!(
                        "API-M runs as the systemd service `{}`; this `{} {}` line does not apply to it",
                        unit.name, line.domain, line.item
                    ),
                )
                .at(Some(line.location()))
                .why("pam_limits sets limits for login sessions only; services get the unit's Limit*= values"),
            );
        }
    }
}
