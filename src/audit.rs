//! Orchestration: host facts + profile + sources → expectations → findings, sorted.
//!
//! The one place that knows the order of things; it reads through `host/` and `apim/`, judges
//! through `rules/`, and returns data. It never prints.

use crate::apim::{self, ApimModel};
use crate::diag::{Checked, Finding};
use crate::host::detect::{self, Overrides};
use crate::host::{HostFacts, limits, sysctl};
use crate::model::SourceProblem;
use crate::outcome::{
    ApimSummary, AuditReport, ProfileSummary, Sources, SysctlKeyReport, SysctlLineReport,
};
use crate::profile::resolve::{self, Context};
use crate::profile::{self, Family, ProfileError};
use crate::rules::{self, RuleContext};
use crate::version::Version;
use std::path::PathBuf;

#[derive(Clone, Debug, Default)]
pub struct AuditOptions {
    pub root: PathBuf,
    pub apim_home: Option<PathBuf>,
    pub apim_version: Option<Version>,
    pub role: Option<String>,
    pub profile_file: Option<PathBuf>,
    pub overrides: Overrides,
    pub user: Option<String>,
    /// Waivers file (`--waivers`, or `apim-tune.waivers.toml` found by the CLI).
    pub waivers: Option<PathBuf>,
    /// A previous JSON report: only findings it does not have are kept.
    pub baseline: Option<PathBuf>,
    /// `--client-timeout`: the idle timeout of the clients or load balancer, in seconds.
    pub client_timeout_s: Option<u64>,
    /// The database server's `max_connections` (`--db-max-connections`), for the pool rules.
    pub db_max_connections: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("root `{0}` is not a directory")]
    Root(String),
    #[error("{0}")]
    ApimHome(String),
    #[error(transparent)]
    Waivers(#[from] crate::waivers::WaiverError),
    #[error(transparent)]
    Baseline(#[from] crate::baseline::BaselineError),
}

fn sysctl_report(sysctl: &sysctl::Sysctl) -> Vec<SysctlKeyReport> {
    let line = |l: &sysctl::SysctlLine| SysctlLineReport {
        file: l.file.display.clone(),
        line: l.line,
        value: l.value.clone(),
    };
    sysctl
        .entries
        .values()
        .map(|e| SysctlKeyReport {
            key: e.key.clone(),
            live: e.live.clone(),
            in_kernel: sysctl.kernel_has(&e.key),
            persisted: e.winner.as_ref().map(line),
            shadowed: e.shadowed.iter().map(line).collect(),
        })
        .collect()
}

pub fn run(opts: &AuditOptions) -> Result<AuditReport, AuditError> {
    run_with_sources(opts).map(|(report, _)| report)
}

/// Everything the audit decides before reading the tunable files: host facts, services, the
/// API-M home, the profile and its expectations for this host. `validate` starts from it too.
pub struct Prepared {
    pub facts: HostFacts,
    pub units: Vec<crate::host::systemd::Unit>,
    /// Those of `units` that run the audited home (all of them without a home).
    pub home_units: Vec<crate::host::systemd::Unit>,
    pub unit_problems: Vec<SourceProblem>,
    pub default_nofile: Option<crate::host::systemd::UnitSetting>,
    pub processes: Vec<crate::host::process::JvmProcess>,
    pub home: Option<apim::ApimHome>,
    pub profile: profile::Profile,
    pub role: String,
    /// The role the node itself declares (`server_role`, `-Dprofile`), when it does.
    pub node_role: Option<apim::role::NodeRole>,
    pub expectations: Vec<resolve::Expectation>,
    pub notes: Vec<String>,
}

pub fn prepare(opts: &AuditOptions) -> Result<Prepared, AuditError> {
    // Preparing only reads: the links met on the way are looked up once.
    crate::source::remembering(|| prepare_reading(opts))
}

fn prepare_reading(opts: &AuditOptions) -> Result<Prepared, AuditError> {
    if !opts.root.is_dir() {
        return Err(AuditError::Root(opts.root.display().to_string()));
    }
    let root = opts.root.as_path();
    let mut facts = detect::detect(root, &opts.overrides);
    let (units, unit_problems) = crate::host::systemd::find_apim_units(root);
    let default_nofile = crate::host::systemd::default_limit_nofile(root);
    let processes = crate::host::process::find_apim_processes(root);

    let mut notes = Vec::new();
    let home = match apim::locate(opts.apim_home.as_deref()) {
        Some((path, how)) => {
            Some(apim::detect(root, &path, how, opts.apim_version).map_err(AuditError::ApimHome)?)
        }
        None => {
            notes.push(
                "no API-M home given (--apim-home, $APIM_HOME, $CARBON_HOME): auditing the host alone"
                    .into(),
            );
            None
        }
    };

    // The units that run the audited home: only they say its role, cap its memory, set its
    // environment.
    let home_units: Vec<crate::host::systemd::Unit> = match &home {
        Some(h) => apim::role::units_of(root, h, &units)
            .into_iter()
            .cloned()
            .collect(),
        None => units.clone(),
    };
    // The JDK in effect is the one that runs this home: its units' JAVA_HOME, its running JVM;
    // another API-M on the host may run another JDK.
    let home_processes: Vec<crate::host::process::JvmProcess> = processes
        .iter()
        .filter(|p| match (&home, &p.carbon_home) {
            (Some(h), Some(c)) => h.is_carbon_home(root, c),
            (Some(_), None) => false,
            (None, _) => true,
        })
        .cloned()
        .collect();
    detect::java_in_effect(root, &mut facts, &home_units, &home_processes);
    // Memory in effect: the service's MemoryMax= and the cgroup it runs in (the container's, or
    // the unit's) cap what API-M gets below the host's RAM. An explicit --memory still wins.
    if opts.overrides.memory_mb.is_none() {
        let units: Vec<&crate::host::systemd::Unit> = home_units.iter().collect();
        if let Some((memory, note)) = crate::host::in_effect::memory(root, &facts, &units) {
            notes.push(note);
            facts.memory_mb = memory;
        }
    }
    // Unknown stays unknown: say which facts are, and how to give them.
    notes.extend(crate::host::in_effect::unknown_notes(
        &facts,
        home.is_some(),
    ));
    // The node's own role is the default `--role`; a `--role` that disagrees is judged (APM016).
    let node_role = home
        .as_ref()
        .and_then(|h| apim::role::detect(root, h, &home_units, &processes));
    let default_role = match (&opts.role, &opts.profile_file, &node_role) {
        (None, None, Some(n)) => {
            notes.push(format!(
                "role `{}` from {} (`{}`)",
                n.role, n.source, n.written
            ));
            Some(n.role.to_string())
        }
        _ => None,
    };
    let chosen = opts.role.clone().or(default_role);
    let profile = match &opts.profile_file {
        Some(path) => profile::load_file(path)?,
        None => profile::load_role(chosen.as_deref().unwrap_or("all-in-one"))?,
    };
    let role = chosen
        .or_else(|| {
            profile
                .chain
                .iter()
                .find(|n| profile::ROLES.contains(&n.as_str()))
                .cloned()
        })
        .unwrap_or_else(|| "all-in-one".into());

    let cx = Context {
        facts: &facts,
        role: &role,
        // Without a home, `--apim-version` still says which version's recommendations apply.
        apim_version: home
            .as_ref()
            .map(|h| h.effective_version)
            .or(opts.apim_version),
    };
    let expectations = resolve::resolve(&profile, &cx);
    Ok(Prepared {
        facts,
        units,
        home_units,
        unit_problems,
        default_nofile,
        processes,
        home,
        profile,
        role,
        node_role,
        expectations,
        notes,
    })
}

pub fn run_with_sources(opts: &AuditOptions) -> Result<(AuditReport, Sources), AuditError> {
    // The audit only reads (fixes are planned and written afterwards, by the caller): the links
    // met on the way are looked up once.
    crate::source::remembering(|| audit_reading(opts))
}

fn audit_reading(opts: &AuditOptions) -> Result<(AuditReport, Sources), AuditError> {
    let Prepared {
        facts,
        units,
        home_units,
        unit_problems,
        default_nofile,
        processes,
        home,
        profile,
        role,
        node_role,
        expectations,
        mut notes,
    } = prepare(opts)?;
    let root = opts.root.as_path();

    // Read what the profile and the rules need: the rules' declared inputs name the kernel
    // parameters they judge beyond the profile's.
    let mut keys: Vec<&str> = expectations
        .iter()
        .filter(|e| e.family == Family::Sysctl)
        .map(|e| e.key.as_str())
        .collect();
    keys.extend(rules::sysctl_keys());
    // What boot applies: without a 99-sysctl.conf link, /etc/sysctl.conf is not read at all, on
    // any distribution (SYS013 judges its lines).
    let sysctl = sysctl::read(root, &keys);
    let limits = limits::read(root);

    let apim_model = home.map(|h| ApimModel::load(root, h, facts.cores.value));
    // The API-M user: the one the home's unit or running JVM runs as (limits are written for it).
    let home_processes: Vec<&crate::host::process::JvmProcess> = processes
        .iter()
        .filter(|p| match (&apim_model, &p.carbon_home) {
            (Some(m), Some(c)) => m.home.is_carbon_home(root, c),
            (Some(_), None) => false,
            (None, _) => true,
        })
        .collect();
    let user = crate::host::in_effect::choose_user(
        root,
        opts.user.as_deref(),
        &limits,
        &home_units,
        &home_processes,
        apim_model.as_ref().map(|m| m.home.path.as_path()),
    );
    let problems: Vec<SourceProblem> = sysctl
        .problems
        .iter()
        .chain(&limits.problems)
        .chain(&unit_problems)
        .chain(apim_model.iter().flat_map(|m| &m.problems))
        .cloned()
        .collect();

    // What the next start of API-M gives: the script with the environment of the unit that
    // runs this home.
    let jvm_in_effect = apim_model
        .as_ref()
        .and_then(|m| m.jvm.as_ref())
        .map(|script| apim::jvm_effect::JvmInEffect::compute(script, home_units.first()));
    let sysctl_drop_in = format!("etc/sysctl.d/{}", sysctl::drop_in_name(root));
    let limits_drop_in = format!("etc/security/limits.d/{}", limits::drop_in_name(root));
    let kernel_memory = crate::host::thp::read(root);
    let rcx = RuleContext {
        root,
        facts: &facts,
        sysctl: &sysctl,
        limits: &limits,
        user: &user,
        apim: apim_model.as_ref(),
        role: &role,
        node_role: node_role.as_ref(),
        expectations: &expectations,
        sysctl_drop_in: &sysctl_drop_in,
        limits_drop_in: &limits_drop_in,
        units: &units,
        home_units: &home_units,
        default_nofile: default_nofile.as_ref(),
        processes: &processes,
        jvm_in_effect: jvm_in_effect.as_ref(),
        problems: &problems,
        client_timeout_ms: opts.client_timeout_s.map(|s| s.saturating_mul(1000)),
        db_max_connections: opts.db_max_connections,
        memory: &kernel_memory,
    };
    let mut findings = Vec::new();
    let mut subjects = Vec::new();
    rules::run_node(&rcx, &mut findings, &mut subjects);
    // Waivers first: whether a waiver is used is decided on every finding, before the baseline
    // hides the known ones.
    if let Some(path) = &opts.waivers {
        let waivers = crate::waivers::load(path)?;
        // A waiver with `hosts` applies when this host is one of them.
        let host = crate::host::detect::hostname(root).map(|(name, _)| name);
        let scope = crate::waivers::Scope {
            host: host.as_deref(),
            roles: &[],
        };
        let extra =
            crate::waivers::apply_on(&waivers, &mut findings, &crate::clock::today(), &scope);
        findings.extend(extra);
    }
    if let Some(path) = &opts.baseline {
        let known = crate::baseline::load(path)?;
        let dropped = crate::baseline::filter(&known, &mut findings);
        notes.push(format!(
            "baseline {}: {dropped} known finding(s) not shown",
            path.display()
        ));
    }
    rules::container::sysctl_in_container(root, &facts, &mut findings);
    // The key is built once per finding (it formats the subject), not once per comparison;
    // the sort is stable either way.
    findings.sort_by_cached_key(Finding::sort_key);
    subjects.extend(findings.iter().map(|f| f.subject.clone()));
    let mut checked: Vec<Checked> = subjects.into_iter().map(Checked::of).collect();
    checked.sort();
    checked.dedup();

    let apim = apim_model.as_ref().map(|m| ApimSummary {
        home: m.home.path.display().to_string(),
        chosen_by: m.home.chosen_by.clone(),
        version: m.home.version.map(|v| v.to_string()),
        version_source: m.home.version_source.clone(),
        assumed_version: m.home.effective_version.to_string(),
        layout: m.home.layout.as_str(),
    });
    // The reader's view of the stored names: from where the command was run.
    let paths = crate::model::ShownPaths::for_root(
        root,
        std::env::current_dir().ok().as_deref(),
        apim_model
            .as_ref()
            .map(|m| crate::model::display_path(root, &m.home.path))
            .as_deref(),
    )
    .given(
        [&opts.waivers, &opts.baseline, &opts.profile_file]
            .into_iter()
            .flatten()
            .map(|p| p.to_string_lossy().into_owned()),
    );
    let report = AuditReport {
        paths,
        facts,
        apim,
        user,
        profile: ProfileSummary {
            chain: profile.chain.clone(),
            role,
            checks: expectations.len(),
        },
        findings,
        checked,
        sysctl: sysctl_report(&sysctl),
        notes,
    };
    Ok((
        report,
        Sources {
            sysctl,
            limits,
            apim: apim_model,
            home_units: home_units.iter().map(|u| u.name.clone()).collect(),
        },
    ))
}

/// Judges what `db audit` gathered: the DBG rules' findings and checks, sorted as the audit's.
pub fn judge_db(report: &mut crate::db::model::DbAuditReport) {
    let judged = rules::run_db(&report.facts);
    report.findings = judged.findings;
    report.findings.sort_by_key(Finding::sort_key);
    report.checked = judged.checked;
}
