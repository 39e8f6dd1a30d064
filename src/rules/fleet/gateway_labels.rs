//! FLT006 fleet-gateway-label-without-environment: a gateway deploys the APIs of a label that
//! no gateway environment of the control plane has.

use super::{FleetContext, Member, list, placed};
use crate::diag::{Finding, Subject};
use crate::rules::Check;
use std::collections::BTreeSet;

declare_rule! {
    /// ### What it checks
    /// Each label in a gateway's `[apim.sync_runtime_artifacts.gateway] gateway_labels` is the
    /// name of a `[[apim.gateway.environment]]` of the control plane(s).
    /// ### Why it matters
    /// A gateway pulls the APIs deployed to the environments its labels name; with a label no
    /// environment has, it starts, passes its health check, and serves no API (404 for
    /// everything), while the publisher shows the APIs as deployed elsewhere.
    /// ### Fix
    /// Set the gateway's `gateway_labels` to the name of a control-plane environment, or add
    /// the environment on the control plane.
    /// ### Sources
    /// - ansible-apim-distributed
    /// - helm-apim-distributed
    pub(crate) static RULE = "FLT006" "fleet-gateway-label-without-environment" Warning "a gateway's label matches no environment of the control plane",
    inputs: [],
    check: Check::Fleet(check),
}

fn check(cx: &FleetContext, out: &mut Vec<Finding>) {
    let planes: Vec<_> = cx
        .members()
        .into_iter()
        .filter(|m| matches!(m.role, "control-plane" | "all-in-one"))
        .collect();
    // No control plane exported, or none that lists its environments: nothing to compare with.
    let envs: BTreeSet<&str> = planes
        .iter()
        .flat_map(|m| m.home.gateway_environments.iter().map(|e| e.name.as_str()))
        .collect();
    if envs.is_empty() {
        return;
    }
    let env_list = envs
        .iter()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(", ");
    // One finding per label, naming every gateway that carries it.
    let mut by_label: std::collections::BTreeMap<&str, Vec<Member>> = Default::default();
    for g in cx.of_role("gateway") {
        let unknown: BTreeSet<&str> = g
            .home
            .gateway_labels
            .iter()
            .map(String::as_str)
            .filter(|l| !envs.contains(l))
            .collect();
        for label in unknown {
            by_label.entry(label).or_default().push(g);
        }
    }
    for (label, gateways) in by_label {
        let names = list(gateways.iter().map(Member::label));
        let f = Finding::new(
            RULE.code(),
            Subject::setting(
                "deployment.toml",
                "apim.sync_runtime_artifacts.gateway.gateway_labels",
            ),
            format!(
                "gateway label `{label}` (on {names}) is no control-plane environment ({env_list})"
            ),
        )
        .at(Some(gateways[0].home_file()))
        .current(format!("`{label}` on {names}"))
        .expected(format!("one of {env_list}"))
        .why("a gateway deploys only the APIs of the environments its labels name; a label no environment has deploys nothing")
        .see("ansible-apim-distributed");
        let mut hosts: Vec<String> = gateways.iter().map(|g| g.host().to_string()).collect();
        hosts.extend(planes.iter().map(|p| p.host().to_string()));
        out.push(placed(f, &hosts, &["gateway", "control-plane"]));
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::rules::fleet::testing::*;

    #[test]
    fn labels_name_environments() {
        let cp = || {
            node("cp1", "control-plane")
                .environment("Default", "https://gw1:9443/services/")
                .environment("internal", "https://gw2:9443/services/")
        };
        let cases: Vec<(Vec<NodeB>, Vec<&str>)> = vec![
            (
                vec![
                    node("gw1", "gateway").labels(&["Default"]),
                    node("gw2", "gateway").labels(&["internal"]),
                    cp(),
                ],
                vec![],
            ),
            (
                vec![
                    node("gw1", "gateway").labels(&["Default", "Externl"]),
                    node("gw2", "gateway").labels(&["Externl"]),
                    cp(),
                ],
                vec![
                    "FLT006 deployment.toml:apim.sync_runtime_artifacts.gateway.gateway_labels \
                      @gw1/opt/wso2am-4.2.0/repository/conf/deployment.toml `Externl` on gw1, gw2 → one of `Default`, `internal`",
                ],
            ),
            // No control plane in the exports: nothing to compare with.
            (vec![node("gw1", "gateway").labels(&["Externl"])], vec![]),
        ];
        for (nodes, want) in cases {
            assert_eq!(
                fleet(nodes).lines(Code::FLEET_GATEWAY_LABEL_WITHOUT_ENVIRONMENT),
                want
            );
        }
    }
}
