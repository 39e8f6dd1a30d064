//! APM031 wiring-on-localhost and APM032 database-on-localhost: a node of a distributed
//! deployment that reaches the other nodes, or the shared databases, on itself.
//!
//! Which links matter on which role follows WSO2's distributed patterns (wso2/ansible-apim
//! `patterns/distributed`, 4.2.x): a gateway sets `[apim.key_manager] service_url`,
//! `[apim.throttling]` (service URL, decision endpoints, URL groups) and `[apim.event_hub]`; a
//! traffic manager only `[apim.event_hub]`; a key manager the event hub and the
//! `token_revocation` listener's `notification_endpoint`; the control plane is itself the event
//! hub and (4.x) embeds the key manager, so `localhost` is right there, as on an all-in-one node.
//! 1.x/2.x: a gateway's `APIKeyValidator` `ServerURL`/`ThriftClientHost` and traffic-manager URL
//! groups; a key manager's `RevokeAPIURL` and `ThriftServerHost`; a publisher/store's
//! `APIKeyValidator` `ServerURL`.

use super::h2_database::{distributed_role, shared_datasources};
use crate::apim::datasources::is_self_host;
use crate::apim::wiring::{self, Link, Target};
use crate::apim::{ApimModel, Layout};
use crate::diag::Finding;
use crate::model::Location;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// On a gateway, key manager, traffic manager or (1.x-3.x) control plane: a URL this role
    /// must point at another node that is left on this node itself (`localhost`, a loopback
    /// address, `${carbon.local.ip}`), written or by the product default. 4.x: `[apim.key_manager]
    /// service_url`, `[apim.throttling] service_url`, `throttle_decision_endpoints`,
    /// `[[apim.throttling.url_group]]` `traffic_manager_urls`/`traffic_manager_auth_urls`,
    /// `[apim.event_hub] service_url`/`event_listening_endpoints`, the `token_revocation`
    /// listener's `notification_endpoint`. 1.x/2.x: `APIKeyValidator` `ServerURL`,
    /// `ThriftClientHost`, `ThriftServerHost` (key manager with the Thrift server on),
    /// `RevokeAPIURL` (key manager), the traffic manager's `ReceiverUrlGroup`/`AuthUrlGroup`.
    /// ### Why it matters
    /// Each of these defaults to the node itself, which is right on an all-in-one node only.
    /// A gateway that calls itself for key validation rejects every token; one that publishes
    /// throttling events to itself enforces no limits; a node that listens to its own event hub
    /// never hears of new APIs, subscriptions or revoked tokens. On 2.x, a key manager whose
    /// `RevokeAPIURL` stays on `localhost` never clears the gateways' token caches, so a revoked
    /// token keeps working until its cache entry expires.
    /// ### Fix
    /// Set each URL to the node it names (the key manager, traffic manager or control plane
    /// host, or a load balancer in front of them). The right host is not known here: there is
    /// no automatic fix.
    /// ### Sources
    /// - distributed-deployment
    /// - https://github.com/wso2/ansible-apim/tree/4.2.x/patterns/distributed
    pub(crate) static RULE = "APM031" "wiring-on-localhost" Warning "a distributed node reaches another node's service on itself",
    inputs: [Input::Apim],
    check: Check::Node(check),
}

declare_rule! {
    /// ### What it checks
    /// On a gateway, key manager, traffic manager or control plane, the API-M or shared
    /// database (`[database.apim_db]`, `[database.shared_db]`; 1.x/2.x `WSO2AM_DB` and the
    /// user-store/registry datasources) on `localhost` or a loopback address.
    /// ### Why it matters
    /// These roles only exist in a distributed deployment, where every node must share one API-M
    /// database and one shared database. A database on each node's own loopback is a separate
    /// database per node (subscriptions, policies and users that the other nodes never see),
    /// unless every node runs a proxy on loopback to the same server.
    /// ### Fix
    /// Point the datasource at the shared database server (or confirm the local proxy and waive
    /// the finding). The right host is not known here: there is no automatic fix.
    /// ### Sources
    /// - distributed-deployment
    /// - databases
    pub(crate) static DATABASE = "APM032" "database-on-localhost" Warning "a distributed node's shared database is on its own loopback",
    inputs: [Input::Apim],
    check: Check::Node(check_database),
}

/// Whether `role` must reach `target` elsewhere (it is not that node itself).
fn needs(apim: &ApimModel, role: &str, target: Target) -> bool {
    let modern = apim.home.layout == Layout::Toml && apim.home.effective_version.major >= 4;
    match role {
        "gateway" => matches!(
            target,
            Target::KeyManager | Target::TrafficManager | Target::EventHub
        ),
        "key-manager" => match target {
            Target::EventHub | Target::Gateway | Target::RevocationNotify => true,
            // Only where the Thrift server runs (2.x default `true`).
            Target::ThriftListen => {
                wiring::xml_value(apim, "/APIManager/APIKeyValidator/EnableThriftServer")
                    .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
            }
            _ => false,
        },
        "traffic-manager" => target == Target::EventHub,
        // 4.x: the control plane embeds the key manager and is the event hub. Earlier, the
        // publisher and store create keys through the key manager.
        "control-plane" => !modern && target == Target::KeyManager,
        _ => false,
    }
}

fn why(target: Target, role: &str) -> String {
    match target {
        Target::KeyManager => format!(
            "a {role} validates tokens and subscriptions (or creates keys) through the key manager at this URL; on itself, where no key manager serves this role, those calls fail"
        ),
        Target::TrafficManager => "the gateway publishes every request's throttling event to the traffic manager and receives its throttle decisions; to itself, no limit is enforced".into(),
        Target::EventHub => "the event hub (control plane) tells the other nodes of new and changed APIs, subscriptions, policies and revoked tokens; listening to or notifying itself, the deployment never learns of them".into(),
        Target::RevocationNotify => "the key manager notifies the control plane of each revoked token at this endpoint, and the control plane pushes it to the gateways; notifying itself, the gateways keep accepting the token until their cache entry expires".into(),
        Target::Gateway => "on 2.x the key manager revokes tokens through this gateway API, which also clears the gateways' token cache; on localhost the gateway is never told, and a revoked token keeps working until its cache entry expires".into(),
        Target::ThriftListen => "the Thrift key-validation server listens on this address; on loopback only this node can connect, so gateways using the Thrift client (the 2.x default) cannot validate keys".into(),
    }
}

/// What to set, in the form of the value it replaces (a service URL or a broker/receiver URL).
fn expected(target: Target, value: &str, key: &str) -> &'static str {
    let broker = value.contains("tcp://") || value.contains("ssl://");
    if target == Target::TrafficManager && key.contains("throttle_decision_endpoints") {
        return "the traffic manager's JMS endpoint(s) (e.g. `tcp://tm.example.com:5672`)";
    }
    // The authenticating receiver group is TLS on its own port (9711), not the data port.
    if target == Target::TrafficManager && value.contains("ssl://") {
        return "the traffic manager's host(s) (e.g. `ssl://tm.example.com:9711`)";
    }
    match (target, broker) {
        (Target::KeyManager, _) => {
            "the key manager's host (e.g. `https://km.example.com:9443/services/`)"
        }
        (Target::TrafficManager, true) => {
            "the traffic manager's host(s) (e.g. `tcp://tm.example.com:9611`)"
        }
        (Target::TrafficManager, false) => {
            "the traffic manager's host (e.g. `https://tm.example.com:9443/services/`)"
        }
        (Target::EventHub, true) => "the control plane's host (e.g. `tcp://cp.example.com:5672`)",
        (Target::EventHub, false) => {
            "the control plane's host (e.g. `https://cp.example.com:9443/services/`)"
        }
        (Target::RevocationNotify, _) => {
            "the control plane's host (e.g. `https://cp.example.com:9443/internal/data/v1/notify`)"
        }
        (Target::Gateway, _) => "a gateway's host (e.g. `https://gw.example.com:8243/revoke`)",
        (Target::ThriftListen, _) => "this key manager's host name or address the gateways reach",
    }
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    if !distributed_role(cx.role) {
        return;
    }
    for link in wiring::read(apim) {
        if !needs(apim, cx.role, link.target) {
            continue;
        }
        let selves = link.self_hosts();
        if selves.is_empty() {
            continue;
        }
        out.push(finding(cx.role, &link, &selves));
    }
}

fn finding(role: &str, link: &Link, selves: &[&str]) -> Finding {
    let hosts = selves
        .iter()
        .map(|h| format!("`{h}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut f = Finding::new(
        RULE.code(),
        link.subject.clone(),
        format!(
            "on a {role}, `{}` should reach {} but points at this node itself ({hosts})",
            key_of(link),
            link.target.describe()
        ),
    )
    .at(link
        .at
        .clone()
        .or_else(|| Some(Location::file_only(&link.file))))
    .current(link.value.clone())
    .expected(expected(link.target, &link.value, &key_of(link)))
    .why(why(link.target, role))
    .see("distributed-deployment; https://github.com/wso2/ansible-apim/tree/4.2.x/patterns/distributed")
    .note("no automatic fix: the host of the other node is not known here");
    if let Some(n) = &link.note {
        f = f.note(n.clone());
    }
    f
}

fn key_of(link: &Link) -> String {
    match &link.subject {
        crate::diag::Subject::Setting { key, .. } => key.clone(),
        other => other.to_string(),
    }
}

pub fn check_database(cx: &RuleContext, out: &mut Vec<Finding>) {
    if cx.apim.is_none() || !distributed_role(cx.role) {
        return;
    }
    for ds in shared_datasources(cx) {
        let Some(host) = ds.host().filter(|h| is_self_host(h)) else {
            continue;
        };
        let label = ds.server_label().unwrap_or_else(|| host.to_string());
        let mut f = Finding::new(
            DATABASE.code(),
            ds.url_subject.clone(),
            format!(
                "on a {} node, datasource `{}` is on this node's own loopback ({label})",
                cx.role, ds.name
            ),
        )
        .at(ds
            .url_at
            .clone()
            .or_else(|| Some(Location::file_only(&ds.file))))
        .current(label.clone())
        .expected("the database server every node shares")
        .why("this role only exists in a distributed deployment, whose nodes must share one API-M and one shared database; a database on each node's loopback is a separate copy per node")
        .see("distributed-deployment; databases")
        .note("if every node runs a proxy on loopback to the same server (a cloud SQL proxy, a pooler), the nodes do share it: waive the finding");
        if ds.url_at.is_none() {
            f = f.note("not set in the file; the product default applies");
        }
        out.push(f);
    }
}
