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
}
