//! Rendered Kubernetes manifests: workloads, their ConfigMaps, env, resources, sysctls, HPAs.
//!
//! Reads the multi-document YAML that `helm template` or `kubectl kustomize` prints (and
//! kubernetes-apim's plain YAML, `List` kinds included) and finds every API-M workload in it:
//! a Deployment, StatefulSet or DaemonSet with a container whose image is `wso2am*`, or whose
//! mounted ConfigMaps hold a `deployment.toml`. For each it keeps what a pod of it really gets:
//! the files its ConfigMap mounts put in the product home, its literal environment, its
//! resources, its pod sysctls, and what decides how many pods run at once (replicas, the
//! HorizontalPodAutoscaler's maximum, the rolling update's surge).
//!
//! Owns: the YAML reading (bounded by serde-saphyr's budgets: alias bombs, depth, size) and the
//! Kubernetes meaning of the objects. Must not: build a root, run the audit or judge; `kube`
//! turns a [`Workload`] into an export. What a manifest leaves to the cluster (a `valueFrom`,
//! a Secret's data, the node's kernel) stays unknown here.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest manifest file read: rendered charts are kilobytes; anything near this is not one.
pub const MAX_MANIFEST_BYTES: u64 = 32 << 20;

/// `List` kinds nest (`List` of `List` is legal but pointless); deeper than this is refused.
const MAX_LIST_DEPTH: usize = 4;

/// The kinds that run pods from a pod template.
const WORKLOAD_KINDS: [&str; 3] = ["Deployment", "StatefulSet", "DaemonSet"];

/// A manifest that cannot be read: the file, and where in it when the YAML says.
#[derive(Debug, thiserror::Error)]
#[error("{file}{at}: {message}")]
pub struct K8sError {
    pub file: String,
    /// `:line:column`, or empty when unknown.
    pub at: String,
    pub message: String,
}

/// One environment variable of the API-M container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    /// The literal value; `None` when it comes from the cluster (`valueFrom`, a Secret) and is
    /// therefore unknown here.
    pub value: Option<String>,
    /// `env`, `envFrom configMap/NAME`, `valueFrom`, …
    pub source: String,
}

/// A file a ConfigMap puts into the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountedFile {
    /// The path in the container (`/home/wso2carbon/wso2-config-volume/repository/conf/deployment.toml`).
    pub mount_path: String,
    /// Where it lands in the API-M home (`repository/conf/deployment.toml`): WSO2's images copy
    /// `wso2-config-volume/` over the home at start, and a mount straight into the home is
    /// the same file. `None` when the path names neither.
    pub home_rel: Option<String>,
    /// `configMap/NAME key`.
    pub source: String,
    /// The ConfigMap's data; `None` when the ConfigMap is not in the manifests.
    pub text: Option<String>,
}

/// One API-M workload and what its pods get.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    /// `Deployment`, `StatefulSet`, `DaemonSet`.
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// `manifests.yaml#3`: the file and the document (1-based, among non-empty documents).
    pub source: String,
    pub container: String,
    pub image: Option<String>,
    /// From the image tag (`wso2/wso2am:4.2.0-alpine` → `4.2.0`); `None` for a digest or no tag.
    pub version: Option<String>,
    /// `spec.replicas`, 1 when omitted (Kubernetes' default); `None` for a DaemonSet (one per
    /// node: the node count is the cluster's).
    pub replicas: Option<u32>,
    /// `maxReplicas` of the HorizontalPodAutoscaler whose `scaleTargetRef` is this workload.
    pub hpa_max_replicas: Option<u32>,
    /// Extra pods during a rolling update: `maxSurge` resolved against the most pods that can
    /// run (the HPA's maximum when there is one, else the replicas), rounded up as Kubernetes
    /// does; 0 for `Recreate` and for StatefulSets (they replace pods one by one).
    pub max_surge: Option<u32>,
    pub memory_limit_mb: Option<u64>,
    pub memory_request_mb: Option<u64>,
    /// `resources.limits.cpu` in millicores.
    pub cpu_limit_millis: Option<u64>,
    /// Pod `securityContext.sysctls`.
    pub sysctls: BTreeMap<String, String>,
    /// Services whose selector picks this workload's pods (`apim-cp-service`): the names other
    /// nodes reach it by.
    pub services: Vec<String>,
    /// `runAsUser` of the container, else of the pod; `None`: the image's own user.
    pub run_as_user: Option<u32>,
    /// The container's environment in effect (`envFrom` first, `env` over it).
    pub env: Vec<EnvVar>,
    /// `command` + `args` of the container, as written.
    pub command: Vec<String>,
    /// Files its ConfigMaps mount.
    pub files: Vec<MountedFile>,
    /// What the manifests leave unknown or could not be resolved (a missing ConfigMap, …).
    pub notes: Vec<String>,
}

impl Workload {
    /// `Deployment/wso2am-gw`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// The environment variable's value, when literal.
    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|e| e.name == name)
            .and_then(|e| e.value.as_deref())
    }

    /// The mounted file landing at `home_rel` in the home (the last mount wins, as the later
    /// copy does).
    pub fn home_file(&self, home_rel: &str) -> Option<&MountedFile> {
        self.files
            .iter()
            .rev()
            .find(|f| f.home_rel.as_deref() == Some(home_rel))
    }
}

/// One parsed document, with where it came from.
struct Doc {
    value: Value,
    source: String,
}

/// Reads every manifest file (each capped at [`MAX_MANIFEST_BYTES`]) and returns the API-M
/// workloads of all of them together (a ConfigMap may be in another file than its Deployment).
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<Workload>, K8sError> {
    let mut texts = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let text =
            crate::source::read_text_at_most(path, MAX_MANIFEST_BYTES).map_err(|e| K8sError {
                file: name.clone(),
                at: String::new(),
                message: e.to_string(),
            })?;
        texts.push((display_name(path), text));
    }
    read(&texts)
}

/// The name a manifest is shown by: its file name, so a temp dir or a long path does not leak
/// into exports.
fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Reads `(file name, text)` pairs; see [`read_files`].
pub fn read(texts: &[(String, String)]) -> Result<Vec<Workload>, K8sError> {
    let mut docs = Vec::new();
    for (file, text) in texts {
        let values = parse_yaml(file, text)?;
        for (i, value) in values.into_iter().enumerate() {
            flatten(value, &format!("{file}#{}", i + 1), 0, &mut docs).map_err(|message| {
                K8sError {
                    file: file.clone(),
                    at: String::new(),
                    message,
                }
            })?;
        }
    }
    let config_maps = config_maps(&docs);
    let hpas = hpas(&docs);
    let services = services(&docs);
    let mut out = Vec::new();
    for doc in &docs {
        if let Some(mut w) = workload(doc, &config_maps, &hpas) {
            let labels = at(&doc.value, &["spec", "template", "metadata", "labels"])
                .and_then(Value::as_object);
            w.services = services
                .iter()
                .filter(|(ns, _, selector)| {
                    *ns == w.namespace
                        && !selector.is_empty()
                        && labels.is_some_and(|l| {
                            selector
                                .iter()
                                .all(|(k, v)| l.get(k).and_then(scalar_text).as_ref() == Some(v))
                        })
                })
                .map(|(_, name, _)| name.clone())
                .collect();
            out.push(w);
        }
    }
    Ok(out)
}

/// Multi-document YAML to JSON values, bounded: serde-saphyr's default budget caps events,
/// aliases (a billion-laughs document fails fast), nodes, nesting depth and scalar bytes.
fn parse_yaml(file: &str, text: &str) -> Result<Vec<Value>, K8sError> {
    serde_saphyr::from_multiple::<Value>(text).map_err(|e| {
        let at = e
            .location()
            .filter(|l| l.line() > 0)
            .map_or_else(String::new, |l| format!(":{}:{}", l.line(), l.column()));
        // The error's text repeats the location in its own words; the first line is the cause.
        let message = e.to_string();
        let first = message.lines().next().unwrap_or("not YAML");
        let first = first.strip_prefix("error: ").unwrap_or(first);
        // `line 7 column 11: cause`: the place is already in `at`.
        let message = match first.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
            Some((_, cause)) if !at.is_empty() => cause.to_string(),
            _ => first.to_string(),
        };
        // serde-saphyr's budget: aliases expanded past the node cap (a billion-laughs
        // document), nesting, or sheer size.
        let message = match message.strip_prefix("budget breached: ") {
            Some(what) => format!(
                "refused: larger or deeper than a manifest can be once its aliases are expanded ({what})"
            ),
            None => format!("not valid YAML: {message}"),
        };
        K8sError {
            file: file.to_string(),
            at,
            message,
        }
    })
}

/// Expands `List` kinds (`items`) into their objects.
fn flatten(value: Value, source: &str, depth: usize, out: &mut Vec<Doc>) -> Result<(), String> {
    let is_list = value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k == "List" || k.ends_with("List"));
    if is_list && let Some(items) = value.get("items").and_then(Value::as_array) {
        if depth >= MAX_LIST_DEPTH {
            return Err(format!(
                "{source}: List nested deeper than {MAX_LIST_DEPTH}"
            ));
        }
        for (i, item) in items.iter().enumerate() {
            flatten(
                item.clone(),
                &format!("{source}.items[{i}]"),
                depth + 1,
                out,
            )?;
        }
        return Ok(());
    }
    out.push(Doc {
        value,
        source: source.to_string(),
    });
    Ok(())
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn kind(v: &Value) -> Option<&str> {
    str_at(v, &["kind"])
}

fn namespace(v: &Value) -> Option<String> {
    str_at(v, &["metadata", "namespace"]).map(str::to_string)
}

/// ConfigMaps by (namespace, name): their `data` as text (`binaryData` is not text).
type ConfigMaps = BTreeMap<(Option<String>, String), BTreeMap<String, String>>;

fn config_maps(docs: &[Doc]) -> ConfigMaps {
    let mut out = ConfigMaps::new();
    for d in docs {
        if kind(&d.value) != Some("ConfigMap") {
            continue;
        }
        let Some(name) = str_at(&d.value, &["metadata", "name"]) else {
            continue;
        };
        let data = d
            .value
            .get("data")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), scalar_text(v)?)))
                    .collect()
            })
            .unwrap_or_default();
        out.insert((namespace(&d.value), name.to_string()), data);
    }
    out
}

/// A scalar as Kubernetes would take it as text: strings as they are; numbers and booleans
/// (which the API server would refuse in `data`/`value`, but a hand-written file may hold) as
/// written.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Services: (namespace, name, selector). A Service without a selector picks no pod.
fn services(docs: &[Doc]) -> Vec<(Option<String>, String, BTreeMap<String, String>)> {
    docs.iter()
        .filter(|d| kind(&d.value) == Some("Service"))
        .filter_map(|d| {
            let name = str_at(&d.value, &["metadata", "name"])?.to_string();
            let selector = at(&d.value, &["spec", "selector"])
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), scalar_text(v)?)))
                        .collect()
                })
                .unwrap_or_default();
            Some((namespace(&d.value), name, selector))
        })
        .collect()
}

/// HPAs by (namespace, target kind, target name) → maxReplicas.
type Hpas = BTreeMap<(Option<String>, String, String), u32>;

fn hpas(docs: &[Doc]) -> Hpas {
    let mut out = Hpas::new();
    for d in docs {
        if kind(&d.value) != Some("HorizontalPodAutoscaler") {
            continue;
        }
        let target = at(&d.value, &["spec", "scaleTargetRef"]);
        let (Some(tk), Some(tn)) = (
            target.and_then(|t| str_at(t, &["kind"])),
            target.and_then(|t| str_at(t, &["name"])),
        ) else {
            continue;
        };
        let Some(max) = at(&d.value, &["spec", "maxReplicas"]).and_then(as_u32) else {
            continue;
        };
        out.insert((namespace(&d.value), tk.to_string(), tn.to_string()), max);
    }
    out
}

fn as_u32(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The API-M workload a document is, if it is one.
fn workload(doc: &Doc, config_maps: &ConfigMaps, hpas: &Hpas) -> Option<Workload> {
    let v = &doc.value;
    let kind = kind(v)?;
    if !WORKLOAD_KINDS.contains(&kind) {
        return None;
    }
    let name = str_at(v, &["metadata", "name"])?.to_string();
    let ns = namespace(v);
    let pod = at(v, &["spec", "template", "spec"])?;
    let containers = pod.get("containers").and_then(Value::as_array)?;
    let volumes: BTreeMap<&str, &Value> = pod
        .get("volumes")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter_map(|vol| Some((str_at(vol, &["name"])?, vol)))
                .collect()
        })
        .unwrap_or_default();

    let mut notes = Vec::new();
    // The first container that runs API-M: by its image, else by a deployment.toml mounted.
    let mut chosen = None;
    for c in containers {
        let files = mounted_files(c, &volumes, config_maps, ns.as_ref(), &mut Vec::new());
        let by_image = str_at(c, &["image"]).is_some_and(is_apim_image);
        let by_conf = files
            .iter()
            .any(|f| f.home_rel.as_deref() == Some(DEPLOYMENT_TOML) && f.text.is_some());
        if by_image || by_conf {
            chosen = Some(c);
            break;
        }
    }
    let c = chosen?;
    let files = mounted_files(c, &volumes, config_maps, ns.as_ref(), &mut notes);
    let image = str_at(c, &["image"]).map(str::to_string);
    let version = image.as_deref().and_then(version_of_image);
    if version.is_none() {
        notes.push(format!(
            "version unknown: the image `{}` has no version tag",
            image.as_deref().unwrap_or("(none)")
        ));
    }

    let replicas = match kind {
        "DaemonSet" => None,
        // Omitted means 1 (the API server's default), not unknown.
        _ => Some(
            at(v, &["spec", "replicas"])
                .map(|r| as_u32(r).unwrap_or(1))
                .unwrap_or(1),
        ),
    };
    let hpa_max_replicas = hpas
        .get(&(ns.clone(), kind.to_string(), name.clone()))
        .copied();
    let max_surge = surge(v, kind, hpa_max_replicas.or(replicas), &mut notes);

    let resources = c.get("resources");
    let quantity = |path: &[&str]| resources.and_then(|r| str_or_number(at(r, path)?));
    let memory_limit_mb = quantity(&["limits", "memory"]).and_then(|q| memory_mb(&q));
    let memory_request_mb = quantity(&["requests", "memory"]).and_then(|q| memory_mb(&q));
    let cpu_limit_millis = quantity(&["limits", "cpu"]).and_then(|q| cpu_millis(&q));

    let sysctls = at(pod, &["securityContext", "sysctls"])
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|s| {
                    Some((
                        str_at(s, &["name"])?.to_string(),
                        str_or_number(s.get("value")?)?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();

    let run_as_user = at(c, &["securityContext", "runAsUser"])
        .or_else(|| at(pod, &["securityContext", "runAsUser"]))
        .and_then(as_u32);
    let env = environment(c, config_maps, ns.as_ref(), &mut notes);
    let command = ["command", "args"]
        .iter()
        .filter_map(|k| c.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(scalar_text)
        .collect();

    Some(Workload {
        kind: kind.to_string(),
        name,
        namespace: ns,
        source: doc.source.clone(),
        container: str_at(c, &["name"]).unwrap_or("").to_string(),
        image,
        version,
        replicas,
        hpa_max_replicas,
        max_surge,
        memory_limit_mb,
        memory_request_mb,
        cpu_limit_millis,
        sysctls,
        services: Vec::new(),
        run_as_user,
        env,
        command,
        files,
        notes,
    })
}

const DEPLOYMENT_TOML: &str = "repository/conf/deployment.toml";

/// `wso2/wso2am:4.2.0`, `docker.wso2.com/wso2am-gateway:4.3.0`: the image's own name (the
/// last path segment, no tag or digest) starts with `wso2am`.
fn is_apim_image(image: &str) -> bool {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last).starts_with("wso2am")
}

/// The product version of an image tag: its leading `N.N.N` (`4.2.0-alpine`, `4.2.0.5` →
/// `4.2.0`). A digest pins bytes, not a version: unknown.
pub fn version_of_image(image: &str) -> Option<String> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next()?;
    let (_, tag) = last.split_once(':')?;
    let parts: Vec<&str> = tag
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()?
        .split('.')
        .take(3)
        .collect();
    (parts.len() == 3 && parts.iter().all(|p| !p.is_empty())).then(|| parts.join("."))
}

fn str_or_number(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The surge of a rolling update, in pods, at `pods` pods.
fn surge(v: &Value, kind: &str, pods: Option<u32>, notes: &mut Vec<String>) -> Option<u32> {
    match kind {
        // A StatefulSet's rolling update deletes a pod before making its successor.
        "StatefulSet" => return Some(0),
        // A DaemonSet's surge is per node, and the node count is the cluster's.
        "DaemonSet" => return None,
        _ => {}
    }
    if str_at(v, &["spec", "strategy", "type"]) == Some("Recreate") {
        return Some(0);
    }
    let written = at(v, &["spec", "strategy", "rollingUpdate", "maxSurge"]);
    let value = written.map_or(Some(Surge::Percent(25)), surge_of);
    match (value, pods) {
        (Some(Surge::Pods(n)), _) => Some(n),
        // Kubernetes rounds a percentage surge up (maxUnavailable down).
        (Some(Surge::Percent(p)), Some(pods)) => {
            Some((u64::from(pods) * u64::from(p)).div_ceil(100)).and_then(|n| u32::try_from(n).ok())
        }
        (Some(Surge::Percent(_)), None) => None,
        (None, _) => {
            notes.push(format!(
                "maxSurge `{}` is neither a number nor a percentage: surge unknown",
                written.map(Value::to_string).unwrap_or_default()
            ));
            None
        }
    }
}

enum Surge {
    Pods(u32),
    Percent(u32),
}

fn surge_of(v: &Value) -> Option<Surge> {
    match v {
        Value::Number(_) => as_u32(v).map(Surge::Pods),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_suffix('%') {
                Some(p) => p.trim().parse().ok().map(Surge::Percent),
                None => s.parse().ok().map(Surge::Pods),
            }
        }
        _ => None,
    }
}

/// A Kubernetes memory quantity in MiB (rounded down): `512Mi`, `2Gi`, `1G`, `1500M`,
/// `1073741824`, `1e9`, `0.5Gi`. `None` for anything else.
pub fn memory_mb(q: &str) -> Option<u64> {
    let bytes = quantity(q)?;
    let mib = bytes / f64::from(1u32 << 20);
    (0.0..1e15).contains(&mib).then_some(mib.floor() as u64)
}

/// A Kubernetes CPU quantity in millicores (rounded up, as the API server does): `500m`, `2`,
/// `1.5`.
pub fn cpu_millis(q: &str) -> Option<u64> {
    let cores = quantity(q)?;
    let millis = (cores * 1000.0).ceil();
    (0.0..1e15).contains(&millis).then_some(millis as u64)
}

/// A quantity's value in base units: a decimal number with an optional binary (`Ki`…`Ei`),
/// decimal (`n`, `u`, `m`, `k`, `M`…`E`) suffix or exponent (`e3`).
fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    if number.is_empty() || number.starts_with('-') {
        return None;
    }
    let n: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        s => {
            let exp: i32 = s.strip_prefix(['e', 'E'])?.parse().ok()?;
            if exp.abs() > 30 {
                return None;
            }
            10f64.powi(exp)
        }
    };
    Some(n * factor)
}

/// The container's environment: `envFrom` ConfigMaps first, `env` over them (Kubernetes'
/// order). A Secret or a `valueFrom` is the cluster's: the variable is there, its value unknown.
fn environment(
    c: &Value,
    config_maps: &ConfigMaps,
    ns: Option<&String>,
    notes: &mut Vec<String>,
) -> Vec<EnvVar> {
    let mut env: Vec<EnvVar> = Vec::new();
    let mut set = |var: EnvVar| {
        env.retain(|e| e.name != var.name);
        env.push(var);
    };
    for from in c
        .get("envFrom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let prefix = str_at(from, &["prefix"]).unwrap_or("");
        if let Some(cm) = str_at(from, &["configMapRef", "name"]) {
            match config_maps.get(&(ns.cloned(), cm.to_string())) {
                Some(data) => {
                    for (k, v) in data {
                        set(EnvVar {
                            name: format!("{prefix}{k}"),
                            value: Some(v.clone()),
                            source: format!("envFrom configMap/{cm}"),
                        });
                    }
                }
                None => notes.push(format!(
                    "envFrom configMap/{cm} is not in the manifests: its variables are unknown"
                )),
            }
        } else if let Some(s) = str_at(from, &["secretRef", "name"]) {
            notes.push(format!(
                "envFrom secret/{s}: its variables are the cluster's and unknown here"
            ));
        }
    }
    for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
        let Some(name) = str_at(e, &["name"]) else {
            continue;
        };
        let var = match (e.get("value"), e.get("valueFrom")) {
            (_, Some(from)) => {
                // A ConfigMap key in the manifests is as literal as `value`.
                let cm = at(from, &["configMapKeyRef"]).and_then(|r| {
                    let data =
                        config_maps.get(&(ns.cloned(), str_at(r, &["name"])?.to_string()))?;
                    Some((str_at(r, &["name"])?, data.get(str_at(r, &["key"])?)?))
                });
                match cm {
                    Some((cm, value)) => EnvVar {
                        name: name.to_string(),
                        value: Some(value.clone()),
                        source: format!("valueFrom configMap/{cm}"),
                    },
                    None => EnvVar {
                        name: name.to_string(),
                        value: None,
                        source: "valueFrom (the cluster's)".into(),
                    },
                }
            }
            (Some(v), None) => EnvVar {
                name: name.to_string(),
                value: scalar_text(v).or(Some(String::new())),
                source: "env".into(),
            },
            (None, None) => EnvVar {
                name: name.to_string(),
                value: Some(String::new()),
                source: "env".into(),
            },
        };
        set(var);
    }
    env
}

/// The files the container's ConfigMap volumes put in it: a `subPath` mount is one key at the
/// mount path; a directory mount is each key (or each `items` entry at its `path`) under it.
fn mounted_files(
    c: &Value,
    volumes: &BTreeMap<&str, &Value>,
    config_maps: &ConfigMaps,
    ns: Option<&String>,
    notes: &mut Vec<String>,
) -> Vec<MountedFile> {
    let mut out = Vec::new();
    for m in c
        .get("volumeMounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(vol_name), Some(mount_path)) = (str_at(m, &["name"]), str_at(m, &["mountPath"]))
        else {
            continue;
        };
        let Some(cm) = volumes
            .get(vol_name)
            .and_then(|v| str_at(v, &["configMap", "name"]))
        else {
            continue;
        };
        let vol = volumes[vol_name];
        let data = config_maps.get(&(ns.cloned(), cm.to_string()));
        if data.is_none() {
            notes.push(format!(
                "configMap/{cm} (mounted at {mount_path}) is not in the manifests: its files are unknown"
            ));
        }
        // (key, path relative to the volume) pairs the volume projects.
        let items: Vec<(String, String)> =
            match at(vol, &["configMap", "items"]).and_then(Value::as_array) {
                Some(items) => items
                    .iter()
                    .filter_map(|i| {
                        Some((
                            str_at(i, &["key"])?.to_string(),
                            str_at(i, &["path"])?.to_string(),
                        ))
                    })
                    .collect(),
                None => data
                    .map(|d| d.keys().map(|k| (k.clone(), k.clone())).collect())
                    .unwrap_or_default(),
            };
        let sub_path = str_at(m, &["subPath"]).filter(|s| !s.is_empty());
        for (key, rel) in items {
            let path = match sub_path {
                // A subPath mounts that one path of the volume at mountPath.
                Some(sp) if sp == rel => mount_path.to_string(),
                Some(_) => continue,
                None => format!("{}/{rel}", mount_path.trim_end_matches('/')),
            };
            out.push(MountedFile {
                home_rel: home_relative(&path),
                text: data.and_then(|d| d.get(&key).cloned()),
                source: format!("configMap/{cm} {key}"),
                mount_path: path,
            });
        }
        // A subPath to a key that a missing ConfigMap might hold: still record where it goes.
        if let (Some(sp), None) = (sub_path, data) {
            out.push(MountedFile {
                home_rel: home_relative(mount_path),
                text: None,
                source: format!("configMap/{cm} {sp}"),
                mount_path: mount_path.to_string(),
            });
        }
    }
    out
}

/// Where a container path lands in the API-M home: from its `repository/` or `bin/`
/// component on, when that follows `wso2-config-volume/` (copied over the home by WSO2's
/// entrypoint) or a `wso2am*` home directory.
fn home_relative(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    // A `..` would climb out of the home (and out of the root `kube` builds).
    if parts.iter().any(|p| *p == ".." || *p == ".") {
        return None;
    }
    let base = parts
        .iter()
        .position(|p| *p == "wso2-config-volume" || p.starts_with("wso2am"))?;
    let rest = &parts[base + 1..];
    match rest.first() {
        Some(&"repository") | Some(&"bin") if rest.len() > 1 => Some(rest.join("/")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_one(yaml: &str) -> Vec<Workload> {
        read(&[("m.yaml".to_string(), yaml.to_string())]).expect("reads")
    }

    const GW: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: gw-conf, namespace: apim}
data:
  deployment.toml: |
    [server]
    hostname = "gw.wso2.com"
---
apiVersion: v1
kind: Service
metadata: {name: gw, namespace: apim}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: wso2am-gw, namespace: apim}
spec:
  replicas: 2
  strategy:
    rollingUpdate: {maxSurge: "50%"}
  template:
    spec:
      securityContext:
        sysctls:
        - {name: net.ipv4.tcp_keepalive_time, value: "600"}
      containers:
      - name: sidecar
        image: busybox:1.36
      - name: wso2am-gateway
        image: docker.wso2.com/wso2am:4.2.0.12-alpine
        args: ["-Dprofile=gateway-worker"]
        env:
        - {name: JVM_MEM_OPTS, value: "-Xms1g -Xmx3g"}
        - name: NODE_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        resources:
          requests: {memory: 2Gi}
          limits: {memory: "2560Mi", cpu: "1500m"}
        volumeMounts:
        - name: conf
          mountPath: /home/wso2carbon/wso2-config-volume/repository/conf/deployment.toml
          subPath: deployment.toml
      volumes:
      - name: conf
        configMap: {name: gw-conf}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: gw, namespace: apim}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: wso2am-gw}
  minReplicas: 2
  maxReplicas: 5
"#;

    #[test]
    fn reads_a_gateway_workload() {
        let ws = read_one(GW);
        assert_eq!(ws.len(), 1, "{ws:#?}");
        let w = &ws[0];
        assert_eq!(w.id(), "Deployment/wso2am-gw");
        assert_eq!(w.namespace.as_deref(), Some("apim"));
        assert_eq!(w.source, "m.yaml#3");
        assert_eq!(w.container, "wso2am-gateway");
        assert_eq!(w.version.as_deref(), Some("4.2.0"));
        assert_eq!(w.replicas, Some(2));
        assert_eq!(w.hpa_max_replicas, Some(5));
        // 50% of the HPA's 5 pods, rounded up.
        assert_eq!(w.max_surge, Some(3));
        assert_eq!(w.memory_limit_mb, Some(2560));
        assert_eq!(w.memory_request_mb, Some(2048));
        assert_eq!(w.cpu_limit_millis, Some(1500));
        assert_eq!(w.sysctls["net.ipv4.tcp_keepalive_time"], "600");
        assert_eq!(w.run_as_user, None);
        assert_eq!(w.env_value("JVM_MEM_OPTS"), Some("-Xms1g -Xmx3g"));
        assert_eq!(w.env_value("NODE_IP"), None);
        assert!(
            w.env
                .iter()
                .any(|e| e.name == "NODE_IP" && e.value.is_none())
        );
        assert_eq!(w.command, ["-Dprofile=gateway-worker"]);
        let toml = w.home_file(DEPLOYMENT_TOML).expect("deployment.toml");
        assert!(toml.text.as_deref().unwrap_or("").contains("gw.wso2.com"));
        assert_eq!(toml.source, "configMap/gw-conf deployment.toml");
    }

    #[test]
    fn a_list_and_items_mounts_and_a_configmap_only_workload() {
        let yaml = r#"
kind: List
items:
- kind: ConfigMap
  metadata: {name: tm}
  data: {toml: "[server]\nhostname = \"tm\"\n", other: x}
- kind: StatefulSet
  metadata: {name: tm}
  spec:
    template:
      spec:
        containers:
        - name: tm
          image: registry.local:5000/custom/apim@sha256:abcd
          envFrom:
          - configMapRef: {name: tm-env}
          - secretRef: {name: tm-secrets}
          volumeMounts:
          - {name: c, mountPath: /home/wso2carbon/wso2am-4.2.0/repository/conf/}
        volumes:
        - name: c
          configMap:
            name: tm
            items: [{key: toml, path: deployment.toml}]
"#;
        let ws = read_one(yaml);
        assert_eq!(ws.len(), 1, "{ws:#?}");
        let w = &ws[0];
        assert_eq!(w.source, "m.yaml#1.items[1]");
        assert_eq!(w.version, None);
        assert_eq!(w.replicas, Some(1));
        assert_eq!(w.max_surge, Some(0));
        assert_eq!(w.files.len(), 1, "only the projected key: {:#?}", w.files);
        assert!(w.home_file(DEPLOYMENT_TOML).is_some());
        assert!(w.notes.iter().any(|n| n.contains("configMap/tm-env")));
        assert!(w.notes.iter().any(|n| n.contains("secret/tm-secrets")));
        assert!(w.notes.iter().any(|n| n.contains("version unknown")));
    }

    #[test]
    fn documents_that_are_not_api_m_workloads_are_skipped() {
        let yaml = "kind: Deployment\nmetadata: {name: nginx}\nspec:\n  template:\n    spec:\n      containers: [{name: n, image: nginx}]\n---\n---\nkind: Secret\nmetadata: {name: s}\n---\n- just\n- a list\n---\n42\n";
        assert!(read_one(yaml).is_empty());
    }

    #[test]
    fn surge_defaults_and_forms() {
        let dep = |strategy: &str, replicas: u32| {
            format!(
                "kind: Deployment\nmetadata: {{name: a}}\nspec:\n  replicas: {replicas}\n{strategy}  template:\n    spec:\n      containers: [{{name: a, image: wso2/wso2am:4.2.0}}]\n"
            )
        };
        let surge = |s: &str, r| read_one(&dep(s, r))[0].max_surge;
        // Default 25%, rounded up.
        assert_eq!(surge("", 3), Some(1));
        assert_eq!(surge("", 8), Some(2));
        assert_eq!(
            surge("  strategy: {rollingUpdate: {maxSurge: 2}}\n", 3),
            Some(2)
        );
        assert_eq!(
            surge("  strategy: {rollingUpdate: {maxSurge: '10%'}}\n", 3),
            Some(1)
        );
        assert_eq!(
            surge("  strategy: {rollingUpdate: {maxSurge: 0}}\n", 3),
            Some(0)
        );
        assert_eq!(surge("  strategy: {type: Recreate}\n", 3), Some(0));
        assert_eq!(
            surge("  strategy: {rollingUpdate: {maxSurge: lots}}\n", 3),
            None
        );
    }

    #[test]
    fn env_from_a_configmap_with_a_prefix_under_env_and_a_daemonset() {
        let yaml = r#"
kind: ConfigMap
metadata: {name: jvm}
data: {JAVA_OPTS: "-Xmx1g", JVM_MEM_OPTS: "-Xms512m"}
---
kind: DaemonSet
metadata: {name: edge}
spec:
  template:
    spec:
      securityContext: {runAsUser: 1000}
      containers:
      - name: gw
        image: wso2/wso2am:4.2.0
        securityContext: {runAsUser: 802}
        envFrom:
        - configMapRef: {name: jvm}
        - configMapRef: {name: jvm}
          prefix: OLD_
        env:
        - {name: JAVA_OPTS, value: "-Xmx2g"}
"#;
        let ws = read_one(yaml);
        let w = &ws[0];
        assert_eq!(w.kind, "DaemonSet");
        assert_eq!(
            (w.replicas, w.max_surge),
            (None, None),
            "the node count is the cluster's"
        );
        // `env` wins over `envFrom`; a prefixed copy is another variable.
        assert_eq!(w.env_value("JAVA_OPTS"), Some("-Xmx2g"));
        assert_eq!(w.env_value("JVM_MEM_OPTS"), Some("-Xms512m"));
        assert_eq!(w.env_value("OLD_JAVA_OPTS"), Some("-Xmx1g"));
        assert_eq!(w.env.iter().filter(|e| e.name == "JAVA_OPTS").count(), 1);
        // The container's runAsUser over the pod's.
        assert_eq!(w.run_as_user, Some(802));
    }

    #[test]
    fn quantities() {
        assert_eq!(memory_mb("512Mi"), Some(512));
        assert_eq!(memory_mb("2Gi"), Some(2048));
        assert_eq!(memory_mb("0.5Gi"), Some(512));
        assert_eq!(memory_mb("1G"), Some(953));
        assert_eq!(memory_mb("1073741824"), Some(1024));
        assert_eq!(memory_mb("1e9"), Some(953));
        assert_eq!(memory_mb("129M"), Some(123));
        assert_eq!(memory_mb("-1Gi"), None);
        assert_eq!(memory_mb("lots"), None);
        assert_eq!(memory_mb("1Zi"), None);
        assert_eq!(memory_mb(""), None);
        assert_eq!(memory_mb("1e999"), None);
        assert_eq!(cpu_millis("500m"), Some(500));
        assert_eq!(cpu_millis("2"), Some(2000));
        assert_eq!(cpu_millis("1.5"), Some(1500));
        assert_eq!(cpu_millis("0.0001"), Some(1));
        assert_eq!(cpu_millis("x"), None);
    }

    #[test]
    fn image_versions() {
        assert_eq!(
            version_of_image("wso2/wso2am:4.2.0").as_deref(),
            Some("4.2.0")
        );
        assert_eq!(
            version_of_image("wso2/wso2am:4.3.0-alpine").as_deref(),
            Some("4.3.0")
        );
        assert_eq!(
            version_of_image("host:5000/wso2/wso2am-gateway:4.4.0.1-ubi").as_deref(),
            Some("4.4.0")
        );
        assert_eq!(version_of_image("host:5000/wso2/wso2am"), None);
        assert_eq!(version_of_image("wso2/wso2am:latest"), None);
        assert_eq!(version_of_image("wso2/wso2am:4.2"), None);
        assert_eq!(version_of_image("wso2/wso2am:4.2.0@sha256:ab"), None);
        assert!(is_apim_image("docker.wso2.com/wso2am-tm:4.2.0"));
        assert!(!is_apim_image("wso2/wso2is:6.1.0"));
        assert!(!is_apim_image("wso2am.local:5000/nginx:1"));
    }

    #[test]
    fn home_paths() {
        assert_eq!(
            home_relative("/home/wso2carbon/wso2-config-volume/repository/conf/deployment.toml")
                .as_deref(),
            Some(DEPLOYMENT_TOML)
        );
        assert_eq!(
            home_relative("/home/wso2carbon/wso2am-4.2.0/bin/api-manager.sh").as_deref(),
            Some("bin/api-manager.sh")
        );
        assert_eq!(home_relative("/etc/config/deployment.toml"), None);
        assert_eq!(
            home_relative("/home/wso2carbon/wso2am-4.2.0/repository/../../../etc/passwd"),
            None
        );
        assert_eq!(
            home_relative("/home/wso2carbon/wso2-config-volume/x.txt"),
            None
        );
    }

    fn error_of(yaml: &str) -> String {
        read(&[("bad.yaml".to_string(), yaml.to_string())])
            .expect_err("an error")
            .to_string()
    }

    #[test]
    fn bad_yaml_is_an_error_with_a_place() {
        let e = error_of("kind: Deployment\nmetadata:\n  name: [unclosed\n");
        assert!(e.starts_with("bad.yaml:"), "{e}");
        assert!(
            e.split(':')
                .nth(1)
                .is_some_and(|l| l.parse::<u32>().is_ok()),
            "a line number: {e}"
        );
        assert!(e.contains("not valid YAML"), "{e}");
        assert!(
            !e.contains("column"),
            "the place once, as file:line:column: {e}"
        );
    }

    #[test]
    fn an_alias_bomb_is_refused_quickly() {
        let mut yaml = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='p' {
            yaml.push_str(&format!(
                "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = c;
        }
        let start = std::time::Instant::now();
        let e = error_of(&yaml);
        assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
        assert!(e.contains("bad.yaml"), "{e}");
        assert!(e.contains("refused: larger or deeper"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let yaml = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = error_of(&yaml);
        assert!(e.contains("bad.yaml"), "{e}");
        let yaml = (0..10_000).fold(String::new(), |mut s, i| {
            s.push_str(&" ".repeat(i));
            s.push_str("a:\n");
            s
        });
        let e = error_of(&yaml);
        assert!(e.contains("bad.yaml"), "{e}");
    }

    #[test]
    fn binary_input_is_an_error() {
        let e = error_of("\u{0}\u{1}\u{2}kind: \u{7f}\u{0}[");
        assert!(e.contains("bad.yaml"), "{e}");
    }
}

#[cfg(test)]
mod fixture_tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kubernetes")
            .join(name)
    }

    #[test]
    fn the_distributed_fixture() {
        let ws = read_files(&[fixture("apim-distributed.yaml")]).expect("reads");
        let ids: Vec<String> = ws.iter().map(Workload::id).collect();
        assert_eq!(
            ids,
            [
                "Deployment/apim-gw-wso2am-gateway",
                "Deployment/apim-cp-wso2am-cp",
                "StatefulSet/apim-tm-wso2am-tm"
            ]
        );
        let (gw, cp, tm) = (&ws[0], &ws[1], &ws[2]);
        assert_eq!(gw.source, "apim-distributed.yaml#3");
        assert_eq!(
            (gw.replicas, gw.hpa_max_replicas, gw.max_surge),
            (Some(2), Some(6), Some(1))
        );
        assert_eq!(
            (gw.memory_limit_mb, gw.cpu_limit_millis),
            (Some(2048), Some(2000))
        );
        assert_eq!(gw.sysctls.len(), 2);
        assert_eq!(gw.run_as_user, Some(802));
        assert_eq!(gw.services, ["apim-gw-wso2am-gateway-service"]);
        assert_eq!(cp.services, ["apim-cp-wso2am-cp-service"]);
        assert_eq!(tm.services, ["apim-tm-wso2am-tm-service"]);
        assert_eq!(
            gw.env_value("JAVA_OPTS"),
            Some("-Djdk.tls.ephemeralDHKeySize=2048 -Xmx3072m")
        );
        // The entrypoint script is mounted outside the home: not a home file.
        assert_eq!(gw.files.iter().filter(|f| f.home_rel.is_some()).count(), 1);
        assert_eq!(cp.max_surge, Some(0));
        assert_eq!(tm.max_surge, Some(0));
        assert_eq!(tm.version.as_deref(), Some("4.2.0"));
        assert_eq!(tm.env_value("JVM_MEM_OPTS"), Some("-Xms1536m -Xmx1536m"));
        assert!(
            tm.home_file(DEPLOYMENT_TOML)
                .and_then(|f| f.text.as_deref())
                .is_some_and(|t| t.contains("traffic-manager"))
        );
        assert!(gw.notes.is_empty() && cp.notes.is_empty() && tm.notes.is_empty());
    }

    #[test]
    fn the_bad_fixture_names_its_line() {
        let e = read_files(&[fixture("bad.yaml")])
            .expect_err("bad")
            .to_string();
        assert!(e.starts_with("bad.yaml:"), "{e}");
        assert!(
            read_files(&[fixture("not-apim.yaml")])
                .expect("reads")
                .is_empty()
        );
        let e = read_files(&[fixture("absent.yaml")])
            .expect_err("absent")
            .to_string();
        assert!(e.contains("absent.yaml"), "{e}");
    }
}
