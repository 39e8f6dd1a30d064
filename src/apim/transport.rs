//! Which transport and key-validation client a home really configures.
//!
//! Some settings are only read when a given transport or client is in use: the NHTTP
//! properties (`nhttp.properties`, `[n_http]`) only with an NHTTP listener or sender in
//! axis2.xml, the axis2 WS-client timeouts of key validation only with `WSClient`. The catalog
//! marks those settings (`only-with`), and the generic check judges them only when this module
//! says the home uses that transport or client. Reads only; never judges.
//!
//! Facts (../shared/knowledge/verified-facts.md): pass-through is the HTTP transport in every
//! version; the NHTTP listener and sender are commented out in 1.x/2.x axis2.xml, and the 3.x/4.x
//! `axis2.xml.j2` template has no `HttpCoreNIO` class at all, so `[n_http]` cannot take effect.
//! 1.x/2.x ship `KeyValidatorClientType` = `ThriftClient`; with neither `ThriftClient` nor
//! `WSClient` the gateway's `APIKeyValidator` picks no client at all.

use super::{ApimModel, Layout};

/// What a setting may be read with (`only-with` in catalog.toml).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requires {
    /// An NHTTP (`HttpCoreNIO*`) listener or sender for http/https in axis2.xml.
    Nhttp,
    /// `KeyValidatorClientType` = `WSClient` (the axis2 web-service client to the key manager).
    WsKeyValidation,
}

impl Requires {
    pub fn parse(s: &str) -> Option<Requires> {
        match s {
            "nhttp" => Some(Requires::Nhttp),
            "ws-key-validation" => Some(Requires::WsKeyValidation),
            _ => None,
        }
    }

    /// Why a setting with this requirement is not judged on a home without it.
    pub fn describe(self) -> &'static str {
        match self {
            Requires::Nhttp => {
                "the NHTTP transport (an HttpCoreNIO listener or sender in axis2.xml)"
            }
            Requires::WsKeyValidation => {
                "the WS key-validation client (`KeyValidatorClientType` = `WSClient`)"
            }
        }
    }
}

/// The classes of the uncommented http/https transport receivers and senders in axis2.xml.
const NHTTP_CLASS: &str = "org.apache.synapse.transport.nhttp.HttpCoreNIO";

/// Whether `home` uses what `req` names: `Some(true)` / `Some(false)` when the files say, `None`
/// when the file that would say is absent or broken (unknown: nothing is judged).
pub fn uses(apim: &ApimModel, req: Requires) -> Option<bool> {
    match (req, apim.home.layout) {
        // axis2.xml.j2 hard-codes the pass-through classes: no deployment.toml key selects NHTTP.
        (Requires::Nhttp, Layout::Toml) => Some(false),
        (Requires::Nhttp, Layout::Xml) => nhttp_in_axis2(apim),
        // 3.x has only the WS client (Thrift was removed); from 3.2 key validation does not use
        // the axis2 client at all, and the catalog has no such setting there.
        (Requires::WsKeyValidation, Layout::Toml) => Some(true),
        (Requires::WsKeyValidation, Layout::Xml) => {
            key_validator_client(apim).map(|c| c == "WSClient")
        }
    }
}

fn nhttp_in_axis2(apim: &ApimModel) -> Option<bool> {
    let doc = apim.xml_doc("axis2.xml")?;
    let mut found = false;
    for step in ["transportReceiver", "transportSender"] {
        let path = super::xml::XPath::parse(&format!("/axisconfig/{step}")).ok()?;
        found |= doc.query_elements(&path).iter().any(|e| {
            let name = e.attr("name").map(|a| a.value.as_str());
            let class = e.attr("class").map(|a| a.value.as_str()).unwrap_or("");
            matches!(name, Some("http" | "https")) && class.starts_with(NHTTP_CLASS)
        });
    }
    Some(found)
}

/// `KeyValidatorClientType` of a 1.x/2.x api-manager.xml, trimmed; `None` when absent.
pub fn key_validator_client(apim: &ApimModel) -> Option<String> {
    let doc = apim.xml_doc("api-manager.xml")?;
    let path =
        super::xml::XPath::parse("/APIManager/APIKeyValidator/KeyValidatorClientType").ok()?;
    doc.query(&path).pop().map(|h| h.value.trim().to_string())
}
