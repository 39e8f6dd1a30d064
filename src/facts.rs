//! `apim-tune facts`: one node's effective values as an `apim-tune/facts/v1` export
//! ([`crate::fleet::facts`]), built from the same reads and the same audit as `apim-tune audit`.
//!
//! Each home is one audit (`audit::prepare` + `audit::run_with_sources`, its `apim_home` set);
//! the host part comes from the first of them, since every home of one root shares the host.
//! Nothing here judges: the values are what the audit read, and the merge compares them.

mod fingerprint;
mod home;
pub mod url;

use crate::audit::{self, AuditOptions};
use crate::fleet::facts::{HostPart, LimitFact, NodeFacts, SCHEMA, Sourced, SysctlFact};
use crate::host::systemd::{Unit, UnitSetting};
use crate::outcome::{AuditReport, Sources};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// One home's audit and what it read, kept together so the export is built from one reading.
struct Audited {
    report: AuditReport,
    sources: Sources,
    prepared: audit::Prepared,
}

fn audit_one(base: &AuditOptions, home: Option<&Path>) -> Result<Audited, FactsError> {
    let mut opts = base.clone();
    if let Some(h) = home {
        opts.apim_home = Some(h.to_path_buf());
    }
    // `prepare` is what `run_with_sources` starts with; it is called on its own for what the
    // report does not carry (the role the node declares, the units that run the home).
    let prepared = audit::prepare(&opts)?;
    let (report, sources) = audit::run_with_sources(&opts)?;
    Ok(Audited {
        report,
        sources,
        prepared,
    })
}

/// Builds the export of one node.
pub fn collect(opts: &FactsOptions) -> Result<NodeFacts, FactsError> {
    let mut audits = Vec::new();
    if opts.homes.is_empty() {
        audits.push(audit_one(&opts.audit, opts.audit.apim_home.as_deref())?);
    } else {
        for h in &opts.homes {
            audits.push(audit_one(&opts.audit, Some(h))?);
        }
    }
    let salt = opts
        .salt
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(fingerprint::Salt::new);
    let mut notes = Vec::new();
    match (&opts.salt, &salt) {
        (Some(_), None) => notes.push(
            "APIM_TUNE_FLEET_SALT is empty: no fingerprints (the merge cannot compare keystores and secrets)"
                .to_string(),
        ),
        (None, _) => notes.push(
            "no APIM_TUNE_FLEET_SALT: no fingerprints (the merge cannot compare keystores and secrets)"
                .to_string(),
        ),
        _ => {}
    }
    let root = opts.audit.root.as_path();
    // The home's path as the node sees it (`/opt/wso2am-4.2.0`), not where the root was mounted
    // on the machine that made the export: the embedded report must not depend on that.
    if root != Path::new("/") {
        for a in &mut audits {
            if let Some(apim) = a.report.apim.as_mut()
                && let Ok(inside) = Path::new(&apim.home).strip_prefix(root)
            {
                apim.home = format!("/{}", inside.display());
            }
        }
    }
    let first = &audits[0];
    let host = host_part(root, first, &mut notes);
    let homes = audits
        .iter()
        .filter_map(|a| {
            a.sources
                .apim
                .as_ref()
                .map(|m| home::home_part(root, m, a, salt.as_ref()))
        })
        .collect();
    Ok(NodeFacts {
        schema: SCHEMA.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        host,
        homes,
        fingerprinted: salt.is_some(),
        notes,
    })
}

fn host_part(root: &Path, a: &Audited, notes: &mut Vec<String>) -> HostPart {
    let f = &a.report.facts;
    let hostname = hostname(root);
    if hostname.value.is_none() {
        notes.push(format!(
            "hostname unknown ({}): the merge matches this export by address or file name",
            hostname.source
        ));
    }
    HostPart {
        hostname,
        addresses: crate::host::nat::own_addresses(root),
        nat: Sourced::known(f.nat.value.as_str().to_string(), f.nat.source.clone()),
        // Zero is how the detection says "not found": unknown, not a machine without cores.
        cores: known_nonzero(f.cores.value, &f.cores.source),
        memory_mb: known_nonzero(f.memory_mb.value, &f.memory_mb.source),
        kernel: match &f.kernel {
            Some(k) => Sourced::known(k.value.clone(), k.source.clone()),
            None => Sourced::unknown("proc/sys/kernel/osrelease not readable"),
        },
        jdk: match &f.java {
            Some(j) => Sourced::known(j.value, j.source.clone()),
            None => Sourced::unknown("no JAVA_HOME of a unit or running JVM, no --java-version"),
        },
        distro: match &f.distro {
            Some(d) => Sourced::known(
                match &d.version_id {
                    Some(v) => format!("{} {v}", d.id),
                    None => d.id.clone(),
                },
                d.source.clone(),
            ),
            None => Sourced::unknown("no etc/os-release or usr/lib/os-release"),
        },
        container: f.container.is_some(),
        sysctl: a
            .sources
            .sysctl
            .entries
            .values()
            .map(|e| {
                (
                    e.key.clone(),
                    SysctlFact {
                        live: e.live.clone(),
                        boot: e.winner.as_ref().map(|w| w.value.clone()),
                        boot_source: e
                            .winner
                            .as_ref()
                            .map(|w| format!("{}:{}", w.file.display, w.line)),
                    },
                )
            })
            .collect(),
        limits: limits(a),
        kubernetes: None,
    }
}

fn known_nonzero<T: Default + PartialEq + Copy>(v: T, source: &str) -> Sourced<T> {
    if v == T::default() {
        Sourced::unknown(source)
    } else {
        Sourced::known(v, source)
    }
}

/// See [`crate::host::detect::hostname`].
fn hostname(root: &Path) -> Sourced<String> {
    match crate::host::detect::hostname(root) {
        Some((name, rel)) => Sourced::known(name, rel),
        None => {
            Sourced::unknown("neither proc/sys/kernel/hostname nor etc/hostname under the root")
        }
    }
}

/// `nofile` and `nproc` for the API-M user: a service gets its unit's `Limit*=` (pam_limits
/// does not apply to services), a login session what limits.conf gives.
fn limits(a: &Audited) -> BTreeMap<String, LimitFact> {
    let user = &a.report.user;
    let unit: Option<&Unit> = a.prepared.home_units.first();
    let mut out = BTreeMap::new();
    for item in ["nofile", "nproc"] {
        let from_unit: Option<&UnitSetting> = unit.and_then(|u| match item {
            "nofile" => u.limit_nofile.as_ref(),
            _ => u.limit_nproc.as_ref(),
        });
        let fact = match from_unit
            .and_then(|s| crate::host::systemd::parse_limit(&s.value).map(|v| (s, v)))
        {
            Some((s, (soft, hard))) => LimitFact {
                soft: Some(soft.to_string()),
                hard: Some(hard.to_string()),
                user: Some(user.name.clone()),
                source: s.location.to_string(),
            },
            None => {
                let eff = a.sources.limits.effective(&user.name, &user.groups, item);
                let source = match (eff.soft, eff.hard) {
                    (Some(s), _) | (None, Some(s)) => s.location().to_string(),
                    (None, None) => "no limits.conf line applies".to_string(),
                };
                LimitFact {
                    soft: eff.soft.map(|l| l.value.to_string()),
                    hard: eff.hard.map(|l| l.value.to_string()),
                    user: Some(user.name.clone()),
                    source,
                }
            }
        };
        out.insert(item.to_string(), fact);
    }
    out
}
