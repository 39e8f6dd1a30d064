//! Which kernel parameters a container can set for itself (namespaced: per pod) and which only
//! the node can. Facts from the kernel and the runtimes (Docker/Podman `--sysctl`, Kubernetes
//! `securityContext.sysctls`); see ../shared/knowledge/linux-jvm-cache.md §3.6.

/// Namespaced sysctls: `net.*` (network namespace) and the IPC ones. Everything else
/// (`fs.file-max`, `fs.nr_open`, `vm.*`, most `kernel.*`) is host-global.
pub fn is_namespaced(key: &str) -> bool {
    key.starts_with("net.")
        || key.starts_with("kernel.shm")
        || key.starts_with("kernel.msg")
        || key == "kernel.sem"
        || key.starts_with("fs.mqueue.")
}

/// Kubernetes' "safe" sysctls (allowed without kubelet configuration, v1.26); the others must be
/// allowed with the kubelet's `--allowed-unsafe-sysctls`.
pub fn is_k8s_safe(key: &str) -> bool {
    matches!(
        key,
        "kernel.shm_rmid_forced"
            | "net.ipv4.ip_local_port_range"
            | "net.ipv4.tcp_syncookies"
            | "net.ipv4.ping_group_range"
            | "net.ipv4.ip_unprivileged_port_start"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn node_and_pod_keys() {
        assert!(super::is_namespaced("net.core.somaxconn"));
        assert!(!super::is_namespaced("fs.file-max"));
        assert!(super::is_k8s_safe("net.ipv4.ip_local_port_range"));
        assert!(!super::is_k8s_safe("net.core.somaxconn"));
    }
}
