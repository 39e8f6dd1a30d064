//! clap definitions: pure parsing, no side effects.

use crate::exit_code;
use crate::host::detect::parse_memory_size;
use crate::version::Version;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "apim-tune",
    version,
    about = "Audit a host and a WSO2 API Manager installation against tuning profiles",
    after_help = exit_code::help(exit_code::TOOL)
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the host and the API-M home, compare with the profile, report what is mistuned.
    #[command(after_help = exit_code::help(exit_code::AUDIT))]
    Audit(AuditArgs),
    /// Restore the files of the last (or a named) `--apply` byte for byte.
    #[command(after_help = exit_code::help(exit_code::ROLLBACK))]
    Rollback(RollbackArgs),
    /// List the backups `--apply` made.
    Backups(BackupsArgs),
    /// Print the host facts the audit uses, each with where it came from.
    Host(HostArgs),
    /// List every finding code with its name, severity and one line.
    Rules(RulesArgs),
    /// Print the documentation of a finding code (e.g. `apim-tune explain SYS010`).
    Explain(ExplainArgs),
    /// Run the embedded gateway, key manager and backend on loopback with a home's settings.
    Gateway(GatewayArgs),
    /// Run the current and the proposed settings under the same bounded load, side by side.
    #[command(after_help = exit_code::help(exit_code::VALIDATE))]
    Validate(ValidateArgs),
    /// Run the embedded backend alone (to measure another proxy in front of it).
    Backend(BackendArgs),
    /// Send a bounded keep-alive HTTP/1.1 load to a loopback URL; print throughput and latency.
    Load(LoadArgs),
    /// The API-M database: growth audit, batched deep-clean, backup and restore, schedules.
    Db(DbArgs),
    /// Export this node's effective values (host, each API-M home) as JSON, for `fleet merge`.
    Facts(FactsArgs),
    /// A deployment of many nodes: merge the nodes' facts exports and judge across nodes.
    Fleet(FleetArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell) on stdout.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Write a man page for apim-tune and each of its subcommands.
    Man(ManArgs),
}

/// Where each shell looks for a completion script: a user rarely knows, and a wrong place fails
/// silently.
const COMPLETIONS_HELP: &str = "\
Install:
  bash        apim-tune completions bash > ~/.local/share/bash-completion/completions/apim-tune
  zsh         apim-tune completions zsh > ~/.zfunc/_apim-tune   (with fpath+=~/.zfunc before compinit)
  fish        apim-tune completions fish > ~/.config/fish/completions/apim-tune.fish
  powershell  apim-tune completions powershell >> $PROFILE";

/// `rules` and `explain`: text for people, JSON for tooling (editors, dashboards, CI bots).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DocFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// `json` prints one object (`apim-tune/rules/v1`) with every code, family and severity.
    #[arg(long, value_enum, default_value_t = DocFormat::Text)]
    pub format: DocFormat,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The code (`SYS010`) or its name (`tcp-tw-recycle-enabled`).
    pub code: String,
    /// `json` prints one object (`apim-tune/explain/v1`): the doc, the rule, profile entries,
    /// sources.
    #[arg(long, value_enum, default_value_t = DocFormat::Text)]
    pub format: DocFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write apim-tune.1 and one apim-tune-SUBCOMMAND.1 per subcommand into this directory
    /// (created if missing); without it, print apim-tune.1 on stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FactsArgs {
    /// Read host files under this directory instead of / (a mounted image, `/proc/PID/root`).
    #[arg(long, default_value = "/", value_name = "DIR", help_heading = "Host")]
    pub root: PathBuf,
    /// An API-M home on this host (repeatable: two roles may share a machine).
    #[arg(long, value_name = "DIR", help_heading = "API-M")]
    pub apim_home: Vec<PathBuf>,
    /// Rendered Kubernetes manifests (`helm template` output): one export per workload.
    #[arg(
        short = 'f',
        long = "manifests",
        value_name = "FILE",
        help_heading = "Kubernetes"
    )]
    pub manifests: Vec<PathBuf>,
    /// Write the export here instead of stdout (with `-f`: a directory, one WORKLOAD.json each).
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub host: HostOverrideArgs,
    /// User API-M runs as, for limits (default: detected).
    #[arg(long, value_name = "NAME", help_heading = "Host")]
    pub user: Option<String>,
    /// API-M version, when it cannot be detected (e.g. 4.2.0).
    #[arg(long, value_name = "X.Y.Z", value_parser = parse_version, help_heading = "API-M")]
    pub apim_version: Option<Version>,
    /// Node role (only with one --apim-home: each home declares its own).
    #[arg(long, value_parser = ["all-in-one", "gateway", "key-manager", "control-plane", "traffic-manager"], help_heading = "Profile")]
    pub role: Option<String>,
    /// A profile file instead of the shipped one (only with one --apim-home).
    #[arg(long, value_name = "FILE", help_heading = "Profile")]
    pub profile: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FleetArgs {
    #[command(subcommand)]
    pub command: FleetCommand,
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Match node exports to an Ansible inventory and report what is wrong between the nodes.
    Merge(FleetMergeArgs),
}

#[derive(Debug, Args)]
pub struct FleetMergeArgs {
    /// Node exports (`apim-tune facts` output), `HOST.json` or with a `host` field.
    #[arg(value_name = "NODE.json")]
    pub exports: Vec<PathBuf>,
    /// Ansible's inventory as JSON: what `ansible-inventory -i INV --list` prints.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Rendered Kubernetes manifests: their workloads are nodes too (replicas, surge, HPA).
    #[arg(short = 'f', long = "manifests", value_name = "FILE")]
    pub manifests: Vec<PathBuf>,
    /// The database server's max_connections (else the inventory's `apim_tune_db_max_connections`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub db_max_connections: Option<u32>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = "Output")]
    pub format: Format,
    /// Also write a report to a file, as FORMAT=FILE (repeatable).
    #[arg(long, value_name = "FORMAT=FILE", value_parser = parse_output, help_heading = "Output")]
    pub output: Vec<OutputSpec>,
    /// Accepted deviations; a waiver may name `hosts` and `roles`.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub waivers: Option<PathBuf>,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Warning, help_heading = "Output")]
    pub fail_on: FailOn,
    /// Colour the text output (auto: on a terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, help_heading = "Output")]
    pub color: ColorChoice,
    /// Text: one line per finding, `file:line:col: severity[CODE] message`.
    #[arg(long, help_heading = "Output")]
    pub concise: bool,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the API-M tables `db` works on (WSO2's names, types and indexes for a version).
    Init(DbInitArgs),
    /// Fill the tables with realistic synthetic growth (half of it removable), fast.
    Seed(DbSeedArgs),
    /// Report per table: rows, size, what the cleanup would remove and why, missing indexes.
    #[command(after_help = exit_code::help(exit_code::DB))]
    Audit(DbAuditArgs),
    /// Delete removable tokens, codes, sessions and registry log rows in short batches.
    #[command(after_help = exit_code::help(exit_code::DB))]
    Clean(DbCleanArgs),
    /// Put back every row `db clean --backup` copied to its BAK_ tables.
    #[command(after_help = exit_code::help(exit_code::DB))]
    Restore(DbRestoreArgs),
    /// Print a ready schedule (systemd timer, cron line, MySQL EVENT, pg_cron, SQL Server Agent).
    Schedule(DbScheduleArgs),
}

/// Which database: a URL, or the API-M home's own WSO2AM_DB datasource.
#[derive(Debug, Args)]
pub struct DbTargetArgs {
    /// sqlite://PATH, postgres://USER:PASSWORD@HOST:PORT/DB or mysql://USER:PASSWORD@HOST:PORT/DB
    /// (MySQL and MariaDB). Prefer the environment variable: command lines are visible to
    /// other users in `ps`.
    #[arg(
        long,
        env = "APIM_TUNE_DB_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub url: Option<String>,
    /// Without --url: read the WSO2AM_DB datasource of this home (deployment.toml
    /// `[database.apim_db]` or master-datasources.xml). `db audit` also reads its cleanup
    /// settings.
    #[arg(long, value_name = "DIR")]
    pub apim_home: Option<PathBuf>,
    /// Give up connecting after this many seconds (TCP connect, TLS and login together), so a
    /// server that accepts and never answers fails a cron job or timer instead of hanging it.
    #[arg(long, value_name = "SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=crate::db::target::MAX_CONNECT_TIMEOUT_SECS))]
    pub connect_timeout: u64,
    /// PEM file of the CA(s) the server's TLS certificate must chain to (PostgreSQL,
    /// MySQL/MariaDB). It always verifies: without `sslmode`/`ssl-mode` in the URL,
    /// verify-full / VERIFY_IDENTITY; require/REQUIRED becomes verify-ca/VERIFY_CA; disable,
    /// allow, prefer / DISABLED, PREFERRED are refused.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DbInitArgs {
    #[command(flatten)]
    pub target: DbTargetArgs,
    /// The API-M schema generation to create: 2.6, 3.2 or 4.2.
    #[arg(long, default_value = "4.2", value_name = "VERSION")]
    pub apim_version: String,
    /// Print the DDL instead of running it.
    #[arg(long)]
    pub print: bool,
}

#[derive(Debug, Args)]
pub struct DbSeedArgs {
    #[command(flatten)]
    pub target: DbTargetArgs,
    /// Access tokens to add (one scope row each).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = seed_rows())]
    pub tokens: u64,
    /// Authorization codes (default: a tenth of --tokens).
    #[arg(long, value_name = "N", value_parser = seed_rows())]
    pub codes: Option<u64>,
    /// Sessions: two session store rows and one row per side table each (default: a tenth of
    /// --tokens).
    #[arg(long, value_name = "N", value_parser = seed_rows())]
    pub sessions: Option<u64>,
    /// REG_LOG rows (default: a tenth of --tokens).
    #[arg(long, value_name = "N", value_parser = seed_rows())]
    pub registry: Option<u64>,
    /// IDN_OAUTH2_ACCESS_TOKEN_AUDIT rows (default: a tenth of --tokens).
    #[arg(long, value_name = "N", value_parser = seed_rows())]
    pub audit_rows: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DbFormat,
}

#[derive(Debug, Args)]
pub struct DbAuditArgs {
    #[command(flatten)]
    pub target: DbTargetArgs,
    /// How long after expiry a token or session stays (gateways cache tokens).
    #[arg(long, default_value = "2h", value_parser = parse_period, value_name = "DURATION")]
    pub safe_period: Duration,
    /// Token audit rows older than this count as removable.
    #[arg(long, default_value = "90d", value_parser = parse_period, value_name = "DURATION")]
    pub older_than: Duration,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Also write a report: FORMAT=FILE (repeatable).
    #[arg(long, value_name = "FORMAT=FILE", value_parser = parse_output)]
    pub output: Vec<OutputSpec>,
    /// Exit 1 when a finding at or above this severity is not waived.
    #[arg(long, value_enum, default_value = "warning")]
    pub fail_on: FailOn,
    /// Colour the text output (auto: on a terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Text: one line per finding, `subject: severity[CODE] message`.
    #[arg(long)]
    pub concise: bool,
}

#[derive(Debug, Args)]
pub struct DbCleanArgs {
    #[command(flatten)]
    pub target: DbTargetArgs,
    #[command(flatten)]
    pub clean: DbCleanOptions,
    /// Count what would be removed; change nothing.
    #[arg(long, help_heading = "How")]
    pub dry_run: bool,
    /// Print the plain, unbatched DELETE statements with the cut-offs filled in; change nothing.
    #[arg(long, help_heading = "How")]
    pub print_sql: bool,
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long, short = 'y', help_heading = "How")]
    pub yes: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DbFormat,
    /// Append every deleted row to FILE as JSON lines (created mode 0600: the rows hold
    /// tokens), written and synced before each batch commits; `db restore --backup-file`
    /// puts them back. Instead of --backup's BAK_ tables.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "backup",
        help_heading = "How"
    )]
    pub backup_file: Option<PathBuf>,
    /// Test hook: stop as Ctrl-C would after this many batches.
    #[arg(long, hide = true, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub stop_after_batches: Option<u64>,
}

/// What `db clean` removes and how gently. `db schedule --options` parses its words with this
/// same struct ([`ScheduledClean`]), so a schedule cannot bake in a value that `db clean`
/// would refuse at every run.
#[derive(Debug, Args)]
pub struct DbCleanOptions {
    /// IDN_OAUTH2_ACCESS_TOKEN (and the scope rows that go with each token).
    #[arg(long, help_heading = "What")]
    pub tokens: bool,
    /// IDN_OAUTH2_AUTHORIZATION_CODE (and its scope rows), after the tokens.
    #[arg(long, help_heading = "What")]
    pub codes: bool,
    /// IDN_AUTH_SESSION_STORE (and the session side tables).
    #[arg(long, help_heading = "What")]
    pub sessions: bool,
    /// REG_LOG (the registry, usually in the shared database).
    #[arg(long, help_heading = "What")]
    pub registry: bool,
    /// IDN_OAUTH2_ACCESS_TOKEN_AUDIT rows older than --older-than (no WSO2 procedure cleans it).
    #[arg(long, requires = "older_than", help_heading = "What")]
    pub audit_table: bool,
    /// With --audit-table: the age past which audit rows go (e.g. 90d).
    #[arg(long, value_parser = parse_period, value_name = "DURATION", help_heading = "What")]
    pub older_than: Option<Duration>,
    /// How long after expiry a token or session stays (gateways cache tokens).
    #[arg(long, default_value = "2h", value_parser = parse_period, value_name = "DURATION", help_heading = "What")]
    pub safe_period: Duration,
    /// Rows per batch; each batch is one short transaction.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = parse_batch, help_heading = "How")]
    pub batch: u64,
    /// Pause between batches, so live traffic gets the locks and I/O.
    #[arg(long, default_value = "100ms", value_parser = parse_pause, value_name = "DURATION", help_heading = "How")]
    pub pause: Duration,
    /// Copy every deleted row to BAK_<TABLE> in the same transaction (`db restore` puts them
    /// back).
    #[arg(long, help_heading = "How")]
    pub backup: bool,
}

/// A safe period or `--older-than` of `db`: at most [`crate::db::MAX_PERIOD`] (3650d).
fn parse_period(s: &str) -> Result<Duration, String> {
    parse_span(s).and_then(|d| {
        if d <= crate::db::MAX_PERIOD {
            Ok(d)
        } else {
            Err(format!("`{s}`: at most 3650d"))
        }
    })
}

/// `--pause`: at most [`crate::db::MAX_PAUSE`] (1h).
fn parse_pause(s: &str) -> Result<Duration, String> {
    parse_span(s).and_then(|d| {
        if d <= crate::db::MAX_PAUSE {
            Ok(d)
        } else {
            Err(format!("`{s}`: at most 1h"))
        }
    })
}

/// `db seed`'s row counts: 0 to [`crate::db::MAX_SEED_ROWS`].
fn seed_rows() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(0..=crate::db::MAX_SEED_ROWS)
}

/// `--batch`: 1 to [`crate::db::MAX_BATCH`] rows, the bound `db clean` enforces.
fn parse_batch(s: &str) -> Result<u64, String> {
    let max = crate::db::MAX_BATCH;
    s.parse::<u64>()
        .ok()
        .filter(|b| (1..=max as u64).contains(b))
        .ok_or_else(|| format!("`{s}` is not a whole number from 1 to {max}"))
}

/// The words of `db schedule --options`: `db clean`'s own options, and the `--yes` a schedule
/// adds itself. `--url` is here only to be refused with the reason (the URL, password and
/// all, comes from the environment file); `db clean`'s other words (`--dry-run`, `--format`…)
/// are unknown to a schedule.
#[derive(Debug, Parser)]
#[command(name = "--options", no_binary_name = true, disable_help_flag = true)]
pub struct ScheduledClean {
    #[command(flatten)]
    pub clean: DbCleanOptions,
    /// Accepted and left out: the schedule passes `--yes` itself, as nobody is there to answer.
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[arg(long, hide = true)]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct DbRestoreArgs {
    #[command(flatten)]
    pub target: DbTargetArgs,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DbFormat,
    /// Put back the rows of a `db clean --backup-file FILE` instead of the BAK_ tables.
    #[arg(long, value_name = "FILE")]
    pub backup_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DbScheduleArgs {
    /// What runs the clean: mysql (EVENT), postgresql (pg_cron), mssql (SQL Server Agent),
    /// systemd (timer and service) or cron.
    #[arg(long, value_name = "ENGINE")]
    pub engine: crate::db::schedule::ScheduleTarget,
    /// How often: 30m, 6h, 1d, 1w…
    #[arg(long, default_value = "1d", value_name = "INTERVAL")]
    pub every: crate::db::schedule::Every,
    /// When: HH:MM (UTC on servers, local time for systemd/cron), or `Sat 03:30` with a weekly
    /// --every.
    #[arg(long, default_value = "02:00", value_name = "TIME")]
    pub at: crate::db::schedule::At,
    /// The `db clean` options to bake in, e.g. "--tokens --codes --sessions --backup".
    #[arg(
        long,
        default_value = "",
        value_name = "OPTIONS",
        allow_hyphen_values = true
    )]
    pub options: String,
    /// Shown (password masked) in the env-file hint for systemd and cron.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// apim-tune's absolute path in the unit or crontab.
    #[arg(long, default_value = "/usr/local/bin/apim-tune", value_name = "PATH")]
    pub binary: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DbFormat {
    Text,
    Json,
}

/// `90d`, `2h`, `30m`, `45s`, `100ms`, `1w`, `1h30m` (a bare number is seconds), at most 100
/// years.
pub fn parse_span(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let d = match t.parse::<u64>() {
        Ok(secs) => secs.checked_mul(1000).map(Duration::from_millis),
        Err(_) => crate::clock::parse_duration(t)
            .map(Some)
            .map_err(|e| format!("`{s}` is not a duration like 90d, 2h, 30m, 45s or 100ms: {e}"))?,
    };
    d.filter(|d| d.as_secs() <= 100 * 365 * 86_400)
        .ok_or_else(|| format!("`{s}` is longer than 100 years"))
}

/// A loopback address (`127.0.0.1:8280`, `[::1]:0`); anything else is refused.
fn parse_loopback(s: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = s
        .parse()
        .map_err(|_| format!("`{s}` is not an address like 127.0.0.1:8280"))?;
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(format!(
            "`{s}` is not a loopback address: the embedded runtime only uses 127.0.0.1 or ::1"
        ))
    }
}

fn parse_millis(s: &str) -> Result<Duration, String> {
    s.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("`{s}` is not a whole number of milliseconds"))
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0 and 86400"
        )),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a positive number of requests per second"
        )),
    }
}

/// The test bench shared by `gateway` and `validate`: not API-M settings, the test's conditions.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Cost of a key-validation call that reaches the database, in ms.
    #[arg(long, value_name = "MS", default_value = "2", value_parser = parse_millis, help_heading = "Bench")]
    pub km_latency: Duration,
    /// How long the embedded backend takes to answer, in ms.
    #[arg(long, value_name = "MS", default_value = "0", value_parser = parse_millis, help_heading = "Bench")]
    pub backend_delay: Duration,
    /// Response body size of the embedded backend, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(0..=16_777_216), help_heading = "Bench")]
    pub payload: u64,
    /// Active tokens in the key manager's store (a tenth as many expired and revoked are added).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000), help_heading = "Bench")]
    pub tokens: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct GatewayArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub bench: BenchArgs,
    /// Run the profile's proposed settings instead of the home's current ones.
    #[arg(long)]
    pub proposed: bool,
    /// Where the gateway listens (loopback only; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8280", value_parser = parse_loopback)]
    pub listen: SocketAddr,
    /// Proxy to this loopback backend instead of starting the embedded one.
    #[arg(long, value_name = "ADDR", value_parser = parse_loopback)]
    pub backend: Option<SocketAddr>,
    /// Runtime threads, instead of the setting io_threads_per_reactor (benchmarks use 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    pub worker_threads: Option<u64>,
    /// Stop after this many seconds (default: at Ctrl-C or SIGTERM).
    #[arg(long = "for", value_name = "SECS", value_parser = parse_seconds)]
    pub run_for: Option<Duration>,
    /// `json` prints one line with the addresses, the settings and sample tokens.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub bench: BenchArgs,
    /// How long each configuration is loaded, in seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds, help_heading = "Load")]
    pub duration: Duration,
    /// Concurrent keep-alive connections.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=20_000), help_heading = "Load")]
    pub connections: u64,
    /// Requests per second in all (open model, latency corrected for coordinated omission);
    /// default: as fast as the gateway answers.
    #[arg(long, value_name = "R", value_parser = parse_rate, help_heading = "Load")]
    pub rate: Option<f64>,
    /// At most this many requests per configuration.
    #[arg(long, value_name = "N", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Load")]
    pub requests: u64,
    /// The clients' read timeout in seconds (set your load balancer's, e.g. 60 for AWS ALB).
    #[arg(long, value_name = "SECS", default_value = "180", value_parser = parse_seconds, help_heading = "Load")]
    pub client_timeout: Duration,
    /// Only the load, no checks.
    #[arg(long, help_heading = "Load")]
    pub no_checks: bool,
    /// `json` prints one object (`apim-tune/validate/v1`) with both runs and the checks; `html`
    /// one self-contained page with plots of both runs.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text, help_heading = "Output")]
    pub format: ValidateFormat,
    /// Also write a report to a file, as FORMAT=FILE (repeatable), e.g. --output html=validate.html.
    #[arg(long, value_name = "FORMAT=FILE", value_parser = parse_validate_output, help_heading = "Output")]
    pub output: Vec<ValidateOutput>,
}

/// `validate`'s formats: the runs side by side as text, JSON, or a page with plots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    Text,
    Json,
    Html,
}

/// `validate --output FORMAT=FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidateOutput {
    pub format: ValidateFormat,
    pub path: PathBuf,
}

fn parse_validate_output(s: &str) -> Result<ValidateOutput, String> {
    let (format, path) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not FORMAT=FILE (e.g. html=validate.html)"))?;
    let format = ValidateFormat::from_str(format, true)
        .map_err(|_| format!("`{format}` is not a format (text, json, html)"))?;
    if path.is_empty() {
        return Err(format!("`{s}` names no file"));
    }
    Ok(ValidateOutput {
        format,
        path: PathBuf::from(path),
    })
}

#[derive(Debug, Args)]
pub struct BackendArgs {
    /// Where to listen (loopback only).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8281", value_parser = parse_loopback)]
    pub listen: SocketAddr,
    /// Response body size, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(0..=16_777_216))]
    pub payload: u64,
    /// How long each answer takes, in ms.
    #[arg(long, value_name = "MS", default_value = "0", value_parser = parse_millis)]
    pub delay: Duration,
    /// Runtime threads.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: u64,
    /// Stop after this many seconds (default: at Ctrl-C).
    #[arg(long = "for", value_name = "SECS", value_parser = parse_seconds)]
    pub run_for: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// `http://127.0.0.1:PORT/path` (loopback only).
    pub url: String,
    /// Concurrent keep-alive connections.
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=20_000))]
    pub connections: u64,
    /// How long to send, in seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub duration: Duration,
    /// At most this many requests.
    #[arg(long, value_name = "N", default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: u64,
    /// Requests per second in all (open model, latency corrected for coordinated omission).
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// A request header, `Name: value` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Client timeout per request, in seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub timeout: Duration,
    /// Runtime threads of the load generator.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub threads: u64,
    /// `json` prints one object with the counts, throughput and latency percentiles.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
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
    /// Read host files under this directory instead of / (a mounted image, `/proc/PID/root`).
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    /// `text` for people, `json` for tools, `k8s` for a pod's securityContext and docker.
    #[arg(long, value_enum, default_value_t = HostFormat::Text)]
    pub format: HostFormat,
    #[command(flatten)]
    pub host: HostOverrideArgs,
    /// Role whose recommended kernel parameters `--format k8s` prints.
    #[arg(long, default_value = "all-in-one", value_parser = ["all-in-one", "gateway", "key-manager", "control-plane", "traffic-manager"])]
    pub role: String,
}

#[derive(Debug, Args)]
pub struct BackupsArgs {
    /// The root the applies were made under.
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    /// Where the backups are (default: var/backups/apim-tune under the root).
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
    Html,
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
    let format = Format::from_str(format, true).map_err(|_| {
        format!("`{format}` is not a format (text, json, sarif, junit, markdown, html)")
    })?;
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

/// What to look at: the host (or a root standing for it), the API-M home, the profile.
/// What the host is, when it cannot be read (or is to be tuned for another size): shared by
/// `audit`, `host`, `facts` and `validate`, so each spells and checks them the same way.
#[derive(Debug, Args)]
pub struct HostOverrideArgs {
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
    /// Kernel release, e.g. 6.1.0-18-amd64 (default: proc/sys/kernel/osrelease under the root).
    #[arg(long, value_name = "RELEASE", help_heading = "Host")]
    pub kernel: Option<String>,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Read host files under this directory instead of / (a mounted image, a fake root).
    #[arg(long, default_value = "/", value_name = "DIR", help_heading = "Host")]
    pub root: PathBuf,
    #[command(flatten)]
    pub host: HostOverrideArgs,
    /// User API-M runs as, for limits (default: detected from the limits files or the home).
    #[arg(long, value_name = "NAME", help_heading = "Host")]
    pub user: Option<String>,

    /// API-M home (default: $APIM_HOME, else $CARBON_HOME; none audits the host alone).
    #[arg(long, value_name = "DIR", help_heading = "API-M")]
    pub apim_home: Option<PathBuf>,
    /// API-M version, when it cannot be detected (e.g. 4.2.0).
    #[arg(long, value_name = "X.Y.Z", value_parser = parse_version, help_heading = "API-M")]
    pub apim_version: Option<Version>,
    /// The database server's max_connections, to judge this node's pools against it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "API-M")]
    pub db_max_connections: Option<u32>,

    /// Node role, selects the shipped profile of that name.
    #[arg(long, value_parser = ["all-in-one", "gateway", "key-manager", "control-plane", "traffic-manager"], help_heading = "Profile")]
    pub role: Option<String>,
    /// A profile file (TOML) to use instead of the shipped one; it may `extends` a shipped one.
    #[arg(long, value_name = "FILE", help_heading = "Profile")]
    pub profile: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub target: TargetArgs,

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
    /// Text: one line per finding, `file:line:col: severity[CODE] message`.
    #[arg(long, help_heading = "Output")]
    pub concise: bool,
    /// The idle timeout of the clients or load balancer in front of the gateway, in seconds:
    /// APM020 then checks it lies between the global timeout and the socket timeout.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..), help_heading = "API-M")]
    pub client_timeout: Option<u64>,

    /// Print a unified diff of what --apply would change (exit 1 when there is a change).
    #[arg(long, conflicts_with = "apply", help_heading = "Changes")]
    pub diff: bool,
    /// Apply the fixable findings: backups, atomic writes, then re-audit.
    #[arg(long, help_heading = "Changes")]
    pub apply: bool,
    /// Apply without asking (required when not on a terminal).
    #[arg(long, short = 'y', requires = "apply", help_heading = "Changes")]
    pub yes: bool,
    /// Also write kernel parameters to the running kernel (/proc/sys); only without --root, as root.
    #[arg(long, requires = "apply", help_heading = "Changes")]
    pub live: bool,
    /// Where --apply keeps backups (default: var/backups/apim-tune under the root).
    #[arg(long, value_name = "DIR", help_heading = "Changes")]
    pub backup_dir: Option<PathBuf>,
    /// With --diff or --apply: also write what was planned or done as JSON
    /// (`apim-tune/apply/v1`: changed, the masked diff, the backup id, what must be restarted).
    #[arg(long, value_name = "FILE", help_heading = "Changes")]
    pub record: Option<PathBuf>,
}

fn parse_version(s: &str) -> Result<Version, String> {
    let ok = !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    Version::parse_prefix(s)
        .filter(|_| ok)
        .ok_or_else(|| format!("`{s}` is not a version like 4.2.0"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn help_of(path: &[&str]) -> String {
        let mut cli = Cli::command();
        let mut cmd = &mut cli;
        for name in path {
            cmd = cmd
                .find_subcommand_mut(name)
                .unwrap_or_else(|| panic!("no subcommand `{name}`"));
        }
        cmd.render_help().to_string()
    }

    /// Every help that lists exit codes lists its own command's table, from `exit_code`.
    /// `rollback -h` used to print the audit's (`--fail-on`, `--diff`), none of which it has.
    /// See: issue 12.
    #[test]
    fn issue_12_each_help_lists_its_own_exit_codes() {
        let cases: &[(&[&str], &[exit_code::Meaning])] = &[
            (&[], exit_code::TOOL),
            (&["audit"], exit_code::AUDIT),
            (&["rollback"], exit_code::ROLLBACK),
            (&["validate"], exit_code::VALIDATE),
            (&["db", "audit"], exit_code::DB),
            (&["db", "clean"], exit_code::DB),
            (&["db", "restore"], exit_code::DB),
        ];
        for (path, table) in cases {
            let help = help_of(path);
            assert!(
                help.trim_end().ends_with(&exit_code::help(table)),
                "{path:?}:\n{help}"
            );
        }
        let rollback = help_of(&["rollback"]);
        assert!(
            !rollback.contains("--fail-on") && !rollback.contains("--diff"),
            "{rollback}"
        );
    }
}
