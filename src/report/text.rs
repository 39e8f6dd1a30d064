//! `--format text`: a header with the facts used (for `db audit`, the database and a table of
//! per-table figures), then one block per finding, then a summary.
//!
//! Colour comes from `colored`, whose global override `cli` sets once from `--color`/NO_COLOR;
//! nothing here decides whether to colour.

use super::figures;
use super::sanitize::sanitize;
use super::{Context, Renderable};
use crate::db::model::{DbAuditReport, TableStats};
use crate::diag::{Finding, Fix, FixShape, Severity};
use crate::model::Location;
use crate::outcome::{AuditReport, FleetReport};
use colored::Colorize;
use std::fmt::Write;

pub fn render(r: &dyn Renderable) -> String {
    let mut out = String::new();
    // `db audit` findings are fixed by running `db clean`, never by `--apply`.
    let applies = match r.context() {
        Context::Audit(a) => {
            header(a, &mut out);
            true
        }
        Context::Db(d) => {
            db_header(d, &mut out);
            false
        }
        Context::Fleet(fr) => {
            fleet(fr, &mut out);
            return out;
        }
    };
    for f in r.findings() {
        finding(f, applies, &mut out);
    }
    summary(r, applies, &mut out);
    out
}

fn header(r: &AuditReport, out: &mut String) {
    let f = &r.facts;
    let kernel = f
        .kernel
        .as_ref()
        .map(|k| format!("kernel {} ({})", k.value, k.source))
        .unwrap_or_else(|| "kernel unknown".into());
    let java = f
        .java
        .as_ref()
        .map(|j| format!(", JDK {} ({})", j.value, j.source))
        .unwrap_or_default();
    let _ = writeln!(out, "{}", "apim-tune audit".bold());
    let _ = writeln!(
        out,
        "  host     {} cores ({}), {} MiB ({}), {kernel}, NAT {} ({}){java}",
        f.cores.value,
        f.cores.source,
        f.memory_mb.value,
        f.memory_mb.source,
        f.nat.value.as_str(),
        f.nat.source
    );
    match &r.apim {
        Some(a) => {
            let version = match &a.version {
                Some(v) => format!("{v} (from {})", a.version_source),
                None => format!("unknown, assuming {}", a.assumed_version),
            };
            let _ = writeln!(
                out,
                "  api-m    {} ({}), {} layout, version {version}",
                sanitize(&a.home),
                a.chosen_by,
                a.layout
            );
        }
        None => {
            let _ = writeln!(out, "  api-m    none: host only");
        }
    }
    let _ = writeln!(
        out,
        "  profile  {} (role {}, {} checks); limits user `{}` ({})",
        r.profile.chain.join(" → "),
        r.profile.role,
        r.profile.checks,
        sanitize(&r.user.name),
        r.user.chosen_by
    );
    for n in &r.notes {
        let _ = writeln!(out, "  note     {n}");
    }
    out.push('\n');
}

/// A deployment: its nodes, the cross-node findings, then the nodes' own findings with the
/// identical ones of several nodes shown once, then one summary of both.
fn fleet(r: &FleetReport, out: &mut String) {
    let view = super::fleet::View::of(r);
    let _ = writeln!(out, "{}", "apim-tune fleet merge".bold());
    let _ = writeln!(out, "  nodes    {}", view.nodes.len());
    for n in &view.nodes {
        let roles = if n.roles.is_empty() {
            "role unknown".to_string()
        } else {
            n.roles.join(", ")
        };
        let homes: Vec<String> = n
            .node
            .facts
            .homes
            .iter()
            .map(|h| {
                format!(
                    "{} {}",
                    h.role.value.as_deref().unwrap_or("?"),
                    h.version.value.as_deref().unwrap_or("version unknown")
                )
            })
            .collect();
        let homes = if homes.is_empty() {
            "host only".to_string()
        } else {
            homes.join(", ")
        };
        let _ = writeln!(
            out,
            "    {:<10} {roles}; {homes}; {} ({})",
            sanitize(&n.node.host),
            sanitize(&n.node.export_file),
            n.node.matched_by
        );
    }
    for n in &view.notes {
        let _ = writeln!(out, "  note     {}", sanitize(n));
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "{} ({} finding(s))\n",
        "deployment".bold(),
        r.findings.len()
    );
    for f in &r.findings {
        finding(f, false, out);
    }
    let total: usize = view.nodes.iter().map(|n| n.findings.len()).sum();
    let _ = writeln!(
        out,
        "{} ({total} finding(s) on {} node(s), {} distinct)\n",
        "nodes".bold(),
        view.nodes.iter().filter(|n| !n.findings.is_empty()).count(),
        view.groups.len()
    );
    for g in &view.groups {
        finding_on(&g.finding, false, Some(&g.scope()), &g.locations, out);
    }
    let (e, w, i) = (
        view.count(Severity::Error),
        view.count(Severity::Warning),
        view.count(Severity::Info),
    );
    if e + w + i + view.waived() == 0 {
        let _ = writeln!(out, "{}", "no findings".green().bold());
        return;
    }
    let waived = match view.waived() {
        0 => String::new(),
        n => format!(" ({n} waived)"),
    };
    let _ = writeln!(
        out,
        "{} {e} error(s), {w} warning(s), {i} info{waived}",
        "summary:".bold(),
    );
}

fn db_header(r: &DbAuditReport, out: &mut String) {
    let server = r
        .server_version
        .as_deref()
        .map_or_else(|| "server version unknown".to_string(), sanitize);
    let schema = r.schema_version.as_deref().map_or_else(
        || "unknown".to_string(),
        |v| format!("API-M {}", sanitize(v)),
    );
    let _ = writeln!(out, "{}", "apim-tune db audit".bold());
    let _ = writeln!(out, "  target   {}", sanitize(&r.target));
    let _ = writeln!(out, "  engine   {} ({server})", r.engine);
    let _ = writeln!(out, "  schema   {schema}");
    let _ = writeln!(out, "  now      {}", sanitize(&r.now));
    let _ = writeln!(
        out,
        "  cut-off  {} (safe period {})",
        sanitize(&r.cutoff),
        sanitize(&r.safe_period)
    );
    for n in &r.notes {
        let _ = writeln!(out, "  note     {}", sanitize(n));
    }
    out.push('\n');
    if !r.tables.is_empty() {
        tables(&r.tables, out);
        out.push('\n');
    }
}

/// One aligned row per table: rows, size, removable rows, the oldest removable row; then the
/// removable rows by reason, indented under their table.
fn tables(tables: &[TableStats], out: &mut String) {
    const HEAD: [&str; 5] = ["table", "rows", "size", "removable", "oldest removable"];
    let dash = || "-".to_string();
    let number = |n: Option<u64>| n.map_or_else(dash, |n| n.to_string());
    let rows: Vec<[String; 5]> = tables
        .iter()
        .map(|t| {
            [
                sanitize(&t.table),
                number(t.rows),
                figures::size(t).unwrap_or_else(dash),
                number(t.removable),
                t.oldest_removable.as_deref().map_or_else(dash, sanitize),
            ]
        })
        .collect();
    let mut width = HEAD.map(|h| h.chars().count());
    for (t, row) in tables.iter().zip(&rows) {
        // An absent table has only its name; its other cells must not widen the columns.
        let cells = if t.present { &row[..] } else { &row[..1] };
        for (w, cell) in width.iter_mut().zip(cells) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // Names and times read left to right; counts and sizes line up on their last digit.
    let line = |c: &[String; 5]| {
        format!(
            "  {:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
        )
    };
    let _ = writeln!(out, "{}", line(&HEAD.map(String::from)).dimmed());
    for (t, row) in tables.iter().zip(&rows) {
        if !t.present {
            let _ = writeln!(out, "  {:<w$}  {}", row[0], "absent".dimmed(), w = width[0]);
            continue;
        }
        let _ = writeln!(out, "{}", line(row));
        for (reason, n) in &t.reasons {
            let _ = writeln!(out, "    - {}: {n}", sanitize(reason));
        }
    }
}

fn severity_label(s: Severity) -> String {
    match s {
        Severity::Error => "error".red().bold().to_string(),
        Severity::Warning => "warning".yellow().bold().to_string(),
        Severity::Info => "info".cyan().bold().to_string(),
    }
}

fn finding(f: &Finding, applies: bool, out: &mut String) {
    let at: Vec<Location> = f.location.iter().cloned().collect();
    finding_on(f, applies, None, &at, out);
}

/// A finding's block; `scope` says which nodes have it (`on 2 of 3 gateways: gw1, gw2`) and
/// `locations` are where, one per node.
fn finding_on(
    f: &Finding,
    applies: bool,
    scope: Option<&str>,
    locations: &[Location],
    out: &mut String,
) {
    let waived = if f.waived.is_some() {
        format!("{} ", "waived".dimmed())
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{waived}{}[{}] {}: {}",
        severity_label(f.severity),
        f.code.code(),
        f.code.name(),
        sanitize(&f.subject.to_string()).bold()
    );
    if let Some(scope) = scope {
        let _ = writeln!(out, "  {} {}", "@".blue(), sanitize(scope));
    }
    // Three places say where; more would bury the message under the same path per node.
    const SHOWN: usize = 3;
    for loc in locations.iter().take(SHOWN) {
        let _ = writeln!(out, "  {} {}", "-->".blue(), sanitize(&loc.to_string()));
    }
    if locations.len() > SHOWN {
        let _ = writeln!(
            out,
            "  {} and {} more node(s)",
            "-->".blue(),
            locations.len() - SHOWN
        );
    }
    let _ = writeln!(out, "   {} {}", "=".blue(), sanitize(&f.message));
    if f.current.is_some() || f.expected.is_some() {
        let _ = writeln!(
            out,
            "     current: {}   expected: {}",
            sanitize(f.current.as_deref().unwrap_or("-")),
            sanitize(f.expected.as_deref().unwrap_or("-"))
        );
    }
    for n in &f.notes {
        let _ = writeln!(out, "     note: {}", sanitize(n));
    }
    if let Some(why) = &f.why {
        let _ = writeln!(out, "     why: {}", sanitize(why));
    }
    if let Some(see) = &f.see {
        let _ = writeln!(out, "     see: {}", sanitize(see));
    }
    if let Some(p) = &f.profile_at {
        let _ = writeln!(out, "     profile: {p}");
    }
    if let Some(w) = &f.waived {
        let until = w
            .expires
            .as_ref()
            .map(|e| format!(" until {e}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "     waived{until} ({}): {}",
            w.at,
            sanitize(&w.reason)
        );
    }
    let fix = match f.applied_fix().map(Fix::shape) {
        Some(FixShape::Replace { value: "", .. }) => {
            "fixable with --apply (remove the option)".to_string()
        }
        Some(FixShape::Replace { value, .. }) => {
            format!("fixable with --apply (set `{}`)", sanitize(value))
        }
        Some(FixShape::Insert { file, key, value }) => format!(
            "fixable with --apply (add `{}` = `{}` to {})",
            sanitize(&key),
            sanitize(value),
            sanitize(file)
        ),
        Some(FixShape::RemoveLine { also: [], .. }) => {
            "fixable with --apply (comment out the line)".into()
        }
        Some(FixShape::RemoveLine { also, .. }) => format!(
            "fixable with --apply (comment out the line and {})",
            more_lines(also.len())
        ),
        Some(FixShape::Move {
            file,
            key,
            value,
            also,
            ..
        }) => format!(
            "fixable with --apply (add `{}` = `{}` to {} and comment out this line{})",
            sanitize(&key),
            sanitize(value),
            sanitize(file),
            if also.is_empty() {
                String::new()
            } else {
                format!(" and {}", more_lines(also.len()))
            }
        ),
        None => "not fixable automatically".into(),
    };
    if applies {
        let _ = writeln!(out, "     {}", fix.dimmed());
    }
    out.push('\n');
}

fn summary(r: &dyn Renderable, applies: bool, out: &mut String) {
    let (e, w, i) = (
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info),
    );
    let fixable = r.findings().iter().filter(|f| f.fixable()).count();
    let waived = match r.waived() {
        0 => String::new(),
        n => format!(", {n} waived"),
    };
    if r.findings().is_empty() {
        let _ = writeln!(out, "{}", "no findings".green().bold());
        return;
    }
    let fixable = if applies {
        format!(" ({fixable} fixable with --apply{waived})")
    } else if waived.is_empty() {
        String::new()
    } else {
        format!(" ({})", waived.trim_start_matches(", "))
    };
    let _ = writeln!(
        out,
        "{} {} error(s), {} warning(s), {} info{fixable}",
        "summary:".bold(),
        e,
        w,
        i,
    );
}

/// "the 3 earlier lines of the same key", for a fix that comments out more than one line.
fn more_lines(n: usize) -> String {
    match n {
        1 => "the earlier line of the same key".to_string(),
        n => format!("the {n} earlier lines of the same key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::db_sample;

    /// Without a colour override, `colored` colours whenever stdout is a terminal, which
    /// `cargo test` run by hand may be; `--color never` does the same in the CLI.
    fn plain(r: &dyn Renderable) -> String {
        colored::control::set_override(false);
        render(r)
    }

    /// A fix for a person to make (removing an API-M setting) is neither announced as
    /// `--apply`'s nor counted as fixable. See: issue 12 (APM004 said "fixable with --apply").
    #[test]
    fn a_display_only_fix_is_not_called_fixable() {
        use crate::diag::{Change, Code, Effect, Finding, Fix};
        use crate::model::Location;
        let at = Location::at("opt/x/repository/conf/deployment.toml", 2, 1);
        let f = Finding::new(
            Code::SETTING_SHOULD_BE_ABSENT,
            "deployment.toml:apim.cache.gateway_token.enable",
            "`apim.cache.gateway_token.enable` is set to `true` but should not be set",
        )
        .at(Some(at.clone()))
        .fix(Fix::display_only(
            Change::RemoveApim {
                file: at.file.clone(),
                key: "apim.cache.gateway_token.enable".into(),
                at,
            },
            Effect::RestartApim,
        ));
        let text = plain(&crate::report::sarif::sample::report(vec![f], &[]));
        assert!(text.contains("not fixable automatically"), "{text}");
        assert!(!text.contains("fixable with --apply ("), "{text}");
        assert!(text.contains("(0 fixable with --apply)"), "{text}");
    }

    #[test]
    fn a_db_report() {
        insta::assert_snapshot!(plain(&db_sample::report()));
    }

    #[test]
    fn a_db_report_with_nothing_known_or_measured() {
        let mut r = db_sample::report();
        r.server_version = None;
        r.schema_version = None;
        r.tables.clear();
        r.findings.clear();
        r.notes.clear();
        insta::assert_snapshot!(plain(&r), @r"
        apim-tune db audit
          target   postgres://apim:****@db.example:5432/apim_db
          engine   postgresql (server version unknown)
          schema   unknown
          now      2026-11-22 05:48:01
          cut-off  2026-11-21 05:48:01 (safe period 24h)

        no findings
        ");
    }
}
