//! SYS006 sysctl-shadowed-line: a line of the administrator's overridden by a later file with a
//! different value.
//!
//! Editing a shadowed line changes nothing at boot; the finding names the line that wins. A line
//! in /run or /usr/lib overridden from /etc is how sysctl.d is meant to be used (and how
//! apim-tune's own drop-in fixes a value there), not a problem: it is not reported. Several
//! shadowed lines of one key in one file are one finding, at the last of them.

use crate::diag::{Finding, Subject};
use crate::host::sysctl::{is_admin_file, normalize_value};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// A sysctl line in a file under /etc that is overridden by a later file with a different
    /// value.
    /// ### Why it matters
    /// Editing the shadowed line changes nothing; people lose hours to this.
    /// ### Fix
    /// Remove the shadowed line or edit the line that wins.
    /// ### Sources
    /// - sysctl.d: later files override earlier ones
    pub(crate) static RULE = "SYS006" "sysctl-shadowed-line" Info "a sysctl line is overridden by a later file",
    inputs: [Input::Sysctl],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for entry in cx.sysctl.entries.values() {
        let Some(winner) = &entry.winner else {
            continue;
        };
        let reported: Vec<_> = entry
            .shadowed
            .iter()
            .filter(|line| {
                normalize_value(&line.value) != normalize_value(&winner.value)
                    && is_admin_file(cx.root, &line.file)
            })
            .collect();
        // The last shadowed line of each file speaks for the file's earlier ones.
        for (line, earlier) in super::group_by_file(reported) {
            let earlier = earlier.len();
            let mut f = Finding::new(
                RULE.code(),
                Subject::sysctl(&entry.key),
                format!(
                    "`{}` = {} here{} is overridden by {} = {} in {}",
                    entry.key,
                    line.value,
                    match earlier {
                        0 => String::new(),
                        1 => " (and on 1 earlier line of this file)".to_string(),
                        n => format!(" (and on {n} earlier lines of this file)"),
                    },
                    winner.location(),
                    winner.value,
                    winner.file.display
                ),
            )
            .at(Some(line.location()))
            .current(line.value.clone())
            .expected(format!("{} (the value that wins at boot)", winner.value))
            .why("systemd-sysctl applies files in lexical order of their names and the last assignment wins; edit the winning line instead");
            if line.file.display == "etc/sysctl.conf" {
                f = f.note("procps `sysctl --system` applies /etc/sysctl.conf again after every sysctl.d file, so this line wins there until the next boot: load with `systemctl restart systemd-sysctl` instead");
            }
            out.push(f);
        }
    }
}
