//! `db audit`: per table, how big it is, what the cleanup would remove now and why, how old the
//! oldest removable row is; then the facts the DBG rules (`rules/db/`) judge: the indexes the
//! cleanup needs, the server's time zone, traces of other cleanups, unfinished runs.
//!
//! Gathers only: it never judges, so the report it returns has no findings yet.

use super::clean::{self, Backup, CleanPlan, Cutoffs, Job, RUN_TABLE};
use super::conn::{Arg, Conn};
use super::dialect::{self, Engine};
use super::model::{
    ConfigContext, DbAuditReport, DbFacts, IndexNeed, NamedBy, ServerTimeZone, TableStats,
    UnfinishedRun,
};
use super::schema;
use super::{DbError, Target};
use crate::clock;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct AuditSpec {
    pub safe_period: Duration,
    /// The age past which token audit rows count as removable.
    pub audit_older_than: Duration,
    pub context: ConfigContext,
    /// How the command named the database, for the fix hints.
    pub named_by: NamedBy,
    /// The registry's own database (`--apim-home` with a separate shared database): only
    /// REG_LOG is expected there.
    pub registry_only: bool,
}

pub(crate) async fn run(
    c: &mut Conn,
    target: &Target,
    spec: &AuditSpec,
) -> Result<DbAuditReport, DbError> {
    let e = c.engine();
    let now = clock::now_secs();
    let cuts = Cutoffs::at(now, spec.safe_period, Some(spec.audit_older_than));
    let server_version = c.texts(e.version_query(), &[]).await?.into_iter().next();
    let token_cols = c.columns(schema::TOKEN).await?;
    let mut report = DbAuditReport {
        target: target.display.clone(),
        engine: e.as_str(),
        server_version,
        schema_version: schema::detect(&token_cols).map(|g| g.to_string()),
        now: clock::sql_timestamp(now),
        cutoff: cuts.cutoff.clone(),
        safe_period: clock::fmt_duration(spec.safe_period),
        tables: Vec::new(),
        findings: Vec::new(),
        checked: Vec::new(),
        notes: Vec::new(),
        facts: DbFacts::default(),
    };

    let mut present = Vec::new();
    for t in schema::runtime_tables() {
        if !c.columns(t).await?.is_empty() {
            present.push(t);
        }
    }
    if spec.registry_only && !present.contains(&schema::REG_LOG) {
        return Err(DbError::Schema(format!(
            "{} has no `{}`: the registry datasource of the home holds no registry log",
            target.display,
            schema::REG_LOG
        )));
    }
    if !spec.registry_only
        && !present.contains(&schema::TOKEN)
        && !present.contains(&schema::SESSION)
    {
        return Err(DbError::Schema(format!(
            "{} has neither `{}` nor `{}`: not an API-M database (or --url names another \
             database; `db init` creates the tables)",
            target.display,
            schema::TOKEN,
            schema::SESSION
        )));
    }
    if report.schema_version.is_none() && present.contains(&schema::TOKEN) {
        report.notes.push(format!(
            "`{}` looks older than API-M 2.6.0 (no ACCESS_TOKEN_HASH): figures are given, but \
             `db clean` supports 2.6.0 and later",
            schema::TOKEN
        ));
    }

    // The cleanups, built as `db clean` builds them (counting before the token step, so codes
    // whose token the same run removes count as removable).
    let plan = CleanPlan {
        tokens: present.contains(&schema::TOKEN),
        codes: present.contains(&schema::CODE) && present.contains(&schema::TOKEN),
        sessions: present.contains(&schema::SESSION),
        registry: present.contains(&schema::REG_LOG),
        audit_older_than: present
            .contains(&schema::TOKEN_AUDIT)
            .then_some(spec.audit_older_than),
        safe_period: spec.safe_period,
        batch: 1,
        pause: Duration::ZERO,
        backup: Backup::None,
        dry_run: true,
        stop_after_batches: None,
    };
    let jobs = clean::jobs(e, &plan, true);
    for t in schema::runtime_tables() {
        let mut stats = TableStats {
            table: t.to_string(),
            present: present.contains(&t),
            ..TableStats::default()
        };
        if stats.present {
            stats.rows = Some(c.scalar(&format!("SELECT COUNT(*) FROM {t}"), &[]).await? as u64);
            let (sql, kind) = e.size_query();
            let size = c
                .fetch(sql, &[Arg::Text(t.to_string()), Arg::Text(t.to_string())])
                .await
                .ok()
                .and_then(|r| r.into_iter().next())
                .and_then(|r| r.into_iter().next())
                .and_then(|v| v.as_i64());
            stats.size_bytes = size.map(|s| s.max(0) as u64);
            stats.size_kind = size.map(|_| kind);
            if let Some(j) = jobs.iter().find(|j| j.table == t)
                && has_columns(c, j).await?
            {
                removable(c, e, j, &cuts, &mut stats).await?;
            }
        }
        report.tables.push(stats);
    }

    report.facts = gather(c, e, spec, &report.tables).await?;
    Ok(report)
}

async fn has_columns(c: &mut Conn, j: &Job) -> Result<bool, DbError> {
    let cols = c.columns(j.needs.table).await?;
    Ok(j.needs.columns.iter().all(|n| cols.iter().any(|x| x == n)))
}

/// Removable count, reasons and the oldest removable row's time for one table.
async fn removable(
    c: &mut Conn,
    e: Engine,
    j: &Job,
    cuts: &Cutoffs,
    stats: &mut TableStats,
) -> Result<(), DbError> {
    let (rows, _) = clean::count(c, j, &[], cuts).await?;
    stats.removable = Some(rows);
    let pred = &j.predicate.sql;
    let args = cuts.args(&j.predicate.params);
    let t = j.table;
    let reason = |label: &str, n: i64| (label.to_string(), n.max(0) as u64);
    let oldest_sql;
    match t {
        schema::TOKEN => {
            let by_state = c
                .scalar(
                    &format!(
                        "SELECT COUNT(*) FROM {t} WHERE {}",
                        dialect::token_removable_by_state("")
                    ),
                    &[],
                )
                .await?;
            stats
                .reasons
                .push(reason("state INACTIVE, REVOKED or EXPIRED", by_state));
            stats.reasons.push(reason(
                "ACTIVE, access and refresh token expired before the cut-off",
                rows as i64 - by_state,
            ));
            oldest_sql = format!(
                "SELECT {} FROM {t} WHERE {pred}",
                e.text("MIN(TIME_CREATED)")
            );
        }
        schema::CODE => {
            let inactive = c
                .scalar(
                    &format!("SELECT COUNT(*) FROM {t} WHERE {pred} AND STATE = 'INACTIVE'"),
                    &args,
                )
                .await?;
            stats
                .reasons
                .push(reason("token gone, state INACTIVE", inactive));
            stats.reasons.push(reason(
                "token gone, expired before the cut-off",
                rows as i64 - inactive,
            ));
            oldest_sql = format!(
                "SELECT {} FROM {t} WHERE {pred}",
                e.text("MIN(TIME_CREATED)")
            );
        }
        schema::SESSION => {
            let sessions = c
                .scalar(
                    &format!("SELECT COUNT(DISTINCT SESSION_ID) FROM {t} WHERE {pred}"),
                    &args,
                )
                .await?;
            let expired = c
                .scalar(
                    &format!("SELECT COUNT(DISTINCT SESSION_ID) FROM {t} WHERE EXPIRY_TIME < ?"),
                    &[Arg::Int(cuts.session_ns)],
                )
                .await?;
            stats
                .reasons
                .push(reason("sessions (all their rows go)", sessions));
            stats
                .reasons
                .push(reason("sessions expired before the cut-off", expired));
            stats.reasons.push(reason(
                "sessions with a DELETE operation older than 12 h only",
                sessions - expired,
            ));
            // Nanoseconds: shown as a timestamp below.
            let min_ns = c
                .scalar(
                    &format!("SELECT MIN(TIME_CREATED) FROM {t} WHERE {pred}"),
                    &args,
                )
                .await?;
            if rows > 0 {
                stats.oldest_removable =
                    Some(clock::sql_timestamp(min_ns.div_euclid(1_000_000_000)));
            }
            return Ok(());
        }
        schema::REG_LOG => {
            let deleted = c
                .scalar(
                    &format!(
                        "SELECT COUNT(*) FROM {t} WHERE REG_ACTION = {}",
                        dialect::REG_ACTION_DELETE_RESOURCE
                    ),
                    &[],
                )
                .await?;
            stats.reasons.push(reason(
                "superseded by a newer row for the same path",
                rows as i64 - deleted,
            ));
            stats
                .reasons
                .push(reason("DELETE_RESOURCE entries (action 7)", deleted));
            oldest_sql = format!(
                "SELECT {} FROM {t} WHERE {pred}",
                e.text("MIN(REG_LOGGED_TIME)")
            );
        }
        _ => {
            stats.reasons.push(reason(
                "invalidated (or created) before now − --older-than",
                rows as i64,
            ));
            oldest_sql = format!(
                "SELECT {} FROM {t} WHERE {pred}",
                e.text("MIN(COALESCE(INVALIDATED_TIME, TIME_CREATED))")
            );
        }
    }
    if rows > 0 {
        stats.oldest_removable = c
            .texts(&oldest_sql, &args)
            .await?
            .into_iter()
            .next()
            // PostgreSQL and MySQL may add fractional seconds; the report shows seconds.
            .map(|s| s.chars().take(19).collect());
    }
    Ok(())
}

/// What the DBG rules need beyond the table figures.
async fn gather(
    c: &mut Conn,
    e: Engine,
    spec: &AuditSpec,
    tables: &[TableStats],
) -> Result<DbFacts, DbError> {
    let present = |t: &str| tables.iter().any(|s| s.table == t && s.present);
    let mut cleanup_indexes = Vec::new();
    for (table, index, why) in schema::cleanup_indexes() {
        if !present(table) {
            continue;
        }
        cleanup_indexes.push(IndexNeed {
            table: table.to_string(),
            name: index.name.to_string(),
            columns: index.columns.iter().map(|c| c.to_string()).collect(),
            why,
            existing: index_prefixes(c, e, table).await?,
        });
    }

    // WSO2's MySQL procedures compare UTC timestamps with NOW().
    let mut time_zone = None;
    if e == Engine::MySql {
        let zones = c
            .fetch(
                "SELECT CAST(@@global.time_zone AS CHAR), CAST(@@system_time_zone AS CHAR), \
                 CAST(TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), NOW()) AS SIGNED)",
                &[],
            )
            .await?;
        if let Some(row) = zones.into_iter().next() {
            let mut it = row.into_iter();
            time_zone = Some(ServerTimeZone {
                global: it.next().and_then(Arg::into_text).unwrap_or_default(),
                system: it.next().and_then(Arg::into_text).unwrap_or_default(),
                offset_minutes: it.next().and_then(|v| v.as_i64()).unwrap_or(0),
            });
        }
    }

    // `BAK_` tables of the cleaned tables that apim-tune did not make.
    let ours: Vec<String> = clean::our_backups(c)
        .await?
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    let mut foreign_backups = Vec::new();
    for t in [schema::TOKEN, schema::TOKEN_SCOPE, schema::CODE] {
        let name = clean::bak(t);
        if ours.contains(&name) || c.columns(&name).await?.is_empty() {
            continue;
        }
        let rows = c
            .scalar(&format!("SELECT COUNT(*) FROM {name}"), &[])
            .await?;
        foreign_backups.push((name, rows));
    }

    let mut unfinished_runs = Vec::new();
    if !c.columns(RUN_TABLE).await?.is_empty() {
        let rows = c
            .fetch(
                &format!("SELECT RUN_ID, OPTIONS, STARTED, ROWS_DONE FROM {RUN_TABLE} WHERE FINISHED IS NULL ORDER BY RUN_ID"),
                &[],
            )
            .await?;
        for row in rows {
            let mut it = row.into_iter();
            unfinished_runs.push(UnfinishedRun {
                table: RUN_TABLE.to_string(),
                id: it.next().and_then(|v| v.as_i64()).unwrap_or(0),
                options: it.next().and_then(Arg::into_text).unwrap_or_default(),
                started: it.next().and_then(Arg::into_text).unwrap_or_default(),
                rows_done: it.next().and_then(|v| v.as_i64()).unwrap_or(0),
            });
        }
    }
    Ok(DbFacts {
        tables: tables.to_vec(),
        cleanup_indexes,
        audit_older_than: spec.audit_older_than,
        context: spec.context.clone(),
        named_by: spec.named_by.clone(),
        time_zone,
        foreign_backups,
        unfinished_runs,
    })
}

/// The column lists of every index on `table`.
async fn index_prefixes(c: &mut Conn, e: Engine, table: &str) -> Result<Vec<Vec<String>>, DbError> {
    let rows = c
        .fetch(e.index_columns_query(), &[Arg::Text(table.to_string())])
        .await?;
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for row in rows {
        let mut it = row.into_iter();
        let (Some(name), Some(col)) = (
            it.next().and_then(Arg::into_text),
            it.next().and_then(Arg::into_text),
        ) else {
            continue;
        };
        match out.last_mut() {
            Some((n, cols)) if *n == name => cols.push(col),
            _ => out.push((name, vec![col])),
        }
    }
    // SQLite's primary key of a rowid table is no index; it does not matter for these checks.
    Ok(out.into_iter().map(|(_, cols)| cols).collect())
}
