//! `apim-tune facts` through the binary: the four-node fleet fixture (tests/fixtures/fleet), the
//! example homes and the real WSO2 files of every version, secrets, fingerprints and salts, two
//! homes on one host, unit resolution, bad input.

use super::{copy_tree, fixtures};
use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const SALT: &str = "fleet-fixture-salt";
/// Every secret value written in the fleet fixture and in examples/apim-4.2.0.
const SECRETS: &[&str] = &[
    "fleet-admin-secret",
    "fleet-db-secret",
    "fleet-keystore-secret",
    "fleet0encryption0key",
    "example-admin-secret",
    "example-db-secret",
    "example-keystore-secret",
];

fn node(name: &str) -> PathBuf {
    fixtures().join("fleet/nodes").join(name)
}

/// `apim-tune facts --root ROOT [--apim-home ROOT/opt/H]…` in an environment that cannot leak
/// in; `salt` sets APIM_TUNE_FLEET_SALT.
fn facts(root: &Path, homes: &[&str], salt: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("apim-tune").unwrap();
    cmd.env_remove("JAVA_HOME")
        .env_remove("APIM_HOME")
        .env_remove("CARBON_HOME")
        .env_remove("APIM_TUNE_FLEET_SALT")
        .arg("facts")
        .arg("--root")
        .arg(root);
    for h in homes {
        cmd.arg("--apim-home").arg(root.join("opt").join(h));
    }
    if let Some(s) = salt {
        cmd.env("APIM_TUNE_FLEET_SALT", s);
    }
    cmd.args(args);
    cmd
}

fn export(root: &Path, homes: &[&str], salt: Option<&str>) -> (String, Value) {
    let out = facts(root, homes, salt, &[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{stdout}"));
    (stdout, v)
}

fn home_of<'a>(v: &'a Value, path: &str) -> &'a Value {
    v["homes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["path"] == path)
        .unwrap_or_else(|| panic!("no home {path} in {:#}", v["homes"]))
}

fn endpoint<'a>(home: &'a Value, target: &str) -> Vec<(&'a str, Option<u64>)> {
    home["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"] == target)
        .flat_map(|e| e["urls"].as_array().unwrap())
        .map(|u| (u["host"].as_str().unwrap(), u["port"].as_u64()))
        .collect()
}

#[test]
fn a_gateway_export_holds_every_fact() {
    let (_, v) = export(&node("gw1"), &["wso2am-4.2.0"], Some(SALT));
    assert_eq!(v["schema"], "apim-tune/facts/v1");
    assert_eq!(v["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["fingerprinted"], true);
    let h = &v["host"];
    assert_eq!(h["hostname"]["value"], "gw1");
    assert_eq!(h["hostname"]["source"], "proc/sys/kernel/hostname");
    assert_eq!(h["addresses"], serde_json::json!(["10.77.0.11"]));
    assert_eq!(h["nat"]["value"], "yes");
    assert_eq!(h["cores"]["value"], 4);
    assert_eq!(h["memory_mb"]["value"], 15940);
    assert_eq!(h["kernel"]["value"], "6.1.0-18-amd64");
    assert_eq!(h["jdk"]["value"], 17);
    assert_eq!(h["distro"]["value"], "debian 12");
    assert_eq!(h["container"], false);
    let somaxconn = &h["sysctl"]["net.core.somaxconn"];
    assert_eq!(somaxconn["live"], "4096");
    assert_eq!(somaxconn["boot"], "4096");
    assert_eq!(somaxconn["boot_source"], "etc/sysctl.d/90-apim.conf:11");
    // A service gets its unit's limits, not limits.conf's.
    let nofile = &h["limits"]["nofile"];
    assert_eq!(nofile["soft"], "65535");
    assert_eq!(nofile["hard"], "65535");
    assert_eq!(nofile["user"], "wso2carbon");
    assert!(
        nofile["source"]
            .as_str()
            .unwrap()
            .starts_with("etc/systemd/system/wso2am.service:"),
        "{nofile}"
    );
    assert_eq!(h["limits"]["nproc"]["soft"], "20000");

    let home = home_of(&v, "opt/wso2am-4.2.0");
    assert_eq!(home["version"]["value"], "4.2.0");
    assert_eq!(home["role"]["value"], "gateway");
    assert!(
        home["role"]["source"]
            .as_str()
            .unwrap()
            .contains("gateway-worker")
    );
    assert_eq!(home["offset"]["value"], 0);
    assert_eq!(home["hostname"]["value"], "gw1.example.internal");
    assert_eq!(home["node_ip"]["value"], "10.77.0.11");
    let expiry = &home["settings"]["cache.token_expiry"];
    assert_eq!(expiry["value"], "900");
    assert_eq!(expiry["unit"], "seconds");
    assert_eq!(expiry["written"], true);
    assert_eq!(home["settings"]["cache.km_token.enable"]["value"], "true");
    // Every catalog setting of the version is there, written or not.
    assert!(home["settings"].as_object().unwrap().len() > 30);
    assert_eq!(home["heap_min_mb"]["value"], 4096);
    assert_eq!(home["heap_max_mb"]["value"], 4096);
    assert!(
        home["heap_max_mb"]["source"]
            .as_str()
            .unwrap()
            .starts_with("opt/wso2am-4.2.0/bin/api-manager.sh:")
    );
    let apim_db = home["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "apim_db")
        .unwrap();
    assert_eq!(apim_db["engine"], "mysql");
    assert_eq!(apim_db["host"], "db.example.internal");
    assert_eq!(apim_db["port"], 3306);
    assert_eq!(apim_db["database"], "apim_db");
    assert_eq!(apim_db["max_active"], 100);
    assert_eq!(apim_db["max_wait_ms"], 60000);
    assert_eq!(apim_db["embedded"], false);
    assert_eq!(
        endpoint(home, "key_manager"),
        vec![("tm1.example.internal", Some(9444))]
    );
    // The planted wrong offset: the receivers at 9612/9712 belong to the key manager.
    let mut receivers = endpoint(home, "traffic_manager_receiver");
    receivers.sort();
    assert_eq!(
        receivers,
        vec![
            ("tm1.example.internal", Some(9612)),
            ("tm1.example.internal", Some(9712))
        ]
    );
    // `${mgt.transport.https.port}` is the node's own 9443 + offset.
    assert!(endpoint(home, "event_hub").contains(&("cp1.example.internal", Some(9443))));
    assert!(
        home["listen_ports"]
            .as_array()
            .unwrap()
            .contains(&9443.into())
    );
    assert_eq!(
        home["gateway_labels"],
        serde_json::json!(["Default", "Edge"])
    );
    assert_eq!(home["gateway_environments"], serde_json::json!([]));
    assert_eq!(home["clustering"]["enabled"], false);
    for key in [
        "keystore.primary",
        "keystore.primary.password",
        "keystore.tls",
        "encryption.key",
        "super_admin.password",
        "jwt.header",
    ] {
        let fp = home["fingerprints"][key]["hmac"].as_str().unwrap_or("");
        assert!(
            fp.starts_with("hmac-sha256:") && fp.len() == 12 + 64,
            "{key}: {fp}"
        );
    }
    assert_eq!(home["report"]["schema"], "apim-tune/audit/v1");
    assert_eq!(home["report"]["apim"]["home"], "/opt/wso2am-4.2.0");
}

#[test]
fn a_control_plane_exports_environments_clustering_and_its_ha_peer() {
    let (_, v) = export(&node("cp1"), &["wso2am-4.2.0"], Some(SALT));
    let home = home_of(&v, "opt/wso2am-4.2.0");
    assert_eq!(home["role"]["value"], "control-plane");
    let envs = home["gateway_environments"].as_array().unwrap();
    assert_eq!(envs.len(), 1);
    assert_eq!(envs[0]["name"], "Default");
    assert_eq!(envs[0]["kind"], "hybrid");
    assert_eq!(envs[0]["service_url"]["host"], "gw.example.internal");
    assert_eq!(envs[0]["service_url"]["port"], 9443);
    let c = &home["clustering"];
    assert_eq!(c["enabled"], true);
    assert_eq!(c["membership_scheme"], "wka");
    assert_eq!(c["domain"], "wso2.apim.cp.domain");
    assert_eq!(c["local_member_host"], "cp1.example.internal");
    assert_eq!(c["local_member_port"], 4000);
    assert_eq!(
        c["members"],
        serde_json::json!(["cp1.example.internal:4000", "cp2.example.internal:4000"])
    );
    assert_eq!(
        endpoint(home, "event_duplicate"),
        vec![("cp2.example.internal", Some(5672))]
    );
    assert_eq!(home["cache_invalidation"]["enabled"], "true");
    assert_eq!(home["cache_invalidation"]["domain"], "apim-fleet");
}

#[test]
fn two_homes_on_one_host_are_two_parts_with_their_own_role_offset_and_ports() {
    let (_, v) = export(
        &node("tm1"),
        &["wso2am-4.2.0", "wso2am-km-4.2.0"],
        Some(SALT),
    );
    assert_eq!(v["homes"].as_array().unwrap().len(), 2);
    let tm = home_of(&v, "opt/wso2am-4.2.0");
    let km = home_of(&v, "opt/wso2am-km-4.2.0");
    assert_eq!(tm["role"]["value"], "traffic-manager");
    assert_eq!(km["role"]["value"], "key-manager");
    assert_eq!(tm["offset"]["value"], 0);
    assert_eq!(km["offset"]["value"], 1);
    assert_eq!(km["offset"]["source"], "deployment.toml [server] offset");
    assert!(
        km["listen_ports"]
            .as_array()
            .unwrap()
            .contains(&9444.into())
    );
    assert!(
        !km["listen_ports"]
            .as_array()
            .unwrap()
            .contains(&9443.into())
    );
    // Σ heap 3 GiB + 2 GiB on a 3.8 GiB host: the facts the merge needs for it.
    assert_eq!(tm["heap_max_mb"]["value"], 3072);
    assert_eq!(km["heap_max_mb"]["value"], 2048);
    assert_eq!(v["host"]["memory_mb"]["value"], 3936);
    // The product's own default receiver is this node at its own offset.
    assert_eq!(
        endpoint(km, "traffic_manager_receiver"),
        vec![("${carbon.local.ip}", Some(9612))]
    );
    // Each home's own audit.
    assert_eq!(tm["report"]["apim"]["home"], "/opt/wso2am-4.2.0");
    assert_eq!(km["report"]["apim"]["home"], "/opt/wso2am-km-4.2.0");
}

#[test]
fn units_are_resolved_so_15m_and_900s_are_the_same_value() {
    let (_, gw1) = export(&node("gw1"), &["wso2am-4.2.0"], None);
    let (_, gw2) = export(&node("gw2"), &["wso2am-4.2.0"], None);
    let s1 = &home_of(&gw1, "opt/wso2am-4.2.0")["settings"];
    let s2 = &home_of(&gw2, "opt/wso2am-4.2.0")["settings"];
    // gw1 writes "900s", gw2 "15m".
    assert_eq!(s1["cache.token_expiry"]["value"], "900");
    assert_eq!(s2["cache.token_expiry"]["value"], "900");
    // The planted drift stays visible: the default 15 minutes vs 30 written.
    assert_eq!(s1["cache.default_timeout"]["value"], "15");
    assert_eq!(s1["cache.default_timeout"]["written"], false);
    assert_eq!(s2["cache.default_timeout"]["value"], "30");
    assert_eq!(s2["cache.default_timeout"]["written"], true);
}

#[test]
fn fingerprints_equal_for_the_same_secret_and_differ_with_another_salt_or_keystore() {
    let fp = |v: &Value, key: &str| {
        home_of(v, "opt/wso2am-4.2.0")["fingerprints"][key]["hmac"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (_, gw1) = export(&node("gw1"), &["wso2am-4.2.0"], Some(SALT));
    let (_, gw2) = export(&node("gw2"), &["wso2am-4.2.0"], Some(SALT));
    let (_, cp1) = export(&node("cp1"), &["wso2am-4.2.0"], Some(SALT));
    let (_, other) = export(&node("gw1"), &["wso2am-4.2.0"], Some("another-salt"));
    for key in [
        "super_admin.password",
        "encryption.key",
        "keystore.tls.password",
    ] {
        assert_eq!(fp(&gw1, key), fp(&gw2, key), "{key}");
        assert_eq!(fp(&gw1, key), fp(&cp1, key), "{key}");
        assert_ne!(fp(&gw1, key), fp(&other, key), "{key}");
    }
    // gw2 was given its own keystore file.
    assert_eq!(fp(&gw1, "keystore.primary"), fp(&cp1, "keystore.primary"));
    assert_ne!(fp(&gw1, "keystore.primary"), fp(&gw2, "keystore.primary"));
    // Two different secrets with equal values (the keystore's password and key password) do
    // not show as equal: the name is part of what is MACed.
    assert_ne!(
        fp(&gw1, "keystore.tls.password"),
        fp(&gw1, "keystore.tls.key_password")
    );
    // The same run twice gives the same text: nothing random in the export.
    let (a, _) = export(&node("gw1"), &["wso2am-4.2.0"], Some(SALT));
    let (b, _) = export(&node("gw1"), &["wso2am-4.2.0"], Some(SALT));
    assert_eq!(a, b);
}

#[test]
fn without_a_salt_there_are_no_fingerprints_and_a_note_says_so() {
    let (_, v) = export(&node("gw1"), &["wso2am-4.2.0"], None);
    assert_eq!(v["fingerprinted"], false);
    assert_eq!(
        home_of(&v, "opt/wso2am-4.2.0")["fingerprints"],
        serde_json::json!({})
    );
    let notes = v["notes"].to_string();
    assert!(notes.contains("APIM_TUNE_FLEET_SALT"), "{notes}");
    // An empty salt is no salt.
    let (_, v) = export(&node("gw1"), &["wso2am-4.2.0"], Some(""));
    assert_eq!(v["fingerprinted"], false);
    assert!(v["notes"].to_string().contains("empty"));
}

#[test]
fn no_secret_value_reaches_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    copy_tree(&node("gw1"), &root);
    // The example home's secrets too, and a password inside a JDBC URL.
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/apim-4.2.0"),
        &root.join("opt/example-4.2.0"),
    );
    let toml = root.join("opt/example-4.2.0/repository/conf/deployment.toml");
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "jdbc:oracle:thin:@db.example.internal:1521/APIMDB",
        "jdbc:mysql://db.example.internal:3306/apim?user=u&password=example-db-secret",
    );
    std::fs::write(&toml, text).unwrap();
    for salt in [Some(SALT), None] {
        let (out, _) = export(&root, &["wso2am-4.2.0", "example-4.2.0"], salt);
        for secret in SECRETS {
            assert!(!out.contains(secret), "`{secret}` in the export");
        }
        // Neither the datasources' user names.
        assert!(!out.contains("apimuser") && !out.contains("shareduser"));
    }
}

#[test]
fn credentials_written_in_urls_never_reach_the_export() {
    // See: review of issue 16 — URL settings, event_duplicate_url's query, an environment's
    // service URL, cache invalidation and cluster members were exported as written.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    copy_tree(&node("cp1"), &root);
    let toml = root.join("opt/wso2am-4.2.0/repository/conf/deployment.toml");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace(
            "event_duplicate_url = [\"",
            "event_duplicate_url = [\"tcp://dup:LEAK-A@cp2.example.internal:5672?password=LEAK-B&x=1\", \"",
        )
        .replace(
            "members = [\"",
            "members = [\"admin:LEAK-C@cp9.example.internal:4000\", \"",
        )
        .replace(
            "[apim.cache_invalidation]\n",
            "[apim.cache_invalidation]\nreceiver_url = \"amqp://admin:LEAK-F@cp1.example.internal:5672\"\n",
        );
    let text = format!(
        "{text}\n[apim.oauth_config]\nrevoke_endpoint = \"https://revoker:LEAK-D@tm1.example.internal:9444/oauth2/revoke?client_secret=LEAK-E\"\n\n[[apim.gateway.environment]]\nname = \"Leaky\"\ntype = \"hybrid\"\nservice_url = \"https://gw:LEAK-G@gw1.example.internal:9443/services/?access_token=LEAK-H\"\n"
    );
    std::fs::write(&toml, text).unwrap();
    let (out, v) = export(&root, &["wso2am-4.2.0"], Some(SALT));
    for secret in [
        "LEAK-A", "LEAK-B", "LEAK-C", "LEAK-D", "LEAK-E", "LEAK-F", "LEAK-G", "LEAK-H",
    ] {
        assert!(!out.contains(secret), "`{secret}` in the export");
    }
    // The addresses are still there to compare.
    let home = &v["homes"][0];
    assert!(out.contains("cp2.example.internal"), "{home}");
    assert!(
        home["gateway_environments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["service_url"]["host"] == "gw1.example.internal"
                && e["service_url"]["path"] == "/services/"),
        "{home}"
    );
}

#[test]
fn the_fixture_exports_are_what_facts_prints_now() {
    // MERGE's tests read tests/fixtures/fleet/exports: they must be this collector's output for
    // these roots (run tests/fixtures/fleet/regen.sh after changing either).
    let exports = fixtures().join("fleet/exports");
    for (name, homes) in [
        ("gw1", &["wso2am-4.2.0"][..]),
        ("gw2", &["wso2am-4.2.0"]),
        ("cp1", &["wso2am-4.2.0"]),
        ("tm1", &["wso2am-4.2.0", "wso2am-km-4.2.0"]),
    ] {
        let (now, _) = export(&node(name), homes, Some(SALT));
        let stored = std::fs::read_to_string(exports.join(format!("{name}.json"))).unwrap();
        assert!(
            now == stored,
            "tests/fixtures/fleet/exports/{name}.json is stale: run tests/fixtures/fleet/regen.sh"
        );
        // Nothing of the machine that made them: no absolute path of the checkout.
        assert!(!stored.contains(env!("CARGO_MANIFEST_DIR")));
    }
}

#[test]
fn every_version_exports_without_error() {
    let mut homes: Vec<PathBuf> = vec![
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/apim-2.6.0"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/apim-4.2.0"),
    ];
    if let Some(shared) = crate::skip::shared("fixtures/wso2") {
        let before = homes.len();
        homes.extend(
            std::fs::read_dir(&shared)
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir()),
        );
        // 1.10, 2.1, 2.6, 3.2, 4.2, 4.3 and the Ansible-rendered ones.
        assert!(homes.len() - before >= 6, "{homes:?}");
    }
    for home in homes {
        let out = Command::cargo_bin("apim-tune")
            .unwrap()
            .env_remove("JAVA_HOME")
            .env("APIM_TUNE_FLEET_SALT", SALT)
            .args(["facts", "--root", "/", "--apim-home"])
            .arg(&home)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}: {stdout}", home.display());
        let v: Value = serde_json::from_str(&stdout).unwrap();
        let h = &v["homes"][0];
        let name = home.file_name().unwrap().to_string_lossy();
        assert!(h["version"]["value"].is_string(), "{name}");
        assert!(h["role"]["value"].is_string(), "{name}");
        assert!(h["offset"]["value"].is_u64(), "{name}");
        assert!(
            h["settings"].as_object().unwrap().len() > 30,
            "{name}: {}",
            h["settings"]
        );
        assert!(h["clustering"]["source"].is_string(), "{name}");
        assert!(h["report"]["findings"].is_array(), "{name}");
        for secret in SECRETS {
            assert!(!stdout.contains(secret), "{name}: `{secret}`");
        }
    }
}

#[test]
fn a_2_6_home_exports_its_xml_facts() {
    let home = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/apim-2.6.0");
    let out = Command::cargo_bin("apim-tune")
        .unwrap()
        .env_remove("JAVA_HOME")
        .env("APIM_TUNE_FLEET_SALT", SALT)
        .args(["facts", "--root", "/", "--apim-home"])
        .arg(&home)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let h = &v["homes"][0];
    assert_eq!(h["version"]["value"], "2.6.0");
    assert_eq!(h["offset"]["source"], "default (0)");
    let ds = &h["datasources"][0];
    assert_eq!(ds["name"], "WSO2AM_DB");
    assert_eq!(ds["host"], "db.example.internal");
    assert!(ds["max_active"].is_i64());
    assert!(h["settings"]["cache.gateway_token.enable"]["value"].is_string());
    assert!(
        h["clustering"]["source"]
            .as_str()
            .unwrap()
            .contains("axis2.xml")
    );
}

#[test]
fn the_hostname_falls_back_to_etc_hostname_and_else_stays_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    copy_tree(&node("gw1"), &root);
    std::fs::remove_file(root.join("proc/sys/kernel/hostname")).unwrap();
    std::fs::write(root.join("etc/hostname"), "# set by cloud-init\ngw1-boot\n").unwrap();
    let (_, v) = export(&root, &["wso2am-4.2.0"], None);
    assert_eq!(v["host"]["hostname"]["value"], "gw1-boot");
    assert_eq!(v["host"]["hostname"]["source"], "etc/hostname");
    std::fs::remove_file(root.join("etc/hostname")).unwrap();
    let (_, v) = export(&root, &["wso2am-4.2.0"], None);
    assert_eq!(v["host"]["hostname"]["value"], Value::Null);
    assert!(v["notes"].to_string().contains("hostname unknown"));
    // Nothing of the machine running the tool is borrowed.
    std::fs::remove_file(root.join("proc/net/fib_trie")).unwrap();
    let (_, v) = export(&root, &["wso2am-4.2.0"], None);
    assert_eq!(v["host"]["addresses"], serde_json::json!([]));
}

#[test]
fn a_broken_deployment_toml_still_exports_and_its_report_holds_the_source_finding() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    copy_tree(&node("gw1"), &root);
    let toml = root.join("opt/wso2am-4.2.0/repository/conf/deployment.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str("\n[server\nbroken = \n");
    std::fs::write(&toml, text).unwrap();
    let (_, v) = export(&root, &["wso2am-4.2.0"], Some(SALT));
    let home = home_of(&v, "opt/wso2am-4.2.0");
    let findings = home["report"]["findings"].as_array().unwrap();
    let src = findings
        .iter()
        .find(|f| f["code"] == "SRC002")
        .unwrap_or_else(|| panic!("no SRC002 (unparseable) in {findings:#?}"));
    // file:line:column of the break.
    assert!(src["line"].as_u64().is_some() && src["column"].as_u64().is_some());
    assert!(
        src["file"]
            .as_str()
            .unwrap()
            .ends_with("repository/conf/deployment.toml"),
        "{src}"
    );
    // Unknown settings stay unknown: nothing is taken for a default.
    assert_eq!(home["settings"], serde_json::json!({}));
    assert_eq!(home["datasources"], serde_json::json!([]));
}

#[test]
fn hostile_files_do_not_hang_or_crash_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    copy_tree(&node("gw1"), &root);
    let conf = root.join("opt/wso2am-4.2.0/repository/conf/deployment.toml");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    // Deep arrays, odd URLs, a non-UTF-8 hostname file, a huge keystore name.
    text.push_str(&format!(
        "\n[apim.sync_runtime_artifacts.gateway]\ngateway_labels = {}{}\n",
        "[".repeat(2000),
        "]".repeat(2000)
    ));
    std::fs::write(&conf, text).unwrap();
    std::fs::write(root.join("proc/sys/kernel/hostname"), [0xff, 0xfe, b'\n']).unwrap();
    std::fs::write(
        root.join("opt/wso2am-4.2.0/repository/resources/security/wso2carbon.jks"),
        vec![0u8; 1 << 20],
    )
    .unwrap();
    let out = facts(&root, &["wso2am-4.2.0"], Some(SALT), &[])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "apim-tune/facts/v1");
}

#[test]
fn bad_arguments_are_clear_errors() {
    let root = node("tm1");
    let out = facts(
        &root,
        &["wso2am-4.2.0", "wso2am-km-4.2.0"],
        None,
        &["--role", "gateway"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--role and --profile apply to one home")
    );

    let out = facts(&root, &[], None, &["-f", "manifests.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --output DIR"));

    let dir = tempfile::tempdir().unwrap();
    let out = facts(&dir.path().join("absent"), &[], None, &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
}

#[test]
fn output_writes_the_same_export_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gw1.json");
    let (stdout, _) = export(&node("gw1"), &["wso2am-4.2.0"], Some(SALT));
    facts(
        &node("gw1"),
        &["wso2am-4.2.0"],
        Some(SALT),
        &["--output", file.to_str().unwrap()],
    )
    .assert()
    .success()
    .stdout("");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stdout);
}

#[test]
fn the_gateway_export_snapshot() {
    let (_, mut v) = export(&node("gw1"), &["wso2am-4.2.0"], Some(SALT));
    v["tool_version"] = "[VERSION]".into();
    // The embedded audit is the audit JSON's business (its own snapshots); here, its codes.
    for h in v["homes"].as_array_mut().unwrap() {
        let codes: Vec<Value> = h["report"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].clone())
            .collect();
        h["report"] = Value::Array(codes);
    }
    crate::in_snapshots!({
        insta::assert_json_snapshot!("facts_gw1", v);
    });
}
