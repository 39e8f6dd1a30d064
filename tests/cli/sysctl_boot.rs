//! Kernel parameters as boot loads them (issue 13): the value that wins is systemd-sysctl's,
//! `/etc/sysctl.conf` counts only through a `99-sysctl.conf` link on any distribution, and what a
//! finding says its fix writes (JSON `fix`, SARIF, text) is what `--diff` and `--apply` write:
//! apim-tune's drop-in in /etc/sysctl.d, never a file in /run (lost at reboot) or /usr/lib (a
//! package's). The systemd oracle for the reading itself is `tests/systemd_oracle.rs`.

use super::{CliTest, codes_of};
use serde_json::Value;
use std::collections::BTreeSet;

const DROP_IN: &str = "etc/sysctl.d/99-zz-apim-tune.conf";

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().expect("findings")
}

fn finding<'a>(v: &'a Value, code: &str, subject: &str) -> &'a Value {
    findings(v)
        .iter()
        .find(|f| f["code"] == code && f["subject"] == subject)
        .unwrap_or_else(|| panic!("no {code} {subject} in {v:#}"))
}

/// The files a unified diff writes (`+++ b/PATH`).
fn diff_files(diff: &str) -> BTreeSet<String> {
    diff.lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(str::to_string)
        .collect()
}

/// The files the JSON fixes of the fixable findings name: every file `--apply` would write.
fn fix_files(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in findings(v).iter().filter(|f| f["fixable"] == true) {
        let fix = &f["fix"];
        out.insert(
            fix["file"]
                .as_str()
                .expect("a fix names its file")
                .to_string(),
        );
        if fix["kind"] == "move" {
            out.insert(fix["from"]["file"].as_str().expect("from").to_string());
        }
    }
    out
}

fn diff(t: &CliTest) -> String {
    let out = t.audit(None, &["--diff"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What every finding's reported fix names is what `--diff` writes, in JSON, SARIF and text,
/// and nothing is written under run/, usr/lib/ or lib/.
fn fixes_name_what_diff_writes(t: &CliTest) -> (Value, BTreeSet<String>) {
    let (_, v) = t.json(None, &[]);
    let written = diff_files(&diff(t));
    assert_eq!(fix_files(&v), written, "JSON fixes vs --diff");
    for f in &written {
        assert!(
            !["run/", "usr/lib/", "lib/"]
                .iter()
                .any(|p| f.starts_with(p)),
            "--diff writes {f}"
        );
    }
    // SARIF carries a fix only where the bytes are known now; each names a file --diff writes.
    let (_, sarif, _) = t.run(None, &["--format", "sarif"]);
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    for r in sarif["runs"][0]["results"].as_array().unwrap() {
        for fix in r["fixes"].as_array().into_iter().flatten() {
            for c in fix["artifactChanges"].as_array().unwrap() {
                let uri = c["artifactLocation"]["uri"].as_str().unwrap();
                assert!(written.contains(uri), "SARIF fix on {uri}: {r:#}");
            }
        }
    }
    (v, written)
}

/// (code, subject, file) of every finding.
fn kinds(v: &Value) -> BTreeSet<(String, String, String)> {
    findings(v)
        .iter()
        .map(|f| {
            (
                f["code"].to_string(),
                f["subject"].to_string(),
                f["file"].to_string(),
            )
        })
        .collect()
}

/// `--apply`, then the kernel loaded as boot loads it (each persisted value written to the fake
/// `proc/sys`, which is what `systemctl restart systemd-sysctl` does), then the audit again:
/// nothing fixable is left and no finding is new.
fn converges(t: &CliTest) {
    let (_, before) = t.json(None, &[]);
    let out = t.audit(None, &["--apply", "--yes"]).output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, applied) = t.json(None, &[]);
    crate::converge::load_kernel_parameters(t, &applied);
    let (_, after) = t.json(None, &[]);
    let fixable: Vec<_> = findings(&after)
        .iter()
        .filter(|f| f["fixable"] == true)
        .collect();
    assert!(fixable.is_empty(), "fixable after --apply: {fixable:#?}");
    let new: Vec<_> = kinds(&after).difference(&kinds(&before)).cloned().collect();
    assert!(new.is_empty(), "new after --apply: {new:?}\n{after:#}");
}

// See: issue 13.
#[test]
fn issue_13_a_winner_in_run_is_fixed_from_the_etc_drop_in() {
    let t = CliTest::new("run-sysctl-winner");
    let (v, written) = fixes_name_what_diff_writes(&t);
    let f = finding(&v, "SYS002", "sysctl:net.ipv4.tcp_fin_timeout");
    assert_eq!(
        (&f["file"], &f["line"], &f["current"]),
        (
            &"run/sysctl.d/70-runtime.conf".into(),
            &2.into(),
            &"60".into()
        )
    );
    assert_eq!(f["fix"]["kind"], "insert");
    assert_eq!(f["fix"]["file"], DROP_IN);
    assert_eq!(f["fix"]["value"], "30");
    // A key the kernel lacks, in /run: no later file can unset it, so there is no fix. A dead
    // tcp_tw_recycle line is SYS010's, a warning (issue 14).
    let f = finding(&v, "SYS010", "sysctl:net.ipv4.tcp_tw_recycle");
    assert_eq!(f["severity"], "warning");
    assert_eq!(
        (&f["file"], &f["line"]),
        (&"run/sysctl.d/70-runtime.conf".into(), &3.into())
    );
    assert_eq!((&f["fixable"], &f["fix"]), (&false.into(), &Value::Null));
    assert!(written.contains(DROP_IN), "{written:?}");
    let d = diff(&t);
    assert!(d.contains("+net.ipv4.tcp_fin_timeout = 30"), "{d}");
    let (_, text, _) = t.run(None, &[]);
    assert!(
        text.contains(&format!(
            "fixable with --apply (add `net.ipv4.tcp_fin_timeout` = `30` to {DROP_IN})"
        )),
        "{text}"
    );
    converges(&t);
}

// See: issue 13.
#[test]
fn issue_13_a_winner_in_usr_lib_is_fixed_from_the_etc_drop_in() {
    let t = CliTest::new("usr-lib-sysctl-winner");
    let (v, written) = fixes_name_what_diff_writes(&t);
    let vendor = "usr/lib/sysctl.d/60-appliance.conf";
    let f = finding(&v, "SYS001", "sysctl:net.core.somaxconn");
    assert_eq!((&f["file"], &f["line"]), (&vendor.into(), &2.into()));
    assert_eq!(
        (&f["fix"]["file"], &f["fix"]["value"]),
        (&DROP_IN.into(), &"4096".into())
    );
    // fs.file-max lowered by the package's line: the drop-in restores the live value.
    let f = finding(&v, "SYS012", "sysctl:fs.file-max");
    assert_eq!((&f["file"], &f["line"]), (&vendor.into(), &3.into()));
    assert_eq!(
        (&f["fix"]["kind"], &f["fix"]["file"], &f["fix"]["value"]),
        (
            &"insert".into(),
            &DROP_IN.into(),
            &"9223372036854775807".into()
        )
    );
    let f = finding(&v, "SYS010", "sysctl:net.ipv4.tcp_tw_recycle");
    assert_eq!((&f["file"], &f["line"]), (&vendor.into(), &4.into()));
    assert_eq!(f["fixable"], false);
    assert!(written.contains(DROP_IN), "{written:?}");
    let d = diff(&t);
    for line in [
        "+net.core.somaxconn = 4096",
        "+fs.file-max = 9223372036854775807",
    ] {
        assert!(d.contains(line), "{line}:\n{d}");
    }
    converges(&t);
    assert_eq!(
        std::fs::read_to_string(t.root.join(vendor)).unwrap(),
        std::fs::read_to_string(
            super::fixtures()
                .join("hosts/usr-lib-sysctl-winner")
                .join(vendor)
        )
        .unwrap(),
        "the package's file is untouched"
    );
}

// See: issue 13.
#[test]
fn issue_13_without_the_link_sysctl_conf_is_not_read_on_rocky_either() {
    let t = CliTest::new("rocky9-no-link");
    let (v, written) = fixes_name_what_diff_writes(&t);
    let f = finding(&v, "SYS013", "sysctl:net.ipv4.tcp_fin_timeout");
    assert_eq!(
        (&f["file"], &f["line"], &f["current"]),
        (&"etc/sysctl.conf".into(), &12.into(), &"30".into())
    );
    assert_eq!(f["fix"]["kind"], "move");
    assert_eq!(f["fix"]["file"], DROP_IN);
    assert_eq!(
        f["fix"]["from"],
        serde_json::json!({ "file": "etc/sysctl.conf", "line": 12 })
    );
    assert!(!f["message"].as_str().unwrap().contains("debian"), "{f:#}");
    // Not in effect at boot: the value boot gives is the kernel's.
    let fin = v["sysctl"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "net.ipv4.tcp_fin_timeout")
        .unwrap();
    assert!(fin["persisted"].is_null(), "{fin:#}");
    assert_eq!(
        written,
        BTreeSet::from([
            "etc/security/limits.d/99-zz-apim-tune.conf".to_string(),
            "etc/sysctl.conf".to_string(),
            DROP_IN.to_string(),
        ])
    );
    let (_, text, _) = t.run(None, &[]);
    assert!(
        text.contains(&format!(
            "fixable with --apply (add `net.ipv4.tcp_fin_timeout` = `30` to {DROP_IN} and comment out this line)"
        )),
        "{text}"
    );
    converges(&t);
    let conf = std::fs::read_to_string(t.root.join("etc/sysctl.conf")).unwrap();
    assert!(
        conf.contains("\n# net.ipv4.tcp_fin_timeout = 30\n"),
        "{conf}"
    );
    assert!(conf.starts_with("# sysctl settings are defined"), "{conf}");
}

// See: issue 13 ("noise is a defect").
#[test]
fn an_unlinked_sysctl_conf_of_comments_only_is_quiet() {
    let t = CliTest::new("rocky9-no-link");
    let conf = t.root.join("etc/sysctl.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let stock: String = text.lines().take(10).map(|l| format!("{l}\n")).collect();
    std::fs::write(&conf, stock).unwrap();
    let (_, v) = t.json(None, &[]);
    assert!(!codes_of(&v).contains(&"SYS013".to_string()), "{v:#}");
}

// See: issue 13. A linked sysctl.conf line that a later package file overrides at boot wins
// under `sysctl --system`, which applies sysctl.conf again, last. The instruction names the
// loader boot runs instead, so sysctl.conf is left as it is (its line is reported, SYS006).
#[test]
fn issue_13_the_reload_instruction_gives_the_values_boot_gives() {
    let t = CliTest::new("usr-lib-sysctl-winner");
    let conf = t.root.join("etc/sysctl.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("net.ipv4.tcp_fin_timeout = 25\n");
    std::fs::write(&conf, &text).unwrap();
    let line = text.lines().count();
    std::fs::write(
        t.root.join("usr/lib/sysctl.d/99-zvendor.conf"),
        "net.ipv4.tcp_fin_timeout = 45\n",
    )
    .unwrap();
    let (v, _) = fixes_name_what_diff_writes(&t);
    let f = finding(&v, "SYS002", "sysctl:net.ipv4.tcp_fin_timeout");
    assert_eq!(f["file"], "usr/lib/sysctl.d/99-zvendor.conf");
    assert_eq!(
        (&f["fix"]["file"], &f["fix"]["value"]),
        (&DROP_IN.into(), &"30".into())
    );
    let f = finding(&v, "SYS006", "sysctl:net.ipv4.tcp_fin_timeout");
    assert_eq!(
        (&f["file"], &f["line"]),
        (&"etc/sysctl.conf".into(), &line.into())
    );
    assert!(f["notes"].to_string().contains("sysctl --system"), "{f:#}");

    let out = t.audit(None, &["--apply", "--yes"]).output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let reload = said
        .lines()
        .find(|l| l.contains("kernel parameters:"))
        .unwrap_or_else(|| panic!("no reload instruction:\n{said}"));
    assert!(
        reload.contains("`systemctl restart systemd-sysctl`"),
        "{reload}"
    );
    assert!(
        reload.contains("/usr/lib/systemd/systemd-sysctl"),
        "{reload}"
    );
    assert!(!reload.contains("load with `sysctl --system`"), "{reload}");
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        text,
        "sysctl.conf untouched"
    );
    // What systemd-sysctl applies now: the drop-in's value.
    let (_, v) = t.json(None, &[]);
    let fin = v["sysctl"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "net.ipv4.tcp_fin_timeout")
        .unwrap();
    assert_eq!(
        (&fin["persisted"]["file"], &fin["persisted"]["value"]),
        (&DROP_IN.into(), &"30".into())
    );
}
