//! Kubernetes without a cluster: each workload of rendered manifests becomes a node export,
//! read exactly as a host would be (see `fleet::k8s` for the reading).

use crate::fleet::facts::NodeFacts;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("{0}")]
    Manifests(String),
}

/// One export per API-M workload of `manifests`, named by workload (`wso2am-gw`).
pub fn exports(
    manifests: &[PathBuf],
    salt: Option<&[u8]>,
) -> Result<Vec<(String, NodeFacts)>, KubeError> {
    let _ = (manifests, salt);
    Err(KubeError::Manifests("manifests: not built yet".into()))
}
