//! Node exports read back, and matched to the inventory's hosts.
//!
//! An export is matched to a host by what the node says about itself (its hostname, then its
//! addresses) before its file name, because a file can be renamed on its way to the controller
//! while the kernel's hostname cannot. What matches nothing is reported, never guessed.

use super::facts::{self, FactsReadError, NodeFacts};
use super::inventory::Inventory;
use std::path::Path;

/// The cap of one export: real ones are a few hundred KiB (the embedded audit is most of it);
/// a file far beyond is not an export, and reading it whole would cost the merge its memory.
pub const MAX_EXPORT_BYTES: u64 = 64 * 1024 * 1024;

/// One export as read.
#[derive(Debug)]
pub struct Export {
    /// The path as given.
    pub file: String,
    pub facts: NodeFacts,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{file}: cannot read: {error}")]
    Io { file: String, error: std::io::Error },
    #[error(transparent)]
    Facts(#[from] FactsReadError),
}

/// Reads one export: one pass of the JSON parser when it is an export (the schema is checked on
/// the result); a second, tiny one only to explain a file that is not.
pub fn read(path: &Path) -> Result<Export, ExportError> {
    let file = path.display().to_string();
    let text = crate::source::read_text_at_most(path, MAX_EXPORT_BYTES).map_err(|error| {
        ExportError::Io {
            file: file.clone(),
            error,
        }
    })?;
    let facts = parse_once(&file, &text)?;
    Ok(Export { file, facts })
}

/// [`facts::parse`] with the common case in one pass: a file that deserialises whole and says
/// the right schema is an export; only a failure goes through the schema-first reader, whose
/// error names a wrong schema rather than a missing field.
pub fn parse_once(file: &str, text: &str) -> Result<NodeFacts, FactsReadError> {
    match serde_json::from_str::<NodeFacts>(text) {
        Ok(f) if f.schema == facts::SCHEMA => facts::check_reports(file, &f).map(|()| f),
        Ok(f) => Err(FactsReadError::Schema {
            file: file.to_string(),
            found: f.schema,
        }),
        Err(_) => facts::parse(file, text),
    }
}

/// An export matched to an inventory host (or standing alone).
#[derive(Debug)]
pub struct Matched {
    /// The inventory host, else the export's hostname, else its file name's stem.
    pub host: String,
    /// `host field`, `address`, `file name`; `no inventory` / `not in inventory` otherwise.
    pub matched_by: String,
    /// Whether an inventory host was found for it.
    pub in_inventory: bool,
    pub export: Export,
}

/// What matching left over.
#[derive(Debug, Default)]
pub struct Matching {
    pub nodes: Vec<Matched>,
    /// Inventory hosts no export was found for.
    pub missing: Vec<String>,
}

/// The stem of `gw1.json` → `gw1`.
fn stem(file: &str) -> Option<String> {
    Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
}

/// Matches exports to hosts: each export to at most one host and each host to at most one
/// export, by hostname first (= inventory name or `ansible_host`), then by address, then by file
/// name, so a weaker match never takes an export a stronger one claims.
pub fn match_exports(exports: Vec<Export>, inventory: Option<&Inventory>) -> Matching {
    let Some(inv) = inventory else {
        let nodes = exports
            .into_iter()
            .map(|e| Matched {
                host: own_name(&e),
                matched_by: "no inventory".into(),
                in_inventory: false,
                export: e,
            })
            .collect();
        return Matching {
            nodes,
            missing: Vec::new(),
        };
    };
    let mut owner: Vec<Option<(String, &'static str)>> = vec![None; exports.len()];
    let mut taken: std::collections::BTreeSet<&str> = Default::default();
    type Test = fn(&Export, &super::inventory::InventoryHost) -> bool;
    let passes: [(&'static str, Test); 3] = [
        ("host field", |e, h| {
            e.facts
                .host
                .hostname
                .value
                .as_deref()
                .is_some_and(|n| h.names().any(|x| x.eq_ignore_ascii_case(n)))
        }),
        ("address", |e, h| {
            h.address
                .as_deref()
                .is_some_and(|a| e.facts.host.addresses.iter().any(|x| x == a))
        }),
        ("file name", |e, h| {
            stem(&e.file).as_deref() == Some(h.name.as_str())
        }),
    ];
    for (how, test) in passes {
        for h in inv.hosts.values() {
            if taken.contains(h.name.as_str()) {
                continue;
            }
            // Among exports that pass, the one named after the host first: two inventory
            // hosts on one machine (a traffic manager and a key manager) share a hostname and
            // an address, and only `HOST.json` tells their exports apart.
            let passing =
                || (0..exports.len()).filter(|&i| owner[i].is_none() && test(&exports[i], h));
            let named =
                passing().find(|&i| stem(&exports[i].file).as_deref() == Some(h.name.as_str()));
            if let Some(i) = named.or_else(|| passing().next()) {
                owner[i] = Some((h.name.clone(), how));
                taken.insert(h.name.as_str());
            }
        }
    }
    let missing = inv
        .hosts
        .keys()
        .filter(|h| !taken.contains(h.as_str()))
        .cloned()
        .collect();
    let mut nodes: Vec<Matched> = exports
        .into_iter()
        .zip(owner)
        .map(|(e, o)| match o {
            Some((host, how)) => Matched {
                host,
                matched_by: how.into(),
                in_inventory: true,
                export: e,
            },
            None => Matched {
                host: own_name(&e),
                matched_by: "not in inventory".into(),
                in_inventory: false,
                export: e,
            },
        })
        .collect();
    // Inventory order (host names), then exports that match none, so reports are stable
    // whatever order the shell expanded `*.json` in.
    nodes.sort_by(|a, b| {
        (!a.in_inventory, &a.host, &a.export.file).cmp(&(!b.in_inventory, &b.host, &b.export.file))
    });
    Matching { nodes, missing }
}

/// The name an export gives itself: its hostname, else its file's stem.
fn own_name(e: &Export) -> String {
    e.facts
        .host
        .hostname
        .value
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| stem(&e.file))
        .unwrap_or_else(|| e.file.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::facts::Sourced;

    fn export(file: &str, hostname: Option<&str>, addrs: &[&str]) -> Export {
        let mut facts = NodeFacts {
            schema: facts::SCHEMA.into(),
            ..NodeFacts::default()
        };
        facts.host.hostname = match hostname {
            Some(h) => Sourced::known(h.to_string(), "proc/sys/kernel/hostname"),
            None => Sourced::unknown("absent"),
        };
        facts.host.addresses = addrs.iter().map(|s| s.to_string()).collect();
        Export {
            file: file.into(),
            facts,
        }
    }

    #[test]
    fn matches_by_hostname_then_address_then_file_name() {
        let inv = crate::fleet::inventory::parse(
            "inv.json",
            r#"{"_meta":{"hostvars":{
                "gw1":{"ansible_host":"10.0.0.1"},
                "gw2":{"ansible_host":"10.0.0.2"},
                "cp1":{"ansible_host":"10.0.0.3"},
                "tm1":{"ansible_host":"10.0.0.4"},
                "km1":{}}}}"#,
        )
        .unwrap();
        let m = match_exports(
            vec![
                // Named gw1 by its file but the kernel says gw2: the kernel wins.
                export("out/gw1.json", Some("gw2"), &[]),
                export("out/x.json", Some("10.0.0.1"), &[]),
                export("out/y.json", None, &["10.0.0.3"]),
                export("out/tm1.json", Some("localhost"), &[]),
                export("out/stray.json", Some("db9"), &[]),
            ],
            Some(&inv),
        );
        let got: Vec<(&str, &str)> = m
            .nodes
            .iter()
            .map(|n| (n.host.as_str(), n.matched_by.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("cp1", "address"),
                ("gw1", "host field"),
                ("gw2", "host field"),
                ("tm1", "file name"),
                ("db9", "not in inventory"),
            ]
        );
        assert_eq!(m.missing, ["km1"]);
    }

    #[test]
    fn two_inventory_hosts_on_one_machine_get_their_own_exports() {
        // See: review of issue 16 — tm1 and km1 share a machine, so both exports say hostname
        // tm1 and address 10.0.0.4; tm1 took km1.json, km1 got tm1.json.
        let inv = crate::fleet::inventory::parse(
            "inv.json",
            r#"{"_meta":{"hostvars":{
                "tm1":{"ansible_host":"10.0.0.4"},
                "km1":{"ansible_host":"10.0.0.4"}}}}"#,
        )
        .unwrap();
        let m = match_exports(
            vec![
                export("out/km1.json", Some("tm1"), &["10.0.0.4"]),
                export("out/tm1.json", Some("tm1"), &["10.0.0.4"]),
            ],
            Some(&inv),
        );
        let got: Vec<(&str, &str)> = m
            .nodes
            .iter()
            .map(|n| (n.host.as_str(), n.export.file.as_str()))
            .collect();
        assert_eq!(got, [("km1", "out/km1.json"), ("tm1", "out/tm1.json")]);
        assert!(m.missing.is_empty());
    }

    #[test]
    fn reading_a_wrong_file_is_a_clear_error() {
        let e = parse_once("a.json", r#"{"schema":"apim-tune/audit/v3"}"#).unwrap_err();
        assert!(e.to_string().contains("schema `apim-tune/audit/v3`"), "{e}");
        let e = parse_once("a.json", "{\"schema\":").unwrap_err();
        assert!(e.to_string().starts_with("a.json: not JSON"), "{e}");
        let e = parse_once("a.json", "\u{0}\u{1}binary").unwrap_err();
        assert!(e.to_string().starts_with("a.json: not JSON"), "{e}");
    }
}
