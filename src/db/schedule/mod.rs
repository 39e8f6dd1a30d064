//! `db schedule`: the text of a ready schedule that runs `db clean`'s work unattended.
//!
//! Pure text generation, no database access. Two kinds of target:
//! - `systemd` and `cron` run `apim-tune db clean` itself (UTC cut-offs, backups, resumable
//!   runs), with the database URL kept in an environment file, never in the unit or crontab;
//! - `mysql`, `postgresql` and `mssql` install a stored procedure doing the same batched
//!   deletes inside the database, plus that engine's own scheduler (an EVENT, a pg_cron job, a
//!   SQL Server Agent job), for sites where nothing may run outside the database.
//!
//! The procedures use the removable predicates of [`crate::db::dialect`], the one definition
//! that `db clean` and `db audit` use too, with each `?` bound to a procedure variable. Unlike
//! WSO2's MySQL scripts (`NOW()`, the server's local time), every cut-off is taken in UTC.
//!
//! What a run removes and how gently is `db clean`'s own [`CleanPlan`](crate::db::CleanPlan):
//! `cli` parses `--options` with `db clean`'s arguments, so a schedule cannot take a value a
//! run would refuse. This module parses no `db clean` words; it only writes them.
//!
//! The parts:
//! - `options`: what to print (`--engine`, the plan with a schedule's default tables and
//!   bounds, the plan as `db clean` words) and the checks every target shares;
//! - `when`: `--every` and `--at`, and the same times in each scheduler's own syntax;
//! - `header`: the comment every output starts with;
//! - `units`: the systemd service and timer, and the crontab line;
//! - `procedure`, `mysql`, `postgres`, `mssql`: the stored procedures and their schedulers.

mod header;
mod mssql;
mod mysql;
mod options;
mod postgres;
mod procedure;
#[cfg(test)]
mod tests;
mod units;
mod when;

pub use crate::clock::{fmt_duration, parse_duration};
pub use options::{ScheduleOptions, ScheduleTarget};
// `cli`'s tests check that these words parse back to the same plan with `db clean`'s arguments.
#[cfg(test)]
pub(crate) use options::clean_args;
pub(crate) use options::{check_clean, default_tables};
pub use when::{At, Every, Weekday};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The systemd unit names; the timer starts the service of the same name.
pub const SERVICE_UNIT: &str = "apim-tune-db-clean.service";
pub const TIMER_UNIT: &str = "apim-tune-db-clean.timer";
/// The environment file holding `APIM_TUNE_DB_URL=…` for `systemd` and `cron`.
pub const ENV_FILE: &str = "/etc/apim-tune/db.env";
/// The variable the environment file sets.
pub const URL_VAR: &str = "APIM_TUNE_DB_URL";
/// The procedure's name (MySQL/MariaDB and SQL Server; lower case on PostgreSQL, where
/// unquoted names fold to lower case anyway).
pub const PROCEDURE: &str = "APIM_TUNE_CLEAN";

/// Prints the schedule for `target`: the header comment, then what to install.
pub fn render(target: ScheduleTarget, opts: &ScheduleOptions) -> Result<String, ScheduleError> {
    options::check(target, opts)?;
    Ok(match target {
        ScheduleTarget::MySql => mysql::render(opts),
        ScheduleTarget::Postgres => postgres::render(opts),
        ScheduleTarget::MsSql => mssql::render(opts),
        ScheduleTarget::Systemd => units::systemd(opts),
        ScheduleTarget::Cron => units::cron(opts),
    })
}

/// Why a schedule cannot be written; every part of `db schedule` reports through it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("unknown --engine `{value}`: use mysql, postgresql, mssql, systemd or cron")]
    Target { value: String },
    #[error("invalid --every `{value}`: {reason}")]
    Every { value: String, reason: String },
    #[error("invalid --at `{value}`: {reason}")]
    At { value: String, reason: String },
    #[error("invalid --options at `{value}`: {reason}")]
    Options { value: String, reason: String },
    #[error("--engine {target} cannot {what}: {reason}")]
    Unsupported {
        target: ScheduleTarget,
        what: String,
        reason: String,
    },
    #[error("invalid --url: {reason}")]
    Url { reason: String },
    #[error("invalid apim-tune path `{value}`: {reason}")]
    Binary { value: String, reason: String },
}
