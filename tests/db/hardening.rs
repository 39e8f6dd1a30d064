//! Issue 15 through the real binary: a server that never answers, a held SQLite lock, numbers
//! past any sane bound, read-only commands that must not touch the file, and a `db seed`
//! killed in the middle of an existing or a fresh database.

use crate::cli::apim_tune;
use crate::support::keys;
use apim_tune::db::{Connection, Target};
use predicates::prelude::*;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

const PASSWORD: &str = "Hunter2blackhole";

/// A fresh SQLite file with the 4.2 tables and `tokens` seeded tokens (0: tables only).
fn sqlite_db(dir: &Path, name: &str, tokens: &str) -> String {
    let url = format!("sqlite://{}", dir.join(name).display());
    apim_tune()
        .args(["db", "init", "--url", &url])
        .assert()
        .success();
    if tokens != "0" {
        apim_tune()
            .args(["db", "seed", "--url", &url, "--tokens", tokens])
            .assert()
            .success();
    }
    url
}

fn connect(url: &str) -> Connection {
    Connection::open(&Target::parse(url).expect("url")).expect("open")
}

/// A TCP port on loopback whose listener never accepts: the kernel completes the handshake
/// (the backlog), so the client is connected to a server that never says a word.
fn blackhole() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = l.local_addr().expect("addr").port();
    (l, port)
}

#[test]
fn a_server_that_accepts_and_never_speaks_fails_every_db_command_within_the_timeout() {
    let (_listener, port) = blackhole();
    for scheme in ["postgres", "mysql"] {
        let url = format!("{scheme}://apim:{PASSWORD}@127.0.0.1:{port}/apim");
        for cmd in [
            vec!["db", "audit"],
            vec!["db", "clean", "--tokens", "--yes"],
            vec!["db", "clean", "--tokens", "--dry-run"],
            vec!["db", "restore", "--yes"],
            vec!["db", "seed", "--tokens", "10"],
            vec!["db", "init"],
        ] {
            let started = Instant::now();
            apim_tune()
                .args(&cmd)
                .args(["--url", &url, "--connect-timeout", "1"])
                .timeout(Duration::from_secs(30))
                .assert()
                .code(2)
                .stderr(
                    predicate::str::contains("cannot connect to")
                        .and(predicate::str::contains("no answer within 1 s"))
                        .and(predicate::str::contains("--connect-timeout"))
                        .and(predicate::str::contains(PASSWORD).not()),
                );
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(4),
                "{scheme} {cmd:?} took {took:?} with --connect-timeout 1"
            );
        }
    }
    // The default is a few seconds, not forever (a timer the tool generates gives no flag).
    let started = Instant::now();
    apim_tune()
        .args([
            "db",
            "audit",
            "--url",
            &format!("postgres://apim:{PASSWORD}@127.0.0.1:{port}/apim"),
        ])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no answer within 5 s"));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(10),
        "default connect timeout: {took:?}"
    );
}

#[test]
fn numbers_past_their_bound_are_refused_before_connecting() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("never.db");
    let url = format!("sqlite://{}", db.display());
    for (args, why) in [
        (
            vec!["db", "seed", "--tokens", "18446744073709551615"],
            "0..=100000000",
        ),
        (vec!["db", "seed", "--tokens", "100000001"], "0..=100000000"),
        (vec!["db", "seed", "--codes", "100000001"], "0..=100000000"),
        (vec!["db", "seed", "--sessions=-1"], "--sessions <N>"),
        (
            vec!["db", "seed", "--registry", "999999999999"],
            "0..=100000000",
        ),
        (
            vec!["db", "seed", "--audit-rows", "100000001"],
            "0..=100000000",
        ),
        (vec!["db", "audit", "--connect-timeout", "0"], "1..=300"),
        (vec!["db", "audit", "--connect-timeout", "301"], "1..=300"),
        (
            vec![
                "db",
                "clean",
                "--tokens",
                "--connect-timeout",
                "99999999999",
            ],
            "1..=300",
        ),
        (vec!["db", "clean", "--tokens", "--batch", "0"], "from 1 to"),
        (
            vec!["db", "clean", "--tokens", "--stop-after-batches", "0"],
            "--stop-after-batches",
        ),
        (
            vec!["db", "clean", "--tokens", "--pause", "2h"],
            "at most 1h",
        ),
        (
            vec!["db", "clean", "--tokens", "--safe-period", "3651d"],
            "at most 3650d",
        ),
        (
            vec!["db", "clean", "--audit-table", "--older-than", "5000w"],
            "at most 3650d",
        ),
        (
            vec!["db", "audit", "--older-than", "3651d"],
            "at most 3650d",
        ),
        (
            vec!["db", "audit", "--safe-period", "99999999d"],
            "--safe-period",
        ),
    ] {
        apim_tune()
            .args(&args)
            .args(["--url", &url])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(why));
        assert!(!db.exists(), "{args:?} created the database");
    }
}

#[test]
fn a_held_sqlite_lock_is_a_bounded_wait_then_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = sqlite_db(dir.path(), "locked.db", "800");
    let before = keys(
        &mut connect(&url),
        "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN",
    );
    // Another writer holds the write lock for the whole test.
    let mut holder = connect(&url);
    holder.run("BEGIN IMMEDIATE").expect("take the write lock");
    holder
        .run("CREATE TABLE HOLDER (X INTEGER)")
        .expect("write under the lock");
    for cmd in [
        vec!["db", "seed", "--tokens", "100"],
        vec!["db", "clean", "--tokens", "--yes", "--pause", "0"],
    ] {
        let started = Instant::now();
        apim_tune()
            .args(&cmd)
            .args(["--url", &url])
            .timeout(Duration::from_secs(60))
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains("locked by another connection")
                    .and(predicate::str::contains("waits at most 5 s")),
            );
        let took = started.elapsed();
        // It waited for the lock (the busy timeout), and only once: no retries on top.
        assert!(
            took >= Duration::from_secs(4) && took < Duration::from_secs(10),
            "{cmd:?} took {took:?}"
        );
    }
    holder.run("ROLLBACK").expect("release");
    drop(holder);
    assert_eq!(
        keys(
            &mut connect(&url),
            "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN"
        ),
        before,
        "a command that gave up on the lock changed rows"
    );
    // The lock was the only reason: without it the same seed goes through.
    apim_tune()
        .args(["db", "seed", "--tokens", "100", "--url", &url])
        .assert()
        .success();
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read the database file")
}

#[test]
fn read_only_commands_leave_the_file_and_its_journal_mode_alone() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = sqlite_db(dir.path(), "ro.db", "400");
    let file = dir.path().join("ro.db");
    {
        // A database in rollback-journal mode (the SQLite default), which a reader must not
        // switch to WAL.
        let mut c = connect(&url);
        c.run("PRAGMA journal_mode = DELETE").expect("journal mode");
    }
    let before = bytes(&file);
    // Bytes 18 and 19 of the header: 1 = rollback journal, 2 = WAL.
    assert_eq!(&before[18..20], &[1, 1]);
    apim_tune()
        .args(["db", "audit", "--url", &url, "--fail-on", "never"])
        .assert()
        .success();
    apim_tune()
        .args(["db", "clean", "--url", &url, "--tokens", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("removable"));
    assert!(
        bytes(&file) == before,
        "a read-only command changed the file"
    );
    assert!(
        !dir.path().join("ro.db-wal").exists(),
        "a read-only command switched the database to WAL"
    );
}

#[test]
fn a_missing_empty_or_foreign_file_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().expect("tmp");
    let missing = dir.path().join("missing.db");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").expect("empty file");
    let text = dir.path().join("notes.db");
    std::fs::write(&text, b"not a database, just some notes\n").expect("text file");
    let fifo = dir.path().join("fifo.db");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    let commands = [
        vec!["db", "audit"],
        vec!["db", "clean", "--tokens", "--dry-run"],
        vec!["db", "clean", "--tokens", "--yes"],
        vec!["db", "restore", "--yes"],
        vec!["db", "seed", "--tokens", "10"],
    ];
    for (path, why) in [
        (&missing, "no such database file"),
        (&empty, "is empty, not an SQLite database"),
        (&text, "not an SQLite database"),
        (&fifo, "not a regular file"),
    ] {
        let url = format!("sqlite://{}", path.display());
        for cmd in &commands {
            apim_tune()
                .args(cmd)
                .args(["--url", &url])
                .timeout(Duration::from_secs(30))
                .assert()
                .code(2)
                .stderr(predicate::str::contains(why));
        }
    }
    assert!(!missing.exists(), "a command created the missing database");
    assert_eq!(std::fs::metadata(&empty).expect("empty").len(), 0);
    assert_eq!(
        std::fs::read(&text).expect("text"),
        b"not a database, just some notes\n"
    );
    for side in ["missing.db-wal", "empty.db-wal", "empty.db-journal"] {
        assert!(!dir.path().join(side).exists(), "{side} was created");
    }
}

/// The database file and its WAL together, in bytes.
fn on_disk(db: &Path) -> u64 {
    let wal = db.with_file_name(format!(
        "{}-wal",
        db.file_name().and_then(|n| n.to_str()).unwrap_or_default()
    ));
    [db.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

#[test]
fn killing_seed_on_an_existing_database_keeps_the_rows_that_were_there() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = sqlite_db(dir.path(), "kill.db", "2000");
    let file = dir.path().join("kill.db");
    let tokens = "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN";
    let indexes = "SELECT name FROM sqlite_master WHERE type = 'index'";
    let (rows_before, indexes_before) = {
        let mut c = connect(&url);
        (keys(&mut c, tokens), keys(&mut c, indexes))
    };
    assert_eq!(rows_before.len(), 2000);
    let start_size = on_disk(&file);
    // Kill it while it writes: once the files grew by 8 MB (the old seed wrote its pages into
    // the database file itself by then, with the journal in memory).
    kill_seed_once_grown(&url, &file, start_size, Duration::from_secs(120));

    let mut c = connect(&url);
    let check = keys(&mut c, "PRAGMA integrity_check");
    assert_eq!(check, vec!["ok"], "the database is corrupt after the kill");
    assert_eq!(keys(&mut c, tokens), rows_before, "rows were lost or added");
    assert_eq!(keys(&mut c, indexes), indexes_before, "indexes were lost");
}

#[test]
fn seed_on_a_fresh_database_ends_in_wal_and_intact() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = sqlite_db(dir.path(), "fresh.db", "3000");
    // Header bytes 18 and 19: 2 = WAL, set back after the unjournaled load (read before
    // connecting here, which would set WAL itself).
    let header = bytes(&dir.path().join("fresh.db"));
    assert_eq!(&header[18..20], &[2, 2]);
    let mut c = connect(&url);
    assert_eq!(keys(&mut c, "PRAGMA integrity_check"), vec!["ok"]);
    assert_eq!(
        keys(&mut c, "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN").len(),
        3000
    );
}

#[test]
fn killing_seed_on_a_fresh_database_leaves_it_intact_with_every_index() {
    // The fast path (an empty file: no fsync) must still survive a killed process: its
    // rollback journal is on disk, so the next connection rolls the load back.
    let dir = tempfile::tempdir().expect("tmp");
    let url = sqlite_db(dir.path(), "fresh-kill.db", "0");
    let file = dir.path().join("fresh-kill.db");
    let tokens = "SELECT TOKEN_ID FROM IDN_OAUTH2_ACCESS_TOKEN";
    let indexes = "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name";
    let indexes_before = keys(&mut connect(&url), indexes);
    assert!(indexes_before.len() > 20, "{indexes_before:?}");
    let start_size = on_disk(&file);
    // Kill it once the file itself grew by 8 MB: the page cache has spilled into it, with
    // indexes dropped and rows half loaded (with the journal in memory, as before, the file
    // was then left corrupt with 8 of 29 indexes).
    kill_seed_once_grown(&url, &file, start_size, Duration::from_secs(300));

    let mut c = connect(&url);
    let check = keys(&mut c, "PRAGMA integrity_check");
    assert_eq!(check, vec!["ok"], "the database is corrupt after the kill");
    assert_eq!(keys(&mut c, indexes), indexes_before, "indexes were lost");
    assert!(keys(&mut c, tokens).is_empty(), "a half load was kept");
    drop(c);
    // And it is still a database to seed.
    apim_tune()
        .args(["db", "seed", "--url", &url, "--tokens", "100"])
        .env_remove("APIM_TUNE_DB_URL")
        .assert()
        .success();
}

/// Starts `db seed` of 5,000,000 tokens into `url` and kills it (SIGKILL) once `file` has grown
/// 8 MB past `start_size`, within `limit`.
fn kill_seed_once_grown(url: &str, file: &std::path::Path, start_size: u64, limit: Duration) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("apim-tune"))
        .args(["db", "seed", "--url", url, "--tokens", "5000000"])
        .env_remove("APIM_TUNE_DB_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn seed");
    let started = Instant::now();
    while on_disk(file) < start_size + 8_000_000 {
        assert!(started.elapsed() < limit, "the seed never wrote 8 MB");
        assert!(
            child.try_wait().expect("poll").is_none(),
            "the seed ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
}
