//! Reports of a deployment through the binary: waivers with `hosts`/`roles` in a plain audit.
//! (The fleet formats are tested on hand-made reports in `src/report/fleet.rs`; `fleet merge`
//! itself is tested in `fleet.rs`.)

use super::CliTest;
use serde_json::Value;

fn sys010(v: &Value) -> Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "SYS010")
        .cloned()
        .unwrap_or_else(|| panic!("no SYS010 in {v}"))
}

const WAIVERS: &str = r#"
[[waiver]]
code = "SYS010"
hosts = ["gw*"]
reason = "the gateways' balancer keeps timestamps, CHG-77"

[[waiver]]
code = "SYS010"
roles = ["control-plane"]
reason = "roles apply in fleet merge only"
"#;

/// The audited host's own name (its `proc/sys/kernel/hostname`) decides whether a waiver with
/// `hosts` applies; a waiver for other hosts, or with `roles`, is neither applied nor called
/// unused (WAV002), so one waivers file serves every node.
#[test]
fn a_host_waiver_applies_on_its_hosts_only() {
    for (hostname, waived) in [("gw2", true), ("cp1", false)] {
        let t = CliTest::new("legacy-2.6");
        let kernel = t.root.join("proc/sys/kernel");
        std::fs::create_dir_all(&kernel).unwrap();
        std::fs::write(kernel.join("hostname"), format!("{hostname}\n")).unwrap();
        let waivers = t.dir.path().join("w.toml");
        std::fs::write(&waivers, WAIVERS).unwrap();
        let (_, v) = t.json(
            Some("wso2am-2.6.0"),
            &[
                "--java-version",
                "17",
                "--waivers",
                waivers.to_str().unwrap(),
            ],
        );
        let tw = sys010(&v);
        assert_eq!(tw["waived"].is_object(), waived, "{hostname}: {tw}");
        if waived {
            assert!(tw["waived"]["reason"].as_str().unwrap().contains("CHG-77"));
        }
        let codes = super::codes_of(&v);
        assert!(
            !codes.contains(&"WAV002".to_string()),
            "{hostname}: {codes:?}"
        );
    }
}
