//! Dates for notes, waivers and backup names, in UTC, and durations as people write them.
//! `SOURCE_DATE_EPOCH` (the reproducible-builds convention) fixes "now", which makes output
//! and tests repeatable.

use std::time::Duration;

/// Today as `YYYY-MM-DD` (UTC), for dated notes. `SOURCE_DATE_EPOCH` fixes it (reproducible
/// output, tests).
pub fn today() -> String {
    let (y, m, d, ..) = civil_now();
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYYMMDDTHHMMSSZ` (UTC), for backup folder names; `SOURCE_DATE_EPOCH` fixes it.
pub fn timestamp() -> String {
    let (y, mo, d, h, mi, s) = civil_now();
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

fn civil_now() -> (i64, u32, u32, u32, u32, u32) {
    civil(now_secs())
}

/// Seconds since the epoch, UTC; `SOURCE_DATE_EPOCH` fixes it.
pub fn now_secs() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        })
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of `secs` since the epoch: the text form of SQL timestamps.
pub fn sql_timestamp(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// Seconds since the epoch → (year, month, day, hour, minute, second), UTC.
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

// Durations as people write them on command lines, in db clean's options and in schedules.

/// Parses a duration: `100ms`, `30s`, `2h`, `90d`, `1w`, or a sum like `1h30m`; `0` alone is
/// zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let expected =
        || "expected a number and a unit (ms, s, m, h, d, w), e.g. 2h or 100ms".to_string();
    if t.is_empty() {
        return Err(expected());
    }
    let mut total: u128 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(split);
        if num.is_empty() {
            return Err(expected());
        }
        let n: u128 = num
            .parse()
            .map_err(|_| "the number is too large".to_string())?;
        let (ms_per, after) = if let Some(a) = after.strip_prefix("ms") {
            (1, a)
        } else if let Some(a) = after.strip_prefix('s') {
            (1000, a)
        } else if let Some(a) = after.strip_prefix('m') {
            (60_000, a)
        } else if let Some(a) = after.strip_prefix('h') {
            (3_600_000, a)
        } else if let Some(a) = after.strip_prefix('d') {
            (86_400_000, a)
        } else if let Some(a) = after.strip_prefix('w') {
            (604_800_000, a)
        } else {
            return Err(expected());
        };
        total = total
            .checked_add(n.checked_mul(ms_per).ok_or("the number is too large")?)
            .ok_or("the number is too large")?;
        rest = after;
    }
    let ms = u64::try_from(total).map_err(|_| "the number is too large".to_string())?;
    Ok(Duration::from_millis(ms))
}

/// `2h`, `90d`, `100ms`: the largest unit that divides the duration (days at most: `db clean`
/// reads the same units back).
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    for (unit, len) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if s.is_multiple_of(len) {
            return format!("{}{unit}", s / len);
        }
    }
    format!("{s}s")
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil(1_795_326_481), (2026, 11, 22, 5, 48, 1));
        assert_eq!(super::civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(super::civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(super::sql_timestamp(951_782_401), "2000-02-29 00:00:01");
    }
}
