//! JVM012 heap-min-differs-from-max: `-Xms` differs from `-Xmx`.
//!
//! WSO2 runs gateways with `-Xms2048m -Xmx2048m`. The reason is predictability: the whole heap is
//! committed at start, so the footprint is known from the first minute and the collector never
//! spends work resizing it. Not "full collections": G1 grows a small heap with young
//! collections only (checked with `-Xlog:gc`, see ../shared/knowledge/verified-facts.md).

use super::{Place, jvm_fix, script_name};
use crate::apim::jvm::parse_size;
use crate::diag::{Finding, JvmValue, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// `-Xms` differs from `-Xmx`.
    /// ### Why it matters
    /// Predictability, not speed: with `-Xms` = `-Xmx` the heap is committed at start, so the
    /// node's memory footprint is known before the first request (an over-sized heap fails at
    /// start, not under load) and the collector does no resize work. G1 grows a small heap
    /// without full collections, so a smaller `-Xms` is not a throughput problem: info.
    /// ### Fix
    /// Set `-Xms` equal to `-Xmx`.
    /// ### Sources
    /// - tuning-1.9, API Gateway nodes: -Xms2048m -Xmx2048m
    /// - java-man, -Xms and -Xmx
    /// - verified-facts, G1 grows a heap started small without full collections
    pub(crate) static RULE = "JVM012" "heap-min-differs-from-max" Info "-Xms differs from -Xmx",
    inputs: [Input::Host, Input::Jvm],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(jvm) = cx.jvm() else { return };
    let (Some(xms_opt), Some(xmx_opt)) = (jvm.get("-Xms"), jvm.get("-Xmx")) else {
        return;
    };
    let (xms, xmx) = (&xms_opt.flag, &xmx_opt.flag);
    let (Some(min), Some(max)) = (
        xms.value.as_deref().and_then(parse_size),
        xmx.value.as_deref().and_then(parse_size),
    ) else {
        return;
    };
    if min == max {
        return;
    }
    let xmx_value = xmx.value.clone().unwrap_or_default();
    let location = xms_opt.location();
    let place = Place::from_option(jvm, xms_opt);
    // Raising -Xms commits that much memory at start: not while -Xmx is itself above the heap
    // ceiling (JVM011), which has to be lowered first.
    let oversized = super::native_memory::heap_ceiling(cx).is_some_and(|c| max > c.bytes);
    let mut f = Finding::new(
            RULE.code(),
            Subject::jvm(script_name(&jvm.script), "-Xms"),
            format!(
                "`-Xms{}` differs from `-Xmx{xmx_value}`",
                xms.value.clone().unwrap_or_default()
            ),
        )
        .at(Some(location.clone()))
        .current(xms.value.clone().unwrap_or_default())
        .expected(xmx_value.clone())
        .why("with -Xms equal to -Xmx the whole heap is committed at start: the footprint is known before the first request and the heap is never resized (G1 grows a smaller one without full collections, so this is predictability, not throughput)")
        .see("tuning-1.9, API Gateway nodes: -Xms2048m -Xmx2048m; java-man, -Xms; verified-facts, G1 growth");
    if oversized {
        f = f.note(
            "not fixed automatically while `-Xmx` is above what the memory in effect allows (JVM011): lower it first",
        );
    } else {
        f = f.fix(jvm_fix(place.set(
            "-Xms",
            JvmValue::SameAs {
                flag: "-Xmx".into(),
                now: xmx_value,
            },
            Some(location),
        )));
    }
    if let Some(note) = place.note() {
        f = f.note(note);
    }
    out.push(f);
}
