//! `db clean --backup-file` and `db restore --backup-file` through the binary, on every engine:
//! the rows come back byte for byte, every column type (text with any character, integers at
//! the 64-bit ends, timestamps, NULLs, binary with every byte value, auto-increment keys).

use crate::cli::apim_tune;
use crate::support::{self, TestDb};
use apim_tune::db::dialect::Engine;
use apim_tune::db::schema;
use apim_tune::db::{Arg, Connection};
use predicates::prelude::PredicateBooleanExt;
use serde_json::Value;
use std::path::Path;

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

/// Seeds `db` with rows every clean option removes.
fn seed(db: &TestDb) {
    support::reset(db);
    apim_tune()
        .args(["db", "seed", "--url", &db.url, "--tokens", "60"])
        .args(["--codes", "20", "--sessions", "20", "--registry", "30"])
        .assert()
        .success();
}

/// `db clean --backup-file file` with `what` (e.g. `--tokens`); the binary's output.
fn clean_into(db: &TestDb, what: &[&str], file: &Path) -> assert_cmd::assert::Assert {
    apim_tune()
        .args(["db", "clean", "--url", &db.url])
        .args(what)
        .args([
            "--older-than",
            "1d",
            "--batch",
            "7",
            "--pause",
            "0ms",
            "--yes",
        ])
        .arg("--backup-file")
        .arg(file)
        .assert()
}

fn restore_from(db: &TestDb, file: &Path) -> assert_cmd::assert::Assert {
    apim_tune()
        .args(["db", "restore", "--url", &db.url, "--yes", "--backup-file"])
        .arg(file)
        .assert()
}

fn append(file: &Path, bytes: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(file)
        .expect("append");
    f.write_all(bytes.as_bytes()).expect("write");
}

/// A clean that died mid-line leaves a line without its `\n`. The next clean cuts it off
/// (instead of gluing its header onto it), and a restore takes a torn last line as the end
/// of the file, not as a broken file.
#[test]
fn a_torn_last_line_is_cut_off_by_the_next_clean_and_left_out_by_a_restore() {
    let db = support::databases("backup_file_torn").remove(0);
    seed(&db);
    let before = dump_all(&db);
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("torn.jsonl");
    clean_into(&db, &["--tokens"], &file).code(0);
    let torn = "{\"table\":\"IDN_AUTH_SESSION_STORE\",\"row\":{\"SESSION_ID\":\"torn-s3cret";
    append(&file, torn);
    clean_into(&db, &["--sessions", "--registry"], &file)
        .code(0)
        .stderr(predicates::str::contains("cut off an incomplete last line"));
    let text = std::fs::read_to_string(&file).expect("file");
    assert!(!text.contains("torn-s3cret"), "{text:.300}");
    for line in text.lines() {
        serde_json::from_str::<Value>(line).expect("every line is JSON");
    }
    assert_eq!(text.matches("\"apim_tune_backup\"").count(), 2);
    assert_ne!(dump_all(&db), before, "the cleans removed nothing");
    // Torn again (the second run died too): the restore puts back every complete line.
    append(&file, torn);
    restore_from(&db, &file)
        .code(0)
        .stdout(predicates::str::contains("an incomplete last line"))
        .stdout(predicates::str::contains("torn-s3cret").not());
    assert_eq!(dump_all(&db), before, "not every row came back");
}

/// A file holding one row twice (a stale copy from a batch whose COMMIT failed, then the copy a
/// later clean wrote when it deleted the row) restores the last copy, not the first.
#[test]
fn the_last_copy_of_a_row_in_the_file_is_the_one_restored() {
    let db = support::databases("backup_file_twice").remove(0);
    seed(&db);
    let before = dump_all(&db);
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("twice.jsonl");
    clean_into(&db, &["--registry"], &file).code(0);
    let text = std::fs::read_to_string(&file).expect("file");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at = lines
        .iter()
        .position(|l| l.contains("\"REG_LOG\""))
        .expect("a REG_LOG row in the file");
    let mut stale: Value = serde_json::from_str(&lines[at]).expect("json");
    stale["row"]["REG_PATH"] = Value::String("/stale-copy".into());
    // The stale copy first (under the header), the current one further down.
    lines.insert(1, stale.to_string());
    std::fs::write(&file, lines.join("\n") + "\n").expect("write");
    restore_from(&db, &file)
        .code(0)
        .stdout(predicates::str::contains("1 earlier copy"));
    let mut c = db.connect();
    assert!(
        support::keys(
            &mut c,
            "SELECT REG_PATH FROM REG_LOG WHERE REG_PATH = '/stale-copy'"
        )
        .is_empty(),
        "the stale copy went back"
    );
    assert_eq!(dump_all(&db), before);
    // One row that is there again: the summary counts it in the singular.
    let one = dir.path().join("one.jsonl");
    std::fs::write(&one, format!("{}\n{}\n", lines[0], lines[at + 1])).expect("write");
    restore_from(&db, &one)
        .code(1)
        .stdout(predicates::str::contains(
            "  1 backed-up row was not put back",
        ));
    // A table `db clean` never touches: the message reads as one sentence.
    std::fs::write(&one, "{\"table\":\"UM_USER\",\"row\":{}}\n").expect("write");
    restore_from(&db, &one)
        .code(2)
        .stderr(predicates::str::contains(
            "not an apim-tune backup file? Nothing was restored",
        ));
}

/// PostgreSQL: a CHAR(n) column goes back whole (a CAST to plain `character` is CHAR(1)).
#[test]
fn a_char_column_round_trips_on_postgresql() {
    for db in support::databases("backup_file_char") {
        if db.label != "postgresql" {
            continue;
        }
        seed(&db);
        let mut c = db.connect();
        c.run("ALTER TABLE REG_LOG ADD COLUMN X_CODE CHAR(25)")
            .expect("add column");
        c.run("UPDATE REG_LOG SET X_CODE = 'abcdefghij'")
            .expect("set");
        let before = dump_all(&db);
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("char.jsonl");
        clean_into(&db, &["--registry"], &file).code(0);
        assert_ne!(dump_all(&db), before);
        restore_from(&db, &file).code(0);
        assert!(
            support::keys(
                &mut c,
                "SELECT X_CODE FROM REG_LOG WHERE X_CODE <> 'abcdefghij'"
            )
            .is_empty(),
            "a CHAR(25) value was cut"
        );
        assert_eq!(dump_all(&db), before);
    }
}

/// The file holds tokens: a symlink, a file others can read and a file that is not an apim-tune
/// backup are refused before anything is deleted, and left as they were.
#[cfg(unix)]
#[test]
fn a_symlink_an_open_file_and_a_foreign_file_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let db = support::databases("backup_file_refuse").remove(0);
    seed(&db);
    let before = dump_all(&db);
    let dir = tempfile::tempdir().expect("tmp");
    let set_mode = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod")
    };
    let header = "{\"apim_tune_backup\":1}\n";

    let real = dir.path().join("real.jsonl");
    std::fs::write(&real, header).expect("write");
    set_mode(&real, 0o600);
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    clean_into(&db, &["--tokens"], &link)
        .code(2)
        .stderr(predicates::str::contains("symbolic link"));
    assert_eq!(std::fs::read_to_string(&real).expect("read"), header);

    let open = dir.path().join("open.jsonl");
    std::fs::write(&open, header).expect("write");
    set_mode(&open, 0o644);
    clean_into(&db, &["--tokens"], &open)
        .code(2)
        .stderr(predicates::str::contains("group or others have access"));
    assert_eq!(std::fs::read_to_string(&open).expect("read"), header);

    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, "my notes\nno newline at the end").expect("write");
    set_mode(&foreign, 0o600);
    clean_into(&db, &["--tokens"], &foreign)
        .code(2)
        .stderr(predicates::str::contains("not an apim-tune backup file"));
    assert_eq!(
        std::fs::read_to_string(&foreign).expect("read"),
        "my notes\nno newline at the end"
    );
    // Someone else's file: only root can make one here (and only root could open it).
    if nix::unistd::geteuid().is_root() {
        let theirs = dir.path().join("theirs.jsonl");
        std::fs::write(&theirs, header).expect("write");
        set_mode(&theirs, 0o600);
        std::os::unix::fs::chown(&theirs, Some(65534), None).expect("chown");
        clean_into(&db, &["--tokens"], &theirs)
            .code(2)
            .stderr(predicates::str::contains("belongs to user id 65534"));
        assert_eq!(std::fs::read_to_string(&theirs).expect("read"), header);
    }
    assert_eq!(dump_all(&db), before, "a refused clean deleted rows");
}

/// PostgreSQL: a batch whose COMMIT fails (a deferred constraint trigger raises at COMMIT)
/// deleted nothing; its lines stay (a COMMIT's outcome can be unknown), and are harmless: the
/// rows are changed, a second clean deletes them and appends their current copies, and the
/// restore puts back those, never the stale first copies (found in review of issue 17).
#[test]
fn after_a_failed_commit_the_restore_puts_back_the_current_rows_on_postgresql() {
    for db in support::databases("backup_file_commit") {
        if db.label != "postgresql" {
            continue;
        }
        seed(&db);
        let mut c = db.connect();
        c.run(
            "CREATE FUNCTION apim_tune_test_refuse() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$",
        )
        .expect("function");
        c.run(
            "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER DELETE ON REG_LOG \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION apim_tune_test_refuse()",
        )
        .expect("trigger");
        let before = dump_all(&db);
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("commit.jsonl");
        clean_into(&db, &["--registry"], &file)
            .failure()
            .stderr(predicates::str::contains("refused at commit"));
        assert_eq!(dump_all(&db), before, "the failed COMMIT deleted rows");
        c.run("DROP TRIGGER refuse_at_commit ON REG_LOG")
            .expect("drop trigger");
        c.run("UPDATE REG_LOG SET REG_USER_ID = 'changed-after-commit'")
            .expect("update");
        clean_into(&db, &["--registry"], &file).success();
        restore_from(&db, &file);
        let users = support::keys(&mut c, "SELECT DISTINCT REG_USER_ID FROM REG_LOG");
        assert_eq!(
            users,
            ["changed-after-commit".to_string()],
            "a stale copy came back"
        );
    }
}
