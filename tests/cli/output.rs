//! Output hygiene: colour control, the message convention, the per-key sysctl report.

use super::CliTest;

#[test]
fn colour_follows_the_flag_and_no_color() {
    let t = CliTest::new("legacy-2.6");
    let stdout = |args: &[&str], no_color: bool| {
        let mut cmd = t.audit_with_color(Some("wso2am-2.6.0"), args);
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    assert!(
        stdout(&["--color", "always"], false).contains("\u{1b}["),
        "--color always"
    );
    assert!(
        stdout(&["--color", "always"], true).contains("\u{1b}["),
        "always beats NO_COLOR"
    );
    assert!(
        !stdout(&[], false).contains('\u{1b}'),
        "auto on a pipe is plain"
    );
    assert!(!stdout(&[], true).contains('\u{1b}'), "NO_COLOR");
    assert!(!stdout(&["--format", "json", "--color", "always"], false).contains('\u{1b}'));
}

#[test]
fn messages_follow_the_convention() {
    for (scenario, home) in [
        ("legacy-2.6", "wso2am-2.6.0"),
        ("modern-4.2", "wso2am-4.2.0"),
        ("broken", "apim"),
    ] {
        let (_, v) = CliTest::new(scenario).json(Some(home), &["--java-version", "17"]);
        for f in v["findings"].as_array().unwrap() {
            let m = f["message"].as_str().unwrap();
            let first = m.chars().next().unwrap();
            assert!(
                first.is_lowercase() || first == '`' || first.is_ascii_digit(),
                "message must start lowercase or with a `key`: {m}"
            );
            assert!(!m.ends_with('.'), "message ends with a period: {m}");
            let why = f["why"].as_str().unwrap_or("");
            assert!(!why.ends_with('.'), "why ends with a period: {why}");
            assert!(
                f["subject"].as_str().unwrap().contains(':'),
                "subject names its family: {f:#}"
            );
        }
    }
}

#[test]
fn every_sysctl_key_reports_live_winner_and_shadowed_lines() {
    let (_, v) = CliTest::new("legacy-2.6").json(None, &[]);
    let keys = v["sysctl"].as_array().unwrap();
    let rmem = keys
        .iter()
        .find(|k| k["key"] == "net.core.rmem_max")
        .unwrap();
    assert_eq!(rmem["live"], "8388608");
    assert_eq!(rmem["persisted"]["file"], "etc/sysctl.conf");
    assert_eq!(rmem["persisted"]["line"], 8);
    assert_eq!(rmem["shadowed"][0]["file"], "etc/sysctl.d/10-network.conf");
    // A profile key that is not persisted anywhere still reports its live value.
    let somaxconn = keys
        .iter()
        .find(|k| k["key"] == "net.core.somaxconn")
        .unwrap();
    assert_eq!(somaxconn["live"], "128");
    assert!(somaxconn["persisted"].is_null());
}
