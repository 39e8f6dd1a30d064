//! Ansible's inventory as `ansible-inventory -i INV --list` prints it: the hosts, the roles their
//! groups give them, their addresses and the `apim_tune_*` variables the cross-node rules read.
//!
//! The JSON holds `_meta.hostvars` (every host's variables, group variables already merged in
//! by Ansible) and one object per group with `hosts` and `children`; `--export` also keeps
//! group `vars`, which are applied here with the same precedence (host over group over `all`).

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The role groups WSO2's Ansible patterns use, and the role each names (the names the audit
/// uses for a role in effect).
const ROLE_GROUPS: &[(&str, &str)] = &[
    ("gateway", "gateway"),
    ("control_plane", "control-plane"),
    ("key_manager", "key-manager"),
    ("traffic_manager", "traffic-manager"),
    ("all_in_one", "all-in-one"),
];

/// How deep `children` may nest: real inventories nest two or three levels; a cycle or a
/// generated monster must not recurse without end.
const MAX_DEPTH: usize = 32;

/// A group as listed: its direct hosts, its children, its `vars` (with `--export`).
type Groups<'a> = BTreeMap<&'a str, (Vec<String>, Vec<String>, Map<String, Value>)>;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The file it was read from, for findings and errors.
    pub file: String,
    /// Hosts by inventory name, in name order.
    pub hosts: BTreeMap<String, InventoryHost>,
    /// `apim_tune_db_max_connections` (from `all` or any host).
    pub db_max_connections: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InventoryHost {
    pub name: String,
    /// `ansible_host`, when set.
    pub address: Option<String>,
    /// Roles from the role groups (or `apim_tune_role`), in a stable order; two on a machine
    /// that runs two homes (traffic manager and key manager).
    pub roles: Vec<String>,
    /// `apim_tune_lb_aliases`: names a load balancer answers to for this host's role(s).
    pub lb_aliases: Vec<String>,
    pub replicas: Option<u32>,
    pub hpa_max: Option<u32>,
    pub max_surge: Option<u32>,
}

impl InventoryHost {
    /// The names other nodes may use to reach this host: its inventory name and address.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.address.as_deref())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct InventoryError {
    pub file: String,
    pub message: String,
}

/// A role name as the audit spells it, from a group or `apim_tune_role` value
/// (`control_plane`, `control-plane`, `Control-Plane`).
pub fn normalise_role(s: &str) -> Option<&'static str> {
    let s = s.trim().to_ascii_lowercase().replace('-', "_");
    ROLE_GROUPS
        .iter()
        .find(|(group, _)| *group == s)
        .map(|(_, role)| *role)
}

/// Parses `ansible-inventory --list` output.
pub fn parse(file: &str, text: &str) -> Result<Inventory, InventoryError> {
    let err = |message: String| InventoryError {
        file: file.to_string(),
        message,
    };
    let root: Value = serde_json::from_str(text).map_err(|e| {
        err(format!(
            "not JSON at line {} column {}: {e} (expected what `ansible-inventory -i INV --list` prints)",
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(groups) = root else {
        return Err(err(
            "not an inventory: the top level must be an object of groups and `_meta`".into(),
        ));
    };
    let hostvars = match groups.get("_meta").and_then(|m| m.get("hostvars")) {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(err("`_meta.hostvars` is not an object".into())),
    };

    // Every group's direct hosts, children and vars, checked for shape.
    let mut direct: Groups = BTreeMap::new();
    for (name, g) in &groups {
        if name == "_meta" {
            continue;
        }
        let Value::Object(g) = g else {
            return Err(err(format!("group `{name}` is not an object")));
        };
        let list = |key: &str| -> Result<Vec<String>, InventoryError> {
            match g.get(key) {
                None => Ok(Vec::new()),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_string).ok_or_else(|| {
                            err(format!("group `{name}`: `{key}` holds a non-string {v}"))
                        })
                    })
                    .collect(),
                Some(_) => Err(err(format!("group `{name}`: `{key}` is not a list"))),
            }
        };
        let vars = match g.get("vars") {
            None => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(err(format!("group `{name}`: `vars` is not an object"))),
        };
        direct.insert(name, (list("hosts")?, list("children")?, vars));
    }

    // Each group's hosts, children included, and the groups each host belongs to.
    let mut member_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for h in hostvars.keys() {
        member_of.entry(h.clone()).or_default();
    }
    for group in direct.keys() {
        let mut hosts = BTreeSet::new();
        collect_hosts(group, &direct, 0, &mut BTreeSet::new(), &mut hosts).map_err(&err)?;
        for h in hosts {
            member_of.entry(h).or_default().insert(group.to_string());
        }
    }

    let mut inv = Inventory {
        file: file.to_string(),
        ..Inventory::default()
    };
    let mut max_conns: BTreeMap<u32, String> = BTreeMap::new();
    if let Some((_, _, vars)) = direct.get("all")
        && let Some(v) = vars.get("apim_tune_db_max_connections")
    {
        max_conns.insert(
            count(v, "all", "apim_tune_db_max_connections").map_err(&err)?,
            "all".into(),
        );
    }
    for (name, groups_of) in &member_of {
        // Variables: group vars (`all` first, then the others by name), then host vars.
        let mut vars = Map::new();
        if let Some((_, _, v)) = direct.get("all") {
            vars.extend(v.clone());
        }
        for g in groups_of.iter().filter(|g| *g != "all") {
            if let Some((_, _, v)) = direct.get(g.as_str()) {
                vars.extend(v.clone());
            }
        }
        match hostvars.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::Object(v)) => vars.extend(v.clone()),
            Some(_) => return Err(err(format!("`_meta.hostvars.{name}` is not an object"))),
        }
        let mut roles: Vec<String> = ROLE_GROUPS
            .iter()
            .filter(|(g, _)| {
                groups_of
                    .iter()
                    .any(|m| normalise_role(m) == normalise_role(g))
            })
            .map(|(_, r)| r.to_string())
            .collect();
        if let Some(v) = vars.get("apim_tune_role") {
            // The host's own word wins over its groups: it is the more specific statement.
            let given: Vec<&str> = match v {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                other => {
                    return Err(err(format!(
                        "host `{name}`: `apim_tune_role` is {other}, not a role name"
                    )));
                }
            };
            roles = given
                .iter()
                .map(|s| {
                    normalise_role(s).map(str::to_string).ok_or_else(|| {
                        err(format!(
                            "host `{name}`: `apim_tune_role` `{s}` is none of gateway, control_plane, key_manager, traffic_manager, all_in_one"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        let address = match vars.get("ansible_host") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(err(format!(
                    "host `{name}`: `ansible_host` is {other}, not a string"
                )));
            }
        };
        let lb_aliases = match vars.get("apim_tune_lb_aliases") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        err(format!(
                            "host `{name}`: `apim_tune_lb_aliases` holds {v}, not a name"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(err(format!(
                    "host `{name}`: `apim_tune_lb_aliases` is {other}, not a list of names"
                )));
            }
        };
        let opt = |key: &str| -> Result<Option<u32>, InventoryError> {
            vars.get(key)
                .filter(|v| !v.is_null())
                .map(|v| count(v, name, key).map_err(&err))
                .transpose()
        };
        if let Some(n) = opt("apim_tune_db_max_connections")? {
            max_conns.entry(n).or_insert_with(|| name.clone());
        }
        inv.hosts.insert(
            name.clone(),
            InventoryHost {
                name: name.clone(),
                address,
                roles,
                lb_aliases,
                replicas: opt("apim_tune_replicas")?,
                hpa_max: opt("apim_tune_hpa_max")?,
                max_surge: opt("apim_tune_max_surge")?,
            },
        );
    }
    if max_conns.len() > 1 {
        let said: Vec<String> = max_conns
            .iter()
            .map(|(n, at)| format!("{n} ({at})"))
            .collect();
        return Err(err(format!(
            "`apim_tune_db_max_connections` differs: {}; one database server has one limit (use --db-max-connections)",
            said.join(", ")
        )));
    }
    inv.db_max_connections = max_conns.keys().next().copied();
    Ok(inv)
}

fn collect_hosts(
    group: &str,
    direct: &Groups,
    depth: usize,
    seen: &mut BTreeSet<String>,
    out: &mut BTreeSet<String>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "group `{group}`: `children` nest deeper than {MAX_DEPTH} levels"
        ));
    }
    // A group reached twice (a diamond, or a cycle Ansible itself would refuse) adds nothing new.
    if !seen.insert(group.to_string()) {
        return Ok(());
    }
    let Some((hosts, children, _)) = direct.get(group) else {
        return Ok(());
    };
    out.extend(hosts.iter().cloned());
    for c in children {
        collect_hosts(c, direct, depth + 1, seen, out)?;
    }
    Ok(())
}

/// A count from the inventory: a non-negative integer, or a string of digits (YAML inventories
/// often quote numbers).
fn count(v: &Value, host: &str, key: &str) -> Result<u32, String> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    n.and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("`{host}`: `{key}` is {v}, not a whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INV: &str = r#"{
        "_meta": {"hostvars": {
            "gw1": {"ansible_host": "10.77.0.11", "apim_tune_lb_aliases": ["gw.example.com"]},
            "gw2": {"ansible_host": "10.77.0.12"},
            "cp1": {"ansible_host": "10.77.0.21", "apim_tune_db_max_connections": "400"},
            "tm1": {"ansible_host": "10.77.0.31"}
        }},
        "all": {"children": ["ungrouped", "apim"]},
        "apim": {"children": ["gateway", "control_plane", "traffic_manager", "key_manager"]},
        "gateway": {"hosts": ["gw1", "gw2"], "vars": {"apim_tune_replicas": 2}},
        "control_plane": {"hosts": ["cp1"]},
        "traffic_manager": {"hosts": ["tm1"]},
        "key_manager": {"hosts": ["tm1"]},
        "ungrouped": {"hosts": []}
    }"#;

    #[test]
    fn reads_roles_addresses_and_variables() {
        let inv = parse("inv.json", INV).unwrap();
        assert_eq!(inv.hosts.len(), 4);
        let gw1 = &inv.hosts["gw1"];
        assert_eq!(gw1.roles, ["gateway"]);
        assert_eq!(gw1.address.as_deref(), Some("10.77.0.11"));
        assert_eq!(gw1.lb_aliases, ["gw.example.com"]);
        assert_eq!(gw1.replicas, Some(2));
        assert_eq!(inv.hosts["tm1"].roles, ["key-manager", "traffic-manager"]);
        assert_eq!(inv.hosts["cp1"].roles, ["control-plane"]);
        assert_eq!(inv.db_max_connections, Some(400));
    }

    #[test]
    fn a_host_variable_names_the_role() {
        let inv = parse(
            "i.json",
            r#"{"_meta":{"hostvars":{"n1":{"apim_tune_role":"Control-Plane"}}},"ungrouped":{"hosts":["n1"]}}"#,
        )
        .unwrap();
        assert_eq!(inv.hosts["n1"].roles, ["control-plane"]);
    }

    #[test]
    fn bad_inventories_are_clear_errors() {
        for (text, says) in [
            ("{", "not JSON at line 1"),
            ("[]", "top level must be an object"),
            (r#"{"gateway": 3}"#, "group `gateway` is not an object"),
            (r#"{"gateway": {"hosts": "gw1"}}"#, "`hosts` is not a list"),
            (r#"{"gateway": {"hosts": [1]}}"#, "non-string 1"),
            (
                r#"{"_meta": {"hostvars": []}}"#,
                "`_meta.hostvars` is not an object",
            ),
            (
                r#"{"_meta": {"hostvars": {"a": {"apim_tune_role": "db"}}}}"#,
                "`apim_tune_role` `db` is none of",
            ),
            (
                r#"{"_meta": {"hostvars": {"a": {"apim_tune_replicas": -1}}}}"#,
                "`apim_tune_replicas` is -1, not a whole number",
            ),
            (
                r#"{"_meta": {"hostvars": {"a": {"apim_tune_db_max_connections": 1}, "b": {"apim_tune_db_max_connections": 2}}}}"#,
                "`apim_tune_db_max_connections` differs",
            ),
        ] {
            let e = parse("inv.json", text).unwrap_err().to_string();
            assert!(e.starts_with("inv.json: "), "{e}");
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn cyclic_and_deep_children_end() {
        let inv = parse(
            "i.json",
            r#"{"a":{"children":["b"],"hosts":["h"]},"b":{"children":["a"]}}"#,
        )
        .unwrap();
        assert!(inv.hosts.contains_key("h"));
        let mut groups = serde_json::Map::new();
        for i in 0..100 {
            groups.insert(
                format!("g{i}"),
                serde_json::json!({"children": [format!("g{}", i + 1)]}),
            );
        }
        let e = parse("i.json", &Value::Object(groups).to_string()).unwrap_err();
        assert!(e.to_string().contains("nest deeper than"), "{e}");
    }
}
