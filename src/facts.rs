//! `apim-tune facts`: one node's effective values as an `apim-tune/facts/v1` export
//! ([`crate::fleet::facts`]), built from the same reads and the same audit as `apim-tune audit`.

use crate::audit::AuditOptions;
use crate::fleet::facts::NodeFacts;
use std::path::PathBuf;

#[derive(Clone, Debug, Default)]
pub struct FactsOptions {
    /// Host, profile and override options; its `apim_home` is ignored in favour of `homes`.
    pub audit: AuditOptions,
    /// Every API-M home on this host to export (none: the host alone).
    pub homes: Vec<PathBuf>,
    /// `APIM_TUNE_FLEET_SALT`'s bytes; `None`: no fingerprints.
    pub salt: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error("{0}")]
    Other(String),
}

/// Builds the export of one node.
pub fn collect(opts: &FactsOptions) -> Result<NodeFacts, FactsError> {
    let _ = opts;
    Err(FactsError::Other("facts: not built yet".into()))
}
