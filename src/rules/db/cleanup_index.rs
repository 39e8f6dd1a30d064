//! DBG002 cleanup-index-missing: an index the cleanup's queries need is missing.

use super::Judged;
use crate::db::model::DbFacts;
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input};

declare_rule! {
    /// ### What it checks
    /// `db audit`: an index the cleanup's queries need on a large table is missing, e.g.
    /// IDN_OAUTH2_AUTHORIZATION_CODE(TOKEN_ID), IDN_AUTH_SESSION_STORE(EXPIRY_TIME, SESSION_ID),
    /// or REG_LOG(REG_PATH, REG_TENANT_ID), which WSO2's scripts never create.
    /// ### Why it matters
    /// Without it every batch scans the whole table while holding its locks.
    /// ### Fix
    /// Create the index the finding shows, at a quiet time.
    /// ### Sources
    /// - data-growth
    pub(crate) static RULE = "DBG002" "cleanup-index-missing" Warning "an index the cleanup needs is missing",
    inputs: [Input::Database],
    check: Check::Db(check),
}

pub fn check(facts: &DbFacts, out: &mut Judged) {
    for need in &facts.cleanup_indexes {
        let table = &need.table;
        let columns = need.columns.join(", ");
        let subject = Subject::DbIndex {
            table: table.clone(),
            columns: need.columns.clone(),
        };
        out.checked("db-indexes", subject.clone());
        // Any index whose leading columns are these serves the cleanup's lookups.
        let covered = need.existing.iter().any(|cols| {
            cols.len() >= need.columns.len()
                && cols
                    .iter()
                    .zip(&need.columns)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        });
        if covered {
            continue;
        }
        out.findings.push(
            Finding::new(
                RULE.code(),
                subject,
                format!("`{table}` has no index on ({columns}) that the cleanup needs"),
            )
            .current("no such index")
            .expected(format!("CREATE INDEX {} ON {table} ({columns})", need.name))
            .why(need.why)
            .note(format!(
                "fix: CREATE INDEX {} ON {table} ({columns});",
                need.name
            )),
        );
    }
}
