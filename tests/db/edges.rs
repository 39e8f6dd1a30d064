//! Issue 17's database edges through the binary: a validity period of 0, the fix hint that
//! names the database as the audit did, "1 batch", and REG_LOG read from the registry's own
//! datasource of an API-M home.

use crate::cli::apim_tune;
use crate::support::{self, TestDb, keys};
use predicates::prelude::*;
use serde_json::Value;

fn seed(db: &TestDb, args: &[&str]) {
    apim_tune()
        .args(["db", "seed", "--url", &db.url])
        .args(args)
        .assert()
        .success();
}

/// WSO2's `OAuth2Util` treats only a negative validity period as "never expires": an ACTIVE
/// token whose periods are 0 expired when it was created, and `db clean` removes it; one with
/// -1 stays.
#[test]
fn a_validity_period_of_zero_is_expired_and_a_negative_one_never_expires() {
    for db in support::databases("validity_zero") {
        support::reset(&db);
        seed(&db, &["--tokens", "40", "--codes", "0", "--sessions", "0"]);
        let mut c = db.connect();
        let active = keys(
            &mut c,
            "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN WHERE TOKEN_STATE = 'ACTIVE'",
        );
        assert!(active.len() >= 2, "{}: {active:?}", db.label);
        let (zero, negative) = (&active[0], &active[1]);
        for (id, period) in [(zero, 0i64), (negative, -1)] {
            c.execute(
                "UPDATE IDN_OAUTH2_ACCESS_TOKEN SET VALIDITY_PERIOD = ?, \
                 REFRESH_TOKEN_VALIDITY_PERIOD = ?, TIME_CREATED = '2020-01-01 00:00:00', \
                 REFRESH_TOKEN_TIME_CREATED = '2020-01-01 00:00:00' WHERE TOKEN_ID = ?",
                &[
                    apim_tune::db::Arg::Int(period),
                    apim_tune::db::Arg::Int(period),
                    apim_tune::db::Arg::Text(id.clone()),
                ],
            )
            .expect("update");
        }
        drop(c);
        apim_tune()
            .args(["db", "clean", "--url", &db.url, "--tokens", "--yes"])
            .args(["--pause", "0ms"])
            .assert()
            .code(0);
        let mut c = db.connect();
        let left = keys(&mut c, "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN");
        assert!(!left.contains(zero), "{}: period 0 kept", db.label);
        assert!(left.contains(negative), "{}: period -1 removed", db.label);
    }
}

fn sqlite_with_removable_tokens() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("apim.db").display());
    apim_tune()
        .args(["db", "init", "--url", &url])
        .assert()
        .success();
    apim_tune()
        .args(["db", "seed", "--url", &url, "--tokens", "100"])
        .assert()
        .success();
    (dir, url)
}

#[test]
fn the_fix_hint_names_the_database_the_way_the_audit_was_told() {
    let (_dir, url) = sqlite_with_removable_tokens();
    apim_tune()
        .args(["db", "audit", "--url", &url])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "fix: apim-tune db clean --url … --tokens",
        ));
    // From the environment: no `--url …` to type (and show in `ps`); the hint says where the
    // URL comes from.
    apim_tune()
        .env("APIM_TUNE_DB_URL", &url)
        .args(["db", "audit"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "fix: apim-tune db clean --tokens (the database comes from APIM_TUNE_DB_URL",
        ))
        .stdout(predicate::str::contains("--url …").not());
}

#[test]
fn one_batch_is_one_batch() {
    let (_dir, url) = sqlite_with_removable_tokens();
    apim_tune()
        .args([
            "db", "clean", "--url", &url, "--tokens", "--yes", "--pause", "0ms",
        ])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains(" in 1 batch\n").or(predicate::str::contains(" in 1 batch,")),
        )
        .stdout(predicate::str::contains("1 batches").not());
}

/// `jdbc:…` URL, user and password of a server test database.
fn jdbc(db: &TestDb) -> (String, String, String) {
    let (scheme, rest) = db.url.split_once("://").expect("url");
    let (userinfo, host_db) = rest.rsplit_once('@').expect("credentials");
    let (user, password) = userinfo.split_once(':').expect("password");
    let scheme = if scheme == "postgres" {
        "postgresql"
    } else {
        "mysql"
    };
    (
        format!("jdbc:{scheme}://{host_db}"),
        user.to_string(),
        password.to_string(),
    )
}

/// With `--apim-home`, `--registry` cleans REG_LOG in `[database.shared_db]`, where it is, and
/// the tokens in `[database.apim_db]`.
#[test]
fn the_registry_log_is_cleaned_in_the_shared_database_of_the_home() {
    let apim = support::databases("home_apim");
    let shared = support::databases("home_shared");
    for (a, s) in apim
        .iter()
        .zip(&shared)
        .filter(|(a, _)| a.label != "sqlite")
    {
        support::reset(a);
        support::reset(s);
        seed(a, &["--tokens", "100", "--registry", "0"]);
        seed(s, &["--tokens", "0", "--registry", "200"]);
        let home = tempfile::tempdir().expect("tmp");
        let conf = home.path().join("repository/conf");
        std::fs::create_dir_all(&conf).expect("mkdir");
        let (au, auser, apass) = jdbc(a);
        let (su, suser, spass) = jdbc(s);
        std::fs::write(
            conf.join("deployment.toml"),
            format!(
                "[database.apim_db]\nurl = \"{au}\"\nusername = \"{auser}\"\npassword = \"{apass}\"\n\n\
                 [database.shared_db]\nurl = \"{su}\"\nusername = \"{suser}\"\npassword = \"{spass}\"\n"
            ),
        )
        .expect("toml");
        let reg_before = keys(&mut s.connect(), "SELECT REG_LOG_ID FROM REG_LOG").len();
        // `db audit` judges REG_LOG where it is, too.
        let out = apim_tune()
            .args(["db", "audit", "--apim-home"])
            .arg(home.path())
            .args(["--format", "json", "--fail-on", "error"])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let audit: Value = serde_json::from_slice(&out).expect("json");
        // The fix hint names the home, as the audit was told.
        let hint = format!(
            "fix: apim-tune db clean --apim-home {} --registry",
            home.path().display()
        );
        assert!(audit.to_string().contains(&hint), "{}: {audit}", a.label);
        let reg_log = audit["tables"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["table"] == "REG_LOG"))
            .expect("REG_LOG in the audit");
        assert_eq!(
            reg_log["rows"].as_u64(),
            Some(reg_before as u64),
            "{}: {reg_log}",
            a.label
        );
        assert!(
            reg_log["removable"].as_u64().is_some_and(|n| n > 0),
            "{reg_log}"
        );
        let tokens_before = keys(
            &mut a.connect(),
            "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN",
        );
        let file = home.path().join("clean.jsonl");
        let out = apim_tune()
            .args(["db", "clean", "--apim-home"])
            .arg(home.path())
            .args([
                "--tokens",
                "--registry",
                "--yes",
                "--pause",
                "0ms",
                "--format",
                "json",
            ])
            .arg("--backup-file")
            .arg(&file)
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let r: Value = serde_json::from_slice(&out).expect("json");
        assert!(
            r["target"]
                .as_str()
                .is_some_and(|t| t.ends_with("home_apim")),
            "{r}"
        );
        let reg = &r["registry"];
        assert!(
            reg["target"]
                .as_str()
                .is_some_and(|t| t.ends_with("home_shared")),
            "{r}"
        );
        assert_eq!(reg["tables"][0]["table"], "REG_LOG", "{r}");
        let removed = reg["tables"][0]["rows"].as_u64().expect("rows");
        assert!(removed > 0, "{}: {r}", a.label);
        let reg_after = keys(&mut s.connect(), "SELECT REG_LOG_ID FROM REG_LOG").len();
        assert_eq!(reg_before - reg_after, removed as usize, "{}", a.label);
        assert!(
            r["tables"][0]["rows"].as_u64().is_some_and(|n| n > 0),
            "{}: tokens in the API-M database: {r}",
            a.label
        );
        assert!(!String::from_utf8_lossy(&out).contains(&format!(":{apass}@")));
        // Both runs wrote to the one file; each table's rows go back to its own database.
        apim_tune()
            .args(["db", "restore", "--apim-home"])
            .arg(home.path())
            .args(["--yes", "--backup-file"])
            .arg(&file)
            .assert()
            .code(0);
        let reg_restored = keys(&mut s.connect(), "SELECT REG_LOG_ID FROM REG_LOG").len();
        assert_eq!(
            reg_restored, reg_before,
            "{}: REG_LOG back in the shared db",
            a.label
        );
        assert_eq!(
            keys(
                &mut a.connect(),
                "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN"
            ),
            tokens_before,
            "{}",
            a.label
        );
    }
}

/// `db audit` and `db restore` with a home that has no registry datasource of its own (no
/// `[database.shared_db]`, the shipped layout of a single-database install) work on the API-M
/// database and say where REG_LOG was taken from; they used to fail with "--registry: … has no
/// [database.shared_db]" although `db restore` has no `--registry` (found in review of
/// issue 17). And an APIM_TUNE_DB_URL left in the environment does not beat an `--apim-home`
/// given for this run.
#[test]
fn a_home_without_a_registry_datasource_audits_and_restores_its_own_database() {
    for a in support::databases("home_single")
        .iter()
        .filter(|a| a.label != "sqlite")
    {
        support::reset(a);
        seed(a, &["--tokens", "50", "--registry", "20"]);
        let home = tempfile::tempdir().expect("tmp");
        let conf = home.path().join("repository/conf");
        std::fs::create_dir_all(&conf).expect("mkdir");
        let (au, auser, apass) = jdbc(a);
        std::fs::write(
            conf.join("deployment.toml"),
            format!(
                "[database.apim_db]\nurl = \"{au}\"\nusername = \"{auser}\"\npassword = \"{apass}\"\n"
            ),
        )
        .expect("toml");
        let elsewhere = tempfile::tempdir().expect("tmp");
        let stray = format!("sqlite://{}", elsewhere.path().join("stray.db").display());
        let out = apim_tune()
            .env("APIM_TUNE_DB_URL", &stray)
            .args(["db", "audit", "--apim-home"])
            .arg(home.path())
            .args(["--format", "json", "--fail-on", "never"])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let audit: Value = serde_json::from_slice(&out).expect("json");
        let text = audit.to_string();
        assert!(!text.contains("stray.db"), "{}: {audit}", a.label);
        assert!(
            text.contains("REG_LOG is taken from the API-M database"),
            "{}: {audit}",
            a.label
        );
        let out = apim_tune()
            .env("APIM_TUNE_DB_URL", &stray)
            .args(["db", "restore", "--apim-home"])
            .arg(home.path())
            .args(["--yes"])
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("--registry") && !err.contains("stray.db"),
            "{}: {err}",
            a.label
        );
        assert!(
            err.contains("note: REG_LOG is taken from the API-M database"),
            "{}: {err}",
            a.label
        );
    }
}
