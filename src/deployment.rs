//! Orchestration of `fleet merge`: exports + inventory (+ manifests) → matched nodes →
//! cross-node findings (`rules::fleet`) → waivers → a [`crate::outcome::FleetReport`]. Never prints.

use crate::diag::Finding;
use crate::fleet::inventory::{self, Inventory};
use crate::fleet::nodes::{self, Export};
use crate::outcome::{FleetNode, FleetReport};
use crate::rules::fleet::{FleetContext, fingerprints};
use std::path::{Path, PathBuf};

/// The cap of an inventory: `ansible-inventory --list` of thousands of hosts is a few MiB.
const MAX_INVENTORY_BYTES: u64 = 64 * 1024 * 1024;

/// What a merge reads.
#[derive(Debug, Default)]
pub struct MergeOptions {
    pub exports: Vec<PathBuf>,
    pub inventory: Option<PathBuf>,
    /// Rendered Kubernetes manifests: each workload is a node too.
    pub manifests: Vec<PathBuf>,
    /// `--db-max-connections`; wins over the inventory's.
    pub db_max_connections: Option<u32>,
    pub waivers: Option<PathBuf>,
    /// `APIM_TUNE_FLEET_SALT`, for the workloads' fingerprints.
    pub salt: Option<Vec<u8>>,
    /// `YYYY-MM-DD`, for waivers' expiry.
    pub today: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give node exports (NODE.json…) or manifests (-f)")]
    Nothing,
    #[error(transparent)]
    Export(#[from] nodes::ExportError),
    #[error(transparent)]
    Inventory(#[from] inventory::InventoryError),
    #[error("{0}")]
    Kube(String),
    #[error("{file}: two exports of one node (both say they are `{host}`): {other}")]
    Duplicate {
        file: String,
        host: String,
        other: String,
    },
    #[error("waivers: {0}")]
    Waivers(String),
}

/// Reads the exports, in parallel (parsing is the cost of a merge of hundreds of nodes), in
/// the order given; the first file that is not an export stops the merge with its error.
pub fn read_exports(paths: &[PathBuf]) -> Result<Vec<Export>, nodes::ExportError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 16)
        .min(paths.len().max(1));
    let chunk = paths.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<Export>, nodes::ExportError>> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|ps| s.spawn(move || ps.iter().map(|p| nodes::read(p)).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(nodes::ExportError::Io {
                        file: "export".into(),
                        error: std::io::Error::other("a reader thread failed"),
                    })
                })
            })
            .collect()
    });
    let mut out = Vec::with_capacity(paths.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

pub fn read_inventory(path: &Path) -> Result<Inventory, inventory::InventoryError> {
    let file = path.display().to_string();
    let text = crate::source::read_text_at_most(path, MAX_INVENTORY_BYTES).map_err(|e| {
        inventory::InventoryError {
            file: file.clone(),
            message: format!("cannot read: {e}"),
        }
    })?;
    inventory::parse(&file, &text)
}

/// Runs a merge.
pub fn run(opts: &MergeOptions) -> Result<FleetReport, MergeError> {
    if opts.exports.is_empty() && opts.manifests.is_empty() {
        return Err(MergeError::Nothing);
    }
    let mut exports = read_exports(&opts.exports)?;
    if !opts.manifests.is_empty() {
        let workloads = crate::kube::exports(&opts.manifests, opts.salt.as_deref())
            .map_err(|e| MergeError::Kube(e.to_string()))?;
        exports.extend(
            workloads
                .into_iter()
                .map(|(name, facts)| Export { file: name, facts }),
        );
    }
    let inventory = opts.inventory.as_deref().map(read_inventory).transpose()?;
    let matching = nodes::match_exports(exports, inventory.as_ref());

    let mut notes = Vec::new();
    let mut seen: std::collections::BTreeMap<&str, &str> = Default::default();
    for m in &matching.nodes {
        if let Some(other) = seen.insert(&m.host, &m.export.file) {
            return Err(MergeError::Duplicate {
                file: m.export.file.clone(),
                host: m.host.clone(),
                other: other.to_string(),
            });
        }
    }
    let strays: Vec<String> = if inventory.is_some() {
        matching
            .nodes
            .iter()
            .filter(|m| !m.in_inventory)
            .map(|m| m.host.clone())
            .collect()
    } else {
        notes.push(
            "no inventory (--inventory): nodes are named by their exports, roles come from the exports alone, and load balancer aliases are unknown".into(),
        );
        Vec::new()
    };
    let nodes: Vec<FleetNode> = matching
        .nodes
        .into_iter()
        .map(|m| {
            let inventory_role = inventory
                .as_ref()
                .and_then(|i| i.hosts.get(&m.host))
                .filter(|h| !h.roles.is_empty())
                .map(|h| h.roles.join("+"));
            FleetNode {
                host: m.host,
                inventory_role,
                export_file: m.export.file,
                matched_by: m.matched_by,
                facts: m.export.facts,
            }
        })
        .collect();
    let db_max_connections = opts
        .db_max_connections
        .or(inventory.as_ref().and_then(|i| i.db_max_connections));
    if db_max_connections.is_none() {
        notes.push("the database server's max_connections is unknown (--db-max-connections or the inventory's apim_tune_db_max_connections): pools are not summed against it".into());
    }
    let cx = FleetContext::new(
        &nodes,
        inventory.as_ref(),
        &matching.missing,
        &strays,
        db_max_connections,
    );
    let findings: Vec<Finding> = crate::rules::run_fleet(&cx);
    if let Some(n) = fingerprints::salt_note(&cx) {
        notes.push(n);
    }
    for n in &nodes {
        for note in &n.facts.notes {
            notes.push(format!("{}: {note}", n.host));
        }
    }
    let mut report = FleetReport {
        nodes,
        findings,
        checked: Vec::new(),
        notes,
    };
    // Waivers see the whole deployment: a waiver naming hosts or roles applies to the
    // deployment findings about them and to those nodes' own findings.
    if let Some(path) = &opts.waivers {
        let waivers = crate::waivers::load(path).map_err(|e| MergeError::Waivers(e.to_string()))?;
        let extra = crate::waivers::apply_fleet(&waivers, &mut report, &opts.today);
        report.findings.extend(extra);
    }
    // Sorted once, with the waivers' own findings among them; the key is built once per
    // finding (it formats the subject), as in the audit.
    report.findings.sort_by_cached_key(Finding::sort_key);
    Ok(report)
}
