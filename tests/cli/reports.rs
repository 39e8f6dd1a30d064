//! CI reports: SARIF, JUnit, Markdown, `--output`, waivers, baselines, `rules`, `explain`.

use super::{CliTest, codes_of, fixtures};
use crate::skip::shared;
use serde_json::Value;

const EPOCH: &str = "1795326481";

fn run_fmt(t: &CliTest, home: &str, args: &[&str]) -> (i32, String, String) {
    let out = t
        .audit(Some(home), args)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).replace(&t.root.display().to_string(), "[ROOT]"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sarif_is_valid_and_snapshotted() {
    let t = CliTest::new("legacy-2.6");
    let (code, out, err) = run_fmt(
        &t,
        "wso2am-2.6.0",
        &["--format", "sarif", "--java-version", "17"],
    );
    assert_eq!(code, 1, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), apim_tune::diag::Code::ALL.len());
    let results = run["results"].as_array().unwrap();
    let tw = results.iter().find(|r| r["ruleId"] == "SYS010").unwrap();
    assert_eq!(tw["level"], "error");
    assert_eq!(
        tw["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "etc/sysctl.conf"
    );
    assert_eq!(
        tw["locations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
    let idx = tw["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[idx]["id"], "SYS010");
    assert!(
        results.iter().any(|r| r["fixes"].is_array()),
        "fixable findings carry fixes"
    );
    if let Some(schema) = shared("schemas/sarif-2.1.0.json") {
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(schema).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&v)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "SARIF is not valid 2.1.0: {errors:#?}");
    }
    crate::in_snapshots! { insta::assert_json_snapshot!("legacy_sarif", v, {
        ".runs[0].tool.driver.version" => "[VERSION]",
    }); }
}

#[test]
fn junit_is_valid_against_the_schema_and_snapshotted() {
    let t = CliTest::new("legacy-2.6");
    let (_, out, err) = run_fmt(
        &t,
        "wso2am-2.6.0",
        &["--format", "junit", "--java-version", "17"],
    );
    assert!(out.starts_with("<?xml"), "{out}{err}");
    assert!(
        out.contains("<testsuite") && out.contains("name=\"sysctl\""),
        "{out}"
    );
    assert!(out.contains("<failure"), "{out}");
    let file = t.dir.path().join("report.xml");
    std::fs::write(&file, &out).unwrap();
    if let Some(xsd) = shared("schemas/junit.xsd") {
        let check = std::process::Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(&xsd)
            .arg(&file)
            .output()
            .expect("xmllint (Debian libxml2-utils, installed by .ci/run)");
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    crate::in_snapshots! { insta::assert_snapshot!("legacy_junit", out); }
}

#[test]
fn markdown_has_a_table_and_the_diff() {
    let t = CliTest::new("legacy-2.6");
    let (_, out, _) = run_fmt(
        &t,
        "wso2am-2.6.0",
        &["--format", "markdown", "--java-version", "17"],
    );
    assert!(
        out.contains("| `SYS010`") || out.contains("`SYS010`"),
        "{out}"
    );
    assert!(
        out.contains("<details>") && out.contains("```diff"),
        "{out}"
    );
    assert!(!out.contains("legacy-fixture-password"));
    crate::in_snapshots! { insta::assert_snapshot!("legacy_markdown", out); }
}

#[test]
fn several_outputs_in_one_run_while_text_goes_to_the_terminal() {
    let t = CliTest::new("legacy-2.6");
    let d = t.dir.path();
    let (code, out, err) = run_fmt(
        &t,
        "wso2am-2.6.0",
        &[
            "--output",
            &format!("sarif={}", d.join("a.sarif").display()),
            "--output",
            &format!("junit={}", d.join("a.xml").display()),
            "--output",
            &format!("json={}", d.join("a.json").display()),
            "--output",
            &format!("markdown={}", d.join("a.md").display()),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(out.starts_with("apim-tune audit"), "text on stdout: {out}");
    for f in ["a.sarif", "a.xml", "a.json", "a.md"] {
        let text = std::fs::read_to_string(d.join(f)).unwrap();
        assert!(!text.is_empty(), "{f}");
    }
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("a.json")).unwrap()).unwrap();
    assert_eq!(v["schema"], "apim-tune/audit/v1");
    let (code, _, err) = run_fmt(&t, "wso2am-2.6.0", &["--output", "yaml=x.yaml"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn waivers_accept_expire_and_report_unused() {
    let t = CliTest::new("legacy-2.6");
    // The default file in the current directory is picked up.
    std::fs::copy(
        fixtures().join("waivers/legacy.toml"),
        t.dir.path().join("apim-tune.waivers.toml"),
    )
    .unwrap();
    let (_, out, err) = run_fmt(
        &t,
        "wso2am-2.6.0",
        &["--format", "json", "--java-version", "17"],
    );
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let find = |code: &str, part: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code && f["subject"].as_str().unwrap().contains(part))
            .cloned()
            .unwrap_or_else(|| panic!("no {code} on {part}"))
    };
    let tw = find("SYS010", "tcp_tw_recycle");
    assert_eq!(tw["waived"]["expires"], "2099-01-31");
    assert!(
        tw["waived"]["reason"]
            .as_str()
            .unwrap()
            .contains("CHG-1234")
    );
    assert!(
        find("LIM003", "nproc")["waived"].is_object(),
        "subject patterns match"
    );
    assert!(
        find("APM010", "EnableKeyManagerTokenCache")["waived"].is_null(),
        "expired waiver"
    );
    let expired = find("WAV001", "APM010");
    assert_eq!(expired["line"], 13);
    find("WAV002", "JVM004");
    assert!(v["summary"]["waived"].as_u64().unwrap() >= 3);
    // Waived findings are shown as such in every format.
    for (format, needle) in [
        ("text", "waived until 2099-01-31"),
        ("markdown", "CHG-1234"),
        ("sarif", "suppressions"),
        ("junit", "waived"),
    ] {
        let (_, out, _) = run_fmt(
            &t,
            "wso2am-2.6.0",
            &["--format", format, "--java-version", "17"],
        );
        assert!(out.contains(needle), "{format} lacks `{needle}`:\n{out}");
    }
}

#[test]
fn waived_findings_do_not_count_for_the_exit_code() {
    let t = CliTest::new("tuned-4.2");
    let script = t.root.join("opt/wso2am-4.2.0/bin/api-manager.sh");
    let text = std::fs::read_to_string(&script)
        .unwrap()
        .replace("-Xmx2g", "-Xmx1g");
    std::fs::write(&script, text).unwrap();
    let args = ["--role", "gateway", "--java-version", "17"];
    assert_eq!(run_fmt(&t, "wso2am-4.2.0", &args).0, 1);
    let waivers = t.dir.path().join("w.toml");
    std::fs::write(&waivers, "[[waiver]]\ncode = \"JVM001\"\nreason = \"small test node\"\n[[waiver]]\ncode = \"JVM012\"\nreason = \"small test node\"\n").unwrap();
    let mut with = args.to_vec();
    let w = waivers.display().to_string();
    with.extend(["--waivers", w.as_str()]);
    let (code, out, err) = run_fmt(&t, "wso2am-4.2.0", &with);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 waived"), "{out}");
}

#[test]
fn invalid_waivers_are_a_tool_error_with_their_line() {
    let t = CliTest::new("tuned-4.2");
    let waivers = t.dir.path().join("w.toml");
    std::fs::write(&waivers, "[[waiver]]\ncode = \"SYS010\"\n").unwrap();
    let (code, _, err) = run_fmt(
        &t,
        "wso2am-4.2.0",
        &["--waivers", waivers.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("w.toml:1:1") && err.contains("reason"),
        "{err}"
    );
}

#[test]
fn a_baseline_shows_only_new_findings() {
    let t = CliTest::new("legacy-2.6");
    let (_, before, _) = run_fmt(
        &t,
        "wso2am-2.6.0",
        &["--format", "json", "--java-version", "17"],
    );
    let baseline = t.dir.path().join("baseline.json");
    std::fs::write(&baseline, &before).unwrap();
    let b = baseline.display().to_string();
    let (code, out, _) = run_fmt(
        &t,
        "wso2am-2.6.0",
        &["--format", "json", "--java-version", "17", "--baseline", &b],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{out}");
    assert_eq!(code, 0);
    // A new mistuning shows up alone.
    let carbon = t
        .root
        .join("opt/wso2am-2.6.0/repository/conf/identity/identity.xml");
    let text = std::fs::read_to_string(&carbon).unwrap();
    std::fs::write(&carbon, text.replace("<OAuth>", "<OAuth><Broken>")).unwrap();
    let (code, out, _) = run_fmt(
        &t,
        "wso2am-2.6.0",
        &["--format", "json", "--java-version", "17", "--baseline", &b],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(codes_of(&v), vec!["SRC002".to_string()], "{out}");
    assert_eq!(code, 1);
}

#[test]
fn rules_and_explain() {
    let bin = || assert_cmd::Command::cargo_bin("apim-tune").unwrap();
    let out = bin().arg("rules").output().unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert_eq!(listing.lines().count(), apim_tune::diag::Code::ALL.len());
    for c in apim_tune::diag::Code::ALL {
        let out = bin().args(["explain", c.code()]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        for h in ["## What it checks", "## Why it matters", "## Fix"] {
            assert!(text.contains(h), "{}: {text}", c.code());
        }
        assert!(
            text.contains("## Profile entries that use it")
                || text.contains("## Where the recommendation comes from"),
            "{}: {text}",
            c.code()
        );
    }
    let out = bin().args(["explain", "apm001"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("passthru.worker_pool_size_core") && text.contains("profiles/base.toml:"),
        "{text}"
    );
    let out = bin().args(["explain", "NOPE42"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `explain` names the file that really declares each rule (it used to say "the file readers"
/// for SVC, PRC and DBG), and that file declares the code at that line.
/// See: issue 12 (explain names the wrong place for SVC, PRC and DBG checks).
#[test]
fn issue_12_explain_names_the_file_that_declares_the_rule() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for c in apim_tune::diag::Code::ALL {
        let out = assert_cmd::Command::cargo_bin("apim-tune")
            .unwrap()
            .args(["explain", c.code()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let at = c.declared_at();
        assert!(
            text.contains(&format!("Declared in `{at}`")),
            "{}: {text}",
            c.code()
        );
        let (file, line) = at.rsplit_once(':').unwrap();
        let source = std::fs::read_to_string(root.join(file)).unwrap();
        let line: usize = line.parse().unwrap();
        // `line!()` in `declare_rule!` is the macro call's line; the code literal follows its doc.
        let declaration: String = source
            .lines()
            .skip(line - 1)
            .take(40)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            declaration.contains(&format!("\"{}\"", c.code())),
            "{} is not declared at {at}",
            c.code()
        );
    }
    for (code, file) in [
        ("SVC001", "src/rules/service/unit_limits.rs"),
        ("PRC001", "src/rules/service/process_limits.rs"),
        ("DBG001", "src/rules/db/removable_rows.rs"),
    ] {
        let out = assert_cmd::Command::cargo_bin("apim-tune")
            .unwrap()
            .args(["explain", code])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(file), "{code}: {text}");
        assert!(!text.contains("file readers"), "{code}: {text}");
    }
}

/// `apim-tune explain SYS010 | head -1` and `rules | head -1` exit 0 quietly, as `audit` does:
/// the reader is gone before anything is written, so the first write fails with EPIPE.
/// See: issue 12 (both panicked with exit 101 on the closed pipe).
#[test]
fn issue_12_rules_and_explain_end_quietly_on_a_closed_pipe() {
    for args in [&["explain", "SYS010"][..], &["rules"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("apim-tune"))
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {:?}", out);
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn waivers_stay_used_when_a_baseline_hides_their_findings() {
    let t = CliTest::new("legacy-2.6");
    let (_, before, _) = run_fmt(
        &t,
        "wso2am-2.6.0",
        &["--format", "json", "--java-version", "17"],
    );
    let baseline = t.dir.path().join("base.json");
    std::fs::write(&baseline, &before).unwrap();
    let waivers = fixtures().join("waivers/legacy.toml");
    let (_, out, _) = run_fmt(
        &t,
        "wso2am-2.6.0",
        &[
            "--format",
            "json",
            "--java-version",
            "17",
            "--baseline",
            baseline.to_str().unwrap(),
            "--waivers",
            waivers.to_str().unwrap(),
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let unused: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "WAV002")
        .map(|f| f["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        unused,
        vec!["waiver:JVM004".to_string()],
        "only the truly unused waiver: {out}"
    );
}
