//! The cgroup memory limit API-M runs under: the container's own cgroup (`/sys/fs/cgroup` is
//! the container's under a cgroup namespace), and on a host the API-M unit's cgroup under
//! `system.slice`. cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`.
//!
//! Reads only, under the root; `audit` takes the smallest of these, the unit's `MemoryMax=` and
//! the RAM as the memory in effect.

use crate::source::read_text;
use std::path::Path;

/// v1 reports "no limit" as a page-rounded `i64::MAX`; anything this large is no limit.
const NO_LIMIT_FROM: u64 = 1 << 60;

/// A memory limit in MiB, and the file it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryLimit {
    pub mb: u64,
    pub source: String,
}

/// The smallest limit among the container's cgroup (when `in_container`) and the units'.
pub fn memory_limit(root: &Path, in_container: bool, units: &[&str]) -> Option<MemoryLimit> {
    let mut places: Vec<String> = Vec::new();
    if in_container {
        places.push("sys/fs/cgroup/memory.max".into());
        places.push("sys/fs/cgroup/memory/memory.limit_in_bytes".into());
    }
    for unit in units {
        places.push(format!("sys/fs/cgroup/system.slice/{unit}/memory.max"));
        places.push(format!(
            "sys/fs/cgroup/memory/system.slice/{unit}/memory.limit_in_bytes"
        ));
    }
    places
        .into_iter()
        .filter_map(|rel| {
            let mb = parse_limit(&read_text(root, &rel)?)?;
            Some(MemoryLimit { mb, source: rel })
        })
        .min_by_key(|l| l.mb)
}

/// `max` (v2) or a huge number (v1) is no limit; else bytes, in MiB.
fn parse_limit(text: &str) -> Option<u64> {
    let t = text.trim();
    if t == "max" {
        return None;
    }
    let bytes: u64 = t.parse().ok()?;
    (1 << 20..NO_LIMIT_FROM)
        .contains(&bytes)
        .then_some(bytes >> 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_from_v1_and_v2() {
        let root = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        assert_eq!(memory_limit(root.path(), true, &[]), None);
        write("sys/fs/cgroup/memory.max", "max\n");
        assert_eq!(memory_limit(root.path(), true, &[]), None);
        write("sys/fs/cgroup/memory.max", "4294967296\n");
        assert_eq!(
            memory_limit(root.path(), true, &[]),
            Some(MemoryLimit {
                mb: 4096,
                source: "sys/fs/cgroup/memory.max".into()
            })
        );
        // Not in a container: the root cgroup says nothing about the service.
        assert_eq!(memory_limit(root.path(), false, &[]), None);
        write(
            "sys/fs/cgroup/memory/system.slice/wso2am.service/memory.limit_in_bytes",
            "2147483648\n",
        );
        assert_eq!(
            memory_limit(root.path(), false, &["wso2am.service"]).map(|l| l.mb),
            Some(2048)
        );
        // v1's "no limit" in a container beside v2's 4 GiB: the 4 GiB stands.
        write(
            "sys/fs/cgroup/memory/memory.limit_in_bytes",
            "9223372036854771712\n",
        );
        assert_eq!(
            memory_limit(root.path(), true, &[]).map(|l| l.mb),
            Some(4096)
        );
        assert_eq!(parse_limit("9223372036854771712"), None);
        assert_eq!(parse_limit("garbage"), None);
    }
}
