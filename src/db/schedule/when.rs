//! When a schedule runs: `--every` and `--at`, their phrase for the header, and the same
//! times in each scheduler's own syntax (cron, OnCalendar=, MySQL EVENT, SQL Server Agent),
//! kept side by side so that they can be seen to agree.

use super::ScheduleError;
use std::fmt;
use std::str::FromStr;

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

/// `every day at 02:00`, `every 6 hours from 02:00 (02:00, 08:00, 14:00, 20:00)`.
pub(super) fn when(every: Every, at: At) -> String {
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

// ---------------------------------------------------------------------------------------------
// The schedules: cron expressions, OnCalendar, EVENT, Agent

/// A standard five-field cron expression (for crontab and pg_cron).
pub(super) fn cron_expr(every: Every, at: At) -> String {
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
pub(super) fn on_calendar(every: Every, at: At) -> String {
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
pub(super) fn mysql_every(every: Every, at: At) -> String {
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
pub(super) fn agent_schedule(every: Every, at: At) -> String {
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
