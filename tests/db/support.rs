//! Databases for the tests: a SQLite file always; PostgreSQL and MariaDB/MySQL when `.ci/run`
//! (or `.ci/db-servers.sh start`) exported their URLs. A missing server skips that engine with a
//! `SKIPPED:` line; in CI it is a failure, not a skip, so a broken server start cannot pass as
//! "ran no test" (`src/test_support/skip.rs`).

use apim_tune::db::dialect::Engine;
use apim_tune::db::schema::{self, Generation};
use apim_tune::db::{Arg, Connection, Target};

pub const PG_ENV: &str = "APIM_TUNE_TEST_PG_URL";
pub const MYSQL_ENV: &str = "APIM_TUNE_TEST_MYSQL_URL";

/// A database one test owns; dropped (or its file removed) with it where possible.
pub struct TestDb {
    pub url: String,
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn target(&self) -> Target {
        Target::parse(&self.url).expect("test URL")
    }

    pub fn connect(&self) -> Connection {
        Connection::open(&self.target()).expect("connect to the test database")
    }
}

fn server_url(env: &str, label: &str) -> Option<String> {
    match std::env::var(env) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => {
            crate::skip::skip(&format!(
                "{label}: {env} is not set (`.ci/db-servers.sh start` starts local servers and \
                 prints an env file to source)"
            ));
            None
        }
    }
}

/// `base` with its database name replaced.
fn with_database(base: &str, db: &str) -> String {
    let (head, _) = base.rsplit_once('/').expect("URL with a database");
    format!("{head}/{db}")
}

/// Every engine available here, each with a fresh, empty database named after the test.
pub fn databases(test: &str) -> Vec<TestDb> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().expect("tempdir");
    out.push(TestDb {
        url: format!("sqlite://{}", dir.path().join("apim.db").display()),
        label: "sqlite",
        _dir: Some(dir),
    });
    let name = format!("apimtune_{test}");
    for (env, label) in [(PG_ENV, "postgresql"), (MYSQL_ENV, "mysql")] {
        let Some(base) = server_url(env, label) else {
            continue;
        };
        let mut admin =
            Connection::open(&Target::parse(&base).expect("server URL")).expect("connect");
        admin
            .run(&format!("DROP DATABASE IF EXISTS {name}"))
            .expect("drop test database");
        admin
            .run(&format!("CREATE DATABASE {name}"))
            .expect("create test database (the test user needs CREATEDB / CREATE)");
        out.push(TestDb {
            url: with_database(&base, &name),
            label,
            _dir: None,
        });
    }
    out
}

/// Drops everything `db` made or works on, then creates the 4.2 tables again.
pub fn reset(db: &TestDb) {
    let mut c = db.connect();
    let engine = c.engine();
    let mut names: Vec<String> = Vec::new();
    for t in schema::tables(Generation::V4_2).iter().rev() {
        names.push(format!("BAK_{}", t.name));
        names.push(t.name.to_string());
    }
    names.push("APIM_TUNE_CLEAN_RUN".into());
    names.push("APIM_TUNE_BACKUP".into());
    if engine == Engine::MySql {
        c.run("SET FOREIGN_KEY_CHECKS = 0").expect("fk off");
    }
    for n in names {
        let cascade = if engine == Engine::Postgres {
            " CASCADE"
        } else {
            ""
        };
        c.run(&format!("DROP TABLE IF EXISTS {n}{cascade}"))
            .expect("drop");
    }
    if engine == Engine::MySql {
        c.run("SET FOREIGN_KEY_CHECKS = 1").expect("fk on");
    }
    drop(c);
    apim_tune::db::init(&db.target(), Generation::V4_2).expect("db init");
}

/// Every row of `table` as text, sorted: for comparing a table before and after.
pub fn dump(c: &mut Connection, table: &str) -> Vec<Vec<String>> {
    let engine = c.engine();
    let cols = c.columns(table).expect("columns");
    assert!(!cols.is_empty(), "{table} missing");
    let cast = |col: &str| match engine {
        Engine::MySql => format!("CAST({col} AS CHAR)"),
        Engine::Postgres => format!("CAST({col} AS TEXT)"),
        Engine::Sqlite => format!("quote({col})"),
    };
    let sql = format!(
        "SELECT {} FROM {table}",
        cols.iter().map(|c| cast(c)).collect::<Vec<_>>().join(", ")
    );
    let mut rows: Vec<Vec<String>> = c
        .fetch(&sql, &[])
        .expect("dump")
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| match v {
                    Arg::Null => "NULL".to_string(),
                    Arg::Int(i) => i.to_string(),
                    Arg::Text(s) => s,
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

/// The first column of every row, as text, sorted.
pub fn keys(c: &mut Connection, sql: &str) -> Vec<String> {
    let mut v: Vec<String> = c
        .fetch(sql, &[])
        .expect(sql)
        .into_iter()
        .map(|r| match r.into_iter().next() {
            Some(Arg::Text(s)) => s,
            Some(Arg::Int(i)) => i.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    v.sort();
    v
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) → seconds since the epoch (independent of the crate's clock).
pub fn parse_utc(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().expect("timestamp digits");
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    let (hh, mm, ss) = (n(11, 13), n(14, 16), n(17, 19));
    // Days from civil (Howard Hinnant), written out again here on purpose.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60 + ss
}

/// Seconds since the epoch → `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

#[test]
fn time_helpers_round_trip() {
    for s in [0, 951_782_401, 1_795_326_481, 2_147_483_647] {
        assert_eq!(parse_utc(&format_utc(s)), s);
    }
    assert_eq!(format_utc(1_795_326_481), "2026-11-22 05:48:01");
}
