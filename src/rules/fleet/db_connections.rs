//! FLT002 fleet-db-connections-exceed-server: the pools of every node (times its pods) that open
//! connections to one database server add up to more than the server's `max_connections`.
//!
//! One node's pool is judged by APM's DB pool rule; only the sum over the deployment tells
//! whether the server can take them all at peak (every pool full, every replica, a rolling
//! update's surge pods on top).

use super::{FleetContext, Member, list, placed};
use crate::diag::{Finding, Subject};
use crate::fleet::facts::DatasourceFact;
use crate::rules::Check;
use std::collections::BTreeMap;

declare_rule! {
    /// ### What it checks
    /// For each database server (engine, host and port) the datasources of every node point
    /// at, the sum of their pools' `maxActive`, each multiplied by the node's pods (Kubernetes
    /// HPA maximum or replicas, plus the rolling update's surge; inventory `apim_tune_replicas`,
    /// `apim_tune_hpa_max`, `apim_tune_max_surge`), against the server's `max_connections`
    /// (`--db-max-connections` or the inventory's `apim_tune_db_max_connections`).
    /// ### Why it matters
    /// At peak every pool fills; past the server's limit new connections are refused and
    /// requests fail with "Too many connections" on whichever node asks last.
    /// ### Fix
    /// Lower the pools (`[database.*.pool_options] maxActive`) so that their sum fits, or raise
    /// the server's `max_connections`.
    /// ### Sources
    /// - databases
    /// - tomcat-jdbc-pool
    pub(crate) static RULE = "FLT002" "fleet-db-connections-exceed-server" Warning "the pools of all nodes exceed the database server's max_connections",
    inputs: [],
    check: Check::Fleet(check),
}

/// How many JVMs of this member run at peak, and why.
fn pods(cx: &FleetContext, m: &Member) -> (u32, Option<String>) {
    if let Some(k) = &m.node.facts.host.kubernetes {
        let base = k.hpa_max_replicas.or(k.replicas).unwrap_or(1);
        let surge = k.max_surge.unwrap_or(0);
        // Saturating: absurd counts from an export or inventory must not wrap to a small one.
        let n = base.saturating_add(surge);
        return (n, Some(format!("{n} pods ({base} + surge {surge})")));
    }
    if let Some(h) = cx.inventory_host(m.host()) {
        let base = h.hpa_max.or(h.replicas).unwrap_or(1);
        let surge = h.max_surge.unwrap_or(0);
        let n = base.saturating_add(surge);
        if n != 1 {
            return (n, Some(format!("{n} instances ({base} + surge {surge})")));
        }
    }
    (1, None)
}

/// The server a datasource opens connections to; a loopback name is that node's own server.
fn server(m: &Member, d: &DatasourceFact) -> Option<String> {
    if d.embedded || d.engine.as_deref() == Some("h2") {
        return None;
    }
    let host = d.host.as_deref()?;
    let host = if matches!(host, "localhost" | "127.0.0.1" | "::1") {
        format!("{}:{host}", m.host())
    } else {
        host.to_ascii_lowercase()
    };
    Some(format!(
        "{} {host}:{}",
        d.engine.as_deref().unwrap_or("database"),
        d.port
            .map(|p| p.to_string())
            .unwrap_or_else(|| "default".into())
    ))
}

fn check(cx: &FleetContext, out: &mut Vec<Finding>) {
    let Some(max) = cx.db_max_connections else {
        return;
    };
    struct Use<'a> {
        total: i64,
        parts: Vec<String>,
        hosts: Vec<String>,
        roles: Vec<&'a str>,
        unknown: Vec<String>,
        first: Option<crate::model::Location>,
    }
    let mut by_server: BTreeMap<String, Use> = BTreeMap::new();
    let members = cx.members();
    for m in &members {
        let (n, why) = pods(cx, m);
        for d in &m.home.datasources {
            let Some(key) = server(m, d) else { continue };
            let u = by_server.entry(key).or_insert_with(|| Use {
                total: 0,
                parts: Vec::new(),
                hosts: Vec::new(),
                roles: Vec::new(),
                unknown: Vec::new(),
                first: None,
            });
            u.hosts.push(m.host().to_string());
            u.roles.push(m.role);
            match d.max_active {
                Some(a) if a > 0 => {
                    u.total = u.total.saturating_add(a.saturating_mul(i64::from(n)));
                    let times = why.as_ref().map(|w| format!(" × {w}")).unwrap_or_default();
                    u.parts.push(format!("{} {} {a}{times}", m.label(), d.name));
                    if u.first.is_none() {
                        u.first = m.at(&d.source);
                    }
                }
                _ => u.unknown.push(format!("{} {}", m.label(), d.name)),
            }
        }
    }
    for (server, u) in by_server {
        if u.total <= i64::from(max) {
            continue;
        }
        let mut f = Finding::new(
            RULE.code(),
            Subject::setting("deployment.toml", format!("database:{server}")),
            format!(
                "the pools of {} can open {} connections to `{server}`, more than its `max_connections` of {max}",
                {
                    let mut h = u.hosts.clone();
                    h.dedup();
                    match h.len() {
                        1 => "1 node".to_string(),
                        n => format!("{n} nodes"),
                    }
                },
                u.total
            ),
        )
        .at(u.first)
        .current(format!("{} ({})", u.total, list(u.parts)))
        .expected(format!("<= {max}"))
        .why("at peak every pool fills on every instance; past the server's limit new connections are refused and requests fail")
        .see("databases; tomcat-jdbc-pool");
        if !u.unknown.is_empty() {
            f = f.note(format!(
                "pool size unknown (not counted): {}",
                list(u.unknown)
            ));
        }
        out.push(placed(f, &u.hosts, &u.roles));
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::rules::fleet::testing::*;

    #[test]
    fn sums_pools_per_server_times_pods() {
        let nodes = || {
            vec![
                node("gw1", "gateway").datasource(
                    "shared_db",
                    "mysql",
                    "db1:3306",
                    "shared",
                    Some(100),
                ),
                node("gw2", "gateway").datasource(
                    "shared_db",
                    "mysql",
                    "db1:3306",
                    "shared",
                    Some(100),
                ),
                node("cp1", "control-plane")
                    .datasource("apim_db", "mysql", "db1:3306", "apim", Some(150))
                    .datasource("shared_db", "mysql", "db1:3306", "shared", None),
                // Another server: not added to db1's sum.
                node("tm1", "traffic-manager").datasource(
                    "apim_db",
                    "mysql",
                    "db2:3306",
                    "apim",
                    Some(300),
                ),
            ]
        };
        assert!(
            fleet(nodes())
                .max_connections(400)
                .lines(Code::FLEET_DB_CONNECTIONS_EXCEED_SERVER)
                .is_empty(),
            "350 fits in 400"
        );
        assert!(
            fleet(nodes())
                .lines(Code::FLEET_DB_CONNECTIONS_EXCEED_SERVER)
                .is_empty(),
            "no limit known: nothing to compare"
        );
        assert_eq!(
            fleet(nodes())
                .max_connections(300)
                .lines(Code::FLEET_DB_CONNECTIONS_EXCEED_SERVER),
            [
                "FLT002 deployment.toml:database:mysql db1:3306 @gw1/opt/wso2am-4.2.0/repository/conf/deployment.toml:30:1 \
              350 (gw1 shared_db 100, gw2 shared_db 100, cp1 apim_db 150) → <= 300"
            ]
        );
        let f = fleet(nodes())
            .max_connections(300)
            .findings(Code::FLEET_DB_CONNECTIONS_EXCEED_SERVER);
        assert_eq!(
            f[0].notes,
            [
                "pool size unknown (not counted): cp1 shared_db",
                "hosts: cp1, gw1, gw2",
                "roles: control-plane, gateway"
            ]
        );
    }

    #[test]
    fn replicas_surge_and_loopback() {
        let f = fleet(vec![
            node("gw", "gateway")
                .kubernetes(2, Some(5), 1)
                .datasource("shared_db", "postgresql", "pg:5432", "shared", Some(50)),
            node("cp1", "control-plane").datasource("apim_db", "postgresql", "pg:5432", "apim", Some(50)),
            // Two nodes' "localhost" are two servers.
            node("a", "gateway").datasource("apim_db", "mysql", "localhost:3306", "apim", Some(150)),
            node("b", "gateway").datasource("apim_db", "mysql", "localhost:3306", "apim", Some(150)),
        ])
        .inventory(r#"{"_meta":{"hostvars":{"cp1":{"apim_tune_replicas":2,"apim_tune_db_max_connections":200}}}}"#);
        assert_eq!(
            f.lines(Code::FLEET_DB_CONNECTIONS_EXCEED_SERVER),
            [
                "FLT002 deployment.toml:database:postgresql pg:5432 @gw/opt/wso2am-4.2.0/repository/conf/deployment.toml:30:1 \
              400 (gw shared_db 50 × 6 pods (5 + surge 1), cp1 apim_db 50 × 2 instances (2 + surge 0)) → <= 200"
            ]
        );
    }

    #[test]
    fn absurd_counts_saturate_instead_of_wrapping() {
        // See: review of issue 16 — `apim_tune_hpa_max: 4294967295` + surge wrapped to 0 pods
        // (no finding) in release builds and panicked in debug builds.
        let f = fleet(vec![
            node("gw1", "gateway").datasource("apim_db", "mysql", "db:3306", "apim", Some(i64::MAX)),
            node("gw2", "gateway").datasource("apim_db", "mysql", "db:3306", "apim", Some(i64::MAX)),
        ])
        .inventory(r#"{"_meta":{"hostvars":{"gw1":{"apim_tune_hpa_max":4294967295,"apim_tune_max_surge":1,"apim_tune_db_max_connections":400}}}}"#);
        let lines = f.lines(Code::FLEET_DB_CONNECTIONS_EXCEED_SERVER);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains(&i64::MAX.to_string()), "{lines:?}");
    }
}
