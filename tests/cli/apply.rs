//! `--diff`, `--apply`, `rollback`, `backups` through the real binary on the fake roots.

use super::{CliTest, codes_of};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Every file under the root except apim-tune's own backups and lock, as bytes.
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if rel.starts_with("var/backups") || rel.starts_with("var/lib/apim-tune") {
                continue;
            }
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                walk(&p, root, out);
            } else if meta.is_file() {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The same scenario in two roots. Their datasource passwords stay: a secret line is never a
/// diff's context, so the hunks around it still apply with `patch` (issue 17).
fn pair(scenario: &str) -> (CliTest, CliTest) {
    (CliTest::new(scenario), CliTest::new(scenario))
}

const EPOCH: &str = "1795326481";

fn apply(t: &CliTest, home: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["--apply", "--yes", "--java-version", "17"];
    args.extend_from_slice(extra);
    let out = t
        .audit(Some(home), &args)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn diff(t: &CliTest, home: &str) -> (i32, String) {
    let out = t
        .audit(Some(home), &["--diff", "--java-version", "17"])
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn diff_then_patch_equals_apply() {
    for (scenario, home) in [
        ("legacy-2.6", "wso2am-2.6.0"),
        ("modern-4.2", "wso2am-4.2.0"),
    ] {
        let (a, b) = pair(scenario);
        let (code, patchfile) = diff(&a, home);
        assert_eq!(code, 1, "{scenario}: --diff exits 1 when there are changes");
        assert!(
            patchfile.contains("--- a/") && patchfile.contains("+++ b/"),
            "{patchfile}"
        );
        let out = std::process::Command::new("patch")
            .args(["-p1", "-s", "-d"])
            .arg(&a.root)
            .stdin(
                std::fs::File::open({
                    let p = a.dir.path().join("changes.diff");
                    std::fs::write(&p, &patchfile).unwrap();
                    p
                })
                .unwrap(),
            )
            .output()
            .expect("the `patch` program (Debian package `patch`)");
        assert!(
            out.status.success(),
            "patch failed: {}\n{patchfile}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (code, stdout, stderr) = apply(&b, home, &[]);
        assert!(code == 0 || code == 1, "{stdout}{stderr}");
        assert_eq!(
            files(&a.root),
            files(&b.root),
            "{scenario}: patch and --apply differ"
        );
    }
}

#[test]
fn apply_converges_and_a_second_apply_is_a_no_op() {
    for (scenario, home) in [
        ("legacy-2.6", "wso2am-2.6.0"),
        ("modern-4.2", "wso2am-4.2.0"),
    ] {
        let t = CliTest::new(scenario);
        let (_, stdout, stderr) = apply(&t, home, &["--format", "json"]);
        let v: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
        let left: Vec<_> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["fixable"] == true)
            .map(|f| format!("{} {}", f["code"], f["subject"]))
            .collect();
        assert!(
            left.is_empty(),
            "{scenario}: fixable findings remain after --apply: {left:?}\n{stderr}"
        );
        let backups = std::fs::read_dir(t.root.join("var/backups/apim-tune"))
            .unwrap()
            .count();
        let before = files(&t.root);
        let (_, stdout, _) = apply(&t, home, &[]);
        assert!(stdout.contains("nothing to change"), "{stdout}");
        assert_eq!(
            files(&t.root),
            before,
            "{scenario}: the second apply changed something"
        );
        let after = std::fs::read_dir(t.root.join("var/backups/apim-tune"))
            .unwrap()
            .count();
        assert_eq!(after, backups, "{scenario}: the second apply made a backup");
    }
}

#[test]
fn rollback_restores_every_byte() {
    let t = CliTest::new("legacy-2.6");
    let before = files(&t.root);
    let (code, _, stderr) = apply(&t, "wso2am-2.6.0", &[]);
    assert!(code == 0 || code == 1, "{stderr}");
    assert_ne!(files(&t.root), before);
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .args(["backups", "--root"])
        .arg(&t.root)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("20261122T054801Z"), "{listing}");
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .args(["rollback", "--root"])
        .arg(&t.root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files(&t.root), before, "rollback left a difference");
}

#[test]
fn rollback_refuses_a_file_changed_since_the_apply() {
    let t = CliTest::new("modern-4.2");
    apply(&t, "wso2am-4.2.0", &[]);
    let toml = t
        .root
        .join("opt/wso2am-4.2.0/repository/conf/deployment.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str("# edited by hand after the apply\n");
    std::fs::write(&toml, &text).unwrap();
    let run = |force: bool| {
        let mut cmd = assert_cmd::Command::cargo_bin("apim-tune").unwrap();
        cmd.args(["rollback", "--root"]).arg(&t.root);
        if force {
            cmd.arg("--force");
        }
        cmd.output().unwrap()
    };
    let out = run(false);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&toml).unwrap(),
        text,
        "nothing restored on refusal"
    );
    assert!(run(true).status.success());
    assert!(
        !std::fs::read_to_string(&toml)
            .unwrap()
            .contains("edited by hand")
    );
}

#[test]
fn mode_and_crlf_survive() {
    let t = CliTest::new("legacy-2.6");
    let props = t
        .root
        .join("opt/wso2am-2.6.0/repository/conf/passthru-http.properties");
    std::fs::set_permissions(&props, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::read_to_string(&props).unwrap();
    apply(&t, "wso2am-2.6.0", &[]);
    let after = std::fs::read_to_string(&props).unwrap();
    assert_ne!(before, after, "the file was meant to change");
    assert_eq!(
        std::fs::metadata(&props).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(
        after.matches('\n').count(),
        after.matches("\r\n").count(),
        "every line still ends in CRLF:\n{after:?}"
    );
    assert!(after.contains("worker_pool_size_core=400\r\n"), "{after:?}");
}

#[test]
fn malformed_files_are_reported_and_left_untouched() {
    let t = CliTest::new("broken");
    let broken = [
        "etc/sysctl.d/20-broken.conf",
        "etc/sysctl.d/30-latin1.conf",
        "etc/security/limits.d/20-broken.conf",
        "opt/apim/repository/conf/deployment.toml",
        "opt/apim/bin/api-manager.sh",
    ];
    let before: Vec<_> = broken
        .iter()
        .map(|p| std::fs::read(t.root.join(p)).unwrap())
        .collect();
    let (_, v) = t.json(Some("apim"), &["--apply", "--yes"]);
    assert!(codes_of(&v).contains(&"SRC002".to_string()));
    let after: Vec<_> = broken
        .iter()
        .map(|p| std::fs::read(t.root.join(p)).unwrap())
        .collect();
    // 20-broken.conf has a valid line that is fixed in place (fin_timeout 120 → 30); its
    // malformed line must be byte-identical. The other files must not change at all.
    let sysctl = String::from_utf8(after[0].clone()).unwrap();
    assert!(sysctl.contains("net.core.somaxconn 4096\n"), "{sysctl}");
    assert_eq!(before[1..], after[1..]);
}

#[test]
fn a_crash_between_temp_write_and_rename_leaves_every_original() {
    let t = CliTest::new("legacy-2.6");
    let before = files(&t.root);
    let out = t
        .audit(Some("wso2am-2.6.0"), &["--apply", "--yes"])
        // The third file fails: the two already written must be restored.
        .env("APIM_TUNE_FAILPOINT", "after-temp-write:3")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        files(&t.root),
        before,
        "a file changed or a temp file was left behind"
    );
}

#[test]
fn apply_needs_yes_off_a_terminal_and_live_needs_the_real_root() {
    let t = CliTest::new("legacy-2.6");
    let before = files(&t.root);
    let (code, _, err) = t.run(Some("wso2am-2.6.0"), &["--apply"]);
    assert_eq!(code, 2);
    assert!(err.contains("--yes"), "{err}");
    let (code, _, err) = t.run(Some("wso2am-2.6.0"), &["--apply", "--yes", "--live"]);
    assert_eq!(code, 2);
    assert!(err.contains("--root"), "{err}");
    assert_eq!(files(&t.root), before);
}

#[test]
fn diff_is_empty_and_exits_0_when_nothing_would_change() {
    let t = CliTest::new("tuned-4.2");
    let (code, out, _) = t.run(
        Some("wso2am-4.2.0"),
        &["--diff", "--role", "gateway", "--java-version", "17"],
    );
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn diff_masks_secrets_and_names_files_relative_to_the_root() {
    let t = CliTest::new("legacy-2.6");
    let (_, d) = diff(&t, "wso2am-2.6.0");
    assert!(!d.contains("legacy-fixture-password"), "{d}");
    // The datasource password next to a change is not the hunk's context, not even masked:
    // the hunk stops before it and still applies (issue 17).
    assert!(!d.contains("****") && !d.contains("masked"), "{d}");
    assert!(
        d.contains("--- a/opt/wso2am-2.6.0/repository/conf/datasources/master-datasources.xml"),
        "{d}"
    );
    // somaxconn is not persisted anywhere: a new drop-in that sorts after 99-sysctl.conf.
    assert!(
        d.contains("--- /dev/null\n+++ b/etc/sysctl.d/99-zz-apim-tune.conf"),
        "{d}"
    );
    // The API-M user is `*` here (no user found): the winning `*` lines are edited in place.
    assert!(d.contains("+*       hard    nproc   20000"), "{d}");
    crate::in_snapshots! { insta::assert_snapshot!("legacy_diff", d); }
}

#[test]
fn a_dash_line_gets_one_value_that_satisfies_soft_and_hard() {
    // See: review of issue 3 — two splices into one `-` line garbled it.
    let t = CliTest::new("modern-4.2");
    std::fs::write(
        t.root.join("etc/security/limits.d/wso2.conf"),
        "# test\nwso2carbon  -  nofile  1024\nwso2carbon  -  nproc  100\n",
    )
    .unwrap();
    apply(&t, "wso2am-4.2.0", &[]);
    let text = std::fs::read_to_string(t.root.join("etc/security/limits.d/wso2.conf")).unwrap();
    assert_eq!(
        text,
        "# test\nwso2carbon  -  nofile  65535\nwso2carbon  -  nproc  20000\n"
    );
    let (_, v) = t.json(Some("wso2am-4.2.0"), &["--java-version", "17"]);
    assert!(!codes_of(&v).iter().any(|c| c.starts_with("LIM")), "{v:#}");
}

#[test]
fn a_link_into_a_vendor_file_is_not_edited_and_diffs_name_real_files() {
    let (a, b) = pair("modern-4.2");
    for t in [&a, &b] {
        std::fs::create_dir_all(t.root.join("usr/lib/sysctl.d")).unwrap();
        std::fs::write(
            t.root.join("usr/lib/sysctl.d/60-vendor.conf"),
            "net.core.somaxconn = 128\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(
            "../../usr/lib/sysctl.d/60-vendor.conf",
            t.root.join("etc/sysctl.d/60-vendor.conf"),
        )
        .unwrap();
    }
    let (_, patchfile) = diff(&a, "wso2am-4.2.0");
    assert!(
        !patchfile.contains("60-vendor.conf"),
        "a package file is not ours to edit:\n{patchfile}"
    );
    assert!(
        patchfile.contains("+net.core.somaxconn = 4096"),
        "{patchfile}"
    );
    apply(&b, "wso2am-4.2.0", &[]);
    assert_eq!(
        std::fs::read_to_string(b.root.join("usr/lib/sysctl.d/60-vendor.conf")).unwrap(),
        "net.core.somaxconn = 128\n"
    );
}

#[test]
fn credentials_in_urls_are_masked_in_the_diff() {
    let t = CliTest::new("modern-4.2");
    let toml = t
        .root
        .join("opt/wso2am-4.2.0/repository/conf/deployment.toml");
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "jdbc:postgresql://db.example.internal:5432/apim",
        "jdbc:postgresql://db.example.internal:5432/apim?user=apim&password=Hunter2Secret",
    );
    std::fs::write(&toml, text).unwrap();
    let (_, d) = diff(&t, "wso2am-4.2.0");
    assert!(
        d.contains("validationQuery"),
        "the hunk near the URL is shown:\n{d}"
    );
    assert!(!d.contains("Hunter2Secret"), "{d}");
}

#[test]
fn paths_relate_to_the_root_however_they_are_spelled() {
    // A relative --root with an absolute --apim-home still gives root-relative diff headers.
    let t = CliTest::new("legacy-2.6");
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .current_dir(t.dir.path())
        .args(["audit", "--root", "root", "--apim-home"])
        .arg(t.root.join("opt/wso2am-2.6.0"))
        .args(["--diff", "--java-version", "17"])
        .output()
        .unwrap();
    let d = String::from_utf8_lossy(&out.stdout);
    assert!(
        d.contains("--- a/opt/wso2am-2.6.0/repository/conf/carbon.xml"),
        "{d}"
    );
}

fn record(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn record_says_what_diff_planned_and_apply_did() {
    let t = CliTest::new("systemd-unit");
    let rec = t.root.parent().unwrap().join("record.json");
    let rec_arg = rec.to_str().unwrap();
    let out = t
        .audit(
            Some("wso2am-4.2.0"),
            &["--diff", "--java-version", "17", "--record", rec_arg],
        )
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let planned = record(&rec);
    assert_eq!(planned["schema"], "apim-tune/apply/v1");
    assert_eq!(planned["mode"], "diff");
    assert_eq!(planned["changed"], true, "{planned}");
    // The record carries the very diff --diff prints, and names no backup: nothing was written.
    assert_eq!(planned["diff"].as_str(), Some(printed.as_str()));
    assert!(planned["backup"].is_null());
    let files: Vec<&str> = planned["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert!(files.iter().all(|f| !f.starts_with('/')), "{files:?}");

    let (code, _, stderr) = apply(&t, "wso2am-4.2.0", &["--record", rec_arg]);
    assert!(code == 0 || code == 1, "{stderr}");
    let done = record(&rec);
    assert_eq!(done["mode"], "apply");
    assert_eq!(done["changes"], planned["changes"]);
    let id = done["backup"].as_str().expect("a backup id");
    assert!(
        t.root.join("var/backups/apim-tune").join(id).is_dir(),
        "backup `{id}` is not in var/backups/apim-tune"
    );
    let effects: Vec<&str> = done["effects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    assert!(!effects.is_empty(), "{done}");
    // Only a restart effect names units to restart, and then the unit that runs this home.
    if effects.contains(&"restart_apim") || effects.contains(&"restart_service") {
        assert_eq!(
            done["units"],
            serde_json::json!(["wso2am.service"]),
            "{done}"
        );
    } else {
        assert_eq!(done["units"], serde_json::json!([]), "{done}");
    }

    // Converged: the next apply records no change and no backup.
    apply(&t, "wso2am-4.2.0", &["--record", rec_arg]);
    let again = record(&rec);
    assert_eq!(
        (again["changed"].clone(), again["backup"].clone()),
        (serde_json::json!(false), serde_json::Value::Null),
        "{again}"
    );
}

#[test]
fn record_never_holds_a_secret_and_needs_diff_or_apply() {
    let t = CliTest::new("legacy-2.6");
    let rec = t.root.parent().unwrap().join("record.json");
    let rec_arg = rec.to_str().unwrap();
    t.audit(
        Some("wso2am-2.6.0"),
        &["--diff", "--java-version", "17", "--record", rec_arg],
    )
    .output()
    .unwrap();
    let text = std::fs::read_to_string(&rec).unwrap();
    assert!(text.contains("master-datasources.xml"), "{text}");
    assert!(!text.contains("legacy-fixture-password"), "{text}");

    let out = t
        .audit(Some("wso2am-2.6.0"), &["--record", rec_arg])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--record writes what --diff or --apply"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
