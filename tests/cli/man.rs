//! `apim-tune man --out DIR`: one page per command and subcommand, each rendered by `man -l`
//! without a warning.

use std::process::Command;

fn pages(dir: &std::path::Path) -> Vec<String> {
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .args(["man", "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // What it printed is what it wrote.
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            std::path::Path::new(l)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, names);
    names
}

#[test]
fn there_is_a_page_for_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let names = pages(dir.path());
    for page in [
        "apim-tune.1",
        "apim-tune-audit.1",
        "apim-tune-rollback.1",
        "apim-tune-backups.1",
        "apim-tune-host.1",
        "apim-tune-rules.1",
        "apim-tune-explain.1",
        "apim-tune-validate.1",
        "apim-tune-db.1",
        "apim-tune-db-audit.1",
        "apim-tune-db-clean.1",
        "apim-tune-fleet-merge.1",
        "apim-tune-completions.1",
        "apim-tune-man.1",
    ] {
        assert!(names.iter().any(|n| n == page), "no {page} in {names:?}");
    }
    let audit = std::fs::read_to_string(dir.path().join("apim-tune-audit.1")).unwrap();
    assert!(audit.contains("backup\\-dir"), "{audit}");
}

/// `man -l` renders each page; groff's warnings (`-ww` via `man --warnings`) go to stderr and
/// must be none. `man` is part of CI's packages (.ci/run installs man-db).
#[test]
fn man_renders_every_page_without_warnings() {
    if Command::new("man").arg("--version").output().is_err() {
        crate::skip::skip("`man` is not installed (man-db)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in pages(dir.path()) {
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(dir.path().join(&name))
            .env("MANWIDTH", "80")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = plain(&String::from_utf8_lossy(&out.stdout));
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(stderr.trim().is_empty(), "{name}: warnings:\n{stderr}");
        assert!(
            stdout.contains("NAME"),
            "{name}: rendered nothing:\n{stdout}"
        );
    }
}

/// Rendered text without the overstrikes (`N\x08N` bold, `_\x08x` underline) of a terminal page.
fn plain(s: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in s.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    // After a backspace the next character replaces the popped one.
    out.into_iter().collect()
}

/// Without `--out`, the main page goes to stdout (to pipe into `man -l -`), naming the commands.
#[test]
fn man_without_out_prints_the_main_page() {
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .arg("man")
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH apim-tune 1"), "{page}");
    for sub in ["audit", "rollback", "completions"] {
        assert!(page.contains(sub), "no {sub} in the main page");
    }
}
