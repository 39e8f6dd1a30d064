//! The role a node plays, as the node itself says: the running JVM's `-Dprofile=`, else the
//! `-Dprofile=` on the unit's `ExecStart=`, else `server_role` in deployment.toml (4.x).
//!
//! Reads only; `audit` makes it the default `--role` and `rules/` reports a `--role` that
//! disagrees. A name this does not know stays unknown (no role is guessed).

use crate::apim::{ApimHome, Layout, deployment_toml};
use crate::host::process::JvmProcess;
use crate::host::systemd::Unit;
use crate::model::Location;
use crate::source::{Read, read_path};
use std::path::Path;

/// The node's own role, how it was written, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRole {
    /// apim-tune's role name (`gateway`, `control-plane`, …).
    pub role: &'static str,
    /// As the node writes it (`gateway-worker`, `api-key-manager-deprecated`).
    pub written: String,
    /// `server_role` in deployment.toml, `-Dprofile` on a unit or a running JVM.
    pub source: String,
    pub at: Option<Location>,
}

/// apim-tune's role for a WSO2 profile or `server_role` name: the 4.x `server_role` values
/// (infer.json) and the `-Dprofile` names of 2.x-4.x.
pub fn role_of(name: &str) -> Option<&'static str> {
    Some(match name.trim() {
        "default" => "all-in-one",
        "gateway-worker" | "gateway-manager" => "gateway",
        // 3.x's publisher and developer portal are what 4.x calls the control plane.
        "control-plane" | "api-publisher" | "api-devportal" | "api-store" => "control-plane",
        "traffic-manager" => "traffic-manager",
        "api-key-manager" | "api-key-manager-deprecated" => "key-manager",
        _ => return None,
    })
}

/// The units that run this home: those whose `ExecStart=` names the home's path (as seen inside
/// the root); when none does, the only API-M unit there is, if there is exactly one.
pub fn units_of<'a>(root: &Path, home: &ApimHome, units: &'a [Unit]) -> Vec<&'a Unit> {
    let inside = format!(
        "/{}",
        crate::model::display_path(root, &home.path).trim_start_matches('/')
    );
    let naming: Vec<&Unit> = units
        .iter()
        .filter(|u| {
            u.exec_start.as_ref().is_some_and(|s| {
                s.value.split_whitespace().any(|w| {
                    w.trim_matches(['"', '\''])
                        .starts_with(&format!("{inside}/"))
                })
            })
        })
        .collect();
    match (naming.is_empty(), units) {
        (false, _) => naming,
        (true, [only]) => vec![only],
        (true, _) => Vec::new(),
    }
}

/// The role the node declares, the most authoritative source first. `units` are the home's own
/// ([`units_of`]).
pub fn detect(
    root: &Path,
    home: &ApimHome,
    units: &[Unit],
    processes: &[JvmProcess],
) -> Option<NodeRole> {
    for p in processes {
        if p.carbon_home
            .as_deref()
            .is_some_and(|h| home.is_carbon_home(root, h))
            && let Some(written) = &p.profile
        {
            // A name this does not know stays unknown: a weaker source must not replace it.
            let role = role_of(written)?;
            return Some(NodeRole {
                role,
                written: written.clone(),
                source: format!("-Dprofile of the running JVM ({})", p.source),
                at: Some(Location::file_only(&format!("{}/cmdline", p.source))),
            });
        }
    }
    for u in units {
        let Some(exec) = &u.exec_start else { continue };
        let Some(written) = profile_arg(&exec.value) else {
            continue;
        };
        let role = role_of(&written)?;
        return Some(NodeRole {
            role,
            written,
            source: format!("-Dprofile in {}'s ExecStart", u.name),
            at: Some(exec.location.clone()),
        });
    }
    if home.layout != Layout::Toml {
        return None;
    }
    let path = home.path.join("repository/conf/deployment.toml");
    let Read::File(file) = read_path(root, &path) else {
        return None;
    };
    let doc = deployment_toml::parse(file).ok()?;
    let entry = doc.get("server.server_role")?;
    let role = role_of(&entry.value)?;
    Some(NodeRole {
        role,
        written: entry.value.clone(),
        source: "server_role in deployment.toml".into(),
        at: Some(doc.file.location(entry.value_span)),
    })
}

/// The value of the last `-Dprofile=` word of a command line.
fn profile_arg(command: &str) -> Option<String> {
    command
        .split_whitespace()
        .rev()
        .find_map(|w| w.trim_matches(['"', '\'']).strip_prefix("-Dprofile="))
        .map(|v| v.trim_matches(['"', '\'']).to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_command_lines() {
        assert_eq!(role_of("gateway-worker"), Some("gateway"));
        assert_eq!(role_of("api-key-manager-deprecated"), Some("key-manager"));
        assert_eq!(role_of("default"), Some("all-in-one"));
        assert_eq!(role_of("api-publisher"), Some("control-plane"));
        assert_eq!(role_of("api-something"), None);
        assert_eq!(
            profile_arg("/opt/wso2am-4.2.0/bin/api-manager.sh -Dprofile=control-plane start")
                .as_deref(),
            Some("control-plane")
        );
        assert_eq!(profile_arg("x -Dprofile= y"), None);
        assert_eq!(
            profile_arg("x \"-Dprofile=gateway-worker\""),
            Some("gateway-worker".into())
        );
    }
}
