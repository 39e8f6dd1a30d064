//! The independent model of "removable" (knowledge file wso2-config.md §4, as the issue
//! states it), in plain integers: no SQL, nothing shared with `src/db/dialect.rs`.

use std::collections::BTreeSet;

pub const NEVER: i64 = 99_999_999_999_990;
pub const DELETE_AGE_NS: i64 = 12 * 3600 * 1_000_000_000;

#[derive(Clone, Debug)]
pub struct Token {
    pub id: String,
    pub state: &'static str,
    pub validity_ms: i64,
    pub refresh_validity_ms: i64,
    pub created: i64,
    pub refresh_created: i64,
}

#[derive(Clone, Debug)]
pub enum CodeToken {
    /// Points at token number `n` of the scenario (if there is one).
    Existing(usize),
    Missing,
    Null,
}

#[derive(Clone, Debug)]
pub struct Code {
    pub id: String,
    pub token: CodeToken,
    pub state: &'static str,
    pub validity_ms: i64,
    pub created: i64,
}

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub session: usize,
    pub kind: usize,
    pub operation: &'static str,
    pub created_ns: i64,
    pub expiry_ns: i64,
}

#[derive(Clone, Debug)]
pub struct RegRow {
    pub id: i64,
    pub path: Option<usize>,
    pub tenant: i64,
    pub action: i64,
}

#[derive(Clone, Debug)]
pub struct AuditRow {
    pub id: i64,
    pub invalidated: Option<i64>,
    pub created: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct Scenario {
    pub tokens: Vec<Token>,
    pub codes: Vec<Code>,
    pub sessions: Vec<SessionRow>,
    /// Session ids with a row in each side table.
    pub side: Vec<usize>,
    pub reg: Vec<RegRow>,
    pub audit: Vec<AuditRow>,
}

pub fn session_id(n: usize) -> String {
    format!("sess-{n:03}")
}

/// What the clean removes, for a run with cut-off `cutoff` (seconds) and safe period `safe`
/// (seconds), audit cut-off `audit_cut`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub tokens: BTreeSet<String>,
    pub codes: BTreeSet<String>,
    pub sessions: BTreeSet<String>,
    pub reg: BTreeSet<i64>,
    pub audit: BTreeSet<i64>,
}

/// A period that can expire: WSO2's `OAuth2Util` treats only a negative one as "never
/// expires" (0 is expired from the start); the huge one is WSO2's stored "never".
fn bounded(v: i64) -> bool {
    (0..NEVER).contains(&v)
}

/// `created + validity` strictly before the cut-off, in milliseconds.
fn expired(created: i64, validity_ms: i64, cutoff: i64) -> bool {
    (created as i128) * 1000 + (validity_ms as i128) < (cutoff as i128) * 1000
}

pub fn token_removable(t: &Token, cutoff: i64) -> bool {
    matches!(t.state, "INACTIVE" | "REVOKED" | "EXPIRED")
        || (t.state == "ACTIVE"
            && bounded(t.validity_ms)
            && bounded(t.refresh_validity_ms)
            && expired(t.created, t.validity_ms, cutoff)
            && expired(t.refresh_created, t.refresh_validity_ms, cutoff))
}

pub fn removed(
    s: &Scenario,
    cutoff: i64,
    safe: i64,
    audit_cut: i64,
    tokens_cleaned: bool,
) -> Removed {
    let mut r = Removed::default();
    for t in &s.tokens {
        if tokens_cleaned && token_removable(t, cutoff) {
            r.tokens.insert(t.id.clone());
        }
    }
    // Codes are judged after the token step: a token removed by it is gone.
    for c in &s.codes {
        let gone = match &c.token {
            CodeToken::Null | CodeToken::Missing => true,
            CodeToken::Existing(n) => match s.tokens.get(*n) {
                Some(t) => r.tokens.contains(&t.id),
                None => true,
            },
        };
        let dead = c.state == "INACTIVE"
            || (bounded(c.validity_ms) && expired(c.created, c.validity_ms, cutoff));
        if gone && dead {
            r.codes.insert(c.id.clone());
        }
    }
    let now = cutoff + safe;
    for row in &s.sessions {
        if row.expiry_ns < cutoff * 1_000_000_000
            || (row.operation == "DELETE" && row.created_ns < now * 1_000_000_000 - DELETE_AGE_NS)
        {
            r.sessions.insert(session_id(row.session));
        }
    }
    for row in &s.reg {
        let superseded = row.path.is_some()
            && s.reg
                .iter()
                .any(|n| n.path == row.path && n.tenant == row.tenant && n.id > row.id);
        if row.action == 7 || superseded {
            r.reg.insert(row.id);
        }
    }
    for a in &s.audit {
        if let Some(t) = a.invalidated.or(a.created)
            && t < audit_cut
        {
            r.audit.insert(a.id);
        }
    }
    r
}
