//! What a schedule is made of: the `--engine`, the `db clean` options it bakes in, and the
//! checks every target shares. Nothing here writes schedule text.

use super::when::{At, Every};
use super::{ENV_FILE, URL_VAR, fmt_duration, parse_duration};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Whole-second durations up to this bound: SQL Server's DATEADD takes an INT number of
/// seconds, and a safe period or `--older-than` beyond ten years is a typo.
const MAX_PERIOD: Duration = Duration::from_secs(3650 * 86_400);
/// The longest pause between batches (SQL Server's WAITFOR DELAY stops at 24 h; a longer pause
/// than this only makes a run last forever).
const MAX_PAUSE: Duration = Duration::from_secs(3600);
const MAX_BATCH: u32 = 1_000_000;

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

/// What a run removes and how gently: the `db clean` options a schedule bakes in, parsed from
/// `--options "…"` so that the procedures do the same and the units pass only checked words on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanOptions {
    /// `--tokens`: IDN_OAUTH2_ACCESS_TOKEN.
    pub tokens: bool,
    /// `--codes`: IDN_OAUTH2_AUTHORIZATION_CODE.
    pub codes: bool,
    /// `--sessions`: IDN_AUTH_SESSION_STORE and its side tables.
    pub sessions: bool,
    /// `--registry`: REG_LOG (in the registry/shared database in API-M 3.x and 4.x).
    pub registry: bool,
    /// `--audit-table --older-than D`: IDN_OAUTH2_ACCESS_TOKEN_AUDIT rows older than D.
    pub audit_older_than: Option<Duration>,
    /// `--safe-period`: how long past expiry a token, code or session is kept (gateways may
    /// still cache a token).
    pub safe_period: Duration,
    /// `--batch`: rows (sessions for the session store) per delete.
    pub batch: u32,
    /// `--pause`: sleep between batches, to leave the database to API-M.
    pub pause: Duration,
    /// `--backup`: `db clean` backs up what it deletes (systemd and cron only).
    pub backup: bool,
}

impl Default for CleanOptions {
    /// The tables WSO2's own procedures clean in the API-M database, with `db clean`'s
    /// defaults.
    fn default() -> Self {
        CleanOptions {
            tokens: true,
            codes: true,
            sessions: true,
            registry: false,
            audit_older_than: None,
            safe_period: Duration::from_secs(2 * 3600),
            batch: 10_000,
            pause: Duration::from_millis(100),
            backup: false,
        }
    }
}

impl CleanOptions {
    /// Parses `db clean` options (`--tokens --safe-period 2h --batch 5000`…). With no table
    /// option, tokens, codes and sessions are cleaned. `--url` is refused: the URL, which may
    /// hold a password, comes from the environment file.
    pub fn parse(options: &str) -> Result<CleanOptions, ScheduleError> {
        let bad = |word: &str, reason: String| ScheduleError::Options {
            value: word.to_string(),
            reason,
        };
        let mut o = CleanOptions {
            tokens: false,
            codes: false,
            sessions: false,
            ..CleanOptions::default()
        };
        let mut audit_table = false;
        let mut older_than = None;
        let mut words = options.split_whitespace();
        while let Some(word) = words.next() {
            let (key, inline) = match word.split_once('=') {
                Some((k, v)) if k.starts_with("--") => (k, Some(v)),
                _ => (word, None),
            };
            let mut value = || {
                inline
                    .or_else(|| words.next())
                    .ok_or_else(|| bad(word, format!("{key} needs a value")))
            };
            let flag = |on: &mut bool| {
                if inline.is_some() {
                    return Err(bad(word, format!("{key} takes no value")));
                }
                *on = true;
                Ok(())
            };
            match key {
                "--tokens" => flag(&mut o.tokens)?,
                "--codes" => flag(&mut o.codes)?,
                "--sessions" => flag(&mut o.sessions)?,
                "--registry" => flag(&mut o.registry)?,
                "--audit-table" => flag(&mut audit_table)?,
                "--backup" => flag(&mut o.backup)?,
                // The schedule adds --yes itself: nobody is there to answer.
                "--yes" => flag(&mut true)?,
                "--older-than" => {
                    let v = value()?;
                    older_than = Some(period(v).map_err(|r| bad(v, format!("--older-than: {r}")))?);
                }
                "--safe-period" => {
                    let v = value()?;
                    o.safe_period = period(v).map_err(|r| bad(v, format!("--safe-period: {r}")))?;
                }
                "--pause" => {
                    let v = value()?;
                    o.pause = parse_duration(v).map_err(|r| bad(v, format!("--pause: {r}")))?;
                    if o.pause > MAX_PAUSE {
                        return Err(bad(v, "--pause: at most 1h".to_string()));
                    }
                }
                "--batch" => {
                    let v = value()?;
                    o.batch = v
                        .parse()
                        .ok()
                        .filter(|b| (1..=MAX_BATCH).contains(b))
                        .ok_or_else(|| {
                            bad(v, format!("--batch: a whole number from 1 to {MAX_BATCH}"))
                        })?;
                }
                "--url" => {
                    return Err(bad(
                        word,
                        format!(
                            "the URL (and its password) comes from {ENV_FILE} ({URL_VAR}=…), \
                             not from the schedule"
                        ),
                    ));
                }
                _ => {
                    return Err(bad(
                        word,
                        "unknown option; known: --tokens --codes --sessions --registry \
                         --audit-table --older-than --safe-period --batch --pause --backup"
                            .to_string(),
                    ));
                }
            }
        }
        match (audit_table, older_than) {
            (true, Some(d)) => o.audit_older_than = Some(d),
            (true, None) => {
                return Err(bad(
                    "--audit-table",
                    "needs --older-than (e.g. --older-than 90d)".to_string(),
                ));
            }
            (false, Some(_)) => {
                return Err(bad(
                    "--older-than",
                    "applies to --audit-table only".to_string(),
                ));
            }
            (false, None) => {}
        }
        if !(o.tokens || o.codes || o.sessions || o.registry || o.audit_older_than.is_some()) {
            let d = CleanOptions::default();
            (o.tokens, o.codes, o.sessions) = (d.tokens, d.codes, d.sessions);
        }
        Ok(o)
    }

    /// The options as `db clean` arguments, every table named (so the run does not depend on
    /// `db clean`'s defaults) and every value spelled out.
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        for (on, flag) in [
            (self.tokens, "--tokens"),
            (self.codes, "--codes"),
            (self.sessions, "--sessions"),
            (self.registry, "--registry"),
        ] {
            if on {
                a.push(flag.to_string());
            }
        }
        if let Some(d) = self.audit_older_than {
            a.extend(["--audit-table", "--older-than"].map(String::from));
            a.push(fmt_duration(d));
        }
        a.extend([
            "--safe-period".to_string(),
            fmt_duration(self.safe_period),
            "--batch".to_string(),
            self.batch.to_string(),
            "--pause".to_string(),
            fmt_duration(self.pause),
        ]);
        if self.backup {
            a.push("--backup".to_string());
        }
        a
    }
}

/// Everything a schedule is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleOptions {
    pub every: Every,
    pub at: At,
    /// Shown, password masked, in the environment-file hint of `systemd` and `cron`; never
    /// written into a unit, a crontab or a procedure.
    pub url: Option<String>,
    pub clean: CleanOptions,
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
            clean: CleanOptions::default(),
            binary: "/usr/local/bin/apim-tune".to_string(),
        }
    }
}

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

/// A safe period or `--older-than`: whole seconds (the procedures count in seconds), at most
/// ten years.
fn period(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.subsec_nanos() != 0 {
        return Err("give whole seconds".to_string());
    }
    if d > MAX_PERIOD {
        return Err("at most 3650d".to_string());
    }
    Ok(d)
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
    if target.is_procedure() && opts.clean.backup {
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

/// The bounds [`CleanOptions::parse`] enforces, again for options built in code.
fn check_clean(c: &CleanOptions) -> Result<(), ScheduleError> {
    let bad = |value: String, reason: &str| {
        Err(ScheduleError::Options {
            value,
            reason: reason.to_string(),
        })
    };
    if !(c.tokens || c.codes || c.sessions || c.registry || c.audit_older_than.is_some()) {
        return bad(String::new(), "no table to clean");
    }
    if !(1..=MAX_BATCH).contains(&c.batch) {
        return bad(
            c.batch.to_string(),
            "--batch: a whole number from 1 to 1000000",
        );
    }
    if c.pause > MAX_PAUSE {
        return bad(fmt_duration(c.pause), "--pause: at most 1h");
    }
    for d in std::iter::once(c.safe_period).chain(c.audit_older_than) {
        if d.subsec_nanos() != 0 || d > MAX_PERIOD {
            return bad(fmt_duration(d), "periods are whole seconds, at most 3650d");
        }
    }
    Ok(())
}
