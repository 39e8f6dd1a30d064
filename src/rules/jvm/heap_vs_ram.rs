//! JVM011 heap-above-half-ram: a maximum heap above what the memory in effect allows.
//!
//! Besides the heap the JVM needs metaspace, compiled code, a stack per thread (hundreds of
//! workers) and direct buffers, and the OS needs page cache. The ceiling (see
//! [`super::native_memory`]) is the smaller of half the memory in effect (WSO2 sizes 2 GB of heap
//! on 4 GB) and what is left beside that native memory.

use super::native_memory::heap_ceiling;
use super::{Place, container_heap_advice, heap_from_percentage, percent_at_most, script_name};
use crate::apim::jvm::parse_size;
use crate::diag::{Finding, Subject};
use crate::profile::resolve::format_size;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// A maximum heap above what the memory in effect (the smallest of RAM, the service's cgroup
    /// limit and the unit's `MemoryMax=`) allows: at most half of it, and no more than what is
    /// left beside native memory (metaspace, code cache, a stack per pass-through worker and
    /// other thread, direct buffers; `-XX:MaxMetaspaceSize`, `-XX:ReservedCodeCacheSize`, `-Xss`
    /// and `-XX:MaxDirectMemorySize` are used when set).
    /// ### Why it matters
    /// Heap and native memory together past the limit get the JVM killed by the kernel's OOM
    /// killer; on a host the OS also needs page cache.
    /// ### Fix
    /// Lower `-Xmx` to the ceiling the finding names, or give the node more memory. In a
    /// container, `-XX:MaxRAMPercentage` sizes the heap from the container's limit instead.
    /// ### Sources
    /// - tuning-4.x, JVM heap
    /// - java-man, -Xmx, -XX:MaxRAMPercentage, -XX:MaxDirectMemorySize
    pub(crate) static RULE = "JVM011" "heap-above-half-ram" Warning "the maximum heap leaves too little memory beside it",
    inputs: [Input::Host, Input::Jvm],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(jvm) = cx.jvm() else { return };
    let Some(ceiling) = heap_ceiling(cx) else {
        return;
    };
    // The heap is the set -Xmx, else the share -XX:MaxRAMPercentage gives.
    let (option, heap, subject, message, expected) = match heap_from_percentage(cx, jvm) {
        Some(p) => {
            let written = p.option.flag.value.clone().unwrap_or_default();
            (
                p.option,
                p.bytes,
                "-XX:MaxRAMPercentage",
                format!(
                    "`-XX:MaxRAMPercentage={written}` gives a {} heap, which leaves too little of the {} MiB in effect for native memory and the OS",
                    format_size(p.bytes),
                    ceiling.memory_mb
                ),
                percent_at_most(ceiling.bytes, p.memory).to_string(),
            )
        }
        None => {
            let Some(opt) = jvm.get("-Xmx") else { return };
            let Some(heap) = opt.flag.value.as_deref().and_then(parse_size) else {
                return;
            };
            let written = opt.flag.value.clone().unwrap_or_default();
            (
                opt,
                heap,
                "-Xmx",
                format!(
                    "`-Xmx{written}` leaves too little of the {} MiB in effect for native memory and the OS",
                    ceiling.memory_mb
                ),
                format_size(ceiling.bytes),
            )
        }
    };
    if heap <= ceiling.bytes + slack(&ceiling) {
        return;
    }
    let mut f = Finding::new(
        RULE.code(),
        Subject::jvm(script_name(&jvm.script), subject),
        message,
    )
    .at(Some(option.location()))
    .current(option.flag.value.clone().unwrap_or_default())
    .expected(format!("<= {expected}"))
    .why("the JVM also needs metaspace, compiled code, a stack per thread and direct buffers beyond the heap, and the OS needs page cache; past the memory in effect the kernel's OOM killer ends the JVM")
    .see("tuning-4.x, JVM heap; java-man, -Xmx")
    .note(format!(
        "memory {} MiB from {}",
        cx.facts.memory_mb.value, cx.facts.memory_mb.source
    ))
    .note(ceiling.describe());
    // A fixed -Xmx in a container: a percentage would follow the limit.
    if subject == "-Xmx"
        && let Some(advice) = container_heap_advice(cx)
    {
        f = f.note(advice);
    }
    if let Some(note) = Place::from_option(jvm, option).source_note() {
        f = f.note(note);
    }
    out.push(f);
}

/// Room above a half-of-memory ceiling before a heap is reported: the memory of a "4 GB"
/// machine reads a little under 4 GiB (the kernel keeps some), and WSO2's own 2 GB heap there is
/// not worth a finding. None where native memory bounds the heap. A fix (JVM001) still writes
/// no more than the ceiling itself.
fn slack(ceiling: &super::native_memory::HeapCeiling) -> u64 {
    if ceiling.native_bound {
        0
    } else {
        ceiling.bytes / 20
    }
}
