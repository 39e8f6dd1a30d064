//! SYS011 sysctl-key-not-in-kernel: a persisted line for a key the running kernel does not have.
//!
//! `sysctl -p` prints "cannot stat /proc/sys/…" and exits 1 on such a line (measured with
//! procps-ng 4.0.2, even with the `-` prefix); systemd-sysctl only logs it. The usual case is
//! `net.ipv4.tcp_tw_recycle` on Linux 4.12 and later, which SYS010 reports. Only judged when `proc/sys` is readable.

use super::{and_earlier, disable, lines_by_file, not_editable};
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// A persisted line for a kernel parameter the running kernel does not have
    /// (`net.ipv4.tcp_tw_recycle` is SYS010's).
    /// ### Why it matters
    /// `sysctl -p` prints "cannot stat" and exits 1 on it, which fails provisioning scripts.
    /// ### Fix
    /// Remove (comment out) the line.
    /// ### Sources
    /// - sysctl.d
    pub(crate) static RULE = "SYS011" "sysctl-key-not-in-kernel" Error "a persisted sysctl key does not exist in the running kernel",
    inputs: [Input::Host, Input::Sysctl],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    if !cx.sysctl.live_available {
        return;
    }
    for entry in cx.sysctl.entries.values() {
        // A dead tcp_tw_recycle line is SYS010's (a warning, with the history of the key).
        if entry.key.contains('*') || entry.live.is_some() || entry.key == super::tw_recycle::KEY {
            continue;
        }
        if cx.sysctl.kernel_has(&entry.key) != Some(false) {
            continue;
        }
        for (line, earlier) in lines_by_file(entry) {
            let kernel = cx
                .facts
                .kernel
                .as_ref()
                .map(|k| format!("kernel {}", k.value))
                .unwrap_or_else(|| "the running kernel".into());
            let mut f = Finding::new(
                RULE.code(),
                Subject::sysctl(&entry.key),
                format!(
                    "`{}` does not exist in {kernel}: `sysctl -p` fails with exit code 1 on this line{}",
                    entry.key,
                    and_earlier(earlier.len())
                ),
            )
            .at(Some(line.location()))
            .current(line.value.clone())
            .expected("absent (the key does not exist)")
            .why("the running kernel has no such parameter (removed, misspelt, or its module is not loaded)")
            .see("sysctl.d");
            f = match not_editable(cx, line) {
                None => f.fix(disable(
                    &entry.key,
                    line.location(),
                    "does not exist in the running kernel",
                    earlier.iter().map(|l| l.location()).collect(),
                )),
                // No value in a later file unsets a key: only the package can drop the line.
                Some(why) => f.note(format!(
                    "{why}, and no later file can unset a key: have the line removed where the file comes from, or hide the whole file with a same-named one in /etc/sysctl.d"
                )),
            };
            if line.ignore_failure {
                f = f.note(
                    "the `-` prefix silences systemd-sysctl, but procps `sysctl -p` still exits 1",
                );
            }
            out.push(f);
        }
    }
}
