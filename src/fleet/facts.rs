//! The per-node facts export, `apim-tune/facts/v1`: what one node really runs with, as one JSON
//! document, so that a merge step on another machine can compare nodes without reading them.
//!
//! Written by `apim-tune facts` (one host, one or more API-M homes, or one Kubernetes workload)
//! and read back by `apim-tune fleet merge`; the same types do both, so the two cannot drift.
//!
//! What it never holds: a user name or password of a datasource, a secret's value, a plain hash
//! of a secret. Secrets and keystores appear only as [`Fingerprint`]s: HMAC-SHA256 keyed by a
//! salt the caller passes (`APIM_TUNE_FLEET_SALT`), so equal secrets compare equal across the
//! nodes of one run and a fingerprint cannot be brute-forced offline without the salt.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `schema` field of every export.
pub const SCHEMA: &str = "apim-tune/facts/v1";

/// One node's export.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeFacts {
    /// Always [`SCHEMA`]; a reader refuses anything else.
    pub schema: String,
    /// The apim-tune version that wrote it.
    pub tool_version: String,
    pub host: HostPart,
    /// One entry per API-M home audited on this host (WSO2's patterns put up to two roles on
    /// one machine); empty for a host audited alone.
    #[serde(default)]
    pub homes: Vec<HomePart>,
    /// Whether fingerprints were computed (a salt was given). Without one, `fingerprints` maps
    /// are empty and the merge says it cannot compare secrets and keystores.
    #[serde(default)]
    pub fingerprinted: bool,
    /// Notes of the export itself (unknown facts and why).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// A value and where it came from (`proc/meminfo`, `deployment.toml:12:1`, `default`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sourced<T> {
    /// `None`: unknown (never borrowed from the machine that ran the export).
    pub value: Option<T>,
    pub source: String,
}

impl<T> Sourced<T> {
    pub fn known(value: T, source: impl Into<String>) -> Self {
        Sourced {
            value: Some(value),
            source: source.into(),
        }
    }
    pub fn unknown(source: impl Into<String>) -> Self {
        Sourced {
            value: None,
            source: source.into(),
        }
    }
}

/// The host (or the pod) the homes run on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostPart {
    /// `proc/sys/kernel/hostname` under the root (`etc/hostname` when /proc is absent); the
    /// merge matches an export to its inventory host by it.
    pub hostname: Sourced<String>,
    /// The host's own IPv4/IPv6 addresses (no loopback), as the kernel lists them.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// `yes`, `no`, `unknown` (the NAT verdict the audit uses).
    pub nat: Sourced<String>,
    pub cores: Sourced<u32>,
    /// Memory in effect for API-M (a unit's MemoryMax=, a cgroup or container limit, else RAM).
    pub memory_mb: Sourced<u64>,
    pub kernel: Sourced<String>,
    /// The JDK feature release that runs API-M.
    pub jdk: Sourced<u32>,
    /// `os-release` ID and VERSION_ID, e.g. `debian 12`.
    pub distro: Sourced<String>,
    /// Whether this is a container (its kernel parameters are the runtime's).
    #[serde(default)]
    pub container: bool,
    /// Kernel parameters the audit judges: the value in effect now, and what boot applies.
    #[serde(default)]
    pub sysctl: BTreeMap<String, SysctlFact>,
    /// Limits in effect for the API-M user (`nofile`, `nproc`, each soft and hard), with the
    /// user they were resolved for.
    #[serde(default)]
    pub limits: BTreeMap<String, LimitFact>,
    /// Set when the node is a Kubernetes workload read from manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesPart>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SysctlFact {
    /// `proc/sys` now; `None` when not readable.
    pub live: Option<String>,
    /// What boot applies (the winning sysctl.d line), and where.
    pub boot: Option<String>,
    pub boot_source: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitFact {
    /// `unlimited` or a number, as pam_limits would set it; `None` when no line applies.
    pub soft: Option<String>,
    pub hard: Option<String>,
    pub user: Option<String>,
    pub source: String,
}

/// A workload of rendered manifests: what the pool and memory rules need beyond one pod.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesPart {
    pub namespace: Option<String>,
    /// `Deployment/wso2am-gw`, `StatefulSet/wso2am-cp`.
    pub workload: String,
    pub container: String,
    pub image: Option<String>,
    pub replicas: Option<u32>,
    /// `HorizontalPodAutoscaler` maxReplicas aimed at this workload.
    pub hpa_max_replicas: Option<u32>,
    /// Extra pods a rolling update runs at once (maxSurge resolved against the replicas).
    pub max_surge: Option<u32>,
    pub memory_limit_mb: Option<u64>,
    pub memory_request_mb: Option<u64>,
    /// `resources.limits.cpu` in millicores.
    pub cpu_limit_millis: Option<u64>,
    /// `securityContext.sysctls` of the pod.
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// The manifest file and document the workload was read from (`manifests.yaml#3`).
    pub source: String,
}

/// One API-M home, as the JVM and the product will really run it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HomePart {
    /// The home's path as given (relative to the root when under it).
    pub path: String,
    pub version: Sourced<String>,
    /// The role in effect (`gateway`, `control-plane`, `key-manager`, `traffic-manager`,
    /// `all-in-one`) and what says so (`-Dprofile`, `server_role`, the default).
    pub role: Sourced<String>,
    /// The port offset in effect (0 when nothing sets one).
    pub offset: Sourced<u32>,
    /// `[server] hostname` / carbon.xml `HostName`.
    pub hostname: Sourced<String>,
    /// `[server] node_ip`.
    pub node_ip: Sourced<String>,
    /// Every catalog setting with its effective value, unit-resolved (`"900s"` and `900` are
    /// the same), keyed by catalog id (`cache.gateway_token.enable`).
    #[serde(default)]
    pub settings: BTreeMap<String, SettingFact>,
    /// The heap the next start gives (script + unit environment), in MiB.
    pub heap_min_mb: Sourced<u64>,
    pub heap_max_mb: Sourced<u64>,
    /// Every datasource: where it points and its pool; never a user or a password.
    #[serde(default)]
    pub datasources: Vec<DatasourceFact>,
    /// Every URL this node calls another node on (or listens on for them), parsed.
    #[serde(default)]
    pub endpoints: Vec<EndpointFact>,
    /// Ports this node listens on (base + offset).
    #[serde(default)]
    pub listen_ports: Vec<u32>,
    /// `[apim.sync_runtime_artifacts.gateway] gateway_labels` (4.x), what a gateway deploys.
    #[serde(default)]
    pub gateway_labels: Vec<String>,
    /// `[[apim.gateway.environment]]` (4.x) / `Environments` (1.x/2.x) of the control plane.
    #[serde(default)]
    pub gateway_environments: Vec<GatewayEnvironment>,
    /// `[clustering]` (4.x) / axis2.xml `clustering` (1.x/2.x), normalised.
    pub clustering: Clustering,
    /// `[apim.cache_invalidation]` and the like: key → normalised value (no secrets).
    #[serde(default)]
    pub cache_invalidation: BTreeMap<String, String>,
    /// HMAC-SHA256 fingerprints: `keystore.primary` (the file), `keystore.primary.password`,
    /// `encryption.key`, `jwt.*`, … ; see the module doc.
    #[serde(default)]
    pub fingerprints: BTreeMap<String, Fingerprint>,
    /// The node's own audit, as `apim-tune audit --format json` prints it (schema
    /// `apim-tune/audit/v…`), so the merge can show per-node findings.
    #[serde(default)]
    pub report: EmbeddedReport,
}

/// A home's own audit report inside an export, kept as the JSON text it arrived as.
///
/// A merge holds a thousand of them and reads each once, to list and group the node's findings:
/// as text a report costs its size; as a parsed `serde_json::Value` several times that (every
/// string, map and array its own allocation), which alone broke the merge's memory target.
/// [`EmbeddedReport::value`] parses on demand.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmbeddedReport(Box<serde_json::value::RawValue>);

impl EmbeddedReport {
    /// The report parsed (`Value::Null` if the text is not JSON, which parsing the export
    /// already ruled out).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).unwrap_or(serde_json::Value::Null)
    }

    pub fn from_value(v: &serde_json::Value) -> EmbeddedReport {
        serde_json::value::to_raw_value(v)
            .map(EmbeddedReport)
            .unwrap_or_default()
    }

    /// From JSON text (as `report::json::render` writes it); `None` when it is not JSON.
    pub fn from_json(text: String) -> Option<EmbeddedReport> {
        serde_json::value::RawValue::from_string(text)
            .ok()
            .map(EmbeddedReport)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// How deep its arrays and objects nest. Kept raw, the report is not parsed with the
    /// export, so serde_json's recursion limit (128) is not met there: a report nested past it
    /// is refused on reading (see [`check_reports`]), not silently read later as no findings.
    fn depth(&self) -> usize {
        let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
        for b in self.get().bytes() {
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    max = max.max(depth);
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        max
    }
}

/// The nesting serde_json accepts when it parses a value (its recursion limit).
const MAX_REPORT_DEPTH: usize = 127;

/// Refuses an export whose embedded report could not be parsed when it is read.
pub fn check_reports(file: &str, facts: &NodeFacts) -> Result<(), FactsReadError> {
    match facts
        .homes
        .iter()
        .find(|h| h.report.depth() > MAX_REPORT_DEPTH)
    {
        Some(h) => Err(FactsReadError::Json {
            file: file.to_string(),
            message: format!(
                "recursion limit exceeded: the report of home `{}` nests deeper than {MAX_REPORT_DEPTH} levels",
                h.path
            ),
        }),
        None => Ok(()),
    }
}

impl Default for EmbeddedReport {
    fn default() -> Self {
        EmbeddedReport(serde_json::value::RawValue::NULL.to_owned())
    }
}

/// Two reports are equal when they say the same, however their text is laid out.
impl PartialEq for EmbeddedReport {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get() || self.value() == other.value()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingFact {
    /// The value in effect in the catalog's unit; `None` when unknown.
    pub value: Option<String>,
    /// The catalog's unit (`seconds`, `minutes`, …) when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// `deployment.toml:12:1` when written, else how the value was arrived at.
    pub source: String,
    /// Whether the value is written in a file (not a default or an inference).
    pub written: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasourceFact {
    /// `apim_db`, `shared_db`, `WSO2AM_DB`, …
    pub name: String,
    /// `h2`, `mysql`, `postgresql`, `oracle`, `mssql`, `db2`, …; `None` when unknown.
    pub engine: Option<String>,
    /// `true` for an H2 file in this JVM (not shared with anyone).
    pub embedded: bool,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
    pub max_active: Option<i64>,
    pub max_wait_ms: Option<i64>,
    /// Where the URL is written, or the default it comes from.
    pub source: String,
}

/// What an endpoint reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointTarget {
    KeyManager,
    TrafficManager,
    /// The traffic manager's event receiver/auth URL groups (binary/Thrift).
    TrafficManagerReceiver,
    EventHub,
    Gateway,
    RevocationNotify,
    ThriftListen,
    /// `[apim.event_hub] event_duplicate_url`: the HA peer of a control plane / traffic manager.
    EventDuplicate,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedUrl {
    pub scheme: Option<String>,
    pub host: String,
    /// The port written, or the scheme's product port + this node's offset where the product
    /// fills it (`${mgt.transport.https.port}`); `None` when unknown.
    pub port: Option<u16>,
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointFact {
    pub target: EndpointTarget,
    /// `deployment.toml:apim.key_manager.service_url`.
    pub setting: String,
    /// The value, printable (credentials masked).
    pub raw: String,
    pub urls: Vec<ParsedUrl>,
    /// Where written (`deployment.toml:40:15`) or how defaulted.
    pub source: String,
    pub written: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayEnvironment {
    pub name: String,
    #[serde(default)]
    pub kind: Option<String>,
    /// The environment's gateway service URL (how the control plane reaches the gateways).
    #[serde(default)]
    pub service_url: Option<ParsedUrl>,
    /// Where the environment is written.
    #[serde(default)]
    pub source: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clustering {
    pub enabled: bool,
    /// `wka`, `multicast`, `kubernetes`, …
    pub membership_scheme: Option<String>,
    pub domain: Option<String>,
    pub local_member_host: Option<String>,
    pub local_member_port: Option<u16>,
    /// Well-known members, `host:port`.
    #[serde(default)]
    pub members: Vec<String>,
    pub source: String,
}

/// `hmac-sha256:<hex>` of a secret's value or a keystore file's bytes, keyed by the salt.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub hmac: String,
    /// Where the secret or file is (never its value).
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FactsReadError {
    #[error("{file}: not JSON: {message}")]
    Json { file: String, message: String },
    #[error("{file}: schema `{found}` is not {SCHEMA}")]
    Schema { file: String, found: String },
}

/// Reads one export from its text, checking the schema first so a wrong file gets a clear
/// error rather than a field-by-field complaint.
pub fn parse(file: &str, text: &str) -> Result<NodeFacts, FactsReadError> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        schema: String,
    }
    let head: Head = serde_json::from_str(text).map_err(|e| FactsReadError::Json {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    if head.schema != SCHEMA {
        return Err(FactsReadError::Schema {
            file: file.to_string(),
            found: head.schema,
        });
    }
    let facts = serde_json::from_str(text).map_err(|e| FactsReadError::Json {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    check_reports(file, &facts)?;
    Ok(facts)
}
