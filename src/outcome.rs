//! What an audit produced: the report (host facts, findings, checked settings, notes) and the
//! sources it read. Data only: `audit` builds it, `report/` renders it and `edit/` plans its
//! fixes onto the sources.

use crate::apim::ApimModel;
use crate::diag::{Checked, Finding};
use crate::host::limits::{self, LimitsUser};
use crate::host::{HostFacts, sysctl};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct ApimSummary {
    pub home: String,
    pub chosen_by: String,
    pub version: Option<String>,
    pub version_source: String,
    /// The version whose file and key names were used (the detected one, else assumed).
    pub assumed_version: String,
    pub layout: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProfileSummary {
    pub chain: Vec<String>,
    pub role: String,
    pub checks: usize,
}

#[derive(Debug)]
pub struct AuditReport {
    pub facts: HostFacts,
    pub apim: Option<ApimSummary>,
    pub user: LimitsUser,
    pub profile: ProfileSummary,
    pub findings: Vec<Finding>,
    /// Every setting checked (passing or not), for reports that list passes.
    pub checked: Vec<Checked>,
    /// Every kernel parameter looked at: live value, the line that wins at boot, shadowed lines.
    pub sysctl: Vec<SysctlKeyReport>,
    /// Things the reader should know that are not findings (e.g. "host only").
    pub notes: Vec<String>,
    /// How renderers name files to the reader (stored names are root-relative).
    pub paths: crate::model::ShownPaths,
}

/// One sysctl line as reported: where it is and what it sets.
#[derive(Clone, Debug, Serialize)]
pub struct SysctlLineReport {
    pub file: String,
    pub line: u32,
    pub value: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct SysctlKeyReport {
    pub key: String,
    pub live: Option<String>,
    /// `Some(false)` when `proc/sys` is readable and the running kernel has no such key.
    pub in_kernel: Option<bool>,
    pub persisted: Option<SysctlLineReport>,
    pub shadowed: Vec<SysctlLineReport>,
}

/// What the audit read, kept for the planner of `--diff`/`--apply`, which edits these files.
pub struct Sources {
    pub sysctl: sysctl::Sysctl,
    pub limits: limits::Limits,
    pub apim: Option<ApimModel>,
    /// The systemd units that run the audited home (all API-M units without a home): what a
    /// change with a restart effect must restart.
    pub home_units: Vec<String>,
}

/// What `fleet merge` produced: the nodes as matched to the inventory, the deployment-wide
/// findings (the cross-node rules, `FLT…`), and each node's own audit inside. Data only:
/// `deployment` builds it, `report/` renders it.
#[derive(Debug)]
pub struct FleetReport {
    pub nodes: Vec<FleetNode>,
    /// Cross-node findings. A location's `file` is `host/path` (`gw1/opt/wso2am/…/deployment.toml`)
    /// or `inventory` for what only the inventory says.
    pub findings: Vec<Finding>,
    pub checked: Vec<Checked>,
    pub notes: Vec<String>,
}

/// One node of the deployment: an inventory host and its export.
#[derive(Debug)]
pub struct FleetNode {
    /// The inventory host name (`gw1`).
    pub host: String,
    /// The role the inventory gives it (`gateway`, `control-plane`, `key-manager`,
    /// `traffic-manager`, `all-in-one`), `None` when the inventory gives none.
    pub inventory_role: Option<String>,
    /// The export file it was read from.
    pub export_file: String,
    /// How the export was matched to the host (`host field`, `file name`).
    pub matched_by: String,
    pub facts: crate::fleet::facts::NodeFacts,
}

impl FleetNode {
    /// The roles of a node: the inventory's (a host in two role groups has both, joined with
    /// `+`), then each home's role in effect, without repeats.
    pub fn roles(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let inventory = self.inventory_role.iter().flat_map(|r| r.split(['+', ',']));
        let homes = self
            .facts
            .homes
            .iter()
            .filter_map(|h| h.role.value.as_deref());
        for r in inventory
            .chain(homes)
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            if !out.iter().any(|o| o == r) {
                out.push(r.to_string());
            }
        }
        out
    }
}
