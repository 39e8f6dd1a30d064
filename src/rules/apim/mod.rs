//! API-M rules that need code: settings judged together (token caches, the timeout order,
//! reactor threads vs cores), datasources (validation queries, H2, pools), the distributed wiring,
//! logging cost, revocation, security hygiene, deployment.toml keys that set nothing, and aliases
//! that disagree.

pub mod alias_conflict;
pub mod cache_coherence;
pub mod db_pool;
pub mod h2_database;
pub mod io_threads;
pub mod localhost_wiring;
pub mod logging_cost;
pub mod role_mismatch;
pub mod security_hygiene;
pub mod timeout_order;
pub mod token_caches;
pub mod unread_key;
pub mod validation_query;

use crate::apim::Observed;
use crate::apim::catalog::SettingType;
use crate::diag::{Change, Effect, Fix, Value, ValueKind};
use crate::model::Location;

/// An API-M setting change, in effect once API-M restarts.
pub(crate) fn apim_fix(change: Change) -> Fix {
    Fix::safe(change, Effect::RestartApim)
}

/// Set the observed setting to `value` (typed as the catalog declares it): at `at` when it is
/// set there, else inserted under the key the detected version reads.
pub(crate) fn set_setting(obs: &Observed, value: &str, at: Option<Location>) -> Fix {
    apim_fix(Change::SetApim {
        file: obs.file.clone(),
        key: obs.key.clone(),
        value: typed(obs.setting.ty, value),
        at,
    })
}

/// A value with the catalog's type.
pub(crate) fn typed(ty: SettingType, text: &str) -> Value {
    Value {
        text: text.to_string(),
        kind: match ty {
            SettingType::Bool => ValueKind::Bool,
            SettingType::Int => ValueKind::Int,
            SettingType::String => ValueKind::Str,
        },
    }
}

#[cfg(test)]
mod tests;
