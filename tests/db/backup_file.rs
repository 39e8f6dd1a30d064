//! `db clean --backup-file` and `db restore --backup-file` through the binary, on every engine:
//! the rows come back byte for byte, every column type (text with any character, integers at
//! the 64-bit ends, timestamps, NULLs, binary with every byte value, auto-increment keys).

use crate::cli::apim_tune;
use crate::support::{self, TestDb};
use apim_tune::db::dialect::Engine;
use apim_tune::db::schema;
use apim_tune::db::{Arg, Connection};
use serde_json::Value;

/// Every row of `table`, each value in a form that differs whenever the stored bytes (or, on
/// SQLite, the storage class) differ; sorted.
fn exact_dump(c: &mut Connection, table: &str) -> Vec<Vec<String>> {
    let engine = c.engine();
    let cols = c.columns(table).expect("columns");
    assert!(!cols.is_empty(), "{table} missing");
    let exact = |col: &str| match engine {
        // quote() keeps the storage class: 5 and '5' differ.
        Engine::Sqlite => format!("quote({col})"),
        Engine::Postgres => format!("CAST({col} AS TEXT)"),
        // HEX of a text is its bytes; CAST(blob AS CHAR) would not be.
        Engine::MySql => format!("CASE WHEN {col} IS NULL THEN 'NULL' ELSE HEX({col}) END"),
    };
    let sql = format!(
        "SELECT {} FROM {table}",
        cols.iter().map(|c| exact(c)).collect::<Vec<_>>().join(", ")
    );
    let mut rows: Vec<Vec<String>> = c
        .fetch(&sql, &[])
        .expect("dump")
        .into_iter()
        .map(|r| r.into_iter().map(|v| format!("{v:?}")).collect())
        .collect();
    rows.sort();
    rows
}

fn dump_all(db: &TestDb) -> Vec<(String, Vec<Vec<String>>)> {
    let mut c = db.connect();
    schema::runtime_tables()
        .into_iter()
        .map(|t| (t.to_string(), exact_dump(&mut c, t)))
        .collect()
}

/// Values at the edges of every column type, written into rows the clean will remove.
fn plant_edge_values(db: &TestDb) {
    let mut c = db.connect();
    let engine = c.engine();
    let every_byte: Vec<u8> = (0..=255u8).collect();
    c.execute(
        "UPDATE IDN_AUTH_SESSION_STORE SET SESSION_OBJECT = ?",
        &[Arg::Bytes(every_byte)],
    )
    .expect("blob");
    c.execute(
        "UPDATE IDN_AUTH_SESSION_STORE SET SESSION_OBJECT = NULL WHERE OPERATION = 'DELETE'",
        &[],
    )
    .expect("null blob");
    // Quotes, a backslash, a newline, a tab, non-ASCII and (where the column's character set
    // holds it: not in MariaDB's default latin1 of these test servers) a 4-byte character.
    let text = if engine == Engine::MySql {
        "O'Brien \"q\" \\ back\nline\ttab ünï"
    } else {
        "O'Brien \"q\" \\ back\nline\ttab ünï 😀"
    };
    c.execute(
        "UPDATE IDN_OAUTH2_ACCESS_TOKEN SET AUTHZ_USER = ?, SUBJECT_IDENTIFIER = NULL, \
         REFRESH_TOKEN_VALIDITY_PERIOD = ? WHERE TOKEN_STATE <> 'ACTIVE'",
        &[Arg::Text(text.into()), Arg::Int(i64::MAX)],
    )
    .expect("text");
    c.execute(
        "UPDATE IDN_OAUTH2_ACCESS_TOKEN SET VALIDITY_PERIOD = ? WHERE TOKEN_STATE = 'REVOKED'",
        &[Arg::Int(i64::MIN)],
    )
    .expect("bigint");
    if engine == Engine::Postgres {
        // Microseconds: PostgreSQL's TIMESTAMP keeps them (WSO2's MySQL TIMESTAMP has none).
        c.run(
            "UPDATE IDN_OAUTH2_ACCESS_TOKEN SET TIME_CREATED = TIME_CREATED + \
             INTERVAL '123457 microseconds' WHERE TOKEN_STATE <> 'ACTIVE'",
        )
        .expect("micros");
    }
}

#[test]
fn a_backup_file_restores_every_row_byte_for_byte_on_every_engine() {
    for db in support::databases("backup_file") {
        support::reset(&db);
        apim_tune()
            .args(["db", "seed", "--url", &db.url, "--tokens", "300"])
            .args(["--codes", "40", "--sessions", "40", "--registry", "60"])
            .args(["--audit-rows", "40"])
            .assert()
            .success();
        plant_edge_values(&db);
        let before = dump_all(&db);
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("clean.jsonl");
        let file_arg = file.to_str().expect("utf-8 path");

        let out = apim_tune()
            .args([
                "db",
                "clean",
                "--url",
                &db.url,
                "--tokens",
                "--codes",
                "--sessions",
            ])
            .args([
                "--registry",
                "--audit-table",
                "--older-than",
                "1d",
                "--batch",
                "7",
            ])
            .args(["--pause", "0ms", "--yes", "--format", "json"])
            .args(["--backup-file", file_arg])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let report: Value = serde_json::from_slice(&out).expect("json");
        let deleted: u64 = report["tables"]
            .as_array()
            .expect("tables")
            .iter()
            .map(|t| t["rows"].as_u64().unwrap_or(0) + t["dependent_rows"].as_u64().unwrap_or(0))
            .sum();
        let after_clean = dump_all(&db);
        assert_ne!(
            after_clean, before,
            "{}: the clean removed nothing",
            db.label
        );
        let text = std::fs::read_to_string(&file).expect("backup file");
        let rows = text.lines().filter(|l| l.contains("\"row\"")).count() as u64;
        assert_eq!(rows, deleted, "{}: one line per deleted row", db.label);
        assert!(text.starts_with("{\"apim_tune_backup\":1"), "{text:.200}");
        assert!(
            !text.contains(":apim@"),
            "{}: the password is in the file",
            db.label
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}: the rows hold tokens", db.label);
        }
        // The planted values went through the file (not only rows nobody changed).
        assert!(text.contains("\"hex\":\"000102"), "{}: blob", db.label);
        assert!(text.contains(&i64::MAX.to_string()), "{}", db.label);
        assert!(text.contains("O'Brien"), "{}", db.label);

        apim_tune()
            .args([
                "db",
                "restore",
                "--url",
                &db.url,
                "--yes",
                "--backup-file",
                file_arg,
            ])
            .assert()
            .code(0)
            .stdout(predicates::str::contains("put back"));
        assert_eq!(dump_all(&db), before, "{}: not byte for byte", db.label);

        // Again: every row is there already; nothing changes, and the exit code says so.
        let out = apim_tune()
            .args([
                "db", "restore", "--url", &db.url, "--yes", "--format", "json",
            ])
            .args(["--backup-file", file_arg])
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone();
        let again: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            again["skipped_present"].as_u64(),
            Some(deleted),
            "{}",
            db.label
        );
        assert_eq!(dump_all(&db), before, "{}", db.label);
    }
}

#[test]
fn a_broken_backup_file_is_refused_before_anything_is_restored() {
    let db = support::databases("backup_file_bad").remove(0);
    support::reset(&db);
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"apim_tune_backup\":1}\n{\"table\":\"REG_LOG\",\"row\":{\"REG_LOG_ID\":1}}\nnot json s3cret\n",
    )
    .expect("write");
    apim_tune()
        .args(["db", "restore", "--url", &db.url, "--yes", "--backup-file"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "bad.jsonl:3: not an apim-tune backup line",
        ))
        .stderr(predicates::str::contains("s3cret").not());
    let mut c = db.connect();
    assert!(support::keys(&mut c, "SELECT REG_LOG_ID FROM REG_LOG").is_empty());
    // --backup and --backup-file are two different backups: one at a time.
    apim_tune()
        .args([
            "db", "clean", "--url", &db.url, "--tokens", "--backup", "--yes",
        ])
        .arg("--backup-file")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot be used with"));
}

use predicates::prelude::PredicateBooleanExt;
