//! clap definitions: pure parsing, no side effects.

use crate::host::detect::parse_memory_size;
use crate::version::Version;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0  nothing at or above --fail-on was found (always 0 with --fail-on never);
     with --diff: nothing to change
  1  findings at or above --fail-on (after --apply: what remains); with --diff: changes
  2  apim-tune itself failed: bad arguments, missing root, invalid profile, nothing written
  3  --apply or rollback failed while writing and restored every file it had written";

#[derive(Debug, Parser)]
#[command(
    name = "apim-tune",
    version,
    about = "Audit a host and a WSO2 API Manager installation against tuning profiles",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the host and the API-M home, compare with the profile, report what is mistuned.
    #[command(after_help = EXIT_CODES)]
    Audit(AuditArgs),
    /// Restore the files of the last (or a named) `--apply` byte for byte.
    #[command(after_help = EXIT_CODES)]
    Rollback(RollbackArgs),
    /// List the backups `--apply` made.
    Backups(BackupsArgs),
    /// Print the host facts the audit uses, each with where it came from.
    Host(HostArgs),
    /// List every finding code with its name, severity and one line.
    Rules,
    /// Print the documentation of a finding code (e.g. `apim-tune explain SYS010`).
    Explain {
        /// The code (`SYS010`) or its name (`tcp-tw-recycle-enabled`).
        code: String,
    },
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The root the apply was made under.
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    /// Where the backups are (default: var/backups/apim-tune under the root).
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// The backup to restore (default: the newest); see `apim-tune backups`.
    #[arg(long, value_name = "ID")]
    pub to: Option<String>,
    /// Restore even files changed since the apply (their current content is lost).
    #[arg(long)]
    pub force: bool,
    /// The API-M home, when it is outside the root (files there may be restored).
    #[arg(long, value_name = "DIR")]
    pub apim_home: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HostFormat {
    Text,
    Json,
    /// Kubernetes securityContext.sysctls and docker --sysctl for the namespaced recommendations.
    K8s,
}

#[derive(Debug, Args)]
pub struct HostArgs {
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    #[arg(long, value_enum, default_value_t = HostFormat::Text)]
    pub format: HostFormat,
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub cores: Option<u32>,
    #[arg(long, value_name = "SIZE", value_parser = parse_memory_size)]
    pub memory: Option<u64>,
    #[arg(long, value_enum, default_value_t = NatChoice::Auto)]
    pub nat: NatChoice,
    #[arg(long, value_name = "N")]
    pub java_version: Option<u32>,
    #[arg(long, value_name = "DIR")]
    pub java_home: Option<PathBuf>,
    /// Role whose recommended kernel parameters `--format k8s` prints.
    #[arg(long, default_value = "all-in-one", value_parser = ["all-in-one", "gateway", "key-manager", "control-plane", "traffic-manager"])]
    pub role: String,
}

#[derive(Debug, Args)]
pub struct BackupsArgs {
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NatChoice {
    Auto,
    Yes,
    No,
}

impl From<NatChoice> for crate::host::detect::NatArg {
    fn from(c: NatChoice) -> Self {
        match c {
            NatChoice::Auto => Self::Auto,
            NatChoice::Yes => Self::Yes,
            NatChoice::No => Self::No,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Junit,
    Markdown,
}

/// `--output FORMAT=FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    pub format: Format,
    pub path: PathBuf,
}

fn parse_output(s: &str) -> Result<OutputSpec, String> {
    let (format, path) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not FORMAT=FILE (e.g. sarif=apim.sarif)"))?;
    let format = Format::from_str(format, true)
        .map_err(|_| format!("`{format}` is not a format (text, json, sarif, junit, markdown)"))?;
    if path.is_empty() {
        return Err(format!("`{s}` names no file"));
    }
    Ok(OutputSpec {
        format,
        path: PathBuf::from(path),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Read host files under this directory instead of / (a mounted image, a fake root).
    #[arg(long, default_value = "/", value_name = "DIR", help_heading = "Host")]
    pub root: PathBuf,
    /// Core count to tune for (default: detected, cgroup-aware).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Host")]
    pub cores: Option<u32>,
    /// Memory to tune for, e.g. 16G or 4096M (default: detected).
    #[arg(long, value_name = "SIZE", value_parser = parse_memory_size, help_heading = "Host")]
    pub memory: Option<u64>,
    /// Whether clients reach this host through NAT.
    #[arg(long, value_enum, default_value_t = NatChoice::Auto, help_heading = "Host")]
    pub nat: NatChoice,
    /// JDK feature release that runs API-M (default: from $JAVA_HOME/release).
    #[arg(long, value_name = "N", help_heading = "Host")]
    pub java_version: Option<u32>,
    /// JDK home to read `release` from (default: $JAVA_HOME).
    #[arg(long, value_name = "DIR", help_heading = "Host")]
    pub java_home: Option<PathBuf>,
    /// User API-M runs as, for limits (default: detected from the limits files or the home).
    #[arg(long, value_name = "NAME", help_heading = "Host")]
    pub user: Option<String>,

    /// API-M home (default: $APIM_HOME, else $CARBON_HOME; none audits the host alone).
    #[arg(long, value_name = "DIR", help_heading = "API-M")]
    pub apim_home: Option<PathBuf>,
    /// API-M version, when it cannot be detected (e.g. 4.2.0).
    #[arg(long, value_name = "X.Y.Z", value_parser = parse_version, help_heading = "API-M")]
    pub apim_version: Option<Version>,

    /// Node role, selects the shipped profile of that name.
    #[arg(long, value_parser = ["all-in-one", "gateway", "key-manager", "control-plane", "traffic-manager"], help_heading = "Profile")]
    pub role: Option<String>,
    /// A profile file (TOML) to use instead of the shipped one; it may `extends` a shipped one.
    #[arg(long, value_name = "FILE", help_heading = "Profile")]
    pub profile: Option<PathBuf>,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = "Output")]
    pub format: Format,
    /// Also write a report to a file, as FORMAT=FILE (repeatable), e.g. --output sarif=apim.sarif.
    #[arg(long, value_name = "FORMAT=FILE", value_parser = parse_output, help_heading = "Output")]
    pub output: Vec<OutputSpec>,
    /// Accepted deviations (default: apim-tune.waivers.toml in the current directory, if any).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub waivers: Option<PathBuf>,
    /// A previous JSON report: show and count only findings that are new since it.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub baseline: Option<PathBuf>,
    /// Colour the text output (auto: on a terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, help_heading = "Output")]
    pub color: ColorChoice,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Warning, help_heading = "Output")]
    pub fail_on: FailOn,

    /// Print a unified diff of what --apply would change (exit 1 when there is a change).
    #[arg(long, conflicts_with = "apply", help_heading = "Changes")]
    pub diff: bool,
    /// Apply the fixable findings: backups, atomic writes, then re-audit.
    #[arg(long, help_heading = "Changes")]
    pub apply: bool,
    /// Apply without asking (required when not on a terminal).
    #[arg(long, requires = "apply", help_heading = "Changes")]
    pub yes: bool,
    /// Also write kernel parameters to the running kernel (/proc/sys); only without --root, as root.
    #[arg(long, requires = "apply", help_heading = "Changes")]
    pub live: bool,
    /// Where --apply keeps backups (default: var/backups/apim-tune under the root).
    #[arg(long, value_name = "DIR", help_heading = "Changes")]
    pub backup_dir: Option<PathBuf>,
}

fn parse_version(s: &str) -> Result<Version, String> {
    let ok = !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    Version::parse_prefix(s)
        .filter(|_| ok)
        .ok_or_else(|| format!("`{s}` is not a version like 4.2.0"))
}
