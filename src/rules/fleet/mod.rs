//! The cross-node rules (family `FLT`): what is wrong *between* the nodes of a deployment, judged
//! on their exports (`apim-tune facts`) and the inventory, never on one node alone (each node's
//! own audit is inside its export and stays its own).
//!
//! A finding about one node names it (`node:gw1/…`, location `gw1/<path>`); a finding about a
//! role or the deployment as a whole carries the hosts and roles it concerns as notes
//! (`hosts: gw1, gw2`, `roles: gateway`) so reports and waivers can place it.

pub mod clustering;
pub mod db_connections;
pub mod drift;
pub mod endpoints;
pub mod event_duplicate;
pub mod fingerprints;
pub mod gateway_labels;
pub mod role_mismatch;
pub mod shared_host;
pub mod token_caches;
pub mod uniform;
pub mod unmatched;

#[cfg(test)]
pub(crate) mod testing;

use crate::diag::{Finding, Subject};
use crate::fleet::facts::HomePart;
use crate::fleet::inventory::{Inventory, InventoryHost};
use crate::model::Location;
use crate::outcome::FleetNode;

/// Everything a cross-node rule may look at.
pub struct FleetContext<'a> {
    pub nodes: &'a [FleetNode],
    pub inventory: Option<&'a Inventory>,
    /// Inventory hosts no export was found for.
    pub missing: &'a [String],
    /// Exports that matched no inventory host (their node's host name).
    pub strays: &'a [String],
    /// `--db-max-connections`, else the inventory's `apim_tune_db_max_connections`.
    pub db_max_connections: Option<u32>,
    /// Every name a node answers to (lowercase) → its index in `nodes`: URLs are resolved by
    /// lookup, so a merge of a thousand nodes is not a thousand scans per URL.
    names: std::collections::HashMap<String, Vec<usize>>,
}

/// One API-M home of one node, with the role it runs as.
#[derive(Clone, Copy)]
pub struct Member<'a> {
    pub node: &'a FleetNode,
    pub home: &'a HomePart,
    /// The role in effect the export gives, else the inventory's, else `unknown`.
    pub role: &'a str,
}

impl Member<'_> {
    pub fn host(&self) -> &str {
        &self.node.host
    }

    /// The home's offset (0 when the export does not know it: the product's default).
    pub fn offset(&self) -> u32 {
        self.home.offset.value.unwrap_or(0)
    }

    /// `gw1` for a node with one home, `tm1 (key-manager)` where two share the host.
    pub fn label(&self) -> String {
        if self.node.facts.homes.len() > 1 {
            format!("{} ({})", self.node.host, self.role)
        } else {
            self.node.host.clone()
        }
    }

    /// Where a fact of this home was read, as `host/path[:line:col]`, from a source string like
    /// `deployment.toml:12:5` or `opt/wso2am/repository/conf/deployment.toml:12:5`.
    pub fn at(&self, source: &str) -> Option<Location> {
        locate(&self.node.host, &self.home.path, source)
    }

    /// The home's deployment.toml (or what the source names) for a finding about the home.
    pub fn home_file(&self) -> Location {
        Location::file_only(&format!(
            "{}/{}/repository/conf/deployment.toml",
            self.node.host,
            self.home.path.trim_start_matches('/').trim_end_matches('/')
        ))
    }

    pub fn subject(&self, inner: Subject) -> Subject {
        Subject::Node {
            node: self.node.host.clone(),
            subject: Box::new(inner),
        }
    }
}

/// A source string turned into a location under the node: `FILE:LINE:COL` or `FILE:KEY` or
/// `FILE`; a bare file name is the home's `repository/conf/` (scripts: `bin/`).
pub fn locate(host: &str, home: &str, source: &str) -> Option<Location> {
    let file_of = |f: &str| -> String {
        let home = home.trim_start_matches('/').trim_end_matches('/');
        if f.contains('/') {
            format!("{host}/{}", f.trim_start_matches('/'))
        } else if f.ends_with(".sh") {
            format!("{host}/{home}/bin/{f}")
        } else {
            format!("{host}/{home}/repository/conf/{f}")
        }
    };
    let looks_like_file = |f: &str| {
        [".toml", ".xml", ".sh", ".json", ".properties", ".conf"]
            .iter()
            .any(|e| f.ends_with(e))
    };
    let mut parts = source.rsplitn(3, ':');
    let (c, l, f) = (parts.next(), parts.next(), parts.next());
    if let (Some(c), Some(l), Some(f)) = (c, l, f)
        && let (Ok(line), Ok(col)) = (l.parse::<u32>(), c.parse::<u32>())
    {
        return Some(Location::at(&file_of(f), line, col));
    }
    let file = source.split(':').next().unwrap_or(source);
    looks_like_file(file).then(|| Location::file_only(&file_of(file)))
}

impl<'a> FleetContext<'a> {
    pub fn new(
        nodes: &'a [FleetNode],
        inventory: Option<&'a Inventory>,
        missing: &'a [String],
        strays: &'a [String],
        db_max_connections: Option<u32>,
    ) -> FleetContext<'a> {
        let mut names: std::collections::HashMap<String, Vec<usize>> = Default::default();
        for (i, n) in nodes.iter().enumerate() {
            let mut own: Vec<&str> = vec![n.host.as_str()];
            if let Some(h) = inventory.and_then(|inv| inv.hosts.get(&n.host)) {
                own.extend(h.names());
            }
            own.extend(n.facts.host.hostname.value.as_deref());
            own.extend(n.facts.host.addresses.iter().map(String::as_str));
            for h in &n.facts.homes {
                own.extend(h.hostname.value.as_deref());
                own.extend(h.node_ip.value.as_deref());
            }
            for name in own {
                let v = names.entry(name.to_ascii_lowercase()).or_default();
                if v.last() != Some(&i) {
                    v.push(i);
                }
            }
        }
        FleetContext {
            nodes,
            inventory,
            missing,
            strays,
            db_max_connections,
            names,
        }
    }

    /// The nodes that answer to `name`.
    pub fn named(&self, name: &str) -> Vec<&'a FleetNode> {
        let nodes = self.nodes;
        self.names
            .get(&name.to_ascii_lowercase())
            .map(|v| v.iter().map(|&i| &nodes[i]).collect())
            .unwrap_or_default()
    }

    /// Every home of every node, in node order.
    pub fn members(&self) -> Vec<Member<'a>> {
        self.nodes.iter().flat_map(Self::members_of).collect()
    }

    /// The homes of one node.
    pub fn members_of(n: &'a FleetNode) -> Vec<Member<'a>> {
        n.facts
            .homes
            .iter()
            .map(|h| Member {
                node: n,
                home: h,
                role: h
                    .role
                    .value
                    .as_deref()
                    .or(n.inventory_role.as_deref())
                    .unwrap_or("unknown"),
            })
            .collect()
    }

    pub fn inventory_host(&self, host: &str) -> Option<&'a InventoryHost> {
        self.inventory.and_then(|i| i.hosts.get(host))
    }

    /// Whether `name` names this node: its inventory name or address, its kernel hostname, one
    /// of its addresses, or a home's `[server] hostname` / `node_ip`.
    pub fn names_node(&self, node: &FleetNode, name: &str) -> bool {
        self.named(name).iter().any(|n| std::ptr::eq(*n, node))
    }

    /// The roles a load balancer answers for under `name` (`apim_tune_lb_aliases`).
    pub fn lb_roles(&self, name: &str) -> Vec<&'a str> {
        let Some(inv) = self.inventory else {
            return Vec::new();
        };
        // The inventory's roles of the host that names the alias, else the roles its homes run.
        let nodes = self.nodes;
        inv.hosts
            .values()
            .filter(|h| h.lb_aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
            .flat_map(|h| -> Vec<&'a str> {
                if h.roles.is_empty() {
                    nodes
                        .iter()
                        .filter(|n| n.host == h.name)
                        .flat_map(|n| n.facts.homes.iter().filter_map(|x| x.role.value.as_deref()))
                        .collect()
                } else {
                    h.roles.iter().map(String::as_str).collect()
                }
            })
            .collect()
    }

    /// The homes of one role (all-in-one nodes count for every role).
    pub fn of_role(&self, role: &str) -> Vec<Member<'a>> {
        self.members()
            .into_iter()
            .filter(|m| m.role == role)
            .collect()
    }
}

/// `gw1, gw2, gw3`.
pub fn list(names: impl IntoIterator<Item = String>) -> String {
    names.into_iter().collect::<Vec<_>>().join(", ")
}

/// The notes that place a deployment finding: the hosts, and the roles when known.
pub fn placed(mut f: Finding, hosts: &[String], roles: &[&str]) -> Finding {
    let mut hosts = hosts.to_vec();
    hosts.sort();
    hosts.dedup();
    f = f.note(format!("hosts: {}", hosts.join(", ")));
    if !roles.is_empty() {
        let mut roles: Vec<&str> = roles.to_vec();
        roles.sort();
        roles.dedup();
        f = f.note(format!("roles: {}", roles.join(", ")));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::locate;

    #[test]
    fn sources_become_host_paths() {
        let at = |s| locate("gw1", "opt/wso2am-4.2.0", s).map(|l| l.to_string());
        assert_eq!(
            at("deployment.toml:12:5").as_deref(),
            Some("gw1/opt/wso2am-4.2.0/repository/conf/deployment.toml:12:5")
        );
        assert_eq!(
            at("opt/wso2am-4.2.0/repository/conf/deployment.toml:3:1").as_deref(),
            Some("gw1/opt/wso2am-4.2.0/repository/conf/deployment.toml:3:1")
        );
        assert_eq!(
            at("deployment.toml:apim.key_manager.service_url").as_deref(),
            Some("gw1/opt/wso2am-4.2.0/repository/conf/deployment.toml")
        );
        assert_eq!(
            at("api-manager.sh").as_deref(),
            Some("gw1/opt/wso2am-4.2.0/bin/api-manager.sh")
        );
        assert_eq!(at("default"), None);
    }
}
