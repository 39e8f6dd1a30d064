//! `apim-tune host`: the facts the audit uses, each with where it came from, as text, JSON, or
//! Kubernetes/Docker snippets for the kernel parameters a container can set for itself.

use super::sanitize::sanitize;
use crate::host::HostFacts;
use crate::host::namespaced::{is_k8s_safe, is_namespaced};
use crate::host::process::JvmProcess;
use crate::host::systemd::{SYSTEMD_DEFAULT_NOFILE, Unit, UnitSetting};
use crate::model::ShownPaths;
use serde_json::{Value, json};
use std::fmt::Write;

/// Everything `apim-tune host` shows.
pub struct HostView<'a> {
    pub facts: &'a HostFacts,
    pub units: &'a [Unit],
    pub default_nofile: Option<&'a UnitSetting>,
    pub processes: &'a [JvmProcess],
    /// Recommended kernel parameters (key, value) for the selected role, for `--format k8s`.
    pub sysctls: Vec<(String, String)>,
    /// The memory in effect when something caps it, and the facts that are unknown.
    pub notes: Vec<String>,
    /// How the text names files (JSON keeps root-relative names, as the audit's does).
    pub paths: ShownPaths,
}

fn setting(s: &Option<UnitSetting>) -> Value {
    match s {
        Some(u) => json!({ "value": u.value, "at": u.location.to_string() }),
        None => Value::Null,
    }
}

pub fn json(v: &HostView) -> String {
    let f = v.facts;
    let doc = json!({
        "schema": "apim-tune/host/v1",
        "cores": f.cores.value,
        "memory_mb": f.memory_mb.value,
        "kernel": f.kernel.as_ref().map(|k| k.value.clone()),
        "distro": f.distro.as_ref().map(|d| json!({
            "id": d.id, "version_id": d.version_id, "pretty_name": d.pretty_name, "source": d.source,
        })),
        "cloud": f.cloud.as_ref().map(|c| c.value.clone()),
        "container": f.container.as_ref().map(|c| c.value.clone()),
        "proc_sys_read_only": f.proc_sys_read_only,
        "java": f.java.as_ref().map(|j| j.value),
        "nat": {
            "verdict": f.nat_verdict.as_str(),
            "signals": f.nat_evidence.iter().map(|s| json!({"name": s.name, "detail": s.detail})).collect::<Vec<_>>(),
        },
        "sources": {
            "cores": f.cores.source,
            "memory_mb": f.memory_mb.source,
            "kernel": f.kernel.as_ref().map(|k| k.source.clone()),
            "cloud": f.cloud.as_ref().map(|c| c.source.clone()),
            "container": f.container.as_ref().map(|c| c.source.clone()),
            "java": f.java.as_ref().map(|j| j.source.clone()),
        },
        "services": v.units.iter().map(|u| json!({
            "name": u.name,
            "file": u.file.display,
            "drop_ins": u.drop_ins.iter().map(|d| d.display.clone()).collect::<Vec<_>>(),
            "user": u.user.as_ref().map(|s| s.value.clone()),
            "exec_start": u.exec_start.as_ref().map(|s| crate::redact::redact_args(&s.value)),
            "limit_nofile": setting(&u.limit_nofile),
            "limit_nproc": setting(&u.limit_nproc),
            "java_home": u.environment.get("JAVA_HOME").map(|s| s.value.clone()),
        })).collect::<Vec<_>>(),
        "default_limit_nofile": match v.default_nofile {
            Some(s) => json!({ "value": s.value, "at": s.location.to_string() }),
            None => json!({ "value": format!("{}:{}", SYSTEMD_DEFAULT_NOFILE.0, SYSTEMD_DEFAULT_NOFILE.1), "at": "systemd default" }),
        },
        "notes": v.notes,
        "processes": v.processes.iter().map(|p| json!({
            "pid": p.pid,
            "carbon_home": p.carbon_home,
            "nofile": p.nofile.map(|(s, h)| json!({"soft": s.to_string(), "hard": h.to_string()})),
            "nproc": p.nproc.map(|(s, h)| json!({"soft": s.to_string(), "hard": h.to_string()})),
            "xms": p.xms, "xmx": p.xmx,
            "java_home": p.java_home,
            "source": p.source,
        })).collect::<Vec<_>>(),
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

pub fn text(v: &HostView) -> String {
    let f = v.facts;
    let p = &v.paths;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "cores      {} ({})",
        f.cores.value,
        p.text(&f.cores.source)
    );
    let _ = writeln!(
        o,
        "memory     {} MiB ({})",
        f.memory_mb.value,
        p.text(&f.memory_mb.source)
    );
    match &f.kernel {
        Some(k) => {
            let _ = writeln!(
                o,
                "kernel     {} ({})",
                sanitize(&k.value),
                p.text(&k.source)
            );
        }
        None => {
            let _ = writeln!(o, "kernel     unknown");
        }
    }
    match &f.distro {
        Some(d) => {
            let _ = writeln!(
                o,
                "distro     {} {} ({})",
                sanitize(&d.id),
                sanitize(d.version_id.as_deref().unwrap_or("")),
                p.text(&d.source)
            );
        }
        None => {
            let _ = writeln!(o, "distro     unknown (no {})", p.file("etc/os-release"));
        }
    }
    let fact = |name: &str, v: &Option<crate::host::Fact<String>>, none: &str| match v {
        Some(x) => format!(
            "{name:<10} {} ({})\n",
            sanitize(&x.value),
            p.text(&x.source)
        ),
        None => format!("{name:<10} {none}\n"),
    };
    for note in &v.notes {
        let _ = writeln!(o, "note       {}", sanitize(&p.text(note)));
    }
    o.push_str(&fact("cloud", &f.cloud, "none detected"));
    o.push_str(&fact("container", &f.container, "none detected"));
    if f.proc_sys_read_only == Some(true) {
        let _ = writeln!(
            o,
            "           /proc/sys is read-only: only namespaced sysctls can be set, by the runtime"
        );
    }
    if let Some(j) = &f.java {
        let _ = writeln!(o, "jdk        {} ({})", j.value, p.text(&j.source));
    }
    let _ = writeln!(o, "nat        {}", f.nat_verdict.as_str());
    for s in &f.nat_evidence {
        let _ = writeln!(o, "  - {}: {}", s.name, sanitize(&p.text(&s.detail)));
    }
    if v.units.is_empty() {
        let _ = writeln!(
            o,
            "services   no API-M systemd unit found (limits.conf applies to a login session)"
        );
    }
    for u in v.units {
        let _ = writeln!(o, "service    {} ({})", u.name, p.file(&u.file.display));
        let show = |k: &str, s: &Option<UnitSetting>| match s {
            Some(x) => format!(
                "  {k}={} ({})\n",
                sanitize(&x.value),
                p.location(&x.location)
            ),
            None => format!("  {k} not set\n"),
        };
        o.push_str(&show("User", &u.user));
        o.push_str(&show("LimitNOFILE", &u.limit_nofile));
        o.push_str(&show("LimitNPROC", &u.limit_nproc));
        if let Some(j) = u.environment.get("JAVA_HOME") {
            let _ = writeln!(
                o,
                "  JAVA_HOME={} ({})",
                sanitize(&j.value),
                p.location(&j.location)
            );
        }
    }
    for p in v.processes {
        let lim = |l: Option<(
            crate::host::limits::LimitValue,
            crate::host::limits::LimitValue,
        )>| {
            l.map(|(s, h)| format!("{s}/{h}"))
                .unwrap_or_else(|| "?".into())
        };
        let _ = writeln!(
            o,
            "process    pid {} home {} nofile {} nproc {} heap {}..{} ({})",
            p.pid,
            sanitize(p.carbon_home.as_deref().unwrap_or("?")),
            lim(p.nofile),
            lim(p.nproc),
            p.xms.as_deref().unwrap_or("?"),
            p.xmx.as_deref().unwrap_or("?"),
            v.paths.text(&p.source)
        );
    }
    o
}

/// Kubernetes `securityContext.sysctls` and `docker run --sysctl` for the namespaced
/// recommendations, and the node-level ones listed apart: a container cannot set those.
pub fn k8s(v: &HostView) -> String {
    let (pod, node): (Vec<_>, Vec<_>) = v.sysctls.iter().partition(|(k, _)| is_namespaced(k));
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Kernel parameters for API-M, split by where they can be set (apim-tune host --format k8s)."
    );
    let _ = writeln!(o, "# Per pod (namespaced): Kubernetes pod spec");
    let _ = writeln!(o, "securityContext:\n  sysctls:");
    for (k, val) in &pod {
        let note = if is_k8s_safe(k) {
            ""
        } else {
            "  # unsafe: allow with kubelet --allowed-unsafe-sysctls"
        };
        let _ = writeln!(o, "    - name: {k}\n      value: \"{val}\"{note}");
    }
    let flags: Vec<String> = pod
        .iter()
        .map(|(k, val)| format!("--sysctl {k}=\"{val}\""))
        .collect();
    let _ = writeln!(
        o,
        "\n# Per container: docker run / podman run\n# {}",
        flags.join(" ")
    );
    let _ = writeln!(
        o,
        "\n# Node-level (host-global): set on the node itself (sysctl.d, a DaemonSet or the machine image)"
    );
    for (k, val) in &node {
        let _ = writeln!(o, "# {k} = {val}");
    }
    o
}
