//! `apim-tune fleet merge`: node exports + inventory → deployment-wide findings.

use super::args::FleetMergeArgs;

pub fn merge(a: &FleetMergeArgs) -> anyhow::Result<u8> {
    let _ = a;
    anyhow::bail!("fleet merge: not built yet")
}
