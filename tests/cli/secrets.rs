//! No password or secret ever appears in any output, whatever the format.

use super::CliTest;

const SECRET: &str = "Zq9-unique-S3cret";

/// The `modern-4.2` root, the path of its deployment.toml and that file's text with the
/// datasource's password line replaced by `lines` (not written yet).
fn modern_with_password_line(lines: &str) -> (CliTest, std::path::PathBuf, String) {
    let t = CliTest::new("modern-4.2");
    let toml = t
        .root
        .join("opt/wso2am-4.2.0/repository/conf/deployment.toml");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace("password = \"modern-fixture-password\"", lines);
    (t, toml, text)
}

#[test]
fn passwords_never_reach_any_output() {
    let (t, toml, text) = modern_with_password_line(&format!(
        "password = \"{SECRET}\"\n\n[apim.key_manager]\nclient_secret = \"{SECRET}\"\nkey_password = \"{SECRET}\""
    ));
    // Also a password inside the JDBC URL, which findings may quote.
    let text = text.replace(
        "jdbc:postgresql://db.example.internal:5432/apim",
        &format!("jdbc:postgresql://db.example.internal:5432/apim?user=apim&password={SECRET}"),
    );
    std::fs::write(&toml, text).unwrap();

    let legacy = CliTest::new("legacy-2.6");
    let ds = legacy
        .root
        .join("opt/wso2am-2.6.0/repository/conf/datasources/master-datasources.xml");
    let text = std::fs::read_to_string(&ds)
        .unwrap()
        .replace("legacy-fixture-password", SECRET)
        .replace(
            "jdbc:oracle:thin:@db.example.internal:1521/APIM",
            &format!(
                "jdbc:oracle:thin:apim/{SECRET}@db.example.internal:1521/APIM?password={SECRET}"
            ),
        );
    std::fs::write(&ds, text).unwrap();

    // And in the start-up scripts, as a system property.
    for (t, script) in [
        (&t, "opt/wso2am-4.2.0/bin/api-manager.sh"),
        (&legacy, "opt/wso2am-2.6.0/bin/wso2server.sh"),
    ] {
        let path = t.root.join(script);
        let text = std::fs::read_to_string(&path).unwrap().replacen(
            "org.wso2.carbon.bootstrap.Bootstrap",
            &format!(
                "-Djavax.net.ssl.keyStorePassword={SECRET} org.wso2.carbon.bootstrap.Bootstrap"
            ),
            1,
        );
        std::fs::write(&path, text).unwrap();
    }

    for (t, home) in [(&t, "wso2am-4.2.0"), (&legacy, "wso2am-2.6.0")] {
        for format in ["text", "json", "sarif", "junit", "markdown", "html"] {
            let report = t.dir.path().join(format!("report.{format}"));
            let output = format!("{format}={}", report.display());
            let (_, out, err) = t.run(
                Some(home),
                &[
                    "--format",
                    format,
                    "--java-version",
                    "17",
                    "--output",
                    &output,
                ],
            );
            let written = std::fs::read_to_string(&report).unwrap();
            for (what, text) in [("stdout", &out), ("stderr", &err), ("--output", &written)] {
                assert!(
                    !text.contains(SECRET),
                    "{format} {what} leaks the secret:\n{text}"
                );
            }
            assert!(
                out.contains("alidation"),
                "{format}: the datasource was audited"
            );
        }
        let (code, diff, err) = t.run(Some(home), &["--diff", "--java-version", "17"]);
        assert_eq!(code, 1, "{err}");
        assert!(
            !diff.contains(SECRET) && !err.contains(SECRET),
            "the diff leaks:\n{diff}"
        );
    }
}

#[test]
fn secret_jvm_options_are_masked() {
    let t = CliTest::new("tuned-4.2");
    let script = t.root.join("opt/wso2am-4.2.0/bin/api-manager.sh");
    let text = std::fs::read_to_string(&script).unwrap().replace(
        "-DentityExpansionLimit=10000",
        &format!("-DentityExpansionLimit=10000 -Djavax.net.ssl.trustStorePassword={SECRET}"),
    );
    std::fs::write(&script, text).unwrap();
    let profile = t.dir.path().join("site.toml");
    std::fs::write(
        &profile,
        "[meta]\nname='s'\nsummary='s'\nextends='gateway'\n[jvm.'-Djavax.net.ssl.trustStorePassword']\nabsent = true\nwhy = 'keep store passwords out of the command line'\n",
    )
    .unwrap();
    for format in ["text", "json", "html"] {
        let (_, out, err) = t.run(
            Some("wso2am-4.2.0"),
            &["--profile", profile.to_str().unwrap(), "--format", format],
        );
        assert!(
            out.contains("trustStorePassword"),
            "the flag was judged: {out}{err}"
        );
        assert!(
            !out.contains(SECRET) && !err.contains(SECRET),
            "{format} leaks:\n{out}"
        );
    }
}

/// `diff` applies to `t`'s root with `patch -p1`, every hunk where its header says, with no
/// fuzz: a hunk whose context held a masked secret would not (issue 17).
fn applies_exactly(t: &CliTest, diff: &str) {
    let file = t.dir.path().join("changes.diff");
    std::fs::write(&file, diff).unwrap();
    let out = std::process::Command::new("patch")
        .args(["-p1", "--dry-run", "--fuzz=0", "-d"])
        .arg(&t.root)
        .arg("-i")
        .arg(&file)
        .output()
        .expect("the `patch` program (Debian package `patch`)");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !said.contains("offset") && !said.contains("fuzz"),
        "patch: {said}{}\n{diff}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// No context line of a diff holds a secret, masked or not: context stops at a secret line.
fn no_secret_in_context(diff: &str) {
    for line in diff.lines().filter(|l| l.starts_with(' ')) {
        assert!(!line.contains("****"), "{line:?} is context in:\n{diff}");
    }
}

/// The vocabulary knows `auth_token` is a secret but not names that only look like one: a diff
/// that cut its context at `token_cache`, `max_tokens` or a `<RetainOldAccessToken>true</…>`
/// flag would hide the settings around a change.
#[test]
fn look_alike_names_stay_readable_in_the_diff() {
    let (t, toml, text) = modern_with_password_line(&format!(
        "auth_token = \"{SECRET}\"\ntoken_cache = 100\nmax_tokens = 5"
    ));
    std::fs::write(&toml, text).unwrap();
    let (code, diff, err) = t.run(Some("wso2am-4.2.0"), &["--diff", "--java-version", "17"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        !diff.contains(SECRET) && !diff.contains("auth_token"),
        "{diff}"
    );
    for shown in [" token_cache = 100\n", " max_tokens = 5\n"] {
        assert!(diff.contains(shown), "the diff shows {shown:?}:\n{diff}");
    }
    applies_exactly(&t, &diff);

    let legacy = CliTest::new("legacy-2.6");
    let (code, diff, err) = legacy.run(Some("wso2am-2.6.0"), &["--diff", "--java-version", "17"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        diff.contains("<RetainOldAccessToken>true</RetainOldAccessToken>"),
        "a boolean flag named like a token is shown:\n{diff}"
    );
    applies_exactly(&legacy, &diff);
}

/// A password equal to a name (`admin`), credentials under names that say nothing (`Basic …`,
/// `Bearer …`): none is context (issue 17; what the masker shows of a changed secret line is
/// `edit::diff`'s table test). The `[super_admin]` table right after the change stays readable,
/// unmasked, and every hunk applies.
#[test]
fn a_password_equal_to_a_name_and_http_credentials_in_the_diff() {
    let (t, toml, text) = modern_with_password_line("password = \"admin\"");
    let text = text.replacen("username = \"apim\"\n", "username = \"apimadmin\"\n", 1);
    let text = text.replacen(
        "\n[database.apim_db.pool_options]",
        "[super_admin]\nusername = \"admin\"\npassword = \"admin\"\nx_auth = \"Bearer AbearerTok55\"\nclient.authorization = \"Basic dXNlcjpzZWNyZXRzZWNyZXQ=\"\n[database.apim_db.pool_options]",
        1,
    );
    std::fs::write(&toml, text).unwrap();
    let (code, diff, err) = t.run(Some("wso2am-4.2.0"), &["--diff", "--java-version", "17"]);
    assert_eq!(code, 1, "{err}");
    assert!(diff.contains(" [super_admin]\n"), "{diff}");
    for hidden in [
        "AbearerTok55",
        "dXNlcjpzZWNyZXRzZWNyZXQ=",
        "super_****",
        "\"admin\"",
        "masked",
    ] {
        assert!(!diff.contains(hidden), "{hidden:?} in:\n{diff}{err}");
    }
    no_secret_in_context(&diff);
    applies_exactly(&t, &diff);
}

/// A secret attribute whose value spans lines: the parse error's line does not name it, and
/// its entity must still not be quoted (issue 15).
#[test]
fn a_parse_error_in_a_secret_attribute_spanning_lines_is_masked() {
    let t = CliTest::new("legacy-2.6");
    let file = t
        .root
        .join("opt/wso2am-2.6.0/repository/conf/tomcat/catalina-server.xml");
    let text = std::fs::read_to_string(&file).unwrap().replacen(
        "<Service name=\"Catalina\">",
        "<Service name=\"Catalina\">\n        <Connector port=\"9443\" keystorePass=\"Start\nAbc&Leak9;def\"/>",
        1,
    );
    std::fs::write(&file, text).unwrap();
    let (_, out, err) = t.run(Some("wso2am-2.6.0"), &["--java-version", "17"]);
    assert!(
        out.contains("undefined entity `****` in attribute value"),
        "the parse error is reported:\n{out}{err}"
    );
    assert!(
        !out.contains("Leak9") && !err.contains("Leak9"),
        "{out}{err}"
    );
}
