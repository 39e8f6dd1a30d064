//! LIM004 limits-wildcard-skips-root: API-M runs as root and only `*` or group lines set limits.
//!
//! limits.conf(5): "group and wildcard limits are not applied to the root user".

use crate::finding::Finding;
use crate::rules::RuleContext;
use crate::rules::codes::Code;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
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
                    Code::Lim004,
                    format!("limits:root:{item}"),
                    format!(
                        "`{} {item}` does not apply to root, and API-M runs as root",
                        line.domain
                    ),
                )
                .at(Some(line.location()))
                .current(format!("{} (not applied to root)", line.domain))
                .expected("an explicit `root` line, or an unprivileged API-M user")
                .why("pam_limits never applies group or wildcard lines to root"),
            );
        }
    }
}
