//! SYS024 transparent-hugepages-always: transparent huge pages set to `always`.
//!
//! Not a sysctl: `sys/kernel/mm/transparent_hugepage/enabled` is set on the kernel command line
//! or at boot by a tmpfiles rule, so the finding gives those as a note and no automatic fix.

use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// `/sys/kernel/mm/transparent_hugepage/enabled` is `always` (and, as a note, `defrag`
    /// is `always`).
    /// ### Why it matters
    /// With `always` every large anonymous mapping may get huge pages: page faults can stall
    /// on direct compaction (with `defrag` `always`), and khugepaged collapses pages in the
    /// background, both of which show up as latency spikes in a JVM whose heap is touched by
    /// GC. With `madvise` only regions that ask for them get huge pages; HotSpot asks only with
    /// `-XX:+UseTransparentHugePages`, so the operator chooses.
    /// ### Fix
    /// Set `madvise`: `transparent_hugepage=madvise` on the kernel command line, or a
    /// systemd-tmpfiles line `w /sys/kernel/mm/transparent_hugepage/enabled - - - - madvise`.
    /// Not a sysctl: a sysctl.d line cannot set it, and apim-tune writes no fix.
    /// A warning when `defrag` is `always` too (page faults stall on direct compaction), info
    /// otherwise.
    /// ### Sources
    /// - thp: sysfs enabled and defrag
    /// - java-man: -XX:+UseTransparentHugePages
    /// - sysctl.d: THP is not a kernel parameter, so no drop-in can set it
    pub(crate) static RULE = "SYS024" "transparent-hugepages-always" Warning "transparent huge pages are set to always",
    inputs: [Input::Host],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(enabled) = &cx.memory.thp_enabled else {
        return;
    };
    if enabled.mode != "always" {
        return;
    }
    let mut f = Finding::new(
        RULE.code(),
        Subject::Source {
            file: enabled.file.to_string(),
        },
        "transparent huge pages are `always`: page faults may stall on compaction and khugepaged rewrites heap pages in the background, both latency spikes for a JVM",
    )
    .current("always")
    .expected("madvise")
    .why("with `always` every large anonymous mapping may be backed by huge pages: allocation can stall on direct compaction and khugepaged collapses pages in the background. With `madvise` only regions that ask for huge pages get them, and HotSpot asks only with -XX:+UseTransparentHugePages")
    .see("thp; java-man, -XX:+UseTransparentHugePages")
    .note("not a sysctl, so no sysctl.d fix: add `transparent_hugepage=madvise` to the kernel command line (GRUB_CMDLINE_LINUX), or a systemd-tmpfiles line `w /sys/kernel/mm/transparent_hugepage/enabled - - - - madvise`");
    if let Some(defrag) = &cx.memory.thp_defrag
        && defrag.mode == "always"
    {
        f = f.note("`defrag` is `always` too: faults stall on direct compaction; `madvise` (or `defer+madvise`) limits that to regions that ask, with the same tmpfiles line for `defrag`");
    } else {
        // The stall on a page fault comes from direct compaction (`defrag` always); without it
        // what is left is khugepaged's background work: worth knowing, rarely a latency cause.
        f = f.severity(crate::diag::Severity::Info);
    }
    if cx.facts.runtime_owns_sysctls() || cx.facts.container.is_some() {
        f = f.note("in a container: THP is the host's setting; change it on the host or node");
    }
    out.push(f);
}
