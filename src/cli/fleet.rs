//! `apim-tune fleet merge`: node exports + inventory → deployment-wide findings.

use super::args::{FleetMergeArgs, Format};
use super::output::{set_color, threshold, write_reports};
use crate::deployment::{self, MergeOptions};
use crate::diag::Finding;
use crate::exit_code;
use crate::outcome::FleetReport;
use serde_json::{Value, json};

/// The salt of the exports' fingerprints (the same one `apim-tune facts` used), for the
/// workloads of `-f`; never printed.
const SALT_VAR: &str = "APIM_TUNE_FLEET_SALT";

pub fn merge(a: &FleetMergeArgs) -> anyhow::Result<u8> {
    set_color(a.color);
    let opts = MergeOptions {
        exports: a.exports.clone(),
        inventory: a.inventory.clone(),
        manifests: a.manifests.clone(),
        db_max_connections: a.db_max_connections,
        waivers: a.waivers.clone(),
        salt: std::env::var_os(SALT_VAR)
            .filter(|s| !s.is_empty())
            .map(|s| s.as_encoded_bytes().to_vec()),
        today: crate::clock::today(),
    };
    let report = deployment::run(&opts)?;
    write_reports(&a.output, a.format, |f| render_fleet(f, &report))?;
    let fails = threshold(a.fail_on).is_some_and(|t| {
        report
            .findings
            .iter()
            .any(|f| f.severity >= t && f.waived.is_none())
    });
    Ok(if fails {
        exit_code::FINDINGS
    } else {
        exit_code::OK
    })
}

/// The one place a fleet report is rendered: REPORTS' `report::fleet_render` replaces the body
/// (text, JSON, SARIF, JUnit, Markdown with per-node findings grouped); until then a plain text
/// list and a JSON document of the deployment findings and the nodes.
fn render_fleet(format: Format, r: &FleetReport) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json_doc(r)).unwrap_or_else(|_| "{}".into());
            s.push('\n');
            s
        }
        _ => text(r),
    }
}

/// The JSON document, serialised from borrows: each node's embedded audit is written as it
/// is held, never copied (a thousand nodes' reports are most of a merge's memory).
fn json_doc(r: &FleetReport) -> impl serde::Serialize + '_ {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        version: &'static str,
        nodes: Vec<Node<'a>>,
        findings: Vec<Value>,
        notes: &'a [String],
    }
    #[derive(serde::Serialize)]
    struct Node<'a> {
        host: &'a str,
        inventory_role: Option<&'a str>,
        export_file: &'a str,
        matched_by: &'a str,
        hostname: Option<&'a str>,
        homes: Vec<Home<'a>>,
    }
    #[derive(serde::Serialize)]
    struct Home<'a> {
        path: &'a str,
        version: Option<&'a str>,
        role: Option<&'a str>,
        offset: Option<u32>,
        report: &'a Value,
    }
    Doc {
        schema: "apim-tune/fleet/v1",
        version: env!("CARGO_PKG_VERSION"),
        nodes: r
            .nodes
            .iter()
            .map(|n| Node {
                host: &n.host,
                inventory_role: n.inventory_role.as_deref(),
                export_file: &n.export_file,
                matched_by: &n.matched_by,
                hostname: n.facts.host.hostname.value.as_deref(),
                homes: n
                    .facts
                    .homes
                    .iter()
                    .map(|h| Home {
                        path: &h.path,
                        version: h.version.value.as_deref(),
                        role: h.role.value.as_deref(),
                        offset: h.offset.value,
                        report: &h.report,
                    })
                    .collect(),
            })
            .collect(),
        findings: r.findings.iter().map(finding).collect(),
        notes: &r.notes,
    }
}

fn finding(f: &Finding) -> Value {
    let loc = f.location.as_ref();
    json!({
        "code": f.code.code(),
        "name": f.code.name(),
        "severity": f.severity.as_str(),
        "subject": f.subject,
        "file": loc.map(|l| l.file.clone()),
        "line": loc.and_then(|l| l.line),
        "column": loc.and_then(|l| l.column),
        "current": f.current,
        "expected": f.expected,
        "message": f.message,
        "why": f.why,
        "see": f.see,
        "notes": f.notes,
        "waived": f.waived.as_ref().map(|w| json!({
            "reason": w.reason,
            "expires": w.expires,
            "waiver": w.at.to_string(),
        })),
    })
}

fn text(r: &FleetReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "Deployment: {} nodes", r.nodes.len());
    for n in &r.nodes {
        let roles: Vec<String> = n
            .facts
            .homes
            .iter()
            .map(|h| h.role.value.clone().unwrap_or_else(|| "unknown".into()))
            .collect();
        let _ = writeln!(
            s,
            "  {} ({}) from {} by {}",
            n.host,
            if roles.is_empty() {
                "no API-M home".to_string()
            } else {
                roles.join(", ")
            },
            n.export_file,
            n.matched_by
        );
    }
    let _ = writeln!(s);
    if r.findings.is_empty() {
        let _ = writeln!(s, "No deployment findings.");
    }
    for f in &r.findings {
        let _ = writeln!(
            s,
            "{} {} {}: {}",
            f.severity.as_str(),
            f.code.code(),
            f.subject,
            f.message
        );
        if let Some(l) = &f.location {
            let _ = writeln!(s, "    at {l}");
        }
        if let (Some(c), Some(e)) = (&f.current, &f.expected) {
            let _ = writeln!(s, "    current: {c}\n    expected: {e}");
        }
        for n in &f.notes {
            let _ = writeln!(s, "    note: {n}");
        }
        if let Some(w) = &f.waived {
            let _ = writeln!(s, "    waived: {}", w.reason);
        }
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}
