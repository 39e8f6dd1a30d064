//! APM010 token-caches-both-enabled: gateway and key-manager token caches both on.
//!
//! WSO2: "At any given time you should only have one cache enabled, which is either the Key
//! Manager cache or the API Gateway cache. WSO2 does not recommend using both caches at the same
//! time." (Configuring Caching).

use crate::apim::ApimModel;
use crate::finding::{Finding, Fix};
use crate::rules::codes::Code;

pub fn check(apim: &ApimModel, out: &mut Vec<Finding>) {
    let (Some(gw), Some(km)) = (
        apim.observe("cache.gateway_token.enable"),
        apim.observe("cache.km_token.enable"),
    ) else {
        return;
    };
    if gw.value.as_deref() != Some("true") || km.value.as_deref() != Some("true") {
        return;
    }
    let mut f = Finding::new(
        Code::Apm010,
        km.subject.clone(),
        format!(
            "the gateway token cache (`{}`) and the key-manager token cache (`{}`) are both enabled",
            gw.key, km.key
        ),
    )
    .at(km
        .set_at
        .clone()
        .or_else(|| Some(crate::model::Location::file_only(&km.file))))
    .current("both true")
    .expected("exactly one enabled (gateway cache on, key-manager cache off by default)")
    .why("WSO2 says to enable only one: with both, validation results are cached twice and a revoked token can survive in either")
    .see("caching, Key Manager cache");
    if let Some(loc) = km.set_at.clone() {
        f = f.fix(Fix::Replace {
            location: loc,
            value: "false".into(),
        });
    }
    if let Some(loc) = &gw.set_at {
        f = f.note(format!("gateway token cache enabled at {loc}"));
    } else if let Some(n) = &gw.note {
        f = f.note(format!("gateway token cache: {n}"));
    }
    out.push(f);
}
