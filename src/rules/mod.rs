//! Judging: finding codes, the one generic expectation check, and the cross-setting rules.
//!
//! Rules read the model (`host/`, `apim/`) and the resolved expectations and push findings; they
//! never print, read files, or know about report formats or edits.

pub mod apim;
pub mod codes;
pub mod compare;
pub mod expectation;
pub mod jvm;
pub mod limits;
pub mod service;
pub mod sysctl;

use crate::apim::ApimModel;
use crate::finding::Finding;
use crate::host::HostFacts;
use crate::host::limits::Limits;
use crate::host::sysctl::Sysctl;
use crate::profile::resolve::Expectation;

/// The user whose limits are judged, and how it was chosen.
#[derive(Clone, Debug)]
pub struct LimitsUser {
    pub name: String,
    pub groups: Vec<String>,
    pub chosen_by: String,
}

/// Everything a rule may look at.
pub struct RuleContext<'a> {
    pub facts: &'a HostFacts,
    pub sysctl: &'a Sysctl,
    pub limits: &'a Limits,
    pub user: &'a LimitsUser,
    pub apim: Option<&'a ApimModel>,
    pub role: &'a str,
    pub expectations: &'a [Expectation],
    /// Where a fix adds a kernel parameter or a limit that no file sets yet (under the root).
    pub sysctl_drop_in: &'a str,
    pub limits_drop_in: &'a str,
    /// systemd units that run API-M; when any, limits.conf does not apply to it.
    pub units: &'a [crate::host::systemd::Unit],
    pub default_nofile: Option<&'a crate::host::systemd::UnitSetting>,
    /// Running API-M JVMs.
    pub processes: &'a [crate::host::process::JvmProcess],
}

/// Runs the generic check and every cross-setting rule; `checked` receives the subject of every
/// setting the generic check looked at.
pub fn run_all(cx: &RuleContext, out: &mut Vec<Finding>, checked: &mut Vec<String>) {
    expectation::check_all(cx, out, checked);
    sysctl::check(cx, out);
    limits::check(cx, out);
    service::check(cx, out);
    jvm::check(cx, out);
    apim::check(cx, out);
}
