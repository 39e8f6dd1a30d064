//! DBG003 token-audit-table-growing: IDN_OAUTH2_ACCESS_TOKEN_AUDIT keeps old rows nothing cleans.

use super::Judged;
use crate::clock;
use crate::db::model::DbFacts;
use crate::db::schema;
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input};

declare_rule! {
    /// ### What it checks
    /// `db audit`: IDN_OAUTH2_ACCESS_TOKEN_AUDIT holds rows older than `--older-than` (90 days by
    /// default). API-M copies every token its in-product cleanup removes into it when
    /// `retain_access_tokens_for_auditing` (identity.xml `RetainOldAccessToken`) is on, and no
    /// WSO2 procedure ever cleans it.
    /// ### Why it matters
    /// It grows without bound, with every token ever issued.
    /// ### Fix
    /// Turn retention off unless an audit trail is required, and purge old rows:
    /// `apim-tune db clean --audit-table --older-than 90d`.
    /// ### Sources
    /// - data-growth
    pub(crate) static RULE = "DBG003" "token-audit-table-growing" Warning "the token audit table keeps old rows nothing cleans",
    inputs: [Input::Database],
    check: Check::Db(check),
}

pub fn check(facts: &DbFacts, out: &mut Judged) {
    let Some(s) = facts.table(schema::TOKEN_AUDIT).filter(|s| s.present) else {
        return;
    };
    let old = s.removable.unwrap_or(0);
    if old == 0 {
        return;
    }
    let age = clock::fmt_duration(facts.audit_older_than);
    let mut f = Finding::new(
        RULE.code(),
        Subject::DbTable {
            table: schema::TOKEN_AUDIT.to_string(),
        },
        format!(
            "`{}` holds {old} rows older than {age}, and nothing cleans it",
            schema::TOKEN_AUDIT
        ),
    )
    .current(format!("{old} rows older than {age}"))
    .expected("0")
    .why("API-M copies every token it cleans into this table while retention is on; no WSO2 procedure removes them");
    if let Some(flag) = &facts.context.retain_for_audit {
        f = f
            .at(flag.location.clone())
            .note(format!("`{}` is {}", flag.subject, flag.value));
    }
    out.findings.push(f);
}
