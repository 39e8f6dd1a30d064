//! FLT003 fleet-token-caches-both-enabled: the gateways cache validated tokens and the key
//! managers cache them too.
//!
//! On one all-in-one node this is APM010; in a distributed deployment each flag is read by a
//! different node, so only the deployment view sees both on: the gateways' cache
//! (`[apim.cache.gateway_token]`) and the key managers' (`[apim.cache.km_token]`, on a control
//! plane that acts as the key manager when there is no separate one).

use super::{FleetContext, Member, list, placed};
use crate::diag::{Finding, Subject};
use crate::rules::Check;

declare_rule! {
    /// ### What it checks
    /// Some gateway has the gateway token cache enabled (`[apim.cache.gateway_token] enable`,
    /// on by default) while some key manager (or the control plane, when no node is a key
    /// manager) has the key-manager token cache enabled (`[apim.cache.km_token] enable`, off by
    /// default).
    /// ### Why it matters
    /// WSO2 says to enable one of the two caches, not both: with both, a token's validation is
    /// cached twice and a revoked token can stay valid in either cache until it expires.
    /// ### Fix
    /// Keep the gateway cache and set `[apim.cache.km_token] enable = false` on the key
    /// managers (or the reverse, to keep token data out of the DMZ).
    /// ### Sources
    /// - caching, Key Manager cache and Gateway cache
    pub(crate) static RULE = "FLT003" "fleet-token-caches-both-enabled" Warning "gateways and key managers both cache tokens",
    inputs: [],
    check: Check::Fleet(check),
}

fn on(m: &Member, id: &str) -> bool {
    m.home
        .settings
        .get(id)
        .and_then(|s| s.value.as_deref())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn check(cx: &FleetContext, out: &mut Vec<Finding>) {
    let gateways: Vec<Member> = cx
        .of_role("gateway")
        .into_iter()
        .filter(|m| on(m, "cache.gateway_token.enable"))
        .collect();
    let mut validators = cx.of_role("key-manager");
    if validators.is_empty() {
        // In 4.x the control plane is the key manager unless a separate one is deployed.
        validators = cx.of_role("control-plane");
    }
    let kms: Vec<Member> = validators
        .into_iter()
        .filter(|m| on(m, "cache.km_token.enable"))
        .collect();
    let (Some(km), false) = (kms.first(), gateways.is_empty()) else {
        return;
    };
    let setting = &km.home.settings["cache.km_token.enable"];
    let f = Finding::new(
        RULE.code(),
        Subject::setting("deployment.toml", "apim.cache.km_token.enable"),
        format!(
            "the gateways cache tokens (`[apim.cache.gateway_token]` on {}) and the key managers do too (`[apim.cache.km_token]` on {})",
            list(gateways.iter().map(Member::label)),
            list(kms.iter().map(Member::label))
        ),
    )
    .at(km.at(&setting.source).or_else(|| Some(km.home_file())))
    .current(format!(
        "gateway cache on {} of {}; key-manager cache on {}",
        gateways.len(),
        cx.of_role("gateway").len(),
        list(kms.iter().map(Member::label))
    ))
    .expected("one of the two caches (gateway cache on, key-manager cache off by default)")
    .why("WSO2 says to enable only one: with both, validation results are cached twice and a revoked token can survive in either")
    .see("caching, Key Manager cache");
    let hosts: Vec<String> = gateways
        .iter()
        .chain(&kms)
        .map(|m| m.host().to_string())
        .collect();
    let roles: Vec<&str> = gateways.iter().chain(&kms).map(|m| m.role).collect();
    out.push(placed(f, &hosts, &roles));
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::rules::fleet::testing::*;

    fn gw(h: &str, on: &str) -> NodeB {
        node(h, "gateway").default_setting("cache.gateway_token.enable", on)
    }

    #[test]
    fn both_caches_across_roles() {
        let cases: Vec<(Vec<NodeB>, &[&str])> = vec![
            (
                vec![
                    gw("gw1", "true"),
                    gw("gw2", "false"),
                    node("cp1", "control-plane").setting("cache.km_token.enable", "true", 12),
                ],
                &[
                    "FLT003 deployment.toml:apim.cache.km_token.enable @cp1/opt/wso2am-4.2.0/repository/conf/deployment.toml:12:1 \
                   gateway cache on 1 of 2; key-manager cache on cp1 → one of the two caches (gateway cache on, key-manager cache off by default)",
                ],
            ),
            // The KM cache off: fine.
            (
                vec![
                    gw("gw1", "true"),
                    node("cp1", "control-plane").default_setting("cache.km_token.enable", "false"),
                ],
                &[],
            ),
            // A separate key manager validates: the control plane's flag is not read.
            (
                vec![
                    gw("gw1", "true"),
                    node("cp1", "control-plane").setting("cache.km_token.enable", "true", 3),
                    node("km1", "key-manager").default_setting("cache.km_token.enable", "false"),
                ],
                &[],
            ),
            // Gateways without their cache: fine.
            (
                vec![
                    gw("gw1", "false"),
                    node("km1", "key-manager").setting("cache.km_token.enable", "true", 3),
                ],
                &[],
            ),
        ];
        for (nodes, want) in cases {
            assert_eq!(
                fleet(nodes).lines(Code::FLEET_TOKEN_CACHES_BOTH_ENABLED),
                want
            );
        }
    }
}
