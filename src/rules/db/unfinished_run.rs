//! DBG008 cleanup-run-unfinished: a `db clean` run that stopped before it finished.

use super::Judged;
use crate::db::model::DbFacts;
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input};

declare_rule! {
    /// ### What it checks
    /// `db audit`: a `db clean` run stopped before it finished (Ctrl-C, SIGTERM, a lost
    /// connection).
    /// ### Why it matters
    /// Part of the removable rows are still there; a run with the same options continues with
    /// the same cut-off.
    /// ### Fix
    /// Run the same `apim-tune db clean` command again.
    /// ### Sources
    /// - data-growth: Deep cleaning
    pub(crate) static RULE = "DBG008" "cleanup-run-unfinished" Info "a db clean run stopped before it finished",
    inputs: [Input::Database],
    check: Check::Db(check),
}

pub fn check(facts: &DbFacts, out: &mut Judged) {
    for run in &facts.unfinished_runs {
        let id = run.id;
        out.findings.push(
            Finding::new(
                RULE.code(),
                Subject::DbRow {
                    table: run.table.clone(),
                    id: id.to_string(),
                },
                format!(
                    "`db clean` run {id} ({}), started {} UTC, stopped after {} rows",
                    run.options, run.started, run.rows_done
                ),
            )
            .why("part of what it found removable is still there; the same command continues with the same cut-off"),
        );
    }
}
