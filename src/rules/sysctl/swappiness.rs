//! SYS023 swappiness-high-with-swap: `vm.swappiness` above 10 on a host with swap.
//!
//! A JVM's heap is large, long-lived anonymous memory; with swap and a high swappiness the
//! kernel pages out parts of it that the application has not touched lately, and the next GC
//! walks the whole heap, faulting them back in: stop-the-world pauses of seconds. Without swap
//! there is nothing to page out, and no finding.

use super::{boot_or_live, set_key};
use crate::diag::{Finding, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// `vm.swappiness` (the line that wins at boot, else the running kernel's value) above 10
    /// when `proc/meminfo` shows swap (`SwapTotal` above 0).
    /// ### Why it matters
    /// Under memory pressure the kernel may page out heap pages the application has not used
    /// lately; a garbage collection then touches every live object and faults them back in,
    /// turning a millisecond pause into seconds. A low swappiness makes the kernel drop page
    /// cache first and swap anonymous memory only when it must.
    /// ### Fix
    /// Set `vm.swappiness` to a low value such as 1 (a sysctl.d line); or run without swap.
    /// ### Sources
    /// - vm-sysctl: swappiness
    /// - sysctl.d: where the fix writes the value
    pub(crate) static RULE = "SYS023" "swappiness-high-with-swap" Warning "vm.swappiness is high on a host with swap",
    inputs: [Input::Host, Input::Sysctl, Input::SysctlKeys(&[KEY])],
    check: Check::Node(check),
}

const KEY: &str = "vm.swappiness";
/// The highest value this rule accepts; it recommends 1 (swap only to avoid OOM).
const MAX: u32 = 10;
const RECOMMENDED: u32 = 1;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(swap_kb) = cx.memory.swap_total_kb.filter(|kb| *kb > 0) else {
        return;
    };
    let Some((value, line)) = boot_or_live(cx, KEY) else {
        return;
    };
    let Ok(current) = value.parse::<u32>() else {
        return;
    };
    if current <= MAX {
        return;
    }
    let mut f = Finding::new(
        RULE.code(),
        Subject::sysctl(KEY),
        format!(
            "`{KEY}` is {current} with {} MiB of swap: the kernel may swap out JVM heap pages, and the next GC faults them back in",
            swap_kb / 1024
        ),
    )
    .at(line.map(|l| l.location()))
    .current(value.clone())
    .expected(format!("<= {MAX} (e.g. {RECOMMENDED})"))
    .why("a garbage collection walks the live heap; pages the kernel swapped out meanwhile are read back from disk during the stop-the-world pause, which then lasts seconds. A low swappiness reclaims page cache first and swaps anonymous memory only under real pressure")
    .see("vm-sysctl, swappiness")
    .note(format!("swap from proc/meminfo: SwapTotal {swap_kb} kB"));
    if line.is_none() {
        f = f.note("no sysctl.d line sets it: this is the running kernel's value");
    }
    f = f.fix(set_key(cx, KEY, RECOMMENDED.to_string(), line));
    out.push(f);
}
