//! FLT005 fleet-event-duplicate-not-peer: the HA pair of control planes (or traffic managers)
//! does not forward events to each other: `[apim.event_hub] event_duplicate_url` is missing,
//! names the node itself, or names a node that is not its peer.

use super::endpoints::{Reached, reach};
use super::{FleetContext, Member, list, placed};
use crate::diag::{Finding, Subject};
use crate::fleet::facts::EndpointTarget;
use crate::rules::Check;

declare_rule! {
    /// ### What it checks
    /// When two or more control planes (or traffic managers) run, each one's
    /// `[apim.event_hub] event_duplicate_url` names every other one (and not itself).
    /// ### Why it matters
    /// An event (an API published, a token revoked, a throttling decision) reaches one node of
    /// the pair; without the duplicate URL its peer never hears of it, and the gateways
    /// subscribed to the peer keep serving the old state.
    /// ### Fix
    /// On each node set `event_duplicate_url` to the other node(s)' event URL, e.g.
    /// `["tcp://cp2:5672"]` on cp1 and `["tcp://cp1:5672"]` on cp2.
    /// ### Sources
    /// - ansible-apim-distributed
    /// - helm-apim-distributed
    pub(crate) static RULE = "FLT005" "fleet-event-duplicate-not-peer" Warning "HA peers do not forward events to each other",
    inputs: [],
    check: Check::Fleet(check),
}

const HA_ROLES: &[&str] = &["control-plane", "traffic-manager"];

fn check(cx: &FleetContext, out: &mut Vec<Finding>) {
    for role in HA_ROLES {
        let peers = cx.of_role(role);
        for m in &peers {
            let dups: Vec<_> = m
                .home
                .endpoints
                .iter()
                .filter(|e| e.target == EndpointTarget::EventDuplicate)
                .collect();
            let mut named: Vec<String> = Vec::new();
            let mut wrong: Vec<(String, String)> = Vec::new();
            for e in &dups {
                for u in &e.urls {
                    let shown = format!(
                        "{}{}",
                        u.host,
                        u.port.map(|p| format!(":{p}")).unwrap_or_default()
                    );
                    match reach(cx, u) {
                        Reached::Unknown | Reached::Alias(_) => named.push("?".into()),
                        Reached::Loopback => wrong.push((shown, "the node itself".into())),
                        Reached::Nothing => {
                            if cx.inventory.is_some() {
                                wrong.push((shown, "no node of the deployment".into()));
                            }
                        }
                        Reached::Nodes(nodes) => {
                            for n in nodes {
                                if std::ptr::eq(n, m.node) {
                                    wrong.push((shown.clone(), "the node itself".into()));
                                } else if let Some(p) =
                                    peers.iter().find(|p| std::ptr::eq(p.node, n))
                                {
                                    named.push(p.host().to_string());
                                } else {
                                    wrong
                                        .push((shown.clone(), format!("{}, not a {role}", n.host)));
                                }
                            }
                        }
                    }
                }
            }
            // A URL the merge cannot place (a placeholder, a load balancer) may well be the
            // peer: only what is certainly wrong is reported.
            let unplaced = named.iter().any(|n| n == "?");
            let missing: Vec<String> = peers
                .iter()
                .filter(|p| !std::ptr::eq(p.node, m.node) && !named.contains(&p.host().to_string()))
                .map(|p| p.host().to_string())
                .collect();
            let source = dups.first().map(|e| e.source.clone());
            let mut emit = |current: String, expected: String| {
                let f = Finding::new(
                    RULE.code(),
                    m.subject(Subject::setting("deployment.toml", "apim.event_hub.event_duplicate_url")),
                    format!("`event_duplicate_url` on {} {current}", m.label()),
                )
                .at(source.as_deref().and_then(|s| m.at(s)).or_else(|| Some(m.home_file())))
                .current(current)
                .expected(expected)
                .why("an event reaching one node of the pair never reaches its peer, and the gateways it serves keep the old state")
                .see("ansible-apim-distributed");
                let hosts: Vec<String> = peers.iter().map(|p| p.host().to_string()).collect();
                out.push(placed(f, &hosts, &[role]));
            };
            let others: Vec<String> = peers
                .iter()
                .filter(|p| !std::ptr::eq(p.node, m.node))
                .map(Member::label)
                .collect();
            let peers_wanted = if others.is_empty() {
                format!("the event URL of another {role} of the deployment")
            } else {
                format!("the event URL of {}", list(others.clone()))
            };
            for (shown, is) in wrong {
                emit(
                    format!("names `{shown}`, which is {is}"),
                    peers_wanted.clone(),
                );
            }
            if !missing.is_empty() && !unplaced && peers.len() > 1 {
                let current = if dups.is_empty() {
                    "is not set".to_string()
                } else {
                    format!("does not name {}", list(missing.clone()))
                };
                emit(current, format!("the event URL of {}", list(missing)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::fleet::facts::EndpointTarget::EventDuplicate;
    use crate::rules::fleet::testing::*;

    fn cp(h: &str, urls: &[&str]) -> NodeB {
        let n = node(h, "control-plane");
        if urls.is_empty() {
            n
        } else {
            n.endpoint(EventDuplicate, "apim.event_hub.event_duplicate_url", urls)
        }
    }

    #[test]
    fn peers_name_each_other() {
        let cases: Vec<(Vec<NodeB>, Vec<&str>)> = vec![
            (
                vec![
                    cp("cp1", &["tcp://cp2:5672"]),
                    cp("cp2", &["tcp://cp1:5672"]),
                ],
                vec![],
            ),
            // One control plane: no peer to name.
            (vec![cp("cp1", &[])], vec![]),
            (
                vec![
                    cp("cp1", &["tcp://cp1:5672"]),
                    cp("cp2", &[]),
                    node("gw1", "gateway"),
                ],
                vec![
                    "FLT005 node:cp1/deployment.toml:apim.event_hub.event_duplicate_url @cp1/opt/wso2am-4.2.0/repository/conf/deployment.toml:40:1 \
                     names `cp1:5672`, which is the node itself → the event URL of cp2",
                    "FLT005 node:cp1/deployment.toml:apim.event_hub.event_duplicate_url @cp1/opt/wso2am-4.2.0/repository/conf/deployment.toml:40:1 \
                     does not name cp2 → the event URL of cp2",
                    "FLT005 node:cp2/deployment.toml:apim.event_hub.event_duplicate_url @cp2/opt/wso2am-4.2.0/repository/conf/deployment.toml \
                     is not set → the event URL of cp1",
                ],
            ),
            (
                vec![
                    cp("cp1", &["tcp://gw1:5672"]),
                    cp("cp2", &["tcp://${peer}:5672"]),
                    node("gw1", "gateway"),
                ],
                vec![
                    "FLT005 node:cp1/deployment.toml:apim.event_hub.event_duplicate_url @cp1/opt/wso2am-4.2.0/repository/conf/deployment.toml:40:1 \
                     names `gw1:5672`, which is gw1, not a control-plane → the event URL of cp2",
                    "FLT005 node:cp1/deployment.toml:apim.event_hub.event_duplicate_url @cp1/opt/wso2am-4.2.0/repository/conf/deployment.toml:40:1 \
                     does not name cp2 → the event URL of cp2",
                ],
            ),
        ];
        for (nodes, want) in cases {
            assert_eq!(
                fleet(nodes).lines(Code::FLEET_EVENT_DUPLICATE_NOT_PEER),
                want
            );
        }
    }
}
