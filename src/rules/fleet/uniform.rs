//! FLT008 fleet-versions-differ and FLT009 fleet-database-not-shared: what must be one across a
//! deployment: the API-M version, the JDK, and the server of the shared databases.

use super::{FleetContext, Member, placed};
use crate::diag::{Finding, Subject};
use crate::rules::Check;
use std::collections::BTreeMap;

declare_rule! {
    /// ### What it checks
    /// Every API-M home of the deployment runs the same product version, and every node the
    /// same JDK feature release.
    /// ### Why it matters
    /// Nodes of different versions exchange events, tokens and artifacts in formats the other
    /// may not read; WSO2 supports a deployment of one version. Different JDKs behave
    /// differently under the same flags (GC, TLS defaults), which turns one node's tuning
    /// into another's problem.
    /// ### Fix
    /// Upgrade the odd nodes (or roll the upgrade through the rest).
    /// ### Sources
    /// - prod-checklist
    pub(crate) static RULE = "FLT008" "fleet-versions-differ" Warning "nodes run different API-M versions or JDKs",
    inputs: [],
    check: Check::Fleet(check_versions),
}

declare_rule! {
    /// ### What it checks
    /// The datasources every node must share (`apim_db`, `shared_db`; `WSO2AM_DB`,
    /// `WSO2_SHARED_DB` on 2.x) point at one database on one server on every node that has
    /// them. An embedded H2 file is never shared; `localhost` on two hosts is two servers.
    /// ### Why it matters
    /// The nodes coordinate through these databases: subscriptions, keys, users. A node on
    /// another copy sees other data: keys that "do not exist", subscriptions that vanish.
    /// ### Fix
    /// Point every node's `[database.apim_db]` and `[database.shared_db]` at the same server
    /// and database.
    /// ### Sources
    /// - databases
    /// - distributed-deployment
    pub(crate) static DATABASE = "FLT009" "fleet-database-not-shared" Error "nodes point their shared databases at different servers",
    inputs: [],
    check: Check::Fleet(check_databases),
}

/// Value → the node labels holding it.
type ByValue = BTreeMap<String, Vec<String>>;

/// `(host, label, value)`s grouped by value, with the hosts, when there is more than one value.
fn differing(
    values: impl Iterator<Item = (String, String, String)>,
) -> Option<(ByValue, Vec<String>)> {
    let mut by_value: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut hosts = Vec::new();
    for (host, label, v) in values {
        by_value.entry(v).or_default().push(label);
        hosts.push(host);
    }
    (by_value.len() > 1).then_some((by_value, hosts))
}

fn shown(by_value: &BTreeMap<String, Vec<String>>) -> String {
    by_value
        .iter()
        .map(|(v, ls)| format!("{v} on {}", ls.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn check_versions(cx: &FleetContext, out: &mut Vec<Finding>) {
    let members = cx.members();
    if let Some((by, hosts)) = differing(members.iter().filter_map(|m| {
        m.home
            .version
            .value
            .clone()
            .map(|v| (m.host().to_string(), m.label(), v))
    })) {
        let f = Finding::new(RULE.code(), Subject::setting("updates/product.txt", "version"), "the API-M homes of the deployment run different versions")
            .current(shown(&by))
            .expected("one API-M version on every node")
            .why("nodes of different versions exchange events, tokens and artifacts in formats the other may not read")
            .see("prod-checklist");
        out.push(placed(f, &hosts, &[]));
    }
    if let Some((by, hosts)) = differing(cx.nodes.iter().filter_map(|n| {
        n.facts
            .host
            .jdk
            .value
            .map(|j| (n.host.clone(), n.host.clone(), format!("JDK {j}")))
    })) {
        let f = Finding::new(RULE.code(), Subject::Process { who: "java".into(), item: "version".into() }, "the nodes of the deployment run different JDKs")
            .current(shown(&by))
            .expected("one JDK feature release on every node")
            .why("different JDKs behave differently under the same flags (GC, TLS defaults), so one node's tuning is another's problem")
            .see("prod-checklist");
        out.push(placed(f, &hosts, &[]));
    }
}

const SHARED: &[(&str, &[&str])] = &[
    ("apim_db", &["apim_db", "wso2am_db"]),
    (
        "shared_db",
        &[
            "shared_db",
            "wso2_shared_db",
            "wso2registry_db",
            "wso2um_db",
        ],
    ),
];

fn check_databases(cx: &FleetContext, out: &mut Vec<Finding>) {
    let members = cx.members();
    for (name, aliases) in SHARED {
        let uses = members.iter().flat_map(|m: &Member| {
            m.home
                .datasources
                .iter()
                .filter(|d| aliases.contains(&d.name.to_ascii_lowercase().as_str()))
                .map(move |d| (m, d))
        });
        let mut first_at = None;
        let values = uses.filter_map(|(m, d)| {
            let server = if d.embedded || d.engine.as_deref() == Some("h2") {
                format!("an embedded H2 file of {}", m.host())
            } else {
                let host = d.host.clone()?;
                let host = if super::endpoints::is_loopback(&host) {
                    format!("{}'s {host}", m.host())
                } else {
                    host.to_ascii_lowercase()
                };
                format!(
                    "{} {host}:{}/{}",
                    d.engine.as_deref().unwrap_or("?"),
                    d.port
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "default".into()),
                    d.database.as_deref().unwrap_or("?")
                )
            };
            if first_at.is_none() {
                first_at = m.at(&d.source);
            }
            Some((m.host().to_string(), m.label(), server))
        });
        let collected: Vec<_> = values.collect();
        if let Some((by, hosts)) = differing(collected.into_iter()) {
            let f = Finding::new(
                DATABASE.code(),
                Subject::setting("deployment.toml", format!("database.{name}.url")),
                format!("`{name}` is not one database across the nodes"),
            )
            .at(first_at)
            .current(shown(&by))
            .expected(format!("one `{name}` server and database for every node"))
            .why("the nodes coordinate through this database; a node on another copy sees other keys, subscriptions and users")
            .see("databases");
            out.push(placed(f, &hosts, &[]));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::rules::fleet::testing::*;

    #[test]
    fn one_version_and_one_jdk() {
        let f = fleet(vec![
            node("gw1", "gateway"),
            node("gw2", "gateway").version("4.1.0").jdk(Some(11)),
            node("cp1", "control-plane").jdk(None),
        ]);
        assert_eq!(
            f.lines(Code::FLEET_VERSIONS_DIFFER),
            [
                "FLT008 updates/product.txt:version 4.1.0 on gw2; 4.2.0 on gw1, cp1 → one API-M version on every node",
                "FLT008 process:java:version JDK 11 on gw2; JDK 17 on gw1 → one JDK feature release on every node",
            ]
        );
        assert!(
            fleet(vec![node("gw1", "gateway"), node("cp1", "control-plane")])
                .lines(Code::FLEET_VERSIONS_DIFFER)
                .is_empty()
        );
    }

    #[test]
    fn shared_databases_are_one() {
        let f = fleet(vec![
            node("gw1", "gateway").datasource("shared_db", "mysql", "db1:3306", "shared", Some(10)),
            node("cp1", "control-plane")
                .datasource("shared_db", "mysql", "DB1:3306", "shared", Some(10))
                .datasource("apim_db", "mysql", "localhost:3306", "apim", Some(10)),
            node("tm1", "traffic-manager").datasource(
                "apim_db",
                "mysql",
                "localhost:3306",
                "apim",
                Some(10),
            ),
        ]);
        assert_eq!(
            f.lines(Code::FLEET_DATABASE_NOT_SHARED),
            [
                "FLT009 deployment.toml:database.apim_db.url @cp1/opt/wso2am-4.2.0/repository/conf/deployment.toml:30:1 \
              mysql cp1's localhost:3306/apim on cp1; mysql tm1's localhost:3306/apim on tm1 → one `apim_db` server and database for every node"
            ]
        );
    }
}
