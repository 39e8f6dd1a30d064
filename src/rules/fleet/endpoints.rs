//! FLT004 fleet-endpoint-misses-role: a URL one node calls another on (key manager, traffic
//! manager, event hub, gateway) does not reach a node of that role, or reaches it on a port it
//! does not listen on (the usual cause: an offset applied on one side only).

use super::{FleetContext, Member, placed};
use crate::diag::{Finding, Subject};
use crate::fleet::facts::{EndpointTarget, ParsedUrl};
use crate::outcome::FleetNode;
use crate::rules::Check;

declare_rule! {
    /// ### What it checks
    /// Every key-manager, traffic-manager (service, decision and event receiver), event-hub and
    /// gateway URL of every node names a node of the deployment (its inventory name or
    /// address, hostname, an address, `[server] hostname`, or a load balancer alias from the
    /// inventory's `apim_tune_lb_aliases`) that runs that role, on a port that node listens on
    /// (its base port plus its offset). `localhost` is right only when that role runs on the
    /// same host. A URL the product defaults is judged on gateways only (they call every one);
    /// other roles never use most of their defaults.
    /// ### Why it matters
    /// A URL that reaches the wrong node, or the right node on a port shifted by the wrong
    /// offset, fails only at run time: token validation, throttling decisions or artifact
    /// events stop, and the gateway serves errors or stale policies.
    /// ### Fix
    /// Point the URL at a node (or load balancer) of the right role, on its base port plus its
    /// `[server] offset`.
    /// ### Sources
    /// - distributed-deployment
    /// - ansible-apim-distributed
    pub(crate) static RULE = "FLT004" "fleet-endpoint-misses-role" Warning "an endpoint URL does not reach a node of its role on a port it listens on",
    inputs: [],
    check: Check::Fleet(check),
}

/// The roles that serve an endpoint's target; `None` for what is not a call to another role.
pub fn serving_roles(t: EndpointTarget) -> Option<&'static [&'static str]> {
    match t {
        EndpointTarget::KeyManager => Some(&["key-manager", "control-plane", "all-in-one"]),
        EndpointTarget::TrafficManager | EndpointTarget::TrafficManagerReceiver => {
            Some(&["traffic-manager", "control-plane", "all-in-one"])
        }
        EndpointTarget::EventHub => Some(&["control-plane", "all-in-one"]),
        EndpointTarget::Gateway => Some(&["gateway", "all-in-one"]),
        // A listen address, a revocation hook and the HA peer (FLT005) are judged elsewhere.
        EndpointTarget::RevocationNotify
        | EndpointTarget::ThriftListen
        | EndpointTarget::EventDuplicate => None,
    }
}

pub fn is_loopback(host: &str) -> bool {
    matches!(
        host.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "::1" | "[::1]" | "${carbon.local.ip}"
    )
}

/// What a URL's host names in the deployment.
pub enum Reached<'a> {
    /// A placeholder or an empty host: unknown, not judged.
    Unknown,
    /// The node the URL is written on.
    Loopback,
    Nodes(Vec<&'a FleetNode>),
    /// A load balancer answering for these roles.
    Alias(Vec<&'a str>),
    Nothing,
}

pub fn reach<'a>(cx: &FleetContext<'a>, u: &ParsedUrl) -> Reached<'a> {
    let host = u.host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains("${") && !is_loopback(host) {
        return Reached::Unknown;
    }
    if is_loopback(host) {
        return Reached::Loopback;
    }
    let nodes: Vec<&FleetNode> = cx.named(host);
    if !nodes.is_empty() {
        return Reached::Nodes(nodes);
    }
    let roles = cx.lb_roles(host);
    if !roles.is_empty() {
        return Reached::Alias(roles);
    }
    Reached::Nothing
}

/// The port a URL meant on a node whose offset is `offset`: the written port's base (the
/// known base port it sits just above) plus that offset.
fn meant_port(written: u16, listen: &[u32], offset: u32, written_offset: u32) -> Option<u32> {
    const BASES: &[u32] = &[9443, 9763, 8243, 8280, 5672, 9611, 9711, 7611, 7711];
    let w = u32::from(written);
    let base = BASES
        .iter()
        .copied()
        .filter(|b| w >= *b && w - b < 1000)
        .min_by_key(|b| w - b)
        .or_else(|| w.checked_sub(written_offset))?;
    let meant = base + offset;
    (listen.is_empty() || listen.contains(&meant)).then_some(meant)
}

fn check(cx: &FleetContext, out: &mut Vec<Finding>) {
    for m in cx.members() {
        for e in &m.home.endpoints {
            let Some(roles) = serving_roles(e.target) else {
                continue;
            };
            // A default URL matters where the role calls it (a gateway calls every one of
            // them); elsewhere the product fills defaults the node never uses (a traffic
            // manager's key-manager URL), and judging them would only be noise.
            if !e.written && m.role != "gateway" {
                continue;
            }
            for u in &e.urls {
                if let Some((problem, expected, note)) = judge(cx, &m, roles, u) {
                    // `current` is the address written (what a pipeline compares with
                    // `expected`); what is wrong with it goes in the message.
                    let written = format!(
                        "{}{}",
                        u.host,
                        u.port.map(|p| format!(":{p}")).unwrap_or_default()
                    );
                    let key = e
                        .setting
                        .rsplit(':')
                        .next()
                        .unwrap_or(&e.setting)
                        .to_string();
                    let mut f = Finding::new(
                        RULE.code(),
                        m.subject(Subject::setting("deployment.toml", key.clone())),
                        format!("`{key}` on {} points at `{written}`, {problem}", m.label()),
                    )
                    .at(m.at(&e.source).or_else(|| Some(m.home_file())))
                    .current(written)
                    .expected(expected)
                    .why("a call to the wrong node or port fails only at run time: token validation, throttling or artifact events stop")
                    .see("distributed-deployment");
                    if let Some(n) = note {
                        f = f.note(n);
                    }
                    out.push(placed(f, &[m.host().to_string()], &[m.role]));
                }
            }
        }
    }
}

/// `(what is wrong, expected, note)` when the URL is wrong.
fn judge<'a>(
    cx: &FleetContext<'a>,
    m: &Member<'a>,
    roles: &[&str],
    u: &ParsedUrl,
) -> Option<(String, String, Option<String>)> {
    let want = roles.join(" or ");
    let on = |nodes: &[&'a FleetNode]| -> Vec<Member<'a>> {
        nodes
            .iter()
            .flat_map(|n| FleetContext::members_of(n))
            .collect()
    };
    let candidates: Vec<Member> = match reach(cx, u) {
        Reached::Unknown => return None,
        Reached::Alias(rs) => {
            return (!rs.iter().any(|r| roles.contains(r))).then(|| {
                (
                    format!("a load balancer for {}", rs.join(", ")),
                    format!("a node or load balancer of role {want}"),
                    None,
                )
            });
        }
        Reached::Nothing => {
            // Without an inventory, a name outside the exports may be a load balancer the merge
            // cannot know of: not judged rather than guessed.
            cx.inventory?;
            return Some((
                "which names no node of the deployment".into(),
                format!("a node of role {want}, or a load balancer listed in `apim_tune_lb_aliases`"),
                Some("an external key manager or a load balancer is fine: add its name to the inventory's `apim_tune_lb_aliases`".into()),
            ));
        }
        Reached::Loopback => {
            let here: Vec<Member> = on(&[m.node])
                .into_iter()
                .filter(|o| roles.contains(&o.role))
                .collect();
            if here.is_empty() {
                return Some((
                    format!("but no {want} runs on {}", m.host()),
                    format!("the address of a node of role {want}"),
                    None,
                ));
            }
            here
        }
        Reached::Nodes(nodes) => {
            let of_role: Vec<Member> = on(&nodes)
                .into_iter()
                .filter(|o| roles.contains(&o.role))
                .collect();
            if of_role.is_empty() {
                let runs: Vec<String> = on(&nodes)
                    .into_iter()
                    .map(|o| format!("{} runs {}", o.host(), o.role))
                    .collect();
                return Some((
                    format!(
                        "but {}",
                        if runs.is_empty() {
                            "that node runs no API-M home".to_string()
                        } else {
                            runs.join(", ")
                        }
                    ),
                    format!("a node of role {want}"),
                    None,
                ));
            }
            of_role
        }
    };
    let port = u.port?;
    if candidates
        .iter()
        .any(|c| c.home.listen_ports.is_empty() || c.home.listen_ports.contains(&u32::from(port)))
    {
        return None;
    }
    let c = &candidates[0];
    let meant = meant_port(port, &c.home.listen_ports, c.offset(), m.offset());
    Some((
        format!(
            "a port {} does not listen on (its offset is {})",
            c.label(),
            c.offset()
        ),
        match meant {
            Some(p) => format!("{}:{p}", u.host),
            None => format!("a port {} listens on", c.label()),
        },
        Some(format!(
            "{} listens on {}",
            c.label(),
            c.home
                .listen_ports
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    ))
}

#[cfg(test)]
mod tests {
    use super::EndpointTarget::*;
    use crate::diag::Code;
    use crate::rules::fleet::testing::*;

    fn deployment(gw1: NodeB) -> Vec<NodeB> {
        vec![
            gw1,
            node("cp1", "control-plane").address("10.0.0.21"),
            node("tm1", "traffic-manager").server_hostname("tm.internal"),
        ]
    }

    #[test]
    fn urls_reach_their_role_on_a_listened_port() {
        let inv = r#"{"_meta":{"hostvars":{"cp1":{"apim_tune_lb_aliases":["km.example.com"]},"gw1":{},"tm1":{}}}}"#;
        let cases: Vec<(NodeB, Vec<&str>)> = vec![
            // Right role, right port, by address, [server] hostname and lb alias: nothing.
            (
                node("gw1", "gateway")
                    .endpoint(
                        KeyManager,
                        "apim.key_manager.service_url",
                        &["https://10.0.0.21:9443/services/"],
                    )
                    .endpoint(
                        TrafficManager,
                        "apim.throttling.service_url",
                        &["https://tm.internal:9443/services/"],
                    )
                    .endpoint(
                        EventHub,
                        "apim.event_hub.service_url",
                        &["https://km.example.com:9443/services/"],
                    )
                    .endpoint(
                        TrafficManagerReceiver,
                        "apim.throttling.url_group",
                        &["tcp://tm1:9611", "ssl://tm1:9711"],
                    )
                    .endpoint(
                        KeyManager,
                        "apim.key_manager.service_url",
                        &["https://${km.host}:9443/"],
                    ),
                vec![],
            ),
            // The offset of the caller applied to the traffic manager's port.
            (
                node("gw1", "gateway").offset(1).endpoint(
                    TrafficManagerReceiver,
                    "apim.throttling.url_group",
                    &["tcp://tm1:9612"],
                ),
                vec![
                    "FLT004 node:gw1/deployment.toml:apim.throttling.url_group @gw1/opt/wso2am-4.2.0/repository/conf/deployment.toml:40:1 \
                      tm1:9612 → tm1:9611",
                ],
            ),
            // The key manager URL names a gateway; localhost with no key manager here; a stranger.
            (
                node("gw1", "gateway")
                    .endpoint(
                        KeyManager,
                        "apim.key_manager.service_url",
                        &["https://gw1:9443/"],
                    )
                    .endpoint(
                        EventHub,
                        "apim.event_hub.service_url",
                        &["https://localhost:9443/"],
                    )
                    .endpoint(
                        TrafficManager,
                        "apim.throttling.service_url",
                        &["https://tm9.example.com:9443/"],
                    ),
                vec![
                    "FLT004 node:gw1/deployment.toml:apim.key_manager.service_url @gw1/opt/wso2am-4.2.0/repository/conf/deployment.toml:40:1 \
                     gw1:9443 → a node of role key-manager or control-plane or all-in-one",
                    "FLT004 node:gw1/deployment.toml:apim.event_hub.service_url @gw1/opt/wso2am-4.2.0/repository/conf/deployment.toml:40:1 \
                     localhost:9443 → the address of a node of role control-plane or all-in-one",
                    "FLT004 node:gw1/deployment.toml:apim.throttling.service_url @gw1/opt/wso2am-4.2.0/repository/conf/deployment.toml:40:1 \
                     tm9.example.com:9443 → a node of role traffic-manager or control-plane or all-in-one, or a load balancer listed in `apim_tune_lb_aliases`",
                ],
            ),
        ];
        for (gw1, want) in cases {
            assert_eq!(
                fleet(deployment(gw1))
                    .inventory(inv)
                    .lines(Code::FLEET_ENDPOINT_MISSES_ROLE),
                want
            );
        }
    }

    #[test]
    fn defaults_count_on_gateways_only() {
        let tm = node("tm1", "traffic-manager")
            .endpoint(
                KeyManager,
                "apim.key_manager.service_url",
                &["https://localhost:9443/"],
            )
            .defaulted();
        let gw = node("gw1", "gateway")
            .endpoint(
                KeyManager,
                "apim.key_manager.service_url",
                &["https://localhost:9443/"],
            )
            .defaulted();
        let lines = fleet(vec![tm, gw]).lines(Code::FLEET_ENDPOINT_MISSES_ROLE);
        assert_eq!(
            lines,
            [
                "FLT004 node:gw1/deployment.toml:apim.key_manager.service_url @gw1/opt/wso2am-4.2.0/repository/conf/deployment.toml \
              localhost:9443 → the address of a node of role key-manager or control-plane or all-in-one"
            ]
        );
    }

    #[test]
    fn localhost_is_right_when_the_role_shares_the_host() {
        let n = node("tm1", "traffic-manager")
            .home("opt/wso2am-km", "key-manager", 1)
            .endpoint(
                TrafficManager,
                "apim.throttling.service_url",
                &["https://localhost:9443/services/"],
            )
            .endpoint(
                TrafficManager,
                "apim.throttling.service_url",
                &["https://localhost:9444/services/"],
            );
        let lines = fleet(vec![n]).lines(Code::FLEET_ENDPOINT_MISSES_ROLE);
        assert_eq!(
            lines,
            [
                "FLT004 node:tm1/deployment.toml:apim.throttling.service_url @tm1/opt/wso2am-km/repository/conf/deployment.toml:40:1 \
              localhost:9444 → localhost:9443"
            ]
        );
    }
}
