//! Skipping a test whose input is not on this machine (`../shared`, a database server), the same
//! way in every test binary: the unit tests reach it as `crate::test_support`, the integration
//! tests include this file with `#[path]` (it uses nothing from the crate for that reason).
//!
//! How a skip shows: one line `SKIPPED: <test>: <reason>` written to the process's stderr handle
//! with `std::io::stderr()`. libtest captures `print!`/`eprint!` output of each test and shows it
//! only when the test fails, so an `eprintln!` note is invisible in `cargo test` and a skipped test
//! reads exactly like a passing one (tried: with and without `--test-threads=1`). A write to the
//! `Stderr` handle does not go through that capture, so the line shows in every `cargo test` run,
//! `--nocapture` or not, next to the test's `... ok`. libtest has no runtime "ignored" outcome
//! (the ignore attribute is fixed at compile time, and a build script probing `../shared` would leave the
//! summary stale when it appears or goes), so the closing summary still counts the test as
//! passed; the SKIPPED line is the record. The test's name is its thread's name, which libtest
//! sets to the test path also when it runs one test at a time.
//!
//! Under `CI=true` a skip is a failure instead: `.ci/run` provides `../shared` and starts the
//! database servers, so a missing one means CI is broken, and a run that skipped must not pass as
//! one that tested.

use std::io::Write;
use std::path::PathBuf;

/// Where `shared/` is, when set: only there (the default places are not tried). Lets a test run
/// a test binary as if `shared/` were absent.
pub const SHARED_ENV: &str = "APIM_TUNE_SHARED_DIR";

/// Whether this is a CI run, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Says that the running test skipped (part of) its work and why; under `CI=true`, fails it.
#[track_caller]
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("(unnamed test)");
    if in_ci() {
        panic!("{test}: {reason} (CI=true: a skipped test is a failure)");
    }
    // Not `eprintln!`: see the module comment. One `write_all` of the whole line, because
    // `Stderr` is unbuffered and `writeln!` would write it piecemeal, interleaved with the
    // harness's own `test … ok` output.
    let line = format!("SKIPPED: {test}: {reason}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// `shared/<rel>`: under `$APIM_TUNE_SHARED_DIR` when set, else the read-only folder beside the
/// crate (`../shared`, where CI puts it), else `/work/shared`. When it is absent, the test is
/// skipped (see [`skip`]) and this returns `None`.
#[track_caller]
pub fn shared(rel: &str) -> Option<PathBuf> {
    let from_env = std::env::var_os(SHARED_ENV);
    let places = match &from_env {
        Some(dir) => vec![PathBuf::from(dir)],
        None => vec![
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
            PathBuf::from("/work/shared"),
        ],
    };
    if let Some(found) = places.iter().map(|p| p.join(rel)).find(|p| p.exists()) {
        // Without the `..`, so paths in findings and failure messages read plainly.
        return Some(found.canonicalize().unwrap_or(found));
    }
    let looked: Vec<String> = places.iter().map(|p| p.display().to_string()).collect();
    let hint = match from_env {
        Some(_) => format!("from {SHARED_ENV}"),
        None => format!("{SHARED_ENV} names another folder"),
    };
    skip(&format!(
        "shared/{rel} is absent (looked in {}; {hint})",
        looked.join(", ")
    ));
    None
}
