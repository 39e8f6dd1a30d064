//! JVM011 heap-above-half-ram: a maximum heap above about half of the host's memory.
//!
//! Besides the heap the JVM needs metaspace, direct buffers (the pass-through I/O buffers), a
//! stack per thread (hundreds of workers), and the OS needs page cache. WSO2 sizes 2 GB of heap on
//! 4 GB of RAM.

use super::{Place, script_name};
use crate::apim::jvm::parse_size;
use crate::diag::{Finding, Subject};
use crate::profile::resolve::format_size;
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// A maximum heap above about half of the host's memory.
    /// ### Why it matters
    /// The JVM also needs metaspace, direct buffers (pass-through I/O buffers), thread stacks for
    /// hundreds of workers, and the OS needs page cache; a larger heap invites the OOM killer.
    /// ### Fix
    /// Lower `-Xmx` to at most half of RAM, or add memory.
    pub(crate) static RULE = "JVM011" "heap-above-half-ram" Warning "the maximum heap is above half of RAM",
    inputs: [Input::Host, Input::Jvm],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(jvm) = cx.jvm() else { return };
    let Some(opt) = jvm.get("-Xmx") else { return };
    let flag = &opt.flag;
    let Some(heap) = flag.value.as_deref().and_then(parse_size) else {
        return;
    };
    let ram = cx.facts.memory_mb.value.saturating_mul(1024 * 1024);
    if ram == 0 || heap <= ram / 2 {
        return;
    }
    let location = opt.location();
    let mut f = Finding::new(
            RULE.code(),
            Subject::jvm(script_name(&jvm.script), "-Xmx"),
            format!(
                "`-Xmx{}` is more than half of the host's {} of memory",
                flag.value.clone().unwrap_or_default(),
                format_size(ram / (1024 * 1024) * 1024 * 1024)
            ),
        )
        .at(Some(location))
        .current(flag.value.clone().unwrap_or_default())
        .expected(format!("<= {}", format_size(ram / 2 / (1024 * 1024) * 1024 * 1024)))
        .why("the JVM also needs metaspace, direct I/O buffers and a stack per thread, and the OS needs page cache; WSO2 gives the JVM 2 GB of a 4 GB host")
        .see("WSO2 installation prerequisites")
        .note(format!("memory {} MiB from {}", cx.facts.memory_mb.value, cx.facts.memory_mb.source));
    if let Some(note) = Place::from_option(jvm, opt).note() {
        f = f.note(note);
    }
    out.push(f);
}
