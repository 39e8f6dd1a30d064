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

pub use crate::clock::{fmt_duration, parse_duration};
use crate::db::dialect::{self, Engine, Param, Predicate};
use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;
use std::time::Duration;

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

const LOCK_FILE: &str = "/run/lock/apim-tune-db-clean.lock";
const LOG_FILE: &str = "/var/log/apim-tune-db-clean.log";

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
    fn is_procedure(self) -> bool {
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

/// `--every`: how often the clean runs, normalised to the largest whole unit (`60m` is `1h`,
/// `7d` is `1w`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    Minutes(u32),
    Hours(u32),
    Days(u32),
    Weeks(u32),
}

impl Every {
    fn from_minutes(m: u64) -> Every {
        // Each quotient is at most the number the user typed, which fit in a u32.
        let n = |unit: u64| u32::try_from(m / unit).unwrap_or(u32::MAX);
        if m.is_multiple_of(10_080) {
            Every::Weeks(n(10_080))
        } else if m.is_multiple_of(1440) {
            Every::Days(n(1440))
        } else if m.is_multiple_of(60) {
            Every::Hours(n(60))
        } else {
            Every::Minutes(n(1))
        }
    }

    /// `every day`, `every 6 hours`… for the header.
    fn phrase(self) -> String {
        let (n, one, many) = match self {
            Every::Minutes(n) => (n, "minute", "minutes"),
            Every::Hours(n) => (n, "hour", "hours"),
            Every::Days(n) => (n, "day", "days"),
            Every::Weeks(n) => (n, "week", "weeks"),
        };
        if n == 1 {
            format!("every {one}")
        } else {
            format!("every {n} {many}")
        }
    }
}

impl Default for Every {
    fn default() -> Self {
        Every::Days(1)
    }
}

impl fmt::Display for Every {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Every::Minutes(n) => write!(f, "{n}m"),
            Every::Hours(n) => write!(f, "{n}h"),
            Every::Days(n) => write!(f, "{n}d"),
            Every::Weeks(n) => write!(f, "{n}w"),
        }
    }
}

impl FromStr for Every {
    type Err = ScheduleError;

    /// `30m`, `6h`, `1d`, `7d`, `1w`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| ScheduleError::Every {
            value: s.to_string(),
            reason: reason.to_string(),
        };
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        if num.is_empty() || unit.is_empty() {
            return Err(bad("expected a number and a unit: 30m, 6h, 1d or 1w"));
        }
        let n: u64 = num
            .parse::<u32>()
            .map_err(|_| bad("the number is too large"))?
            .into();
        let minutes = match unit {
            "m" => n,
            "h" => n * 60,
            "d" => n * 1440,
            "w" => n * 10_080,
            "s" | "ms" => return Err(bad("the shortest interval is 1m")),
            _ => return Err(bad("unknown unit: use m, h, d or w (30m, 6h, 1d, 1w)")),
        };
        if minutes == 0 {
            return Err(bad("the shortest interval is 1m"));
        }
        Ok(Every::from_minutes(minutes))
    }
}

/// A day of the week for weekly schedules (`--at "Sat 03:30"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weekday {
    Sun,
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
}

impl Weekday {
    const ALL: [Weekday; 7] = [
        Weekday::Sun,
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
    ];
    const NAMES: [&'static str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];

    /// 0 for Sunday, as cron counts.
    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        Weekday::NAMES[self.index()]
    }

    fn abbrev(self) -> &'static str {
        &self.name()[..3]
    }

    fn parse(s: &str) -> Option<Weekday> {
        let s = s.to_ascii_lowercase();
        Weekday::ALL.into_iter().find(|d| {
            let name = d.name().to_ascii_lowercase();
            s == name || s == name[..3]
        })
    }
}

/// `--at`: the time of day a run starts (`02:00`), with a weekday for weekly schedules
/// (`Sat 02:00`; Sunday when omitted). Sub-day intervals take it as their phase: `--every 6h
/// --at 02:00` runs at 02:00, 08:00, 14:00 and 20:00.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    pub weekday: Option<Weekday>,
    pub hour: u8,
    pub minute: u8,
}

impl Default for At {
    /// 02:00, a quiet hour at most sites and WSO2's usual example.
    fn default() -> Self {
        At {
            weekday: None,
            hour: 2,
            minute: 0,
        }
    }
}

impl At {
    fn hhmm(self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }

    fn day(self) -> Weekday {
        self.weekday.unwrap_or(Weekday::Sun)
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = self.weekday {
            write!(f, "{} ", d.abbrev())?;
        }
        f.write_str(&self.hhmm())
    }
}

impl FromStr for At {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| ScheduleError::At {
            value: s.to_string(),
            reason: reason.to_string(),
        };
        let t = s.trim();
        let (weekday, time) = match t.split_once(char::is_whitespace) {
            Some((day, rest)) => (
                Some(Weekday::parse(day).ok_or_else(|| {
                    bad("unknown weekday: use Sun, Mon, Tue, Wed, Thu, Fri or Sat")
                })?),
                rest.trim(),
            ),
            None => (None, t),
        };
        let expected = "expected HH:MM (02:00), optionally after a weekday (Sat 02:00)";
        let (h, m) = time.split_once(':').ok_or_else(|| bad(expected))?;
        let digits = |x: &str, min: usize| {
            (min..=2).contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(h, 1) || !digits(m, 2) {
            return Err(bad(expected));
        }
        let (hour, minute): (u8, u8) = (
            h.parse().map_err(|_| bad(expected))?,
            m.parse().map_err(|_| bad(expected))?,
        );
        if hour > 23 {
            return Err(bad("the hour must be 00 to 23"));
        }
        if minute > 59 {
            return Err(bad("the minute must be 00 to 59"));
        }
        Ok(At {
            weekday,
            hour,
            minute,
        })
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

/// Prints the schedule for `target`: the header comment, then what to install.
pub fn render(target: ScheduleTarget, opts: &ScheduleOptions) -> Result<String, ScheduleError> {
    check(target, opts)?;
    Ok(match target {
        ScheduleTarget::MySql => mysql(opts),
        ScheduleTarget::Postgres => postgres(opts),
        ScheduleTarget::MsSql => mssql(opts),
        ScheduleTarget::Systemd => systemd(opts),
        ScheduleTarget::Cron => cron(opts),
    })
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

fn check(target: ScheduleTarget, opts: &ScheduleOptions) -> Result<(), ScheduleError> {
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

// ---------------------------------------------------------------------------------------------
// The header every output starts with

/// Where `--at` is read, per scheduler.
fn at_zone(target: ScheduleTarget) -> &'static str {
    match target {
        ScheduleTarget::MySql => "the MySQL server's time zone",
        ScheduleTarget::Postgres => "pg_cron's cron.timezone, GMT unless set",
        ScheduleTarget::MsSql => "the SQL Server host's local time",
        ScheduleTarget::Systemd => "the host's local time",
        ScheduleTarget::Cron => "the cron daemon's time zone, the host's",
    }
}

/// `every day at 02:00`, `every 6 hours from 02:00 (02:00, 08:00, 14:00, 20:00)`.
fn when(every: Every, at: At) -> String {
    match every {
        Every::Minutes(m) => format!(
            "{} from minute {:02} of each hour",
            every.phrase(),
            u32::from(at.minute) % m
        ),
        Every::Hours(h) => {
            let first = u32::from(at.hour) % h;
            let times: Vec<String> = (first..24)
                .step_by(h as usize)
                .map(|hh| format!("{hh:02}:{:02}", at.minute))
                .collect();
            format!("{} ({})", every.phrase(), times.join(", "))
        }
        Every::Days(_) => format!("{} at {}", every.phrase(), at.hhmm()),
        Every::Weeks(_) => format!("{} on {} at {}", every.phrase(), at.day().name(), at.hhmm()),
    }
}

/// One line per table: what a run removes from it.
fn removes(c: &CleanOptions) -> Vec<String> {
    let safe = fmt_duration(c.safe_period);
    let mut r = Vec::new();
    if c.tokens {
        r.push(format!(
            "IDN_OAUTH2_ACCESS_TOKEN: INACTIVE/REVOKED/EXPIRED tokens, and ACTIVE ones whose access and refresh \
             tokens both expired over {safe} ago (never-expiring ones stay); scopes and OIDC request rows follow \
             by ON DELETE CASCADE"
        ));
    }
    if c.codes {
        r.push(format!(
            "IDN_OAUTH2_AUTHORIZATION_CODE: codes whose token is gone, once expired over {safe} ago or INACTIVE"
        ));
    }
    if c.sessions {
        r.push(format!(
            "IDN_AUTH_SESSION_STORE: whole sessions with a row expired over {safe} ago or a DELETE operation over \
             12h old, with their rows in IDN_AUTH_USER_SESSION_MAPPING, IDN_AUTH_SESSION_APP_INFO, \
             IDN_AUTH_SESSION_META_DATA and IDN_FED_AUTH_SESSION_MAPPING (those present)"
        ));
    }
    if c.registry {
        r.push(
            "REG_LOG: rows superseded by a newer row for the same path and tenant, and DELETE_RESOURCE (action 7) rows"
                .to_string(),
        );
    }
    if let Some(d) = c.audit_older_than {
        r.push(format!(
            "IDN_OAUTH2_ACCESS_TOKEN_AUDIT: rows invalidated (or, without that time, created) over {} ago",
            fmt_duration(d)
        ));
    }
    r
}

fn header(cm: &str, target: ScheduleTarget, opts: &ScheduleOptions) -> String {
    let c = &opts.clean;
    let mut h = String::new();
    let mut line = |s: &str| {
        if s.is_empty() {
            h.push_str(cm);
        } else {
            let _ = write!(h, "{cm} {s}");
        }
        h.push('\n');
    };
    line(&format!(
        "Generated by apim-tune {VERSION}: apim-tune db schedule --engine {target} --every {} --at \"{}\" \
         --options \"{}\"",
        opts.every,
        opts.at,
        c.args().join(" ")
    ));
    line(&format!(
        "Runs {}, in {}.",
        when(opts.every, opts.at),
        at_zone(target)
    ));
    line("Removes, in this order:");
    for r in removes(c) {
        line(&format!("  {r}"));
    }
    line(&format!(
        "Timestamps are compared in UTC: {}.",
        match target {
            ScheduleTarget::MySql =>
                "the cut-off is UTC_TIMESTAMP() minus the safe period (WSO2's scripts use NOW(), the server's \
                 local time), session times are epoch nanoseconds from UNIX_TIMESTAMP()",
            ScheduleTarget::Postgres =>
                "the cut-off is timezone('UTC', now()) minus the safe period, session times are epoch nanoseconds",
            ScheduleTarget::MsSql =>
                "the cut-off is GETUTCDATE() minus the safe period, session times are epoch nanoseconds",
            ScheduleTarget::Systemd | ScheduleTarget::Cron =>
                "apim-tune db clean takes its cut-offs from the UTC clock, not the database's",
        }
    ));
    line(&format!(
        "Baked in: safe period {}, batches of {} rows{}, {} pause between batches.",
        fmt_duration(c.safe_period),
        c.batch,
        if c.sessions {
            " (of sessions in the session store)"
        } else {
            ""
        },
        fmt_duration(c.pause),
    ));
    if target.is_procedure() {
        line(
            "No backup: the procedure deletes for good. For backed-up runs use `apim-tune db clean --backup` \
             (or --engine systemd/cron with --options \"--backup\").",
        );
    } else if c.backup {
        line("Backup: each run backs up what it deletes (--backup).");
    } else {
        line("No backup: add --backup to --options for backed-up runs.");
    }
    if c.registry && (c.tokens || c.codes || c.sessions || c.audit_older_than.is_some()) {
        line(
            "Note: REG_LOG lives in the registry (shared) database in API-M 3.x/4.x, the other tables in the \
             API-M database; if those differ, make one schedule per database.",
        );
    }
    h
}

// ---------------------------------------------------------------------------------------------
// The schedules: cron expressions, OnCalendar, EVENT, Agent

/// A standard five-field cron expression (for crontab and pg_cron).
fn cron_expr(every: Every, at: At) -> String {
    match every {
        Every::Minutes(1) => "* * * * *".to_string(),
        Every::Minutes(m) => {
            let first = u32::from(at.minute) % m;
            format!("{first}-59/{m} * * * *")
        }
        Every::Hours(h) => {
            let first = u32::from(at.hour) % h;
            if h == 1 {
                format!("{} * * * *", at.minute)
            } else {
                format!("{} {first}-23/{h} * * *", at.minute)
            }
        }
        Every::Days(_) => format!("{} {} * * *", at.minute, at.hour),
        Every::Weeks(_) => format!("{} {} * * {}", at.minute, at.hour, at.day().index()),
    }
}

/// systemd's OnCalendar= for the same times.
fn on_calendar(every: Every, at: At) -> String {
    match every {
        Every::Minutes(1) => "*-*-* *:*:00".to_string(),
        Every::Minutes(m) => format!("*-*-* *:{:02}/{m}:00", u32::from(at.minute) % m),
        Every::Hours(h) => format!(
            "*-*-* {:02}/{h}:{:02}:00",
            u32::from(at.hour) % h,
            at.minute
        ),
        Every::Days(_) => format!("*-*-* {}:00", at.hhmm()),
        Every::Weeks(_) => format!("{} *-*-* {}:00", at.day().abbrev(), at.hhmm()),
    }
}

/// MySQL's `EVERY n UNIT STARTS '…'`. The start is a fixed past date on the right weekday
/// (2000-01-02 was a Sunday), so the text does not depend on the day it was made and a
/// recurring event simply runs at the next matching time.
fn mysql_every(every: Every, at: At) -> String {
    let (n, unit, day, hour, minute) = match every {
        Every::Minutes(m) => (m, "MINUTE", 2, 0, u32::from(at.minute) % m),
        Every::Hours(h) => (h, "HOUR", 2, u32::from(at.hour) % h, u32::from(at.minute)),
        Every::Days(d) => (d, "DAY", 2, at.hour.into(), at.minute.into()),
        Every::Weeks(w) => (
            w,
            "WEEK",
            2 + at.day().index(),
            at.hour.into(),
            at.minute.into(),
        ),
    };
    format!("EVERY {n} {unit} STARTS '2000-01-{day:02} {hour:02}:{minute:02}:00'")
}

/// SQL Server Agent's sp_add_schedule arguments.
fn agent_schedule(every: Every, at: At) -> String {
    let start = |h: u32, m: u32| h * 10_000 + m * 100;
    let (freq, subday, start_time) = match every {
        Every::Minutes(m) => (
            "@freq_type = 4, @freq_interval = 1".to_string(),
            format!("@freq_subday_type = 4, @freq_subday_interval = {m}"),
            start(0, u32::from(at.minute) % m),
        ),
        Every::Hours(h) => (
            "@freq_type = 4, @freq_interval = 1".to_string(),
            format!("@freq_subday_type = 8, @freq_subday_interval = {h}"),
            start(u32::from(at.hour) % h, at.minute.into()),
        ),
        Every::Days(d) => (
            format!("@freq_type = 4, @freq_interval = {d}"),
            "@freq_subday_type = 1".to_string(),
            start(at.hour.into(), at.minute.into()),
        ),
        Every::Weeks(w) => (
            // freq_interval is a bit mask of weekdays, Sunday = 1.
            format!(
                "@freq_type = 8, @freq_interval = {}, @freq_recurrence_factor = {w}",
                1u32 << at.day().index()
            ),
            "@freq_subday_type = 1".to_string(),
            start(at.hour.into(), at.minute.into()),
        ),
    };
    format!("{freq}, {subday}, @active_start_time = {start_time}")
}

// ---------------------------------------------------------------------------------------------
// Procedures: shared pieces

/// The session side tables, deleted by SESSION_ID with their session (each only where it
/// exists: older API-M databases lack some).
const SESSION_SIDE_TABLES: [&str; 4] = [
    "IDN_AUTH_USER_SESSION_MAPPING",
    "IDN_AUTH_SESSION_APP_INFO",
    "IDN_AUTH_SESSION_META_DATA",
    "IDN_FED_AUTH_SESSION_MAPPING",
];

/// A predicate's SQL with each `?` replaced by the variable holding that parameter (the dialect
/// promises no `?` inside literals).
fn bind(p: &Predicate, var: impl Fn(Param) -> &'static str) -> String {
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
fn plain_var(p: Param) -> &'static str {
    match p {
        Param::Cutoff => "v_cutoff",
        Param::AuditCutoff => "v_audit_cutoff",
        Param::SessionCutoffNs => "v_session_cutoff_ns",
        Param::DeleteCutoffNs => "v_delete_cutoff_ns",
    }
}

fn mssql_var(p: Param) -> &'static str {
    match p {
        Param::Cutoff => "@cutoff",
        Param::AuditCutoff => "@audit_cutoff",
        Param::SessionCutoffNs => "@session_cutoff_ns",
        Param::DeleteCutoffNs => "@delete_cutoff_ns",
    }
}

fn qualify(alias: &str, column: &str) -> String {
    if alias.is_empty() {
        column.to_string()
    } else {
        format!("{alias}.{column}")
    }
}

/// T-SQL's "TIME_CREATED + VALIDITY_PERIOD ms < cut-off". DATEADD takes an INT, which a
/// validity of years in milliseconds overflows; DATEDIFF_BIG (SQL Server 2016) counts the
/// other way in BIGINT.
fn mssql_expired(created: &str, validity_ms: &str, cutoff: &str) -> String {
    format!("DATEDIFF_BIG(MILLISECOND, {created}, {cutoff}) > {validity_ms}")
}

/// A dialect predicate in T-SQL. SQL Server is no [`Engine`] (apim-tune never connects to it),
/// so the MySQL form is taken, whose only non-T-SQL part is the expiry test: each one is
/// swapped for [`mssql_expired`] (the rest — IN, EXISTS, COALESCE, CAST AS DATETIME — is T-SQL
/// too; a test checks no MySQL function is left).
fn mssql_predicate(p: Predicate, alias: &str) -> Predicate {
    let mut sql = p.sql;
    for (created, validity) in [
        ("TIME_CREATED", "VALIDITY_PERIOD"),
        (
            "REFRESH_TOKEN_TIME_CREATED",
            "REFRESH_TOKEN_VALIDITY_PERIOD",
        ),
    ] {
        let (created, validity) = (qualify(alias, created), qualify(alias, validity));
        sql = sql.replace(
            &Engine::MySql.expired(&created, &validity, "?"),
            &mssql_expired(&created, &validity, "?"),
        );
    }
    Predicate {
        sql,
        params: p.params,
    }
}

/// Counters the procedures keep, in output order.
fn counters(c: &CleanOptions) -> Vec<(&'static str, &'static str)> {
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
fn call_args(c: &CleanOptions) -> String {
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

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB

fn mysql(opts: &ScheduleOptions) -> String {
    let c = &opts.clean;
    let e = Engine::MySql;
    let mut o = header("--", ScheduleTarget::MySql, opts);
    o.push_str(
        "--
-- Install: mysql WSO2AM_DB < this-file (or mariadb); MySQL 5.7+ or MariaDB 10.2+. Run it in the
-- database that holds the tables. The event runs only while the event scheduler is on:
-- SET GLOBAL event_scheduler = ON, and event_scheduler = ON under [mysqld] to keep it on.
-- Run by hand: CALL APIM_TUNE_CLEAN(safe period s, batch, pause ms, audit age s or NULL).

-- 1. The procedure.
DROP PROCEDURE IF EXISTS APIM_TUNE_CLEAN;
DELIMITER $$
CREATE PROCEDURE APIM_TUNE_CLEAN(
    IN p_safe_period_s BIGINT,
    IN p_batch INT,
    IN p_pause_ms INT,
    IN p_audit_older_than_s BIGINT)
    MODIFIES SQL DATA
",
    );
    let _ = writeln!(
        o,
        "    COMMENT 'apim-tune {VERSION} db clean: batched delete of expired API-M rows (UTC cut-offs)'"
    );
    o.push_str(
        "proc: BEGIN
    DECLARE v_now DATETIME;
    DECLARE v_now_s BIGINT;
    DECLARE v_cutoff DATETIME;
    DECLARE v_audit_cutoff DATETIME;
    DECLARE v_session_cutoff_ns BIGINT;
    DECLARE v_delete_cutoff_ns BIGINT;
    DECLARE v_rows INT DEFAULT 0;
",
    );
    for (name, _) in counters(c) {
        let _ = writeln!(o, "    DECLARE v_{name} BIGINT DEFAULT 0;");
    }
    if c.sessions {
        for t in SESSION_SIDE_TABLES {
            let _ = writeln!(
                o,
                "    DECLARE v_has_{} INT DEFAULT 0;",
                t.to_ascii_lowercase()
            );
        }
    }
    o.push_str(
        "    -- GET_LOCK names are server-wide: one lock per database.
    DECLARE v_lock VARCHAR(64) DEFAULT LEFT(CONCAT('apim_tune_clean.', DATABASE()), 64);

    -- API-M writes UTC wall-clock times into TIMESTAMP columns through sessions in the server's
    -- default time zone; a session in another zone reads them shifted by the difference.
    IF @@SESSION.time_zone <> @@GLOBAL.time_zone THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
            'APIM_TUNE_CLEAN: run it in the server time zone: SET time_zone = @@GLOBAL.time_zone';
    END IF;
    IF p_safe_period_s IS NULL OR p_safe_period_s < 0 OR p_batch IS NULL OR p_batch < 1
        OR p_pause_ms IS NULL OR p_pause_ms < 0
",
    );
    if c.audit_older_than.is_some() {
        o.push_str("        OR p_audit_older_than_s IS NULL OR p_audit_older_than_s < 0\n");
    }
    o.push_str(
        "    THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
            'APIM_TUNE_CLEAN: periods and pause must be >= 0 and the batch >= 1';
    END IF;
    -- One run at a time: a run longer than the interval must not race the next one.
    IF COALESCE(GET_LOCK(v_lock, 0), 0) = 0 THEN
        SELECT 'another APIM_TUNE_CLEAN run holds the lock: nothing done' AS apim_tune_clean;
        LEAVE proc;
    END IF;

    -- One instant for every cut-off, taken once so a run does not chase rows expiring while it
    -- works. UNIX_TIMESTAMP() without an argument is epoch seconds in any time zone (given a
    -- UTC_TIMESTAMP() argument it would read it as session-local time).
    SELECT UTC_TIMESTAMP(), UNIX_TIMESTAMP() INTO v_now, v_now_s;
    SET v_cutoff = v_now - INTERVAL p_safe_period_s SECOND;
",
    );
    if c.audit_older_than.is_some() {
        o.push_str("    SET v_audit_cutoff = v_now - INTERVAL p_audit_older_than_s SECOND;\n");
    }
    if c.sessions {
        let _ = write!(
            o,
            "    SET v_session_cutoff_ns = (v_now_s - p_safe_period_s) * 1000000000;
    SET v_delete_cutoff_ns = v_now_s * 1000000000 - {};
",
            dialect::SESSION_DELETE_AGE_NS
        );
        for t in SESSION_SIDE_TABLES {
            let _ = writeln!(
                o,
                "    SELECT COUNT(*) INTO v_has_{} FROM information_schema.tables
        WHERE table_schema = DATABASE() AND UPPER(table_name) = '{t}';",
                t.to_ascii_lowercase()
            );
        }
    }
    let sleep = "DO SLEEP(p_pause_ms / 1000);";
    // A batch's keys go to a temporary table first: MySQL allows no LIMIT in an IN subquery,
    // and no subquery on the table a DELETE deletes from. The table copies the key columns'
    // types and collation from the source, so the join cannot fail on mixed collations.
    let keyed = |o: &mut String,
                 comment: &str,
                 table: &str,
                 alias: &str,
                 keys: &[&str],
                 pred: &Predicate,
                 recheck: bool,
                 order: bool,
                 counter: &str| {
        let cond = bind(pred, plain_var);
        let key_list = keys.join(", ");
        let sel: Vec<String> = keys.iter().map(|k| format!("{alias}.{k}")).collect();
        let on: Vec<String> = keys
            .iter()
            .map(|k| format!("b.{k} = {alias}.{k}"))
            .collect();
        let _ = write!(
            o,
            "
    -- {comment}
    DROP TEMPORARY TABLE IF EXISTS APIM_TUNE_BATCH;
    CREATE TEMPORARY TABLE APIM_TUNE_BATCH (PRIMARY KEY ({key_list}))
        SELECT {key_list} FROM {table} LIMIT 0;
    {counter}_loop: LOOP
        INSERT INTO APIM_TUNE_BATCH ({key_list})
            SELECT {sel} FROM {table} {alias}
            WHERE {cond}
            {order}LIMIT p_batch;
        SET v_rows = ROW_COUNT();
        DELETE {alias} FROM {table} {alias} JOIN APIM_TUNE_BATCH b ON {on}{recheck};
        SET v_{counter} = v_{counter} + ROW_COUNT();
        DELETE FROM APIM_TUNE_BATCH;
        IF v_rows < p_batch THEN LEAVE {counter}_loop; END IF;
        {sleep}
    END LOOP;
",
            sel = sel.join(", "),
            on = on.join(" AND "),
            order = if order {
                format!("ORDER BY {alias}.{} ", keys[0])
            } else {
                String::new()
            },
            recheck = if recheck {
                format!("\n            WHERE {cond}")
            } else {
                String::new()
            },
        );
    };
    if c.tokens {
        keyed(
            &mut o,
            "IDN_OAUTH2_ACCESS_TOKEN (scopes and OIDC request rows follow by ON DELETE CASCADE).\n    \
             -- The delete tests the predicate again: a token changed since it was picked stays.",
            "IDN_OAUTH2_ACCESS_TOKEN",
            "a",
            &["TOKEN_ID"],
            &dialect::token_removable(e, "a"),
            true,
            false,
            "tokens",
        );
    }
    if c.codes {
        keyed(
            &mut o,
            "IDN_OAUTH2_AUTHORIZATION_CODE, after the tokens: a code goes once its token is gone.",
            "IDN_OAUTH2_AUTHORIZATION_CODE",
            "c",
            &["CODE_ID"],
            &dialect::code_removable(e, "c", false),
            true,
            false,
            "codes",
        );
    }
    if c.sessions {
        let cond = bind(&dialect::session_row_removable("s"), plain_var);
        let _ = write!(
            o,
            "
    -- IDN_AUTH_SESSION_STORE: a batch is p_batch sessions, each removed whole (all its rows),
    -- side tables first so that an interrupted run finds the session again next time.
    DROP TEMPORARY TABLE IF EXISTS APIM_TUNE_BATCH;
    CREATE TEMPORARY TABLE APIM_TUNE_BATCH (PRIMARY KEY (SESSION_ID))
        SELECT SESSION_ID FROM IDN_AUTH_SESSION_STORE LIMIT 0;
    sessions_loop: LOOP
        INSERT INTO APIM_TUNE_BATCH (SESSION_ID)
            SELECT DISTINCT s.SESSION_ID FROM IDN_AUTH_SESSION_STORE s
            WHERE {cond}
            LIMIT p_batch;
        SET v_rows = ROW_COUNT();
"
        );
        for t in SESSION_SIDE_TABLES {
            let _ = writeln!(
                o,
                "        IF v_has_{} > 0 THEN
            DELETE x FROM {t} x JOIN APIM_TUNE_BATCH b ON b.SESSION_ID = x.SESSION_ID;
        END IF;",
                t.to_ascii_lowercase()
            );
        }
        let _ = write!(
            o,
            "        DELETE s FROM IDN_AUTH_SESSION_STORE s JOIN APIM_TUNE_BATCH b ON b.SESSION_ID = s.SESSION_ID;
        SET v_session_rows = v_session_rows + ROW_COUNT();
        SET v_sessions = v_sessions + v_rows;
        DELETE FROM APIM_TUNE_BATCH;
        IF v_rows < p_batch THEN LEAVE sessions_loop; END IF;
        {sleep}
    END LOOP;
"
        );
    }
    if c.registry {
        keyed(
            &mut o,
            "REG_LOG, oldest first: a batch never removes a path's newest row before the rows it\n    \
             -- supersedes (which would then be the newest, and stay).",
            "REG_LOG",
            "r",
            &["REG_LOG_ID", "REG_TENANT_ID"],
            &dialect::reg_log_removable("r"),
            false,
            true,
            "reg_log",
        );
    }
    if c.audit_older_than.is_some() {
        let cond = bind(&dialect::audit_removable(e, ""), plain_var);
        let _ = write!(
            o,
            "
    -- IDN_OAUTH2_ACCESS_TOKEN_AUDIT has no key before API-M 4.2: delete by predicate.
    audit_loop: LOOP
        DELETE FROM IDN_OAUTH2_ACCESS_TOKEN_AUDIT
            WHERE {cond}
            LIMIT p_batch;
        SET v_rows = ROW_COUNT();
        SET v_audit = v_audit + v_rows;
        IF v_rows < p_batch THEN LEAVE audit_loop; END IF;
        {sleep}
    END LOOP;
"
        );
    }
    let summary: Vec<String> = counters(c)
        .iter()
        .map(|(n, _)| format!("v_{n} AS {n}_deleted"))
        .collect();
    let _ = write!(
        o,
        "
    DROP TEMPORARY TABLE IF EXISTS APIM_TUNE_BATCH;
    DO RELEASE_LOCK(v_lock);
    -- Shown by a manual CALL; an event discards it.
    SELECT {};
END$$
DELIMITER ;

-- 2. The schedule. An event runs in the time zone of the session that created it, which
-- must be the server's (see the check above).
SET time_zone = @@GLOBAL.time_zone;
DROP EVENT IF EXISTS APIM_TUNE_DB_CLEAN;
CREATE EVENT APIM_TUNE_DB_CLEAN
    ON SCHEDULE {}
    ON COMPLETION PRESERVE
    ENABLE
    COMMENT 'apim-tune db clean, {}'
    DO CALL APIM_TUNE_CLEAN({});
",
        summary.join(", "),
        mysql_every(opts.every, opts.at),
        when(opts.every, opts.at),
        call_args(c)
    );
    o
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

fn postgres(opts: &ScheduleOptions) -> String {
    let c = &opts.clean;
    let e = Engine::Postgres;
    let mut o = header("--", ScheduleTarget::Postgres, opts);
    o.push_str(
        "--
-- Install: psql -d WSO2AM_DB -f this-file; PostgreSQL 11+ (procedures that COMMIT). Run it in
-- the database that holds the tables. A manual CALL must be outside a transaction block
-- (psql's default autocommit is fine): the procedure commits after each batch.
-- Run by hand: CALL apim_tune_clean(safe period s, batch, pause ms, audit age s or NULL);

-- 1. The procedure. The signature never changes with the options, so CREATE OR REPLACE
-- replaces it instead of adding an overload.
CREATE OR REPLACE PROCEDURE apim_tune_clean(
    p_safe_period_s bigint,
    p_batch integer,
    p_pause_ms integer,
    p_audit_older_than_s bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $apim_tune$
DECLARE
    v_now timestamptz;
    v_now_ns bigint;
    v_cutoff timestamp;
    v_audit_cutoff timestamp;
    v_session_cutoff_ns bigint;
    v_delete_cutoff_ns bigint;
    v_rows bigint;
    v_ids text[];
",
    );
    for (name, _) in counters(c) {
        let _ = writeln!(o, "    v_{name} bigint := 0;");
    }
    if c.sessions {
        for t in SESSION_SIDE_TABLES {
            let _ = writeln!(o, "    v_has_{} boolean;", t.to_ascii_lowercase());
        }
    }
    o.push_str(
        "BEGIN
    IF p_safe_period_s IS NULL OR p_safe_period_s < 0 OR p_batch IS NULL OR p_batch < 1
        OR p_pause_ms IS NULL OR p_pause_ms < 0
",
    );
    if c.audit_older_than.is_some() {
        o.push_str("        OR p_audit_older_than_s IS NULL OR p_audit_older_than_s < 0\n");
    }
    o.push_str(
        "    THEN
        RAISE EXCEPTION 'apim_tune_clean: periods and pause must be >= 0 and the batch >= 1';
    END IF;
    -- One run at a time (advisory locks are per database). A session lock, as it must outlive
    -- the commits; a pg_cron run ends its session, which releases it even after an error.
    IF NOT pg_try_advisory_lock(hashtext('apim_tune_clean')) THEN
        RAISE NOTICE 'another apim_tune_clean run holds the lock: nothing done';
        RETURN;
    END IF;

    -- One instant for every cut-off, taken once so a run does not chase rows expiring while it
    -- works. timezone('UTC', …) gives the UTC wall clock API-M stores in its TIMESTAMP columns.
    v_now := now();
    v_now_ns := floor(extract(epoch FROM v_now) * 1000000)::bigint * 1000;
    v_cutoff := timezone('UTC', v_now) - make_interval(secs => p_safe_period_s);
",
    );
    if c.audit_older_than.is_some() {
        o.push_str(
            "    v_audit_cutoff := timezone('UTC', v_now) - make_interval(secs => p_audit_older_than_s);\n",
        );
    }
    if c.sessions {
        let _ = write!(
            o,
            "    v_session_cutoff_ns := v_now_ns - p_safe_period_s * 1000000000;
    v_delete_cutoff_ns := v_now_ns - {};
",
            dialect::SESSION_DELETE_AGE_NS
        );
        for t in SESSION_SIDE_TABLES {
            let _ = writeln!(
                o,
                "    v_has_{} := to_regclass('{}') IS NOT NULL;",
                t.to_ascii_lowercase(),
                t.to_ascii_lowercase()
            );
        }
    }
    let sleep = "PERFORM pg_sleep(p_pause_ms / 1000.0);";
    // The subquery picks a batch; the outer WHERE tests the predicate again on the row the
    // DELETE finds, so a token or code changed since it was picked stays.
    let keyed = |o: &mut String,
                 comment: &str,
                 table: &str,
                 key: &str,
                 pred_outer: &Predicate,
                 pred_inner: &Predicate,
                 counter: &str| {
        let _ = write!(
            o,
            "
    -- {comment}
    LOOP
        DELETE FROM {table} d
        WHERE d.{key} IN (
                SELECT b.{key} FROM {table} b
                WHERE {inner}
                LIMIT p_batch)
            AND {outer};
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_{counter} := v_{counter} + v_rows;
        COMMIT;
        EXIT WHEN v_rows < p_batch;
        {sleep}
    END LOOP;
",
            inner = bind(pred_inner, plain_var),
            outer = bind(pred_outer, plain_var),
        );
    };
    if c.tokens {
        keyed(
            &mut o,
            "IDN_OAUTH2_ACCESS_TOKEN (scopes and OIDC request rows follow by ON DELETE CASCADE).",
            "IDN_OAUTH2_ACCESS_TOKEN",
            "TOKEN_ID",
            &dialect::token_removable(e, "d"),
            &dialect::token_removable(e, "b"),
            "tokens",
        );
    }
    if c.codes {
        keyed(
            &mut o,
            "IDN_OAUTH2_AUTHORIZATION_CODE, after the tokens: a code goes once its token is gone.",
            "IDN_OAUTH2_AUTHORIZATION_CODE",
            "CODE_ID",
            &dialect::code_removable(e, "d", false),
            &dialect::code_removable(e, "b", false),
            "codes",
        );
    }
    if c.sessions {
        let cond = bind(&dialect::session_row_removable("s"), plain_var);
        let _ = write!(
            o,
            "
    -- IDN_AUTH_SESSION_STORE: a batch is p_batch sessions, each removed whole (all its rows),
    -- side tables first so that an interrupted run finds the session again next time.
    LOOP
        SELECT array_agg(q.SESSION_ID) INTO v_ids FROM (
            SELECT DISTINCT s.SESSION_ID FROM IDN_AUTH_SESSION_STORE s
            WHERE {cond}
            LIMIT p_batch) q;
        EXIT WHEN v_ids IS NULL;
"
        );
        for t in SESSION_SIDE_TABLES {
            let _ = writeln!(
                o,
                "        IF v_has_{} THEN
            DELETE FROM {t} WHERE SESSION_ID = ANY (v_ids);
        END IF;",
                t.to_ascii_lowercase()
            );
        }
        let _ = write!(
            o,
            "        DELETE FROM IDN_AUTH_SESSION_STORE WHERE SESSION_ID = ANY (v_ids);
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_session_rows := v_session_rows + v_rows;
        v_sessions := v_sessions + cardinality(v_ids);
        COMMIT;
        EXIT WHEN cardinality(v_ids) < p_batch;
        {sleep}
    END LOOP;
"
        );
    }
    if c.registry {
        let cond = bind(&dialect::reg_log_removable("r"), plain_var);
        let _ = write!(
            o,
            "
    -- REG_LOG, oldest first: a batch never removes a path's newest row before the rows it
    -- supersedes (which would then be the newest, and stay).
    LOOP
        DELETE FROM REG_LOG d
        WHERE (d.REG_LOG_ID, d.REG_TENANT_ID) IN (
            SELECT r.REG_LOG_ID, r.REG_TENANT_ID FROM REG_LOG r
            WHERE {cond}
            ORDER BY r.REG_LOG_ID
            LIMIT p_batch);
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_reg_log := v_reg_log + v_rows;
        COMMIT;
        EXIT WHEN v_rows < p_batch;
        {sleep}
    END LOOP;
"
        );
    }
    if c.audit_older_than.is_some() {
        let cond = bind(&dialect::audit_removable(e, "u"), plain_var);
        let _ = write!(
            o,
            "
    -- IDN_OAUTH2_ACCESS_TOKEN_AUDIT has no key before API-M 4.2: batches by ctid.
    LOOP
        DELETE FROM IDN_OAUTH2_ACCESS_TOKEN_AUDIT d
        WHERE d.ctid = ANY (ARRAY(
            SELECT u.ctid FROM IDN_OAUTH2_ACCESS_TOKEN_AUDIT u
            WHERE {cond}
            LIMIT p_batch));
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_audit := v_audit + v_rows;
        COMMIT;
        EXIT WHEN v_rows < p_batch;
        {sleep}
    END LOOP;
"
        );
    }
    let counts = counters(c);
    let fmt: Vec<String> = counts
        .iter()
        .map(|(_, label)| format!("% {label}"))
        .collect();
    let args: Vec<String> = counts.iter().map(|(n, _)| format!("v_{n}")).collect();
    let cmd = format!("CALL apim_tune_clean({})", call_args(c));
    let expr = cron_expr(opts.every, opts.at);
    let _ = write!(
        o,
        "
    PERFORM pg_advisory_unlock(hashtext('apim_tune_clean'));
    RAISE NOTICE 'apim_tune_clean deleted {}', {};
END
$apim_tune$;

-- 2. The schedule, with pg_cron, one job per database (re-running this replaces it):
--   SELECT cron.schedule('apim-tune-db-clean-' || current_database(), '{expr}', '{cmd}');
-- pg_cron runs jobs in the database it is installed in (cron.database_name); for another
-- database the block below prints the cron.schedule_in_database call (pg_cron 1.4+) to run
-- there. The command must stay a lone CALL: pg_cron wraps several statements in one
-- transaction, where the procedure's COMMIT fails.
DO $apim_tune$
DECLARE
    v_job text := 'apim-tune-db-clean-' || current_database();
BEGIN
    IF to_regnamespace('cron') IS NOT NULL THEN
        PERFORM cron.schedule(v_job, '{expr}', '{cmd}');
        RAISE NOTICE 'pg_cron job % scheduled', v_job;
    ELSE
        RAISE NOTICE 'pg_cron is not in this database; in its database run: %',
            format('SELECT cron.schedule_in_database(%L, %L, %L, %L);',
                   v_job, '{expr}', '{cmd}', current_database());
    END IF;
END
$apim_tune$;
",
        fmt.join(", "),
        args.join(", "),
    );
    o
}

// ---------------------------------------------------------------------------------------------
// SQL Server

fn mssql(opts: &ScheduleOptions) -> String {
    let c = &opts.clean;
    let e = Engine::MySql;
    let mut o = header("--", ScheduleTarget::MsSql, opts);
    o.push_str(
        "--
-- Install: sqlcmd -d WSO2AM_DB -i this-file (GO separates the batches); SQL Server 2016 SP1+
-- (DATEDIFF_BIG, CREATE OR ALTER). Run it in the database that holds the tables. The job
-- needs SQL Server Agent running; Agent never starts a job that is still running.
-- Run by hand: EXEC dbo.APIM_TUNE_CLEAN @safe_period_s, @batch, @pause_ms, @audit_older_than_s;

-- 1. The procedure.
CREATE OR ALTER PROCEDURE dbo.APIM_TUNE_CLEAN
    @safe_period_s INT,
    @batch INT,
    @pause_ms INT,
    @audit_older_than_s INT = NULL
AS
BEGIN
    SET NOCOUNT ON;
    IF @safe_period_s IS NULL OR @safe_period_s < 0 OR @batch IS NULL OR @batch < 1
        OR @pause_ms IS NULL OR @pause_ms < 0 OR @pause_ms > 86399999
",
    );
    if c.audit_older_than.is_some() {
        o.push_str("        OR @audit_older_than_s IS NULL OR @audit_older_than_s < 0\n");
    }
    o.push_str(
        "    BEGIN
        RAISERROR(N'APIM_TUNE_CLEAN: periods and pause must be >= 0 and the batch >= 1', 16, 1);
        RETURN;
    END;

    -- One instant for every cut-off, taken once so a run does not chase rows expiring while it
    -- works.
    DECLARE @now DATETIME = GETUTCDATE();
    DECLARE @now_s BIGINT = DATEDIFF_BIG(SECOND, CAST('19700101' AS DATETIME), @now);
    DECLARE @cutoff DATETIME = DATEADD(SECOND, -@safe_period_s, @now);
",
    );
    if c.audit_older_than.is_some() {
        o.push_str(
            "    DECLARE @audit_cutoff DATETIME = DATEADD(SECOND, -@audit_older_than_s, @now);\n",
        );
    }
    if c.sessions {
        let _ = write!(
            o,
            "    DECLARE @session_cutoff_ns BIGINT = (@now_s - @safe_period_s) * CAST(1000000000 AS BIGINT);
    DECLARE @delete_cutoff_ns BIGINT = @now_s * CAST(1000000000 AS BIGINT) - {};
",
            dialect::SESSION_DELETE_AGE_NS
        );
    }
    o.push_str(
        "    DECLARE @delay DATETIME = DATEADD(MILLISECOND, @pause_ms, CAST(0 AS DATETIME));
    DECLARE @rows INT;
",
    );
    for (name, _) in counters(c) {
        let _ = writeln!(o, "    DECLARE @{name} BIGINT = 0;");
    }
    let sleep = "WAITFOR DELAY @delay;";
    // DELETE TOP (n) tests the predicate on the rows it deletes, under their locks.
    let top = |o: &mut String,
               comment: &str,
               table: &str,
               alias: &str,
               pred: Predicate,
               counter: &str| {
        let cond = bind(&mssql_predicate(pred, alias), mssql_var);
        let _ = write!(
            o,
            "
    -- {comment}
    WHILE 1 = 1
    BEGIN
        DELETE TOP (@batch) {alias} FROM {table} AS {alias}
        WHERE {cond};
        SET @rows = @@ROWCOUNT;
        SET @{counter} = @{counter} + @rows;
        IF @rows < @batch BREAK;
        {sleep}
    END;
"
        );
    };
    if c.tokens {
        top(
            &mut o,
            "IDN_OAUTH2_ACCESS_TOKEN (scopes and OIDC request rows follow by ON DELETE CASCADE).",
            "IDN_OAUTH2_ACCESS_TOKEN",
            "a",
            dialect::token_removable(e, "a"),
            "tokens",
        );
    }
    if c.codes {
        top(
            &mut o,
            "IDN_OAUTH2_AUTHORIZATION_CODE, after the tokens: a code goes once its token is gone.",
            "IDN_OAUTH2_AUTHORIZATION_CODE",
            "c",
            dialect::code_removable(e, "c", false),
            "codes",
        );
    }
    if c.sessions {
        let cond = bind(&dialect::session_row_removable("s"), mssql_var);
        let _ = write!(
            o,
            "
    -- IDN_AUTH_SESSION_STORE: a batch is @batch sessions, each removed whole (all its rows),
    -- side tables first so that an interrupted run finds the session again next time. The
    -- batch table copies SESSION_ID's type and collation (tempdb's may differ).
    SELECT TOP (0) SESSION_ID INTO #apim_tune_batch FROM IDN_AUTH_SESSION_STORE;
    WHILE 1 = 1
    BEGIN
        INSERT INTO #apim_tune_batch (SESSION_ID)
            SELECT DISTINCT TOP (@batch) s.SESSION_ID FROM IDN_AUTH_SESSION_STORE AS s
            WHERE {cond};
        SET @rows = @@ROWCOUNT;
"
        );
        for t in SESSION_SIDE_TABLES {
            let _ = writeln!(
                o,
                "        IF OBJECT_ID(N'{t}', N'U') IS NOT NULL
            DELETE x FROM {t} AS x JOIN #apim_tune_batch AS b ON b.SESSION_ID = x.SESSION_ID;"
            );
        }
        let _ = write!(
            o,
            "        DELETE s FROM IDN_AUTH_SESSION_STORE AS s JOIN #apim_tune_batch AS b ON b.SESSION_ID = s.SESSION_ID;
        SET @session_rows = @session_rows + @@ROWCOUNT;
        SET @sessions = @sessions + @rows;
        TRUNCATE TABLE #apim_tune_batch;
        IF @rows < @batch BREAK;
        {sleep}
    END;
    DROP TABLE #apim_tune_batch;
"
        );
    }
    if c.registry {
        let cond = bind(&dialect::reg_log_removable("r"), mssql_var);
        let _ = write!(
            o,
            "
    -- REG_LOG, oldest first (TOP with ORDER BY needs the CTE): a batch never removes a path's
    -- newest row before the rows it supersedes (which would then be the newest, and stay).
    WHILE 1 = 1
    BEGIN
        ;WITH b AS (
            SELECT TOP (@batch) r.REG_LOG_ID FROM REG_LOG AS r
            WHERE {cond}
            ORDER BY r.REG_LOG_ID)
        DELETE FROM b;
        SET @rows = @@ROWCOUNT;
        SET @reg_log = @reg_log + @rows;
        IF @rows < @batch BREAK;
        {sleep}
    END;
"
        );
    }
    if c.audit_older_than.is_some() {
        top(
            &mut o,
            "IDN_OAUTH2_ACCESS_TOKEN_AUDIT (no key before API-M 4.2; DELETE TOP needs none).",
            "IDN_OAUTH2_ACCESS_TOKEN_AUDIT",
            "u",
            dialect::audit_removable(e, "u"),
            "audit",
        );
    }
    let parts: Vec<String> = counters(c)
        .iter()
        .map(|(n, label)| format!("@{n}, N' {label}'"))
        .collect();
    let _ = write!(
        o,
        "
    PRINT CONCAT(N'APIM_TUNE_CLEAN deleted ', {});
END;
GO

-- 2. The schedule: a SQL Server Agent job per database (re-running this replaces it).
DECLARE @db sysname = DB_NAME();
DECLARE @job sysname = N'apim-tune-db-clean (' + @db + N')';
IF EXISTS (SELECT 1 FROM msdb.dbo.sysjobs WHERE name = @job)
    EXEC msdb.dbo.sp_delete_job @job_name = @job, @delete_unused_schedule = 1;
EXEC msdb.dbo.sp_add_job @job_name = @job,
    @description = N'apim-tune db clean, {}';
EXEC msdb.dbo.sp_add_jobstep @job_name = @job, @step_name = N'APIM_TUNE_CLEAN',
    @subsystem = N'TSQL', @database_name = @db,
    @command = N'EXEC dbo.APIM_TUNE_CLEAN {};';
EXEC msdb.dbo.sp_add_schedule @schedule_name = @job,
    {};
EXEC msdb.dbo.sp_attach_schedule @job_name = @job, @schedule_name = @job;
EXEC msdb.dbo.sp_add_jobserver @job_name = @job, @server_name = N'(local)';
GO
",
        parts.join(", N', ', "),
        when(opts.every, opts.at),
        call_args(c),
        agent_schedule(opts.every, opts.at),
    );
    o
}

// ---------------------------------------------------------------------------------------------
// systemd and cron: run apim-tune itself

/// The `db clean` command line after `--url`.
fn clean_tail(c: &CleanOptions) -> String {
    let mut words = vec!["--yes".to_string()];
    words.extend(c.args());
    words.join(" ")
}

/// The environment file's line: the URL given, password masked, or a placeholder. Single
/// quotes make it the same line for systemd's EnvironmentFile= and sh's `.`.
fn env_line(opts: &ScheduleOptions) -> String {
    let url = opts
        .url
        .as_deref()
        .map(crate::redact::redact_connection_url)
        .unwrap_or_else(|| "mysql://USER:PASSWORD@HOST:3306/WSO2AM_DB".to_string());
    format!("{URL_VAR}='{url}'")
}

fn systemd(opts: &ScheduleOptions) -> String {
    let c = &opts.clean;
    let mut o = format!("# /etc/systemd/system/{SERVICE_UNIT}\n");
    o.push_str(&header("#", ScheduleTarget::Systemd, opts));
    let _ = write!(
        o,
        "#
# Install: save this part as {SERVICE_UNIT} and the part after it as {TIMER_UNIT}, then
#   install -m 0644 {SERVICE_UNIT} {TIMER_UNIT} /etc/systemd/system/
#   systemctl daemon-reload && systemctl enable --now {TIMER_UNIT}
# The URL, password included, goes into {ENV_FILE} (root only, mode 0600; systemd reads it
# before it drops privileges), never into this unit:
#   {env}
# Exit code 130: the run was interrupted (systemctl stop, shutdown) and resumes where it stopped
# on the next run. It is left out of SuccessExitStatus= on purpose, so that the unit shows as
# failed until a run completes.

[Unit]
Description=apim-tune db clean: remove expired WSO2 API-M runtime rows
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
EnvironmentFile={ENV_FILE}
# apim-tune reads {URL_VAR} from the environment: the password never shows in the process list.
ExecStart={bin} db clean {tail}
# apim-tune takes SIGINT like Ctrl-C: it finishes the current batch and exits 130.
KillSignal=SIGINT
# Hardening: the run needs the network and a working directory, nothing else.
DynamicUser=yes
StateDirectory=apim-tune
WorkingDirectory=%S/apim-tune
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
CapabilityBoundingSet=

# /etc/systemd/system/{TIMER_UNIT}
# Starts {SERVICE_UNIT} {when} ({zone}). A run still going when the next is due
# is not started twice.

[Unit]
Description=Run apim-tune db clean {when}

[Timer]
OnCalendar={cal}
# Catch up on a run missed while the host was down.
Persistent=true
# Spreads the start, so that several hosts do not all hit the database at the same second.
RandomizedDelaySec={delay}

[Install]
WantedBy=timers.target
",
        env = env_line(opts),
        bin = opts.binary,
        tail = clean_tail(c),
        when = when(opts.every, opts.at),
        zone = at_zone(ScheduleTarget::Systemd),
        cal = on_calendar(opts.every, opts.at),
        delay = fmt_duration(randomized_delay(opts.every)),
    );
    o
}

/// A tenth of the interval, at most 15 minutes: enough to spread hosts, small against the
/// interval.
fn randomized_delay(every: Every) -> Duration {
    let minutes = match every {
        Every::Minutes(m) => u64::from(m),
        Every::Hours(h) => u64::from(h) * 60,
        Every::Days(d) => u64::from(d) * 1440,
        Every::Weeks(w) => u64::from(w) * 10_080,
    };
    Duration::from_secs((minutes * 6).min(15 * 60))
}

fn cron(opts: &ScheduleOptions) -> String {
    let c = &opts.clean;
    let mut o = header("#", ScheduleTarget::Cron, opts);
    let command = format!(
        "flock -n {LOCK_FILE} sh -c 'set -a && . {ENV_FILE} && exec {} db clean {}' >>{LOG_FILE} 2>&1",
        opts.binary,
        clean_tail(c)
    );
    let _ = write!(
        o,
        "#
# Install: the URL, password included, goes into {ENV_FILE} (root only, mode 0600), never into
# the crontab:
#   {env}
# then add the line below with `crontab -e` as root. flock -n skips a run while the previous
# one still holds the lock; the output is appended to {LOG_FILE}.
# Exit code 130: the run was interrupted and resumes where it stopped on the next run.
{expr} {command}
",
        env = env_line(opts),
        expr = cron_expr(opts.every, opts.at),
        // `%` ends the command in a crontab line (the rest becomes its input).
        command = command.replace('%', "\\%"),
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_default(target: ScheduleTarget) -> String {
        match render(target, &ScheduleOptions::default()) {
            Ok(s) => s,
            Err(e) => panic!("{target}: {e}"),
        }
    }

    fn all_tables() -> ScheduleOptions {
        ScheduleOptions {
            clean: CleanOptions::parse(
                "--tokens --codes --sessions --registry --audit-table --older-than 90d",
            )
            .expect("valid options"),
            ..ScheduleOptions::default()
        }
    }

    macro_rules! snapshot {
        ($name:expr, $text:expr) => {
            insta::with_settings!(
                {
                    snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
                    prepend_module_to_snapshot => false,
                    filters => vec![(r"apim-tune \d+\.\d+\.\d+[^\s:']*", "apim-tune [VERSION]")],
                },
                { insta::assert_snapshot!($name, $text) }
            )
        };
    }

    #[test]
    fn snapshot_mysql() {
        snapshot!("schedule_mysql", render_default(ScheduleTarget::MySql));
    }

    #[test]
    fn snapshot_postgresql() {
        snapshot!(
            "schedule_postgresql",
            render_default(ScheduleTarget::Postgres)
        );
    }

    #[test]
    fn snapshot_mssql() {
        snapshot!("schedule_mssql", render_default(ScheduleTarget::MsSql));
    }

    #[test]
    fn snapshot_systemd() {
        snapshot!("schedule_systemd", render_default(ScheduleTarget::Systemd));
    }

    #[test]
    fn snapshot_cron() {
        snapshot!("schedule_cron", render_default(ScheduleTarget::Cron));
    }

    #[test]
    fn every_parses_and_normalises() {
        let p = |s: &str| s.parse::<Every>();
        assert_eq!(p("30m"), Ok(Every::Minutes(30)));
        assert_eq!(p("60m"), Ok(Every::Hours(1)));
        assert_eq!(p("12h"), Ok(Every::Hours(12)));
        assert_eq!(p("24h"), Ok(Every::Days(1)));
        assert_eq!(p("1d"), Ok(Every::Days(1)));
        assert_eq!(p("7d"), Ok(Every::Weeks(1)));
        assert_eq!(p("14d"), Ok(Every::Weeks(2)));
        assert_eq!(p(" 1w "), Ok(Every::Weeks(1)));
        assert_eq!(Every::Hours(6).to_string(), "6h");
    }

    #[test]
    fn bad_every_is_an_error() {
        for (s, why) in [
            ("", "expected a number"),
            ("d", "expected a number"),
            ("12", "expected a number"),
            ("0h", "shortest interval"),
            ("30s", "shortest interval"),
            ("1y", "unknown unit"),
            ("1.5h", "unknown unit"),
            ("-1d", "expected a number"),
            ("99999999999m", "too large"),
        ] {
            match s.parse::<Every>() {
                Err(e @ ScheduleError::Every { .. }) => {
                    assert!(e.to_string().contains(why), "{s:?}: {e}")
                }
                other => panic!("{s:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn at_parses() {
        assert_eq!("02:00".parse::<At>(), Ok(At::default()));
        assert_eq!(
            "sat 3:30".parse::<At>(),
            Ok(At {
                weekday: Some(Weekday::Sat),
                hour: 3,
                minute: 30
            })
        );
        assert_eq!(
            "Sunday 23:59".parse::<At>().map(|a| a.to_string()),
            Ok("Sun 23:59".into())
        );
    }

    #[test]
    fn bad_at_is_an_error() {
        for (s, why) in [
            ("", "expected HH:MM"),
            ("2", "expected HH:MM"),
            ("24:00", "hour must be"),
            ("02:60", "minute must be"),
            ("02:5", "expected HH:MM"),
            ("002:00", "expected HH:MM"),
            ("2:00pm", "expected HH:MM"),
            ("Someday 02:00", "unknown weekday"),
            ("-1:00", "expected HH:MM"),
        ] {
            match s.parse::<At>() {
                Err(e @ ScheduleError::At { .. }) => {
                    assert!(e.to_string().contains(why), "{s:?}: {e}")
                }
                other => panic!("{s:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_weekday_needs_a_weekly_schedule() {
        let opts = ScheduleOptions {
            at: "Sat 02:00".parse().expect("valid"),
            ..ScheduleOptions::default()
        };
        let err = render(ScheduleTarget::Cron, &opts).expect_err("daily with a weekday");
        assert!(err.to_string().contains("weekly"), "{err}");
        let weekly = ScheduleOptions {
            every: Every::Weeks(1),
            ..opts
        };
        let text = render(ScheduleTarget::Cron, &weekly).expect("weekly");
        assert!(text.contains("\n0 2 * * 6 flock"), "{text}");
    }

    #[test]
    fn cron_refuses_what_it_cannot_express() {
        for (every, target) in [
            ("45m", ScheduleTarget::Cron),
            ("90m", ScheduleTarget::Systemd),
            ("5h", ScheduleTarget::Cron),
            ("2d", ScheduleTarget::Cron),
            ("2d", ScheduleTarget::Postgres),
            ("3d", ScheduleTarget::Systemd),
            ("2w", ScheduleTarget::Cron),
            ("5h", ScheduleTarget::MySql),
        ] {
            let opts = ScheduleOptions {
                every: every.parse().expect("valid --every"),
                ..ScheduleOptions::default()
            };
            match render(target, &opts) {
                Err(e @ ScheduleError::Unsupported { .. }) => {
                    assert!(e.to_string().contains(every), "{every}: {e}")
                }
                other => panic!("{every} on {target}: {other:?}"),
            }
        }
        // The engines' own schedulers repeat any number of days or weeks.
        for target in [ScheduleTarget::MySql, ScheduleTarget::MsSql] {
            for every in ["2d", "2w"] {
                let opts = ScheduleOptions {
                    every: every.parse().expect("valid --every"),
                    ..ScheduleOptions::default()
                };
                assert!(render(target, &opts).is_ok(), "{every} on {target}");
            }
        }
    }

    #[test]
    fn schedules_agree_across_targets() {
        let at: At = "02:10".parse().expect("valid");
        let sat: At = "Sat 03:30".parse().expect("valid");
        let cases = [
            (
                Every::Minutes(1),
                at,
                "* * * * *",
                "*-*-* *:*:00",
                "EVERY 1 MINUTE STARTS '2000-01-02 00:00:00'",
            ),
            (
                Every::Minutes(30),
                at,
                "10-59/30 * * * *",
                "*-*-* *:10/30:00",
                "EVERY 30 MINUTE STARTS '2000-01-02 00:10:00'",
            ),
            (
                Every::Hours(1),
                at,
                "10 * * * *",
                "*-*-* 00/1:10:00",
                "EVERY 1 HOUR STARTS '2000-01-02 00:10:00'",
            ),
            (
                Every::Hours(6),
                at,
                "10 2-23/6 * * *",
                "*-*-* 02/6:10:00",
                "EVERY 6 HOUR STARTS '2000-01-02 02:10:00'",
            ),
            (
                Every::Days(1),
                at,
                "10 2 * * *",
                "*-*-* 02:10:00",
                "EVERY 1 DAY STARTS '2000-01-02 02:10:00'",
            ),
            (
                Every::Weeks(1),
                sat,
                "30 3 * * 6",
                "Sat *-*-* 03:30:00",
                "EVERY 1 WEEK STARTS '2000-01-08 03:30:00'",
            ),
        ];
        for (every, at, cron, cal, event) in cases {
            assert_eq!(cron_expr(every, at), cron, "{every}");
            assert_eq!(on_calendar(every, at), cal, "{every}");
            assert_eq!(mysql_every(every, at), event, "{every}");
        }
        assert_eq!(
            agent_schedule(Every::Weeks(1), sat),
            "@freq_type = 8, @freq_interval = 64, @freq_recurrence_factor = 1, @freq_subday_type = 1, \
             @active_start_time = 33000"
        );
        assert_eq!(
            agent_schedule(Every::Hours(6), at),
            "@freq_type = 4, @freq_interval = 1, @freq_subday_type = 8, @freq_subday_interval = 6, \
             @active_start_time = 21000"
        );
    }

    #[test]
    fn options_parse_and_render_back() {
        let o = CleanOptions::parse(
            "--sessions --safe-period=3h --batch 500 --pause 0 --audit-table --older-than 90d --yes",
        )
        .expect("valid");
        assert!(o.sessions && !o.tokens && !o.codes && !o.registry);
        assert_eq!(o.audit_older_than, Some(Duration::from_secs(90 * 86_400)));
        assert_eq!(
            o.args().join(" "),
            "--sessions --audit-table --older-than 90d --safe-period 3h --batch 500 --pause 0s"
        );
        assert_eq!(
            CleanOptions::parse("").expect("empty"),
            CleanOptions::default()
        );
        assert_eq!(
            CleanOptions::parse("--batch 20")
                .expect("valid")
                .args()
                .join(" "),
            "--tokens --codes --sessions --safe-period 2h --batch 20 --pause 100ms"
        );
    }

    #[test]
    fn bad_options_are_errors() {
        for (s, why) in [
            ("--url mysql://u:p@h/db", "comes from /etc/apim-tune/db.env"),
            ("--tokens --dry-run", "unknown option"),
            ("--batch", "needs a value"),
            ("--batch 0", "from 1 to"),
            ("--batch many", "from 1 to"),
            ("--safe-period 2x", "expected a number"),
            ("--safe-period 1500ms", "whole seconds"),
            ("--safe-period 4000d", "at most 3650d"),
            ("--pause 2h", "at most 1h"),
            ("--audit-table", "needs --older-than"),
            ("--older-than 90d", "--audit-table only"),
            ("--tokens=yes", "takes no value"),
        ] {
            match CleanOptions::parse(s) {
                Err(e @ ScheduleError::Options { .. }) => {
                    assert!(e.to_string().contains(why), "{s:?}: {e}")
                }
                other => panic!("{s:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn durations() {
        let p = |s: &str| parse_duration(s).map(fmt_duration);
        assert_eq!(p("2h"), Ok("2h".into()));
        assert_eq!(p("120m"), Ok("2h".into()));
        assert_eq!(p("1h30m"), Ok("90m".into()));
        assert_eq!(p("100ms"), Ok("100ms".into()));
        assert_eq!(p("1w"), Ok("7d".into()));
        assert_eq!(p("0"), Ok("0s".into()));
        assert_eq!(p("61s"), Ok("61s".into()));
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("99999999999999999999999999999w").is_err());
    }

    #[test]
    fn procedures_use_the_dialect_predicates() {
        let opts = all_tables();
        let my = render(ScheduleTarget::MySql, &opts).expect("mysql");
        let pg = render(ScheduleTarget::Postgres, &opts).expect("postgresql");
        let ms = render(ScheduleTarget::MsSql, &opts).expect("mssql");
        for p in [
            dialect::token_removable(Engine::MySql, "a"),
            dialect::code_removable(Engine::MySql, "c", false),
            dialect::session_row_removable("s"),
            dialect::reg_log_removable("r"),
            dialect::audit_removable(Engine::MySql, ""),
        ] {
            assert!(my.contains(&bind(&p, plain_var)), "mysql lacks {}", p.sql);
        }
        for p in [
            dialect::token_removable(Engine::Postgres, "b"),
            dialect::code_removable(Engine::Postgres, "d", false),
            dialect::session_row_removable("s"),
            dialect::reg_log_removable("r"),
            dialect::audit_removable(Engine::Postgres, "u"),
        ] {
            assert!(
                pg.contains(&bind(&p, plain_var)),
                "postgresql lacks {}",
                p.sql
            );
        }
        // Every parameter is bound, and nothing reads the server's local clock.
        for (name, text) in [("mysql", &my), ("postgresql", &pg), ("mssql", &ms)] {
            let code: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            assert!(!code.contains('?'), "{name}: unbound parameter");
            for clock in [
                "NOW()",
                "SYSDATE",
                "CURRENT_TIMESTAMP",
                "GETDATE()",
                "UNIX_TIMESTAMP(UTC",
            ] {
                assert!(!code.contains(clock), "{name}: {clock}");
            }
        }
        // T-SQL has none of MySQL's date functions, and DATEADD would overflow on validity.
        for mysql_only in ["TIMESTAMPADD", "MICROSECOND", "UNIX_TIMESTAMP", "LIMIT"] {
            assert!(!ms.contains(mysql_only), "mssql: {mysql_only}");
        }
        assert_eq!(ms.matches("DATEDIFF_BIG(MILLISECOND").count(), 3, "{ms}");
    }

    #[test]
    fn procedures_refuse_backup() {
        let opts = ScheduleOptions {
            clean: CleanOptions::parse("--tokens --backup").expect("valid"),
            ..ScheduleOptions::default()
        };
        for target in ScheduleTarget::ALL {
            let r = render(target, &opts);
            if target.is_procedure() {
                let e = r.expect_err("no backup in procedures");
                assert!(e.to_string().contains("db clean --backup"), "{e}");
            } else {
                assert!(r.expect("cli target").contains(" --backup"));
            }
        }
    }

    #[test]
    fn units_never_hold_the_password() {
        let opts = ScheduleOptions {
            url: Some("mysql://apim:s3cret@db:3306/WSO2AM_DB".to_string()),
            ..ScheduleOptions::default()
        };
        for target in ScheduleTarget::ALL {
            let text = render(target, &opts).expect("renders");
            assert!(!text.contains("s3cret"), "{target}");
        }
        let unit = render(ScheduleTarget::Systemd, &opts).expect("systemd");
        assert!(unit.contains("#   APIM_TUNE_DB_URL='mysql://apim:****@db:3306/WSO2AM_DB'"));
        let bad = ScheduleOptions {
            url: Some("mysql://h/db\nExecStartPre=/bin/evil".to_string()),
            ..ScheduleOptions::default()
        };
        assert!(matches!(
            render(ScheduleTarget::Systemd, &bad),
            Err(ScheduleError::Url { .. })
        ));
    }

    #[test]
    fn binary_path_is_checked() {
        for b in [
            "apim-tune",
            "/opt/my tools/apim-tune",
            "/usr/bin/x';rm -rf /'",
        ] {
            let opts = ScheduleOptions {
                binary: b.to_string(),
                ..ScheduleOptions::default()
            };
            assert!(
                matches!(
                    render(ScheduleTarget::Cron, &opts),
                    Err(ScheduleError::Binary { .. })
                ),
                "{b}"
            );
        }
    }

    #[test]
    fn targets_parse() {
        for t in ScheduleTarget::ALL {
            assert_eq!(t.as_str().parse::<ScheduleTarget>(), Ok(t));
        }
        assert_eq!(
            "MariaDB".parse::<ScheduleTarget>(),
            Ok(ScheduleTarget::MySql)
        );
        assert!(matches!(
            "oracle".parse::<ScheduleTarget>(),
            Err(ScheduleError::Target { .. })
        ));
    }

    #[test]
    fn every_output_starts_with_the_header() {
        for target in ScheduleTarget::ALL {
            let text = render(target, &all_tables()).expect("renders");
            let first = text
                .lines()
                .find(|l| l.contains("Generated by"))
                .unwrap_or_default();
            assert!(
                text.lines().take(2).any(|l| l == first),
                "{target}: header not at the top"
            );
            for t in [
                "IDN_OAUTH2_ACCESS_TOKEN:",
                "IDN_OAUTH2_AUTHORIZATION_CODE:",
                "IDN_AUTH_SESSION_STORE:",
                "REG_LOG:",
                "IDN_OAUTH2_ACCESS_TOKEN_AUDIT:",
                "compared in UTC",
            ] {
                assert!(text.contains(t), "{target}: {t}");
            }
        }
    }
}
