//! APM040 logging-costs-throughput and APM041 access-log-per-request: logging that is paid for on
//! every API call.
//!
//! The levels come from the home's log4j2.properties (3.x/4.x) or log4j.properties (1.x/2.x)
//! as [`crate::apim::logging`] reads them: only loggers Log4j really configures count, so the
//! stock 4.x file, which declares the wire logger at DEBUG without listing it in `loggers`, is
//! not reported. The stock files' other TRACE loggers (`trace.messages`, `tracer`) only write
//! when per-API tracing is switched on and are left alone.

use crate::apim::logging::{self, ActiveLogger};
use crate::diag::{Finding, Severity, Subject};
use crate::rules::{Check, Input, RuleContext};

declare_rule! {
    /// ### What it checks
    /// DEBUG, TRACE or ALL on the root logger or on a Synapse logger (`org.apache.synapse` and
    /// below, which includes the wire log `org.apache.synapse.transport.http.wire` and the header
    /// log), in log4j2.properties (3.x/4.x) or log4j.properties (1.x/2.x); and correlation logs
    /// switched on (`-DenableCorrelationLogs=true` in the start-up script or the service's
    /// environment, or `[apim.correlation_logs] enable = true`).
    /// ### Why it matters
    /// These write one or more lines per message on the request thread: the wire log copies
    /// every byte of every request and response into the log, and correlation logs time every
    /// HTTP, JDBC and LDAP call. WSO2 documents them as troubleshooting aids to switch on for a
    /// while, not for production traffic. A Synapse logger costs most on a node that carries
    /// API traffic (gateway, all-in-one): a warning there, info on other roles; DEBUG on the
    /// root logger and correlation logs cost on every role.
    /// ### Fix
    /// Set the logger back to INFO (or remove the id from `loggers`), and switch correlation
    /// logs off once the investigation is over.
    /// ### Sources
    /// - logging-4.x, wire logs and correlation logs
    /// - log4j2-config, the `loggers` list of the properties format
    pub(crate) static RULE = "APM040" "logging-costs-throughput" Warning "logging at DEBUG/TRACE or correlation logs on the request path",
    inputs: [Input::Apim],
    check: Check::Node(check),
}

declare_rule! {
    /// ### What it checks
    /// The gateway's HTTP access log (`org.apache.synapse.transport.http.access` at INFO or
    /// finer) on a node that carries API traffic (gateway, all-in-one).
    /// ### Why it matters
    /// One line is written per API call. That is often wanted (audit, troubleshooting), and the
    /// cost is small next to the wire log, so this is information for a person to weigh, not a
    /// fault. The Tomcat access log of the management port (on by default) is not reported: it
    /// does not see API traffic.
    /// ### Fix
    /// Keep it if it is used; otherwise set the logger to WARN or remove it from `loggers`.
    /// ### Sources
    /// - logging-4.x, HTTP access logs
    pub(crate) static ACCESS = "APM041" "access-log-per-request" Info "the gateway writes an access log line per API call",
    inputs: [Input::Apim],
    check: Check::Node(check_access),
}

/// Roles whose nodes carry API traffic through Synapse.
const TRAFFIC_ROLES: &[&str] = &["all-in-one", "gateway"];

const SYNAPSE: &str = "org.apache.synapse";
const WIRE: &str = "org.apache.synapse.transport.http.wire";
const ACCESS_LOGGER: &str = "org.apache.synapse.transport.http.access";

fn file_name(cx: &RuleContext) -> Option<(&'static str, Vec<ActiveLogger>)> {
    let apim = cx.apim?;
    let l = apim.logging.as_ref()?;
    let name = match l.flavour {
        logging::Flavour::Log4j2 => "log4j2.properties",
        logging::Flavour::Log4j1 => "log4j.properties",
    };
    Some((name, l.loggers()))
}

fn is_synapse(name: &str) -> bool {
    name == SYNAPSE || name.starts_with("org.apache.synapse.")
}

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let traffic = TRAFFIC_ROLES.contains(&cx.role);
    if let Some((file, loggers)) = file_name(cx) {
        for l in loggers
            .iter()
            .filter(|l| logging::is_verbose(&l.level))
            .filter(|l| l.name.is_empty() || is_synapse(&l.name))
        {
            let (what, why, severity) = if l.name.is_empty() {
                (
                    "the root logger".to_string(),
                    "every logger without its own level inherits it: the product logs DEBUG lines from every component on every call",
                    Severity::Warning,
                )
            } else if l.name == WIRE
                || l.name
                    .starts_with("org.apache.synapse.transport.http.wire.")
            {
                (
                    format!("the wire log `{}`", l.name),
                    "the wire log writes every byte of every request and response, headers and payloads, on the request thread",
                    if traffic {
                        Severity::Warning
                    } else {
                        Severity::Info
                    },
                )
            } else {
                (
                    format!("the Synapse logger `{}`", l.name),
                    "Synapse logs DEBUG lines for every message it mediates, on the request thread",
                    if traffic {
                        Severity::Warning
                    } else {
                        Severity::Info
                    },
                )
            };
            out.push(
                Finding::new(
                    RULE.code(),
                    Subject::setting(file, l.key.clone()),
                    format!("{what} logs at {}", l.level),
                )
                .at(Some(l.at.clone()))
                .severity(severity)
                .current(l.level.clone())
                .expected("INFO or less verbose outside an investigation")
                .why(why)
                .see("logging-4.x, enabling wire logs; log4j2-config"),
            );
        }
    }
    correlation(cx, out);
}

/// Correlation logs from the JVM option (the start that comes next) or deployment.toml.
fn correlation(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    const FLAG: &str = "-DenableCorrelationLogs";
    let option = match cx.jvm() {
        Some(jvm) => jvm.get(FLAG).map(|o| {
            (
                o.flag.value.clone(),
                o.location(),
                crate::rules::jvm::script_name(&jvm.script),
            )
        }),
        None => cx.script().and_then(|s| {
            s.get(FLAG).map(|f| {
                (
                    f.value.clone(),
                    s.file.location(f.value_span.unwrap_or(f.token_span)),
                    crate::rules::jvm::script_name(&s.file),
                )
            })
        }),
    };
    let why = "correlation logs time and log every HTTP, JDBC and LDAP call and every Synapse step of a request; WSO2 documents them for troubleshooting";
    if let Some((value, at, script)) = option
        && value
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        out.push(
            Finding::new(
                RULE.code(),
                Subject::jvm(script, FLAG),
                "correlation logs are on (`-DenableCorrelationLogs=true`)",
            )
            .at(Some(at))
            .current("true")
            .expected("false outside an investigation")
            .why(why)
            .see("logging-4.x, correlation logs"),
        );
        return;
    }
    if let Some(eff) = apim.effective("apim.correlation_logs.enable")
        && let crate::apim::mapper::Origin::Toml {
            user_key,
            value_span,
            ..
        } = &eff.origin
        && eff.value.as_deref() == Some("true")
        && let Some(doc) = apim.toml.as_ref()
    {
        out.push(
            Finding::new(
                RULE.code(),
                Subject::setting("deployment.toml", user_key.clone()),
                "correlation logs are on (`[apim.correlation_logs] enable = true`)",
            )
            .at(Some(doc.file.location(*value_span)))
            .current("true")
            .expected("false outside an investigation")
            .why(why)
            .see("logging-4.x, correlation logs"),
        );
    }
}

pub fn check_access(cx: &RuleContext, out: &mut Vec<Finding>) {
    if !TRAFFIC_ROLES.contains(&cx.role) {
        return;
    }
    let Some((file, loggers)) = file_name(cx) else {
        return;
    };
    for l in loggers
        .iter()
        .filter(|l| l.name == ACCESS_LOGGER && logging::logs_info(&l.level))
    {
        out.push(
            Finding::new(
                ACCESS.code(),
                Subject::setting(file, l.key.clone()),
                format!("the gateway access log `{}` logs at {}", l.name, l.level),
            )
            .at(Some(l.at.clone()))
            .current(l.level.clone())
            .expected("on only when the access log is used")
            .why("one line is written per API call; usually worth it when the log is read, a cost when nobody reads it")
            .see("logging-4.x, HTTP access logs"),
        );
    }
}
