//! LIM004 limits-wildcard-skips-root: API-M runs as root and only `*` or group lines set limits.
//!
//! limits.conf(5): "group and wildcard limits are not applied to the root user".

use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// API-M runs as root and the limits are set only with the `*` wildcard.
    /// ### Why it matters
    /// pam_limits does not apply group or wildcard lines to root.
    /// ### Fix
    /// Add explicit `root` lines, or better, run API-M as an unprivileged user.
    /// ### Sources
    /// - limits.conf.5, group and wildcard limits are not applied to root
    pub(crate) static RULE = "LIM004" "limits-wildcard-skips-root" Warning "wildcard limits do not apply to root",
    inputs: [Input::Limits, Input::Units],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    // limits.conf does not reach a systemd service: the service rules judge the unit instead.
    if !cx.units.is_empty() {
        return;
    }
    if cx.user.name != "root" {
        return;
    }
    for item in ["nofile", "nproc"] {
        let wildcard = cx
            .limits
            .lines
            .iter()
            .find(|l| l.item == item && (l.domain == "*" || l.domain.starts_with('@')));
        let explicit = cx
            .limits
            .lines
            .iter()
            .any(|l| l.item == item && l.domain == "root");
        if let (Some(line), false) = (wildcard, explicit) {
            out.push(
                Finding::new(
                    RULE.code(),
                    Subject::limit("root", item, None),
                    format!(
                        "`{} {item}` does not apply to root, and API-M runs as root",
                        line.domain
                    ),
                )
                .at(Some(line.location()))
                .current(format!("{} (not applied to root)", line.domain))
                .expected("an explicit `root` line, or an unprivileged API-M user")
                .why("pam_limits never applies group or wildcard lines to root")
                .see("limits.conf.5"),
            );
        }
    }
}
