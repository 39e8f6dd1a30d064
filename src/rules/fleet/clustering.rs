//! FLT012 fleet-cluster-members-wrong: with well-known-address clustering on, a node's member
//! list does not name the other nodes of its role.

use super::{FleetContext, Member, list, placed};
use crate::diag::{Finding, Subject};
use crate::rules::Check;

declare_rule! {
    /// ### What it checks
    /// On each node with clustering enabled and the `wka` membership scheme, the
    /// `[clustering.properties] members` (axis2.xml `members` on 2.x) name every other node of
    /// the same role that also clusters, and (with an inventory) no member that is no node of
    /// the deployment.
    /// ### Why it matters
    /// A node that does not know its peers forms a cluster of its own: cache invalidation and
    /// (on 2.x) artifact synchronisation stop reaching it, and it serves stale data.
    /// ### Fix
    /// List every node of the role in `members` (`host:port`) on each of them.
    /// ### Sources
    /// - hazelcast-clustering
    pub(crate) static RULE = "FLT012" "fleet-cluster-members-wrong" Warning "a clustered node does not name its peers as members",
    inputs: [],
    check: Check::Fleet(check),
}

fn check(cx: &FleetContext, out: &mut Vec<Finding>) {
    let members = cx.members();
    let clustered: Vec<&Member> = members
        .iter()
        .filter(|m| {
            m.home.clustering.enabled
                && m.home
                    .clustering
                    .membership_scheme
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("wka"))
        })
        .collect();
    for m in &clustered {
        let peers: Vec<&&Member> = clustered
            .iter()
            .filter(|p| p.role == m.role && !std::ptr::eq(p.node, m.node))
            .collect();
        let missing: Vec<String> = peers
            .iter()
            .filter(|p| {
                !m.home.clustering.members.iter().any(|entry| {
                    let host = entry.rsplit_once(':').map(|(h, _)| h).unwrap_or(entry);
                    let host = host.trim_start_matches('[').trim_end_matches(']');
                    cx.names_node(p.node, host)
                })
            })
            .map(|p| p.host().to_string())
            .collect();
        // A member no node of the deployment answers to (judged with an inventory only: without
        // one the exports may be a part of the deployment).
        let strangers: Vec<String> = if cx.inventory.is_some() {
            m.home
                .clustering
                .members
                .iter()
                .filter(|entry| {
                    let host = entry.rsplit_once(':').map(|(h, _)| h).unwrap_or(entry);
                    let host = host.trim_start_matches('[').trim_end_matches(']');
                    !host.contains("${") && cx.named(host).is_empty()
                })
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        if missing.is_empty() && strangers.is_empty() {
            continue;
        }
        let mut says = Vec::new();
        if !missing.is_empty() {
            says.push(format!("do not name {}", list(missing.clone())));
        }
        if !strangers.is_empty() {
            says.push(format!(
                "name {}, no node of the deployment",
                list(strangers.iter().map(|s| format!("`{s}`")))
            ));
        }
        let expected = if missing.is_empty() {
            format!("members naming the {} nodes of the deployment", m.role)
        } else {
            format!("members naming {}", list(missing))
        };
        let f = Finding::new(
            RULE.code(),
            m.subject(Subject::setting("deployment.toml", "clustering.properties.members")),
            format!("the cluster members of {} {}", m.label(), says.join(" and ")),
        )
        .at(m.at(&m.home.clustering.source).or_else(|| Some(m.home_file())))
        .current(if m.home.clustering.members.is_empty() {
            "no members".to_string()
        } else {
            m.home.clustering.members.join(", ")
        })
        .expected(expected)
        .why("a node that does not know its peers forms a cluster of its own and misses their cache invalidations")
        .see("hazelcast-clustering");
        let hosts: Vec<String> = std::iter::once(m.host().to_string())
            .chain(peers.iter().map(|p| p.host().to_string()))
            .collect();
        out.push(placed(f, &hosts, &[m.role]));
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::rules::fleet::testing::*;

    #[test]
    fn wka_members_name_the_peers() {
        let f = fleet(vec![
            node("cp1", "control-plane").clustering("wka", &["cp1:4000", "10.0.0.2:4000"]),
            node("cp2", "control-plane")
                .address("10.0.0.2")
                .clustering("wka", &["cp2:4000"]),
            // Another scheme, another role: not judged.
            node("cp3", "control-plane").clustering("kubernetes", &[]),
            node("gw1", "gateway").clustering("wka", &[]),
        ]);
        assert_eq!(
            f.lines(Code::FLEET_CLUSTER_MEMBERS_WRONG),
            [
                "FLT012 node:cp2/deployment.toml:clustering.properties.members @cp2/opt/wso2am-4.2.0/repository/conf/deployment.toml:60:1 \
              cp2:4000 → members naming cp1"
            ]
        );
    }
}
