//! SYS012 sysctl-lowers-kernel-maximum: a persisted `fs.file-max`/`fs.nr_open` below the live value.
//!
//! systemd (since v240) raises both to the kernel maximum at boot; a copied tuning line then
//! lowers the limit it meant to raise. See: systemd src/core/main.c bump_file_max_and_nr_open().

use crate::finding::{Finding, Fix};
use crate::rules::RuleContext;
use crate::rules::codes::Code;
use crate::rules::expectation::NEVER_LOWER;

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
        out.push(
            Finding::new(
                Code::Sys012,
                format!("sysctl:{key}"),
                format!("`{key}` = {p} persisted is below the live {l}: at boot it lowers the limit"),
            )
            .at(Some(winner.location()))
            .current(p.to_string())
            .expected(format!(">= {l} (or no line at all)"))
            .why("systemd raises fs.file-max and fs.nr_open to the kernel maximum at boot; a lower persisted value takes that back")
            .fix(Fix::RemoveLine {
                location: winner.location(),
            }),
        );
    }
}
