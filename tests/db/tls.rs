//! TLS through the binary against the CI servers, which `.ci/db-servers.sh` starts with a
//! certificate its own throwaway CA signed. Their `apim_tls` user may log in over TLS only
//! (PostgreSQL: `hostnossl … reject`; MariaDB: `REQUIRE SSL`), so a command that works as
//! that user went over TLS.

use crate::cli::apim_tune;
use apim_tune::db::{Connection, Target};
use predicates::prelude::*;

const CA_ENV: &str = "APIM_TUNE_TEST_CA_FILE";
const OTHER_CA_ENV: &str = "APIM_TUNE_TEST_OTHER_CA_FILE";

/// The TLS user's URL, the CA file and an unrelated CA, or a visible skip.
fn setup(url_env: &str, label: &str) -> Option<(String, String, String)> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    match (get(url_env), get(CA_ENV), get(OTHER_CA_ENV)) {
        (Some(u), Some(ca), Some(other)) => Some((u, ca, other)),
        _ => {
            crate::skip::skip(&format!(
                "{label} TLS: {url_env}, {CA_ENV} or {OTHER_CA_ENV} is not set \
                 (`.ci/db-servers.sh start` exports them)"
            ));
            None
        }
    }
}

/// A fresh database `name` made over TLS by the TLS user; its URL.
fn fresh_database(base: &str, ca: &str, name: &str) -> String {
    let target = Target::parse(base)
        .expect("url")
        .with_ca_file(std::path::Path::new(ca))
        .expect("ca");
    let mut admin = Connection::open(&target).expect("connect over TLS");
    admin
        .run(&format!("DROP DATABASE IF EXISTS {name}"))
        .expect("drop");
    admin
        .run(&format!("CREATE DATABASE {name}"))
        .expect("create");
    let (head, _) = base.rsplit_once('/').expect("db in url");
    format!("{head}/{name}")
}

/// One engine: refused in plain text, refused with the wrong CA or no CA under full
/// verification, accepted with the right CA (verifying the name) and with `require`.
fn check(url_env: &str, label: &str, plain: &str, verify: &str, unverified: &str) {
    let Some((base, ca, other)) = setup(url_env, label) else {
        return;
    };
    let url = fresh_database(&base, &ca, &format!("apimtune_tls_{label}"));
    let with = |q: &str| format!("{url}?{q}");
    // Plain text: the server refuses this user, so the other cases below did use TLS.
    apim_tune()
        .args(["db", "init", "--url", &with(plain)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot connect"))
        .stderr(predicate::str::contains("apim_tls:apim_tls").not());
    // The right CA, full verification implied: works, and the tables are there.
    apim_tune()
        .args(["db", "init", "--url", &url, "--ca-file", &ca])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("tables:"));
    apim_tune()
        .args([
            "db",
            "audit",
            "--url",
            &url,
            "--ca-file",
            &ca,
            "--fail-on",
            "error",
        ])
        .assert()
        .code(0);
    // An unrelated CA: the certificate does not chain to it.
    apim_tune()
        .args(["db", "audit", "--url", &url, "--ca-file", &other])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("TLS"))
        .stderr(predicate::str::contains("UnknownIssuer"));
    // Full verification without a CA file: the system's trust store does not know this CA.
    apim_tune()
        .args(["db", "audit", "--url", &with(verify)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("UnknownIssuer"));
    // Encrypted but unverified, as the URL asks: works without a CA file.
    apim_tune()
        .args([
            "db",
            "audit",
            "--url",
            &with(unverified),
            "--fail-on",
            "error",
        ])
        .assert()
        .code(0);
}

#[test]
fn postgresql_over_tls_verifies_the_server_against_the_ca_file() {
    check(
        "APIM_TUNE_TEST_PG_TLS_URL",
        "postgresql",
        "sslmode=disable",
        "sslmode=verify-full",
        "sslmode=require",
    );
}

#[test]
fn mariadb_over_tls_verifies_the_server_against_the_ca_file() {
    check(
        "APIM_TUNE_TEST_MYSQL_TLS_URL",
        "mysql",
        "ssl-mode=DISABLED",
        "ssl-mode=VERIFY_IDENTITY",
        "ssl-mode=REQUIRED",
    );
}

#[test]
fn a_ca_file_that_is_not_one_is_refused_before_connecting() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("ca.pem");
    std::fs::write(&f, "not a certificate").expect("write");
    apim_tune()
        .args([
            "db",
            "audit",
            "--url",
            "postgres://u:p@127.0.0.1:1/x",
            "--ca-file",
        ])
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no PEM certificate"));
    apim_tune()
        .args(["db", "audit", "--url", "sqlite://x.db", "--ca-file"])
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not SQLite"));
}
