//! JVM010 max-perm-size-on-modern-jdk: `-XX:MaxPermSize` on JDK 17+ stops the JVM from starting.
//!
//! JDK 8-16 ignore it with a warning; from 17 it is "Unrecognized VM option" and the JVM exits
//! (JDK-8256717). WSO2's tuning page still recommends `-XX:MaxPermSize=1024m`. The shipped
//! scripts add it only when `java -version` sorts below 1.8; such guarded occurrences never run
//! on a modern JDK and are not findings.

use super::{Place, jvm_fix, script_name};
use crate::diag::{Finding, Severity, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// `-XX:MaxPermSize` in the start-up script when the JDK is 17 or later (error), or when the
    /// JDK is unknown (warning).
    /// ### Why it matters
    /// From JDK 17 the option is unrecognised and the JVM refuses to start ("Could not create the
    /// Java Virtual Machine"); on 8-16 it is ignored with a warning. WSO2's tuning page still
    /// recommends it; API-M 4.x runs on JDK 11 or later (4.2.0: 11 to 17).
    /// ### Fix
    /// Remove it; use `-XX:MaxMetaspaceSize` if a metaspace cap is really wanted.
    /// ### Sources
    /// - jdk-8256717
    /// - verified-facts, -XX:MaxPermSize is fatal on 17
    /// - tuning-1.9, API Gateway nodes
    pub(crate) static RULE = "JVM010" "max-perm-size-on-modern-jdk" Error "-XX:MaxPermSize stops JDK 17+ from starting",
    inputs: [Input::Host, Input::Jvm],
    check: Check::Node(check),
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(jvm) = cx.jvm() else { return };
    let java = cx.facts.java.as_ref();
    for opt in jvm.all("-XX:MaxPermSize") {
        let flag = &opt.flag;
        if flag.guard.is_some() {
            continue;
        }
        let (severity, message) = match java.map(|j| j.value) {
            Some(v) if v >= 17 => (
                Severity::Error,
                format!(
                    "`{}` stops JDK {v} from starting: `Unrecognized VM option`",
                    flag.raw
                ),
            ),
            Some(v) if v >= 8 => (
                Severity::Info,
                format!(
                    "`{}` is ignored by JDK {v} (PermGen was removed in 8)",
                    flag.raw
                ),
            ),
            Some(_) => continue,
            None => (
                Severity::Warning,
                format!(
                    "`{}` stops a JDK 17 or later from starting (JDK unknown: pass `--java-version`)",
                    flag.raw
                ),
            ),
        };
        let location = opt.file.location(flag.token_span);
        let place = Place::from_option(jvm, opt);
        let mut f = Finding::new(RULE.code(), Subject::jvm(script_name(&jvm.script), "-XX:MaxPermSize"), message)
            .severity(severity)
            .at(Some(location.clone()))
            .current(flag.raw.clone())
            .expected("absent (use -XX:MaxMetaspaceSize if a cap is needed)")
            .why("PermGen was removed in JDK 8 and the option expired in JDK 17, where the JVM refuses to start; WSO2's 1.9 tuning page predates that, and API-M 4.x runs on JDK 11 or later")
            .see("jdk-8256717; verified-facts, -XX:MaxPermSize on 17; tuning-1.9, API Gateway nodes")
            .fix(jvm_fix(place.remove("-XX:MaxPermSize", location)));
        if let Some(note) = place.note() {
            f = f.note(note);
        }
        if let Some(j) = java {
            f = f.note(format!("JDK {} from {}", j.value, j.source));
        }
        out.push(f);
    }
}
