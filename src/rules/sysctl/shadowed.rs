//! SYS006 sysctl-shadowed-line: a line overridden by a later file with a different value.
//!
//! Editing a shadowed line changes nothing at boot; the finding names the line that wins.

use crate::finding::Finding;
use crate::host::sysctl::normalize_value;
use crate::rules::RuleContext;
use crate::rules::codes::Code;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for entry in cx.sysctl.entries.values() {
        let Some(winner) = &entry.winner else {
            continue;
        };
        for line in &entry.shadowed {
            if normalize_value(&line.value) == normalize_value(&winner.value) {
                continue;
            }
            out.push(
                Finding::new(
                    Code::Sys006,
                    format!("sysctl:{}", entry.key),
                    format!(
                        "`{}` = {} here is overridden by {} = {} in {}",
                        entry.key,
                        line.value,
                        winner.location(),
                        winner.value,
                        winner.file.display
                    ),
                )
                .at(Some(line.location()))
                .current(line.value.clone())
                .expected(format!("{} (the value that wins at boot)", winner.value))
                .why("systemd-sysctl applies files in lexical order of their names and the last assignment wins; edit the winning line instead"),
            );
        }
    }
}
