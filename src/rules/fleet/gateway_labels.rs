//! FLT006 fleet-gateway-label-without-environment: a gateway deploys the APIs of a label that
//! no gateway environment of the control plane has.

use super::{FleetContext, placed};
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
    for g in cx.of_role("gateway") {
        for label in &g.home.gateway_labels {
            if envs.contains(label.as_str()) {
                continue;
            }
            let f = Finding::new(
                RULE.code(),
                g.subject(Subject::setting(
                    "deployment.toml",
                    "apim.sync_runtime_artifacts.gateway.gateway_labels",
                )),
                format!(
                    "gateway {} deploys label `{label}`, which no control-plane environment has ({env_list})",
                    g.label()
                ),
            )
            .at(Some(g.home_file()))
            .current(format!("`{label}`"))
            .expected(format!("one of {env_list}"))
            .why("a gateway whose label names no environment deploys no API: it answers 404 for every request")
            .see("ansible-apim-distributed");
            let mut hosts = vec![g.host().to_string()];
            hosts.extend(planes.iter().map(|p| p.host().to_string()));
            out.push(placed(f, &hosts, &["gateway", "control-plane"]));
        }
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
                vec![node("gw1", "gateway").labels(&["Default", "Externl"]), cp()],
                vec![
                    "FLT006 node:gw1/deployment.toml:apim.sync_runtime_artifacts.gateway.gateway_labels \
                      @gw1/opt/wso2am-4.2.0/repository/conf/deployment.toml `Externl` → one of `Default`, `internal`",
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
