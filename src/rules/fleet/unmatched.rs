//! FLT001 fleet-node-unmatched: an inventory host with no export, or an export no inventory host
//! claims. The merge judges only what it has; a missing node hides every cross-node problem it
//! would have shown, so it is said, never skipped silently.

use super::{FleetContext, placed};
use crate::diag::{Finding, Subject};
use crate::model::Location;
use crate::rules::Check;

declare_rule! {
    /// ### What it checks
    /// Every inventory host has an export, and every export matches an inventory host (by its
    /// hostname, an address, or its file name `HOST.json`).
    /// ### Why it matters
    /// A node the merge does not see is a node whose drift, pools and wiring are not compared:
    /// the report would look clean for the wrong reason. An export that matches no host is
    /// usually a renamed host or a stale file from another deployment.
    /// ### Fix
    /// Export the missing host (`apim-tune facts > HOST.json`), or name the export after its
    /// inventory host, or remove the stale file.
    /// ### Sources
    /// - ansible-apim-distributed
    pub(crate) static RULE = "FLT001" "fleet-node-unmatched" Warning "an inventory host has no export, or an export matches no host",
    inputs: [],
    check: Check::Fleet(check),
}

fn check(cx: &FleetContext, out: &mut Vec<Finding>) {
    let inv_file = cx.inventory.map(|i| i.file.as_str()).unwrap_or("inventory");
    for host in cx.missing {
        let roles: Vec<&str> = cx
            .inventory_host(host)
            .map(|h| h.roles.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let f = Finding::new(
            RULE.code(),
            Subject::Node {
                node: host.clone(),
                subject: Box::new(Subject::Source {
                    file: format!("{host}.json"),
                }),
            },
            format!("inventory host `{host}` has no export; its settings are not compared"),
        )
        .at(Some(Location::file_only(inv_file)))
        .current("no export")
        .expected(format!("an export of `{host}` (`apim-tune facts > {host}.json`)"))
        .why("a node the merge cannot see is compared with nothing: its drift, pools and wiring go unreported")
        .see("ansible-apim-distributed");
        out.push(placed(f, std::slice::from_ref(host), &roles));
    }
    for host in cx.strays {
        let Some(node) = cx.nodes.iter().find(|n| &n.host == host) else {
            continue;
        };
        let f = Finding::new(
            RULE.code(),
            Subject::Node {
                node: host.clone(),
                subject: Box::new(Subject::Source {
                    file: node.export_file.clone(),
                }),
            },
            format!(
                "export `{}` (hostname `{host}`) matches no inventory host",
                node.export_file
            ),
        )
        .at(Some(Location::file_only(&node.export_file)))
        .current("not in the inventory")
        .expected("an inventory host with this name or address")
        .why("a stale or renamed node's export is compared as if it were part of the deployment")
        .see("ansible-apim-distributed");
        out.push(placed(f, std::slice::from_ref(host), &[]));
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::rules::fleet::testing::*;

    #[test]
    fn missing_hosts_and_stray_exports() {
        let f = fleet(vec![node("gw1", "gateway"), node("old9", "gateway")])
            .inventory(
                r#"{"_meta":{"hostvars":{"gw1":{},"gw2":{}}},"gateway":{"hosts":["gw1","gw2"]}}"#,
            )
            .missing(&["gw2"])
            .strays(&["old9"]);
        assert_eq!(
            f.lines(Code::FLEET_NODE_UNMATCHED),
            [
                "FLT001 node:gw2/file:gw2.json @inventory.json no export → an export of `gw2` (`apim-tune facts > gw2.json`)",
                "FLT001 node:old9/file:old9.json @old9.json not in the inventory → an inventory host with this name or address",
            ]
        );
        let clean = fleet(vec![node("gw1", "gateway")]);
        assert!(clean.lines(Code::FLEET_NODE_UNMATCHED).is_empty());
    }
}
