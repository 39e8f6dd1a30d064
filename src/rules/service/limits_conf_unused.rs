//! SVC002 limits-conf-not-applied-to-service: limits.conf lines for the user of the systemd
//! service that runs API-M. pam_limits applies to login sessions only, so these lines do not
//! reach the service and give a false sense of being tuned.

use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// limits.conf or limits.d lines for the API-M user while API-M runs as a systemd service.
    /// ### Why it matters
    /// pam_limits applies to login sessions only; these lines do not reach the service and give
    /// a false sense of being tuned.
    /// ### Fix
    /// Set the limits in the unit (see SVC001); the lines can stay for interactive sessions.
    /// ### Sources
    /// - systemd.exec, Process properties (LimitNOFILE=, and that PAM limits do not apply)
    /// - limits.conf.5
    pub(crate) static RULE = "SVC002" "limits-conf-not-applied-to-service" Info "limits.conf does not apply to the API-M systemd service",
    inputs: [Input::Units, Input::Limits],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for unit in cx.units {
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
                RULE.code(),
                Subject::Unit {
                    unit: unit.name.clone(),
                    setting: "limits.conf".into(),
                },
                format!(
                    "API-M runs as the systemd service `{}`; this `{} {}` line does not apply to it",
                    unit.name, line.domain, line.item
                ),
            )
            .at(Some(line.location()))
            .why("pam_limits sets limits for login sessions only; services get the unit's Limit*= values")
            .see("systemd.exec, LimitNOFILE=; limits.conf.5"),
        );
        }
    }
}
