//! The SQL that differs between engines, and the removable predicates, as text.
//!
//! Pure string functions, no database access, so `schedule` can print the same predicates as
//! procedures. Every value is a bind parameter (`?`; [`numbered`] turns them into `$1…` for
//! PostgreSQL); the only text spliced into SQL is identifiers from our own catalogue.
//!
//! Time: the cut-off is computed by apim-tune in UTC (never the server's `NOW()`, which is the
//! session's local time on MySQL: WSO2's MySQL procedures shift the safe period by the server's
//! UTC offset) and bound as wall-clock text `YYYY-MM-DD HH:MM:SS`, the form API-M's UTC
//! timestamps are stored in.

use serde::Serialize;

/// The database engines apim-tune connects to. (SQL Server exists only as a `schedule` target.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Sqlite,
    Postgres,
    MySql,
}

/// ACTIVE tokens and codes whose validity is at or above this (ms, ~3170 years) never expire:
/// WSO2 stores "never" as a huge period, and its procedures skip these rows. A negative period
/// never expires either (`OAuth2Util.getAccessTokenExpireMillis`); 0 is expired at once.
pub const NEVER_EXPIRES_MS: i64 = 99_999_999_999_990;

/// `OPERATION = 'DELETE'` session rows older than this are removed with their whole session
/// (WSO2's operational-data cleanup: 720 minutes).
pub const SESSION_DELETE_AGE_NS: i64 = 12 * 3600 * 1_000_000_000;

/// The REG_LOG action code of a deleted resource (registry `Activity.DELETE_RESOURCE`).
pub const REG_ACTION_DELETE_RESOURCE: i64 = 7;

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgresql",
            Engine::MySql => "mysql",
        }
    }

    /// `TIME_CREATED + VALIDITY_PERIOD ms < cut-off`, exact to the millisecond (WSO2's scripts
    /// round the period down to whole minutes). `cutoff` is a parameter or expression holding
    /// UTC wall-clock text.
    pub fn expired(self, created: &str, validity_ms: &str, cutoff: &str) -> String {
        match self {
            // TIMESTAMP holds CURRENT_TIMESTAMP text (UTC); unixepoch() needs SQLite ≥ 3.38.
            Engine::Sqlite => {
                format!(
                    "(unixepoch({created}) * 1000 + {validity_ms}) < (unixepoch({cutoff}) * 1000)"
                )
            }
            // TIMESTAMP WITHOUT TIME ZONE + interval is wall-clock arithmetic: no session time
            // zone is involved.
            Engine::Postgres => format!(
                "({created} + {validity_ms} * INTERVAL '1 millisecond') < CAST({cutoff} AS TIMESTAMP)"
            ),
            // Read in the session time zone API-M writes with (the server default; apim-tune
            // does not change it), compared with a UTC wall-clock literal.
            Engine::MySql => format!(
                "TIMESTAMPADD(MICROSECOND, {validity_ms} * 1000, {created}) < CAST({cutoff} AS DATETIME)"
            ),
        }
    }

    /// `expr` as text (for timestamps shown to people).
    pub fn text(self, expr: &str) -> String {
        match self {
            Engine::MySql => format!("CAST({expr} AS CHAR)"),
            _ => format!("CAST({expr} AS TEXT)"),
        }
    }

    /// `expr` as a 64-bit integer (SUM is NUMERIC on PostgreSQL and DECIMAL on MySQL).
    pub fn int(self, expr: &str) -> String {
        match self {
            Engine::MySql => format!("CAST({expr} AS SIGNED)"),
            _ => format!("CAST({expr} AS BIGINT)"),
        }
    }

    /// A parameter holding timestamp text, where a TIMESTAMP value is needed (PostgreSQL does
    /// not turn a text parameter into a timestamp by itself).
    pub fn timestamp_param(self) -> &'static str {
        match self {
            Engine::Postgres => "CAST(? AS TIMESTAMP)",
            _ => "?",
        }
    }

    /// The statement that opens a batch's transaction.
    pub fn begin(self) -> &'static str {
        match self {
            // Take the write lock at the start, so the batch never fails half-way on a busy lock.
            Engine::Sqlite => "BEGIN IMMEDIATE",
            // A row API-M changes under the batch becomes a serialization error (the batch is
            // retried), never a row backed up but deleted by someone else.
            Engine::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ",
            Engine::MySql => "BEGIN",
        }
    }

    /// Row locking clause for the batch's key re-check (InnoDB locks records in memory; on
    /// PostgreSQL a row lock writes the row, so REPEATABLE READ does the job there instead).
    pub fn lock_rows(self) -> &'static str {
        match self {
            Engine::MySql => " FOR UPDATE",
            _ => "",
        }
    }

    /// `CREATE TABLE bak AS` an empty copy of `source`'s columns.
    pub fn create_empty_copy(self, bak: &str, source: &str) -> String {
        match self {
            Engine::Postgres => format!("CREATE TABLE {bak} (LIKE {source} INCLUDING DEFAULTS)"),
            _ => format!("CREATE TABLE {bak} AS SELECT * FROM {source} WHERE 1 = 0"),
        }
    }

    /// The columns of `table` in this database (upper-cased by the caller): one text column.
    pub fn columns_query(self) -> &'static str {
        match self {
            Engine::Sqlite => "SELECT name FROM pragma_table_info(?)",
            Engine::Postgres => {
                "SELECT column_name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND lower(table_name) = lower(?)"
            }
            Engine::MySql => {
                "SELECT column_name FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND lower(table_name) = lower(?)"
            }
        }
    }

    /// Index names of `table` with their column lists, one row per (index, column) in order.
    pub fn index_columns_query(self) -> &'static str {
        match self {
            Engine::Sqlite => {
                "SELECT il.name, ii.name FROM pragma_index_list(?) il \
                 JOIN pragma_index_info(il.name) ii ORDER BY il.name, ii.seqno"
            }
            Engine::Postgres => {
                "SELECT CAST(i.relname AS TEXT), CAST(a.attname AS TEXT) FROM pg_index x \
                 JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid \
                 JOIN LATERAL unnest(x.indkey) WITH ORDINALITY k(attnum, n) ON true \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
                 AND lower(t.relname) = lower(?) ORDER BY 1, k.n"
            }
            Engine::MySql => {
                "SELECT index_name, column_name FROM information_schema.statistics \
                 WHERE table_schema = DATABASE() AND lower(table_name) = lower(?) \
                 ORDER BY index_name, seq_in_index"
            }
        }
    }

    /// Bytes used by `table` and its indexes, and whether that is exact.
    pub fn size_query(self) -> (&'static str, &'static str) {
        match self {
            Engine::Sqlite => (
                "SELECT CAST(SUM(pgsize) AS BIGINT) FROM dbstat WHERE name = ? \
                 OR name IN (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?)",
                "exact",
            ),
            Engine::Postgres => (
                "SELECT CAST(pg_total_relation_size(CAST(lower(?) AS regclass)) AS BIGINT) \
                 WHERE ? IS NOT NULL",
                "exact",
            ),
            Engine::MySql => (
                "SELECT CAST(data_length + index_length AS SIGNED) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND lower(table_name) = lower(?) AND ? IS NOT NULL",
                "estimate",
            ),
        }
    }

    /// Tables with an ON DELETE CASCADE foreign key to the table named by the parameter
    /// (servers; SQLite reads `pragma_foreign_key_list` per table).
    pub fn cascading_children_query(self) -> &'static str {
        match self {
            Engine::Postgres => {
                "SELECT DISTINCT CAST(cl.relname AS TEXT) FROM pg_constraint c \
                 JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_class p ON p.oid = c.confrelid \
                 WHERE c.contype = 'f' AND c.confdeltype = 'c' AND lower(p.relname) = lower(?) \
                 AND c.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
                 AND p.relnamespace = c.connamespace"
            }
            _ => {
                "SELECT DISTINCT TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS \
                 WHERE CONSTRAINT_SCHEMA = DATABASE() AND DELETE_RULE = 'CASCADE' \
                 AND lower(REFERENCED_TABLE_NAME) = lower(?)"
            }
        }
    }

    /// One row: the server's own version string.
    pub fn version_query(self) -> &'static str {
        match self {
            Engine::Sqlite => "SELECT 'SQLite ' || sqlite_version()",
            Engine::Postgres => "SELECT version()",
            Engine::MySql => "SELECT version()",
        }
    }
}

/// Rewrites `?` parameters to PostgreSQL's `$1, $2…`. Our SQL has no `?` inside literals.
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `?, ?, …` for an IN list of `n` single keys, or `(?, ?), …` for keys of `width` columns.
pub fn in_list(n: usize, width: usize) -> String {
    let one = if width == 1 {
        "?".to_string()
    } else {
        format!("({})", vec!["?"; width].join(", "))
    };
    vec![one; n].join(", ")
}

/// The removable predicates, one per cleaned table, written against the table's own columns
/// (optionally through an alias). Each takes its cut-offs as `?` parameters in the order
/// [`Predicate::params`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// now − safe period, UTC text.
    Cutoff,
    /// now − `--older-than`, UTC text (the token audit table).
    AuditCutoff,
    /// now − safe period, nanoseconds since the epoch (session EXPIRY_TIME).
    SessionCutoffNs,
    /// now − 12 h, nanoseconds (session DELETE operations).
    DeleteCutoffNs,
}

/// A predicate's SQL text and the parameters its `?` stand for, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Predicate {
    pub sql: String,
    pub params: Vec<Param>,
}

fn col(alias: &str, c: &str) -> String {
    if alias.is_empty() {
        c.to_string()
    } else {
        format!("{alias}.{c}")
    }
}

/// IDN_OAUTH2_ACCESS_TOKEN: INACTIVE/REVOKED/EXPIRED at any age, or ACTIVE with both the access
/// and the refresh token expired before the cut-off; never-expiring periods (< 0 or ≥
/// [`NEVER_EXPIRES_MS`]) are never removable. A period of 0 is expired from its creation on:
/// WSO2's `OAuth2Util` treats only a negative period as "never expires".
pub fn token_removable(e: Engine, alias: &str) -> Predicate {
    let c = |n: &str| col(alias, n);
    let bounded = |vp: &str| format!("{vp} >= 0 AND {vp} < {NEVER_EXPIRES_MS}");
    // CASE fixes the order: the date arithmetic only runs on bounded periods (PostgreSQL's
    // interval and MySQL's BIGINT arithmetic fail on a period near i64::MAX; a bare AND may be
    // evaluated in any order).
    Predicate {
        sql: format!(
            "({state} IN ('INACTIVE', 'REVOKED', 'EXPIRED') OR ({state} = 'ACTIVE' AND \
             CASE WHEN {} AND {} THEN (CASE WHEN {} AND {} THEN 1 ELSE 0 END) ELSE 0 END = 1))",
            bounded(&c("VALIDITY_PERIOD")),
            bounded(&c("REFRESH_TOKEN_VALIDITY_PERIOD")),
            e.expired(&c("TIME_CREATED"), &c("VALIDITY_PERIOD"), "?"),
            e.expired(
                &c("REFRESH_TOKEN_TIME_CREATED"),
                &c("REFRESH_TOKEN_VALIDITY_PERIOD"),
                "?"
            ),
            state = c("TOKEN_STATE"),
        ),
        params: vec![Param::Cutoff, Param::Cutoff],
    }
}

/// The part of [`token_removable`] that says why, for the audit's per-reason counts.
pub fn token_removable_by_state(alias: &str) -> String {
    format!(
        "{} IN ('INACTIVE', 'REVOKED', 'EXPIRED')",
        col(alias, "TOKEN_STATE")
    )
}

/// IDN_OAUTH2_AUTHORIZATION_CODE: its token is gone (or NULL), and it expired before the
/// cut-off (same validity bounds as tokens) or is INACTIVE.
///
/// With `tokens_too`, a token the same run removes counts as gone (for counts made before the
/// token step: `--dry-run` and `db audit`).
pub fn code_removable(e: Engine, alias: &str, tokens_too: bool) -> Predicate {
    // Qualified even without an alias: inside the subquery a bare TOKEN_ID would be the token's.
    let alias = if alias.is_empty() {
        "IDN_OAUTH2_AUTHORIZATION_CODE"
    } else {
        alias
    };
    let c = |n: &str| col(alias, n);
    let mut params = Vec::new();
    let token_gone = if tokens_too {
        let t = token_removable(e, "t");
        params.extend(t.params.iter().copied());
        format!(
            "NOT EXISTS (SELECT 1 FROM IDN_OAUTH2_ACCESS_TOKEN t WHERE t.TOKEN_ID = {} \
             AND (CASE WHEN {} THEN 1 ELSE 0 END) = 0)",
            c("TOKEN_ID"),
            t.sql
        )
    } else {
        format!(
            "NOT EXISTS (SELECT 1 FROM IDN_OAUTH2_ACCESS_TOKEN t WHERE t.TOKEN_ID = {})",
            c("TOKEN_ID")
        )
    };
    params.push(Param::Cutoff);
    let vp = c("VALIDITY_PERIOD");
    Predicate {
        sql: format!(
            "({token_gone} AND ((CASE WHEN {vp} >= 0 AND {vp} < {NEVER_EXPIRES_MS} \
             THEN (CASE WHEN {} THEN 1 ELSE 0 END) ELSE 0 END = 1) OR {} = 'INACTIVE'))",
            e.expired(&c("TIME_CREATED"), &vp, "?"),
            c("STATE")
        ),
        params,
    }
}

/// IDN_AUTH_SESSION_STORE rows that make their whole session removable: expired more than the
/// safe period ago, or a DELETE operation older than 12 hours. (The session is removed by
/// SESSION_ID: every row of it, in every side table.)
pub fn session_row_removable(alias: &str) -> Predicate {
    Predicate {
        sql: format!(
            "({} < ? OR ({} = 'DELETE' AND {} < ?))",
            col(alias, "EXPIRY_TIME"),
            col(alias, "OPERATION"),
            col(alias, "TIME_CREATED")
        ),
        params: vec![Param::SessionCutoffNs, Param::DeleteCutoffNs],
    }
}

/// REG_LOG: every row but the newest (highest REG_LOG_ID) for its path and tenant, and every
/// DELETE_RESOURCE (action 7) row. Rows without a path are never "superseded" (NULL matches
/// nothing), as in WSO2's procedure.
pub fn reg_log_removable(alias: &str) -> Predicate {
    // Qualified even without an alias: inside the subquery a bare REG_PATH would be `g`'s.
    let alias = if alias.is_empty() { "REG_LOG" } else { alias };
    let c = |n: &str| col(alias, n);
    // "A newer row exists for the same path and tenant" as a comparison with the group's
    // newest id: the aggregate is computed once (a hash join), where a correlated
    // `EXISTS (… n.REG_LOG_ID > …)` scans the path's rows again for every row, and WSO2's
    // schema has no index on REG_PATH (quadratic: 40,000 rows took 27 s on PostgreSQL).
    Predicate {
        sql: format!(
            "({} = {REG_ACTION_DELETE_RESOURCE} OR EXISTS (SELECT 1 FROM (SELECT REG_PATH, REG_TENANT_ID, \
             MAX(REG_LOG_ID) AS NEWEST FROM REG_LOG GROUP BY REG_PATH, REG_TENANT_ID) g \
             WHERE g.REG_PATH = {} AND g.REG_TENANT_ID = {} AND g.NEWEST > {}))",
            c("REG_ACTION"),
            c("REG_PATH"),
            c("REG_TENANT_ID"),
            c("REG_LOG_ID")
        ),
        params: vec![],
    }
}

/// IDN_OAUTH2_ACCESS_TOKEN_AUDIT (which no WSO2 procedure cleans): rows invalidated (or, with
/// no invalidation time, created) before now − `--older-than`.
pub fn audit_removable(e: Engine, alias: &str) -> Predicate {
    let when = format!(
        "COALESCE({}, {})",
        col(alias, "INVALIDATED_TIME"),
        col(alias, "TIME_CREATED")
    );
    let cut = match e {
        Engine::Sqlite => format!("unixepoch({when}) < unixepoch(?)"),
        Engine::Postgres => format!("{when} < CAST(? AS TIMESTAMP)"),
        Engine::MySql => format!("{when} < CAST(? AS DATETIME)"),
    };
    Predicate {
        sql: format!("({cut})"),
        params: vec![Param::AuditCutoff],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters() {
        assert_eq!(
            numbered("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(numbered("no params"), "no params");
    }

    #[test]
    fn in_lists() {
        assert_eq!(in_list(3, 1), "?, ?, ?");
        assert_eq!(in_list(2, 2), "(?, ?), (?, ?)");
    }

    #[test]
    fn predicates_count_their_parameters() {
        for e in [Engine::Sqlite, Engine::Postgres, Engine::MySql] {
            for p in [
                token_removable(e, ""),
                token_removable(e, "x"),
                code_removable(e, "", false),
                code_removable(e, "c", true),
                session_row_removable(""),
                reg_log_removable("r"),
                audit_removable(e, ""),
            ] {
                assert_eq!(
                    p.sql.matches('?').count(),
                    p.params.len(),
                    "{e:?}: {}",
                    p.sql
                );
            }
        }
    }

    #[test]
    fn subqueries_never_see_a_bare_outer_column() {
        let code = code_removable(Engine::Postgres, "", false).sql;
        assert!(
            code.contains("t.TOKEN_ID = IDN_OAUTH2_AUTHORIZATION_CODE.TOKEN_ID"),
            "{code}"
        );
        let reg = reg_log_removable("").sql;
        assert!(reg.contains("g.REG_PATH = REG_LOG.REG_PATH"), "{reg}");
    }

    #[test]
    fn never_uses_the_servers_clock() {
        for e in [Engine::Sqlite, Engine::Postgres, Engine::MySql] {
            let all = [
                token_removable(e, "").sql,
                code_removable(e, "", true).sql,
                audit_removable(e, "").sql,
            ]
            .join(" ");
            for clock in ["NOW()", "CURRENT_TIMESTAMP", "SYSDATE", "'now'"] {
                assert!(
                    !all.to_uppercase().contains(&clock.to_uppercase()),
                    "{e:?}: {all}"
                );
            }
        }
    }
}
