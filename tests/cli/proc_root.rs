//! `--root /proc/PID/root`: auditing a container from outside it (or from an ephemeral debug
//! container) through the process's root link.
//!
//! The hazard: for a process in another mount namespace the link reads `/`, so a root that is
//! canonicalised becomes this machine's `/` and the audit silently judges the wrong system. The
//! test makes such a process for real (a mount namespace whose root is pivoted onto a fixture
//! copy, as a container runtime does) and checks that the audit through its link equals the
//! audit of the fixture directory.

use super::CliTest;
use super::skip::skip;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `sleep` whose root is `root`, in its own mount namespace; killed when dropped.
struct Jailed {
    child: Child,
}

impl Drop for Jailed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Jailed {
    fn proc_root(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.child.id()))
    }
}

/// Pivots a fresh mount namespace onto `root` and execs `sleep` from the old root through the
/// dynamic loader (the fixture has no binaries). `None` (with a visible skip) when this machine
/// cannot: not root, no `unshare`, no x86_64 glibc loader.
fn jail(root: &Path) -> Option<Jailed> {
    if !nix_is_root() {
        skip("needs root to make a mount namespace (CI runs as root)");
        return None;
    }
    let Ok(loader) = std::fs::canonicalize("/lib64/ld-linux-x86-64.so.2") else {
        skip("no /lib64/ld-linux-x86-64.so.2 to run sleep inside the pivoted root");
        return None;
    };
    let Ok(sleep) = std::fs::canonicalize("/bin/sleep") else {
        skip("no /bin/sleep");
        return None;
    };
    std::fs::create_dir_all(root.join(".old")).unwrap();
    let r = root.display();
    let script = format!(
        "mount --bind '{r}' '{r}' && cd '{r}' && pivot_root . .old && \
         exec /.old{} --library-path /.old/lib/x86_64-linux-gnu:/.old/usr/lib/x86_64-linux-gnu /.old{} 600",
        loader.display(),
        sleep.display()
    );
    let child = match Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .stdin(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            skip(&format!("cannot run unshare: {e}"));
            return None;
        }
    };
    let jailed = Jailed { child };
    // Pivoted once the fixture's own README shows through the link (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !jailed.proc_root().join("README.md").is_file() {
        assert!(
            Instant::now() < deadline,
            "the jailed process never pivoted onto {r}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(jailed)
}

fn nix_is_root() -> bool {
    // `id -u` rather than a libc call: the CLI tests depend on no libc crate.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn audit_json(root: &Path, home: &Path) -> serde_json::Value {
    let out = Command::new(assert_cmd::cargo::cargo_bin("apim-tune"))
        .env_remove("JAVA_HOME")
        .env_remove("APIM_HOME")
        .env_remove("CARBON_HOME")
        .args([
            "audit",
            "--java-version",
            "17",
            "--format",
            "json",
            "--root",
        ])
        .arg(root)
        .arg("--apim-home")
        .arg(home)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// What a finding says, without the home's absolute path (which names how it was reached).
fn said(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {} {}",
                f["code"], f["file"], f["line"], f["subject"], f["current"], f["message"]
            )
        })
        .collect()
}

#[test]
fn a_container_is_audited_through_its_root_link_not_this_machine() {
    let t = CliTest::new("systemd-unit");
    let Some(jailed) = jail(&t.root) else {
        return;
    };
    let link = jailed.proc_root();
    // The hazard is real here: the link reads `/`.
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/"));

    let through = audit_json(&link, &link.join("opt/wso2am-4.2.0"));
    let direct = audit_json(&t.root, &t.root.join("opt/wso2am-4.2.0"));
    assert!(!said(&direct).is_empty());
    assert_eq!(said(&through), said(&direct));
    // Host facts come from the container's files, never from this machine.
    assert_eq!(through["host"]["cores"], direct["host"]["cores"]);
    assert_eq!(through["host"]["memory_mb"], direct["host"]["memory_mb"]);
    // Every path is relative to the container's root, none names the link it was reached by.
    let via_link = format!("proc/{}/", jailed.child.id());
    for f in through["findings"].as_array().unwrap() {
        if let Some(file) = f["file"].as_str() {
            assert!(
                !file.starts_with('/') && !file.starts_with(&via_link),
                "{file}"
            );
        }
    }

    // --diff through the link is the diff of the directory; --apply refuses, writing nothing.
    let diff = |root: &Path, extra: &str| {
        let out = Command::new(assert_cmd::cargo::cargo_bin("apim-tune"))
            .args(["audit", "--java-version", "17", extra, "--root"])
            .arg(root)
            .arg("--apim-home")
            .arg(root.join("opt/wso2am-4.2.0"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (_, via_link_diff, _) = diff(&link, "--diff");
    let (_, direct_diff, _) = diff(&t.root, "--diff");
    assert!(!direct_diff.is_empty());
    assert_eq!(via_link_diff, direct_diff);
    let before = std::fs::read_dir(t.root.join("etc/systemd/system"))
        .unwrap()
        .count();
    let out = Command::new(assert_cmd::cargo::cargo_bin("apim-tune"))
        .args([
            "audit",
            "--java-version",
            "17",
            "--apply",
            "--yes",
            "--root",
        ])
        .arg(&link)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("does not write through a process's root link"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = std::fs::read_dir(t.root.join("etc/systemd/system"))
        .unwrap()
        .count();
    assert_eq!(before, after);
    assert!(!t.root.join("var").exists());
}
