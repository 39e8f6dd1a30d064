//! A hand-made deployment for the renderers' tests: three gateways, a control plane and a
//! traffic manager whose host also runs a key manager (two homes). Built from the export types
//! alone, so the renderers are tested without the merge that will produce such reports.

use crate::diag::{Code, Finding, Waived};
use crate::fleet::facts::{
    HomePart, HostPart, LimitFact, NodeFacts, SettingFact, Sourced, SysctlFact,
};
use crate::model::Location;
use crate::outcome::{FleetNode, FleetReport};
use crate::report::{json, sarif};

/// The embedded report of one home: exactly what `apim-tune audit --format json` prints.
fn report(findings: Vec<Finding>) -> serde_json::Value {
    let r = sarif::sample::report(findings, &[]);
    serde_json::from_str(&json::render(&r)).unwrap_or_default()
}

fn tw_recycle() -> Finding {
    Finding::new(
        Code::TCP_TW_RECYCLE_ENABLED,
        "sysctl:net.ipv4.tcp_tw_recycle",
        "`net.ipv4.tcp_tw_recycle` breaks clients behind NAT",
    )
    .at(Some(Location::at("etc/sysctl.d/90-legacy.conf", 3, 1)))
    .current("1")
    .expected("0")
}

fn nofile() -> Finding {
    Finding::new(
        Code::LIMIT_BELOW_RECOMMENDED,
        "limits:wso2carbon:nofile:soft",
        "`nofile` soft limit for `wso2carbon` is below the recommended value",
    )
    .at(Some(Location::at("etc/security/limits.d/wso2.conf", 1, 1)))
    .current("4096")
    .expected("65535")
}

fn pool(current: &str) -> Finding {
    Finding::new(
        Code::SETTING_BELOW_RECOMMENDED,
        "deployment.toml:database.apim_db.pool_options.maxActive",
        "`database.apim_db.pool_options.maxActive` is below the recommended value",
    )
    .at(Some(Location::at(
        "opt/wso2am-4.2.0/repository/conf/deployment.toml",
        21,
        1,
    )))
    .current(current)
    .expected("100")
}

fn settings(pool: &str, cache: &str) -> std::collections::BTreeMap<String, SettingFact> {
    [
        ("database.apim_db.pool_options.maxActive", pool, None),
        ("cache.gateway_token.expiry_time", cache, Some("seconds")),
        ("cache.gateway_token.enable", "true", None),
    ]
    .into_iter()
    .map(|(k, v, unit)| {
        (
            k.to_string(),
            SettingFact {
                value: Some(v.to_string()),
                unit: unit.map(String::from),
                source: "deployment.toml:20:1".into(),
                written: true,
            },
        )
    })
    .collect()
}

fn home(role: &str, offset: u32, pool: &str, cache: &str, findings: Vec<Finding>) -> HomePart {
    HomePart {
        path: "opt/wso2am-4.2.0".into(),
        version: Sourced::known("4.2.0".into(), "updates/product.txt"),
        role: Sourced::known(role.into(), "-Dprofile"),
        offset: Sourced::known(offset, "default"),
        heap_max_mb: Sourced::known(2048, "bin/api-manager.sh:120"),
        settings: settings(pool, cache),
        report: crate::fleet::facts::EmbeddedReport::from_value(&report(findings)),
        ..HomePart::default()
    }
}

fn node(host: &str, role: &str, somaxconn: &str, homes: Vec<HomePart>) -> FleetNode {
    let mut facts = NodeFacts {
        schema: crate::fleet::facts::SCHEMA.into(),
        tool_version: "0.0.0-test".into(),
        host: HostPart {
            hostname: Sourced::known(host.into(), "proc/sys/kernel/hostname"),
            addresses: vec![format!("10.0.0.{}", host.len() + homes.len())],
            cores: Sourced::known(4, "sys/devices/system/cpu/online"),
            memory_mb: Sourced::known(8192, "proc/meminfo"),
            ..HostPart::default()
        },
        homes,
        fingerprinted: true,
        notes: Vec::new(),
    };
    facts.host.sysctl.insert(
        "net.core.somaxconn".into(),
        SysctlFact {
            live: Some(somaxconn.into()),
            boot: Some(somaxconn.into()),
            boot_source: Some("etc/sysctl.d/90-apim.conf:1".into()),
        },
    );
    facts.host.limits.insert(
        "nofile".into(),
        LimitFact {
            soft: Some("65535".into()),
            hard: Some("65535".into()),
            user: Some("wso2carbon".into()),
            source: "etc/security/limits.d/wso2.conf".into(),
        },
    );
    FleetNode {
        host: host.into(),
        inventory_role: Some(role.into()),
        export_file: format!("exports/{host}.json"),
        matched_by: "host field".into(),
        facts,
    }
}

/// The deployment: SYS010 on two of three gateways (one group), a pool below the
/// recommendation on gw2 only, a limit on tm1 reported by both its homes (counted once),
/// a waived finding on gw3, a finding of a code this build does not know, and one
/// deployment-wide finding.
pub(crate) fn report_of_fleet() -> FleetReport {
    let mut waived = pool("50");
    waived.waived = Some(Waived {
        reason: "gw3 is the canary".into(),
        expires: Some("2027-01-31".into()),
        at: Location::at("apim-tune.waivers.toml", 1, 1),
    });
    let mut gw3 = node(
        "gw3",
        "gateway",
        "4096",
        vec![home("gateway", 0, "50", "900", vec![waived])],
    );
    // An export from a newer apim-tune whose code this one does not know.
    let mut future = gw3.facts.homes[0].report.value();
    if let Some(list) = future["findings"].as_array_mut() {
        list.push(serde_json::json!({
            "code": "XYZ999", "severity": "error", "subject": "sysctl:net.core.somaxconn",
            "message": "from the future",
        }));
    }
    gw3.facts.homes[0].report = crate::fleet::facts::EmbeddedReport::from_value(&future);
    let nodes = vec![
        node(
            "gw1",
            "gateway",
            "4096",
            vec![home("gateway", 0, "100", "900", vec![tw_recycle()])],
        ),
        node(
            "gw2",
            "gateway",
            "1024",
            vec![home(
                "gateway",
                0,
                "50",
                "600",
                vec![tw_recycle(), pool("50")],
            )],
        ),
        gw3,
        node(
            "cp1",
            "control-plane",
            "4096",
            vec![home("control-plane", 0, "100", "900", Vec::new())],
        ),
        node(
            "tm1",
            "traffic-manager",
            "4096",
            vec![
                home("traffic-manager", 0, "100", "900", vec![nofile()]),
                home("key-manager", 10, "100", "900", vec![nofile()]),
            ],
        ),
    ];
    let deployment = Finding::new(
        Code::TOKEN_CACHES_BOTH_ENABLED,
        "deployment.toml:apim.cache.km_token.enable",
        "the gateways' token cache and the key manager's token cache are both on",
    )
    .at(Some(Location::at(
        "cp1/opt/wso2am-4.2.0/repository/conf/deployment.toml",
        40,
        1,
    )))
    .current("true on gw1, gw2, gw3 and cp1")
    .expected("one of them");
    FleetReport {
        nodes,
        findings: vec![deployment],
        checked: Vec::new(),
        notes: vec!["2 nodes per role at least: drift is compared".into()],
    }
}
