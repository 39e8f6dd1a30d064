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
fn only_info_findings_pass_at_warning() {
    // modern-4.2 as traffic-manager: only host and JVM checks; JDK 8 makes MaxPermSize info.
    let t = CliTest::new("tuned-4.2");
    let (c, v) = t.json(
        Some("wso2am-4.2.0"),
        &["--cores", "8", "--role", "traffic-manager"],
    );
    assert!(
        v["summary"]["error"] == 0 && v["summary"]["warning"] == 0,
        "{v:#}"
    );
    assert_eq!(c, 0);
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
