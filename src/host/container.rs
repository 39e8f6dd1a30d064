//! Whether the root is a container, and by which runtime (`kubernetes`, `docker`, `podman`,
//! `lxc`, or init's `container=`), and whether its `/proc/sys` is mounted read-only.
//!
//! Owns: reading the marker files, cgroup paths and mount tables under the root. Must not:
//! judge what a container may set, run a binary, or read outside the root.

use super::Fact;
use crate::source::{exists_under, read_text};
use std::path::Path;

const MOUNTINFO: &str = "proc/self/mountinfo";
const MOUNTS: &str = "proc/mounts";

/// The container this root runs in: `kubernetes`, `docker`, `podman`, `lxc`, or the value of
/// init's `container=` variable. `None` when nothing says so.
pub fn container(root: &Path) -> Option<Fact<String>> {
    let (cgroup_rel, cgroup) = ["proc/1/cgroup", "proc/self/cgroup"]
        .iter()
        .find_map(|rel| read_text(root, rel).map(|t| (*rel, t)))
        .map_or((None, None), |(rel, t)| (Some(rel), cgroup_runtime(&t)));
    let from_cgroup = |kind: &str| {
        Fact::new(
            kind.to_string(),
            format!("{}: {kind}", cgroup_rel.unwrap_or("")),
        )
    };

    // A Kubernetes pod run by Docker also has `.dockerenv`; Kubernetes is the more useful answer
    // (sysctls are set through the pod spec, not the container runtime).
    if cgroup == Some("kubernetes") {
        return Some(from_cgroup("kubernetes"));
    }
    if exists_under(root, ".dockerenv") {
        return Some(Fact::new("docker".to_string(), ".dockerenv"));
    }
    if exists_under(root, "run/.containerenv") {
        return Some(Fact::new("podman".to_string(), "run/.containerenv"));
    }
    // Often 0400 (owner only), so it is a bonus when readable.
    if let Some(env) = read_text(root, "proc/1/environ")
        && let Some(value) = env
            .split('\0')
            .find_map(|kv| kv.strip_prefix("container="))
            .filter(|v| !v.is_empty())
    {
        return Some(Fact::new(
            value.to_string(),
            format!("proc/1/environ: container={value}"),
        ));
    }
    cgroup.map(from_cgroup)
}

/// The runtime named by a `/proc/<pid>/cgroup` text. Whole path components are matched, so a
/// host process in `/system.slice/docker.service` (the daemon) is not taken for a container.
fn cgroup_runtime(text: &str) -> Option<&'static str> {
    let mut found = None;
    for line in text.lines() {
        // `hierarchy-ID:controllers:path`; the path may itself hold `:`.
        let Some(path) = line.splitn(3, ':').nth(2) else {
            continue;
        };
        for part in path.split('/') {
            let kind = if part.starts_with("kubepods") {
                return Some("kubernetes");
            } else if part == "docker" || (part.starts_with("docker-") && part.ends_with(".scope"))
            {
                "docker"
            } else if part.starts_with("libpod") {
                "podman"
            } else if part == "lxc" || part.starts_with("lxc.payload") {
                "lxc"
            } else {
                continue;
            };
            found.get_or_insert(kind);
        }
    }
    found
}

/// Whether an init that applies sysctl.d at boot runs in this root: `Some(true)` when systemd
/// booted it (`run/systemd/system`, systemd's own test) or PID 1 is `systemd` or `init`;
/// `Some(false)` when PID 1 is something else (a JVM, a shell, `tini`, `docker-init`); `None`
/// when neither is readable.
pub fn init_loads_sysctl_d(root: &Path) -> Option<bool> {
    if exists_under(root, "run/systemd/system") {
        return Some(true);
    }
    let comm = read_text(root, "proc/1/comm")?;
    Some(matches!(comm.trim(), "systemd" | "init"))
}

/// Whether `/proc/sys` is mounted read-only (Docker and Podman do this unless privileged), from
/// `proc/self/mountinfo`, else `proc/mounts`. The last mount at `/proc/sys` wins, as it is the
/// one on top; without one, `/proc`'s own options apply. `None` when neither file is readable
/// or neither mount is listed.
pub fn proc_sys_read_only(root: &Path) -> Option<bool> {
    // (mount point, read-only) per line, in mount order.
    let mounts: Vec<(String, bool)> = if let Some(text) = read_text(root, MOUNTINFO) {
        text.lines().filter_map(mountinfo_entry).collect()
    } else {
        let text = read_text(root, MOUNTS)?;
        text.lines().filter_map(mounts_entry).collect()
    };
    let last_at = |point: &str| {
        mounts
            .iter()
            .rev()
            .find(|(p, _)| p == point)
            .map(|&(_, ro)| ro)
    };
    last_at("/proc/sys").or_else(|| last_at("/proc"))
}

fn has_ro(options: &str) -> bool {
    options.split(',').any(|o| o == "ro")
}

/// `33 25 0:30 / /proc/sys ro,nosuid,… - proc proc rw`: read-only if the mount's own options
/// or the superblock's (after `-`) say `ro`.
fn mountinfo_entry(line: &str) -> Option<(String, bool)> {
    let (mount, sb) = line.split_once(" - ")?;
    let fields: Vec<&str> = mount.split_whitespace().collect();
    let (point, opts) = (fields.get(4)?, fields.get(5)?);
    let sb_opts = sb.split_whitespace().nth(2).unwrap_or("");
    Some((unescape_mount(point), has_ro(opts) || has_ro(sb_opts)))
}

/// `proc /proc/sys proc ro,nosuid,nodev,noexec,relatime 0 0`.
fn mounts_entry(line: &str) -> Option<(String, bool)> {
    let mut fields = line.split_whitespace();
    let point = fields.nth(1)?;
    let opts = fields.nth(1)?;
    Some((unescape_mount(point), has_ro(opts)))
}

/// The kernel writes a space in a mount point as `\040`; enough for comparing with `/proc/sys`.
fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testkit::write;

    #[test]
    fn containers() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // A host: init in its own scope, the Docker daemon as a service.
        write(root, "proc/1/cgroup", "0::/init.scope\n");
        write(
            root,
            "proc/self/cgroup",
            "0::/system.slice/docker.service\n",
        );
        assert_eq!(container(root), None);

        write(root, ".dockerenv", "");
        assert_eq!(
            container(root),
            Some(Fact::new("docker".to_string(), ".dockerenv"))
        );

        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "run/.containerenv", "engine=\"podman-4.9.3\"\n");
        assert_eq!(
            container(root),
            Some(Fact::new("podman".to_string(), "run/.containerenv"))
        );

        // A pod on a Docker-era node has `.dockerenv` too; Kubernetes wins.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, ".dockerenv", "");
        write(
            root,
            "proc/1/cgroup",
            "12:pids:/kubepods/burstable/pod8c1e2f6a-4b0d-4a8e-9f3e-2d6f1c0b7a11/4f9d2c\n\
             11:memory:/kubepods/burstable/pod8c1e2f6a-4b0d-4a8e-9f3e-2d6f1c0b7a11/4f9d2c\n",
        );
        assert_eq!(
            container(root),
            Some(Fact::new(
                "kubernetes".to_string(),
                "proc/1/cgroup: kubernetes"
            ))
        );

        // cgroup v2 with the systemd driver; and init's environment when readable.
        assert_eq!(
            cgroup_runtime(
                "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-ab.scope\n"
            ),
            Some("kubernetes")
        );
        assert_eq!(
            cgroup_runtime("0::/system.slice/docker-3f1e2d.scope\n"),
            Some("docker")
        );
        assert_eq!(cgroup_runtime("0::/lxc.payload.web/\n"), Some("lxc"));
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "proc/1/environ",
            "PATH=/usr/bin\0container=systemd-nspawn\0TERM=xterm\0",
        );
        assert_eq!(
            container(dir.path()).map(|f| f.value),
            Some("systemd-nspawn".to_string())
        );
    }

    #[test]
    fn init_that_loads_sysctl_d() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(init_loads_sysctl_d(root), None);
        write(root, "proc/1/comm", "java\n");
        assert_eq!(init_loads_sysctl_d(root), Some(false));
        write(root, "proc/1/comm", "systemd\n");
        assert_eq!(init_loads_sysctl_d(root), Some(true));
        write(root, "proc/1/comm", "tini\n");
        std::fs::create_dir_all(root.join("run/systemd/system")).unwrap();
        assert_eq!(init_loads_sysctl_d(root), Some(true));
    }

    #[test]
    fn read_only_proc_sys() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(proc_sys_read_only(root), None);
        // Docker's layout: /proc rw, /proc/sys bind-mounted over it read-only.
        write(
            root,
            MOUNTINFO,
            "624 566 0:52 / / rw,relatime master:290 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B\n\
             625 624 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n\
             33 25 0:30 / /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw\n",
        );
        assert_eq!(proc_sys_read_only(root), Some(true));
        // A host: /proc read-write and nothing on /proc/sys.
        write(
            root,
            MOUNTINFO,
            "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n",
        );
        assert_eq!(proc_sys_read_only(root), Some(false));
        // proc/mounts when mountinfo is missing.
        std::fs::remove_file(root.join(MOUNTINFO)).unwrap();
        write(
            root,
            MOUNTS,
            "overlay / overlay rw,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n\
             proc /proc/sys proc ro,nosuid,nodev,noexec,relatime 0 0\n",
        );
        assert_eq!(proc_sys_read_only(root), Some(true));
    }
}
