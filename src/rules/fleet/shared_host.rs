//! FLT013 fleet-homes-collide and FLT014 fleet-homes-exceed-memory: two API-M homes on one host
//! (WSO2's patterns put a key manager next to a traffic manager) must not share a port, and
//! their heaps together must fit the host's memory.

use super::{FleetContext, placed};
use crate::diag::{Finding, Subject};
use crate::model::Location;
use crate::rules::Check;

declare_rule! {
    /// ### What it checks
    /// On a host running two or more API-M homes, no two homes listen on the same port (their
    /// `[server] offset`s differ by enough to keep every port apart).
    /// ### Why it matters
    /// The second JVM to start fails to bind ("Address already in use") and stays down, or
    /// binds some ports and not others and half-works.
    /// ### Fix
    /// Give each home its own `[server] offset` (1, 2, …), and point the URLs that reach it at
    /// its ports.
    /// ### Sources
    /// - distributed-deployment
    pub(crate) static RULE = "FLT013" "fleet-homes-collide" Error "two API-M homes on one host listen on the same ports",
    inputs: [],
    check: Check::Fleet(check_ports),
}

declare_rule! {
    /// ### What it checks
    /// On a host running two or more API-M homes, the sum of their maximum heaps (`-Xmx` in
    /// effect) against the memory in effect for them; past half of it, or the whole of it.
    /// ### Why it matters
    /// Each JVM needs native memory beyond its heap (metaspace, threads, direct buffers, code
    /// cache); heaps that take the whole host leave the kernel nothing, and the OOM killer
    /// picks one of the JVMs under load.
    /// ### Fix
    /// Lower the heaps so their sum stays under about half of the memory, or move a home to
    /// another host.
    /// ### Sources
    /// - tuning-4.x
    pub(crate) static HEAP = "FLT014" "fleet-homes-exceed-memory" Warning "the heaps of the homes on one host exceed its memory",
    inputs: [],
    check: Check::Fleet(check_heap),
}

fn home_label(path: &str, role: Option<&str>) -> String {
    match role {
        Some(r) => format!("{path} ({r})"),
        None => path.to_string(),
    }
}

fn check_ports(cx: &FleetContext, out: &mut Vec<Finding>) {
    for n in cx.nodes {
        let homes = &n.facts.homes;
        for (i, a) in homes.iter().enumerate() {
            for b in &homes[i + 1..] {
                let shared: Vec<u32> = a
                    .listen_ports
                    .iter()
                    .copied()
                    .filter(|p| b.listen_ports.contains(p))
                    .collect();
                if shared.is_empty() {
                    continue;
                }
                let offsets = |h: &crate::fleet::facts::HomePart| {
                    h.offset
                        .value
                        .map(|o| o.to_string())
                        .unwrap_or_else(|| "unknown".into())
                };
                let f = Finding::new(
                    RULE.code(),
                    Subject::Node {
                        node: n.host.clone(),
                        subject: Box::new(Subject::setting("deployment.toml", "server.offset")),
                    },
                    format!(
                        "on {}, {} and {} both listen on {}",
                        n.host,
                        home_label(&a.path, a.role.value.as_deref()),
                        home_label(&b.path, b.role.value.as_deref()),
                        shared
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .at(
                    super::locate(&n.host, &b.path, &b.offset.source).or_else(|| {
                        Some(Location::file_only(&format!(
                            "{}/{}/repository/conf/deployment.toml",
                            n.host,
                            b.path.trim_start_matches('/')
                        )))
                    }),
                )
                .current(format!("offsets {} and {}", offsets(a), offsets(b)))
                .expected("a distinct offset per home, no shared port")
                .why("the second JVM to start cannot bind its ports and stays down or half-works")
                .see("distributed-deployment");
                let roles: Vec<&str> = [a, b]
                    .iter()
                    .filter_map(|h| h.role.value.as_deref())
                    .collect();
                out.push(placed(f, std::slice::from_ref(&n.host), &roles));
            }
        }
    }
}

fn check_heap(cx: &FleetContext, out: &mut Vec<Finding>) {
    for n in cx.nodes {
        let homes = &n.facts.homes;
        if homes.len() < 2 {
            continue;
        }
        let Some(mem) = n.facts.host.memory_mb.value else {
            continue;
        };
        // One unknown heap makes the sum unknown: not judged.
        let Some(heaps): Option<Vec<u64>> = homes.iter().map(|h| h.heap_max_mb.value).collect()
        else {
            continue;
        };
        let sum: u64 = heaps.iter().fold(0u64, |a, h| a.saturating_add(*h));
        if sum.saturating_mul(2) <= mem {
            continue;
        }
        let parts = homes
            .iter()
            .zip(&heaps)
            .map(|(h, mb)| format!("{} {mb} MiB", home_label(&h.path, h.role.value.as_deref())))
            .collect::<Vec<_>>()
            .join(" + ");
        let mut f = Finding::new(
            HEAP.code(),
            Subject::Node {
                node: n.host.clone(),
                subject: Box::new(Subject::jvm("api-manager.sh", "-Xmx")),
            },
            format!(
                "the heaps of the {} homes on {} add up to {sum} MiB of its {mem} MiB",
                homes.len(),
                n.host
            ),
        )
        .at(super::locate(&n.host, &homes[0].path, &homes[0].heap_max_mb.source)
            .or_else(|| Some(Location::file_only(&format!("{}/{}/bin/api-manager.sh", n.host, homes[0].path.trim_start_matches('/'))))))
        .current(format!("{sum} MiB ({parts})"))
        .expected(format!("<= {} MiB (half of {mem} MiB)", mem / 2))
        .why("each JVM needs native memory beyond its heap; heaps that take the host leave the kernel nothing and the OOM killer takes a JVM")
        .see("tuning-4.x");
        if sum > mem {
            f = f.severity(crate::diag::Severity::Error);
        }
        f = f.note(format!(
            "memory in effect: {}",
            n.facts.host.memory_mb.source
        ));
        let roles: Vec<&str> = homes
            .iter()
            .filter_map(|h| h.role.value.as_deref())
            .collect();
        out.push(placed(f, std::slice::from_ref(&n.host), &roles));
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::{Code, Severity};
    use crate::rules::fleet::testing::*;

    #[test]
    fn homes_on_one_host() {
        let f = fleet(vec![
            node("tm1", "traffic-manager")
                .heap(2048, 3072)
                .home("opt/km", "key-manager", 0)
                .heap(2048, 2048),
            node("tm2", "traffic-manager").home("opt/km", "key-manager", 1),
            node("gw1", "gateway").heap(8192, 8192),
        ]);
        assert_eq!(
            f.lines(Code::FLEET_HOMES_COLLIDE),
            [
                "FLT013 node:tm1/deployment.toml:server.offset @tm1/opt/km/repository/conf/deployment.toml:4:1 \
              offsets 0 and 0 → a distinct offset per home, no shared port"
            ]
        );
        assert_eq!(
            f.lines(Code::FLEET_HOMES_EXCEED_MEMORY),
            [
                "FLT014 node:tm1/api-manager.sh:-Xmx @tm1/opt/wso2am-4.2.0/bin/api-manager.sh \
                 5120 MiB (opt/wso2am-4.2.0 (traffic-manager) 3072 MiB + opt/km (key-manager) 2048 MiB) → <= 4096 MiB (half of 8192 MiB)",
            ]
        );
        assert_eq!(
            f.findings(Code::FLEET_HOMES_EXCEED_MEMORY)[0].severity,
            Severity::Warning
        );
        let over = fleet(vec![
            node("tm1", "traffic-manager")
                .memory(4096)
                .home("opt/km", "key-manager", 1)
                .heap(4096, 4096),
        ]);
        assert_eq!(
            over.findings(Code::FLEET_HOMES_EXCEED_MEMORY)[0].severity,
            Severity::Error
        );
    }
}
