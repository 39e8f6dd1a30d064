//! `--apply` and `rollback` against a hostile or careless root, through the real binary:
//! planted symlinks, a manifest naming paths outside the root, a racing writer, a killed apply
//! that left a temp file, two applies at once, and a new file that holds a secret.

use super::CliTest;
use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::time::{Duration, Instant};

const HOME: &str = "wso2am-2.6.0";
const ARGS: &[&str] = &["--apply", "--yes", "--java-version", "17"];

/// Every regular file and link under `dir` (not apim-tune's backups or lock), with its bytes
/// (a link: its target).
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().to_path_buf();
            if rel.starts_with("var/backups") || rel.starts_with("var/lib/apim-tune") {
                continue;
            }
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                walk(&p, base, out);
            } else if meta.is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                out.insert(rel, target.as_os_str().as_encoded_bytes().to_vec());
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Every entry under `dir`, backups included: what an escape would have left.
fn everything(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries {
            let p = e.unwrap().path();
            if std::fs::symlink_metadata(&p).unwrap().is_dir() {
                out.extend(everything(&p));
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    everything(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".apim-tune-tmp."))
        .collect()
}

fn text(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn apply(t: &CliTest, extra: &[&str]) -> (i32, String, String) {
    let mut args = ARGS.to_vec();
    args.extend_from_slice(extra);
    text(&t.audit(Some(HOME), &args).output().unwrap())
}

fn rollback(t: &CliTest, extra: &[&str]) -> (i32, String, String) {
    text(&t.command("rollback", None, extra).output().unwrap())
}

/// A directory next to the root, where nothing may ever land.
fn outside(t: &CliTest) -> PathBuf {
    let dir = t.dir.path().join("outside");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_symlinked_backup_dir_is_refused_and_nothing_lands_outside() {
    let t = CliTest::new("legacy-2.6");
    let out = outside(&t);
    let before = files(&t.root);
    std::fs::create_dir_all(t.root.join("var")).unwrap();
    symlink(&out, t.root.join("var/backups")).unwrap();
    let (code, stdout, stderr) = apply(&t, &[]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("var/backups` is a symbolic link")
            && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert!(everything(&out).is_empty(), "{:?}", everything(&out));
    assert_eq!(files(&t.root), before);
    // "Nothing was written" holds: the refusal comes before the lock and its directory.
    assert!(!t.root.join("var/lib").exists());
    let (code, _, stderr) = rollback(&t, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");

    // The same through --backup-dir: a link as the backup directory itself.
    std::fs::remove_file(t.root.join("var/backups")).unwrap();
    let link = t.dir.path().join("backups-link");
    symlink(&out, &link).unwrap();
    let (code, _, stderr) = apply(&t, &["--backup-dir", link.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("backups-link` is a symbolic link"),
        "{stderr}"
    );
    assert!(everything(&out).is_empty(), "{:?}", everything(&out));
    assert_eq!(files(&t.root), before);
}

#[test]
fn a_relative_backup_dir_with_dot_dot_works_from_a_subdirectory() {
    // `cd SUB && apim-tune audit --root ../root --apply --yes --backup-dir ../bk`: the `..` a
    // user types is resolved, not refused.
    let t = CliTest::new("legacy-2.6");
    let before = files(&t.root);
    let sub = t.dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("apim-tune"));
        cmd.env_remove("JAVA_HOME")
            .env_remove("APIM_HOME")
            .env_remove("CARBON_HOME")
            .current_dir(&sub)
            .args(args)
            .args(["--root", "../root", "--backup-dir", "../bk"]);
        text(&cmd.output().unwrap())
    };
    let mut args = vec!["audit", "--color", "never", "--apim-home"];
    let home = format!("../root/opt/{HOME}");
    args.push(&home);
    args.extend_from_slice(ARGS);
    let (code, stdout, stderr) = run(&args);
    assert!(code == 0 || code == 1, "{stdout}{stderr}");
    assert!(stdout.contains("applied "), "{stdout}");
    assert_ne!(files(&t.root), before, "the apply changed nothing");
    let bk = t.dir.path().join("bk");
    let folders: Vec<_> = std::fs::read_dir(&bk)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    assert!(folders[0].join("manifest.json").is_file());
    assert!(!sub.join("bk").exists() && !t.root.join("var/backups").exists());

    let (code, stdout, stderr) = run(&["rollback", "--apim-home", &home]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(files(&t.root), before);
}

#[test]
fn a_planted_rolled_back_link_makes_rollback_refuse_without_writing_through_it() {
    let t = CliTest::new("legacy-2.6");
    let (out, applied, folder) = applied_once(&t);
    let pwned = out.join("pwned");
    symlink(&pwned, folder.join("rolled-back")).unwrap();
    let (code, _, stderr) = rollback(&t, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("rolled-back` is not a regular file"),
        "{stderr}"
    );
    assert!(!pwned.exists() && everything(&out).is_empty());
    assert_eq!(files(&t.root), applied, "nothing restored on refusal");
}

#[test]
fn a_manifest_naming_paths_outside_the_root_is_refused() {
    let t = CliTest::new("legacy-2.6");
    let (out, applied, folder) = applied_once(&t);
    let manifest_path = folder.join("manifest.json");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let victim = out.join("victim.conf");
    std::fs::write(&victim, b"keep me\n").unwrap();
    let victim_dir = out.join("victim-dir");
    std::fs::create_dir(&victim_dir).unwrap();
    let new_entry = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .position(|f| f["existed"] == false)
        .expect("the apply created the sysctl drop-in");
    let root = t.root.canonicalize().unwrap();
    let tampered: Vec<serde_json::Value> = vec![
        // An existing file's path outside the root.
        {
            let mut m = manifest.clone();
            m["files"][0]["path"] = victim.to_str().unwrap().into();
            m
        },
        // The same reached with `..` from inside the root.
        {
            let mut m = manifest.clone();
            m["files"][0]["path"] =
                format!("{}/etc/../../outside/victim.conf", root.display()).into();
            m
        },
        // A created directory outside the root, for a new file.
        {
            let mut m = manifest.clone();
            m["files"][new_entry]["created_dirs"] =
                serde_json::json!([victim_dir.to_str().unwrap()]);
            m
        },
    ];
    for m in tampered {
        std::fs::remove_file(&manifest_path).unwrap();
        std::fs::write(&manifest_path, serde_json::to_vec(&m).unwrap()).unwrap();
        let (code, _, stderr) = rollback(&t, &["--force"]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("outside the allowed directories") || stderr.contains("is not valid"),
            "{stderr}"
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me\n");
        assert!(victim_dir.is_dir());
        assert_eq!(files(&t.root), applied, "nothing restored on refusal");
    }
}

/// A frozen apply, killed when dropped so a failing test leaves no stopped process behind.
struct Frozen(Option<Child>);

impl Frozen {
    fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        if let Some(child) = self.0.take() {
            kill(child);
        }
    }
}

/// Starts an apply that stops itself (SIGSTOP) after writing the temp file of its `n`-th file,
/// holding the lock, and waits until it is stopped.
fn frozen_apply(t: &CliTest, n: usize) -> Frozen {
    stopped_apply(t, &format!("stop-after-temp-write:{n}"), false)
}

/// Starts an apply with `failpoint` (one that stops the process) and waits until it is
/// stopped; with `capture`, its stdout and stderr are piped for the test to read.
fn stopped_apply(t: &CliTest, failpoint: &str, capture: bool) -> Frozen {
    let stdio = || {
        if capture {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        }
    };
    let mut cmd = t.std_command("audit", Some(HOME), ARGS);
    cmd.args(["--color", "never"])
        .env("APIM_TUNE_FAILPOINT", failpoint)
        .stdout(stdio())
        .stderr(stdio());
    let frozen = Frozen(Some(cmd.spawn().unwrap()));
    let stat = PathBuf::from(format!("/proc/{}/stat", frozen.id()));
    let start = Instant::now();
    loop {
        let state = std::fs::read_to_string(&stat).unwrap_or_default();
        // The state follows the `(comm)` field.
        if state
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('T'))
        {
            return frozen;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the apply never reached its failpoint: {state}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(mut child: Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
}

#[test]
fn a_running_apply_locks_the_root_whatever_the_backup_dir_and_the_lock_dies_with_it() {
    let t = CliTest::new("legacy-2.6");
    let before = files(&t.root);
    let child = frozen_apply(&t, 2);
    let pid = child.id();
    // Its temp file holds the whole new file, secrets included: never more open than the
    // file it replaces (created 0600, given the target's mode just before the swap).
    let temps = temp_files(&t.root);
    assert_eq!(temps.len(), 1, "{temps:?}");
    let name = temps[0].file_name().unwrap().to_string_lossy().into_owned();
    let suffix = format!(".apim-tune-tmp.{pid}");
    assert!(
        name.starts_with('.') && name.ends_with(&suffix),
        "{temps:?}"
    );
    let target = temps[0].with_file_name(&name[1..name.len() - suffix.len()]);
    let mode_of = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode_of(&temps[0]), mode_of(&target), "{temps:?}");

    let elsewhere = t.dir.path().join("other-backups");
    let (code, _, stderr) = apply(&t, &["--backup-dir", elsewhere.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "another apim-tune apply or rollback (pid {pid}) holds the lock"
        )),
        "{stderr}"
    );
    assert!(
        !stderr
            .lines()
            .any(|l| l.contains("lock") && l.contains("remove")),
        "never told to remove a live lock: {stderr}"
    );
    assert!(!elsewhere.exists());
    let (code, _, stderr) = rollback(&t, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("holds the lock"), "{stderr}");

    // Killed as an OOM kill would: the lock goes with it, the temp file stays until the
    // rollback removes it; the file it had already written is restored.
    drop(child);
    assert_eq!(temp_files(&t.root).len(), 1);
    let (code, stdout, stderr) = rollback(&t, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("a temp file left by an interrupted apply"),
        "{stdout}"
    );
    assert!(temp_files(&t.root).is_empty());
    assert_eq!(files(&t.root), before);
}

#[test]
fn undoing_a_failed_apply_keeps_a_file_another_writer_changed_since() {
    // The apply writes its first file, stops after the temp write of its second, and fails
    // once continued. Meanwhile another writer updates the first file: the undo must not put
    // the original back over that update.
    let t = CliTest::new("legacy-2.6");
    let before = files(&t.root);
    let mut frozen = stopped_apply(&t, "stop-then-fail-after-temp-write:2", true);
    let now = files(&t.root);
    let written: Vec<&PathBuf> = now
        .iter()
        .filter(|(p, bytes)| {
            !p.to_string_lossy().contains(".apim-tune-tmp.") && before.get(*p) != Some(bytes)
        })
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        written.len(),
        1,
        "one file written before the stop: {written:?}"
    );
    let first = t.root.join(written[0]);
    let theirs = format!(
        "{}# another writer's update\n",
        String::from_utf8_lossy(&now[written[0]])
    );
    let staging = first.with_extension("writer");
    std::fs::write(&staging, &theirs).unwrap();
    std::fs::rename(&staging, &first).unwrap();

    let child = frozen.0.take().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGCONT,
    )
    .unwrap();
    let (code, stdout, stderr) = text(&child.wait_with_output().unwrap());
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "1 file(s) were changed by another writer after this apply wrote them and were kept as that writer left them, not restored (`{}`)",
            first.canonicalize().unwrap().display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("every file"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&first).unwrap(), theirs);
    // Everything else is as it was before the apply; no temp file is left.
    let mut expected = before.clone();
    expected.insert(written[0].clone(), theirs.into_bytes());
    assert_eq!(files(&t.root), expected);
    assert!(temp_files(&t.root).is_empty());
    // Not marked rolled back: `rollback` still sees it, and refuses the changed file.
    assert!(!backup_folder(&t).join("rolled-back").exists());
}

#[test]
fn the_next_apply_removes_the_temp_file_a_killed_apply_left() {
    let t = CliTest::new("legacy-2.6");
    drop(frozen_apply(&t, 3));
    let left = temp_files(&t.root);
    assert_eq!(left.len(), 1, "{left:?}");
    let (code, stdout, stderr) = apply(&t, &[]);
    assert!(code == 0 || code == 1, "{stdout}{stderr}");
    let shown = left[0].canonicalize().unwrap_or(left[0].clone());
    assert!(
        stdout.contains(&format!(
            "removed `{}`, a temp file left by an interrupted apply",
            shown.display()
        )),
        "{stdout}"
    );
    assert!(temp_files(&t.root).is_empty());
}

#[test]
fn a_racing_writer_never_loses_its_update() {
    // The writer renames a new version over the target the moment the apply's temp file for it
    // appears (plus a varying delay of up to 2 ms): inside the window between the apply's last
    // check and its rename. Whichever rename lands last, the writer's newest version must be in
    // the final file (as is, or with the apply's edit made on top of it), never overwritten.
    let t = CliTest::new("legacy-2.6");
    let target = t.root.join("etc/sysctl.conf");
    let base = std::fs::read_to_string(&target).unwrap();
    let (mut applied, mut refused, mut raced) = (0, 0, 0);
    for round in 0..16u64 {
        std::fs::write(&target, &base).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (stop, target, base) = (stop.clone(), target.clone(), base.clone());
            std::thread::spawn(move || {
                let etc = target.parent().unwrap().to_path_buf();
                let staging = etc.join("sysctl.conf.writer");
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let seen = std::fs::read_dir(&etc).unwrap().any(|e| {
                        e.unwrap()
                            .file_name()
                            .to_string_lossy()
                            .starts_with(".sysctl.conf.apim-tune-tmp.")
                    });
                    if seen {
                        std::thread::sleep(Duration::from_micros(round * 125));
                        std::fs::write(&staging, format!("{base}# writer {round}\n")).unwrap();
                        std::fs::rename(&staging, &target).unwrap();
                        return true;
                    }
                }
                false
            })
        };
        let (code, stdout, stderr) = apply(&t, &[]);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let wrote = writer.join().unwrap();
        let now = std::fs::read_to_string(&target).unwrap();
        if wrote {
            raced += 1;
            assert!(
                now.contains(&format!("# writer {round}\n")),
                "round {round}: the writer's version was lost:\n{now}\n{stdout}{stderr}"
            );
        }
        match code {
            0 | 1 => applied += 1,
            // Refused before writing (2), or after writing earlier files, which were then
            // restored (3).
            2 | 3 => {
                assert!(stderr.contains("changed since it was read"), "{stderr}");
                refused += 1;
            }
            other => panic!("exit {other}: {stdout}{stderr}"),
        }
        assert!(temp_files(&t.root).is_empty());
    }
    assert!(
        raced > 0,
        "the writer never saw a temp file: the test tested nothing"
    );
    eprintln!("racing writer: {raced} races, {applied} applied, {refused} refused, none lost");
}

#[test]
fn a_new_file_that_holds_a_secret_is_created_owner_only() {
    let drop_in = "etc/systemd/system/wso2am.service.d/zz-apim-tune.conf";
    let unit = "etc/systemd/system/wso2am.service";
    let run = |secret: Option<&str>| {
        let t = CliTest::new("unit-env");
        if let Some(secret) = secret {
            let path = t.root.join(unit);
            let text = std::fs::read_to_string(&path).unwrap().replace(
                "-Xms1g -Xmx1g",
                &format!("-Xms1g -Xmx1g -Dtrust.store.password={secret}"),
            );
            std::fs::write(&path, text).unwrap();
        }
        let out = t
            .audit(Some("wso2am-4.2.0"), &["--apply", "--yes"])
            .output()
            .unwrap();
        let (code, stdout, stderr) = text(&out);
        assert!(code == 0 || code == 1, "{stdout}{stderr}");
        let path = t.root.join(drop_in);
        let content = std::fs::read_to_string(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        (content, mode)
    };
    let (content, mode) = run(None);
    assert!(content.contains("JVM_MEM_OPTS"), "{content}");
    assert_eq!(mode, 0o644, "no secret: readable like any unit file");
    let (content, mode) = run(Some("Dr0pInS3cret"));
    assert!(content.contains("Dr0pInS3cret"), "{content}");
    assert_eq!(mode, 0o600, "it holds a password:\n{content}");
}

/// The one backup folder an apply left under the root's default backup directory.
fn backup_folder(t: &CliTest) -> PathBuf {
    std::fs::read_dir(t.root.join("var/backups/apim-tune"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap()
}

/// A directory outside the root, the root's files after one apply, and that apply's backup
/// folder.
fn applied_once(t: &CliTest) -> (PathBuf, BTreeMap<PathBuf, Vec<u8>>, PathBuf) {
    let out = outside(t);
    let (code, stdout, stderr) = apply(t, &[]);
    assert!(code == 0 || code == 1, "{stdout}{stderr}");
    (out, files(&t.root), backup_folder(t))
}
