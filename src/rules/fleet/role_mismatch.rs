//! FLT011 fleet-role-differs-from-inventory: the inventory says a host is one role, its API-M
//! homes run as another.

use super::{FleetContext, placed};
use crate::diag::{Finding, Subject};
use crate::model::Location;
use crate::rules::Check;
use std::collections::BTreeSet;

declare_rule! {
    /// ### What it checks
    /// The roles a host's homes run as (`-Dprofile`, `server_role`, or all-in-one by default)
    /// are the roles the inventory gives it (its role groups or `apim_tune_role`).
    /// ### Why it matters
    /// The inventory decides what a rollout does to a host, the load balancer pools and the
    /// profile its audit applies; a gateway started as an all-in-one node runs the publisher,
    /// the developer portal and the key manager in the DMZ, and a "control plane" started as a
    /// gateway never serves the portal.
    /// ### Fix
    /// Start the home with the inventory's profile (`-Dprofile=gateway-worker`, …), or move
    /// the host to the group of the role it runs.
    /// ### Sources
    /// - distributed-deployment
    /// - ansible-apim-distributed
    pub(crate) static RULE = "FLT011" "fleet-role-differs-from-inventory" Warning "a host runs a role other than its inventory role",
    inputs: [],
    check: Check::Fleet(check),
}

fn check(cx: &FleetContext, out: &mut Vec<Finding>) {
    for n in cx.nodes {
        let Some(inv) = cx.inventory_host(&n.host) else {
            continue;
        };
        if inv.roles.is_empty() || n.facts.homes.is_empty() {
            continue;
        }
        // A home whose role the export does not know is not judged (unknown stays unknown).
        let Some(running): Option<BTreeSet<&str>> = n
            .facts
            .homes
            .iter()
            .map(|h| h.role.value.as_deref())
            .collect()
        else {
            continue;
        };
        let said: BTreeSet<&str> = inv.roles.iter().map(String::as_str).collect();
        if running == said {
            continue;
        }
        let join = |s: &BTreeSet<&str>| s.iter().copied().collect::<Vec<_>>().join(" + ");
        let source = n
            .facts
            .homes
            .iter()
            .map(|h| h.role.source.as_str())
            .next()
            .unwrap_or("");
        let at = super::locate(&n.host, &n.facts.homes[0].path, source).or_else(|| {
            Some(Location::file_only(&format!(
                "{}/{}",
                n.host,
                n.facts.homes[0].path.trim_start_matches('/')
            )))
        });
        let f = Finding::new(
            RULE.code(),
            Subject::Node { node: n.host.clone(), subject: Box::new(Subject::ApimHome { path: n.facts.homes[0].path.clone() }) },
            format!("{} runs as {}, the inventory says {}", n.host, join(&running), join(&said)),
        )
        .at(at)
        .current(join(&running))
        .expected(join(&said))
        .why("the inventory drives the rollout, the load balancer pools and the profile; a node running another role is tuned and reached as what it is not")
        .see("distributed-deployment");
        let roles: Vec<&str> = running.iter().chain(&said).copied().collect();
        out.push(placed(f, std::slice::from_ref(&n.host), &roles));
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::rules::fleet::testing::*;

    #[test]
    fn inventory_role_against_role_in_effect() {
        let inv = r#"{"_meta":{"hostvars":{"gw1":{},"gw2":{},"tm1":{},"cp1":{}}},
            "gateway":{"hosts":["gw1","gw2"]},"traffic_manager":{"hosts":["tm1"]},"key_manager":{"hosts":["tm1"]},
            "control_plane":{"hosts":["cp1"]}}"#;
        let f = fleet(vec![
            node("gw1", "gateway"),
            node("gw2", "all-in-one"),
            node("tm1", "traffic-manager").home("opt/km", "key-manager", 1),
            node("cp1", "control-plane").role_unknown(),
        ])
        .inventory(inv);
        assert_eq!(
            f.lines(Code::FLEET_ROLE_DIFFERS_FROM_INVENTORY),
            ["FLT011 node:gw2/apim:opt/wso2am-4.2.0 @gw2/opt/wso2am-4.2.0 all-in-one → gateway"]
        );
    }
}
