//! The TCP ports an API-M node listens on, with its port offset: what must stay out of the
//! kernel's ephemeral range (`net.ipv4.ip_local_reserved_ports`).
//!
//! Owns: the base ports per version, read from the home where the home sets them, and the
//! offset (`carbon.xml` `/Server/Ports/Offset` on 1.x/2.x, `deployment.toml` `[server] offset`
//! on 3.x/4.x). Carbon adds the offset to every port it opens (servlet, pass-through, JMX,
//! Thrift, broker, event receivers, WebSocket inbound endpoints). Must not: judge them.
//!
//! Base ports (the shipped files in ../shared/fixtures/wso2): 9443/9763 servlet HTTPS/HTTP
//! (catalina-server.xml), 8243/8280 pass-through HTTPS/HTTP (axis2.xml, 4.x default.json),
//! 9999/11111 JMX RMI registry/server (carbon.xml `RMIRegistryPort`/`RMIServerPort`, 4.x
//! default.json `monitoring.jmx.*`), 5672 AMQP broker, 9611/9711 binary and 7611/7711 Thrift
//! event receivers, 9099/8099 WebSocket inbound endpoints (2.x and later), 8021 WebSub/webhooks
//! (4.x), and 10397 the Thrift key-validation server on 1.x/2.x when `EnableThriftServer` is true.

use super::{ApimModel, Layout};
use crate::version::Version;

/// One port the node listens on, the offset added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenPort {
    pub port: u32,
    /// What opens it (`JMX RMI server`), for the finding's note.
    pub what: &'static str,
}

/// The node's listen ports and where the offset came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePorts {
    pub offset: u32,
    /// `carbon.xml /Server/Ports/Offset`, `deployment.toml [server] offset`, or `default (0)`.
    pub offset_from: String,
    pub ports: Vec<ListenPort>,
}

/// The ports this home's node listens on with its offset, in ascending order.
pub fn node_ports(m: &ApimModel) -> NodePorts {
    let version = m.home.effective_version;
    let mut base: Vec<(u32, &'static str)> = vec![
        (9443, "servlet HTTPS (Tomcat)"),
        (9763, "servlet HTTP (Tomcat)"),
        (8243, "pass-through HTTPS"),
        (8280, "pass-through HTTP"),
        (5672, "AMQP broker"),
        (9611, "binary event receiver"),
        (9711, "binary event receiver (TLS)"),
        (7611, "Thrift event receiver"),
        (7711, "Thrift event receiver (TLS)"),
    ];
    if version >= Version::new(2, 0, 0) {
        base.push((9099, "WebSocket inbound endpoint"));
        base.push((8099, "WebSocket inbound endpoint (TLS)"));
    }
    if version >= Version::new(4, 0, 0) {
        base.push((8021, "WebSub/webhooks inbound endpoint"));
    }
    let (offset, offset_from) = match m.home.layout {
        Layout::Xml => {
            let registry = xml_u32(m, "carbon.xml", "/Server/Ports/JMX/RMIRegistryPort");
            let server = xml_u32(m, "carbon.xml", "/Server/Ports/JMX/RMIServerPort");
            base.push((registry.unwrap_or(9999), "JMX RMI registry"));
            base.push((server.unwrap_or(11111), "JMX RMI server"));
            if thrift_server_on(m) {
                let port = xml_u32(
                    m,
                    "api-manager.xml",
                    "/APIManager/APIKeyValidator/ThriftServerPort",
                );
                base.push((port.unwrap_or(10397), "Thrift key-validation server"));
            }
            match xml_u32(m, "carbon.xml", "/Server/Ports/Offset") {
                Some(o) => (o, "carbon.xml /Server/Ports/Offset".to_string()),
                None => (0, "default (0)".to_string()),
            }
        }
        Layout::Toml => {
            let jmx_on =
                toml_value(m, "monitoring.jmx.rmi_server_start").as_deref() != Some("false");
            if jmx_on {
                let registry = toml_u32(m, "monitoring.jmx.rmi_registry_port");
                let server = toml_u32(m, "monitoring.jmx.rmi_server_port");
                base.push((registry.unwrap_or(9999), "JMX RMI registry"));
                base.push((server.unwrap_or(11111), "JMX RMI server"));
            }
            match toml_u32(m, "server.offset") {
                Some(o) => (o, "deployment.toml [server] offset".to_string()),
                None => (0, "default (0)".to_string()),
            }
        }
    };
    let mut ports: Vec<ListenPort> = base
        .into_iter()
        .filter_map(|(p, what)| {
            p.checked_add(offset)
                .filter(|p| *p <= 65535)
                .map(|port| ListenPort { port, what })
        })
        .collect();
    ports.sort_by_key(|p| p.port);
    ports.dedup_by_key(|p| p.port);
    NodePorts {
        offset,
        offset_from,
        ports,
    }
}

/// 1.x/2.x: `APIKeyValidator/EnableThriftServer` (on in every shipped api-manager.xml).
fn thrift_server_on(m: &ApimModel) -> bool {
    let Some(doc) = m.xml_doc("api-manager.xml") else {
        return false;
    };
    let Ok(path) = super::xml::XPath::parse("/APIManager/APIKeyValidator/EnableThriftServer")
    else {
        return false;
    };
    doc.query(&path)
        .first()
        .is_some_and(|h| h.value.trim().eq_ignore_ascii_case("true"))
}

fn xml_u32(m: &ApimModel, file: &str, xpath: &str) -> Option<u32> {
    let doc = m.xml_doc(file)?;
    let path = super::xml::XPath::parse(xpath).ok()?;
    doc.query(&path).first()?.value.trim().parse().ok()
}

fn toml_value(m: &ApimModel, key: &str) -> Option<String> {
    m.toml
        .as_ref()?
        .get(key)
        .map(|e| e.value.trim().to_string())
}

fn toml_u32(m: &ApimModel, key: &str) -> Option<u32> {
    toml_value(m, key)?.parse().ok()
}
