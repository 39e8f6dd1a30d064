//! `--format html`: one self-contained page per report (audit, db audit, fleet merge,
//! validate) to read in a browser, print or open on a phone. Nothing in it loads from
//! anywhere: styles, script and plots are inline, a Content-Security-Policy forbids every
//! fetch, and every value is escaped. Secrets never reach here: parsers, the diff and the
//! database target are already masked.

mod findings;
mod page;
mod svg;

use super::figures;
use super::{Context, RenderOptions, Renderable, counted};
use crate::db::model::{DbAuditReport, TableStats};
use crate::gateway::checks::Status;
use crate::gateway::validate::ValidateReport;
use crate::outcome::{AuditReport, FleetReport};
use findings::Row;
use page::{esc, prose};
use std::fmt::Write;

pub use page::csp;

/// An audit, a database audit or a deployment, with the diff `--apply` would make when `o`
/// carries one.
pub fn render(r: &dyn Renderable, o: &RenderOptions) -> String {
    let mut body = String::new();
    let (title, applies) = match r.context() {
        Context::Audit(a) => {
            audit_header(a, &mut body);
            ("apim-tune audit", true)
        }
        Context::Db(d) => {
            db_header(d, &mut body);
            ("apim-tune db audit", false)
        }
        Context::Fleet(fr) => {
            fleet(fr, &mut body);
            return page::document("apim-tune fleet merge", &body);
        }
    };
    let paths = r.paths();
    let mut rows: Vec<Row> = r.findings().iter().map(|f| Row::of(f, paths)).collect();
    findings::sort(&mut rows);
    body.push_str("<h2>Summary</h2>\n");
    let _ = writeln!(
        body,
        "<p class=\"muted\">{} checks made.</p>",
        r.checked().len()
    );
    findings::summary(r, &rows, applies, &mut body);
    if let Context::Db(d) = r.context() {
        db_tables(d, &mut body);
    }
    if !rows.is_empty() {
        body.push_str("<h2>Findings</h2>\n");
        findings::table(&rows, applies, &mut body);
    }
    if let Some(d) = o.diff.filter(|d| !d.trim().is_empty()) {
        body.push_str("<h2>What <code>--apply</code> would change</h2>\n");
        findings::diff(d, &mut body);
    }
    page::document(title, &body)
}

fn facts(out: &mut String, rows: &[(&str, String)]) {
    out.push_str("<dl class=\"facts\">");
    for (k, v) in rows {
        let _ = write!(out, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    }
    out.push_str("</dl>\n");
}

fn audit_header(r: &AuditReport, out: &mut String) {
    out.push_str("<h1>apim-tune audit</h1>\n");
    let f = &r.facts;
    let mut host = format!(
        "{} cores ({}), {} MiB ({}), NAT {} ({})",
        f.cores.value,
        f.cores.source,
        f.memory_mb.value,
        f.memory_mb.source,
        f.nat.value.as_str(),
        f.nat.source
    );
    if let Some(k) = &f.kernel {
        let _ = write!(host, ", kernel {} ({})", k.value, k.source);
    }
    if let Some(j) = &f.java {
        let _ = write!(host, ", JDK {} ({})", j.value, j.source);
    }
    let apim = match &r.apim {
        Some(a) => {
            let version = match &a.version {
                Some(v) => format!("{v} (from {})", a.version_source),
                None => format!("unknown, assuming {}", a.assumed_version),
            };
            format!(
                "<code>{}</code> ({}), {} layout, version {}",
                esc(&a.home),
                esc(&a.chosen_by),
                esc(a.layout),
                esc(&version)
            )
        }
        None => "none: host only".into(),
    };
    let mut rows = vec![
        ("host", esc(&host)),
        ("API-M", apim),
        (
            "profile",
            esc(&format!(
                "{} (role {}, {} checks)",
                r.profile.chain.join(" → "),
                r.profile.role,
                r.profile.checks
            )),
        ),
        (
            "limits user",
            format!(
                "<code>{}</code> ({})",
                esc(&r.user.name),
                esc(&r.user.chosen_by)
            ),
        ),
    ];
    rows.extend(r.notes.iter().map(|n| ("note", prose(n))));
    facts(out, &rows);
}

fn db_header(r: &DbAuditReport, out: &mut String) {
    out.push_str("<h1>apim-tune db audit</h1>\n");
    let mut rows = vec![
        ("target", format!("<code>{}</code>", esc(&r.target))),
        (
            "engine",
            esc(&format!(
                "{} ({})",
                r.engine,
                r.server_version
                    .as_deref()
                    .unwrap_or("server version unknown")
            )),
        ),
        (
            "schema",
            esc(&r
                .schema_version
                .as_deref()
                .map_or_else(|| "unknown".to_string(), |v| format!("API-M {v}"))),
        ),
        ("now", esc(&r.now)),
        (
            "cut-off",
            esc(&format!("{} (safe period {})", r.cutoff, r.safe_period)),
        ),
    ];
    rows.extend(r.notes.iter().map(|n| ("note", prose(n))));
    facts(out, &rows);
}

/// The per-table figures: a plot of each table's size with the share `db clean` would remove,
/// by reason, then the same figures as a table.
fn db_tables(r: &DbAuditReport, out: &mut String) {
    let present: Vec<&TableStats> = r.tables.iter().filter(|t| t.present).collect();
    if present.is_empty() {
        return;
    }
    out.push_str("<h2>Tables</h2>\n");
    let mut reasons: Vec<String> = Vec::new();
    for t in &present {
        for (reason, _) in &t.reasons {
            if !reasons.contains(reason) {
                reasons.push(reason.clone());
            }
        }
    }
    let sized = present.iter().any(|t| t.size_bytes.is_some());
    let bars: Vec<svg::HBar> = present
        .iter()
        .map(|t| {
            // Sizes are per table; the removable share of a size is estimated from the share of
            // rows, which is what the caption says.
            let total = if sized {
                t.size_bytes.unwrap_or(0) as f64
            } else {
                t.rows.unwrap_or(0) as f64
            };
            let rows = t.rows.unwrap_or(0) as f64;
            let per_row = if rows > 0.0 { total / rows } else { 0.0 };
            let segments = reasons
                .iter()
                .map(|reason| {
                    t.reasons
                        .iter()
                        .filter(|(r, _)| r == reason)
                        .map(|(_, n)| *n as f64 * per_row)
                        .sum()
                })
                .collect();
            let share = match (t.removable, t.rows) {
                (Some(rm), Some(n)) if n > 0 => {
                    format!(", {:.0} % removable", 100.0 * rm as f64 / n as f64)
                }
                _ => String::new(),
            };
            let amount = if sized {
                figures::size(t).unwrap_or_else(|| "size unknown".into())
            } else {
                format!("{} rows", t.rows.unwrap_or(0))
            };
            svg::HBar {
                label: t.table.clone(),
                total,
                caption: format!("{amount}{share}"),
                segments,
            }
        })
        .collect();
    let what = if sized { "size" } else { "rows" };
    let _ = writeln!(
        out,
        "<figure>{}<figcaption>Each table's {what} (grey) and the part <code>db clean</code> would remove, by reason (coloured; a size's share is estimated from the share of rows).</figcaption></figure>",
        svg::stacked_hbars(
            &format!("table {what} and removable share"),
            &reasons,
            &bars
        )
    );
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>Table</th><th class=\"n\">Rows</th><th class=\"n\">Size</th><th class=\"n\">Removable</th><th>By reason</th><th>Oldest removable</th></tr></thead><tbody>\n",
    );
    let number = |n: Option<u64>| n.map_or_else(|| "–".to_string(), |n| n.to_string());
    for t in &r.tables {
        if !t.present {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td colspan=\"5\" class=\"muted\">absent</td></tr>",
                esc(&t.table)
            );
            continue;
        }
        let by: Vec<String> = t
            .reasons
            .iter()
            .map(|(r, n)| format!("{}: {n}", esc(r)))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&t.table),
            number(t.rows),
            esc(&figures::size(t).unwrap_or_else(|| "–".into())),
            number(t.removable),
            by.join("<br>"),
            esc(t.oldest_removable.as_deref().unwrap_or("–"))
        );
    }
    out.push_str("</tbody></table></div>\n");
}

/// A deployment: its nodes, the summary of deployment and node findings, the heatmap of
/// settings that differ between nodes of one role, then the findings (deployment ones, and
/// the nodes' own with identical ones of several nodes on one row).
fn fleet(r: &FleetReport, out: &mut String) {
    let view = super::fleet::View::of(r);
    out.push_str("<h1>apim-tune fleet merge</h1>\n");
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>Node</th><th>Roles</th><th>Homes</th><th>Export</th><th class=\"n\">Findings</th></tr></thead><tbody>\n",
    );
    for n in &view.nodes {
        let homes = super::fleet::homes(n.node);
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code> ({})</td><td class=\"n\">{}</td></tr>",
            esc(&n.node.host),
            esc(&if n.roles.is_empty() {
                "role unknown".into()
            } else {
                n.roles.join(", ")
            }),
            esc(&if homes.is_empty() {
                "host only".into()
            } else {
                homes.join(", ")
            }),
            esc(&n.node.export_file),
            esc(&n.node.matched_by),
            n.findings.len()
        );
    }
    out.push_str("</tbody></table></div>\n");
    if !view.notes.is_empty() {
        let notes: Vec<(&str, String)> = view.notes.iter().map(|n| ("note", prose(n))).collect();
        facts(out, &notes);
    }
    let paths = r.paths();
    let mut rows: Vec<Row> = r.findings.iter().map(|f| Row::of(f, paths)).collect();
    rows.extend(view.groups.iter().map(|g| Row {
        finding: &g.finding,
        paths,
        locations: g.locations.clone(),
        scope: Some(g.scope()),
        weight: g.hosts.len(),
    }));
    findings::sort(&mut rows);
    out.push_str("<h2>Summary</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"muted\">{}; {} on {}, {} distinct (the counts below take in every node's own).</p>",
        counted(
            r.findings.len(),
            "deployment finding",
            "deployment findings"
        ),
        counted(
            view.nodes.iter().map(|n| n.findings.len()).sum::<usize>(),
            "node finding",
            "node findings"
        ),
        counted(
            view.nodes.iter().filter(|n| !n.findings.is_empty()).count(),
            "node",
            "nodes"
        ),
        view.groups.len()
    );
    findings::summary(r, &rows, false, out);
    let drift = super::fleet::drift(&view);
    out.push_str("<h2>Settings that differ between nodes of one role</h2>\n");
    if drift.is_empty() {
        out.push_str("<p>Every role's nodes agree on every setting compared.</p>\n");
    }
    for d in &drift {
        heatmap_figure(&super::fleet::plural(&d.role), &d.hosts, &d.rows, out);
    }
    if !rows.is_empty() {
        out.push_str("<h2>Findings</h2>\n");
        findings::table(&rows, false, out);
    }
}

/// Past this many columns a heatmap's cell is too narrow to read on any screen or page; the
/// findings still name every node.
const HEATMAP_NODES: usize = 40;

/// One role's setting × node heatmap, cut to its first [`HEATMAP_NODES`] nodes.
fn heatmap_figure(
    role: &str,
    hosts: &[String],
    rows: &[(String, Vec<Option<String>>)],
    out: &mut String,
) {
    let shown = hosts.len().min(HEATMAP_NODES);
    let rows: Vec<(String, Vec<Option<String>>)> = rows
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().take(shown).cloned().collect()))
        .collect();
    let cut = if shown < hosts.len() {
        format!(" The first {shown} of {} nodes.", hosts.len())
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "<figure class=\"scroll\">{}<figcaption>{}: one colour per distinct value in a row; – where a node does not say.{cut}</figcaption></figure>",
        svg::heatmap(&format!("{role}: setting × node"), &hosts[..shown], &rows),
        esc(role)
    );
}

/// `validate`: the load, the settings side by side, plots of latency percentiles and
/// throughput per configuration, the results and the checks.
pub fn validate(r: &ValidateReport) -> String {
    let mut out = String::from("<h1>apim-tune validate</h1>\n");
    let l = &r.load;
    let model = match l.rate {
        Some(rate) => {
            format!("{rate} req/s (open model, latency from each request's intended start)")
        }
        None => "as fast as answered (closed loop)".into(),
    };
    let mut rows = vec![
        ("home", esc(&r.home)),
        (
            "load",
            esc(&format!(
                "{} connections for {} s, at most {} requests, {model}",
                l.connections, l.duration_s, l.max_requests
            )),
        ),
        (
            "bench",
            esc(&format!(
                "backend delay {} ms, payload {} B, key-manager lookup {} ms, {} active tokens, all on 127.0.0.1",
                l.backend_delay_ms, l.payload_bytes, l.km_latency_ms, l.tokens
            )),
        ),
    ];
    rows.extend(r.notes.iter().map(|n| ("note", prose(n))));
    facts(&mut out, &rows);

    if !r.checks.is_empty() {
        let failed = r.checks.iter().filter(|c| c.status == Status::Fail).count();
        let passed = r.checks.iter().filter(|c| c.status == Status::Pass).count();
        let _ = writeln!(
            out,
            "<h2>Summary</h2>\n<div class=\"cards\"><div class=\"card error\"><b>{failed}</b>checks failed</div><div class=\"card\"><b>{passed}</b>passed</div><div class=\"card\"><b>{}</b>skipped</div></div>",
            r.checks.len() - failed - passed
        );
    }

    let configs: Vec<String> = r.runs.iter().map(|run| run.config.clone()).collect();
    let percentiles = ["p50", "p90", "p99", "p99.9", "max"].map(String::from);
    let latency: Vec<(String, Vec<f64>)> = r
        .runs
        .iter()
        .map(|run| {
            let l = &run.latency_ms;
            (
                run.config.clone(),
                vec![l.p50, l.p90, l.p99, l.p99_9, l.max],
            )
        })
        .collect();
    let throughput: Vec<(String, Vec<f64>)> = r
        .runs
        .iter()
        .map(|run| (run.config.clone(), vec![run.throughput_rps]))
        .collect();
    let corrected = r.runs.iter().any(|run| run.latency_corrected);
    out.push_str("<h2>Results</h2>\n<div class=\"plots\">");
    let _ = write!(
        out,
        "<figure>{}<figcaption>Latency percentiles per configuration, in ms{}.</figcaption></figure>",
        svg::grouped_bars("latency percentiles", "ms", &percentiles, &latency),
        if corrected {
            " (corrected for coordinated omission)"
        } else {
            ""
        }
    );
    let _ = write!(
        out,
        "<figure>{}<figcaption>Throughput per configuration, in requests per second.</figcaption></figure>",
        svg::grouped_bars(
            "throughput",
            "req/s",
            &["throughput".to_string()],
            &throughput
        )
    );
    out.push_str("</div>\n");

    // The figures behind the plots, and the settings that made them.
    let _ = write!(out, "<div class=\"scroll\"><table><thead><tr><th></th>");
    for c in &configs {
        let _ = write!(out, "<th class=\"n\">{}</th>", esc(c));
    }
    out.push_str("</tr></thead><tbody>\n");
    let line = |out: &mut String, name: &str, cell: &dyn Fn(usize) -> String| {
        let _ = write!(out, "<tr><td>{}</td>", esc(name));
        for i in 0..r.runs.len() {
            let _ = write!(out, "<td class=\"n\">{}</td>", esc(&cell(i)));
        }
        out.push_str("</tr>\n");
    };
    line(&mut out, "requests", &|i| r.runs[i].requests.to_string());
    line(&mut out, "throughput (req/s)", &|i| {
        format!("{:.1}", r.runs[i].throughput_rps)
    });
    line(&mut out, "latency p50 (ms)", &|i| {
        format!("{:.3}", r.runs[i].latency_ms.p50)
    });
    line(&mut out, "latency p99 (ms)", &|i| {
        format!("{:.3}", r.runs[i].latency_ms.p99)
    });
    line(&mut out, "errors", &|i| {
        r.runs[i].errors.total().to_string()
    });
    if let Some(first) = r.runs.first() {
        let _ = writeln!(
            out,
            "<tr><th colspan=\"{}\">settings</th></tr>",
            r.runs.len() + 1
        );
        for (k, s) in first.settings.iter().enumerate() {
            line(&mut out, s.name, &|i| {
                r.runs[i]
                    .settings
                    .get(k)
                    .map_or_else(|| "–".to_string(), |s| s.display())
            });
        }
    }
    out.push_str("</tbody></table></div>\n");

    if !r.checks.is_empty() {
        out.push_str("<h2>Checks</h2>\n<div class=\"scroll\"><table><thead><tr><th>Status</th><th>Check</th><th>Configuration</th><th>Detail</th></tr></thead><tbody>\n");
        for c in &r.checks {
            let (class, tag) = match c.status {
                Status::Pass => ("pass", "PASS"),
                Status::Fail => ("fail", "FAIL"),
                Status::Skip => ("skip", "SKIP"),
            };
            let _ = writeln!(
                out,
                "<tr><td class=\"{class}\">{tag}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(c.name),
                esc(&c.config),
                prose(&c.detail)
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    page::document("apim-tune validate", &out)
}

#[cfg(test)]
mod tests;
