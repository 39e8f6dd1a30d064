//! DBG006 mysql-time-zone-not-utc: WSO2's MySQL cleanup procedures compare API-M's UTC
//! timestamps with `NOW()`, the server's local time.

use super::Judged;
use crate::db::model::DbFacts;
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input};

declare_rule! {
    /// ### What it checks
    /// `db audit` on MySQL/MariaDB: the server's time zone is not UTC.
    /// ### Why it matters
    /// WSO2's MySQL cleanup procedures compare API-M's UTC timestamps with `NOW()`, which is the
    /// server's local time: east of UTC they delete tokens still inside the safe period, west of
    /// it they keep expired ones longer. apim-tune computes its cut-off in UTC and is not
    /// affected.
    /// ### Fix
    /// Use `apim-tune db clean`, or run the server in UTC before using WSO2's procedures.
    /// ### Sources
    /// - data-growth
    /// - https://dev.mysql.com/doc/refman/8.0/en/time-zone-support.html: the server time zone
    pub(crate) static RULE = "DBG006" "mysql-time-zone-not-utc" Info "the MySQL server is not on UTC, which shifts WSO2's cleanup cut-off",
    inputs: [Input::Database],
    check: Check::Db(check),
}

pub fn check(facts: &DbFacts, out: &mut Judged) {
    let Some(tz) = &facts.time_zone else { return };
    let subject = Subject::DbVariable {
        name: "global.time_zone".into(),
    };
    out.checked("db-config", subject.clone());
    let offset = tz.offset_minutes;
    if offset == 0 {
        return;
    }
    out.findings.push(
        Finding::new(
            RULE.code(),
            subject,
            format!(
                "the server's time is UTC{}{:02}:{:02}: WSO2's MySQL cleanup procedures shift their safe period by that",
                if offset < 0 { "-" } else { "+" },
                offset.abs() / 60,
                offset.abs() % 60
            ),
        )
        .current(if tz.global == "SYSTEM" {
            format!("SYSTEM ({})", tz.system)
        } else {
            tz.global.clone()
        })
        .expected("+00:00")
        .why("API-M writes its timestamps in UTC, and the procedures compare them with NOW(), the server's local time"),
    );
}
