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

/// The modes of one engine [`check`] tries.
struct Modes<'a> {
    /// No TLS.
    plain: &'a str,
    /// Full verification.
    verify: &'a str,
    /// Encrypted, not verified (`require`), which a CA file raises to verify-ca.
    unverified: &'a str,
    /// Modes that may skip TLS or the check: refused with a CA file.
    weak: &'a [&'a str],
    /// The verifying mode's key in upper case, which the driver would skip.
    upper_key: &'a str,
}

/// One engine: refused in plain text, refused with the wrong CA or no CA under full
/// verification, accepted with the right CA (verifying the name) and with `require`.
fn check(url_env: &str, label: &str, m: Modes) {
    let Modes {
        plain,
        verify,
        unverified,
        weak,
        upper_key,
    } = m;
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
    // `require` with a CA file verifies the chain (sqlx would not read the CA at all): the
    // unrelated CA fails, the right one works.
    apim_tune()
        .args([
            "db",
            "audit",
            "--url",
            &with(unverified),
            "--ca-file",
            &other,
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("UnknownIssuer"));
    apim_tune()
        .args([
            "db",
            "audit",
            "--url",
            &with(unverified),
            "--ca-file",
            &ca,
            "--fail-on",
            "error",
        ])
        .assert()
        .code(0);
    // A mode that would never read the CA file is refused, saying why, before connecting.
    for mode in weak {
        apim_tune()
            .args(["db", "audit", "--url", &with(mode), "--ca-file", &ca])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("the URL's {mode}")))
            .stderr(predicate::str::contains("would never be read"))
            .stderr(predicate::str::contains("apim_tls:apim_tls").not());
    }
    // An upper-case key would be skipped by the driver, leaving TLS unverified: refused.
    apim_tune()
        .args(["db", "audit", "--url", &with(upper_key)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("lower case"));
}

#[test]
fn postgresql_over_tls_verifies_the_server_against_the_ca_file() {
    check(
        "APIM_TUNE_TEST_PG_TLS_URL",
        "postgresql",
        Modes {
            plain: "sslmode=disable",
            verify: "sslmode=verify-full",
            unverified: "sslmode=require",
            weak: &["sslmode=disable", "sslmode=allow", "sslmode=prefer"],
            upper_key: "SSLMODE=verify-full",
        },
    );
}

#[test]
fn mariadb_over_tls_verifies_the_server_against_the_ca_file() {
    check(
        "APIM_TUNE_TEST_MYSQL_TLS_URL",
        "mysql",
        Modes {
            plain: "ssl-mode=DISABLED",
            verify: "ssl-mode=VERIFY_IDENTITY",
            unverified: "ssl-mode=REQUIRED",
            weak: &["ssl-mode=DISABLED", "ssl-mode=PREFERRED"],
            upper_key: "SSL-MODE=VERIFY_IDENTITY",
        },
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

/// A CA bundle that also holds a private key and a broken certificate: refused naming the file,
/// and no line of the key (nor of the file) is printed. Against the TLS server, since that is
/// where the driver would read the bundle and quote it.
#[test]
fn a_private_key_in_the_ca_file_is_never_printed() {
    let Some((base, ca, _)) = setup("APIM_TUNE_TEST_PG_TLS_URL", "postgresql") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("bundle.pem");
    let key_line = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7PrivateKeyText";
    let bundle = format!(
        "-----BEGIN PRIVATE KEY-----\n{key_line}\n-----END PRIVATE KEY-----\n\
         -----BEGIN CERTIFICATE-----\nnot*base64*at*all\n-----END CERTIFICATE-----\n"
    );
    std::fs::write(&f, bundle).expect("write");
    let out = apim_tune()
        .args(["db", "audit", "--url", &base, "--ca-file"])
        .arg(&f)
        .output()
        .expect("run");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&f.display().to_string()), "{stderr}");
    for text in [stdout.as_ref(), stderr.as_ref()] {
        assert!(
            !text.contains(key_line) && !text.contains("BEGIN") && !text.contains("not*base64"),
            "{text}"
        );
    }
    // A good certificate next to the key still works: only the certificate is used.
    let url = fresh_database(&base, &ca, "apimtune_tls_bundle");
    let good = std::fs::read_to_string(&ca).expect("ca");
    std::fs::write(
        &f,
        format!("-----BEGIN PRIVATE KEY-----\n{key_line}\n-----END PRIVATE KEY-----\n{good}"),
    )
    .expect("write");
    apim_tune()
        .args(["db", "init", "--url", &url, "--ca-file"])
        .arg(&f)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("tables:"))
        .stdout(predicate::str::contains(key_line).not())
        .stderr(predicate::str::contains(key_line).not());
}

/// Forwards TCP from a port on 127.0.0.2, a loopback address the CI server certificate does not
/// name (its SANs are `localhost` and 127.0.0.1), to `to`; None where that address cannot be
/// bound (Linux routes all of 127/8 to loopback, other systems may not).
fn forwarder(to: std::net::SocketAddr) -> Option<std::net::SocketAddr> {
    use std::net::{Shutdown, TcpListener, TcpStream};
    fn pump(mut from: TcpStream, mut to: TcpStream) {
        // Either side closing ends the copy; the error is the end of the stream here.
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    }
    let listener = TcpListener::bind("127.0.0.2:0").ok()?;
    let addr = listener.local_addr().ok()?;
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(to) else {
                continue;
            };
            let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                continue;
            };
            std::thread::spawn(move || pump(client, server));
            std::thread::spawn(move || pump(s2, c2));
        }
    });
    Some(addr)
}

/// Reached by an address its certificate does not name, the server fails full verification
/// (the host name is checked) and passes the chain-only mode, with the same CA file.
fn host_name_check(url_env: &str, label: &str, chain_only: &str, full: &str) {
    let Some((base, ca, _)) = setup(url_env, label) else {
        return;
    };
    let url = fresh_database(&base, &ca, &format!("apimtune_tls_name_{label}"));
    apim_tune()
        .args(["db", "init", "--url", &url, "--ca-file", &ca])
        .assert()
        .code(0);
    // postgres://user:pass@HOST:PORT/db: the server's address, then the same URL via the
    // forwarder.
    let (head, tail) = url.split_once('@').expect("userinfo in url");
    let (host_port, db) = tail.split_once('/').expect("db in url");
    let server: std::net::SocketAddr = host_port.parse().expect("an IP:port in the CI url");
    let Some(fwd) = forwarder(server) else {
        crate::skip::skip(&format!(
            "{label} TLS host name: 127.0.0.2 cannot be bound here"
        ));
        return;
    };
    let via = |q: &str| format!("{head}@{fwd}/{db}?{q}");
    for q in [full, ""] {
        // `""`: no mode in the URL, which --ca-file makes full verification.
        apim_tune()
            .args(["db", "audit", "--url", &via(q), "--ca-file", &ca])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "certificate not valid for name \"127.0.0.2\"",
            ));
    }
    apim_tune()
        .args([
            "db",
            "audit",
            "--url",
            &via(chain_only),
            "--ca-file",
            &ca,
            "--fail-on",
            "error",
        ])
        .assert()
        .code(0);
}

#[test]
fn postgresql_verify_full_checks_the_host_name_and_verify_ca_does_not() {
    host_name_check(
        "APIM_TUNE_TEST_PG_TLS_URL",
        "postgresql",
        "sslmode=verify-ca",
        "sslmode=verify-full",
    );
}

#[test]
fn mariadb_verify_identity_checks_the_host_name_and_verify_ca_does_not() {
    host_name_check(
        "APIM_TUNE_TEST_MYSQL_TLS_URL",
        "mysql",
        "ssl-mode=VERIFY_CA",
        "ssl-mode=VERIFY_IDENTITY",
    );
}
