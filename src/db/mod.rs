//! The API-M database: growth audit, batched deep-clean, backup and restore, and the synthetic
//! data to try them on.
//!
//! With `gateway/`, the only async code: sqlx is async, so each public function here builds a
//! current-thread tokio runtime, opens one connection and blocks until done. Nothing outside
//! `src/db/` uses sqlx (a test enforces it); callers see plain functions and plain data
//! ([`model`]).

mod audit;
mod backup_file;
mod clean;
mod conn;
pub mod dialect;
pub mod model;
mod restore;
pub mod schedule;
pub mod schema;
mod seed;
mod stop;
pub mod target;

pub use audit::AuditSpec;
pub use clean::{Backup, CleanPlan, MAX_BATCH, MAX_PAUSE, MAX_PERIOD};
pub use conn::Arg;
pub use model::{ConfigContext, ConfigFlag};
pub use restore::Part as RestorePart;
pub use seed::{MAX_SEED_ROWS, SeedSpec};
pub use target::Target;

use conn::{Conn, Open};
use schema::Generation;
use std::future::Future;

/// Something went wrong talking to the database. Every message names the table or statement
/// and never contains the password.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    /// Tables or columns a cleanup needs are missing: nothing was deleted.
    #[error("{0}")]
    Schema(String),
    /// A safety check refused to go on (a foreign backup table, bad options): nothing changed.
    #[error("{0}")]
    Refused(String),
    #[error("{statement} failed: {reason}")]
    Sql {
        statement: String,
        reason: String,
        /// A serialization failure or deadlock: the batch can be retried.
        retryable: bool,
    },
    #[error("cannot start the database runtime: {0}")]
    Runtime(String),
    /// SQLite stayed locked by another connection for the whole busy timeout.
    #[error(
        "{statement} failed: {}. Nothing more was changed: run the command again when the \
         other writer is done",
        busy_reason()
    )]
    Busy { statement: String },
}

impl DbError {
    /// An error from `sql`, named by its first words (`DELETE FROM IDN_OAUTH2_ACCESS_TOKEN`).
    fn sql(sql: &str, e: sqlx::Error) -> DbError {
        let statement: String = sql
            .split_whitespace()
            .take_while(|w| !w.starts_with('(') && !w.eq_ignore_ascii_case("WHERE"))
            .take(5)
            .collect::<Vec<_>>()
            .join(" ");
        if is_sqlite_busy(&e) {
            // The busy timeout already waited; a retry would multiply the one bounded wait.
            return DbError::Busy { statement };
        }
        let retryable = match &e {
            sqlx::Error::Database(d) => {
                matches!(
                    d.code().as_deref(),
                    // PostgreSQL serialization failure / deadlock, MySQL deadlock (SQLSTATE),
                    // SQLite's stale snapshot (returned at once, not after the busy wait: the
                    // transaction must start again).
                    Some("40001") | Some("40P01") | Some("517")
                ) || d.message().contains("Lock wait timeout")
            }
            _ => false,
        };
        DbError::Sql {
            statement,
            reason: describe(&e),
            retryable,
        }
    }
}

/// SQLite's SQLITE_BUSY (5) or SQLITE_LOCKED (6) after the busy timeout ran out. 517
/// (SQLITE_BUSY_SNAPSHOT) is not: it comes at once and a new transaction gets past it.
fn is_sqlite_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                && matches!(d.code().as_deref(), Some("5" | "6" | "261" | "262" | "773"))
        }
        _ => false,
    }
}

/// Why a busy SQLite database failed. "At most": SQLite answers at once, without the wait,
/// where waiting could deadlock (a journal-mode switch, a read lock that must become a write
/// lock while another connection holds the write lock).
fn busy_reason() -> String {
    format!(
        "the SQLite database is locked by another connection (apim-tune waits at most {} s for \
         a lock)",
        conn::SQLITE_BUSY_TIMEOUT.as_secs()
    )
}

/// A sqlx error as one line without the connection URL.
fn describe(e: &sqlx::Error) -> String {
    if is_sqlite_busy(e) {
        return busy_reason();
    }
    match e {
        sqlx::Error::Database(d) => match d.code() {
            Some(code) => format!("{} (code {code})", d.message()),
            None => d.message().to_string(),
        },
        // rustls reports a certificate that does not verify as an I/O error.
        sqlx::Error::Io(io) if io.to_string().contains("certificate") => format!(
            "TLS: {io} (the server's certificate must chain to --ca-file or the system's trust \
             store, and name the host of the URL)"
        ),
        sqlx::Error::Io(io) => format!("I/O error: {io}"),
        // rustls's own words ("invalid peer certificate: UnknownIssuer") say what to fix; the
        // source chain is walked because sqlx wraps them.
        sqlx::Error::Tls(e) => {
            let mut reason = format!("TLS: {e}");
            let mut source = std::error::Error::source(e.as_ref());
            while let Some(s) = source {
                let text = s.to_string();
                if !reason.contains(&text) {
                    reason.push_str(&format!(": {text}"));
                }
                source = s.source();
            }
            crate::redact::redact_url(&reason)
        }
        other => crate::redact::redact_url(&other.to_string()),
    }
}

/// Where long runs report progress; `cli` draws it, tests ignore it.
pub trait Progress {
    /// A table starts; `total` rows are expected when known.
    fn begin(&self, table: &str, total: Option<u64>);
    fn advance(&self, rows: u64);
    fn end(&self, table: &str);
    /// Whether totals are shown: counting them costs a full scan of the table.
    fn wants_totals(&self) -> bool {
        true
    }
}

/// Progress that goes nowhere.
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn end(&self, _: &str) {}
    fn wants_totals(&self) -> bool {
        false
    }
}

fn block_on<F: Future>(f: F) -> Result<F::Output, DbError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DbError::Runtime(e.to_string()))?;
    Ok(rt.block_on(f))
}

/// What `db init` did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct InitReport {
    pub created: Vec<String>,
    pub existing: Vec<String>,
}

/// Creates the API-M tables of generation `g` that do not exist yet (with their indexes).
pub fn init(t: &Target, g: Generation) -> Result<InitReport, DbError> {
    block_on(async {
        let mut c = Conn::open(t, Open::CreateSqlite).await?;
        let mut report = InitReport::default();
        for table in schema::tables(g) {
            if !c.columns(table.name).await?.is_empty() {
                report.existing.push(table.name.to_string());
                continue;
            }
            c.run(&schema::create_table(t.engine, &table)).await?;
            for i in &table.indexes {
                c.run(&schema::create_index(&table, i)).await?;
            }
            report.created.push(table.name.to_string());
        }
        c.close().await;
        Ok(report)
    })?
}

/// Fills the tables with synthetic growth (see [`SeedSpec`]).
pub fn seed(
    t: &Target,
    spec: &SeedSpec,
    progress: &dyn Progress,
) -> Result<model::SeedReport, DbError> {
    block_on(async {
        let mut c = Conn::open(t, Open::Existing).await?;
        let r = seed::run(&mut c, t, spec, progress).await;
        c.close().await;
        r
    })?
}

/// Per-table growth figures and findings.
pub fn audit(t: &Target, spec: &AuditSpec) -> Result<model::DbAuditReport, DbError> {
    block_on(async {
        let mut c = Conn::open(t, Open::ReadOnly).await?;
        let r = audit::run(&mut c, t, spec).await;
        c.close().await;
        r
    })?
}

/// Deletes the removable rows in batches (or counts them with `dry_run`). Ctrl-C or SIGTERM
/// stops it after the batch in flight; the report then says `interrupted`.
pub fn clean(
    t: &Target,
    plan: &CleanPlan,
    progress: &dyn Progress,
) -> Result<model::CleanReport, DbError> {
    clean_with_file(t, plan, None, progress)
}

/// [`clean`], with `plan.backup` [`Backup::File`] appending every deleted row to `file`.
pub fn clean_with_file(
    t: &Target,
    plan: &CleanPlan,
    file: Option<&std::path::Path>,
    progress: &dyn Progress,
) -> Result<model::CleanReport, DbError> {
    block_on(async {
        let stop = stop::Stop::on_signals();
        // A dry run only counts: it opens the database as `db audit` does.
        let how = if plan.dry_run {
            Open::ReadOnly
        } else {
            Open::Existing
        };
        let mut c = Conn::open(t, how).await?;
        let r = clean::run(&mut c, t, plan, file, progress, &stop).await;
        c.close().await;
        r
    })?
}

/// The plain SQL of one unbatched clean with the same predicates and cut-offs (for comparison
/// and for people who want to see what "removable" means on their engine).
pub fn plain_sql(t: &Target, plan: &CleanPlan) -> Result<Vec<String>, DbError> {
    clean::plain_sql(t.engine, plan)
}

/// Puts the rows of every apim-tune `BAK_*` table back.
pub fn restore(t: &Target, progress: &dyn Progress) -> Result<model::RestoreReport, DbError> {
    restore_part(t, None, RestorePart::All, progress)
}

/// Puts the rows of a `db clean --backup-file` file back.
pub fn restore_file(
    t: &Target,
    file: &std::path::Path,
    progress: &dyn Progress,
) -> Result<model::RestoreReport, DbError> {
    restore_part(t, Some(file), RestorePart::All, progress)
}

/// [`restore`] or [`restore_file`] of some tables only; a part with nothing to put back is an
/// empty report, not an error.
pub fn restore_part(
    t: &Target,
    file: Option<&std::path::Path>,
    part: RestorePart,
    progress: &dyn Progress,
) -> Result<model::RestoreReport, DbError> {
    block_on(async {
        let mut c = Conn::open(t, Open::Existing).await?;
        let r = match file {
            Some(f) => restore::run_file(&mut c, t, f, part, progress).await,
            None => restore::run(&mut c, t, part, progress).await,
        };
        c.close().await;
        r
    })?
}

/// A plain synchronous connection for tests and scripts: run statements with `?` parameters,
/// read rows back as values. The `db` commands do not use it.
pub struct Connection {
    rt: tokio::runtime::Runtime,
    conn: Option<Conn>,
}

impl Connection {
    /// Opens `t` (creating a missing SQLite file).
    pub fn open(t: &Target) -> Result<Connection, DbError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DbError::Runtime(e.to_string()))?;
        let conn = rt.block_on(Conn::open(t, Open::CreateSqlite))?;
        Ok(Connection {
            rt,
            conn: Some(conn),
        })
    }

    fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("open until dropped")
    }

    pub fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, DbError> {
        let Connection { rt, conn } = self;
        let c = conn.as_mut().expect("open until dropped");
        rt.block_on(c.execute(sql, args))
    }

    pub fn fetch(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Vec<Arg>>, DbError> {
        let Connection { rt, conn } = self;
        let c = conn.as_mut().expect("open until dropped");
        rt.block_on(c.fetch(sql, args))
    }

    /// Runs an unprepared statement (DDL, several statements on SQLite and PostgreSQL).
    pub fn run(&mut self, sql: &str) -> Result<(), DbError> {
        let Connection { rt, conn } = self;
        let c = conn.as_mut().expect("open until dropped");
        rt.block_on(c.run(sql))
    }

    /// The column names of `table`, upper case; empty when it does not exist.
    pub fn columns(&mut self, table: &str) -> Result<Vec<String>, DbError> {
        let Connection { rt, conn } = self;
        let c = conn.as_mut().expect("open until dropped");
        rt.block_on(c.columns(table))
    }

    pub fn engine(&mut self) -> dialect::Engine {
        self.conn().engine()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.rt.block_on(c.close());
        }
    }
}
