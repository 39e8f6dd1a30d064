//! `apim-tune fleet merge`: node exports + inventory → deployment-wide findings.

use super::args::{FleetMergeArgs, Format};
use super::output::{exit_for, set_color, threshold};
use crate::deployment::{self, MergeOptions};
use crate::report::{self, FleetFormat, RenderOptions};
use anyhow::Context as _;
use std::io::Write as _;

/// The salt of the exports' fingerprints (the same one `apim-tune facts` used), for the
/// workloads of `-f`; never printed.
const SALT_VAR: &str = "APIM_TUNE_FLEET_SALT";

pub fn merge(a: &FleetMergeArgs) -> anyhow::Result<u8> {
    set_color(a.color);
    let opts = MergeOptions {
        exports: a.exports.clone(),
        inventory: a.inventory.clone(),
        manifests: a.manifests.clone(),
        db_max_connections: a.db_max_connections,
        waivers: a.waivers.clone(),
        salt: std::env::var_os(SALT_VAR)
            .filter(|s| !s.is_empty())
            .map(|s| s.as_encoded_bytes().to_vec()),
        today: crate::clock::today(),
    };
    let report = deployment::run(&opts)?;
    let ro = RenderOptions {
        fail_on: threshold(a.fail_on),
        diff: None,
        concise: a.concise,
    };
    for o in &a.output {
        let mut file = std::fs::File::create(&o.path)
            .with_context(|| format!("cannot write `{}`", o.path.display()))?;
        report::fleet_write(kind_of(o.format), &report, &ro, &mut file)
            .with_context(|| format!("cannot write `{}`", o.path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    report::fleet_write(kind_of(a.format), &report, &ro, &mut out)?;
    out.flush()?;
    // The deployment's findings and every node's own count, as in a node's audit.
    Ok(exit_for(&report, a.fail_on))
}

fn kind_of(format: Format) -> FleetFormat {
    match format {
        Format::Text => FleetFormat::Text,
        Format::Json => FleetFormat::Json,
        Format::Sarif => FleetFormat::Sarif,
        Format::Junit => FleetFormat::Junit,
        Format::Markdown => FleetFormat::Markdown,
        Format::Html => FleetFormat::Html,
    }
}
