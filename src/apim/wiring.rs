//! Where this node reaches the other nodes of a distributed deployment: the key manager, the
//! traffic manager, the event hub (the control plane), the gateways; as the node will use
//! them (written, else the product default, which is this node itself).
//!
//! 3.x/4.x (`deployment.toml`): `[apim.key_manager] service_url`, `[apim.throttling]
//! service_url`, `throttle_decision_endpoints` and `[[apim.throttling.url_group]]`
//! `traffic_manager_urls`/`traffic_manager_auth_urls`, `[apim.event_hub] service_url` and
//! `event_listening_endpoints`, and the `token_revocation` event listener's
//! `notification_endpoint`. The defaults are those of `api-manager.xml.j2` in 4.2.0: without
//! a URL group the receiver URLs are `tcp://${carbon.local.ip}:…`, without `service_url` the
//! event hub falls back to `[apim.throttling] service_url`, whose default is `localhost`.
//!
//! 1.x/2.x (`api-manager.xml`): `APIKeyValidator/ServerURL`, `ThriftClientHost`,
//! `ThriftServerHost`, `RevokeAPIURL` (under `OAuthConfigurations`, 1.x `APIKeyValidator`), and the traffic manager's
//! `ReceiverUrlGroup`/`AuthUrlGroup`.
//!
//! Reads only: which link matters on which role is the rules' business.

use crate::apim::datasources::is_self_host;
use crate::apim::{ApimModel, Layout};
use crate::diag::Subject;
use crate::model::Location;

/// `apim.key_manager.service_url` and `apim.throttling.service_url` in apimgt's default.json.
const PRODUCT_SERVICE_URL: &str =
    "https://localhost:${mgt.transport.https.port}${carbon.context}services/";

/// The node a link reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    KeyManager,
    TrafficManager,
    /// The 4.x event hub: the control plane.
    EventHub,
    /// The gateways (2.x `RevokeAPIURL`: the key manager revokes through a gateway).
    Gateway,
    /// The event hub's notification endpoint, which the `token_revocation` listener calls where
    /// tokens are revoked (the key manager).
    RevocationNotify,
    /// Not a URL this node calls but the address its key-validation Thrift server listens on
    /// (2.x `ThriftServerHost`), which the gateways connect to.
    ThriftListen,
}

impl Target {
    pub fn describe(self) -> &'static str {
        match self {
            Target::KeyManager => "the key manager",
            Target::TrafficManager => "the traffic manager",
            Target::EventHub => "the event hub (control plane)",
            Target::Gateway => "a gateway",
            Target::RevocationNotify => "the control plane's revocation notification endpoint",
            Target::ThriftListen => "the gateways' Thrift clients",
        }
    }
}

/// One link as in effect.
#[derive(Clone, Debug)]
pub struct Link {
    pub target: Target,
    /// `deployment.toml:apim.key_manager.service_url`, `api-manager.xml:/APIManager/…`.
    pub subject: Subject,
    /// The value in effect (a URL, a URL list or group, or a host name).
    pub value: String,
    /// Every host the value names.
    pub hosts: Vec<String>,
    /// Where it is written; `None` when the product default applies.
    pub at: Option<Location>,
    /// The file a person edits for it (display form).
    pub file: String,
    /// How the value was arrived at when it is not written.
    pub note: Option<String>,
}

impl Link {
    /// The hosts that are this node itself (`localhost`, loopback, `${carbon.local.ip}`).
    pub fn self_hosts(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .map(String::as_str)
            .filter(|h| is_self_host(h))
            .collect()
    }
}

/// Every link of the home.
pub fn read(apim: &ApimModel) -> Vec<Link> {
    match apim.home.layout {
        Layout::Toml => toml(apim),
        Layout::Xml => xml(apim),
    }
}

/// `value` safe to print: no `user:password@` after a scheme, no `password=` parameter.
pub fn printable(value: &str) -> String {
    let masked = crate::redact::redact_url(value);
    let mut out = String::with_capacity(masked.len());
    let mut rest = masked.as_str();
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        let after = &rest[i + 3..];
        let auth_end = after
            .find(['/', ',', '|', '}', ']', '"', '\'', '?', ';', ' '])
            .unwrap_or(after.len());
        match after[..auth_end].rfind('@') {
            Some(at) => rest = &after[at + 1..],
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// The host of every `scheme://host…` in `value` (URL lists, `{a,b}|{c}` groups, JMS broker
/// lists); a bare host name when there is no scheme. Template placeholders (`{{ x }}`) name none.
pub fn hosts_in(value: &str) -> Vec<String> {
    if value.contains("{{") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        // A `${placeholder}` host ends at its own brace, not at the group's.
        // So does an IPv6 literal at its bracket.
        let skip = match (
            after.strip_prefix("${").and_then(|p| p.find('}')),
            after.strip_prefix('[').and_then(|p| p.find(']')),
        ) {
            (Some(close), _) => close + 3,
            (_, Some(close)) => close + 2,
            _ => 0,
        };
        let auth_end = after[skip..]
            .find(['/', ',', '|', '}', ']', '"', '\'', '?', ';', ' '])
            .map_or(after.len(), |e| skip + e);
        let mut auth = &after[..auth_end];
        if let Some(at) = auth.rfind('@') {
            auth = &auth[at + 1..];
        }
        let host = if auth.starts_with('[') {
            auth.split_inclusive(']').next().unwrap_or(auth)
        } else if auth.starts_with("${") {
            // `${carbon.local.ip}:${receiver.url.port}`: the placeholder is the host.
            auth.split_inclusive('}').next().unwrap_or(auth)
        } else {
            auth.split(':').next().unwrap_or(auth)
        };
        if !host.is_empty() {
            out.push(host.to_string());
        }
        rest = &after[auth_end..];
    }
    if out.is_empty() && !value.contains("://") {
        let bare = value.trim();
        if !bare.is_empty() && !bare.contains(char::is_whitespace) {
            out.push(bare.to_string());
        }
    }
    out
}

fn toml(apim: &ApimModel) -> Vec<Link> {
    let file = apim.display("repository/conf/deployment.toml");
    // No file, or one that could not be read or parsed: its settings are unknown, not defaults.
    let Some(parsed) = apim.toml.as_ref() else {
        return Vec::new();
    };
    let doc = Some(parsed);
    let mut out = Vec::new();
    let mut push = |target: Target,
                    key: &str,
                    written: Option<&crate::apim::deployment_toml::TomlEntry>,
                    default: Option<(String, String)>| {
        let (value, at, note) = match (written, default) {
            (Some(e), _) => (
                e.value.clone(),
                doc.map(|d| d.file.location(e.value_span)),
                None,
            ),
            (None, Some((v, note))) => (v, None, Some(note)),
            (None, None) => return,
        };
        out.push(Link {
            target,
            subject: Subject::setting("deployment.toml", key.to_string()),
            hosts: hosts_in(&value),
            value: printable(&value),
            at,
            file: file.clone(),
            note,
        });
    };
    let get = |key: &str| doc.and_then(|d| d.get(key));
    // Both service URLs default to this node in 3.2 and 4.x (apimgt default.json); a home
    // without that file gets the same.
    let default_of = |key: &str| {
        let v = apim
            .effective(key)
            .and_then(|e| e.value)
            .unwrap_or_else(|| PRODUCT_SERVICE_URL.to_string());
        Some((v, "not set; the product default applies".to_string()))
    };
    push(
        Target::KeyManager,
        "apim.key_manager.service_url",
        get("apim.key_manager.service_url"),
        default_of("apim.key_manager.service_url"),
    );
    push(
        Target::TrafficManager,
        "apim.throttling.service_url",
        get("apim.throttling.service_url"),
        default_of("apim.throttling.service_url"),
    );
    // Without `service_url` the event hub uses the throttling service URL (api-manager.xml.j2).
    let hub_default = get("apim.throttling.service_url")
        .map(|e| {
            (
                e.value.clone(),
                "not set; falls back to `apim.throttling.service_url`".to_string(),
            )
        })
        .or_else(|| {
            default_of("apim.throttling.service_url").map(|(v, _)| {
                (
                    v,
                    "not set; falls back to the default of `apim.throttling.service_url`"
                        .to_string(),
                )
            })
        });
    push(
        Target::EventHub,
        "apim.event_hub.service_url",
        get("apim.event_hub.service_url"),
        hub_default,
    );
    // Where throttle decisions (JMS) come from: `throttle_decision_endpoints`, else this node's
    // own broker.
    let decisions = get("apim.throttling.throttle_decision_endpoints");
    push(
        Target::TrafficManager,
        "apim.throttling.throttle_decision_endpoints",
        decisions,
        Some((
            "tcp://${carbon.local.ip}:${jms.port}".into(),
            "not set; throttle decisions are read from this node's own broker".into(),
        )),
    );
    push(
        Target::EventHub,
        "apim.event_hub.event_listening_endpoints",
        get("apim.event_hub.event_listening_endpoints"),
        Some(match decisions {
            Some(e) => (
                e.value.clone(),
                "not set; falls back to `apim.throttling.throttle_decision_endpoints`".into(),
            ),
            None => (
                "tcp://${carbon.local.ip}:${jms.port}".into(),
                "not set; events are read from this node's own broker".into(),
            ),
        }),
    );
    // `[[apim.throttling.url_group]]`: every group's URLs, else this node's own receiver.
    let groups: Vec<&crate::apim::deployment_toml::TomlEntry> = doc
        .map(|d| {
            d.entries
                .values()
                .filter(|e| {
                    e.key.starts_with("apim.throttling.url_group[")
                        && (e.key.ends_with("].traffic_manager_urls")
                            || e.key.ends_with("].traffic_manager_auth_urls"))
                })
                .collect()
        })
        .unwrap_or_default();
    let explicit_receiver = get("apim.throttling.receiver_url");
    if groups.is_empty() && explicit_receiver.is_none() {
        push(
            Target::TrafficManager,
            "apim.throttling.url_group.traffic_manager_urls",
            None,
            Some((
                "tcp://${carbon.local.ip}:${receiver.url.port}".into(),
                "no `[[apim.throttling.url_group]]`: throttling events are published to this node itself".into(),
            )),
        );
    }
    for e in groups.into_iter().chain(explicit_receiver) {
        push(Target::TrafficManager, &e.key.clone(), Some(e), None);
    }
    // The token-revocation listener's endpoint (a key manager notifies the event hub).
    if let Some(d) = doc {
        for e in d.entries.values() {
            if e.key.starts_with("event_listener")
                && e.key.ends_with(".properties.notification_endpoint")
            {
                push(Target::RevocationNotify, &e.key.clone(), Some(e), None);
            }
        }
    }
    out
}

fn xml(apim: &ApimModel) -> Vec<Link> {
    let Some(doc) = apim.xml_doc("api-manager.xml") else {
        return Vec::new();
    };
    let file = doc.file.display.clone();
    let mut out = Vec::new();
    let mut add = |target: Target, xpath: &str| {
        let Ok(path) = crate::apim::xml::XPath::parse(xpath) else {
            return;
        };
        if let Some(hit) = doc.query(&path).pop()
            && !hit.value.is_empty()
        {
            out.push(Link {
                target,
                subject: Subject::setting("api-manager.xml", xpath.to_string()),
                hosts: hosts_in(&hit.value),
                value: printable(&hit.value),
                at: Some(
                    hit.span
                        .map(|s| doc.file.location(s))
                        .unwrap_or_else(|| doc.file.location(hit.element_span)),
                ),
                file: file.clone(),
                note: None,
            });
        }
    };
    add(Target::KeyManager, "/APIManager/APIKeyValidator/ServerURL");
    add(
        Target::KeyManager,
        "/APIManager/APIKeyValidator/ThriftClientHost",
    );
    add(
        Target::ThriftListen,
        "/APIManager/APIKeyValidator/ThriftServerHost",
    );
    add(
        Target::Gateway,
        "/APIManager/OAuthConfigurations/RevokeAPIURL",
    );
    // 1.x keeps it under the key validator.
    add(Target::Gateway, "/APIManager/APIKeyValidator/RevokeAPIURL");
    add(
        Target::TrafficManager,
        "/APIManager/ThrottlingConfigurations/TrafficManager/ReceiverUrlGroup",
    );
    add(
        Target::TrafficManager,
        "/APIManager/ThrottlingConfigurations/TrafficManager/AuthUrlGroup",
    );
    out
}

/// The text of `api-manager.xml` at `xpath`, when set (a 2.x switch such as
/// `EnableThriftServer`).
pub fn xml_value(apim: &ApimModel, xpath: &str) -> Option<String> {
    let doc = apim.xml_doc("api-manager.xml")?;
    let path = crate::apim::xml::XPath::parse(xpath).ok()?;
    doc.query(&path).pop().map(|h| h.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls_and_groups() {
        assert_eq!(
            hosts_in("https://localhost:${mgt.transport.https.port}${carbon.context}services/"),
            vec!["localhost"]
        );
        assert_eq!(
            hosts_in("[\"tcp://tm1:9611\",\"tcp://tm2:9611\"]"),
            vec!["tm1", "tm2"]
        );
        assert_eq!(
            hosts_in("{tcp://a:7612,tcp://b:7612}|{tcp://c:7612}"),
            vec!["a", "b", "c"]
        );
        assert_eq!(
            hosts_in("tcp://${carbon.local.ip}:${receiver.url.port}"),
            vec!["${carbon.local.ip}"]
        );
        assert_eq!(hosts_in("km.example"), vec!["km.example"]);
        assert_eq!(hosts_in("https://[::1]:9443/x"), vec!["[::1]"]);
        assert!(hosts_in("{{ key_manager_server_url }}").is_empty());
        assert_eq!(hosts_in("https://admin:s3cret@km:9443/s"), vec!["km"]);
        assert_eq!(
            printable("[\"https://admin:s3cret@km:9443/s\",\"tcp://u:p@tm:5672?password=x\"]"),
            "[\"https://km:9443/s\",\"tcp://tm:5672?password=****\"]"
        );
    }
}
