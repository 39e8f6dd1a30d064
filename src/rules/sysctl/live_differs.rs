//! SYS005 sysctl-live-differs-from-persisted: the running kernel's value is not what boot sets.
//!
//! Either the live value was changed by hand (lost at reboot) or the files were edited and never
//! loaded. Keys systemd raises at boot (`fs.file-max`, `fs.nr_open`) are SYS012's business.

use crate::finding::Finding;
use crate::host::sysctl::normalize_value;
use crate::rules::RuleContext;
use crate::rules::codes::Code;
use crate::rules::expectation::NEVER_LOWER;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for entry in cx.sysctl.entries.values() {
        let (Some(winner), Some(live)) = (&entry.winner, &entry.live) else {
            continue;
        };
        if NEVER_LOWER.contains(&entry.key.as_str()) {
            continue;
        }
        let persisted = normalize_value(&winner.value);
        if persisted == normalize_value(live) {
            continue;
        }
        out.push(
            Finding::new(
                Code::Sys005,
                format!("sysctl:{}", entry.key),
                format!(
                    "`{}` is {live} in the running kernel but {persisted} at boot",
                    entry.key
                ),
            )
            .at(Some(winner.location()))
            .current(live.clone())
            .expected(persisted)
            .why("what runs today is not what the next boot gives: load the files with `sysctl --system`, or persist the live value")
            .note(format!("live value from `proc/sys/{}`", entry.key.replace('.', "/"))),
        );
    }
}
