//! How reports name files (issue 17): without `--root`, as the user can open them from where
//! the command ran (relative to the current directory when under it, else absolute), never
//! relative to `/` without its slash; with `--root`, relative to it. SARIF and JSON keep
//! root-relative names, SARIF with a `uriBaseId`.

use super::{CliTest, copy_tree, fixtures};
use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// An API-M home (the modern fixture's) in `<tmp>/work/wso2am-4.2.0`.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(
            &fixtures().join("hosts/modern-4.2/opt/wso2am-4.2.0"),
            &dir.path().join("work/wso2am-4.2.0"),
        );
        Home { dir }
    }

    /// Physical, as the audit resolves it (a temporary directory may sit behind a link).
    fn work(&self) -> PathBuf {
        self.dir.path().join("work").canonicalize().unwrap()
    }

    /// `apim-tune audit` of this host (no `--root`) and the home, run from `cwd`.
    fn audit(&self, cwd: &Path, args: &[&str]) -> String {
        let out = Command::cargo_bin("apim-tune")
            .unwrap()
            .env_remove("JAVA_HOME")
            .env_remove("APIM_HOME")
            .env_remove("CARBON_HOME")
            .current_dir(cwd)
            .arg("audit")
            .arg("--apim-home")
            .arg(self.work().join("wso2am-4.2.0"))
            .args([
                "--java-version",
                "17",
                "--color",
                "never",
                "--fail-on",
                "never",
            ])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }
}

/// Every place `name` (an absolute path) appears in `out` relative to `/`, slash dropped.
fn slashless(out: &str, name: &Path) -> Vec<String> {
    let rel = name.to_str().unwrap().trim_start_matches('/');
    out.match_indices(rel)
        .filter(|(i, _)| *i == 0 || out.as_bytes()[i - 1] != b'/')
        .map(|(i, _)| out[i.saturating_sub(40)..(i + rel.len() + 20).min(out.len())].to_string())
        .collect()
}

#[test]
fn without_root_names_are_relative_to_the_current_directory() {
    let home = Home::new();
    let cwd = home.work();
    let text = home.audit(&cwd, &[]);
    assert!(
        text.contains("--> wso2am-4.2.0/repository/conf/deployment.toml:"),
        "{text}"
    );
    assert!(
        text.contains("--> wso2am-4.2.0/bin/api-manager.sh:"),
        "{text}"
    );
    // A fix hint names the file the same way.
    assert!(
        text.contains("to wso2am-4.2.0/repository/conf/deployment.toml)"),
        "{text}"
    );
    assert!(
        text.contains("  api-m    wso2am-4.2.0 (--apim-home)"),
        "{text}"
    );
    let concise = home.audit(&cwd, &["--concise"]);
    assert!(
        concise
            .lines()
            .any(|l| l.starts_with("wso2am-4.2.0/bin/api-manager.sh:4:")),
        "{concise}"
    );
    // SARIF's URIs stay root-relative (with their base); its messages name files as the text
    // does (found in review of issue 17: a fix's "which adds … to work/…").
    let sarif: serde_json::Value =
        serde_json::from_str(&home.audit(&cwd, &["--format", "sarif"])).unwrap();
    let messages: String = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}\n", r["message"]["text"].as_str().unwrap()))
        .collect();
    assert!(messages.contains("to wso2am-4.2.0/"), "{messages}");
    for (format, out) in [
        ("text", &text),
        ("concise", &concise),
        ("sarif messages", &messages),
        ("markdown", &home.audit(&cwd, &["--format", "markdown"])),
        ("junit", &home.audit(&cwd, &["--format", "junit"])),
    ] {
        assert_eq!(slashless(out, &cwd), Vec::<String>::new(), "{format}");
        // No file of the host is named relative to `/` either (`etc/…`, `proc/…`).
        for top in ["etc/", "proc/", "sys/"] {
            let bad: Vec<_> = out
                .match_indices(top)
                .filter(|(i, _)| {
                    *i == 0 || {
                        let p = out.as_bytes()[i - 1];
                        !(p == b'/' || p.is_ascii_alphanumeric() || p == b'.' || p == b'-')
                    }
                })
                .map(|(i, _)| &out[i.saturating_sub(30)..(i + 30).min(out.len())])
                .collect();
            assert!(bad.is_empty(), "{format}: {bad:?}");
        }
    }
}

#[test]
fn without_root_names_outside_the_current_directory_are_absolute() {
    let home = Home::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let text = home.audit(elsewhere.path(), &[]);
    let abs = home
        .work()
        .join("wso2am-4.2.0/repository/conf/deployment.toml");
    assert!(text.contains(&format!("--> {}:", abs.display())), "{text}");
    assert_eq!(slashless(&text, &home.work()), Vec::<String>::new());
}

#[test]
fn with_root_names_are_relative_to_it() {
    let t = CliTest::new("modern-4.2");
    let (_, sarif, _) = t.run(
        Some("wso2am-4.2.0"),
        &["--java-version", "17", "--format", "sarif"],
    );
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let base = &sarif["runs"][0]["originalUriBaseIds"]["ROOT"];
    assert!(
        base.get("uri").is_none(),
        "a --root is not known to the viewer: {base}"
    );
    let (_, out, _) = t.run(Some("wso2am-4.2.0"), &["--java-version", "17"]);
    assert!(
        out.contains("--> opt/wso2am-4.2.0/repository/conf/deployment.toml:"),
        "{out}"
    );
    assert!(
        out.contains("to opt/wso2am-4.2.0/repository/conf/deployment.toml)"),
        "{out}"
    );
}

/// SARIF's URIs and JSON's `file` stay root-relative: they are identities (waivers,
/// baselines, the facts export a fleet merges, code scanning's `uriBaseId`), the same from any
/// directory.
#[test]
fn machine_formats_keep_root_relative_names() {
    let home = Home::new();
    let cwd = home.work();
    let stored = cwd
        .join("wso2am-4.2.0/repository/conf/deployment.toml")
        .to_str()
        .unwrap()
        .trim_start_matches('/')
        .to_string();
    let json: serde_json::Value =
        serde_json::from_str(&home.audit(&cwd, &["--format", "json"])).unwrap();
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["file"] == stored.as_str()),
        "{json:#}"
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&home.audit(&cwd, &["--format", "sarif"])).unwrap();
    // The base is `/`, which a viewer resolves without knowing where the audit ran.
    assert_eq!(
        sarif["runs"][0]["originalUriBaseIds"]["ROOT"]["uri"],
        "file:///"
    );
    let locations = sarif.to_string();
    assert!(
        locations.contains(&format!("{{\"uri\":\"{stored}\",\"uriBaseId\":\"ROOT\"}}"))
            || locations.contains(&format!("{{\"uriBaseId\":\"ROOT\",\"uri\":\"{stored}\"}}")),
        "{locations}"
    );
}

/// `host` names where each fact came from the same way.
#[test]
fn host_names_its_sources_as_the_user_can_open_them() {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("apim-tune")
        .unwrap()
        .current_dir(cwd.path())
        .arg("host")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("(/proc/sys/kernel/osrelease)"),
        "this host's kernel comes from /proc: {text}"
    );
    for slashless in ["(proc/", "(etc/", "(sys/", " proc/", " etc/"] {
        assert!(!text.contains(slashless), "{slashless}: {text}");
    }
    let t = CliTest::new("systemd-unit");
    let out = t.command("host", None, &[]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("(proc/sys/kernel/osrelease)"), "{text}");
    assert!(
        text.contains("LimitNOFILE=4096 (etc/systemd/system/wso2am.service:11:13)"),
        "{text}"
    );
}

/// A file the user names from the current directory stays as given, even when its first
/// component is also a directory of `/` (`--waivers etc/waivers.toml` in a checkout).
#[test]
fn files_given_on_the_command_line_are_named_as_given() {
    let home = Home::new();
    let cwd = home.work();
    std::fs::create_dir(cwd.join("etc")).unwrap();
    std::fs::write(
        cwd.join("etc/waivers.toml"),
        "[[waiver]]\ncode = \"SYS010\"\nsubject = \"sysctl:no.such.key\"\nreason = \"nothing matches this\"\n",
    )
    .unwrap();
    let text = home.audit(&cwd, &["--waivers", "etc/waivers.toml"]);
    assert!(text.contains("--> etc/waivers.toml:1:1"), "{text}");
    assert!(!text.contains("/etc/waivers.toml"), "{text}");
}
