//! What a schedule is made of: the `--engine`, the `db clean` plan it bakes in (with a
//! schedule's default tables and bounds), and the checks every target shares. Nothing here
//! parses `db clean` words (`cli` does, with `db clean`'s own arguments) or writes schedule
//! text beyond the plan's words.

use super::ScheduleError;
use super::fmt_duration;
use super::when::{At, Every};
use crate::db::{Backup, CleanPlan, MAX_BATCH, MAX_PAUSE, MAX_PERIOD};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// What `db schedule --engine` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScheduleTarget {
    /// A MySQL/MariaDB procedure and EVENT.
    MySql,
    /// A PL/pgSQL procedure (PostgreSQL ≥ 11) and a pg_cron job.
    Postgres,
    /// A T-SQL procedure (SQL Server ≥ 2016) and a SQL Server Agent job.
    MsSql,
    /// A oneshot service and a timer running `apim-tune db clean`.
    Systemd,
    /// One crontab line running `apim-tune db clean`.
    Cron,
}

impl ScheduleTarget {
    pub const ALL: [ScheduleTarget; 5] = [
        ScheduleTarget::MySql,
        ScheduleTarget::Postgres,
        ScheduleTarget::MsSql,
        ScheduleTarget::Systemd,
        ScheduleTarget::Cron,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleTarget::MySql => "mysql",
            ScheduleTarget::Postgres => "postgresql",
            ScheduleTarget::MsSql => "mssql",
            ScheduleTarget::Systemd => "systemd",
            ScheduleTarget::Cron => "cron",
        }
    }

    /// Whether the target is a stored procedure (no backups, the engine's scheduler).
    pub(super) fn is_procedure(self) -> bool {
        matches!(
            self,
            ScheduleTarget::MySql | ScheduleTarget::Postgres | ScheduleTarget::MsSql
        )
    }

    /// Whether the scheduler takes any whole number of days or weeks (MySQL's `EVERY n DAY`,
    /// Agent's `freq_interval`/`freq_recurrence_factor`); cron fields, pg_cron and OnCalendar
    /// cannot repeat evenly across month ends.
    fn takes_multi_day(self) -> bool {
        matches!(self, ScheduleTarget::MySql | ScheduleTarget::MsSql)
    }
}

impl fmt::Display for ScheduleTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScheduleTarget {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mysql" | "mariadb" => Ok(ScheduleTarget::MySql),
            "postgresql" | "postgres" => Ok(ScheduleTarget::Postgres),
            "mssql" | "sqlserver" => Ok(ScheduleTarget::MsSql),
            "systemd" => Ok(ScheduleTarget::Systemd),
            "cron" => Ok(ScheduleTarget::Cron),
            _ => Err(ScheduleError::Target {
                value: s.to_string(),
            }),
        }
    }
}

/// What a run removes and how gently when `--options` names nothing else: the tables WSO2's own
/// procedures clean in the API-M database, with `db clean`'s defaults (`cli` checks that
/// parsing an empty `--options` gives this plan).
fn default_clean() -> CleanPlan {
    CleanPlan {
        tokens: true,
        codes: true,
        sessions: true,
        registry: false,
        audit_older_than: None,
        safe_period: Duration::from_secs(2 * 3600),
        batch: 10_000,
        pause: Duration::from_millis(100),
        backup: Backup::None,
        dry_run: false,
        stop_after_batches: None,
    }
}

/// Whether `c` names any table.
fn selects_a_table(c: &CleanPlan) -> bool {
    c.tokens || c.codes || c.sessions || c.registry || c.audit_older_than.is_some()
}

/// With no table option, a schedule cleans tokens, codes and sessions, as WSO2's procedures
/// do; `db clean` itself refuses to guess, so the schedule always names its tables.
pub(crate) fn default_tables(c: &mut CleanPlan) {
    if !selects_a_table(c) {
        let d = default_clean();
        (c.tokens, c.codes, c.sessions) = (d.tokens, d.codes, d.sessions);
    }
}

/// The plan as `db clean` arguments, every table named (so the run does not depend on
/// `db clean`'s defaults) and every value spelled out.
pub(crate) fn clean_args(c: &CleanPlan) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    for (on, flag) in [
        (c.tokens, "--tokens"),
        (c.codes, "--codes"),
        (c.sessions, "--sessions"),
        (c.registry, "--registry"),
    ] {
        if on {
            a.push(flag.to_string());
        }
    }
    if let Some(d) = c.audit_older_than {
        a.extend(["--audit-table", "--older-than"].map(String::from));
        a.push(fmt_duration(d));
    }
    a.extend([
        "--safe-period".to_string(),
        fmt_duration(c.safe_period),
        "--batch".to_string(),
        c.batch.to_string(),
        "--pause".to_string(),
        fmt_duration(c.pause),
    ]);
    if c.backup == Backup::Tables {
        a.push("--backup".to_string());
    }
    a
}

/// Everything a schedule is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleOptions {
    pub every: Every,
    pub at: At,
    /// Shown, password masked, in the environment-file hint of `systemd` and `cron`; never
    /// written into a unit, a crontab or a procedure.
    pub url: Option<String>,
    /// What a run removes and how gently: `db clean`'s own plan, which `cli` builds from
    /// `--options` with `db clean`'s own parser.
    pub clean: CleanPlan,
    /// apim-tune's absolute path, for `systemd` and `cron` (cron's PATH has no
    /// /usr/local/bin).
    pub binary: String,
}

impl Default for ScheduleOptions {
    fn default() -> Self {
        ScheduleOptions {
            every: Every::default(),
            at: At::default(),
            url: None,
            clean: default_clean(),
            binary: "/usr/local/bin/apim-tune".to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checks shared by all targets

pub(super) fn check(target: ScheduleTarget, opts: &ScheduleOptions) -> Result<(), ScheduleError> {
    let unsupported = |what: String, reason: &str| ScheduleError::Unsupported {
        target,
        what,
        reason: reason.to_string(),
    };
    let every = || format!("run --every {}", opts.every);
    match opts.every {
        Every::Minutes(0) | Every::Hours(0) | Every::Days(0) | Every::Weeks(0) => {
            return Err(ScheduleError::Every {
                value: opts.every.to_string(),
                reason: "the shortest interval is 1m".to_string(),
            });
        }
        Every::Minutes(m) if 60 % m != 0 => {
            return Err(unsupported(
                every(),
                "minutes must divide the hour evenly (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30)",
            ));
        }
        Every::Hours(h) if 24 % h != 0 => {
            return Err(unsupported(
                every(),
                "hours must divide the day evenly (1, 2, 3, 4, 6, 8 or 12)",
            ));
        }
        Every::Days(n) if n > 1 && !target.takes_multi_day() => {
            return Err(unsupported(
                every(),
                "its calendar repeats by day of the month, which is uneven across month ends; \
                 use 1d or 1w (mysql and mssql take any number of days)",
            ));
        }
        Every::Weeks(n) if n > 1 && !target.takes_multi_day() => {
            return Err(unsupported(
                every(),
                "its calendar has no every-n-weeks; use 1w (mysql and mssql take any number \
                 of weeks)",
            ));
        }
        _ => {}
    }
    if opts.at.hour > 23 || opts.at.minute > 59 {
        return Err(ScheduleError::At {
            value: opts.at.to_string(),
            reason: "not a time of day".to_string(),
        });
    }
    if opts.at.weekday.is_some() && !matches!(opts.every, Every::Weeks(_)) {
        return Err(ScheduleError::At {
            value: opts.at.to_string(),
            reason: format!("a weekday needs a weekly --every (1w), not {}", opts.every),
        });
    }
    check_clean(&opts.clean)?;
    if target.is_procedure() && opts.clean.backup == Backup::Tables {
        return Err(unsupported(
            "back up".to_string(),
            "the procedures keep no backup; schedule `apim-tune db clean --backup` with \
             --engine systemd or cron for backed-up runs",
        ));
    }
    if let Some(url) = &opts.url
        && url.chars().any(char::is_control)
    {
        // It is echoed into a comment: a newline would start a line of its own in a unit.
        return Err(ScheduleError::Url {
            reason: "contains a control character".to_string(),
        });
    }
    if !target.is_procedure() {
        let b = &opts.binary;
        let bad = |reason: &str| ScheduleError::Binary {
            value: b.clone(),
            reason: reason.to_string(),
        };
        if !b.starts_with('/') {
            return Err(bad(
                "must be absolute (cron's PATH is short, systemd wants one)",
            ));
        }
        // It goes into `sh -c '…'` and ExecStart= as it is: no quoting, so no odd characters.
        if !b
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._+-".contains(c))
        {
            return Err(bad("only letters, digits and / . _ + - are allowed"));
        }
    }
    Ok(())
}

/// What a schedule takes on top of what `db clean` accepts: the procedures count periods in
/// whole seconds and pause with SQL Server's WAITFOR, and a schedule runs the clean for real.
/// `cli` calls it on `--options` too, so that the error names them.
pub(crate) fn check_clean(c: &CleanPlan) -> Result<(), ScheduleError> {
    let bad = |value: String, reason: String| Err(ScheduleError::Options { value, reason });
    if !selects_a_table(c) {
        return bad(String::new(), "no table to clean".to_string());
    }
    if c.dry_run || c.stop_after_batches.is_some() {
        // Neither has a `db clean` word in the unit or a procedure: it would be dropped.
        return bad(
            String::new(),
            "a schedule runs the clean for real: no dry run, no test stop".to_string(),
        );
    }
    if !(1..=MAX_BATCH).contains(&c.batch) {
        return bad(
            c.batch.to_string(),
            format!("--batch: a whole number from 1 to {MAX_BATCH}"),
        );
    }
    if c.pause > MAX_PAUSE {
        return bad(fmt_duration(c.pause), "--pause: at most 1h".to_string());
    }
    for (name, d) in [
        ("--safe-period", Some(c.safe_period)),
        ("--older-than", c.audit_older_than),
    ] {
        let Some(d) = d else { continue };
        if d.subsec_nanos() != 0 {
            return bad(
                fmt_duration(d),
                format!("{name}: give whole seconds (the procedures count in seconds)"),
            );
        }
        if d > MAX_PERIOD {
            return bad(fmt_duration(d), format!("{name}: at most 3650d"));
        }
    }
    Ok(())
}
