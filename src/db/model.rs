//! Plain data the `db` commands produce: what `db audit` found per table, what `db clean` and
//! `db restore` did. No database types here, so `report/` and `cli/` can use them freely.

use crate::diag::{Checked, Finding, Subject};
use crate::model::Location;
use serde::Serialize;
use std::time::Duration;

/// One table as `db audit` saw it.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TableStats {
    /// The table's name as WSO2 writes it (upper case).
    pub table: String,
    /// `false` when the table does not exist in this database.
    pub present: bool,
    pub rows: Option<u64>,
    /// Table plus its indexes, in bytes.
    pub size_bytes: Option<u64>,
    /// `exact` (SQLite `dbstat`, PostgreSQL `pg_total_relation_size`) or `estimate` (MySQL
    /// `information_schema`, which InnoDB keeps approximately).
    pub size_kind: Option<&'static str>,
    /// Rows `db clean` would remove now (with the same options), when this table is cleaned.
    pub removable: Option<u64>,
    /// Removable rows by reason, e.g. `("state INACTIVE/REVOKED/EXPIRED", 123)`.
    pub reasons: Vec<(String, u64)>,
    /// The oldest removable row's time (UTC, `YYYY-MM-DD HH:MM:SS`): how long nothing has cleaned.
    pub oldest_removable: Option<String>,
}

/// What `db audit` reports: per-table figures plus findings in the audit's finding model.
#[derive(Clone, Debug)]
pub struct DbAuditReport {
    /// The database URL with its password masked.
    pub target: String,
    /// `sqlite`, `postgresql` or `mysql`.
    pub engine: &'static str,
    /// What the server says it is (`PostgreSQL 15.14`, `11.8.3-MariaDB`, `SQLite 3.51.3`).
    pub server_version: Option<String>,
    /// The API-M schema generation the tables look like (`4.2`, `3.2`, `2.6`).
    pub schema_version: Option<String>,
    /// "Now" and the cut-offs used, UTC.
    pub now: String,
    pub cutoff: String,
    pub safe_period: String,
    pub tables: Vec<TableStats>,
    pub findings: Vec<Finding>,
    /// Every check made, passing or not (JUnit lists passes).
    pub checked: Vec<Checked>,
    pub notes: Vec<String>,
    /// What the DBG rules judge; `findings` and `checked` are their verdict.
    pub facts: DbFacts,
}

/// A boolean API-M setting that matters to growth, as the home's audit read it.
#[derive(Clone, Debug)]
pub struct ConfigFlag {
    pub value: bool,
    /// `deployment.toml:oauth.token_cleanup.enable` and the like.
    pub subject: Subject,
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

/// What `db audit` gathered for the DBG rules (`rules/db/`) to judge.
#[derive(Clone, Debug, Default)]
pub struct DbFacts {
    /// Every runtime table, present or not, with what the cleanup would remove.
    pub tables: Vec<TableStats>,
    /// The indexes the cleanup needs, on tables that exist.
    pub cleanup_indexes: Vec<IndexNeed>,
    /// The age past which token audit rows count as removable.
    pub audit_older_than: Duration,
    pub context: ConfigContext,
    /// MySQL/MariaDB only: the server's time zone.
    pub time_zone: Option<ServerTimeZone>,
    /// `BAK_<TABLE>` tables apim-tune did not create, with their row counts.
    pub foreign_backups: Vec<(String, i64)>,
    /// `db clean` runs that stopped before they finished.
    pub unfinished_runs: Vec<UnfinishedRun>,
    /// How the command named the database, so a fix hint names it the same way.
    pub named_by: NamedBy,
}

/// How a `db` command was told which database to open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NamedBy {
    /// `--url` on the command line.
    #[default]
    Url,
    /// The `APIM_TUNE_DB_URL` environment variable.
    Env,
    /// `--apim-home DIR`: the home's datasource.
    ApimHome(String),
}

impl NamedBy {
    /// The options a `db` command needs to reach the same database (the URL itself is never
    /// repeated: it may hold the password), and a note when nothing needs repeating.
    pub fn hint_args(&self) -> (String, Option<&'static str>) {
        match self {
            NamedBy::Url => ("--url … ".to_string(), None),
            NamedBy::Env => (
                String::new(),
                Some(" (the database comes from APIM_TUNE_DB_URL, as for this audit)"),
            ),
            NamedBy::ApimHome(home) => (format!("--apim-home {home} "), None),
        }
    }
}

impl DbFacts {
    pub fn table(&self, name: &str) -> Option<&TableStats> {
        self.tables.iter().find(|t| t.table == name)
    }
}

/// An index the cleanup's queries need, and the column lists of the indexes the table has.
#[derive(Clone, Debug)]
pub struct IndexNeed {
    pub table: String,
    pub name: String,
    pub columns: Vec<String>,
    /// Which query needs it.
    pub why: &'static str,
    pub existing: Vec<Vec<String>>,
}

/// `@@global.time_zone`, `@@system_time_zone`, and the server's offset from UTC now.
#[derive(Clone, Debug)]
pub struct ServerTimeZone {
    pub global: String,
    pub system: String,
    pub offset_minutes: i64,
}

/// A row of apim-tune's run table whose run never finished.
#[derive(Clone, Debug)]
pub struct UnfinishedRun {
    pub table: String,
    pub id: i64,
    pub options: String,
    pub started: String,
    pub rows_done: i64,
}

/// What happened to one table in `db clean` or `db restore`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TableOutcome {
    pub table: String,
    /// Rows removed (clean), or put back (restore), from the table itself.
    pub rows: u64,
    /// Rows of dependent tables that went with them (scope rows, session side tables).
    pub dependent_rows: u64,
    pub batches: u64,
    /// Rows copied to `BAK_<TABLE>` or the backup file.
    pub backed_up: u64,
    /// Dependent tables whose rows went through ON DELETE CASCADE (not counted).
    pub dependents_by_cascade: Vec<String>,
}

/// The result of `db clean` (or of its `--dry-run`).
#[derive(Clone, Debug, Serialize)]
pub struct CleanReport {
    pub target: String,
    pub dry_run: bool,
    /// The run's cut-off (now − safe period, UTC); a resumed run keeps the first run's.
    pub cutoff: String,
    /// `Some(id)` when this run continued an interrupted one.
    pub resumed_run: Option<i64>,
    pub run_id: Option<i64>,
    pub tables: Vec<TableOutcome>,
    /// Stopped by Ctrl-C/SIGTERM (or `--stop-after-batches`) after a whole batch: run again to
    /// continue.
    pub interrupted: bool,
    pub seconds: f64,
    /// Where the time went: finding candidates, the batches' transactions, the pauses.
    pub scan_seconds: f64,
    pub batch_seconds: f64,
    pub pause_seconds: f64,
    /// With `--apim-home` and `--registry`: the run on the registry's own database (REG_LOG
    /// is not in the API-M database).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<Box<CleanReport>>,
}

/// The result of `db restore`.
#[derive(Clone, Debug, Serialize)]
pub struct RestoreReport {
    pub target: String,
    pub tables: Vec<TableOutcome>,
    /// Backed-up rows left in the backup: their key is present again, or they conflict with
    /// a row created since.
    pub skipped_present: u64,
    /// Of those, rows that conflicted with a unique index (not their key).
    pub conflicts: u64,
    pub notes: Vec<String>,
    /// `db restore --backup-file`: the file the rows came from (it is never changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_file: Option<String>,
    /// With `--apim-home` and a registry database of its own: REG_LOG's restore there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<Box<RestoreReport>>,
}

impl RestoreReport {
    /// Nothing restored yet, into `target`, from `backup_file` when the rows come from one.
    pub fn new(target: &str, backup_file: Option<String>) -> RestoreReport {
        RestoreReport {
            target: target.to_string(),
            tables: Vec::new(),
            skipped_present: 0,
            conflicts: 0,
            notes: Vec::new(),
            backup_file,
            registry: None,
        }
    }
}

/// The result of `db seed`.
#[derive(Clone, Debug, Serialize)]
pub struct SeedReport {
    pub target: String,
    /// Rows written per table.
    pub tables: Vec<(String, u64)>,
    pub rows: u64,
    pub seconds: f64,
    /// Seconds of that spent rebuilding indexes dropped for the load.
    pub index_seconds: f64,
}
