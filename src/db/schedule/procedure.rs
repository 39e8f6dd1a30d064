//! What the stored procedures of every engine share: the session side tables, binding the
//! dialect's `?` parameters to procedure variables, the counters and the scheduled call's
//! arguments.

use crate::db::CleanPlan;
use crate::db::dialect::{Param, Predicate};

/// The session side tables, deleted by SESSION_ID with their session (each only where it
/// exists: older API-M databases lack some).
pub(super) const SESSION_SIDE_TABLES: [&str; 4] = [
    "IDN_AUTH_USER_SESSION_MAPPING",
    "IDN_AUTH_SESSION_APP_INFO",
    "IDN_AUTH_SESSION_META_DATA",
    "IDN_FED_AUTH_SESSION_MAPPING",
];

/// One line (or block) per session side table in an engine's syntax: `text(table, var)` gets the
/// table's name and the lower-case name its `v_has_…` variable uses.
pub(super) fn per_side_table(o: &mut String, text: impl Fn(&str, &str) -> String) {
    for t in SESSION_SIDE_TABLES {
        o.push_str(&text(t, &t.to_ascii_lowercase()));
        o.push('\n');
    }
}

/// A predicate's SQL with each `?` replaced by the variable holding that parameter (the dialect
/// promises no `?` inside literals).
pub(super) fn bind(p: &Predicate, var: impl Fn(Param) -> &'static str) -> String {
    let mut params = p.params.iter();
    let mut out = String::with_capacity(p.sql.len() + 64);
    for ch in p.sql.chars() {
        if ch == '?' {
            out.push_str(params.next().map(|&p| var(p)).unwrap_or("?"));
        } else {
            out.push(ch);
        }
    }
    out
}

/// The variable names the MySQL and PostgreSQL procedures keep the cut-offs in.
pub(super) fn plain_var(p: Param) -> &'static str {
    match p {
        Param::Cutoff => "v_cutoff",
        Param::AuditCutoff => "v_audit_cutoff",
        Param::SessionCutoffNs => "v_session_cutoff_ns",
        Param::DeleteCutoffNs => "v_delete_cutoff_ns",
    }
}

/// Counters the procedures keep, in output order.
pub(super) fn counters(c: &CleanPlan) -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    if c.tokens {
        v.push(("tokens", "tokens"));
    }
    if c.codes {
        v.push(("codes", "codes"));
    }
    if c.sessions {
        v.push(("sessions", "sessions"));
        v.push(("session_rows", "session rows"));
    }
    if c.registry {
        v.push(("reg_log", "REG_LOG rows"));
    }
    if c.audit_older_than.is_some() {
        v.push(("audit", "audit rows"));
    }
    v
}

/// The values a scheduled call passes: safe period, batch, pause, audit age.
pub(super) fn call_args(c: &CleanPlan) -> String {
    format!(
        "{}, {}, {}, {}",
        c.safe_period.as_secs(),
        c.batch,
        c.pause.as_millis(),
        c.audit_older_than
            .map(|d| d.as_secs().to_string())
            .unwrap_or_else(|| "NULL".to_string())
    )
}
