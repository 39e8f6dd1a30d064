//! JVM012 heap-min-differs-from-max: `-Xms` differs from `-Xmx`.
//!
//! WSO2 runs gateways with `-Xms2048m -Xmx2048m` so the heap never resizes under load.

use super::script_name;
use crate::apim::jvm::{JvmOptions, parse_size};
use crate::finding::{Finding, Fix};
use crate::rules::RuleContext;
use crate::rules::codes::Code;

pub fn check(cx: &RuleContext, opts: &JvmOptions, out: &mut Vec<Finding>) {
    let (Some(xms), Some(xmx)) = (opts.get("-Xms"), opts.get("-Xmx")) else {
        return;
    };
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
    let location = xms
        .value_span
        .map(|s| opts.file.location(s))
        .unwrap_or_else(|| opts.file.location(xms.token_span));
    // Raising -Xms commits that much memory at start: not while -Xmx is itself above half of
    // RAM (JVM011), which has to be lowered first.
    let ram = cx.facts.memory_mb.value.saturating_mul(1024 * 1024);
    let oversized = ram > 0 && max > ram / 2;
    let mut f = Finding::new(
            Code::Jvm012,
            format!("{}:-Xms", script_name(opts)),
            format!(
                "`-Xms{}` differs from `-Xmx{xmx_value}`",
                xms.value.clone().unwrap_or_default()
            ),
        )
        .at(Some(location.clone()))
        .current(xms.value.clone().unwrap_or_default())
        .expected(xmx_value.clone())
        .why("a heap that starts small grows through full collections under the first load; WSO2 sets both to the same size")
        .see("tuning-1.9 (API Gateway nodes: -Xms2048m -Xmx2048m)");
    if oversized {
        f = f.note(
            "not fixed automatically while `-Xmx` is above half of RAM (JVM011): lower it first",
        );
    } else {
        f = f.fix(Fix::Replace {
            location,
            value: xmx_value,
        });
    }
    out.push(f);
}
