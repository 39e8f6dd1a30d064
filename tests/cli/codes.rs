//! The code registry: stable, documented, and every code reachable from a fixture.

use super::{CliTest, codes_of, fixtures};
use apim_tune::diag::Code;
use std::collections::BTreeSet;

#[test]
fn codes_are_unique_and_listed() {
    let listing: Vec<String> = Code::ALL
        .iter()
        .map(|c| {
            format!(
                "{} {} {} — {}",
                c.code(),
                c.name(),
                c.default_severity().as_str(),
                c.summary()
            )
        })
        .collect();
    let codes: BTreeSet<_> = Code::ALL.iter().map(|c| c.code()).collect();
    let names: BTreeSet<_> = Code::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(codes.len(), Code::ALL.len(), "duplicate code");
    assert_eq!(names.len(), Code::ALL.len(), "duplicate name");
    crate::in_snapshots! { insta::assert_snapshot!("codes", listing.join("\n")); }
}

#[test]
fn every_code_is_documented_in_the_message_convention() {
    for c in Code::ALL {
        let doc = c.explain();
        for heading in ["### What it checks", "### Why it matters", "### Fix"] {
            assert!(doc.contains(heading), "{} lacks `{heading}`", c.code());
        }
        let name = c.name();
        assert!(
            name.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'),
            "{name} is not kebab-case"
        );
        let code = c.code();
        assert!(
            code.len() == 6 && code[3..].chars().all(|d| d.is_ascii_digit()),
            "{code}"
        );
        assert!(
            !c.summary().ends_with('.'),
            "{code} summary ends with a period"
        );
    }
}

/// Every code fires on at least one fixture, so none is dead or untested.
#[test]
fn every_code_has_a_fixture() {
    let site = fixtures().join("profiles/site.toml");
    let site = site.to_str().unwrap();
    let waivers = fixtures().join("waivers/legacy.toml");
    let waivers = waivers.to_str().unwrap();
    let runs: &[(&str, Option<&str>, &[&str])] = &[
        (
            "legacy-2.6",
            Some("wso2am-2.6.0"),
            &["--java-version", "17"],
        ),
        ("legacy-2.6", Some("wso2am-2.6.0"), &["--user", "root"]),
        // Clients that give up after 60 s, under the 24 h code-default global timeout: APM020.
        (
            "legacy-2.6",
            Some("wso2am-2.6.0"),
            &["--client-timeout", "60"],
        ),
        (
            "legacy-2.6",
            Some("wso2am-2.6.0"),
            &["--profile", site, "--java-version", "17"],
        ),
        (
            "modern-4.2",
            Some("wso2am-4.2.0"),
            &["--java-version", "21"],
        ),
        ("broken", Some("apim"), &[]),
        ("legacy-2.6", Some("wso2am-2.6.0"), &["--waivers", waivers]),
        ("systemd-unit", Some("wso2am-4.2.0"), &[]),
        ("jvm-low-limits", Some("wso2am-4.2.0"), &[]),
        ("debian13-no-link", None, &[]),
        (
            "tuned-4.2",
            Some("wso2am-4.2.0"),
            &["--cores", "8", "--memory", "2G"],
        ),
        // Kernel advice (issue 14): the range too small on an all-in-one node, of one parity
        // on a key manager.
        ("s-kernel-advice", None, &[]),
        ("s-kernel-advice", None, &["--role", "key-manager"]),
        // The node declares `gateway-worker` (server_role): audited as another role.
        (
            "tuned-4.2",
            Some("wso2am-4.2.0"),
            &["--role", "control-plane", "--java-version", "17"],
        ),
        // Package D: loopback databases, localhost wiring, pools against the server's limit.
        (
            "d-gateway-4.2",
            Some("wso2am-4.2.0"),
            &["--db-max-connections", "200"],
        ),
        (
            "d-keymanager-2.6",
            Some("wso2am-2.6.0"),
            &["--role", "key-manager"],
        ),
        // Logging, revocation and security hygiene (issue 14, package G), both layouts.
        ("g-hygiene-4.2", Some("wso2am-4.2.0"), &[]),
        (
            "g-hygiene-2.6",
            Some("wso2am-2.6.0"),
            &["--role", "gateway"],
        ),
    ];
    let mut seen = BTreeSet::new();
    for (scenario, home, args) in runs {
        let (_, v) = CliTest::new(scenario).json(*home, args);
        seen.extend(codes_of(&v));
    }
    // The cross-node codes fire in `fleet merge`: on the four-node fixture (FACTS's real
    // exports) and on the hand-made deployments of tests/fixtures/fleet/merge.
    seen.extend(super::fleet::merged_codes());
    let missing: Vec<_> = Code::ALL
        .iter()
        // `db audit` codes fire on databases, not homes: tests/cli/db.rs checks each of them.
        .filter(|c| c.family() != apim_tune::diag::Family::Dbg)
        .map(|c| c.code().to_string())
        .filter(|c| !seen.contains(c))
        .collect();
    assert!(missing.is_empty(), "codes with no fixture: {missing:?}");
}
