//! Exit codes: 0 nothing at or above --fail-on, 1 findings, 2 the tool failed.

use super::{CliTest, fixtures};
use apim_tune::exit_code;

fn code(t: &CliTest, home: Option<&str>, args: &[&str]) -> i32 {
    t.run(home, args).0
}

#[test]
fn fail_on_thresholds() {
    let t = CliTest::new("legacy-2.6");
    let h = Some("wso2am-2.6.0");
    assert_eq!(code(&t, h, &[]), i32::from(exit_code::FINDINGS));
    assert_eq!(
        code(&t, h, &["--fail-on", "never"]),
        i32::from(exit_code::OK)
    );
    assert_eq!(
        code(&t, h, &["--fail-on", "error"]),
        i32::from(exit_code::FINDINGS)
    );
    // The tuned host has nothing at all, so every threshold passes.
    let tuned = CliTest::new("tuned-4.2");
    for level in ["error", "warning", "info", "never"] {
        assert_eq!(
            code(
                &tuned,
                Some("wso2am-4.2.0"),
                &[
                    "--role",
                    "gateway",
                    "--java-version",
                    "17",
                    "--fail-on",
                    level
                ]
            ),
            0,
            "{level}"
        );
    }
}

#[test]
fn only_info_findings_pass_at_warning_and_fail_at_info() {
    // An unguarded -XX:MaxPermSize on JDK 11 is ignored by the JVM: an info finding only.
    let t = CliTest::new("tuned-4.2");
    let script = t.root.join("opt/wso2am-4.2.0/bin/api-manager.sh");
    let text = std::fs::read_to_string(&script).unwrap().replace(
        "-DentityExpansionLimit=10000",
        "-DentityExpansionLimit=10000 -XX:MaxPermSize=256m",
    );
    std::fs::write(&script, text).unwrap();
    let args = ["--role", "gateway", "--java-version", "11"];
    let (c, v) = t.json(Some("wso2am-4.2.0"), &args);
    assert_eq!(v["summary"]["info"], 1, "{v:#}");
    assert_eq!(
        (
            v["summary"]["error"].as_u64(),
            v["summary"]["warning"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(c, i32::from(exit_code::OK));
    let mut with_info = args.to_vec();
    with_info.extend(["--fail-on", "info"]);
    assert_eq!(
        code(&t, Some("wso2am-4.2.0"), &with_info),
        i32::from(exit_code::FINDINGS)
    );
}

#[test]
fn tool_errors_exit_2_with_a_message() {
    let t = CliTest::new("tuned-4.2");
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .args(["audit", "--root", "/nonexistent/apim-tune-root"])
        .output()
        .unwrap();
    let (c, err) = (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(c, 2);
    assert!(err.contains("is not a directory"), "{err}");

    let bad = fixtures().join("profiles/invalid-typo.toml");
    let (c, _, err) = t.run(None, &["--profile", bad.to_str().unwrap()]);
    assert_eq!(c, 2);
    assert!(
        err.contains("invalid-typo.toml:7:1") && err.contains("mni"),
        "{err}"
    );

    let (c, _, err) = t.run(Some("no-such-home"), &[]);
    assert_eq!(c, 2);
    assert!(err.contains("not a directory"), "{err}");

    for args in [
        &["--cores", "0"][..],
        &["--memory", "lots"],
        // A bare number is not 16 MiB (issue 13): it needs its unit.
        &["--memory", "16"],
        &["--role", "dmz"],
        &["--nat", "maybe"],
        &["--apim-version", "four"],
        &["--format", "xml"],
    ] {
        let (c, _, err) = t.run(None, args);
        assert_eq!(c, 2, "{args:?}: {err}");
    }
}

#[test]
fn help_documents_exit_codes() {
    let out = assert_cmd::Command::cargo_bin("apim-tune")
        .unwrap()
        .args(["audit", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Exit codes:") && help.contains("2  apim-tune itself failed"),
        "{help}"
    );
}
