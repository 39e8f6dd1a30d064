//! The batched clean: find the removable keys in chunks, then per batch, in one short
//! transaction, re-check them (locking them on MySQL), back them up, delete their dependent
//! rows and then them, and record the progress of the run.
//!
//! Why this shape:
//! - No row is deleted that is not removable at the moment of the delete: the batch's keys are
//!   re-checked inside its transaction. Removability never reverts (a revoked token stays
//!   revoked, an expired one expired), so the backup copy and the delete cover the same rows.
//! - Short transactions and a pause between them keep API-M's own queries flowing (WSO2's
//!   procedures sleep between batches for the same reason).
//! - A run's cut-offs are stored in `APIM_TUNE_CLEAN_RUN`: an interrupted run, re-run with the
//!   same options, continues with the same cut-offs. Committed batches are gone and rolled-back
//!   ones left nothing behind, so continuing is just finding what is still removable.
//!   `BAK_*` tables carry the source table's key as a unique index: a row can never be backed
//!   up twice.

use super::backup_file::{self, FileColumn};
use super::conn::{Arg, Conn};
use super::dialect::{self, Engine, Param, Predicate, in_list};
use super::model::{CleanReport, TableOutcome};
use super::schema::{self, Generation, Requirement};
use super::stop::Stop;
use super::{DbError, Progress, Target};
use crate::clock;
use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};

/// Keys fetched per candidate scan. One filtered scan per chunk is much cheaper than a keyset
/// query per batch (measured on PostgreSQL: 1.2 s against 6–9 s for 500k rows).
const CHUNK: usize = 500_000;

/// The largest `--batch`: keys are bound one parameter per column, and SQLite allows 32766.
pub const MAX_BATCH: usize = 15_000;

/// The longest safe period or `--older-than` (`db clean`, `db audit` and schedules): SQL
/// Server's DATEADD takes an INT number of seconds, and a period beyond ten years is a typo.
pub const MAX_PERIOD: Duration = Duration::from_secs(3650 * 86_400);

/// The longest pause between batches (SQL Server's WAITFOR DELAY stops at 24 h; a longer pause
/// than this only makes a run last forever).
pub const MAX_PAUSE: Duration = Duration::from_secs(3600);

/// Retries of a batch after a serialization failure, deadlock or busy database.
const RETRIES: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backup {
    None,
    /// Copy each deleted row to `BAK_<TABLE>` in the same transaction.
    Tables,
    /// Append each deleted row to a JSON-lines file (`--backup-file`), synced before the
    /// batch commits; the path goes to [`run`] beside the plan.
    File,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanPlan {
    pub tokens: bool,
    pub codes: bool,
    pub sessions: bool,
    pub registry: bool,
    /// `--audit-table --older-than D`: clean IDN_OAUTH2_ACCESS_TOKEN_AUDIT rows older than D.
    pub audit_older_than: Option<Duration>,
    pub safe_period: Duration,
    pub batch: usize,
    pub pause: Duration,
    pub backup: Backup,
    pub dry_run: bool,
    /// Test hook: behave as if Ctrl-C came after this many batches.
    pub stop_after_batches: Option<u64>,
}

impl CleanPlan {
    /// What makes two runs "the same command" for resuming: the tables and the cut-off
    /// definitions, not the batch size or pause.
    fn options_key(&self) -> String {
        let mut parts = Vec::new();
        for (on, name) in [
            (self.tokens, "tokens"),
            (self.codes, "codes"),
            (self.sessions, "sessions"),
            (self.registry, "registry"),
        ] {
            if on {
                parts.push(name.to_string());
            }
        }
        if let Some(d) = self.audit_older_than {
            parts.push(format!("audit-table>{}s", d.as_secs()));
        }
        parts.push(format!("safe-period={}s", self.safe_period.as_secs()));
        match self.backup {
            Backup::Tables => parts.push("backup".into()),
            Backup::File => parts.push("backup-file".into()),
            Backup::None => {}
        }
        parts.join(" ")
    }
}

/// The run's fixed points in time.
#[derive(Clone, Debug)]
pub(crate) struct Cutoffs {
    pub cutoff: String,
    pub audit_cutoff: Option<String>,
    pub session_ns: i64,
    pub delete_ns: i64,
}

impl Cutoffs {
    pub fn at(now: i64, plan_safe: Duration, audit_older_than: Option<Duration>) -> Cutoffs {
        let safe = plan_safe.as_secs() as i64;
        Cutoffs {
            cutoff: clock::sql_timestamp(now - safe),
            audit_cutoff: audit_older_than.map(|d| clock::sql_timestamp(now - d.as_secs() as i64)),
            session_ns: (now - safe).saturating_mul(1_000_000_000),
            delete_ns: now
                .saturating_mul(1_000_000_000)
                .saturating_sub(dialect::SESSION_DELETE_AGE_NS),
        }
    }

    pub fn args(&self, params: &[Param]) -> Vec<Arg> {
        params
            .iter()
            .map(|p| match p {
                Param::Cutoff => Arg::Text(self.cutoff.clone()),
                Param::AuditCutoff => Arg::Text(self.audit_cutoff.clone().unwrap_or_default()),
                Param::SessionCutoffNs => Arg::Int(self.session_ns),
                Param::DeleteCutoffNs => Arg::Int(self.delete_ns),
            })
            .collect()
    }
}

/// One table to clean.
pub(crate) struct Job {
    pub table: &'static str,
    pub key: Vec<&'static str>,
    /// Sessions: one key per session, many rows per key.
    pub distinct: bool,
    /// REG_LOG: oldest first, so a row's newer rows are still there when it is re-checked.
    pub oldest_first: bool,
    pub predicate: Predicate,
    /// `(table, column)` of rows that go with a key (scope rows, session side tables).
    pub dependents: Vec<(&'static str, &'static str)>,
    pub needs: &'static Requirement,
}

pub(crate) fn jobs(e: Engine, plan: &CleanPlan, counting_before_tokens: bool) -> Vec<Job> {
    let mut out = Vec::new();
    if plan.tokens {
        out.push(Job {
            table: schema::TOKEN,
            key: vec!["TOKEN_ID"],
            distinct: false,
            oldest_first: false,
            predicate: dialect::token_removable(e, ""),
            dependents: vec![(schema::TOKEN_SCOPE, "TOKEN_ID")],
            needs: &schema::TOKEN_NEEDS,
        });
    }
    if plan.codes {
        out.push(Job {
            table: schema::CODE,
            key: vec!["CODE_ID"],
            distinct: false,
            oldest_first: false,
            predicate: dialect::code_removable(e, "", counting_before_tokens && plan.tokens),
            dependents: vec![(schema::CODE_SCOPE, "CODE_ID")],
            needs: &schema::CODE_NEEDS,
        });
    }
    if plan.sessions {
        out.push(Job {
            table: schema::SESSION,
            key: vec!["SESSION_ID"],
            distinct: true,
            oldest_first: false,
            predicate: dialect::session_row_removable(""),
            dependents: schema::SESSION_SIDE_TABLES
                .iter()
                .map(|t| (*t, "SESSION_ID"))
                .collect(),
            needs: &schema::SESSION_NEEDS,
        });
    }
    if plan.audit_older_than.is_some() {
        out.push(Job {
            table: schema::TOKEN_AUDIT,
            key: vec!["ID"],
            distinct: false,
            oldest_first: false,
            predicate: dialect::audit_removable(e, ""),
            dependents: vec![],
            needs: &schema::AUDIT_NEEDS,
        });
    }
    if plan.registry {
        out.push(Job {
            table: schema::REG_LOG,
            key: vec!["REG_LOG_ID", "REG_TENANT_ID"],
            distinct: false,
            oldest_first: true,
            predicate: dialect::reg_log_removable(""),
            dependents: vec![],
            needs: &schema::REG_LOG_NEEDS,
        });
    }
    out
}

/// Checks that every table and column the selected cleanups read exists; returns the
/// generation the token table looks like, and the dependent tables present.
pub(crate) async fn check_schema(
    c: &mut Conn,
    target: &Target,
    jobs: &[Job],
) -> Result<(Generation, Vec<Vec<(&'static str, &'static str)>>), DbError> {
    let mut problems = Vec::new();
    for j in jobs {
        let cols = c.columns(j.needs.table).await?;
        if cols.is_empty() {
            problems.push(format!(
                "table `{}` not found ({})",
                j.needs.table, j.needs.hint
            ));
            continue;
        }
        let missing: Vec<&str> = j
            .needs
            .columns
            .iter()
            .copied()
            .filter(|m| !cols.iter().any(|c| c == m))
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "table `{}` has no {} column{} ({}): is this another API-M version's schema?",
                j.needs.table,
                missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if missing.len() == 1 { "" } else { "s" },
                j.needs.hint
            ));
        }
    }
    if !problems.is_empty() {
        return Err(DbError::Schema(format!(
            "{} cannot be cleaned, nothing was deleted:\n  - {}",
            target.display,
            problems.join("\n  - ")
        )));
    }
    let token_cols = c.columns(schema::TOKEN).await?;
    let generation = schema::detect(&token_cols).unwrap_or(Generation::V4_2);
    let mut present = Vec::new();
    for j in jobs {
        let mut deps = Vec::new();
        for (t, col) in &j.dependents {
            if c.columns(t).await?.iter().any(|x| x == col) {
                deps.push((*t, *col));
            }
        }
        present.push(deps);
    }
    Ok((generation, present))
}

/// The columns that identify a row of `table` (its key, else a unique index), for `BAK_*`
/// uniqueness and for restore.
pub(crate) fn row_key(g: Generation, table: &str) -> Option<Vec<&'static str>> {
    let t = schema::tables(g).into_iter().find(|t| t.name == table)?;
    if !t.primary_key.is_empty() {
        return Some(t.primary_key.clone());
    }
    t.indexes
        .iter()
        .find(|i| i.unique)
        .map(|i| i.columns.clone())
}

pub(crate) const RUN_TABLE: &str = "APIM_TUNE_CLEAN_RUN";
pub(crate) const BACKUP_TABLE: &str = "APIM_TUNE_BACKUP";

pub(crate) fn bak(table: &str) -> String {
    format!("BAK_{table}")
}

async fn ensure_bookkeeping(c: &mut Conn) -> Result<(), DbError> {
    if c.columns(RUN_TABLE).await?.is_empty() {
        c.run(&format!(
            "CREATE TABLE {RUN_TABLE} (RUN_ID BIGINT NOT NULL, OPTIONS VARCHAR(512) NOT NULL, \
             STARTED VARCHAR(19) NOT NULL, CUTOFF VARCHAR(19) NOT NULL, AUDIT_CUTOFF VARCHAR(19), \
             SESSION_CUT_NS BIGINT NOT NULL, DELETE_CUT_NS BIGINT NOT NULL, ROWS_DONE BIGINT NOT NULL, \
             BATCHES BIGINT NOT NULL, FINISHED VARCHAR(19), PRIMARY KEY (RUN_ID))"
        ))
        .await?;
    }
    if c.columns(BACKUP_TABLE).await?.is_empty() {
        c.run(&format!(
            "CREATE TABLE {BACKUP_TABLE} (TABLE_NAME VARCHAR(128) NOT NULL, SOURCE_TABLE VARCHAR(128) NOT NULL, \
             CREATED VARCHAR(19) NOT NULL, PRIMARY KEY (TABLE_NAME))"
        ))
        .await?;
    }
    Ok(())
}

/// The backup tables apim-tune made, as `(BAK table, source table)`.
pub(crate) async fn our_backups(c: &mut Conn) -> Result<Vec<(String, String)>, DbError> {
    if c.columns(BACKUP_TABLE).await?.is_empty() {
        return Ok(vec![]);
    }
    Ok(c.fetch(
        &format!(
            "SELECT TABLE_NAME, SOURCE_TABLE FROM {BACKUP_TABLE} ORDER BY CREATED, TABLE_NAME"
        ),
        &[],
    )
    .await?
    .into_iter()
    .filter_map(|r| {
        let mut it = r.into_iter();
        Some((it.next()?.into_text()?, it.next()?.into_text()?))
    })
    .collect())
}

/// Makes sure `BAK_<table>` exists and is ours; refuses a foreign one (WSO2's procedures make
/// full copies under the same name).
async fn prepare_backup(c: &mut Conn, g: Generation, table: &str) -> Result<(), DbError> {
    let name = bak(table);
    let ours = our_backups(c).await?.iter().any(|(b, _)| b == &name);
    let exists = !c.columns(&name).await?.is_empty();
    if ours && !exists {
        // Registered, then dropped by someone: make it again, keep the registration.
        let e = c.engine();
        c.run(&e.create_empty_copy(&name, table)).await?;
        if let Some(key) = row_key(g, table) {
            c.run(&format!(
                "CREATE UNIQUE INDEX {name}_PK ON {name} ({})",
                key.join(", ")
            ))
            .await?;
        }
        return Ok(());
    }
    if exists && !ours {
        return Err(DbError::Refused(format!(
            "`{name}` exists and was not made by apim-tune (WSO2's cleanup procedures create \
             one as a full copy): rename or drop it, or run without --backup. Nothing was deleted."
        )));
    }
    if exists {
        return Ok(());
    }
    let e = c.engine();
    c.run(&e.create_empty_copy(&name, table)).await?;
    if let Some(key) = row_key(g, table) {
        c.run(&format!(
            "CREATE UNIQUE INDEX {name}_PK ON {name} ({})",
            key.join(", ")
        ))
        .await?;
    }
    c.execute(
        &format!("INSERT INTO {BACKUP_TABLE} (TABLE_NAME, SOURCE_TABLE, CREATED) VALUES (?, ?, ?)"),
        &[
            Arg::Text(name),
            Arg::Text(table.to_string()),
            Arg::Text(clock::sql_timestamp(clock::now_secs())),
        ],
    )
    .await?;
    Ok(())
}

/// Finds the unfinished run with the same options, or starts one.
async fn open_run(
    c: &mut Conn,
    plan: &CleanPlan,
    now: i64,
) -> Result<(i64, Cutoffs, bool), DbError> {
    let key = plan.options_key();
    let rows = c
        .fetch(
            &format!(
                "SELECT RUN_ID, CUTOFF, AUDIT_CUTOFF, SESSION_CUT_NS, DELETE_CUT_NS FROM {RUN_TABLE} \
                 WHERE OPTIONS = ? AND FINISHED IS NULL ORDER BY RUN_ID DESC"
            ),
            &[Arg::Text(key.clone())],
        )
        .await?;
    if let Some(r) = rows.into_iter().next() {
        let mut it = r.into_iter();
        let id = it.next().and_then(|v| v.as_i64()).unwrap_or(0);
        let cutoff = it.next().and_then(Arg::into_text).unwrap_or_default();
        let audit_cutoff = it.next().and_then(Arg::into_text);
        let session_ns = it.next().and_then(|v| v.as_i64()).unwrap_or(0);
        let delete_ns = it.next().and_then(|v| v.as_i64()).unwrap_or(0);
        return Ok((
            id,
            Cutoffs {
                cutoff,
                audit_cutoff,
                session_ns,
                delete_ns,
            },
            true,
        ));
    }
    let cuts = Cutoffs::at(now, plan.safe_period, plan.audit_older_than);
    let id = c
        .scalar(&format!("SELECT MAX(RUN_ID) FROM {RUN_TABLE}"), &[])
        .await?
        + 1;
    c.execute(
        &format!(
            "INSERT INTO {RUN_TABLE} (RUN_ID, OPTIONS, STARTED, CUTOFF, AUDIT_CUTOFF, SESSION_CUT_NS, \
             DELETE_CUT_NS, ROWS_DONE, BATCHES) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)"
        ),
        &[
            Arg::Int(id),
            Arg::Text(key),
            Arg::Text(clock::sql_timestamp(now)),
            Arg::Text(cuts.cutoff.clone()),
            cuts.audit_cutoff
                .clone()
                .map(Arg::Text)
                .unwrap_or(Arg::Null),
            Arg::Int(cuts.session_ns),
            Arg::Int(cuts.delete_ns),
        ],
    )
    .await?;
    Ok((id, cuts, false))
}

fn key_list(j: &Job) -> String {
    j.key.join(", ")
}

/// `columns` matching one of `keys`, and its parameters: `= ANY(?)` with one array on
/// PostgreSQL for text keys (parsing and binding 10,000 parameters per statement costs more
/// than the delete), an `IN` list elsewhere.
pub(crate) fn key_match(e: Engine, columns: &[&str], keys: &[Vec<Arg>]) -> (String, Vec<Arg>) {
    if e == Engine::Postgres {
        let texts =
            columns.len() == 1 && keys.iter().all(|k| matches!(k.first(), Some(Arg::Text(_))));
        if texts {
            let list = keys
                .iter()
                .filter_map(|k| match k.first() {
                    Some(Arg::Text(t)) => Some(t.clone()),
                    _ => None,
                })
                .collect();
            return (
                format!("{} = ANY(?)", columns[0]),
                vec![Arg::TextList(list)],
            );
        }
        // Integer keys (REG_LOG's (id, tenant), the audit table's ID): one array per column.
        // A 10,000-tuple IN list exceeds PostgreSQL's stack depth while it is planned.
        let ints = keys
            .iter()
            .all(|k| k.len() == columns.len() && k.iter().all(|v| matches!(v, Arg::Int(_))));
        if ints {
            let arrays: Vec<Arg> = (0..columns.len())
                .map(|i| {
                    Arg::IntList(
                        keys.iter()
                            .filter_map(|k| k.get(i).and_then(Arg::as_i64))
                            .collect(),
                    )
                })
                .collect();
            let unnest = vec!["CAST(? AS BIGINT[])"; columns.len()].join(", ");
            return (
                format!(
                    "({}) IN (SELECT * FROM unnest({unnest}))",
                    columns.join(", ")
                ),
                arrays,
            );
        }
    }
    let cond = if columns.len() == 1 {
        format!("{} IN ({})", columns[0], in_list(keys.len(), 1))
    } else {
        format!(
            "({}) IN ({})",
            columns.join(", "),
            in_list(keys.len(), columns.len())
        )
    };
    (cond, flatten(keys))
}

fn flatten(keys: &[Vec<Arg>]) -> Vec<Arg> {
    keys.iter().flat_map(|k| k.iter().cloned()).collect()
}

/// Rows `job` would remove now, and their dependent rows.
pub(crate) async fn count(
    c: &mut Conn,
    j: &Job,
    deps: &[(&'static str, &'static str)],
    cuts: &Cutoffs,
) -> Result<(u64, u64), DbError> {
    let args = cuts.args(&j.predicate.params);
    let keys_sql = format!(
        "SELECT {} FROM {} WHERE {}",
        key_list(j),
        j.table,
        j.predicate.sql
    );
    let rows = if j.distinct {
        // Every row of each removable session.
        c.scalar(
            &format!(
                "SELECT COUNT(*) FROM {} WHERE {} IN ({keys_sql})",
                j.table, j.key[0]
            ),
            &args,
        )
        .await?
    } else {
        c.scalar(
            &format!("SELECT COUNT(*) FROM {} WHERE {}", j.table, j.predicate.sql),
            &args,
        )
        .await?
    };
    let mut dependent = 0;
    for (t, col) in deps {
        dependent += c
            .scalar(
                &format!("SELECT COUNT(*) FROM {t} WHERE {col} IN ({keys_sql})"),
                &args,
            )
            .await?;
    }
    Ok((rows as u64, dependent as u64))
}

pub(crate) async fn run(
    c: &mut Conn,
    target: &Target,
    plan: &CleanPlan,
    backup_file: Option<&Path>,
    progress: &dyn Progress,
    stop: &Stop,
) -> Result<CleanReport, DbError> {
    let started = Instant::now();
    if (plan.backup == Backup::File) != backup_file.is_some() {
        return Err(DbError::Refused(
            "internal: a backup file plan without its file (or a file without the plan)".into(),
        ));
    }
    if plan.batch == 0 || plan.batch > MAX_BATCH {
        return Err(DbError::Refused(format!(
            "--batch must be between 1 and {MAX_BATCH}"
        )));
    }
    let e = c.engine();
    let now = clock::now_secs();
    let jobs = jobs(e, plan, plan.dry_run);
    if jobs.is_empty() {
        return Err(DbError::Refused(
            "nothing selected: give --tokens, --codes, --sessions, --registry or --audit-table"
                .into(),
        ));
    }
    let (generation, deps) = check_schema(c, target, &jobs).await?;
    let mut report = CleanReport {
        target: target.display.clone(),
        dry_run: plan.dry_run,
        cutoff: String::new(),
        resumed_run: None,
        run_id: None,
        tables: Vec::new(),
        interrupted: false,
        seconds: 0.0,
        scan_seconds: 0.0,
        batch_seconds: 0.0,
        pause_seconds: 0.0,
        registry: None,
    };
    if plan.dry_run {
        let cuts = Cutoffs::at(now, plan.safe_period, plan.audit_older_than);
        report.cutoff = cuts.cutoff.clone();
        for (j, d) in jobs.iter().zip(&deps) {
            let (rows, dependent_rows) = count(c, j, d, &cuts).await?;
            report.tables.push(TableOutcome {
                table: j.table.to_string(),
                rows,
                dependent_rows,
                ..TableOutcome::default()
            });
        }
        report.seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }

    // Every check before the first write: tables, columns, then backup tables.
    ensure_bookkeeping(c).await?;
    if plan.backup == Backup::File {
        for (j, d) in jobs.iter().zip(&deps) {
            check_uncovered_cascades(c, j, d).await?;
        }
    }
    if plan.backup == Backup::Tables {
        for (j, d) in jobs.iter().zip(&deps) {
            for (t, _) in d {
                check_foreign_backup(c, t).await?;
            }
            check_foreign_backup(c, j.table).await?;
            check_uncovered_cascades(c, j, d).await?;
        }
        for (j, d) in jobs.iter().zip(&deps) {
            for (t, _) in d {
                prepare_backup(c, generation, t).await?;
            }
            prepare_backup(c, generation, j.table).await?;
        }
    }
    let (run_id, cuts, resumed) = open_run(c, plan, now).await?;
    report.run_id = Some(run_id);
    report.resumed_run = resumed.then_some(run_id);
    report.cutoff = cuts.cutoff.clone();
    // Opened after every check: a refused run leaves no header behind.
    let writer = match backup_file {
        Some(path) => {
            let (w, note) = backup_file::Writer::open(
                path,
                serde_json::json!({
                    "apim_tune_backup": backup_file::FORMAT,
                    "engine": e.as_str(),
                    "target": target.display,
                    "run_id": run_id,
                    "cutoff": cuts.cutoff,
                }),
            )?;
            // CleanReport has no notes: stderr, where neither --format json nor csv looks.
            if let Some(note) = note {
                eprintln!("apim-tune db clean: note: {note}");
            }
            Some(RefCell::new(w))
        }
        None => None,
    };

    let mut batches_total = 0u64;
    'jobs: for (j, d) in jobs.iter().zip(&deps) {
        if stop.requested() {
            break;
        }
        let mut outcome = TableOutcome {
            table: j.table.to_string(),
            ..TableOutcome::default()
        };
        // Dependents that a cascading foreign key removes with their parent: without a backup
        // the database does it (one statement per batch instead of two).
        let children = cascading_children(c, j.table).await?;
        let cascading: Vec<&'static str> = d
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| children.iter().any(|x| x.eq_ignore_ascii_case(t)))
            .collect();
        // The column lists the backup copies, read once per table, not once per batch.
        let mut backup_columns = Vec::new();
        let mut file_columns = Vec::new();
        for t in std::iter::once(j.table).chain(d.iter().map(|(t, _)| *t)) {
            match plan.backup {
                Backup::Tables => backup_columns.push((t, c.columns(t).await?.join(", "))),
                Backup::File => file_columns.push((t, backup_file::columns(c, t).await?)),
                Backup::None => {}
            }
        }
        // Only PostgreSQL's batches leave cascading dependents to the foreign key (the others
        // delete them explicitly, counted).
        if plan.backup == Backup::None && c.engine() == Engine::Postgres {
            outcome.dependents_by_cascade = cascading.iter().map(|t| t.to_string()).collect();
        }
        let total = if progress.wants_totals() {
            Some(count(c, j, &[], &cuts).await?.0)
        } else {
            None
        };
        progress.begin(j.table, total);
        loop {
            if stop.requested() {
                break;
            }
            let scan = Instant::now();
            let chunk = candidates(c, j, &cuts).await?;
            report.scan_seconds += scan.elapsed().as_secs_f64();
            let complete = chunk.len() < CHUNK;
            for batch in chunk.chunks(plan.batch) {
                if stop.requested() {
                    report.interrupted = true;
                    progress.end(j.table);
                    report.tables.push(outcome);
                    break 'jobs;
                }
                let work = Instant::now();
                let batch_plan = BatchPlan {
                    job: j,
                    deps: d,
                    cascading: &cascading,
                    backup_columns: &backup_columns,
                    file_columns: &file_columns,
                    writer: writer.as_ref(),
                    cuts: &cuts,
                    run_id,
                };
                let (rows, dependent, backed_up) = delete_batch(c, &batch_plan, batch).await?;
                report.batch_seconds += work.elapsed().as_secs_f64();
                outcome.rows += rows;
                outcome.dependent_rows += dependent;
                outcome.backed_up += backed_up;
                outcome.batches += 1;
                batches_total += 1;
                progress.advance(rows);
                if plan.stop_after_batches.is_some_and(|n| batches_total >= n) {
                    stop.request();
                }
                let paused = Instant::now();
                stop.pause(plan.pause).await;
                report.pause_seconds += paused.elapsed().as_secs_f64();
            }
            if complete {
                break;
            }
        }
        progress.end(j.table);
        report.tables.push(outcome);
    }
    if stop.requested() {
        report.interrupted = true;
    }
    if !report.interrupted {
        c.execute(
            &format!("UPDATE {RUN_TABLE} SET FINISHED = ? WHERE RUN_ID = ?"),
            &[
                Arg::Text(clock::sql_timestamp(clock::now_secs())),
                Arg::Int(run_id),
            ],
        )
        .await?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Rows that a cascading foreign key would delete along with the cleaned ones, in a table the
/// backup does not cover (on API-M 4.x: IDN_OAUTH2_TOKEN_BINDING and the OIDC request-object
/// tables), would be lost for good: `--backup` refuses while such a table holds rows.
async fn check_uncovered_cascades(
    c: &mut Conn,
    j: &Job,
    deps: &[(&'static str, &'static str)],
) -> Result<(), DbError> {
    let covered: Vec<&str> = std::iter::once(j.table)
        .chain(deps.iter().map(|(t, _)| *t))
        .collect();
    let mut lost = Vec::new();
    for parent in &covered {
        for child in cascading_children(c, parent).await? {
            if covered.iter().any(|t| t.eq_ignore_ascii_case(&child)) || child.starts_with("BAK_") {
                continue;
            }
            let rows = c
                .scalar(&format!("SELECT COUNT(*) FROM {child}"), &[])
                .await?;
            if rows > 0 {
                lost.push(format!(
                    "`{child}` ({rows} rows, ON DELETE CASCADE from `{parent}`)"
                ));
            }
        }
    }
    if lost.is_empty() {
        return Ok(());
    }
    Err(DbError::Refused(format!(
        "--backup cannot cover {}: deleting from `{}` would remove their rows too, and a \
         restore could not bring them back. Nothing was deleted. Run without --backup (as \
         WSO2's procedures do), or take a database backup first.",
        lost.join(", "),
        j.table
    )))
}

async fn check_foreign_backup(c: &mut Conn, table: &str) -> Result<(), DbError> {
    let name = bak(table);
    if c.columns(&name).await?.is_empty() {
        return Ok(());
    }
    if our_backups(c).await?.iter().any(|(b, _)| b == &name) {
        return Ok(());
    }
    Err(DbError::Refused(format!(
        "`{name}` exists and was not made by apim-tune (WSO2's cleanup procedures create one as \
         a full copy): rename or drop it, or run without --backup. Nothing was deleted."
    )))
}

/// Up to [`CHUNK`] removable keys, sorted.
async fn candidates(c: &mut Conn, j: &Job, cuts: &Cutoffs) -> Result<Vec<Vec<Arg>>, DbError> {
    let order = if j.oldest_first {
        format!(" ORDER BY {}", key_list(j))
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT {}{} FROM {} WHERE {}{order} LIMIT {CHUNK}",
        if j.distinct { "DISTINCT " } else { "" },
        key_list(j),
        j.table,
        j.predicate.sql
    );
    let mut keys = c.fetch(&sql, &cuts.args(&j.predicate.params)).await?;
    if !j.oldest_first {
        keys.sort();
    }
    Ok(keys)
}

/// What one batch needs to know.
struct BatchPlan<'a> {
    job: &'a Job,
    deps: &'a [(&'static str, &'static str)],
    /// Dependents a cascading foreign key removes with their parent.
    cascading: &'a [&'static str],
    /// With `--backup`: each table's columns, which the copy names.
    backup_columns: &'a [(&'static str, String)],
    /// With `--backup-file`: each table's columns and how each is written to the file.
    file_columns: &'a [(&'static str, Vec<FileColumn>)],
    writer: Option<&'a RefCell<backup_file::Writer>>,
    cuts: &'a Cutoffs,
    run_id: i64,
}

/// Where the rows of one table go before they are deleted.
#[derive(Clone, Copy)]
enum Copy<'a> {
    /// Its `BAK_` table, these columns.
    Table(&'a str),
    /// The backup file.
    File(&'a [FileColumn], &'a RefCell<backup_file::Writer>),
}

impl BatchPlan<'_> {
    /// Where the rows of `table` are copied, `None` without a backup.
    fn copy(&self, table: &str) -> Option<Copy<'_>> {
        if let Some((_, cols)) = self.backup_columns.iter().find(|(t, _)| *t == table) {
            return Some(Copy::Table(cols.as_str()));
        }
        let (_, cols) = self.file_columns.iter().find(|(t, _)| *t == table)?;
        Some(Copy::File(cols, self.writer?))
    }
}

/// One batch in one transaction; retried on serialization failures, deadlocks, lock timeouts
/// and a busy database.
async fn delete_batch(
    c: &mut Conn,
    p: &BatchPlan<'_>,
    batch: &[Vec<Arg>],
) -> Result<(u64, u64, u64), DbError> {
    let mut attempt = 0;
    loop {
        let e = c.engine();
        if let Some(w) = p.writer {
            w.borrow_mut().begin()?;
        }
        let body = match c.run(e.begin()).await {
            Ok(()) => batch_body(c, p, batch).await,
            Err(err) => Err(err),
        };
        // The file holds the batch's rows on disk before they can be gone from the database;
        // a batch that rolls back takes its lines with it. A COMMIT that returns an error
        // keeps them: its outcome can be unknown (a connection lost during COMMIT may have
        // committed), and a copy of a row that was never deleted is harmless, since a restore
        // skips a row that is still there and puts back only the last copy of a key (review
        // of issue 17).
        let body = match (body, p.writer) {
            (Ok(done), Some(w)) => w.borrow_mut().sync().map(|()| done),
            (other, _) => other,
        };
        if body.is_err()
            && let Some(w) = p.writer
        {
            w.borrow_mut().rollback();
        }
        let result = match body {
            Ok(done) => c.run("COMMIT").await.map(|()| done),
            Err(err) => Err(err),
        };
        match result {
            Ok(done) => return Ok(done),
            Err(err) => {
                let _ = c.run("ROLLBACK").await;
                if !retryable(&err) || attempt >= RETRIES {
                    return Err(err);
                }
            }
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(50 * attempt as u64)).await;
    }
}

fn retryable(e: &DbError) -> bool {
    matches!(
        e,
        DbError::Sql {
            retryable: true,
            ..
        }
    )
}

/// The batch changed under us (a row added or removed by API-M between the backup copy and the
/// delete): roll back and try again, so the backup always holds exactly what was deleted.
fn moved(table: &str, copied: u64, deleted: u64) -> DbError {
    DbError::Sql {
        statement: format!("DELETE FROM {table}"),
        reason: format!(
            "{copied} rows backed up but {deleted} deleted: rows changed under the batch"
        ),
        retryable: true,
    }
}

async fn batch_body(
    c: &mut Conn,
    p: &BatchPlan<'_>,
    batch: &[Vec<Arg>],
) -> Result<(u64, u64, u64), DbError> {
    let e = c.engine();
    let j = p.job;
    let pred_args = p.cuts.args(&j.predicate.params);
    let mut dependent = 0;
    let mut backed_up = 0;
    let rows;
    if e == Engine::Postgres {
        // REPEATABLE READ: every statement of the batch sees one snapshot, and a row changed
        // by anyone since is a serialization failure (retried). So the keys need no separate
        // re-check: each statement re-applies the predicate itself.
        let (key_cond, key_args) = key_match(e, &j.key, batch);
        let removable = format!("{key_cond} AND {}", j.predicate.sql);
        let mut args = key_args.clone();
        args.extend(pred_args.iter().cloned());
        let keys_sql = format!("SELECT {} FROM {} WHERE {removable}", key_list(j), j.table);
        for (t, col) in p.deps {
            let cond = format!("{col} IN ({keys_sql})");
            if p.cascading.contains(t) {
                // The foreign key removes them with their parent; only the copy is ours.
                if let Some(copy) = p.copy(t) {
                    let copied = copy_rows(c, t, copy, &cond, &args).await?;
                    backed_up += copied;
                    dependent += copied;
                }
            } else {
                let (n, copied) = remove_rows(c, t, &cond, &args, p.copy(t)).await?;
                dependent += n;
                backed_up += copied;
            }
        }
        // Sessions go whole: every row of a session with one removable row.
        let whole = if j.distinct {
            format!("{} IN ({keys_sql})", j.key[0])
        } else {
            removable
        };
        let (n, copied) = remove_rows(c, j.table, &whole, &args, p.copy(j.table)).await?;
        rows = n;
        backed_up += copied;
    } else {
        // Re-check (and on MySQL lock) the keys: only rows removable now are touched.
        let (cond, mut args) = key_match(e, &j.key, batch);
        args.extend(pred_args);
        let live = c
            .fetch(
                &format!(
                    "SELECT {}{} FROM {} WHERE {cond} AND {}{}",
                    if j.distinct { "DISTINCT " } else { "" },
                    key_list(j),
                    j.table,
                    j.predicate.sql,
                    e.lock_rows()
                ),
                &args,
            )
            .await?;
        if live.is_empty() {
            return Ok((0, 0, 0));
        }
        // Dependent rows first, explicitly, so they are backed up and counted. At READ
        // COMMITTED (MySQL) a row API-M adds meanwhile could be deleted without its copy: the
        // counts must match, or the batch is retried.
        for (t, col) in p.deps {
            let (cond, keys) = key_match(e, &[col], &live);
            let (n, copied) = remove_rows(c, t, &cond, &keys, p.copy(t)).await?;
            dependent += n;
            backed_up += copied;
        }
        let (cond, keys) = key_match(e, &j.key, &live);
        let (n, copied) = remove_rows(c, j.table, &cond, &keys, p.copy(j.table)).await?;
        rows = n;
        backed_up += copied;
    }
    c.execute(
        &format!(
            "UPDATE {RUN_TABLE} SET ROWS_DONE = ROWS_DONE + ?, BATCHES = BATCHES + 1 WHERE RUN_ID = ?"
        ),
        &[Arg::Int(rows as i64), Arg::Int(p.run_id)],
    )
    .await?;
    Ok((rows, dependent, backed_up))
}

/// Deletes the rows of `table` matching `cond`, copying them to its backup first when asked;
/// returns (deleted, copied). The two must agree, or the batch is retried.
async fn remove_rows(
    c: &mut Conn,
    table: &str,
    cond: &str,
    args: &[Arg],
    copy: Option<Copy<'_>>,
) -> Result<(u64, u64), DbError> {
    let copied = match copy {
        Some(copy) => copy_rows(c, table, copy, cond, args).await?,
        None => 0,
    };
    let deleted = c
        .execute(&format!("DELETE FROM {table} WHERE {cond}"), args)
        .await?;
    if copy.is_some() && deleted != copied {
        return Err(moved(table, copied, deleted));
    }
    Ok((deleted, copied))
}

/// The tables whose rows a delete from `parent` removes through ON DELETE CASCADE.
pub(crate) async fn cascading_children(c: &mut Conn, parent: &str) -> Result<Vec<String>, DbError> {
    let e = c.engine();
    let names = match e {
        Engine::Sqlite => {
            let tables = c
                .texts("SELECT name FROM sqlite_master WHERE type = 'table'", &[])
                .await?;
            let mut out = Vec::new();
            for t in tables {
                let hit = c
                    .scalar(
                        "SELECT COUNT(*) FROM pragma_foreign_key_list(?) \
                         WHERE lower(\"table\") = lower(?) AND on_delete = 'CASCADE'",
                        &[Arg::Text(t.clone()), Arg::Text(parent.to_string())],
                    )
                    .await?;
                if hit > 0 {
                    out.push(t);
                }
            }
            out
        }
        _ => {
            c.texts(
                e.cascading_children_query(),
                &[Arg::Text(parent.to_string())],
            )
            .await?
        }
    };
    Ok(names.into_iter().map(|n| n.to_ascii_uppercase()).collect())
}

/// Copies the rows of `table` matching `cond` to its `BAK_` table, column by column (by name,
/// so a differently ordered backup table still lines up), or to the backup file's batch.
async fn copy_rows(
    c: &mut Conn,
    table: &str,
    copy: Copy<'_>,
    cond: &str,
    args: &[Arg],
) -> Result<u64, DbError> {
    match copy {
        Copy::Table(cols) => {
            c.execute(
                &format!(
                    "INSERT INTO {} ({cols}) SELECT {cols} FROM {table} WHERE {cond}",
                    bak(table)
                ),
                args,
            )
            .await
        }
        Copy::File(cols, writer) => {
            let e = c.engine();
            let rows = c
                .fetch(
                    &format!(
                        "SELECT {} FROM {table} WHERE {cond}",
                        backup_file::select_list(e, cols)
                    ),
                    args,
                )
                .await?;
            let n = rows.len() as u64;
            for row in rows {
                let line = backup_file::encode_row(table, cols, row)?;
                writer.borrow_mut().line(&line);
            }
            Ok(n)
        }
    }
}

/// The plain, unbatched DELETE statements for `plan` with its cut-offs written in as literals:
/// dependents first (those without a cascading foreign key in WSO2's schema), then the table.
/// Keys go through a derived table, which MySQL needs to delete from a table it also reads.
pub(crate) fn plain_sql(e: Engine, plan: &CleanPlan) -> Result<Vec<String>, DbError> {
    let cuts = Cutoffs::at(clock::now_secs(), plan.safe_period, plan.audit_older_than);
    let mut out = Vec::new();
    for j in jobs(e, plan, false) {
        let args = cuts.args(&j.predicate.params);
        let pred = inline(&j.predicate.sql, &args);
        let keys = key_list(&j);
        let selected = format!(
            "SELECT {keys} FROM (SELECT {}{keys} FROM {} WHERE {pred}) k",
            if j.distinct { "DISTINCT " } else { "" },
            j.table
        );
        let key_cols = if j.key.len() == 1 {
            keys.clone()
        } else {
            format!("({keys})")
        };
        // Session side tables have no foreign key: they need their own DELETE.
        if j.table == schema::SESSION {
            for (t, col) in &j.dependents {
                out.push(format!("DELETE FROM {t} WHERE {col} IN ({selected})"));
            }
        }
        out.push(if j.distinct || j.table == schema::REG_LOG {
            format!("DELETE FROM {} WHERE {key_cols} IN ({selected})", j.table)
        } else {
            format!("DELETE FROM {} WHERE {pred}", j.table)
        });
    }
    Ok(out)
}

/// `?` replaced by the values as SQL literals (ours: timestamps and integers only).
fn inline(sql: &str, args: &[Arg]) -> String {
    let mut out = String::new();
    let mut it = args.iter();
    for ch in sql.chars() {
        if ch == '?' {
            match it.next() {
                Some(Arg::Int(i)) => out.push_str(&i.to_string()),
                Some(Arg::Text(s)) => out.push_str(&format!("'{}'", s.replace('\'', "''"))),
                _ => out.push_str("NULL"),
            }
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> CleanPlan {
        CleanPlan {
            tokens: true,
            codes: true,
            sessions: true,
            registry: true,
            audit_older_than: Some(Duration::from_secs(90 * 86_400)),
            safe_period: Duration::from_secs(7200),
            batch: 10,
            pause: Duration::ZERO,
            backup: Backup::None,
            dry_run: false,
            stop_after_batches: None,
        }
    }

    #[test]
    fn cutoffs_are_utc_text_and_nanoseconds() {
        let c = Cutoffs::at(1_795_326_481, Duration::from_secs(7200), None);
        assert_eq!(c.cutoff, "2026-11-22 03:48:01");
        assert_eq!(c.session_ns, (1_795_326_481 - 7200) * 1_000_000_000);
        assert_eq!(c.delete_ns, (1_795_326_481 - 43_200) * 1_000_000_000);
        assert_eq!(c.audit_cutoff, None);
    }

    #[test]
    fn the_options_key_ignores_batch_and_pause() {
        let mut a = plan();
        let key = a.options_key();
        a.batch = 99;
        a.pause = Duration::from_secs(3);
        assert_eq!(a.options_key(), key);
        a.backup = Backup::Tables;
        assert_ne!(a.options_key(), key);
    }

    #[test]
    fn plain_sql_inlines_the_cutoffs() {
        // SAFETY of the test: SOURCE_DATE_EPOCH is not read here; only the shape is checked.
        let sql = plain_sql(Engine::Postgres, &plan()).expect("sql");
        assert_eq!(sql.len(), 9, "{sql:#?}");
        assert!(sql.iter().all(|s| !s.contains('?')), "{sql:?}");
        assert!(sql[0].starts_with("DELETE FROM IDN_OAUTH2_ACCESS_TOKEN WHERE"));
        assert!(
            sql[2].starts_with("DELETE FROM IDN_AUTH_USER_SESSION_MAPPING WHERE SESSION_ID IN")
        );
        assert!(sql[6].contains("SELECT DISTINCT SESSION_ID"));
        assert!(sql[8].starts_with("DELETE FROM REG_LOG WHERE (REG_LOG_ID, REG_TENANT_ID) IN"));
    }
}
