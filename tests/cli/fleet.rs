//! `apim-tune fleet merge` through the binary: hand-made exports with one planted problem per
//! cross-node rule (tests/fixtures/fleet/merge/README.md), bad inputs, exit codes.

use super::fixtures;
use assert_cmd::Command;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn merge_dir(set: &str) -> PathBuf {
    fixtures().join("fleet/merge").join(set)
}

/// `apim-tune fleet merge ARGS…` in a clean environment; (exit code, stdout, stderr).
fn merge(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("apim-tune")
        .unwrap()
        .env_remove("APIM_TUNE_FLEET_SALT")
        .env_remove("NO_COLOR")
        .args(["fleet", "merge", "--color", "never"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn exports(set: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(merge_dir(set))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("inventory.json"))
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v
}

/// The deployment fixture merged as JSON.
pub fn deployment_json(extra: &[&str]) -> (i32, serde_json::Value) {
    let inv = merge_dir("deployment").join("inventory.json");
    let mut args: Vec<String> = exports("deployment");
    args.extend([
        "--inventory".into(),
        inv.display().to_string(),
        "--format".into(),
        "json".into(),
    ]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = merge(&args);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}\n{err}"));
    (code, v)
}

fn findings(v: &serde_json::Value) -> Vec<&serde_json::Value> {
    v["findings"].as_array().unwrap().iter().collect()
}

fn codes(v: &serde_json::Value) -> BTreeSet<String> {
    findings(v)
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// Every code `fleet merge` fires on the fixtures: the four-node roots' exports with their
/// inventory, and the hand-made sets.
pub fn merged_codes() -> BTreeSet<String> {
    let fleet = fixtures().join("fleet");
    let mut seen = codes(&real_json());
    seen.extend(codes(&deployment_json(&[]).1));
    let (_, out, _) = merge(&[&exports("collide")[0], "--format", "json"]);
    seen.extend(codes(&serde_json::from_str(&out).unwrap()));
    assert!(fleet.join("exports").is_dir());
    seen
}

/// The four-node fixture of tests/fixtures/fleet (its README lists the planted problems).
fn real_json() -> serde_json::Value {
    let fleet = fixtures().join("fleet");
    let mut args: Vec<String> = ["cp1", "gw1", "gw2", "tm1"]
        .iter()
        .map(|n| {
            fleet
                .join("exports")
                .join(format!("{n}.json"))
                .display()
                .to_string()
        })
        .collect();
    args.extend([
        "--inventory".into(),
        fleet.join("inventory.json").display().to_string(),
        "--format".into(),
        "json".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = merge(&args);
    assert_eq!(code, 1, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}\n{err}"))
}

#[test]
fn the_four_node_fixture_finds_its_planted_problems_and_nothing_else() {
    let v = real_json();
    let got: Vec<String> = findings(&v)
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["code"].as_str().unwrap(),
                f["subject"].as_str().unwrap()
            )
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        got,
        [
            "FLT002 deployment.toml:database:mysql db.example.internal:3306",
            "FLT003 deployment.toml:apim.cache.km_token.enable",
            "FLT004 node:gw1/deployment.toml:apim.throttling.url_group[0].traffic_manager_auth_urls",
            "FLT004 node:gw1/deployment.toml:apim.throttling.url_group[0].traffic_manager_urls",
            "FLT005 node:cp1/deployment.toml:apim.event_hub.event_duplicate_url",
            "FLT006 deployment.toml:apim.sync_runtime_artifacts.gateway.gateway_labels",
            "FLT007 deployment.toml:cache.default_timeout",
            "FLT007 deployment.toml:database.apim_db.pool_options.maxActive",
            "FLT007 sysctl:net.core.somaxconn",
            "FLT010 deployment.toml:keystore.primary",
            "FLT012 node:cp1/deployment.toml:clustering.properties.members",
            "FLT014 node:tm1/api-manager.sh:-Xmx",
        ]
    );
    // gw1 writes the token cache expiry `900s`, gw2 `15m`: the same value, not drift.
    assert!(
        !v["findings"].to_string().contains("token_expiry"),
        "unit-resolved values compare equal"
    );
    let hosts: Vec<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["cp1", "gw1", "gw2", "tm1"]);
}

#[test]
fn the_deployment_fixture_finds_every_planted_problem() {
    let (code, v) = deployment_json(&[]);
    assert_eq!(code, 1, "warnings fail by default");
    let want: BTreeSet<String> = [
        "FLT001", "FLT002", "FLT003", "FLT004", "FLT005", "FLT006", "FLT007", "FLT008", "FLT009",
        "FLT010", "FLT011", "FLT012", "FLT014",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(codes(&v), want);
    assert_eq!(v["schema"], "apim-tune/fleet/v1");
    let hosts: Vec<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["cp1", "gw1", "gw2", "tm1"]);
    let by: Vec<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["matched_by"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["host field"; 4]);
    // Each node's own audit travels with it.
    assert_eq!(
        v["nodes"][2]["homes"][0]["report"]["findings"][0]["code"],
        "SYS001"
    );
}

#[test]
fn findings_name_the_nodes_and_the_values() {
    let (_, v) = deployment_json(&[]);
    let one = |code: &str| -> Vec<&serde_json::Value> {
        findings(&v)
            .into_iter()
            .filter(|f| f["code"] == code)
            .collect()
    };
    // Drift: one finding per setting listing every gateway, pointing at the odd one.
    let drift = one("FLT007");
    assert_eq!(drift.len(), 2, "{drift:#?}");
    let cache = drift
        .iter()
        .find(|f| f["subject"] == "deployment.toml:cache.token_expiry")
        .unwrap();
    assert_eq!(cache["current"], "gw1: 900, gw2: 300");
    assert_eq!(
        cache["file"],
        "gw2/opt/wso2am-4.2.0/repository/conf/deployment.toml"
    );
    assert_eq!(cache["line"], 20);
    assert!(
        cache["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "hosts: gw1, gw2")
    );
    let somaxconn = drift
        .iter()
        .find(|f| f["subject"] == "sysctl:net.core.somaxconn")
        .unwrap();
    assert_eq!(somaxconn["current"], "gw1: 4096, gw2: 1024");
    assert_eq!(somaxconn["file"], "gw2/etc/sysctl.d/90-apim.conf");
    // The wrong offset: the port tm1 really listens on.
    let ep = one("FLT004");
    let expected: Vec<&str> = ep.iter().map(|f| f["expected"].as_str().unwrap()).collect();
    assert_eq!(expected, ["tm1:9611", "tm1:9711"]);
    assert!(
        ep.iter()
            .all(|f| f["subject"] == "node:gw1/deployment.toml:apim.throttling.url_group")
    );
    // Pools: 450 over 400, from the inventory's variable; `--db-max-connections` wins over it.
    assert!(
        one("FLT002")[0]["current"]
            .as_str()
            .unwrap()
            .starts_with("450 (")
    );
    let (_, wide) = deployment_json(&["--db-max-connections", "500"]);
    assert!(!codes(&wide).contains("FLT002"));
    // A fingerprint is never printed.
    let text = v.to_string();
    assert!(!text.contains("cccccccc"), "a fingerprint leaked");
    assert_eq!(
        one("FLT010")[0]["current"],
        "A on cp1, gw1, tm1 (key-manager), tm1 (traffic-manager); B on gw2"
    );
}

#[test]
fn colliding_homes_and_a_clean_pair() {
    let (code, out, err) = merge(&[&exports("collide")[0], "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(codes(&v), ["FLT013".to_string()].into());
    let clean = exports("clean");
    let (code, out, err) = merge(&[&clean[0], &clean[1]]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("deployment (0 findings)"), "{out}");
    assert!(out.contains("no inventory"), "{out}");
}

#[test]
fn waivers_accept_deployment_findings() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.toml");
    std::fs::write(
        &w,
        "[[waiver]]\ncode = \"FLT008\"\nreason = \"gw2 moves to JDK 17 next sprint\"\n",
    )
    .unwrap();
    let (_, v) = deployment_json(&["--waivers", w.to_str().unwrap()]);
    let f: Vec<_> = findings(&v)
        .into_iter()
        .filter(|f| f["code"] == "FLT008")
        .collect();
    assert_eq!(f[0]["waived"]["reason"], "gw2 moves to JDK 17 next sprint");
    // Everything else still fails the run; with --fail-on error the warnings do not.
    let (code, _) = deployment_json(&["--fail-on", "never"]);
    assert_eq!(code, 0);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str, text: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let broken = p(
        "broken.json",
        b"{\"schema\": \"apim-tune/facts/v1\",\n \"host\": {",
    );
    let wrong = p(
        "audit.json",
        br#"{"schema":"apim-tune/audit/v1","findings":[]}"#,
    );
    let binary = p("bin.json", &[0, 159, 146, 150, 255]);
    // Nested past serde_json's recursion limit: an error, not a stack overflow.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&exports("clean")[0]).unwrap()).unwrap();
    v["homes"][0]["report"] = "DEEP".into();
    let deep = v.to_string().replace(
        "\"DEEP\"",
        &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    );
    let deep = p("deep.json", deep.as_bytes());
    let good = &exports("clean")[0];
    for (args, says) in [
        (vec![broken.as_str()], "broken.json: not JSON"),
        (
            vec![wrong.as_str()],
            "schema `apim-tune/audit/v1` is not apim-tune/facts/v1",
        ),
        (
            vec![binary.as_str()],
            "bin.json: cannot read: not valid UTF-8",
        ),
        (
            vec!["/nonexistent/x.json"],
            "/nonexistent/x.json: cannot read",
        ),
        (vec![], "nothing to merge"),
        (
            vec![good.as_str(), good.as_str()],
            "two exports of one node",
        ),
        (
            vec![deep.as_str()],
            "deep.json: not JSON: recursion limit exceeded",
        ),
    ] {
        let (code, out, err) = merge(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let bad_inv = p("inv.json", br#"{"gateway": {"hosts": "gw1"}}"#);
    let (code, _, err) = merge(&[good, "--inventory", &bad_inv]);
    assert_eq!(code, 2);
    assert!(
        err.contains("inv.json: group `gateway`: `hosts` is not a list"),
        "{err}"
    );
    // A line and column for a JSON error.
    let (_, _, err) = merge(&[&broken]);
    assert!(err.contains("line 2 column"), "{err}");
}

#[test]
fn an_unsalted_export_is_a_note_not_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for name in ["gw1", "gw2"] {
        let text =
            std::fs::read_to_string(merge_dir("clean").join(format!("{name}.json"))).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["fingerprinted"] = false.into();
        v["homes"][0]["fingerprints"] = serde_json::json!({});
        if name == "gw2" {
            v["fingerprinted"] = true.into();
            v["homes"][0]["fingerprints"] =
                serde_json::json!({"keystore.primary": {"hmac": "hmac-sha256:00", "source": "x"}});
        }
        let p = dir.path().join(format!("{name}.json"));
        std::fs::write(&p, v.to_string()).unwrap();
        paths.push(p.display().to_string());
    }
    let (code, out, _) = merge(&[&paths[0], &paths[1], "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("without a salt")),
        "{out}"
    );
}

#[test]
fn a_home_is_judged_and_waived_by_its_own_role() {
    // See: review of issue 16 — on tm1 (a traffic manager and a key manager) the traffic
    // manager's heap finding was labelled "the only key manager", and a waiver for the key
    // manager's role waived it.
    let dir = tempfile::tempdir().unwrap();
    let fleet = fixtures().join("fleet");
    let exports: Vec<String> = ["cp1", "gw1", "gw2", "tm1"]
        .iter()
        .map(|n| {
            fleet
                .join(format!("exports/{n}.json"))
                .display()
                .to_string()
        })
        .collect();
    let inv = fleet.join("inventory.json").display().to_string();
    let heap = |role: &str| {
        let w = dir.path().join(format!("{role}.toml"));
        std::fs::write(
            &w,
            format!(
                "[[waiver]]\ncode = \"JVM011\"\nroles = [\"{role}\"]\nreason = \"sized by hand\"\n"
            ),
        )
        .unwrap();
        let mut args: Vec<&str> = exports.iter().map(String::as_str).collect();
        let w = w.display().to_string();
        args.extend(["--inventory", &inv, "--format", "json", "--waivers", &w]);
        let (_, out, err) = merge(&args);
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
        v["node_findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "JVM011" && f["hosts"] == serde_json::json!(["tm1"]))
            .cloned()
            .unwrap_or_else(|| panic!("no JVM011 on tm1: {v}"))
    };
    let other = heap("key-manager");
    assert_eq!(other["role"], "traffic-manager", "{other}");
    assert!(other["waived"].is_null(), "{other}");
    let own = heap("traffic-manager");
    assert!(!own["waived"].is_null(), "{own}");
}
