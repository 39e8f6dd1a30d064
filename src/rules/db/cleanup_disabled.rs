//! DBG004 token-cleanup-disabled and DBG005 session-cleanup-disabled: the home turned an
//! in-product cleanup off while its table holds removable rows. One check over two settings:
//! the same judgement, each with its own code.

use super::Judged;
use crate::db::model::ConfigFlag;
use crate::db::model::DbFacts;
use crate::db::schema;
use crate::diag::{Code, Finding};
use crate::rules::{Check, Input};

declare_rule! {
    /// ### What it checks
    /// `db audit --apim-home`: the in-product token cleanup is off (`[oauth.token_cleanup]
    /// enable = false`, identity.xml `EnableTokenCleanup`) and the token table holds removable
    /// rows.
    /// ### Why it matters
    /// Without it, tokens stay in IDN_OAUTH2_ACCESS_TOKEN after they are revoked or replaced.
    /// ### Fix
    /// Enable the token cleanup, or schedule `apim-tune db clean --tokens`.
    /// ### Sources
    /// - data-growth: Regular cleaning
    pub(crate) static TOKENS = "DBG004" "token-cleanup-disabled" Warning "the in-product token cleanup is off while removable tokens pile up",
    inputs: [Input::Database],
    check: Check::Db(check_tokens),
}

declare_rule! {
    /// ### What it checks
    /// `db audit --apim-home`: the in-product session data cleanup is off
    /// (`[session_data.cleanup] enable_expired_data_cleanup = false`, identity.xml
    /// `SessionDataCleanUp/Enable`) and IDN_AUTH_SESSION_STORE holds removable sessions.
    /// ### Why it matters
    /// Every login adds session rows; without the cleanup they stay forever.
    /// ### Fix
    /// Enable it, or schedule `apim-tune db clean --sessions`.
    /// ### Sources
    /// - data-growth: Regular cleaning
    pub(crate) static SESSIONS = "DBG005" "session-cleanup-disabled" Warning "the in-product session cleanup is off while removable sessions pile up",
    inputs: [Input::Database],
    check: Check::Db(check_sessions),
}

pub fn check_tokens(facts: &DbFacts, out: &mut Judged) {
    let flag = facts.context.token_cleanup.as_ref();
    check(
        facts,
        flag,
        schema::TOKEN,
        TOKENS.code(),
        "the in-product token cleanup is off",
        out,
    );
}

pub fn check_sessions(facts: &DbFacts, out: &mut Judged) {
    let flag = facts.context.session_cleanup.as_ref();
    let what = "the in-product session data cleanup is off";
    check(facts, flag, schema::SESSION, SESSIONS.code(), what, out);
}

fn check(
    facts: &DbFacts,
    flag: Option<&ConfigFlag>,
    table: &str,
    code: Code,
    what: &str,
    out: &mut Judged,
) {
    let Some(flag) = flag else { return };
    out.checked("db-config", flag.subject.clone());
    let removable = facts.table(table).and_then(|s| s.removable).unwrap_or(0);
    if flag.value || removable == 0 {
        return;
    }
    out.findings.push(
        Finding::new(
            code,
            flag.subject.clone(),
            format!("{what} and `{table}` holds {removable} removable rows"),
        )
        .at(flag.location.clone())
        .current("false")
        .expected("true")
        .why("without it, API-M never removes these rows itself; schedule `apim-tune db clean` instead if it stays off"),
    );
}
