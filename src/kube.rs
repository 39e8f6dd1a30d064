//! Kubernetes without a cluster: each workload of rendered manifests becomes a node export,
//! read exactly as a host would be (see `fleet::k8s` for the reading).
//!
//! For every API-M workload this builds a VIRTUAL ROOT in a private temporary directory: an
//! image of what one pod of it gets, in the places the audit reads a host from, and runs
//! `facts::collect` on it, so a pod is judged by the same code as a VM:
//!
//! - `home/wso2carbon/wso2am-<version>/` (WSO2's images' home): the files the ConfigMaps mount
//!   (deployment.toml above all); a start script with the version's stock heap flags when the
//!   manifests do not mount one (WSO2's images ship the stock script);
//! - the container's literal `JAVA_OPTS`, `JVM_MEM_OPTS` and launcher variables as the
//!   `Environment=` of a service unit whose `ExecStart=` is that script: the audit's
//!   JVM-in-effect reads a service's environment from there (there is no systemd in a pod; the
//!   unit only carries the environment, and `run/systemd/system` is absent so nothing takes the
//!   pod for a systemd host);
//! - `proc/1/cgroup` under `kubepods` (the container marker the audit knows), the memory limit
//!   as cgroup v2 `memory.max`, the CPU limit as `cpu.max` and as the CPUs the JVM counts;
//! - the pod's `securityContext.sysctls` as live `proc/sys` values.
//!
//! Anything else (the node's RAM, kernel, JDK, the other sysctls, open-file limits) is not in
//! the manifests and stays unknown. The directory is removed afterwards, and no path in the
//! export shows it: the workload is named instead.

use crate::facts::FactsOptions;
use crate::fleet::facts::{KubernetesPart, NodeFacts};
use crate::fleet::k8s::{self, Workload};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("{0}")]
    Manifests(String),
}

/// The home inside a pod of WSO2's images (`WORKING_DIRECTORY` is `/home/wso2carbon`).
const IMAGE_HOME_DIR: &str = "home/wso2carbon";

/// The service unit that carries the container's environment in the virtual root.
const UNIT: &str = "etc/systemd/system/container-env.service";

/// The environment variables that carry JVM options (the start script's and the launcher's).
const JVM_VARS: [&str; 5] = [
    "JVM_MEM_OPTS",
    "JAVA_OPTS",
    "JAVA_TOOL_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "_JAVA_OPTIONS",
];

/// The heap the stock start scripts of every API-M release (1.10 to 4.x) give when
/// `JVM_MEM_OPTS` is not set.
const STOCK_MEM_OPTS: &str = "-Xms256m -Xmx1024m";

/// One export per API-M workload of `manifests`, named by workload (`wso2am-gw`; with its
/// namespace, `apim-wso2am-gw`, when two namespaces hold the same name).
pub fn exports(
    manifests: &[PathBuf],
    salt: Option<&[u8]>,
) -> Result<Vec<(String, NodeFacts)>, KubeError> {
    let workloads = k8s::read_files(manifests).map_err(|e| KubeError::Manifests(e.to_string()))?;
    if workloads.is_empty() {
        return Err(KubeError::Manifests(format!(
            "{}: no API-M workload (a Deployment, StatefulSet or DaemonSet with a wso2am* image or a mounted deployment.toml)",
            manifests
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut out = Vec::new();
    for w in &workloads {
        let twice = workloads.iter().filter(|o| o.name == w.name).count() > 1;
        let name = match (&w.namespace, twice) {
            (Some(ns), true) => format!("{ns}-{}", w.name),
            _ => w.name.clone(),
        };
        out.push((name, export(w, salt)?));
    }
    Ok(out)
}

/// The export of one workload: its virtual root, collected, then told it is a workload.
pub fn export(w: &Workload, salt: Option<&[u8]>) -> Result<NodeFacts, KubeError> {
    let dir = TempRoot::new().map_err(|e| KubeError::Manifests(format!("{}: {e}", w.id())))?;
    let built = build_root(w, dir.path())
        .map_err(|e| KubeError::Manifests(format!("{}: building its root: {e}", w.id())))?;
    let opts = FactsOptions {
        audit: crate::audit::AuditOptions {
            root: dir.path().to_path_buf(),
            ..Default::default()
        },
        homes: vec![built.home.clone()],
        salt: salt.map(<[u8]>::to_vec),
    };
    let mut facts = crate::facts::collect(&opts)
        .map_err(|e| KubeError::Manifests(format!("{}: {e}", w.id())))?;
    facts.host.kubernetes = Some(kubernetes_part(w));
    facts.notes.extend(built.notes);
    facts
        .notes
        .extend(w.notes.iter().map(|n| format!("{}: {n}", w.id())));
    Ok(scrub(facts, dir.path(), w))
}

/// What a workload tells the pool and memory rules beyond one pod.
fn kubernetes_part(w: &Workload) -> KubernetesPart {
    KubernetesPart {
        namespace: w.namespace.clone(),
        workload: w.id(),
        container: w.container.clone(),
        image: w.image.clone(),
        replicas: w.replicas,
        hpa_max_replicas: w.hpa_max_replicas,
        max_surge: w.max_surge,
        memory_limit_mb: w.memory_limit_mb,
        memory_request_mb: w.memory_request_mb,
        cpu_limit_millis: w.cpu_limit_millis,
        sysctls: w.sysctls.clone(),
        source: w.source.clone(),
    }
}

/// A virtual root, built.
pub struct BuiltRoot {
    /// The API-M home, absolute (under the root).
    pub home: PathBuf,
    /// What was assumed or left out, for the export's notes.
    pub notes: Vec<String>,
}

/// Writes the image of one pod of `w` under `root` (an empty directory).
pub fn build_root(w: &Workload, root: &Path) -> std::io::Result<BuiltRoot> {
    let mut notes = Vec::new();
    let home_name = match &w.version {
        Some(v) => format!("wso2am-{v}"),
        None => "wso2am".to_string(),
    };
    let home_rel = format!("{IMAGE_HOME_DIR}/{home_name}");
    let home = root.join(&home_rel);
    std::fs::create_dir_all(home.join("repository/conf"))?;

    for f in &w.files {
        let (Some(rel), Some(text)) = (&f.home_rel, &f.text) else {
            continue;
        };
        write(root, &format!("{home_rel}/{rel}"), text)?;
    }
    if w.home_file("repository/conf/deployment.toml").is_none() {
        notes.push("no deployment.toml in the manifests' ConfigMaps: the image's own applies and is unknown here".to_string());
    }

    if !w.files.iter().any(|f| {
        f.home_rel
            .as_deref()
            .is_some_and(|r| r.starts_with("repository/resources/security/"))
    }) {
        notes.push("the keystores are the image's or a Secret's, not in the manifests: their files are not fingerprinted".to_string());
    }

    // 4.x starts with api-manager.sh, earlier releases with wso2server.sh.
    let major = w
        .version
        .as_deref()
        .and_then(|v| v.split('.').next()?.parse::<u32>().ok());
    let script = match major {
        Some(m) if m < 4 => "bin/wso2server.sh",
        _ => "bin/api-manager.sh",
    };
    let mounted_script = w.files.iter().any(|f| {
        f.text.is_some()
            && matches!(
                f.home_rel.as_deref(),
                Some("bin/api-manager.sh" | "bin/wso2server.sh")
            )
    });
    if !mounted_script {
        write(root, &format!("{home_rel}/{script}"), &stock_script())?;
        if w.env_value("JVM_MEM_OPTS").is_none() {
            notes.push(format!(
                "the heap is the stock start script's ({STOCK_MEM_OPTS}): the manifests set no JVM_MEM_OPTS and mount no start script"
            ));
        }
    }

    // The environment that reaches the start script, carried by a unit (see the module doc).
    let mut unit = String::from("[Unit]\nDescription=the container's environment\n\n[Service]\n");
    let profile = w
        .command
        .iter()
        .rev()
        .find(|a| a.starts_with("-Dprofile="))
        .map(|a| format!(" {a}"))
        .unwrap_or_default();
    let _ = writeln!(unit, "ExecStart=/{home_rel}/{script}{profile}");
    // Whose limits apply: the pod's `runAsUser`, else the image's user (WSO2's images run as
    // `wso2carbon`); without a `User=` the audit would take the service for root's.
    match w.run_as_user {
        Some(uid) => {
            let _ = writeln!(unit, "User={uid}");
        }
        None => {
            let _ = writeln!(unit, "User=wso2carbon");
            notes.push("no runAsUser: the user is taken to be the image's own (`wso2carbon` in WSO2's images)".to_string());
        }
    }
    for var in JVM_VARS {
        let Some(e) = w.env.iter().rev().find(|e| e.name == var) else {
            continue;
        };
        match &e.value {
            Some(v) if !v.contains(['\n', '\r', '\0']) => {
                let _ = writeln!(unit, "Environment=\"{var}={}\"", unit_escape(v));
            }
            Some(_) => notes.push(format!(
                "{var} spans several lines: not read, the JVM options it holds are unknown"
            )),
            None => notes.push(format!(
                "{var} comes from the cluster ({}): its JVM options are unknown",
                e.source
            )),
        }
    }
    write(root, UNIT, &unit)?;

    // A container of a pod: cgroup v2 under kubepods, PID 1 not an init (no sysctl.d at boot).
    write(
        root,
        "proc/1/cgroup",
        "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod.slice/cri-containerd.scope\n",
    )?;
    write(root, "proc/1/comm", "docker-entrypoi\n")?;
    write(root, "proc/sys/kernel/hostname", &format!("{}\n", w.name))?;
    if !w.services.is_empty() {
        notes.push(format!(
            "other nodes reach it through the Service(s) {}",
            w.services.join(", ")
        ));
    }
    notes.push("hostname is the workload's name (pods get generated names); addresses, kernel, JDK, RAM and limits are the cluster's and unknown".to_string());

    match w.memory_limit_mb {
        Some(mb) => write(
            root,
            "sys/fs/cgroup/memory.max",
            &format!("{}\n", mb.saturating_mul(1 << 20)),
        )?,
        None => notes.push(
            "no resources.limits.memory: the pod may use the node's memory, which is unknown"
                .to_string(),
        ),
    }
    if let Some(millis) = w.cpu_limit_millis.filter(|m| *m > 0) {
        write(
            root,
            "sys/fs/cgroup/cpu.max",
            &format!("{} 100000\n", millis.saturating_mul(100)),
        )?;
        // The JVM counts a CPU quota rounded up as its processors; that is what it sizes by.
        let cpus = millis.div_ceil(1000).min(4096);
        let online = match cpus {
            1 => "0".to_string(),
            n => format!("0-{}", n - 1),
        };
        write(
            root,
            "sys/devices/system/cpu/online",
            &format!("{online}\n"),
        )?;
        notes.push(format!(
            "cores: {cpus}, the CPU limit ({millis}m) rounded up as the JVM counts it"
        ));
    }
    for (key, value) in &w.sysctls {
        if !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            || key.split('.').any(|p| p.is_empty())
        {
            notes.push(format!(
                "sysctl `{key}` is not a kernel parameter name: ignored"
            ));
            continue;
        }
        write(
            root,
            &format!("proc/sys/{}", key.replace('.', "/")),
            &format!("{value}\n"),
        )?;
    }
    Ok(BuiltRoot { home, notes })
}

/// A start script reduced to what the audit reads from the stock one: the heap default when
/// `JVM_MEM_OPTS` is unset, and where `$JVM_MEM_OPTS` and `$JAVA_OPTS` go on the java line.
fn stock_script() -> String {
    format!(
        "#!/bin/sh\n\
         # The stock start script's JVM options (written by apim-tune for a Kubernetes workload)\n\
         JAVACMD=\"$JAVA_HOME/bin/java\"\n\
         if [ -z \"$JVM_MEM_OPTS\" ]; then\n\
         \x20  JVM_MEM_OPTS=\"{STOCK_MEM_OPTS}\"\n\
         fi\n\
         $JAVACMD \\\n\
         \x20   $JVM_MEM_OPTS \\\n\
         \x20   -XX:+HeapDumpOnOutOfMemoryError \\\n\
         \x20   $JAVA_OPTS \\\n\
         \x20   -Dcarbon.home=\"$CARBON_HOME\" \\\n\
         \x20   org.wso2.carbon.bootstrap.Bootstrap \"$@\"\n"
    )
}

/// A value inside a double-quoted `Environment=` assignment: systemd unescapes `\\` and `\"`,
/// and expands `%` specifiers (so `%` is written `%%`).
fn unit_escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
}

fn write(root: &Path, rel: &str, text: &str) -> std::io::Result<()> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

/// Replaces every mention of the temporary root and of the unit that stands for the
/// container's environment, anywhere in the export (sources, notes, the embedded report), by
/// what they are: the workload, its container and its env. A finding placed in the stand-in
/// unit loses its line and column, which would point into a file that does not exist.
fn scrub(facts: NodeFacts, root: &Path, w: &Workload) -> NodeFacts {
    let Ok(mut value) = serde_json::to_value(&facts) else {
        return facts;
    };
    let mut roots = vec![root.display().to_string()];
    if let Ok(c) = root.canonicalize() {
        roots.push(c.display().to_string());
    }
    roots.sort_by_key(|r| std::cmp::Reverse(r.len()));
    let env = format!("{} {} env", w.source, w.id());
    let container = format!("container {}", w.container);
    let unit_name = UNIT.rsplit('/').next().unwrap_or(UNIT);
    let fix = |s: &str| {
        let mut s = s.to_string();
        for r in &roots {
            s = s.replace(&format!("{r}/{UNIT}"), UNIT);
            s = s.replace(r.as_str(), &format!("{} {}", w.source, w.id()));
        }
        let s = replace_with_place(&s.replace(&format!("/{UNIT}"), UNIT), UNIT, &env);
        s.replace(", which the fix edits through a drop-in of the unit", "")
            .replace(
                &format!("{unit_name}'s ExecStart"),
                &format!("{container}'s command and args"),
            )
            .replace(&format!("of {unit_name}"), &format!("of {container}"))
            .replace(unit_name, &container)
    };
    scrub_value(&mut value, &fix, &env);
    serde_json::from_value(value).unwrap_or(facts)
}

/// Replaces `needle` and the `:line:column` after it (which point into the stand-in file).
fn replace_with_place(s: &str, needle: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(needle) {
        out.push_str(&rest[..i]);
        out.push_str(with);
        rest = &rest[i + needle.len()..];
        for _ in 0..2 {
            let digits = rest
                .strip_prefix(':')
                .map_or(0, |r| r.bytes().take_while(u8::is_ascii_digit).count());
            if digits == 0 {
                break;
            }
            rest = &rest[1 + digits..];
        }
    }
    out.push_str(rest);
    out
}

fn scrub_value(v: &mut Value, f: &dyn Fn(&str) -> String, env: &str) {
    match v {
        Value::String(s) => *s = f(s),
        Value::Array(items) => items.iter_mut().for_each(|i| scrub_value(i, f, env)),
        Value::Object(map) => {
            map.values_mut().for_each(|i| scrub_value(i, f, env));
            if map.get("file").and_then(Value::as_str) == Some(env) {
                for place in ["line", "column"] {
                    if let Some(p) = map.get_mut(place) {
                        *p = Value::Null;
                    }
                }
            }
        }
        _ => {}
    }
}

/// A private directory removed when dropped: the deployment.toml it holds may carry secrets,
/// hence owner-only.
struct TempRoot(PathBuf);

impl TempRoot {
    fn new() -> std::io::Result<TempRoot> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "apim-tune-pod-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        // Not `recursive`: an existing directory of that name is an error, never reused.
        builder.create(&path)?;
        Ok(TempRoot(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway() -> Workload {
        let yaml = r#"
kind: ConfigMap
metadata: {name: conf}
data:
  deployment.toml: "[server]\nhostname = \"gw\"\n"
---
kind: Deployment
metadata: {name: wso2am-gw}
spec:
  template:
    spec:
      securityContext:
        sysctls: [{name: net.core.somaxconn, value: "4096"}, {name: ../../etc, value: x}]
      containers:
      - name: am
        image: wso2/wso2am:4.2.0
        args: ["-Dprofile=gateway-worker"]
        env:
        - {name: JAVA_OPTS, value: "-Xmx3g -Dx=\"a b\" -Dp=50%"}
        - name: JVM_MEM_OPTS
          valueFrom: {secretKeyRef: {name: s, key: k}}
        resources: {limits: {memory: 2Gi, cpu: 1500m}}
        volumeMounts:
        - {name: c, mountPath: /home/wso2carbon/wso2-config-volume/repository/conf/deployment.toml, subPath: deployment.toml}
      volumes:
      - {name: c, configMap: {name: conf}}
"#;
        let mut ws = k8s::read(&[("m.yaml".into(), yaml.into())]).expect("reads");
        ws.remove(0)
    }

    fn text(root: &Path, rel: &str) -> String {
        std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    #[test]
    fn the_root_is_an_image_of_the_pod() {
        let w = gateway();
        let dir = TempRoot::new().expect("temp dir");
        let root = dir.path();
        let built = build_root(&w, root).expect("builds");
        assert_eq!(built.home, root.join("home/wso2carbon/wso2am-4.2.0"));
        assert!(
            text(
                root,
                "home/wso2carbon/wso2am-4.2.0/repository/conf/deployment.toml"
            )
            .contains("hostname = \"gw\"")
        );
        assert!(
            text(root, "home/wso2carbon/wso2am-4.2.0/bin/api-manager.sh").contains(STOCK_MEM_OPTS)
        );
        let unit = text(root, UNIT);
        assert!(
            unit.contains(
                "ExecStart=/home/wso2carbon/wso2am-4.2.0/bin/api-manager.sh -Dprofile=gateway-worker"
            ),
            "{unit}"
        );
        assert!(
            unit.contains(r#"Environment="JAVA_OPTS=-Xmx3g -Dx=\"a b\" -Dp=50%%""#),
            "{unit}"
        );
        assert!(
            !unit.contains("JVM_MEM_OPTS"),
            "unknown, not written: {unit}"
        );
        assert!(
            built
                .notes
                .iter()
                .any(|n| n.contains("JVM_MEM_OPTS comes from the cluster")),
            "{:?}",
            built.notes
        );
        assert_eq!(text(root, "sys/fs/cgroup/memory.max"), "2147483648\n");
        assert_eq!(text(root, "sys/fs/cgroup/cpu.max"), "150000 100000\n");
        assert_eq!(text(root, "sys/devices/system/cpu/online"), "0-1\n");
        assert_eq!(text(root, "proc/sys/net/core/somaxconn"), "4096\n");
        assert!(text(root, "proc/1/cgroup").contains("kubepods"));
        assert_eq!(text(root, "proc/sys/kernel/hostname"), "wso2am-gw\n");
        // Nothing the manifests do not give.
        for absent in [
            "proc/meminfo",
            "proc/sys/kernel/osrelease",
            "run/systemd/system",
            "etc/passwd",
            "etc/security",
        ] {
            assert!(!root.join(absent).exists(), "{absent}");
        }
        // The sysctl named `../../etc` wrote nothing, under the root or outside it.
        assert!(!root.join("proc/sys/etc").exists() && !root.join("etc/x").exists());
        assert!(
            built
                .notes
                .iter()
                .any(|n| n.contains("not a kernel parameter"))
        );
    }

    #[test]
    fn the_temp_root_is_private_and_removed() {
        let dir = TempRoot::new().expect("temp dir");
        let path = dir.path().to_path_buf();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn scrub_names_the_workload_instead_of_the_temp_dir() {
        let w = gateway();
        let root = Path::new("/tmp/apim-tune-pod-1-2-3");
        let mut facts = NodeFacts::default();
        facts.notes.push(format!(
            "JAVA_OPTS at {}/{UNIT}:5:13 and {}/home/x; `User=` of container-env.service at {UNIT}:6:1, -Dprofile in container-env.service's ExecStart",
            root.display(),
            root.display()
        ));
        facts.homes.push(crate::fleet::facts::HomePart {
            report: crate::fleet::facts::EmbeddedReport::from_value(
                &serde_json::json!({"findings": [
                    {"file": UNIT, "line": 8, "column": 3},
                    {"file": "home/x/deployment.toml", "line": 2, "column": 1},
                ]}),
            ),
            ..Default::default()
        });
        let out = scrub(facts, root, &w);
        assert_eq!(
            out.notes[0],
            "JAVA_OPTS at m.yaml#2 Deployment/wso2am-gw env and m.yaml#2 Deployment/wso2am-gw/home/x; \
             `User=` of container am at m.yaml#2 Deployment/wso2am-gw env, -Dprofile in container am's command and args"
        );
        let report = out.homes[0].report.value();
        let findings = &report["findings"];
        assert_eq!(findings[0]["file"], "m.yaml#2 Deployment/wso2am-gw env");
        assert_eq!(findings[0]["line"], Value::Null);
        assert_eq!(findings[0]["column"], Value::Null);
        assert_eq!(findings[1]["line"], 2);
        assert_eq!(
            replace_with_place("a X:1:2:3 b X: c X:9", "X", "Y"),
            "a Y:3 b Y: c Y"
        );
    }
}
