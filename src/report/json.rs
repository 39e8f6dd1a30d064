//! `--format json`: exactly one object, schema `apim-tune/audit/v1` (or `apim-tune/db-audit/v1`
//! for `db audit`); both carry findings and a summary of the same shape.
//!
//! Fields named in the issue must stay; more are welcome. Secrets never reach here: parsers
//! already masked them.

use super::{Context, Renderable};
use crate::db::model::{DbAuditReport, TableStats};
use crate::diag::{Finding, Fix, FixShape, Severity};
use crate::outcome::AuditReport;
use serde::Serialize;
use serde_json::{Value, json};

pub fn render(r: &dyn Renderable) -> String {
    let doc = match r.context() {
        Context::Audit(a) => audit(a),
        Context::Db(d) => db(d),
        // Written straight from borrowed parts: copying every node's embedded reports into
        // one `Value` first would double the memory of a large fleet's report.
        Context::Fleet(f) => {
            let view = super::fleet::View::of(f);
            let mut s = serde_json::to_string_pretty(&fleet(&view)).unwrap_or_else(|_| "{}".into());
            s.push('\n');
            return s;
        }
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// A fleet's JSON document, streamed to `w` (what [`render`] returns for a fleet, byte for
/// byte).
pub fn write_fleet(
    f: &crate::outcome::FleetReport,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let view = super::fleet::View::of(f);
    let mut out = std::io::BufWriter::new(w);
    serde_json::to_writer_pretty(&mut out, &fleet(&view)).map_err(std::io::Error::other)?;
    std::io::Write::write_all(&mut out, b"\n")?;
    std::io::Write::flush(&mut out)
}

fn audit(r: &AuditReport) -> Value {
    let f = &r.facts;
    json!({
        "schema": "apim-tune/audit/v1",
        "version": env!("CARGO_PKG_VERSION"),
        "host": {
            "cores": f.cores.value,
            "memory_mb": f.memory_mb.value,
            "kernel": f.kernel.as_ref().map(|k| k.value.clone()),
            "nat": f.nat.value.as_str(),
            "java": f.java.as_ref().map(|j| j.value),
            "sources": {
                "cores": f.cores.source,
                "memory_mb": f.memory_mb.source,
                "kernel": f.kernel.as_ref().map(|k| k.source.clone()),
                "nat": f.nat.source,
                "java": f.java.as_ref().map(|j| j.source.clone()),
            },
            "nat_signals": f.nat_signals,
            "nat_verdict": f.nat_verdict.as_str(),
            "distro": f.distro.as_ref().map(|d| d.id.clone() + d.version_id.as_deref().map(|v| format!(" {v}")).as_deref().unwrap_or("")),
            "cloud": f.cloud.as_ref().map(|c| c.value.clone()),
            "container": f.container.as_ref().map(|c| c.value.clone()),
            "limits_user": { "name": r.user.name, "chosen_by": r.user.chosen_by },
        },
        "apim": match &r.apim {
            Some(a) => json!({
                "home": a.home,
                "version": a.version,
                "layout": a.layout,
                "version_source": a.version_source,
                "assumed_version": a.assumed_version,
                "chosen_by": a.chosen_by,
            }),
            None => json!({ "home": null, "version": null, "layout": null }),
        },
        "profile": { "chain": r.profile.chain, "role": r.profile.role, "checks": r.profile.checks },
        "notes": r.notes,
        "findings": r.findings.iter().map(finding).collect::<Vec<_>>(),
        "sysctl": r.sysctl,
        "summary": summary(r),
    })
}

fn db(r: &DbAuditReport) -> Value {
    json!({
        "schema": "apim-tune/db-audit/v1",
        "version": env!("CARGO_PKG_VERSION"),
        "database": {
            "target": r.target,
            "engine": r.engine,
            "server_version": r.server_version,
            "schema_version": r.schema_version,
            "now": r.now,
            "cutoff": r.cutoff,
            "safe_period": r.safe_period,
        },
        "tables": r.tables.iter().map(table).collect::<Vec<_>>(),
        "notes": r.notes,
        "findings": r.findings.iter().map(finding).collect::<Vec<_>>(),
        "summary": summary(r),
    })
}

/// `apim-tune/fleet/v1`: the nodes (each with every home's own audit report inside, as that
/// node wrote it), the deployment findings in the audit's finding shape, the node findings
/// grouped across nodes, and one summary over both.
#[derive(Serialize)]
struct FleetDoc<'a> {
    schema: &'static str,
    version: &'static str,
    nodes: Vec<NodeDoc<'a>>,
    notes: &'a [String],
    findings: Vec<Value>,
    node_findings: Vec<Value>,
    summary: Value,
}

#[derive(Serialize)]
struct NodeDoc<'a> {
    host: &'a str,
    roles: &'a [String],
    inventory_role: Option<&'a str>,
    export_file: &'a str,
    matched_by: &'a str,
    hostname: Option<&'a str>,
    addresses: &'a [String],
    notes: &'a [String],
    findings: usize,
    homes: Vec<HomeDoc<'a>>,
}

#[derive(Serialize)]
struct HomeDoc<'a> {
    path: &'a str,
    version: Option<&'a str>,
    role: Option<&'a str>,
    offset: Option<u32>,
    report: &'a crate::fleet::facts::EmbeddedReport,
}

fn fleet<'a>(view: &'a super::fleet::View<'a>) -> FleetDoc<'a> {
    let nodes = view
        .nodes
        .iter()
        .map(|n| {
            let facts = &n.node.facts;
            NodeDoc {
                host: &n.node.host,
                roles: &n.roles,
                inventory_role: n.node.inventory_role.as_deref(),
                export_file: &n.node.export_file,
                matched_by: &n.node.matched_by,
                hostname: facts.host.hostname.value.as_deref(),
                addresses: &facts.host.addresses,
                notes: &facts.notes,
                findings: n.findings.len(),
                homes: facts
                    .homes
                    .iter()
                    .map(|h| HomeDoc {
                        path: &h.path,
                        version: h.version.value.as_deref(),
                        role: h.role.value.as_deref(),
                        offset: h.offset.value,
                        report: &h.report,
                    })
                    .collect(),
            }
        })
        .collect();
    let node_findings = view
        .groups
        .iter()
        .map(|g| {
            let mut v = finding(&g.finding);
            v["hosts"] = json!(g.hosts);
            v["role"] = json!(g.role);
            v["of"] = json!(g.of);
            v["locations"] = json!(
                g.locations
                    .iter()
                    .map(|l| json!({ "file": l.file, "line": l.line, "column": l.column }))
                    .collect::<Vec<_>>()
            );
            v
        })
        .collect();
    FleetDoc {
        schema: "apim-tune/fleet/v1",
        version: env!("CARGO_PKG_VERSION"),
        nodes,
        notes: &view.notes,
        findings: view.report.findings.iter().map(finding).collect(),
        node_findings,
        summary: json!({
            "error": view.count(Severity::Error),
            "warning": view.count(Severity::Warning),
            "info": view.count(Severity::Info),
            // A merge applies nothing: fixes are each node's, with `audit --apply` there.
            "fixable": view.report.findings.iter().filter(|f| f.fixable()).count(),
            "waived": view.waived(),
            "nodes": view.nodes.len(),
        }),
    }
}

/// Written out by hand rather than derived: a derived `reasons` would be `[text, rows]` pairs,
/// which a consumer can only read by position.
fn table(t: &TableStats) -> Value {
    json!({
        "table": t.table,
        "present": t.present,
        "rows": t.rows,
        "size_bytes": t.size_bytes,
        "size_kind": t.size_kind,
        "removable": t.removable,
        "reasons": t.reasons.iter().map(|(reason, rows)| json!({ "reason": reason, "rows": rows })).collect::<Vec<_>>(),
        "oldest_removable": t.oldest_removable,
    })
}

/// The counts every report ends with; the exit code is decided from the same ones.
fn summary(r: &dyn Renderable) -> Value {
    json!({
        "error": r.count(Severity::Error),
        "warning": r.count(Severity::Warning),
        "info": r.count(Severity::Info),
        "fixable": r.findings().iter().filter(|f| f.fixable()).count(),
        "waived": r.waived(),
    })
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
        "profile": f.profile_at.as_ref().map(|p| p.to_string()),
        "notes": f.notes,
        "fixable": f.fixable(),
        "fix": f.fix.as_ref().map(fix),
        "waived": f.waived.as_ref().map(|w| json!({
            "reason": w.reason,
            "expires": w.expires,
            "waiver": w.at.to_string(),
        })),
    })
}

fn fix(fx: &Fix) -> Value {
    match fx.shape() {
        FixShape::Replace { location, value } => json!({
            "kind": "replace",
            "file": location.file,
            "line": location.line,
            "span": location.span.map(|s| [s.start, s.end]),
            "value": value,
        }),
        FixShape::Insert { file, key, value } => json!({
            "kind": "insert", "file": file, "key": key, "value": value,
        }),
        FixShape::RemoveLine { location, also } => {
            let mut v = json!({
                "kind": "remove-line", "file": location.file, "line": location.line,
            });
            if !also.is_empty() {
                v["also"] = also_by_file(also);
            }
            v
        }
        // Both files `--apply` writes: the key added to `file`, the line at `from` commented out.
        FixShape::Move {
            from,
            file,
            key,
            value,
            also,
        } => {
            let mut v = json!({
                "kind": "move", "file": file, "key": key, "value": value,
                "from": { "file": from.file, "line": from.line },
            });
            if !also.is_empty() {
                v["from"]["also"] = also_by_file(also);
            }
            v
        }
    }
}

/// The other lines a fix comments out, by file: `[{"file": …, "lines": [3, 5]}]`.
fn also_by_file(also: &[crate::model::Location]) -> Value {
    let mut groups: Vec<(&str, Vec<Option<u32>>)> = Vec::new();
    for l in also {
        match groups.iter_mut().find(|(f, _)| *f == l.file) {
            Some((_, lines)) => lines.push(l.line),
            None => groups.push((&l.file, vec![l.line])),
        }
    }
    Value::Array(
        groups
            .into_iter()
            .map(|(file, lines)| json!({ "file": file, "lines": lines }))
            .collect(),
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_streamed_fleet_is_the_rendered_fleet() {
        let r = crate::report::fleet::sample::report_of_fleet();
        let mut streamed = Vec::new();
        write_fleet(&r, &mut streamed).unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), render(&r));
    }
    use super::*;
    use crate::report::db_sample;

    fn db_json(r: &DbAuditReport) -> Value {
        serde_json::from_str(&render(r)).unwrap()
    }

    #[test]
    fn a_db_report() {
        insta::assert_json_snapshot!(db_json(&db_sample::report()), {
            ".version" => "[VERSION]",
        });
    }

    /// Consumers of both schemas read findings and the summary with one parser.
    #[test]
    fn db_findings_and_summary_have_the_audit_shape() {
        let r = db_sample::report();
        let doc = db_json(&r);
        assert_eq!(doc["findings"], json!([finding(&r.findings[0])]));
        assert_eq!(doc["summary"], summary(&r));
        let audit: Value = serde_json::from_str(&render(&crate::report::sarif::sample::report(
            Vec::new(),
            &[],
        )))
        .unwrap();
        let keys = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>());
        assert_eq!(keys(&doc["summary"]), keys(&audit["summary"]));
    }
}
