//! Rules about how API-M actually runs: the systemd unit's limits (limits.conf does not apply to
//! a service) and the live limits of running API-M JVMs.

pub mod limits_conf_unused;
pub mod process_limits;
pub mod process_restart;
pub mod unit_limits;

use super::RuleContext;
use crate::host::limits::LimitValue;
use crate::profile::Family;
use crate::profile::resolve::{Check, Val};

/// Whether a running JVM is the audited home's: its `-Dcarbon.home`, resolved under the root
/// (links followed), is that home. A JVM without it cannot be attributed.
pub(crate) fn runs_the_audited_home(
    cx: &RuleContext,
    p: &crate::host::process::JvmProcess,
) -> bool {
    let (Some(apim), Some(home)) = (cx.apim, &p.carbon_home) else {
        return false;
    };
    apim.home.is_carbon_home(&apim.root, home)
}

/// The profile's minimum for `item:kind` (`nofile:soft`…), as a limit value.
fn minimum(cx: &RuleContext, item: &str, kind: &str) -> Option<(LimitValue, String)> {
    let key = format!("{item}:{kind}");
    cx.expectations
        .iter()
        .filter(|e| e.family == Family::Limits && e.key == key)
        .find_map(|e| match &e.check {
            Check::Range {
                min: Some(Val::Int(v)),
                ..
            } => u64::try_from(*v)
                .ok()
                .map(|v| (LimitValue::Value(v), e.why.clone())),
            _ => None,
        })
}

#[cfg(test)]
mod tests;
