//! FLT007 fleet-role-drift: nodes of one role that run with different settings.
//!
//! Nodes of one role sit behind one load balancer and should behave alike; a value that differs
//! on one of them is drift (a hand edit, a missed rollout) unless a host fact explains it. The
//! compare is after normalisation (the export's unit-resolved values) and leaves out what is
//! each node's own by design: its hostname, address, offset and the URLs of its peers.
//! One finding per role and setting lists the value on every node (never N² pairs).

use super::{FleetContext, Member, placed};
use crate::diag::{Finding, Subject};
use crate::model::Location;
use crate::rules::Check;
use std::collections::BTreeMap;

declare_rule! {
    /// ### What it checks
    /// Across the nodes of one role: every API-M setting of the export (unit-resolved), the
    /// heap, each datasource's pool (`maxActive`, `maxWait`), the cache invalidation settings,
    /// the kernel parameters in effect and the API-M user's limits. Per-node identity
    /// (hostname, `node_ip`, offset, peer URLs) is left out. When the nodes' cores or memory
    /// differ too, the finding says so: a value derived from host size may differ on purpose.
    /// ### Why it matters
    /// A load balancer spreads the same traffic over the nodes of a role; one node with a
    /// smaller pool, another timeout or a lower `somaxconn` fails first and only under load,
    /// which is hard to trace back to a configuration difference.
    /// ### Fix
    /// Make the value the same on every node of the role (the inventory or chart that renders
    /// them is the place), or waive it for the hosts where the difference is intended.
    /// ### Sources
    /// - ansible-apim-distributed
    /// - prod-checklist
    pub(crate) static RULE = "FLT007" "fleet-role-drift" Warning "nodes of one role run with different settings",
    inputs: [],
    check: Check::Fleet(check),
}

/// Settings that are a node's own by design: compared, they would only ever be noise.
fn is_identity(id: &str) -> bool {
    let id = id.to_ascii_lowercase();
    [
        "hostname",
        "node_ip",
        "offset",
        "_url",
        ".url",
        "local_member",
    ]
    .iter()
    .any(|p| id.contains(p))
}

/// One compared value: node label → (value, where).
type Values = BTreeMap<String, (String, Option<Location>)>;

fn check(cx: &FleetContext, out: &mut Vec<Finding>) {
    let mut by_role: BTreeMap<&str, Vec<Member>> = BTreeMap::new();
    for m in cx.members() {
        if m.role != "unknown" {
            by_role.entry(m.role).or_default().push(m);
        }
    }
    for (role, members) in by_role {
        if members.len() < 2 {
            continue;
        }
        let mut compared: BTreeMap<(u8, String), (Subject, Values)> = BTreeMap::new();
        let mut put = |rank: u8,
                       key: String,
                       subject: Subject,
                       m: &Member,
                       v: String,
                       at: Option<Location>| {
            compared
                .entry((rank, key))
                .or_insert_with(|| (subject, Values::new()))
                .1
                .insert(m.label(), (v, at));
        };
        let mut seen_hosts = std::collections::BTreeSet::new();
        for m in &members {
            let h = m.home;
            for (id, s) in &h.settings {
                if is_identity(id) {
                    continue;
                }
                if let Some(v) = &s.value {
                    let v = match &s.unit {
                        Some(u) => format!("{v} {u}"),
                        None => v.clone(),
                    };
                    put(
                        0,
                        id.clone(),
                        Subject::setting("deployment.toml", id.clone()),
                        m,
                        v,
                        m.at(&s.source),
                    );
                }
            }
            for (flag, v) in [("-Xms", &h.heap_min_mb), ("-Xmx", &h.heap_max_mb)] {
                if let Some(mb) = v.value {
                    put(
                        1,
                        flag.into(),
                        Subject::jvm("api-manager.sh", flag),
                        m,
                        format!("{mb}m"),
                        m.at(&v.source),
                    );
                }
            }
            for d in &h.datasources {
                for (what, v) in [("maxActive", d.max_active), ("maxWait", d.max_wait_ms)] {
                    if let Some(v) = v {
                        let key = format!("database.{}.pool_options.{what}", d.name);
                        put(
                            2,
                            key.clone(),
                            Subject::setting("deployment.toml", key),
                            m,
                            v.to_string(),
                            m.at(&d.source),
                        );
                    }
                }
            }
            for (k, v) in &h.cache_invalidation {
                if is_identity(k) {
                    continue;
                }
                let key = format!("apim.cache_invalidation.{k}");
                put(
                    3,
                    key.clone(),
                    Subject::setting("deployment.toml", key),
                    m,
                    v.clone(),
                    Some(m.home_file()),
                );
            }
            // Host facts once per node, even where two homes of one role share it.
            if !seen_hosts.insert(m.host().to_string()) {
                continue;
            }
            for (key, s) in &m.node.facts.host.sysctl {
                if let Some(v) = s.live.clone().or_else(|| s.boot.clone()) {
                    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
                    let at = s.boot_source.as_deref().map(|b| {
                        let (file, line) = b
                            .rsplit_once(':')
                            .and_then(|(f, l)| l.parse().ok().map(|l| (f, l)))
                            .unwrap_or((b, 0));
                        let file = format!("{}/{}", m.host(), file);
                        if line > 0 {
                            Location::at(&file, line, 1)
                        } else {
                            Location::file_only(&file)
                        }
                    });
                    put(4, key.clone(), Subject::sysctl(key.clone()), m, v, at);
                }
            }
            for (item, l) in &m.node.facts.host.limits {
                let user = l.user.clone().unwrap_or_else(|| "*".into());
                for (kind, v) in [("soft", &l.soft), ("hard", &l.hard)] {
                    if let Some(v) = v {
                        put(
                            5,
                            format!("{item}:{kind}"),
                            Subject::limit(&user, item, Some(kind)),
                            m,
                            v.clone(),
                            None,
                        );
                    }
                }
            }
        }
        let host_facts = host_differences(&members);
        for ((_, _), (subject, values)) in compared {
            let mut distinct: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (label, (v, _)) in &values {
                distinct.entry(v.as_str()).or_default().push(label.as_str());
            }
            if distinct.len() < 2 {
                continue;
            }
            // Point at a node holding the rarest value: that is where the drift usually is.
            let rare = distinct
                .values()
                .min_by_key(|ls| ls.len())
                .and_then(|ls| ls.first())
                .copied();
            // …else wherever the value is written (a default has no line to point at).
            let at = rare
                .and_then(|l| values.get(l))
                .and_then(|(_, at)| at.clone())
                .or_else(|| values.values().find_map(|(_, at)| at.clone()));
            let mut missing: Vec<String> = members
                .iter()
                .map(Member::label)
                .filter(|l| !values.contains_key(l))
                .collect();
            missing.dedup();
            let current = values
                .iter()
                .map(|(l, (v, _))| format!("{l}: {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut f = Finding::new(
                RULE.code(),
                subject.clone(),
                format!("`{}` differs between the {role} nodes", subject.short_name()),
            )
            .at(at)
            .current(current)
            .expected(format!("one value on every {role}"))
            .why("nodes behind one load balancer get the same traffic; the one configured differently fails first, and only under load")
            .see("ansible-apim-distributed");
            if let Some(h) = &host_facts {
                f = f.note(format!(
                    "the hosts differ too ({h}): a value derived from them may differ on purpose"
                ));
            }
            if !missing.is_empty() {
                f = f.note(format!("unknown on {}", missing.join(", ")));
            }
            let hosts: Vec<String> = members.iter().map(|m| m.host().to_string()).collect();
            out.push(placed(f, &hosts, &[role]));
        }
    }
}

/// `cores gw1=4, gw2=8` when the members' host size differs.
fn host_differences(members: &[Member]) -> Option<String> {
    let mut parts = Vec::new();
    let cores: BTreeMap<String, u32> = members
        .iter()
        .filter_map(|m| {
            m.node
                .facts
                .host
                .cores
                .value
                .map(|c| (m.host().to_string(), c))
        })
        .collect();
    let mem: BTreeMap<String, u64> = members
        .iter()
        .filter_map(|m| {
            m.node
                .facts
                .host
                .memory_mb
                .value
                .map(|c| (m.host().to_string(), c))
        })
        .collect();
    let distinct = |v: Vec<String>| {
        let mut d = v.clone();
        d.sort();
        d.dedup();
        d.len() > 1
    };
    if distinct(cores.values().map(u32::to_string).collect()) {
        parts.push(format!(
            "cores {}",
            cores
                .iter()
                .map(|(h, c)| format!("{h}={c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if distinct(mem.values().map(u64::to_string).collect()) {
        parts.push(format!(
            "memory {}",
            mem.iter()
                .map(|(h, c)| format!("{h}={c} MiB"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::rules::fleet::testing::*;

    #[test]
    fn one_finding_per_role_and_setting() {
        let gw = |h: &str, timeout: &str, conns: &str| {
            node(h, "gateway")
                .setting("cache.token_expiry", timeout, 20)
                .setting(
                    "apim.key_manager.service_url",
                    &format!("https://{h}:9443"),
                    21,
                )
                .sysctl("net.core.somaxconn", conns)
                .datasource("shared_db", "mysql", "db:3306", "shared", Some(50))
                .limit("nofile", "65535", "65535")
        };
        let f = fleet(vec![
            gw("gw1", "900", "4096"),
            gw("gw2", "900", "4096"),
            gw("gw3", "300", "1024"),
            // Another role: never compared with the gateways.
            node("cp1", "control-plane").setting("cache.token_expiry", "60", 20),
        ]);
        assert_eq!(
            f.lines(Code::FLEET_ROLE_DRIFT),
            [
                "FLT007 deployment.toml:cache.token_expiry @gw3/opt/wso2am-4.2.0/repository/conf/deployment.toml:20:1 \
                 gw1: 900, gw2: 900, gw3: 300 → one value on every gateway",
                "FLT007 sysctl:net.core.somaxconn @gw3/etc/sysctl.d/90-apim.conf:1:1 \
                 gw1: 4096, gw2: 4096, gw3: 1024 → one value on every gateway",
            ]
        );
    }

    #[test]
    fn host_size_is_named_and_identity_is_left_out() {
        let f = fleet(vec![
            node("gw1", "gateway")
                .cores(4)
                .heap(2048, 2048)
                .server_hostname("gw1.example.com")
                .offset(0),
            node("gw2", "gateway")
                .cores(8)
                .heap(4096, 4096)
                .server_hostname("gw2.example.com")
                .offset(2),
        ]);
        let found = f.findings(Code::FLEET_ROLE_DRIFT);
        let lines = f.lines(Code::FLEET_ROLE_DRIFT);
        assert_eq!(
            lines,
            [
                "FLT007 api-manager.sh:-Xms @gw1/opt/wso2am-4.2.0/bin/api-manager.sh gw1: 2048m, gw2: 4096m → one value on every gateway",
                "FLT007 api-manager.sh:-Xmx @gw1/opt/wso2am-4.2.0/bin/api-manager.sh gw1: 2048m, gw2: 4096m → one value on every gateway",
            ]
        );
        assert!(
            found[0].notes[0].contains("cores gw1=4, gw2=8"),
            "{:?}",
            found[0].notes
        );
    }
}
