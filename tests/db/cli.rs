//! `apim-tune db …` through the real binary: interruption and resume, Ctrl-C, the checks that
//! refuse before anything is deleted, prompts, and secrets.

use crate::support::{self, TestDb, keys};
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::time::Duration;

pub fn apim_tune() -> Command {
    let mut c = Command::cargo_bin("apim-tune").expect("binary");
    c.env_remove("APIM_TUNE_DB_URL")
        .env_remove("APIM_HOME")
        .env_remove("CARBON_HOME")
        .env("NO_COLOR", "1");
    c
}

/// A fresh 4.2 schema with `tokens` seeded tokens and nothing else.
fn seeded(db: &TestDb, tokens: &str) {
    support::reset(db);
    seed(db, [tokens, "0", "0", "0", "0"]);
}

/// `db seed` with `[tokens, codes, sessions, registry, audit rows]`.
fn seed(db: &TestDb, counts: [&str; 5]) {
    let [tokens, codes, sessions, registry, audit] = counts;
    apim_tune()
        .args([
            "db", "seed", "--url", &db.url, "--tokens", tokens, "--codes", codes,
        ])
        .args([
            "--sessions",
            sessions,
            "--registry",
            registry,
            "--audit-rows",
            audit,
        ])
        .assert()
        .success();
}

fn count(db: &TestDb, sql: &str) -> usize {
    keys(&mut db.connect(), sql).len()
}

#[test]
fn an_interrupted_clean_resumes_with_the_same_cutoff_and_no_duplicate_backups() {
    for db in support::databases("resume") {
        seeded(&db, "800");
        let clean = |extra: &[&str]| {
            let mut c = apim_tune();
            c.args([
                "db", "clean", "--url", &db.url, "--tokens", "--backup", "--batch", "50",
                "--pause", "0ms", "--yes", "--format", "json",
            ]);
            c.args(extra);
            c
        };
        let out = clean(&["--stop-after-batches", "3"])
            .assert()
            .code(130)
            .get_output()
            .stdout
            .clone();
        let first: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(first["interrupted"], true, "{}", db.label);
        assert_eq!(
            first["tables"][0]["rows"], 150,
            "{}: three batches of 50",
            db.label
        );
        assert_eq!(
            count(&db, "SELECT TOKEN_ID FROM BAK_IDN_OAUTH2_ACCESS_TOKEN"),
            150
        );

        // `db audit` notices the unfinished run.
        assert!(
            audit_codes(&db).contains(&"DBG008".to_string()),
            "{}",
            db.label
        );

        let out = clean(&[]).assert().code(0).get_output().stdout.clone();
        let second: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(second["resumed_run"], first["run_id"], "{}", db.label);
        assert_eq!(
            second["cutoff"], first["cutoff"],
            "{}: same cut-off",
            db.label
        );
        assert_eq!(second["tables"][0]["rows"], 250, "{}", db.label);
        assert_eq!(
            count(&db, "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN"),
            400,
            "{}: half removable",
            db.label
        );
        assert_eq!(
            count(&db, "SELECT TOKEN_ID FROM BAK_IDN_OAUTH2_ACCESS_TOKEN"),
            400,
            "{}: each row backed up once",
            db.label
        );
        assert_eq!(
            count(
                &db,
                "SELECT RUN_ID FROM APIM_TUNE_CLEAN_RUN WHERE FINISHED IS NULL"
            ),
            0
        );

        // A third run finds nothing and starts a new run.
        let out = clean(&[]).assert().code(0).get_output().stdout.clone();
        let third: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(third["resumed_run"], Value::Null);
        assert_eq!(third["tables"][0]["rows"], 0);
    }
}

/// The finding codes of `db audit --format json` on `db`.
fn audit_codes(db: &TestDb) -> Vec<String> {
    let out = apim_tune()
        .args([
            "db",
            "audit",
            "--url",
            &db.url,
            "--format",
            "json",
            "--fail-on",
            "never",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    codes(&serde_json::from_slice(&out).expect("audit json"))
}

fn codes(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["code"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn ctrl_c_finishes_the_batch_in_flight_and_exits_130() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let dbs = support::databases("sigint");
    let db = &dbs[0];
    seeded(db, "400");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("apim-tune"))
        .args([
            "db", "clean", "--url", &db.url, "--tokens", "--backup", "--batch", "10", "--pause",
            "5s", "--yes", "--format", "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait for the first batch to commit, then interrupt during the pause.
    let started = std::time::Instant::now();
    let committed = || {
        db.connect()
            .fetch("SELECT TOKEN_ID FROM BAK_IDN_OAUTH2_ACCESS_TOKEN", &[])
            .map(|rows| !rows.is_empty())
            .unwrap_or(false)
    };
    while !committed() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no batch committed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("SIGINT");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["interrupted"], true);
    let deleted = r["tables"][0]["rows"].as_u64().expect("rows") as usize;
    assert!(
        deleted >= 10 && deleted.is_multiple_of(10),
        "whole batches only: {deleted}"
    );
    assert_eq!(
        count(db, "SELECT TOKEN_ID FROM BAK_IDN_OAUTH2_ACCESS_TOKEN"),
        deleted
    );
    assert_eq!(
        count(db, "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN"),
        400 - deleted
    );
}

#[test]
fn dry_run_and_print_sql_change_nothing() {
    for db in support::databases("dryrun") {
        seeded(&db, "80");
        let before = support::dump(&mut db.connect(), "IDN_OAUTH2_ACCESS_TOKEN");
        apim_tune()
            .args([
                "db",
                "clean",
                "--url",
                &db.url,
                "--tokens",
                "--codes",
                "--sessions",
                "--registry",
                "--dry-run",
            ])
            .assert()
            .success()
            .stdout(predicate::str::contains("40 rows removable"));
        apim_tune()
            .args(["db", "clean", "--url", &db.url, "--tokens", "--print-sql"])
            .assert()
            .success()
            .stdout(predicate::str::starts_with(
                "DELETE FROM IDN_OAUTH2_ACCESS_TOKEN WHERE",
            ));
        assert_eq!(
            support::dump(&mut db.connect(), "IDN_OAUTH2_ACCESS_TOKEN"),
            before,
            "{}",
            db.label
        );
        assert!(
            db.connect()
                .columns("APIM_TUNE_CLEAN_RUN")
                .expect("columns")
                .is_empty(),
            "a dry run writes nothing"
        );
    }
}

#[test]
fn without_a_terminal_clean_and_restore_want_yes() {
    let dbs = support::databases("prompt");
    let db = &dbs[0];
    seeded(db, "16");
    apim_tune()
        .args(["db", "clean", "--url", &db.url, "--tokens"])
        .write_stdin("y\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pass --yes"));
    assert_eq!(
        count(db, "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN"),
        16
    );
    apim_tune()
        .args(["db", "restore", "--url", &db.url])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pass --yes"));
}

#[test]
fn bad_input_is_refused_before_anything_is_deleted() {
    let dir = tempfile::tempdir().expect("tmp");
    // An unknown scheme, with a password that must not be echoed.
    apim_tune()
        .args(["db", "audit", "--url", "oracle://sys:Hunter2pw@db/x"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("not a database URL")
                .and(predicate::str::contains("Hunter2pw").not()),
        );
    // A server that is not there.
    apim_tune()
        .args([
            "db",
            "clean",
            "--url",
            "postgres://apim:Hunter2pw@127.0.0.1:1/apim",
            "--tokens",
            "--yes",
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("cannot connect")
                .and(predicate::str::contains("Hunter2pw").not()),
        );
    // A missing SQLite file is not created by audit or clean.
    let missing = dir.path().join("none.db");
    apim_tune()
        .args([
            "db",
            "audit",
            "--url",
            &format!("sqlite://{}", missing.display()),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such database file"));
    assert!(!missing.exists());
    // No target at all.
    apim_tune()
        .args(["db", "audit"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("give --url"));

    // Another version's schema: the token table lacks a column the cleanup reads.
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    let mut c = apim_tune_db(&url);
    c.run("CREATE TABLE IDN_OAUTH2_ACCESS_TOKEN (TOKEN_ID VARCHAR(255) PRIMARY KEY, TOKEN_STATE VARCHAR(25), TIME_CREATED TIMESTAMP, VALIDITY_PERIOD BIGINT)").expect("ddl");
    c.run("INSERT INTO IDN_OAUTH2_ACCESS_TOKEN VALUES ('t1', 'REVOKED', '2020-01-01 00:00:00', 1)")
        .expect("row");
    drop(c);
    apim_tune()
        .args(["db", "clean", "--url", &url, "--tokens", "--codes", "--yes"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("nothing was deleted")
                .and(predicate::str::contains("`REFRESH_TOKEN_TIME_CREATED`"))
                .and(predicate::str::contains(
                    "table `IDN_OAUTH2_AUTHORIZATION_CODE` not found",
                )),
        );
    assert_eq!(
        keys(
            &mut apim_tune_db(&url),
            "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN"
        ),
        vec!["t1"]
    );
}

fn apim_tune_db(url: &str) -> apim_tune::db::Connection {
    apim_tune::db::Connection::open(&apim_tune::db::Target::parse(url).expect("url")).expect("open")
}

#[test]
fn a_foreign_backup_table_is_refused_and_reported() {
    for db in support::databases("foreignbak") {
        seeded(&db, "16");
        let mut c = db.connect();
        c.run("CREATE TABLE BAK_IDN_OAUTH2_ACCESS_TOKEN AS SELECT * FROM IDN_OAUTH2_ACCESS_TOKEN")
            .expect("wso2-style backup");
        drop(c);
        apim_tune()
            .args([
                "db", "clean", "--url", &db.url, "--tokens", "--backup", "--yes",
            ])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("was not made by apim-tune"));
        assert_eq!(
            count(&db, "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN"),
            16,
            "{}",
            db.label
        );
        assert!(
            audit_codes(&db).contains(&"DBG007".to_string()),
            "{}",
            db.label
        );
    }
}

/// Every DBG code fires somewhere (DBG006 needs the MySQL/MariaDB server, which CI runs at
/// +05:30).
#[test]
fn every_db_code_has_a_scenario() {
    let home = tempfile::tempdir().expect("home");
    let conf = home.path().join("repository/conf");
    std::fs::create_dir_all(&conf).expect("conf");
    std::fs::write(
        conf.join("deployment.toml"),
        "[server]\nhostname = \"localhost\"\n\n[database.apim_db]\ntype = \"mysql\"\n\
         url = \"jdbc:mysql://db:3306/am\"\nusername = \"am\"\npassword = \"Pw-In-Toml-9\"\n\n\
         [oauth.token_cleanup]\nenable = false\nretain_access_tokens_for_auditing = true\n\n\
         [session_data.cleanup]\nenable_expired_data_cleanup = false\n",
    )
    .expect("toml");
    let mut seen = std::collections::BTreeSet::new();
    let mut mysql = false;
    for db in support::databases("codes") {
        seeded(&db, "1000");
        seed(&db, ["0", "100", "100", "100", "100"]);
        let mut c = db.connect();
        c.run("CREATE TABLE BAK_IDN_OAUTH2_AUTHORIZATION_CODE AS SELECT * FROM IDN_OAUTH2_AUTHORIZATION_CODE").expect("foreign backup");
        drop(c);
        apim_tune()
            .args([
                "db",
                "clean",
                "--url",
                &db.url,
                "--sessions",
                "--yes",
                "--batch",
                "10",
                "--stop-after-batches",
                "1",
            ])
            .assert()
            .code(130);
        let out = apim_tune()
            .args(["db", "audit", "--url", &db.url, "--apim-home"])
            .arg(home.path())
            .args(["--format", "json", "--fail-on", "never"])
            .assert()
            .success()
            .get_output()
            .clone();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("Pw-In-Toml-9"), "the home's password leaked");
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        seen.extend(codes(&v));
        mysql |= db.label == "mysql";
    }
    let mut want: Vec<&str> = apim_tune::diag::Code::ALL
        .iter()
        .filter(|c| c.family() == apim_tune::diag::Family::Dbg)
        .map(|c| c.code())
        .collect();
    if !mysql {
        eprintln!("note: no MySQL/MariaDB server: DBG006 not checked");
        want.retain(|c| *c != "DBG006");
    }
    let missing: Vec<_> = want.into_iter().filter(|c| !seen.contains(*c)).collect();
    assert!(
        missing.is_empty(),
        "DBG codes with no scenario: {missing:?}; seen {seen:?}"
    );
}

#[test]
fn apim_home_datasource_is_used_without_url_and_h2_is_refused() {
    let home = tempfile::tempdir().expect("home");
    let ds = home.path().join("repository/conf/datasources");
    std::fs::create_dir_all(&ds).expect("ds");
    std::fs::write(
        ds.join("master-datasources.xml"),
        "<datasources-configuration><datasources><datasource><name>WSO2AM_DB</name><definition type=\"RDBMS\"><configuration>\
         <url>jdbc:h2:repository/database/WSO2AM_DB;DB_CLOSE_ON_EXIT=FALSE</url><username>wso2carbon</username>\
         <password>wso2carbon</password></configuration></definition></datasource></datasources></datasources-configuration>",
    )
    .expect("xml");
    apim_tune()
        .args(["db", "audit", "--apim-home"])
        .arg(home.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("H2").and(predicate::str::contains("wso2carbon").not()));
}

/// Review: rows a cascading foreign key would take along, in a table the backup does not
/// cover, would be lost for good; `--backup` refuses, a plain clean goes on.
#[test]
fn backup_refuses_when_a_cascade_would_take_uncovered_rows() {
    for db in support::databases("cascade") {
        refuses_uncovered_cascade(&db);
    }
}

fn refuses_uncovered_cascade(db: &TestDb) {
    seeded(db, "16");
    let mut c = db.connect();
    c.run("CREATE TABLE IDN_OAUTH2_TOKEN_BINDING (TOKEN_ID VARCHAR(255), TOKEN_BINDING_TYPE VARCHAR(32), \
           FOREIGN KEY (TOKEN_ID) REFERENCES IDN_OAUTH2_ACCESS_TOKEN(TOKEN_ID) ON DELETE CASCADE)")
        .expect("binding table");
    c.run("INSERT INTO IDN_OAUTH2_TOKEN_BINDING SELECT TOKEN_ID, 'cookie' FROM IDN_OAUTH2_ACCESS_TOKEN")
        .expect("binding rows");
    drop(c);
    apim_tune()
        .args([
            "db", "clean", "--url", &db.url, "--tokens", "--backup", "--yes",
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("`IDN_OAUTH2_TOKEN_BINDING` (16 rows")
                .and(predicate::str::contains("Nothing was deleted")),
        );
    assert_eq!(
        count(db, "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN"),
        16
    );
    apim_tune()
        .args(["db", "clean", "--url", &db.url, "--tokens", "--yes"])
        .assert()
        .success();
    assert_eq!(
        count(db, "SELECT TOKEN_ID FROM IDN_OAUTH2_TOKEN_BINDING"),
        8,
        "the cascade took the bindings of the 8 removed tokens"
    );
}

/// Review: a backed-up row that conflicts with one created since (CON_APP_KEY) must not stop
/// the rest of the restore; and a dropped BAK_ table is made again by the next backup.
#[test]
fn restore_goes_on_past_conflicts_and_a_dropped_backup_table_is_recreated() {
    for db in support::databases("conflict") {
        seeded(&db, "16");
        let clean = || {
            apim_tune()
                .args([
                    "db", "clean", "--url", &db.url, "--tokens", "--backup", "--yes",
                ])
                .assert()
                .success();
        };
        clean();
        // API-M issues a new token with the same app, user, scope and state as a removed one:
        // that token and its scope row (whose parent cannot come back) stay in the backup.
        let mut c = db.connect();
        let victim = keys(
            &mut c,
            "SELECT TOKEN_ID FROM BAK_IDN_OAUTH2_ACCESS_TOKEN WHERE TOKEN_STATE = 'ACTIVE'",
        )
        .into_iter()
        .next()
        .expect("an ACTIVE removed token");
        let cols = c.columns("IDN_OAUTH2_ACCESS_TOKEN").expect("columns");
        let select: Vec<String> = cols
            .iter()
            .map(|col| {
                if col == "TOKEN_ID" {
                    "'fresh-token'".to_string()
                } else {
                    col.clone()
                }
            })
            .collect();
        c.execute(
            &format!(
                "INSERT INTO IDN_OAUTH2_ACCESS_TOKEN ({}) SELECT {} FROM BAK_IDN_OAUTH2_ACCESS_TOKEN WHERE TOKEN_ID = ?",
                cols.join(", "),
                select.join(", ")
            ),
            &[apim_tune::db::Arg::Text(victim.clone())],
        )
        .expect("conflicting token");
        drop(c);
        apim_tune()
            .args(["db", "restore", "--url", &db.url, "--yes"])
            .assert()
            .code(1)
            .stdout(predicate::str::contains("2 backed-up rows conflict"));
        assert_eq!(
            count(&db, "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN"),
            16,
            "{}: 7 back + the fresh one + 8 kept",
            db.label
        );
        assert_eq!(
            keys(
                &mut db.connect(),
                "SELECT TOKEN_ID FROM BAK_IDN_OAUTH2_ACCESS_TOKEN"
            ),
            vec![victim],
            "{}",
            db.label
        );

        let mut c = db.connect();
        c.run("DROP TABLE BAK_IDN_OAUTH2_ACCESS_TOKEN_SCOPE")
            .expect("drop");
        drop(c);
        clean();
        assert!(
            count(
                &db,
                "SELECT TOKEN_ID FROM BAK_IDN_OAUTH2_ACCESS_TOKEN_SCOPE"
            ) > 0,
            "{}",
            db.label
        );
    }
}

/// Review: REG_LOG at the largest batch on every engine (a 15,000-tuple IN list overflowed
/// PostgreSQL's stack; the superseded test was quadratic without an index on REG_PATH).
#[test]
fn registry_cleans_at_the_largest_batch() {
    for db in support::databases("registry") {
        support::reset(&db);
        seed(&db, ["0", "0", "0", "20000", "0"]);
        let out = apim_tune()
            .args([
                "db",
                "clean",
                "--url",
                &db.url,
                "--registry",
                "--batch",
                "15000",
                "--pause",
                "0ms",
                "--yes",
                "--format",
                "json",
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let r: Value = serde_json::from_slice(&out).expect("json");
        // 5,000 paths of 4 rows: 3 superseded each; of the 5,000 newest, the 500 that are
        // DELETE_RESOURCE (every tenth row) go too.
        let left = count(&db, "SELECT REG_LOG_ID FROM REG_LOG");
        assert_eq!(
            r["tables"][0]["rows"].as_u64().expect("rows") as usize + left,
            20_000,
            "{}",
            db.label
        );
        assert_eq!(left, 4_500, "{}", db.label);
        assert_eq!(
            count(&db, "SELECT REG_LOG_ID FROM REG_LOG WHERE REG_ACTION = 7"),
            0,
            "{}",
            db.label
        );
    }
}
