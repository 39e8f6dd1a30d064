//! `apim-tune facts`: print (or write) this node's `apim-tune/facts/v1` export.

use super::args::FactsArgs;

pub fn run(a: &FactsArgs) -> anyhow::Result<u8> {
    let _ = a;
    anyhow::bail!("facts: not built yet")
}
