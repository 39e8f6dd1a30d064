//! In a container `/proc/sys` belongs to the runtime: every kernel-parameter finding says where
//! the key can really be set (per pod when it is namespaced, on the node otherwise), and offers
//! no file fix, since a sysctl.d file in an image changes nothing.
//!
//! Not a rule of its own: it qualifies the findings of every rule about a kernel parameter.

use crate::diag::Finding;
use crate::host::namespaced::is_namespaced;

pub fn sysctl_in_container(findings: &mut [Finding]) {
    for f in findings.iter_mut() {
        let Some(key) = f.subject.sysctl_key().map(str::to_string) else {
            continue;
        };
        let note = if is_namespaced(&key) {
            format!(
                "in a container: `{key}` is namespaced, set it per pod (securityContext.sysctls) or with `docker run --sysctl`; see `apim-tune host --format k8s`"
            )
        } else {
            format!(
                "in a container: `{key}` is node-level, set it on the host or node, not in the container"
            )
        };
        f.notes.push(note);
        f.fix = None;
    }
}
