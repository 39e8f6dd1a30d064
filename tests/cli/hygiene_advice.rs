//! Package G of issue 14 through the real binary: logging that costs throughput (APM040,
//! APM041), revocation not pushed (APM042), security hygiene (APM043-APM046). Each check fires on
//! a fixture and not on the same home cleaned up, on both layouts where the setting exists, and
//! no output format carries a password, the shipped ones included.

use super::CliTest;
use std::collections::BTreeSet;

const MODERN: &str = "g-hygiene-4.2";
const MODERN_HOME: &str = "wso2am-4.2.0";
const LEGACY: &str = "g-hygiene-2.6";
const LEGACY_HOME: &str = "wso2am-2.6.0";

/// The shipped keystore password, never to be printed (split so a grep of the sources for the
/// literal finds the fixtures only).
const SHIPPED_STORE_PASSWORD: &str = concat!("wso2", "carbon");

fn ours(code: &str) -> bool {
    matches!(
        code,
        "APM040" | "APM041" | "APM042" | "APM043" | "APM044" | "APM045" | "APM046"
    )
}

/// `CODE subject` of every finding of this package, sorted.
fn findings(t: &CliTest, home: &str, args: &[&str]) -> Vec<String> {
    let (_, v) = t.json(Some(home), args);
    let set: BTreeSet<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| ours(f["code"].as_str().unwrap()))
        .map(|f| {
            format!(
                "{} {}",
                f["code"].as_str().unwrap(),
                f["subject"].as_str().unwrap()
            )
        })
        .collect();
    set.into_iter().collect()
}

fn edit(t: &CliTest, rel: &str, from: &str, to: &str) {
    let path = t.root.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} has no `{from}`");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn every_check_fires_on_the_4x_fixture_and_not_once_cleaned() {
    let t = CliTest::new(MODERN);
    assert_eq!(
        findings(&t, MODERN_HOME, &[]),
        vec![
            "APM040 deployment.toml:apim.correlation_logs.enable",
            "APM040 log4j2.properties:logger.synapse-wire.level",
            "APM041 log4j2.properties:logger.PassThroughAccess.level",
            "APM042 deployment.toml:apim.token.revocation.enable_realtime_notifier",
            "APM043 deployment.toml:super_admin.password",
            "APM044 deployment.toml:keystore.tls.password",
            "APM045 deployment.toml:apim.cors.allow_origins",
            "APM046 deployment.toml:transport.passthru_https.listener.parameters.HttpsProtocols",
        ]
    );

    let toml = "opt/wso2am-4.2.0/repository/conf/deployment.toml";
    let log4j2 = "opt/wso2am-4.2.0/repository/conf/log4j2.properties";
    edit(
        &t,
        toml,
        "password = \"admin\"",
        "password = \"Kx7-own-admin\"",
    );
    edit(
        &t,
        toml,
        &format!("password = \"{SHIPPED_STORE_PASSWORD}\""),
        "password = \"Kx7-own-store\"",
    );
    edit(
        &t,
        toml,
        "allow_origins = \"*\"",
        "allow_origins = \"https://app.example.com\"",
    );
    edit(&t, toml, "TLSv1,TLSv1.1,TLSv1.2", "TLSv1.2,TLSv1.3");
    edit(&t, toml, "enable = true", "enable = false");
    edit(
        &t,
        toml,
        "enable_realtime_notifier = false",
        "enable_realtime_notifier = true",
    );
    // The wire and access loggers stay declared, as WSO2 ships the wire one, but unlisted.
    edit(&t, log4j2, "synapse-wire, PassThroughAccess, ", "");
    assert_eq!(findings(&t, MODERN_HOME, &[]), Vec::<String>::new());
}

#[test]
fn every_check_fires_on_the_2x_fixture_and_not_once_cleaned() {
    let t = CliTest::new(LEGACY);
    assert_eq!(
        findings(&t, LEGACY_HOME, &["--role", "gateway"]),
        vec![
            "APM040 log4j.properties:log4j.logger.org.apache.synapse",
            "APM040 wso2server.sh:-DenableCorrelationLogs",
            "APM041 log4j.properties:log4j.logger.org.apache.synapse.transport.http.access",
            "APM043 user-mgt.xml:/UserManager/Realm/Configuration/AdminUser/Password",
            "APM044 carbon.xml:/Server/Security/KeyStore/Password",
            "APM045 api-manager.xml:/APIManager/CORSConfiguration/Access-Control-Allow-Origin",
            "APM046 axis2.xml:/axisconfig/transportReceiver[@name='https']/parameter[@name='HttpsProtocols']",
            "APM046 catalina-server.xml:/Server/Service/Connector/@sslEnabledProtocols",
        ]
    );

    let conf = "opt/wso2am-2.6.0/repository/conf";
    edit(
        &t,
        &format!("{conf}/log4j.properties"),
        "org.apache.synapse=DEBUG",
        "org.apache.synapse=INFO",
    );
    edit(
        &t,
        &format!("{conf}/log4j.properties"),
        "http.access=INFO",
        "http.access=WARN",
    );
    edit(
        &t,
        "opt/wso2am-2.6.0/bin/wso2server.sh",
        "-DenableCorrelationLogs=true",
        "-DenableCorrelationLogs=false",
    );
    edit(
        &t,
        &format!("{conf}/carbon.xml"),
        &format!("<Password>{SHIPPED_STORE_PASSWORD}</Password>"),
        "<Password>Kx7-own-store</Password>",
    );
    edit(
        &t,
        &format!("{conf}/api-manager.xml"),
        "<Access-Control-Allow-Origin>*<",
        "<Access-Control-Allow-Origin>https://app.example.com<",
    );
    edit(
        &t,
        &format!("{conf}/user-mgt.xml"),
        "<Password>admin</Password>",
        "<Password>Kx7-own-admin</Password>",
    );
    for file in ["axis2/axis2.xml", "tomcat/catalina-server.xml"] {
        edit(
            &t,
            &format!("{conf}/{file}"),
            "TLSv1,TLSv1.1,TLSv1.2",
            "TLSv1.2",
        );
    }
    assert_eq!(
        findings(&t, LEGACY_HOME, &["--role", "gateway"]),
        Vec::<String>::new()
    );
}

/// Each check on the roles it concerns: API traffic (gateway, all-in-one) for Synapse logging,
/// the access log and CORS; revocation where tokens are revoked (key manager, all-in-one).
#[test]
fn checks_follow_the_role() {
    let t = CliTest::new(MODERN);
    let as_role = |role: &str| findings(&t, MODERN_HOME, &["--role", role]);
    let gateway = as_role("gateway");
    assert!(
        gateway.iter().any(|f| f.starts_with("APM041")),
        "{gateway:?}"
    );
    assert!(
        gateway.iter().any(|f| f.starts_with("APM045")),
        "{gateway:?}"
    );
    assert!(
        !gateway.iter().any(|f| f.starts_with("APM042")),
        "{gateway:?}"
    );
    let km = as_role("key-manager");
    assert!(km.iter().any(|f| f.starts_with("APM042")), "{km:?}");
    assert!(!km.iter().any(|f| f.starts_with("APM041")), "{km:?}");
    assert!(!km.iter().any(|f| f.starts_with("APM045")), "{km:?}");

    // The wire log is a warning where API traffic flows, information elsewhere.
    let severity = |role: &str| -> String {
        let (_, v) = t.json(Some(MODERN_HOME), &["--role", role]);
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["subject"] == "log4j2.properties:logger.synapse-wire.level")
            .map(|f| f["severity"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(severity("gateway"), "warning");
    assert_eq!(severity("key-manager"), "info");
}

/// No report format shows a password: not the shipped keystore one, not the admin's.
#[test]
fn no_format_prints_a_password() {
    for (scenario, home) in [(MODERN, MODERN_HOME), (LEGACY, LEGACY_HOME)] {
        let t = CliTest::new(scenario);
        let mut outputs = Vec::new();
        for format in ["text", "json", "sarif", "junit", "markdown"] {
            let report = t.dir.path().join(format!("report.{format}"));
            let output = format!("{format}={}", report.display());
            let (_, out, err) = t.run(Some(home), &["--format", format, "--output", &output]);
            assert!(
                out.contains("APM043") && out.contains("APM044"),
                "{scenario} {format}: {out}{err}"
            );
            outputs.push((format!("{format} stdout"), out));
            outputs.push((format!("{format} stderr"), err));
            outputs.push((
                format!("{format} --output"),
                std::fs::read_to_string(&report).unwrap(),
            ));
        }
        let (_, diff, err) = t.run(Some(home), &["--diff"]);
        outputs.push(("diff".into(), diff));
        outputs.push(("diff stderr".into(), err));
        for (what, text) in &outputs {
            // The keystore's file name is `wso2carbon.jks`: only that spelling may appear.
            let bare = text.matches(SHIPPED_STORE_PASSWORD).count();
            let as_file = text
                .matches(&format!("{SHIPPED_STORE_PASSWORD}.jks"))
                .count();
            assert_eq!(
                bare, as_file,
                "{scenario} {what} shows the keystore password:\n{text}"
            );
            for leak in [
                "password = \"admin\"",
                "current: admin",
                "\"current\": \"admin\"",
                "`admin` → ",
                "<Password>admin",
            ] {
                assert!(
                    !text.contains(leak),
                    "{scenario} {what} shows the admin password:\n{text}"
                );
            }
        }
    }
}
