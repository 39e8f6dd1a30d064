//! DBG001 removable-rows-present: rows `db clean` would remove now, per cleaned table.

use super::Judged;
use crate::db::model::DbFacts;
use crate::db::schema;
use crate::diag::{Finding, Severity, Subject};
use crate::rules::{Check, Input};

declare_rule! {
    /// ### What it checks
    /// `db audit`: rows in an API-M runtime table that `db clean` would remove now: INACTIVE,
    /// REVOKED or EXPIRED tokens, ACTIVE tokens whose access and refresh token both expired more
    /// than the safe period ago, authorization codes whose token is gone, sessions expired past
    /// the safe period or deleted more than 12 hours ago, superseded registry log rows, token
    /// audit rows older than `--older-than`. The finding gives the count by reason and the
    /// oldest removable row. It is a warning from 10,000 rows, or from 100 rows that are a fifth
    /// of the table or more; info below.
    /// ### Why it matters
    /// Token generation and validation read these tables; dead rows make their indexes deeper
    /// and their scans longer until logins and key validation slow down (WSO2, "Managing data
    /// growth").
    /// ### Fix
    /// `apim-tune db clean --url … --tokens --codes --sessions` (add `--backup` to keep a copy),
    /// or schedule it: `apim-tune db schedule`.
    /// ### Sources
    /// - data-growth
    pub(crate) static RULE = "DBG001" "removable-rows-present" Warning "an API-M runtime table holds rows the cleanup would remove",
    inputs: [Input::Database],
    check: Check::Db(check),
}

/// From this many removable rows (or a fifth of the table) it is a warning.
const WARN_ROWS: u64 = 10_000;

pub fn check(facts: &DbFacts, out: &mut Judged) {
    // The token audit table has DBG003.
    for s in facts
        .tables
        .iter()
        .filter(|s| s.removable.is_some() && s.table != schema::TOKEN_AUDIT)
    {
        let subject = Subject::DbTable {
            table: s.table.clone(),
        };
        out.checked("db-growth", subject.clone());
        let removable = s.removable.unwrap_or(0);
        if removable == 0 {
            continue;
        }
        let rows = s.rows.unwrap_or(0);
        let severity =
            if removable >= WARN_ROWS || (rows > 0 && removable * 5 >= rows && removable >= 100) {
                Severity::Warning
            } else {
                Severity::Info
            };
        let flag = match s.table.as_str() {
            schema::TOKEN => "--tokens",
            schema::CODE => "--codes",
            schema::SESSION => "--sessions",
            _ => "--registry",
        };
        let mut f = Finding::new(
            RULE.code(),
            subject,
            format!("{removable} of {rows} rows of `{}` are removable", s.table),
        )
        .severity(severity)
        .current(format!("{removable} removable"))
        .expected("0 removable")
        .why(match s.table.as_str() {
            schema::TOKEN | schema::CODE => "token generation and validation read this table; dead tokens and codes make it slower for every request that needs a token",
            schema::SESSION => "every login adds session rows; expired ones are only dead weight for the authentication endpoints",
            _ => "every registry change adds a row; only the newest per resource is ever read",
        })
        .see("data-growth, Deep cleaning");
        for (why, n) in &s.reasons {
            f = f.note(format!("{n}: {why}"));
        }
        if let Some(o) = &s.oldest_removable {
            f = f.note(format!("oldest removable row: {o} UTC"));
        }
        // The database named as the audit named it: `--url …` would send someone whose URL is
        // in APIM_TUNE_DB_URL to type it on a command line, where `ps` shows it.
        let (target, note) = facts.named_by.hint_args();
        f = f.note(format!(
            "fix: apim-tune db clean {target}{flag}{}",
            note.unwrap_or_default()
        ));
        out.findings.push(f);
    }
}
