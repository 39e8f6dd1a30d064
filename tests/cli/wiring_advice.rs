//! Package D on fake roots: H2 per role, distributed wiring left on localhost (4.x and 2.x),
//! shared databases on loopback, pools against `--db-max-connections`, unbounded waits (with
//! `--diff` and convergence), and snake_case pool options that set nothing.

use super::CliTest;
use serde_json::Value;

const GW: &str = "wso2am-4.2.0";
const KM: &str = "wso2am-2.6.0";

/// `(code, subject, severity, fixable)` of every finding of package D's codes and APM014, by
/// code then subject.
fn ours(v: &Value) -> Vec<(String, String, String, bool)> {
    let mut rows: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let c = f["code"].as_str().unwrap();
            c.starts_with("APM03") || c == "APM014"
        })
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["fixable"] == true,
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(code: &str, subject: &str, severity: &str, fixable: bool) -> (String, String, String, bool) {
    (code.into(), subject.into(), severity.into(), fixable)
}

const HOST: [&str; 6] = ["--cores", "4", "--memory", "8G", "--nat", "no"];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a: Vec<&str> = HOST.to_vec();
    a.extend_from_slice(extra);
    a
}

/// The stock 4.2.0 deployment.toml's databases (repository/conf/deployment.toml of the zip).
const STOCK_DATABASES: &str = r#"[server]
hostname = "localhost"

[database.apim_db]
type = "h2"
url = "jdbc:h2:./repository/database/WSO2AM_DB;AUTO_SERVER=TRUE;DB_CLOSE_ON_EXIT=FALSE"
username = "wso2carbon"
password = "wso2carbon"

[database.shared_db]
type = "h2"
url = "jdbc:h2:./repository/database/WSO2SHARED_DB;DB_CLOSE_ON_EXIT=FALSE"
username = "wso2carbon"
password = "wso2carbon"
"#;

#[test]
fn stock_h2_on_every_role() {
    let t = CliTest::new("d-gateway-4.2");
    std::fs::write(
        t.root
            .join("opt/wso2am-4.2.0/repository/conf/deployment.toml"),
        STOCK_DATABASES,
    )
    .unwrap();
    for (role, severity) in [
        ("all-in-one", "warning"),
        ("gateway", "error"),
        ("key-manager", "error"),
        ("traffic-manager", "error"),
        ("control-plane", "error"),
    ] {
        let (_, v) = t.json(Some(GW), &args(&["--role", role]));
        let h2: Vec<_> = ours(&v)
            .into_iter()
            .filter(|(c, ..)| c == "APM030")
            .collect();
        // A gateway never opens the API-M database: only its shared database counts.
        let mut want = vec![row(
            "APM030",
            "deployment.toml:database.shared_db.url",
            severity,
            false,
        )];
        if role != "gateway" {
            want.insert(
                0,
                row(
                    "APM030",
                    "deployment.toml:database.apim_db.url",
                    severity,
                    false,
                ),
            );
        }
        assert_eq!(h2, want, "{role}");
    }
}

#[test]
fn stock_wiring_per_role_on_4x() {
    let t = CliTest::new("d-gateway-4.2");
    std::fs::write(
        t.root
            .join("opt/wso2am-4.2.0/repository/conf/deployment.toml"),
        STOCK_DATABASES,
    )
    .unwrap();
    let wiring = |role: &str| -> Vec<String> {
        let (_, v) = t.json(Some(GW), &args(&["--role", role]));
        ours(&v)
            .into_iter()
            .filter(|(c, ..)| c == "APM031")
            .map(|(_, s, ..)| s)
            .collect()
    };
    assert_eq!(
        wiring("gateway"),
        vec![
            "deployment.toml:apim.event_hub.event_listening_endpoints",
            "deployment.toml:apim.event_hub.service_url",
            "deployment.toml:apim.key_manager.service_url",
            "deployment.toml:apim.throttling.service_url",
            "deployment.toml:apim.throttling.throttle_decision_endpoints",
            "deployment.toml:apim.throttling.url_group.traffic_manager_urls",
        ]
    );
    assert_eq!(
        wiring("key-manager"),
        vec![
            "deployment.toml:apim.event_hub.event_listening_endpoints",
            "deployment.toml:apim.event_hub.service_url",
        ]
    );
    assert_eq!(
        wiring("traffic-manager"),
        vec![
            "deployment.toml:apim.event_hub.event_listening_endpoints",
            "deployment.toml:apim.event_hub.service_url",
        ]
    );
    assert!(wiring("control-plane").is_empty());
    assert!(wiring("all-in-one").is_empty());
}

#[test]
fn half_wired_gateway() {
    let t = CliTest::new("d-gateway-4.2");
    // The role comes from `server_role = "gateway-worker"`.
    let (code, v) = t.json(Some(GW), &args(&[]));
    assert_eq!(code, 1);
    assert_eq!(
        ours(&v),
        vec![
            row(
                "APM014",
                "deployment.toml:database.apim_db.pool_options.max_idle",
                "error",
                false
            ),
            row(
                "APM031",
                "deployment.toml:apim.key_manager.service_url",
                "warning",
                false
            ),
            // The gateway never opens the API-M database: only the shared one counts.
            row(
                "APM032",
                "deployment.toml:database.shared_db.url",
                "warning",
                false
            ),
            row(
                "APM034",
                "deployment.toml:database.apim_db.pool_options.maxWait",
                "warning",
                true
            ),
        ]
    );
    // `shared_db`'s `max_active` has an alias: it is in effect, not reported.
    let text = v.to_string();
    assert!(
        !text.contains("shared_db.pool_options.max_active"),
        "{text}"
    );
    // No user name or password of the datasources, not even from the URL's parameters.
    let (_, out, err) = t.run(Some(GW), &args(&[]));
    for secret in ["d-fixture-password", "apimuser", "shareduser"] {
        assert!(
            !text.contains(secret) && !out.contains(secret) && !err.contains(secret),
            "{secret} printed"
        );
    }
}

#[test]
fn pools_against_the_servers_connection_limit() {
    let t = CliTest::new("d-gateway-4.2");
    let pools = |extra: &[&str]| -> Vec<Value> {
        let (_, v) = t.json(Some(GW), &args(extra));
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "APM033")
            .cloned()
            .collect()
    };
    // Without the server's limit there is nothing to judge against.
    assert!(pools(&[]).is_empty());
    let over = pools(&["--db-max-connections", "200"]);
    assert_eq!(over.len(), 1, "{over:?}");
    let f = &over[0];
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["current"], "250 (sum of maxActive)");
    assert_eq!(
        f["message"],
        "this node's pools on MySQL localhost:3306 can open 250 connections (`apim_db` 150, `shared_db` 100), above the server's max_connections 200"
    );
    assert!(
        f["notes"].to_string().contains("`fleet`"),
        "the deployment's sum is named: {f}"
    );
    assert!(pools(&["--db-max-connections", "250"]).is_empty());
}

#[test]
fn unbounded_wait_is_fixed_and_converges() {
    let t = CliTest::new("d-gateway-4.2");
    let out = t.audit(Some(GW), &args(&["--diff"])).output().unwrap();
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.contains("-maxWait = -1"), "{diff}");
    assert!(diff.contains("+maxWait = 60000"), "{diff}");
    assert!(!diff.contains("d-fixture-password"), "{diff}");
    let (_, stdout, stderr) = t.run(Some(GW), &args(&["--apply", "--yes", "--format", "json"]));
    let v: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    let after = ours(&v);
    assert!(
        after.iter().all(|(c, ..)| c != "APM034"),
        "the wait is bounded now: {after:?}"
    );
    assert!(
        after.iter().all(|(.., fixable)| !fixable),
        "nothing of ours left to fix: {after:?}"
    );
    // Nothing new: the other findings are those of before.
    assert_eq!(after.len(), 3, "{after:?}");
    let (_, again, _) = t.run(Some(GW), &args(&["--apply", "--yes"]));
    assert!(again.contains("nothing to change"), "{again}");
}

#[test]
fn legacy_key_manager() {
    let t = CliTest::new("d-keymanager-2.6");
    let (_, v) = t.json(Some(KM), &args(&["--role", "key-manager"]));
    assert_eq!(
        ours(&v),
        vec![
            row(
                "APM030",
                "master-datasources.xml:/datasources-configuration/datasources/datasource[name='WSO2AM_DB']/definition/configuration/url",
                "error",
                false
            ),
            row(
                "APM030",
                "master-datasources.xml:/datasources-configuration/datasources/datasource[name='WSO2_CARBON_DB']/definition/configuration/url",
                "error",
                false
            ),
            row(
                "APM031",
                "api-manager.xml:/APIManager/APIKeyValidator/ThriftServerHost",
                "warning",
                false
            ),
            row(
                "APM031",
                "api-manager.xml:/APIManager/OAuthConfigurations/RevokeAPIURL",
                "warning",
                false
            ),
            row(
                "APM034",
                "master-datasources.xml:/datasources-configuration/datasources/datasource[name='WSO2AM_DB']/definition/configuration/maxWait",
                "warning",
                true
            ),
        ]
    );
    let revoke = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"].as_str().unwrap().ends_with("RevokeAPIURL"))
        .unwrap();
    assert!(
        revoke["why"]
            .as_str()
            .unwrap()
            .contains("a revoked token keeps working"),
        "{revoke}"
    );
    // As a gateway the same file's key-validator URL is the one left on localhost.
    let (_, v) = t.json(Some(KM), &args(&["--role", "gateway"]));
    let wiring: Vec<_> = ours(&v)
        .into_iter()
        .filter(|(c, ..)| c == "APM031")
        .map(|(_, s, ..)| s)
        .collect();
    assert_eq!(
        wiring,
        vec!["api-manager.xml:/APIManager/APIKeyValidator/ServerURL"]
    );
    // All-in-one: localhost is right, H2 is only unsupported for production.
    let (_, v) = t.json(Some(KM), &args(&["--role", "all-in-one"]));
    let all = ours(&v);
    assert!(all.iter().all(|(c, ..)| c != "APM031"), "{all:?}");
    assert!(
        all.iter()
            .filter(|(c, ..)| c == "APM030")
            .all(|(_, _, s, _)| s == "warning"),
        "{all:?}"
    );
    // The 2.x datasource wait is fixed in place and converges.
    let (_, stdout, stderr) = t.run(
        Some(KM),
        &args(&[
            "--role",
            "key-manager",
            "--apply",
            "--yes",
            "--format",
            "json",
        ]),
    );
    let v: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    assert!(ours(&v).iter().all(|(c, ..)| c != "APM034"), "{v}");
    let xml = std::fs::read_to_string(
        t.root
            .join("opt/wso2am-2.6.0/repository/conf/datasources/master-datasources.xml"),
    )
    .unwrap();
    assert_eq!(xml.matches("<maxWait>60000</maxWait>").count(), 2, "{xml}");
}

/// Credentials inside the URL itself (DB2's `:password=…;` after the database name, Oracle's
/// `user/password@//host`) never reach a report of a distributed node, where APM032 and APM033
/// name the database server.
#[test]
fn credentials_inside_database_urls_are_never_printed() {
    let t = CliTest::new("d-gateway-4.2");
    std::fs::write(
        t.root
            .join("opt/wso2am-4.2.0/repository/conf/deployment.toml"),
        r#"[server]
hostname = "gw.example.internal"

[database.apim_db]
type = "db2"
url = "jdbc:db2://localhost:50000/WSO2AM:password=Hunter2Secret;user=db2admin;"

[database.shared_db]
type = "oracle"
url = "jdbc:oracle:thin:scott/TigerSecret@//127.0.0.1:1521/ORCL"
"#,
    )
    .unwrap();
    for role in ["gateway", "key-manager"] {
        for format in ["text", "json", "sarif", "junit", "markdown"] {
            let (_, out, err) = t.run(
                Some(GW),
                &args(&[
                    "--role",
                    role,
                    "--format",
                    format,
                    "--db-max-connections",
                    "10",
                ]),
            );
            assert!(out.contains("APM032"), "{role} {format}: no APM032\n{out}");
            for secret in ["Hunter2Secret", "TigerSecret"] {
                assert!(
                    !out.contains(secret) && !err.contains(secret),
                    "{role} {format}: {secret} printed\n{out}{err}"
                );
            }
        }
        // The findings name the server, never the user (a diff's context line may show the
        // file's own user name with its password masked, as every diff does).
        let (_, v) = t.json(
            Some(GW),
            &args(&["--role", role, "--db-max-connections", "10"]),
        );
        let findings = v["findings"].to_string();
        for user in ["db2admin", "scott"] {
            assert!(!findings.contains(user), "{role}: {user} in a finding");
        }
    }
}
