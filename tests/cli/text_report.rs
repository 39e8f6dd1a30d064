//! The text report's shape through the binary: the summary first, findings by severity then
//! file and line, identical findings as one block, and `--concise` (issue 17).

use super::CliTest;
use serde_json::Value;

const HOME: &str = "wso2am-2.6.0";
const ARGS: [&str; 2] = ["--java-version", "17"];

/// The severity of a finding's first line (`error[SYS010] …`, `waived warning[…] …`).
fn severity_of(line: &str) -> Option<u8> {
    let line = line.strip_prefix("waived ").unwrap_or(line);
    let (label, rest) = line.split_once('[')?;
    if !rest.chars().take(6).all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    match label {
        "error" => Some(3),
        "warning" => Some(2),
        "info" => Some(1),
        _ => None,
    }
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().unwrap()
}

#[test]
fn the_summary_comes_first_and_findings_go_by_severity() {
    let t = CliTest::new("legacy-2.6");
    let (code, out, err) = t.run(Some(HOME), &ARGS);
    assert_eq!(code, 1, "{err}");
    let (_, v) = t.json(Some(HOME), &ARGS);
    let lines: Vec<&str> = out.lines().collect();
    let first_finding = lines
        .iter()
        .position(|l| severity_of(l).is_some())
        .expect("a finding");
    let summary = lines
        .iter()
        .position(|l| l.starts_with("summary:"))
        .unwrap();
    assert!(summary < first_finding, "{out}");
    // The summary is also the last line, for whoever scrolled down.
    assert_eq!(lines.last(), lines.get(summary), "{out}");

    // Errors, then warnings, then infos.
    let order: Vec<u8> = lines.iter().filter_map(|l| severity_of(l)).collect();
    assert!(order.windows(2).all(|w| w[0] >= w[1]), "{order:?}\n{out}");
    assert_eq!(
        order.len(),
        findings(&v).len(),
        "no finding shares a block here"
    );

    // Counts by family, as the JSON has them.
    let families = lines[summary..first_finding]
        .iter()
        .find(|l| l.trim_start().starts_with("families"))
        .unwrap_or_else(|| panic!("no families line:\n{out}"));
    for family in ["SYS", "LIM", "APM", "JVM"] {
        let n = findings(&v)
            .iter()
            .filter(|f| f["code"].as_str().unwrap().starts_with(family))
            .count();
        assert!(n > 0);
        assert!(
            families.contains(&format!("{family} {n} (")),
            "{family} {n}: {families}"
        );
    }
    // What --apply fixes, what is left, and what it takes to be in effect.
    let fixable = findings(&v).iter().filter(|f| f["fixable"] == true).count();
    let manual = findings(&v).len() - fixable;
    let expected = format!("fixable   {fixable} with --apply, {manual} for a person to fix");
    assert!(out.contains(&expected), "{expected}\n{out}");
    let then = lines
        .iter()
        .find(|l| l.trim_start().starts_with("then "))
        .unwrap_or_else(|| panic!("no then line:\n{out}"));
    for effect in [
        "restart API-M",
        "new login sessions",
        "reload kernel parameters",
    ] {
        assert!(then.contains(effect), "{then}");
    }
}

/// Within one severity, findings go by file, then line.
#[test]
fn within_a_severity_findings_go_by_file_and_line() {
    let t = CliTest::new("legacy-2.6");
    let mut args = vec!["--concise"];
    args.extend(ARGS);
    let (_, out, _) = t.run(Some(HOME), &args);
    let mut last: Option<(u8, String, u32)> = None;
    for line in out.lines().filter(|l| !l.starts_with("summary:")) {
        let (place, rest) = line.split_once(": ").unwrap();
        let sev = severity_of(rest).unwrap_or_else(|| panic!("{line}"));
        let mut parts = place.split(':');
        let file = parts.next().unwrap().to_string();
        let line_no: u32 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let key = (sev, file, line_no);
        if let Some(prev) = &last {
            // Severity descending; then file and line ascending for located findings.
            assert!(prev.0 >= key.0, "{prev:?} then {key:?}");
            if prev.0 == key.0 && prev.1.contains('/') && key.1.contains('/') {
                assert!(
                    (&prev.1, prev.2) <= (&key.1, key.2),
                    "{prev:?} then {key:?}"
                );
            }
        }
        last = Some(key);
    }
    assert!(last.is_some(), "{out}");
}

#[test]
fn concise_prints_one_line_per_finding() {
    let t = CliTest::new("legacy-2.6");
    let mut args = vec!["--concise"];
    args.extend(ARGS);
    let (code, out, err) = t.run(Some(HOME), &args);
    assert_eq!(code, 1, "{err}");
    let (_, v) = t.json(Some(HOME), &ARGS);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), findings(&v).len() + 1, "{out}");
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("summary: 6 errors, 19 warnings, 12 info")
    );
    // Every finding of the JSON is a line `file:line:col: severity[CODE] message`.
    for f in findings(&v) {
        let place = match (f["file"].as_str(), f["line"].as_u64(), f["column"].as_u64()) {
            (Some(file), Some(l), Some(c)) => format!("{file}:{l}:{c}"),
            (Some(file), _, _) => file.to_string(),
            (None, _, _) => f["subject"].as_str().unwrap().to_string(),
        };
        let expected = format!(
            "{place}: {}[{}] {}",
            f["severity"].as_str().unwrap(),
            f["code"].as_str().unwrap(),
            f["message"].as_str().unwrap()
        );
        assert!(lines.contains(&expected.as_str()), "{expected}\n{out}");
    }
}

#[test]
fn identical_findings_are_one_block_listing_their_places() {
    let t = CliTest::new("modern-4.2");
    std::fs::write(
        t.root.join("etc/sysctl.d/30-junk.conf"),
        "garbage one\ngarbage two\nnet.core.somaxconn = 4096\ngarbage three\n",
    )
    .unwrap();
    let (_, out, _) = t.run(Some("wso2am-4.2.0"), &ARGS);
    let blocks: Vec<&str> = out
        .split("\n\n")
        .filter(|b| b.contains("30-junk"))
        .collect();
    assert_eq!(blocks.len(), 1, "{out}");
    let places: Vec<&str> = blocks[0]
        .lines()
        .filter(|l| l.trim_start().starts_with("-->"))
        .map(str::trim)
        .collect();
    assert_eq!(
        places,
        [
            "--> etc/sysctl.d/30-junk.conf:1:1",
            "--> etc/sysctl.d/30-junk.conf:2:1",
            "--> etc/sysctl.d/30-junk.conf:4:1",
        ],
        "{out}"
    );
    assert_eq!(blocks[0].matches("= expected `key = value`").count(), 1);
    // Still three findings, counted as three.
    let (_, v) = t.json(Some("wso2am-4.2.0"), &ARGS);
    let src = findings(&v)
        .iter()
        .filter(|f| f["file"] == "etc/sysctl.d/30-junk.conf")
        .count();
    assert_eq!(src, 3);
    let errors = v["summary"]["error"].as_u64().unwrap();
    assert!(
        out.contains(&format!(
            "summary: {errors} error{},",
            if errors == 1 { "" } else { "s" }
        )),
        "{out}"
    );
}

fn apim_tune(args: &[&str]) -> (i32, String) {
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .env_remove("NO_COLOR")
        .env_remove("APIM_TUNE_DB_URL")
        .env_remove("APIM_TUNE_FLEET_SALT")
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code().is_some_and(|c| c < 2), "{text}{err}");
    (out.status.code().unwrap_or(-1), text)
}

/// Every line but the last is `place: severity[CODE] message`, errors first.
fn assert_concise(out: &str, findings: usize) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), findings + 1, "{out}");
    assert!(lines[findings].starts_with("summary: "), "{out}");
    let order: Vec<u8> = lines[..findings]
        .iter()
        .map(|l| {
            let (_, rest) = l
                .split_once(": ")
                .unwrap_or_else(|| panic!("no place: {l}"));
            severity_of(rest).unwrap_or_else(|| panic!("no severity[CODE]: {l}"))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] >= w[1]), "{out}");
}

#[test]
fn concise_db_audit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("apim.db").display());
    apim_tune(&["db", "init", "--url", &url]);
    apim_tune(&["db", "seed", "--url", &url, "--tokens", "100"]);
    let (_, json) = apim_tune(&["db", "audit", "--url", &url, "--format", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    let n = findings(&v).len();
    assert!(n > 1, "{json}");
    let (_, out) = apim_tune(&[
        "db",
        "audit",
        "--url",
        &url,
        "--color",
        "never",
        "--concise",
    ]);
    assert_concise(&out, n);
    assert!(
        out.contains("db:IDN_OAUTH2_ACCESS_TOKEN: info[DBG001] "),
        "{out}"
    );
}

#[test]
fn concise_fleet_merge() {
    let set = super::fixtures().join("fleet/merge/deployment");
    let mut args: Vec<String> = std::fs::read_dir(&set)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("inventory.json"))
        .map(|p| p.display().to_string())
        .collect();
    args.sort();
    args.extend([
        "--inventory".to_string(),
        set.join("inventory.json").display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut json_args = vec!["fleet", "merge", "--format", "json"];
    json_args.extend(&args);
    let (_, json) = apim_tune(&json_args);
    let v: Value = serde_json::from_str(&json).unwrap();
    // The deployment's findings, then each node finding once per node that has it.
    let node_places: usize = v["node_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["locations"].as_array().unwrap().len())
        .sum();
    let mut concise_args = vec!["fleet", "merge", "--color", "never", "--concise"];
    concise_args.extend(&args);
    let (code, out) = apim_tune(&concise_args);
    assert_eq!(code, 1);
    let lines = out.lines().count() - 1;
    assert_eq!(lines, findings(&v).len() + node_places, "{out}\n{json}");
    assert!(
        out.contains("cp1/opt/wso2am-4.2.0/repository/conf/deployment.toml:30:1: error[FLT009] "),
        "{out}"
    );
    assert!(
        out.ends_with("summary: 2 errors, 14 warnings, 0 info\n"),
        "{out}"
    );
}

/// `--concise` quotes messages, which quote values: no secret in them either.
#[test]
fn concise_masks_secrets() {
    const SECRET: &str = "Zq9-concise-S3cret";
    let t = CliTest::new("modern-4.2");
    let toml = t
        .root
        .join("opt/wso2am-4.2.0/repository/conf/deployment.toml");
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "jdbc:postgresql://db.example.internal:5432/apim",
        &format!("jdbc:postgresql://apim:{SECRET}@db.example.internal:5432/apim?password={SECRET}"),
    );
    std::fs::write(&toml, text).unwrap();
    let (_, out, err) = t.run(Some("wso2am-4.2.0"), &["--java-version", "17", "--concise"]);
    assert!(out.contains("[APM013] datasource `apim_db`"), "{out}");
    assert!(!out.contains(SECRET) && !err.contains(SECRET), "{out}{err}");
}

/// After `--apply`, the audit of what remains is printed as asked: one line per finding.
#[test]
fn concise_after_apply() {
    let t = CliTest::new("legacy-2.6");
    let (code, out, err) = t.run(
        Some(HOME),
        &["--apply", "--yes", "--concise", "--java-version", "17"],
    );
    assert!(code < 2, "{err}");
    let (_, v) = t.json(Some(HOME), &ARGS);
    let n = findings(&v).len();
    assert!(n > 0 && v["summary"]["fixable"] == 0, "{v:#}");
    // What was applied comes first; the report of what remains is the last n + 1 lines.
    let lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    let report = &lines[lines.len() - (n + 1)..];
    assert!(report[n].starts_with("summary: "), "{out}");
    for l in &report[..n] {
        let (_, rest) = l.split_once(": ").unwrap_or_else(|| panic!("{l}\n{out}"));
        assert!(severity_of(rest).is_some(), "{l}\n{out}");
    }
}
