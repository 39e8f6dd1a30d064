//! Limits are advised for the account API-M runs as, where they take effect: the user comes from
//! the unit's `User=` or the running JVM's uid (named through `etc/passwd` under the root), else
//! `--user`, else `*` and the header says so; under systemd only the unit gets a fix (a drop-in),
//! never limits.conf, which a service does not read. Each case checks the finding subjects, what
//! `--diff` writes, and that `--apply` then a fresh audit leaves nothing fixable and nothing new.

use crate::CliTest;
use serde_json::Value;
use std::collections::BTreeSet;

const HOME: &str = "wso2am-4.2.0";
const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
wso2carbon:x:1001:1001::/home/wso2carbon:/bin/sh\n\
apimsvc:x:1002:1002::/home/apimsvc:/bin/sh\n";
const GROUP: &str = "root:x:0:\nwso2carbon:x:1001:\napimsvc:x:1002:\n";

/// The facts given on the command line, so that no unknown host fact adds notes or skips.
const FACTS: [&str; 8] = [
    "--cores",
    "4",
    "--memory",
    "8G",
    "--kernel",
    "6.1.0-18-amd64",
    "--java-version",
    "17",
];

/// A fresh root with accounts, a 4.2.0 home, and `files` on top.
fn host(files: &[(&str, &str)]) -> CliTest {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut all = vec![
        ("etc/passwd", PASSWD),
        ("etc/group", GROUP),
        (
            "opt/wso2am-4.2.0/repository/conf/deployment.toml",
            "[server]\nhostname = \"gw1.example.internal\"\n",
        ),
    ];
    all.extend_from_slice(files);
    for (rel, text) in all {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    CliTest { dir, root }
}

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a: Vec<&str> = FACTS.to_vec();
    a.extend_from_slice(extra);
    a
}

/// `code subject` of the limits and service findings, in report order.
fn limit_findings(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let c = f["code"].as_str().unwrap();
            c.starts_with("LIM") || c.starts_with("SVC") || c.starts_with("PRC")
        })
        .map(|f| {
            format!(
                "{} {}",
                f["code"].as_str().unwrap(),
                f["subject"].as_str().unwrap()
            )
        })
        .collect()
}

fn limits_user(v: &Value) -> (String, String) {
    let u = &v["host"]["limits_user"];
    (
        u["name"].as_str().unwrap().to_string(),
        u["chosen_by"].as_str().unwrap().to_string(),
    )
}

/// What `--diff` writes (stdout), with the root masked.
fn diff(t: &CliTest, extra: &[&str]) -> String {
    let mut a = vec!["--diff"];
    a.extend(args(extra));
    let (code, out, err) = t.run(Some(HOME), &a);
    assert!(matches!(code, 0 | 1), "--diff exited {code}: {out}{err}");
    out
}

/// The limits files a diff touches (`+++ b/PATH` under etc/security or etc/systemd; the other
/// families' fixes on this bare host are not this test's).
fn diff_files(diff: &str) -> Vec<String> {
    diff.lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(|p| p.split('\t').next().unwrap_or(p).to_string())
        .filter(|p| p.starts_with("etc/security/") || p.starts_with("etc/systemd/"))
        .collect()
}

/// Whether the diff adds a line with these whitespace-separated fields (limits.d lines are
/// written tab-separated).
fn adds(diff: &str, fields: &str) -> bool {
    let want: Vec<&str> = fields.split_whitespace().collect();
    diff.lines()
        .filter_map(|l| l.strip_prefix('+'))
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == want)
}

/// `--apply`, then a fresh audit: nothing fixable is left, nothing new appears.
fn converges(t: &CliTest, extra: &[&str]) {
    let key = |f: &Value| format!("{} {}", f["code"].as_str().unwrap(), f["subject"]);
    let (_, before) = t.json(Some(HOME), &args(extra));
    let before: BTreeSet<String> = before["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(key)
        .collect();
    let mut apply = vec!["--apply", "--yes"];
    apply.extend(args(extra));
    let (code, out, err) = t.run(Some(HOME), &apply);
    assert!(matches!(code, 0 | 1), "--apply exited {code}: {out}{err}");
    let (_, after) = t.json(Some(HOME), &args(extra));
    let findings = after["findings"].as_array().unwrap();
    let fixable: Vec<String> = findings
        .iter()
        .filter(|f| f["fixable"] == true)
        .map(key)
        .collect();
    assert!(
        fixable.is_empty(),
        "still fixable after --apply: {fixable:?}"
    );
    let new: Vec<String> = findings
        .iter()
        .map(key)
        .filter(|k| !before.contains(k))
        .collect();
    assert!(new.is_empty(), "new after --apply: {new:?}");
}

const UNIT: &str = "etc/systemd/system/wso2am.service";

fn unit(user_line: &str) -> String {
    format!(
        "[Unit]\nDescription=WSO2 API Manager\n\n[Service]\nType=forking\n{user_line}ExecStart=/opt/wso2am-4.2.0/bin/api-manager.sh start\nLimitNOFILE=4096\nLimitNPROC=4096\n"
    )
}

/// limits.conf lines that would be wrong for any user: under systemd they must be left alone.
const LIMITS_D: &str = "etc/security/limits.d/90-wso2.conf";

#[test]
fn the_user_comes_from_the_units_user_and_the_fix_goes_to_the_unit_only() {
    let t = host(&[
        (UNIT, &unit("User=apimsvc\n")),
        (
            LIMITS_D,
            "apimsvc soft nofile 1024\napimsvc hard nofile 4096\n",
        ),
    ]);
    let (_, v) = t.json(Some(HOME), &args(&[]));
    let (name, how) = limits_user(&v);
    assert_eq!(name, "apimsvc");
    assert!(how.contains("`User=` of wso2am.service"), "{how}");
    let mut found = limit_findings(&v);
    found.sort();
    assert_eq!(
        found,
        [
            "SVC001 systemd:wso2am.service:LimitNOFILE",
            "SVC001 systemd:wso2am.service:LimitNPROC",
            "SVC002 systemd:wso2am.service:limits.conf",
        ]
    );
    let d = diff(&t, &[]);
    assert_eq!(
        diff_files(&d),
        ["etc/systemd/system/wso2am.service.d/zz-apim-tune.conf"],
        "{d}"
    );
    assert!(
        adds(&d, "LimitNOFILE=4096:65535") && adds(&d, "LimitNPROC=20000:20000"),
        "{d}"
    );
    assert!(!d.contains("+++ b/etc/security/"), "{d}");
    converges(&t, &[]);
    // limits.conf is as it was: a service never reads it.
    assert_eq!(
        std::fs::read_to_string(t.root.join(LIMITS_D)).unwrap(),
        "apimsvc soft nofile 1024\napimsvc hard nofile 4096\n"
    );
}

#[test]
fn a_unit_without_user_runs_as_root() {
    let t = host(&[(UNIT, &unit(""))]);
    let (_, v) = t.json(Some(HOME), &args(&[]));
    let (name, how) = limits_user(&v);
    assert_eq!(name, "root");
    assert!(how.contains("has no `User=`"), "{how}");
    assert_eq!(
        diff_files(&diff(&t, &[])),
        ["etc/systemd/system/wso2am.service.d/zz-apim-tune.conf"]
    );
}

/// A running API-M JVM of the home, started from a login session (no unit), as uid 1001.
fn process_files() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "proc/4242/cmdline",
            "/usr/lib/jvm/java-17-openjdk-amd64/bin/java\0-Xms2g\0-Xmx2g\0-Dcarbon.home=/opt/wso2am-4.2.0\0org.wso2.carbon.bootstrap.Bootstrap\0",
        ),
        (
            "proc/4242/status",
            "Name:\tjava\nUid:\t1001\t1001\t1001\t1001\nGid:\t1001\t1001\t1001\t1001\n",
        ),
    ]
}

#[test]
fn the_user_comes_from_the_running_jvms_uid() {
    let mut files = process_files();
    files.push((LIMITS_D, "* soft nproc 4096\n"));
    let t = host(&files);
    let (_, v) = t.json(Some(HOME), &args(&[]));
    let (name, how) = limits_user(&v);
    assert_eq!(name, "wso2carbon");
    assert!(
        how.contains("uid 1001 of the running API-M JVM (proc/4242)"),
        "{how}"
    );
    let found = limit_findings(&v);
    assert!(
        found.iter().all(|f| !f.contains(":*:")),
        "no `*` subject when the user is known: {found:?}"
    );
    assert!(
        found.contains(&"LIM001 limits:wso2carbon:nofile:hard".to_string()),
        "{found:?}"
    );
    assert!(
        found.contains(&"LIM001 limits:wso2carbon:nproc:soft".to_string()),
        "{found:?}"
    );
    let d = diff(&t, &[]);
    assert_eq!(
        diff_files(&d),
        ["etc/security/limits.d/99-zz-apim-tune.conf"],
        "{d}"
    );
    assert!(adds(&d, "wso2carbon hard nofile 65535"), "{d}");
    assert!(adds(&d, "wso2carbon soft nproc 20000"), "{d}");
    assert!(!d.lines().any(|l| l.starts_with("+*")), "{d}");
    converges(&t, &[]);
}

#[test]
fn user_given_with_user_flag() {
    let t = host(&[]);
    let (_, v) = t.json(Some(HOME), &args(&["--user", "apimsvc"]));
    assert_eq!(limits_user(&v), ("apimsvc".into(), "--user".into()));
    let found = limit_findings(&v);
    assert!(
        found.contains(&"LIM001 limits:apimsvc:nofile:hard".to_string()),
        "{found:?}"
    );
    let d = diff(&t, &["--user", "apimsvc"]);
    assert_eq!(
        diff_files(&d),
        ["etc/security/limits.d/99-zz-apim-tune.conf"]
    );
    assert!(adds(&d, "apimsvc hard nofile 65535"), "{d}");
    converges(&t, &["--user", "apimsvc"]);
}

#[test]
fn user_flag_that_disagrees_with_the_running_jvm_says_so() {
    let t = host(&process_files());
    let (_, v) = t.json(Some(HOME), &args(&["--user", "apimsvc"]));
    let (name, how) = limits_user(&v);
    assert_eq!(name, "apimsvc");
    assert!(how.contains("API-M runs as `wso2carbon`"), "{how}");
}

#[test]
fn unknown_user_is_any_non_root_user_and_the_header_says_so() {
    let t = host(&[]);
    let (_, v) = t.json(Some(HOME), &args(&[]));
    let (name, how) = limits_user(&v);
    assert_eq!(name, "*");
    assert!(how.contains("no API-M user found"), "{how}");
    let (_, text, _) = t.run(Some(HOME), &args(&[]));
    assert!(
        text.contains("limits user `*` (no API-M user found"),
        "{text}"
    );
    let d = diff(&t, &[]);
    assert!(adds(&d, "* hard nofile 65535"), "{d}");
    converges(&t, &[]);
}
