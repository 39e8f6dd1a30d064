//! In a container `/proc/sys` belongs to the runtime: every kernel-parameter finding says where
//! the key can really be set (per pod or with `--sysctl` when it is namespaced, on the host
//! otherwise), and offers no file fix, since a sysctl.d file in an image changes nothing unless
//! an init in the container loads it at start.
//!
//! Not a rule of its own: it qualifies the findings of every rule about a kernel parameter.

use crate::diag::Finding;
use crate::host::HostFacts;
use crate::host::container::init_loads_sysctl_d;
use crate::host::namespaced::is_namespaced;
use std::path::Path;

/// Why no sysctl.d file takes effect here, or `None` when one does (a host, or a container whose
/// init loads sysctl.d and whose `/proc/sys` is writable).
fn no_file_takes_effect(root: &Path, facts: &HostFacts) -> Option<&'static str> {
    if facts.runtime_owns_sysctls() {
        return Some("in a container");
    }
    // A writable /proc/sys (a privileged container) still has nothing that loads sysctl.d at
    // start unless systemd (or an init) runs in it; unknown counts as none.
    if facts.container.is_some() && init_loads_sysctl_d(root) != Some(true) {
        return Some("in a container without an init that loads sysctl.d");
    }
    None
}

pub fn sysctl_in_container(root: &Path, facts: &HostFacts, findings: &mut [Finding]) {
    let Some(why) = no_file_takes_effect(root, facts) else {
        return;
    };
    for f in findings.iter_mut() {
        let Some(key) = f.subject.sysctl_key().map(str::to_string) else {
            continue;
        };
        let note = if is_namespaced(&key) {
            format!(
                "{why}: `{key}` is namespaced, set it per pod (securityContext.sysctls) or with `docker run --sysctl {key}=…`; see `apim-tune host --format k8s`"
            )
        } else {
            format!(
                "{why}: `{key}` is node-level, set it on the host or node, not in the container"
            )
        };
        f.notes.push(note);
        f.fix = None;
    }
}
