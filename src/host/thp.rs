//! Transparent huge pages and swap: `sys/kernel/mm/transparent_hugepage/{enabled,defrag}` and
//! `SwapTotal` of `proc/meminfo`, under the root.
//!
//! Owns: reading and parsing those files. Must not: judge them, or read outside the root (a
//! fake root without the files has unknown values, never the machine's running the tool).

use crate::source::read_text;
use std::path::Path;

const ENABLED: &str = "sys/kernel/mm/transparent_hugepage/enabled";
const DEFRAG: &str = "sys/kernel/mm/transparent_hugepage/defrag";
const MEMINFO: &str = "proc/meminfo";

/// One THP setting: the selected mode (the bracketed word of `always [madvise] never`) and the
/// file it was read from (relative to the root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThpMode {
    pub mode: String,
    pub file: &'static str,
}

/// The memory-management facts the latency rules read; `None` where the root does not say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelMemory {
    pub thp_enabled: Option<ThpMode>,
    pub thp_defrag: Option<ThpMode>,
    /// `SwapTotal` in kB.
    pub swap_total_kb: Option<u64>,
}

pub fn read(root: &Path) -> KernelMemory {
    let mode = |file: &'static str| {
        read_text(root, file)
            .and_then(|t| selected(&t))
            .map(|mode| ThpMode { mode, file })
    };
    KernelMemory {
        thp_enabled: mode(ENABLED),
        thp_defrag: mode(DEFRAG),
        swap_total_kb: read_text(root, MEMINFO).and_then(|t| swap_total(&t)),
    }
}

/// The bracketed choice of a sysfs multiple-choice file.
fn selected(text: &str) -> Option<String> {
    text.split_ascii_whitespace()
        .find_map(|w| w.strip_prefix('[')?.strip_suffix(']'))
        .map(str::to_string)
}

/// `SwapTotal:  2097148 kB`.
fn swap_total(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix("SwapTotal:")?;
        rest.split_ascii_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testkit::write;

    #[test]
    fn reads_under_the_root_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(read(root), KernelMemory::default());
        write(root, ENABLED, "[always] madvise never\n");
        write(root, DEFRAG, "always defer defer+madvise [madvise] never\n");
        write(
            root,
            MEMINFO,
            "MemTotal:       16318508 kB\nSwapTotal:       2097148 kB\nSwapFree:        2097148 kB\n",
        );
        let m = read(root);
        assert_eq!(m.thp_enabled.map(|t| t.mode), Some("always".to_string()));
        assert_eq!(m.thp_defrag.map(|t| t.mode), Some("madvise".to_string()));
        assert_eq!(m.swap_total_kb, Some(2097148));
        // A file without a choice says nothing.
        write(root, ENABLED, "always madvise never\n");
        assert_eq!(read(root).thp_enabled, None);
    }
}
