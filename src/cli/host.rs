//! `apim-tune host`: detect the facts, the API-M systemd units and JVMs, and print them.

use super::args::{HostArgs, HostFormat};
use crate::exit_code;
use crate::host::detect;
use crate::host::{process, systemd};
use crate::profile::resolve::{self, Check, Context};
use crate::profile::{self, Family};
use crate::report::host::{self as render, HostView};
use std::io::Write;

pub fn run(a: &HostArgs) -> anyhow::Result<u8> {
    let root = super::options::canonical(&a.root);
    if !root.is_dir() {
        anyhow::bail!("root `{}` is not a directory", root.display());
    }
    let ov = super::options::overrides(&a.host);
    let mut facts = detect::detect(&root, &ov);
    let (units, _problems) = systemd::find_apim_units(&root);
    let default_nofile = systemd::default_limit_nofile(&root);
    let processes = process::find_apim_processes(&root);
    detect::java_in_effect(&root, &mut facts, &units, &processes);
    // What the API-M service gets: its units' MemoryMax= and cgroup cap the host's RAM, as in
    // the audit (which narrows them to the audited home's units).
    let mut notes = Vec::new();
    if ov.memory_mb.is_none() {
        let apim_units: Vec<&systemd::Unit> = units.iter().collect();
        if let Some((memory, note)) = crate::host::in_effect::memory(&root, &facts, &apim_units) {
            notes.push(note);
            facts.memory_mb = memory;
        }
    }
    notes.extend(crate::host::in_effect::unknown_notes(&facts, false));
    let profile = profile::load_role(&a.role)?;
    let cx = Context {
        facts: &facts,
        role: &a.role,
        apim_version: None,
    };
    let expectations: Vec<_> = resolve::resolve(&profile, &cx)
        .into_iter()
        .filter(|e| e.family == Family::Sysctl)
        // The operator's choices (`manual-fix`) are not written for them here either.
        .filter(|e| e.manual_fix.is_none())
        .collect();
    let keys: Vec<&str> = expectations.iter().map(|e| e.key.as_str()).collect();
    let live = crate::host::sysctl::read(&root, &keys);
    let sysctls = expectations
        .iter()
        .filter_map(|e| {
            let v = match &e.check {
                // A list (tcp_rmem) is raised element by element over the live value, never
                // lowering one the kernel sets higher; with the live value unknown it is left out.
                Check::Range {
                    min: Some(crate::profile::resolve::Val::List(_)),
                    ..
                } => {
                    let now = live.get(&e.key).and_then(|x| x.live.clone())?;
                    crate::rules::compare::target_value_keeping(
                        &e.check,
                        crate::rules::compare::Outcome::Below,
                        &[now.as_str()],
                    )?
                }
                Check::Range { min: Some(v), .. } | Check::Eq(v) => v.to_string(),
                Check::Range { max: Some(v), .. } => v.to_string(),
                _ => return None,
            };
            Some((e.key.clone(), v))
        })
        .collect();
    let view = HostView {
        facts: &facts,
        units: &units,
        default_nofile: default_nofile.as_ref(),
        processes: &processes,
        sysctls,
        notes,
        paths: crate::model::ShownPaths::for_root(
            &root,
            std::env::current_dir().ok().as_deref(),
            None,
        ),
    };
    let text = match a.format {
        HostFormat::Text => render::text(&view),
        HostFormat::Json => render::json(&view),
        HostFormat::K8s => render::k8s(&view),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(exit_code::OK)
}
