//! `db audit`: per table, how big it is, what the cleanup would remove now and why, how old the
//! oldest removable row is; then findings (DBG codes) in the audit's finding model: removable
//! rows, missing indexes, the config context, and traces of other cleanups.

use super::clean::{self, Backup, CleanPlan, Cutoffs, Job, RUN_TABLE};
use super::conn::{Arg, Conn};
use super::dialect::{self, Engine};
use super::model::{DbAuditReport, TableStats};
use super::schema;
use super::{DbError, Target};
use crate::audit::Checked;
use crate::clock;
use crate::finding::{Finding, Severity};
use crate::model::Location;
use crate::rules::codes::Code;
use std::time::Duration;

/// A boolean API-M setting that matters to growth, as the home's audit read it.
#[derive(Clone, Debug)]
pub struct ConfigFlag {
    pub value: bool,
    /// `deployment.toml:oauth.token_cleanup.enable` and the like.
    pub subject: String,
    /// Where it is set; `None` when the version's default applies.
    pub location: Option<Location>,
}

/// What the API-M home says about its own cleanups (all `None` without `--apim-home`).
#[derive(Clone, Debug, Default)]
pub struct ConfigContext {
    pub token_cleanup: Option<ConfigFlag>,
    pub retain_for_audit: Option<ConfigFlag>,
    pub session_cleanup: Option<ConfigFlag>,
}

#[derive(Clone, Debug)]
pub struct AuditSpec {
    pub safe_period: Duration,
    /// The age past which token audit rows count as removable.
    pub audit_older_than: Duration,
    pub context: ConfigContext,
}

/// From this many removable rows (or a fifth of the table) DBG001 is a warning.
const WARN_ROWS: u64 = 10_000;

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
    };

    let mut present = Vec::new();
    for t in schema::runtime_tables() {
        if !c.columns(t).await?.is_empty() {
            present.push(t);
        }
    }
    if !present.contains(&schema::TOKEN) && !present.contains(&schema::SESSION) {
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

    findings(c, e, spec, &plan, &mut report).await?;
    report.findings.sort_by_key(|f| f.sort_key());
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

async fn findings(
    c: &mut Conn,
    e: Engine,
    spec: &AuditSpec,
    plan: &CleanPlan,
    r: &mut DbAuditReport,
) -> Result<(), DbError> {
    let stats: Vec<TableStats> = r.tables.clone();
    let get = |t: &str| stats.iter().find(|s| s.table == t);

    // DBG001: removable rows, per cleaned table (the token audit table has DBG003).
    for s in stats
        .iter()
        .filter(|s| s.removable.is_some() && s.table != schema::TOKEN_AUDIT)
    {
        let subject = format!("db:{}", s.table);
        r.checked.push(Checked {
            suite: "db-growth".into(),
            subject: subject.clone(),
        });
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
            Code::Dbg001,
            subject,
            format!(
                "{removable} of {rows} rows of `{}` are removable",
                s.table
            ),
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
        f = f.note(format!("fix: apim-tune db clean --url … {flag}"));
        r.findings.push(f);
    }

    // DBG002: indexes the cleanup needs.
    for (table, index, why) in schema::cleanup_indexes() {
        if !get(table).is_some_and(|s| s.present) {
            continue;
        }
        let subject = format!("db:{table}({})", index.columns.join(", "));
        r.checked.push(Checked {
            suite: "db-indexes".into(),
            subject: subject.clone(),
        });
        let have = index_prefixes(c, e, table).await?;
        let covered = have.iter().any(|cols| {
            cols.len() >= index.columns.len()
                && cols
                    .iter()
                    .zip(&index.columns)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        });
        if !covered {
            r.findings.push(
                Finding::new(
                    Code::Dbg002,
                    subject,
                    format!(
                        "`{table}` has no index on ({}) that the cleanup needs",
                        index.columns.join(", ")
                    ),
                )
                .current("no such index")
                .expected(format!(
                    "CREATE INDEX {} ON {table} ({})",
                    index.name,
                    index.columns.join(", ")
                ))
                .why(why)
                .note(format!(
                    "fix: CREATE INDEX {} ON {table} ({});",
                    index.name,
                    index.columns.join(", ")
                )),
            );
        }
    }

    // DBG003 / DBG004 / DBG005: the config context.
    if let Some(s) = get(schema::TOKEN_AUDIT).filter(|s| s.present) {
        let subject = format!("db:{}", schema::TOKEN_AUDIT);
        let old = s.removable.unwrap_or(0);
        if old > 0 {
            let mut f = Finding::new(
                Code::Dbg003,
                subject,
                format!(
                    "`{}` holds {old} rows older than {}, and nothing cleans it",
                    schema::TOKEN_AUDIT,
                    clock::fmt_duration(spec.audit_older_than)
                ),
            )
            .current(format!("{old} rows older than {}", clock::fmt_duration(spec.audit_older_than)))
            .expected("0")
            .why("API-M copies every token it cleans into this table while retention is on; no WSO2 procedure removes them");
            if let Some(flag) = &spec.context.retain_for_audit {
                f = f
                    .at(flag.location.clone())
                    .note(format!("`{}` is {}", flag.subject, flag.value));
            }
            r.findings.push(f);
        }
    }
    let context = [
        (
            &spec.context.token_cleanup,
            schema::TOKEN,
            Code::Dbg004,
            "the in-product token cleanup is off",
        ),
        (
            &spec.context.session_cleanup,
            schema::SESSION,
            Code::Dbg005,
            "the in-product session data cleanup is off",
        ),
    ];
    for (flag, table, code, what) in context {
        let Some(flag) = flag else { continue };
        r.checked.push(Checked {
            suite: "db-config".into(),
            subject: flag.subject.clone(),
        });
        let removable = get(table).and_then(|s| s.removable).unwrap_or(0);
        if !flag.value && removable > 0 {
            r.findings.push(
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
    }

    // DBG006: MySQL's time zone (WSO2's MySQL procedures use NOW()).
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
            let global = it.next().and_then(Arg::into_text).unwrap_or_default();
            let system = it.next().and_then(Arg::into_text).unwrap_or_default();
            let offset = it.next().and_then(|v| v.as_i64()).unwrap_or(0);
            r.checked.push(Checked {
                suite: "db-config".into(),
                subject: "db:@@global.time_zone".into(),
            });
            if offset != 0 {
                r.findings.push(
                    Finding::new(
                        Code::Dbg006,
                        "db:@@global.time_zone",
                        format!(
                            "the server's time is UTC{}{:02}:{:02}: WSO2's MySQL cleanup procedures shift their safe period by that",
                            if offset < 0 { "-" } else { "+" },
                            offset.abs() / 60,
                            offset.abs() % 60
                        ),
                    )
                    .current(if global == "SYSTEM" { format!("SYSTEM ({system})") } else { global })
                    .expected("+00:00")
                    .why("API-M writes its timestamps in UTC, and the procedures compare them with NOW(), the server's local time"),
                );
            }
        }
    }

    // DBG007: WSO2's own backup tables.
    let ours: Vec<String> = clean::our_backups(c)
        .await?
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    for t in [schema::TOKEN, schema::TOKEN_SCOPE, schema::CODE] {
        let name = clean::bak(t);
        if ours.contains(&name) || c.columns(&name).await?.is_empty() {
            continue;
        }
        let rows = c
            .scalar(&format!("SELECT COUNT(*) FROM {name}"), &[])
            .await?;
        r.findings.push(
            Finding::new(
                Code::Dbg007,
                format!("db:{name}"),
                format!("`{name}` ({rows} rows) was made by WSO2's cleanup procedure, not apim-tune"),
            )
            .current(format!("{rows} rows"))
            .why("WSO2's procedures re-create it as a full copy of the table on every run; `db clean --backup` refuses to write into it"),
        );
    }

    // DBG008: interrupted runs.
    if !c.columns(RUN_TABLE).await?.is_empty() {
        let rows = c
            .fetch(
                &format!("SELECT RUN_ID, OPTIONS, STARTED, ROWS_DONE FROM {RUN_TABLE} WHERE FINISHED IS NULL ORDER BY RUN_ID"),
                &[],
            )
            .await?;
        for row in rows {
            let mut it = row.into_iter();
            let id = it.next().and_then(|v| v.as_i64()).unwrap_or(0);
            let options = it.next().and_then(Arg::into_text).unwrap_or_default();
            let started = it.next().and_then(Arg::into_text).unwrap_or_default();
            let done = it.next().and_then(|v| v.as_i64()).unwrap_or(0);
            r.findings.push(
                Finding::new(
                    Code::Dbg008,
                    format!("db:{RUN_TABLE}:{id}"),
                    format!("`db clean` run {id} ({options}), started {started} UTC, stopped after {done} rows"),
                )
                .why("part of what it found removable is still there; the same command continues with the same cut-off"),
            );
        }
    }
    let _ = plan;
    Ok(())
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
