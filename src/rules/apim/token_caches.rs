//! APM010 token-caches-both-enabled: gateway and key-manager token caches both on, on a node
//! that validates tokens.
//!
//! WSO2: "At any given time you should only have one cache enabled, which is either the Key
//! Manager cache or the API Gateway cache. WSO2 does not recommend using both caches at the same
//! time." (Configuring Caching). It costs memory and a second place a revoked token can linger,
//! not correctness on its own: a warning, and only where tokens are validated (a traffic
//! manager never reads either cache).

use super::set_setting;
use crate::diag::Finding;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// The gateway token cache and the key-manager token cache are both enabled on an all-in-one
    /// node, the only one where both run in one JVM (on a distributed node one of the two flags
    /// is never read; the deployment view is `fleet`'s).
    /// ### Why it matters
    /// WSO2 says to enable exactly one: with both, a revoked token can stay valid in two places
    /// and memory is spent twice for the same entries.
    /// ### Fix
    /// Keep the gateway cache (faster) or the key-manager cache (no token data in the DMZ), not both.
    /// ### Sources
    /// - caching, Key Manager cache and Gateway cache
    pub(crate) static RULE = "APM010" "token-caches-both-enabled" Warning "gateway and key-manager token caches are both on",
    inputs: [Input::Apim],
    check: Check::Node(check),
}

/// Both caches live in one JVM only on an all-in-one node: a gateway never reads the
/// key-manager cache's flag, a key manager never reads the gateway's, so on a distributed node
/// "both on" means nothing and a fix would switch off the only cache that runs there.
const VALIDATING_ROLES: &[&str] = &["all-in-one"];

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    if !VALIDATING_ROLES.contains(&cx.role) {
        return;
    }
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
        RULE.code(),
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
        f = f.fix(set_setting(&km, "false", Some(loc)));
    }
    if let Some(loc) = &gw.set_at {
        f = f.note(format!("gateway token cache enabled at {loc}"));
    } else if let Some(n) = &gw.note {
        f = f.note(format!("gateway token cache: {n}"));
    }
    out.push(f);
}
