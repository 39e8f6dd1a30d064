//! `apim-tune facts`: print (or write) this node's `apim-tune/facts/v1` export.

use super::args::FactsArgs;
use super::options::canonical;
use crate::audit::AuditOptions;
use crate::facts::{FactsOptions, collect};
use anyhow::Context as _;

/// The environment variable holding the fleet's fingerprint salt (the same on every node of one
/// run, kept by whoever runs the merge).
pub const SALT_VAR: &str = "APIM_TUNE_FLEET_SALT";

pub fn run(a: &FactsArgs) -> anyhow::Result<u8> {
    let salt = std::env::var_os(SALT_VAR).map(|s| s.into_encoded_bytes());
    if !a.manifests.is_empty() {
        return manifests(a, salt.as_deref());
    }
    // A role or profile says how ONE home runs; with two homes each declares its own.
    if a.apim_home.len() > 1 && (a.role.is_some() || a.profile.is_some()) {
        anyhow::bail!(
            "--role and --profile apply to one home; with several --apim-home each home's own role is used"
        );
    }
    let opts = FactsOptions {
        audit: AuditOptions {
            root: canonical(&a.root),
            apim_version: a.apim_version,
            role: a.role.clone(),
            profile_file: a.profile.clone(),
            overrides: super::options::overrides(&a.host),
            user: a.user.clone(),
            ..AuditOptions::default()
        },
        homes: a.apim_home.iter().map(|h| canonical(h)).collect(),
        salt,
    };
    let facts = collect(&opts)?;
    let mut text = serde_json::to_string_pretty(&facts)?;
    text.push('\n');
    match &a.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?,
        None => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(0)
}

/// `-f`: one export per workload of the manifests, each written to `--output DIR/WORKLOAD.json`.
fn manifests(a: &FactsArgs, salt: Option<&[u8]>) -> anyhow::Result<u8> {
    let Some(dir) = &a.output else {
        anyhow::bail!("-f/--manifests writes one file per workload: give --output DIR");
    };
    let exports = crate::kube::exports(&a.manifests, salt)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    for (name, facts) in exports {
        // A workload name is a DNS label; anything else would not stay inside DIR.
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            anyhow::bail!("workload name `{name}` cannot be a file name");
        }
        let path = dir.join(format!("{name}.json"));
        let mut text = serde_json::to_string_pretty(&facts)?;
        text.push('\n');
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(0)
}
