//! Judging: the rule registry, the one generic expectation check, and the rules that need code.
//!
//! A rule is one file: `declare_rule!` gives its code, name, default severity, the doc `explain`
//! prints, the inputs it needs and its check; the registry below lists every rule once, and
//! `Code::ALL`, `apim-tune rules`, `explain` and the SARIF rule table are derived from it.
//! Rules read the model (`host/`, `apim/`, the facts `db/` gathers) and push findings; they never
//! print, read files, or know about report formats or edits.

/// Declares one rule: the doc comment is its `explain` text (`### What it checks`, `### Why it
/// matters`, `### Fix`), then `static NAME = "CODE" "kebab-name" Severity "summary"`, its
/// inputs and its check.
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis static $name:ident = $code:literal $kebab:literal $sev:ident $summary:literal,
        inputs: [$($input:expr),* $(,)?],
        check: $check:expr $(,)?
    ) => {
        $vis static $name: $crate::rules::Rule = $crate::rules::Rule {
            info: $crate::diag::CodeInfo {
                code: $code,
                name: $kebab,
                family: $crate::rules::family_of($code),
                severity: $crate::diag::Severity::$sev,
                summary: $summary,
                doc: concat!($($doc, "\n"),*),
                file: file!(),
                line: line!(),
            },
            inputs: &[$($input),*],
            check: $check,
        };
    };
}

pub mod apim;
pub mod compare;
pub mod container;
pub mod db;
pub mod expectation;
pub mod fleet;
pub mod jvm;
pub mod limits;
pub mod service;
pub mod source;
pub mod sysctl;
pub mod waiver;

use crate::apim::ApimModel;
use crate::apim::jvm::JvmOptions;
use crate::diag::{Code, CodeInfo, Family, Finding};
use crate::host::HostFacts;
use crate::host::limits::{Limits, LimitsUser};
use crate::host::sysctl::Sysctl;
use crate::model::SourceProblem;
use crate::profile::resolve::Expectation;

/// Lists every rule once, in the order reports list codes. Each line names the code's constant
/// (`Code::TCP_TW_RECYCLE_ENABLED`) and the rule's declaration; `Code::ALL` and [`RULES`] follow.
macro_rules! registry {
    ($($name:ident => $($rule:ident)::+),* $(,)?) => {
        impl Code {
            $(pub const $name: Code = Code::new(&$($rule)::+.info);)*

            /// Every code, in registry order.
            pub const ALL: &'static [Code] = &[$(Code::$name),*];
        }

        /// Every rule, in registry order.
        pub static RULES: &[&Rule] = &[$(&$($rule)::+),*];
    };
}

registry! {
    SOURCE_UNREADABLE => source::unreadable::RULE,
    SOURCE_UNPARSEABLE => source::unparseable::RULE,
    APIM_VERSION_UNKNOWN => source::version_unknown::RULE,
    WAIVER_EXPIRED => waiver::expired::RULE,
    WAIVER_UNUSED => waiver::unused::RULE,
    SYSCTL_BELOW_RECOMMENDED => expectation::codes::SYSCTL_BELOW,
    SYSCTL_ABOVE_RECOMMENDED => expectation::codes::SYSCTL_ABOVE,
    SYSCTL_NOT_RECOMMENDED => expectation::codes::SYSCTL_MISMATCH,
    SYSCTL_SHOULD_BE_ABSENT => expectation::codes::SYSCTL_PRESENT,
    SYSCTL_LIVE_DIFFERS => sysctl::live_differs::RULE,
    SYSCTL_SHADOWED_LINE => sysctl::shadowed::RULE,
    TCP_TW_RECYCLE_ENABLED => sysctl::tw_recycle::RULE,
    SYSCTL_KEY_NOT_IN_KERNEL => sysctl::key_not_in_kernel::RULE,
    SYSCTL_LOWERS_KERNEL_MAXIMUM => sysctl::lowers_maximum::RULE,
    SYSCTL_CONF_NOT_READ_AT_BOOT => sysctl::conf_not_read::RULE,
    EPHEMERAL_PORT_RANGE_SMALL => sysctl::port_range::RULE,
    EPHEMERAL_PORT_RANGE_SAME_PARITY => sysctl::port_parity::RULE,
    LISTEN_PORT_IN_EPHEMERAL_RANGE => sysctl::listen_ports::RULE,
    SWAPPINESS_HIGH_WITH_SWAP => sysctl::swappiness::RULE,
    TRANSPARENT_HUGEPAGES_ALWAYS => sysctl::thp::RULE,
    LIMIT_BELOW_RECOMMENDED => expectation::codes::LIMIT_BELOW,
    LIMIT_SOFT_ABOVE_HARD => limits::soft_above_hard::RULE,
    NPROC_BELOW_CARBON_THREADS => limits::nproc_threads::RULE,
    LIMITS_WILDCARD_SKIPS_ROOT => limits::root_wildcard::RULE,
    UNIT_LIMIT_BELOW_RECOMMENDED => service::unit_limits::RULE,
    LIMITS_CONF_NOT_APPLIED_TO_SERVICE => service::limits_conf_unused::RULE,
    PROCESS_LIMIT_BELOW_RECOMMENDED => service::process_limits::RULE,
    PROCESS_DIFFERS_FROM_RESTART => service::process_restart::RULE,
    SETTING_BELOW_RECOMMENDED => expectation::codes::APIM_BELOW,
    SETTING_ABOVE_RECOMMENDED => expectation::codes::APIM_ABOVE,
    SETTING_NOT_RECOMMENDED => expectation::codes::APIM_MISMATCH,
    SETTING_SHOULD_BE_ABSENT => expectation::codes::APIM_PRESENT,
    TOKEN_CACHES_BOTH_ENABLED => apim::token_caches::RULE,
    IO_THREADS_NOT_CORE_COUNT => apim::io_threads::RULE,
    VALIDATION_QUERY_MISMATCH => apim::validation_query::RULE,
    TOML_KEY_HAS_NO_EFFECT => apim::unread_key::RULE,
    TOML_ALIASES_CONFLICT => apim::alias_conflict::RULE,
    ROLE_DIFFERS_FROM_NODE => apim::role_mismatch::RULE,
    TIMEOUT_ORDER_INVERTED => apim::timeout_order::RULE,
    H2_DATABASE => apim::h2_database::RULE,
    WIRING_ON_LOCALHOST => apim::localhost_wiring::RULE,
    DATABASE_ON_LOCALHOST => apim::localhost_wiring::DATABASE,
    DB_POOLS_EXCEED_SERVER => apim::db_pool::RULE,
    POOL_WAIT_UNBOUNDED => apim::db_pool::WAIT,
    LOGGING_COSTS_THROUGHPUT => apim::logging_cost::RULE,
    ACCESS_LOG_PER_REQUEST => apim::logging_cost::ACCESS,
    REVOCATION_NOT_PUSHED => apim::cache_coherence::RULE,
    DEFAULT_ADMIN_CREDENTIALS => apim::security_hygiene::ADMIN,
    DEFAULT_KEYSTORE_PASSWORD => apim::security_hygiene::KEYSTORE,
    CORS_ALLOWS_ANY_ORIGIN => apim::security_hygiene::CORS,
    LEGACY_TLS_PROTOCOLS => apim::security_hygiene::TLS,
    JVM_BELOW_RECOMMENDED => expectation::codes::JVM_BELOW,
    JVM_ABOVE_RECOMMENDED => expectation::codes::JVM_ABOVE,
    JVM_NOT_RECOMMENDED => expectation::codes::JVM_MISMATCH,
    JVM_FLAG_SHOULD_BE_ABSENT => expectation::codes::JVM_PRESENT,
    MAX_PERM_SIZE_ON_MODERN_JDK => jvm::max_perm_size::RULE,
    HEAP_ABOVE_HALF_RAM => jvm::heap_vs_ram::RULE,
    HEAP_MIN_DIFFERS_FROM_MAX => jvm::xms_xmx::RULE,
    JVM_OPTION_STOPS_JDK => jvm::jdk_options::STOPS,
    JVM_OPTION_DEPRECATED_ON_JDK => jvm::jdk_options::DEPRECATED,
    JDK_NOT_SUPPORTED_BY_APIM => jvm::jdk_range::RULE,
    REMOVABLE_ROWS_PRESENT => db::removable_rows::RULE,
    CLEANUP_INDEX_MISSING => db::cleanup_index::RULE,
    TOKEN_AUDIT_TABLE_GROWING => db::token_audit_table::RULE,
    TOKEN_CLEANUP_DISABLED => db::cleanup_disabled::TOKENS,
    SESSION_CLEANUP_DISABLED => db::cleanup_disabled::SESSIONS,
    MYSQL_TIME_ZONE_NOT_UTC => db::mysql_time_zone::RULE,
    FOREIGN_BACKUP_TABLE => db::foreign_backup::RULE,
    CLEANUP_RUN_UNFINISHED => db::unfinished_run::RULE,
    FLEET_NODE_UNMATCHED => fleet::unmatched::RULE,
    FLEET_DB_CONNECTIONS_EXCEED_SERVER => fleet::db_connections::RULE,
    FLEET_TOKEN_CACHES_BOTH_ENABLED => fleet::token_caches::RULE,
    FLEET_ENDPOINT_MISSES_ROLE => fleet::endpoints::RULE,
    FLEET_EVENT_DUPLICATE_NOT_PEER => fleet::event_duplicate::RULE,
    FLEET_GATEWAY_LABEL_WITHOUT_ENVIRONMENT => fleet::gateway_labels::RULE,
    FLEET_ROLE_DRIFT => fleet::drift::RULE,
    FLEET_VERSIONS_DIFFER => fleet::uniform::RULE,
    FLEET_DATABASE_NOT_SHARED => fleet::uniform::DATABASE,
    FLEET_SECRETS_DIFFER => fleet::fingerprints::RULE,
    FLEET_ROLE_DIFFERS_FROM_INVENTORY => fleet::role_mismatch::RULE,
    FLEET_CLUSTER_MEMBERS_WRONG => fleet::clustering::RULE,
    FLEET_HOMES_COLLIDE => fleet::shared_host::RULE,
    FLEET_HOMES_EXCEED_MEMORY => fleet::shared_host::HEAP,
}

/// A rule as declared in its file.
pub struct Rule {
    pub info: CodeInfo,
    /// What the rule reads: the audit reads what the rules need, and skips a rule whose input
    /// this node does not have (no API-M home, no start-up script).
    pub inputs: &'static [Input],
    pub check: Check,
}

impl Rule {
    pub fn code(&'static self) -> Code {
        Code::new(&self.info)
    }
}

/// What a rule needs to look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// Host facts: cores, memory, kernel, distribution, NAT, JDK, container.
    Host,
    /// Every kernel parameter line read (sysctl.conf and sysctl.d) with the live values.
    Sysctl,
    /// Kernel parameters read even when no profile entry names them.
    SysctlKeys(&'static [&'static str]),
    /// limits.conf and limits.d, and the user API-M runs as.
    Limits,
    /// The systemd units that run API-M.
    Units,
    /// Running API-M JVMs.
    Processes,
    /// The API-M home's settings (needs an API-M home).
    Apim,
    /// The start-up script's JVM options (needs an API-M home with its script).
    Jvm,
    /// The profile's expectations for this node.
    Expectations,
    /// Files that could not be read or parsed.
    SourceProblems,
    /// The waivers file and which findings each waiver matched.
    Waivers,
    /// What `db audit` gathered: tables, indexes, the server, the home's cleanup settings.
    Database,
}

impl Input {
    pub fn describe(self) -> String {
        match self {
            Input::Host => "host facts (cores, memory, kernel, distribution, NAT, JDK)".into(),
            Input::Sysctl => "kernel parameters: sysctl files and live values".into(),
            Input::SysctlKeys(keys) => format!(
                "kernel parameters {}",
                keys.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Input::Limits => "limits.conf and limits.d, for the API-M user".into(),
            Input::Units => "systemd units running API-M".into(),
            Input::Processes => "running API-M JVMs".into(),
            Input::Apim => "API-M settings in effect".into(),
            Input::Jvm => "JVM options of the start-up script".into(),
            Input::Expectations => "the profile's expectations".into(),
            Input::SourceProblems => "files that could not be read or parsed".into(),
            Input::Waivers => "the waivers file".into(),
            Input::Database => "the API-M database (`db audit`)".into(),
        }
    }
}

/// How a rule is run.
pub enum Check {
    /// Produced by the one generic check over the profile's expectations ([`expectation`]).
    Expectation,
    /// Over one node's model.
    Node(fn(&RuleContext, &mut Vec<Finding>)),
    /// Over the waivers and how they were used.
    Waivers(fn(&waiver::WaiverUse, &mut Vec<Finding>)),
    /// Over what `db audit` gathered.
    Db(fn(&crate::db::model::DbFacts, &mut db::Judged)),
    /// Over the nodes of a deployment (`fleet merge`).
    Fleet(fn(&fleet::FleetContext, &mut Vec<Finding>)),
}

/// The family of a code literal, checked when the rule is compiled.
pub const fn family_of(code: &str) -> Family {
    match code.as_bytes() {
        [b'S', b'R', b'C', ..] => Family::Src,
        [b'W', b'A', b'V', ..] => Family::Wav,
        [b'S', b'Y', b'S', ..] => Family::Sys,
        [b'L', b'I', b'M', ..] => Family::Lim,
        [b'S', b'V', b'C', ..] => Family::Svc,
        [b'P', b'R', b'C', ..] => Family::Prc,
        [b'A', b'P', b'M', ..] => Family::Apm,
        [b'J', b'V', b'M', ..] => Family::Jvm,
        [b'D', b'B', b'G', ..] => Family::Dbg,
        [b'F', b'L', b'T', ..] => Family::Flt,
        _ => panic!("a code starts with a known family prefix"),
    }
}

impl Code {
    /// The code for `SYS010` or `tcp-tw-recycle-enabled` (any case for the short code).
    pub fn from_code(s: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.code().eq_ignore_ascii_case(s) || c.name() == s)
    }

    /// The rule that declares this code (every code in [`Code::ALL`] has one).
    pub fn rule(self) -> Option<&'static Rule> {
        RULES.iter().copied().find(|r| r.info.code == self.code())
    }
}

/// Everything a node rule may look at.
pub struct RuleContext<'a> {
    /// Everything is read under it; a file's place is judged relative to it.
    pub root: &'a std::path::Path,
    pub facts: &'a HostFacts,
    pub sysctl: &'a Sysctl,
    pub limits: &'a Limits,
    pub user: &'a LimitsUser,
    pub apim: Option<&'a ApimModel>,
    pub role: &'a str,
    /// The role the node itself declares, when it does.
    pub node_role: Option<&'a crate::apim::role::NodeRole>,
    pub expectations: &'a [Expectation],
    /// Where a fix adds a kernel parameter or a limit that no file sets yet (under the root).
    pub sysctl_drop_in: &'a str,
    pub limits_drop_in: &'a str,
    /// systemd units that run API-M; when any, limits.conf does not apply to it.
    pub units: &'a [crate::host::systemd::Unit],
    /// Those of `units` that run the audited home.
    pub home_units: &'a [crate::host::systemd::Unit],
    pub default_nofile: Option<&'a crate::host::systemd::UnitSetting>,
    /// Running API-M JVMs.
    pub processes: &'a [crate::host::process::JvmProcess],
    /// The JVM options the next start gives (script and service environment), when the home
    /// has its start script.
    pub jvm_in_effect: Option<&'a crate::apim::jvm_effect::JvmInEffect>,
    /// Files that could not be read or parsed.
    pub problems: &'a [SourceProblem],
    /// The idle timeout of the clients or load balancer in front of the gateway, in ms, when the
    /// operator gives it (`--client-timeout`); unknown otherwise.
    pub client_timeout_ms: Option<u64>,
    /// The database server's `max_connections`, when the operator gives it
    /// (`--db-max-connections`).
    pub db_max_connections: Option<u32>,
    /// Transparent huge pages and swap, read under the root (unknown where absent).
    pub memory: &'a crate::host::thp::KernelMemory,
}

impl RuleContext<'_> {
    /// The JVM options the next start gives, when the home has its start script.
    pub fn jvm(&self) -> Option<&crate::apim::jvm_effect::JvmInEffect> {
        self.jvm_in_effect
    }

    /// The start-up script as written.
    pub fn script(&self) -> Option<&JvmOptions> {
        self.apim.and_then(|a| a.jvm.as_ref())
    }

    fn has(&self, input: Input) -> bool {
        match input {
            Input::Apim => self.apim.is_some(),
            Input::Jvm => self.script().is_some(),
            _ => true,
        }
    }
}

/// The kernel parameters the node rules read beyond the profile's.
pub fn sysctl_keys() -> Vec<&'static str> {
    RULES
        .iter()
        .flat_map(|r| r.inputs)
        .flat_map(|i| match i {
            Input::SysctlKeys(keys) => keys.to_vec(),
            _ => Vec::new(),
        })
        .collect()
}

/// Runs the generic check, then every node rule whose inputs this node has, in registry order;
/// `checked` receives the subject of every setting the generic check looked at.
pub fn run_node(cx: &RuleContext, out: &mut Vec<Finding>, checked: &mut Vec<crate::diag::Subject>) {
    expectation::check_all(cx, out, checked);
    for rule in RULES {
        if let Check::Node(check) = rule.check
            && rule.inputs.iter().all(|i| cx.has(*i))
        {
            check(cx, out);
        }
    }
}

/// Runs every database rule, in registry order, over what `db audit` gathered.
pub fn run_db(facts: &crate::db::model::DbFacts) -> db::Judged {
    let mut out = db::Judged::default();
    for rule in RULES {
        if let Check::Db(check) = rule.check {
            check(facts, &mut out);
        }
    }
    out
}

/// Runs every cross-node rule, in registry order, over the nodes of a deployment.
pub fn run_fleet(cx: &fleet::FleetContext) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in RULES {
        if let Check::Fleet(check) = rule.check {
            check(cx, &mut out);
        }
    }
    out
}

/// Runs the waiver rules over the waivers as they were applied, in the waivers' order.
pub fn run_waivers(uses: &[waiver::WaiverUse], out: &mut Vec<Finding>) {
    for used in uses {
        for rule in RULES {
            if let Check::Waivers(check) = rule.check {
                check(used, out);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod testing;
