//! The audit's options from the command line: root, home, profile, host overrides, waivers.

use super::args::{AuditArgs, HostOverrideArgs, TargetArgs};
use crate::audit::AuditOptions;
use crate::host::detect::Overrides;

/// A path made absolute and free of links when it exists, so every path the audit prints
/// relates to `--root` the same way however the two were spelled.
///
/// Not through `/proc/PID/root`: that link reads as `/` for a process in another mount
/// namespace (a container), so resolving it would audit this machine instead of the container.
/// Up to and including `/proc/PID/root` the path is kept as given; after it, links are resolved
/// inside that root, as the container itself would resolve them.
pub(super) fn canonical(p: &std::path::Path) -> std::path::PathBuf {
    let absolute = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    match crate::source::proc_root_split(&absolute) {
        Some((proc_root, rest)) => {
            crate::source::resolve_in_root(&proc_root, &rest).unwrap_or(absolute)
        }
        None => p.canonicalize().unwrap_or_else(|_| p.to_path_buf()),
    }
}

pub(super) fn options(a: &AuditArgs) -> AuditOptions {
    AuditOptions {
        waivers: a.waivers.clone().or_else(|| {
            let default = std::path::PathBuf::from(crate::waivers::DEFAULT_FILE);
            default.is_file().then_some(default)
        }),
        baseline: a.baseline.clone(),
        client_timeout_s: a.client_timeout,
        ..target_options(&a.target)
    }
}

/// The audit options of the host, home and profile flags (no waivers, no baseline).
pub(super) fn target_options(a: &TargetArgs) -> AuditOptions {
    AuditOptions {
        root: canonical(&a.root),
        apim_home: a.apim_home.as_deref().map(canonical),
        apim_version: a.apim_version,
        role: a.role.clone(),
        profile_file: a.profile.clone(),
        overrides: overrides(&a.host),
        user: a.user.clone(),
        waivers: None,
        baseline: None,
        client_timeout_s: None,
        db_max_connections: a.db_max_connections,
    }
}

/// The host facts given on the command line, as the detector takes them.
pub(super) fn overrides(a: &HostOverrideArgs) -> Overrides {
    Overrides {
        cores: a.cores,
        memory_mb: a.memory,
        nat: Some(a.nat.into()),
        java_version: a.java_version,
        java_home: a.java_home.clone(),
        kernel: a.kernel.clone(),
    }
}
