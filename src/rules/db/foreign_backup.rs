//! DBG007 foreign-backup-table: a `BAK_<TABLE>` table made by WSO2's cleanup procedures.

use super::Judged;
use crate::db::model::DbFacts;
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input};

declare_rule! {
    /// ### What it checks
    /// `db audit`: a `BAK_<TABLE>` table exists that apim-tune did not create: WSO2's cleanup
    /// procedures drop and re-create it as a full copy of the table on every run.
    /// ### Why it matters
    /// It can be as large as the table it copies, and `db clean --backup` will not write into it.
    /// ### Fix
    /// Drop it once you no longer need it, or rename it.
    /// ### Sources
    /// - data-growth: Deep cleaning
    pub(crate) static RULE = "DBG007" "foreign-backup-table" Info "a BAK_ table made by WSO2's procedures takes space",
    inputs: [Input::Database],
    check: Check::Db(check),
}

pub fn check(facts: &DbFacts, out: &mut Judged) {
    for (name, rows) in &facts.foreign_backups {
        out.findings.push(
            Finding::new(
                RULE.code(),
                Subject::DbTable { table: name.clone() },
                format!("`{name}` ({rows} rows) was made by WSO2's cleanup procedure, not apim-tune"),
            )
            .current(format!("{rows} rows"))
            .why("WSO2's procedures re-create it as a full copy of the table on every run; `db clean --backup` refuses to write into it"),
        );
    }
}
