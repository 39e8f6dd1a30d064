//! JVM010 max-perm-size-on-modern-jdk: `-XX:MaxPermSize` on JDK 17+ stops the JVM from starting.
//!
//! JDK 8-16 ignore it with a warning; from 17 it is "Unrecognized VM option" and the JVM exits
//! (JDK-8256717). WSO2's tuning page still recommends `-XX:MaxPermSize=1024m`. The shipped
//! scripts add it only when `java -version` sorts below 1.8; such guarded occurrences never run
//! on a modern JDK and are not findings.

use super::script_name;
use crate::apim::jvm::JvmOptions;
use crate::finding::{Finding, Fix, Severity};
use crate::rules::RuleContext;
use crate::rules::codes::Code;

pub fn check(cx: &RuleContext, opts: &JvmOptions, out: &mut Vec<Finding>) {
    let java = cx.facts.java.as_ref();
    for flag in opts.all("-XX:MaxPermSize") {
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
        let location = opts.file.location(flag.token_span);
        let mut f = Finding::new(Code::Jvm010, format!("{}:-XX:MaxPermSize", script_name(opts)), message)
            .severity(severity)
            .at(Some(location.clone()))
            .current(flag.raw.clone())
            .expected("absent (use -XX:MaxMetaspaceSize if a cap is needed)")
            .why("PermGen was removed in JDK 8 and the option expired in JDK 17, where the JVM refuses to start; WSO2's tuning page predates that and current API-M requires JDK 17 or 21")
            .see("JDK-8256717; tuning-1.9 (API Gateway nodes)")
            .fix(Fix::Replace {
                location,
                value: String::new(),
            });
        if let Some(j) = java {
            f = f.note(format!("JDK {} from {}", j.value, j.source));
        }
        out.push(f);
    }
}
