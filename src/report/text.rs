//! `--format text`: a header with the facts used (for `db audit`, the database and a table of
//! per-table figures), a summary that fits on one screen, the findings by severity then file and
//! line (identical ones as one block listing their places), and the summary line again.
//! `--concise` is one line per finding. Files are named through the report's
//! [`ShownPaths`](crate::model::ShownPaths).
//!
//! Colour comes from `colored`, whose global override `cli` sets once from `--color`/NO_COLOR;
//! nothing here decides whether to colour.

use super::counted;
use super::figures;
use super::sanitize::sanitize;
use super::{Context, Renderable};
use crate::db::model::{DbAuditReport, TableStats};
use crate::diag::{Effect, Family, Finding, Severity};
use crate::model::{Location, ShownPaths};
use crate::outcome::{AuditReport, FleetReport};
use colored::Colorize;
use std::fmt::Write;

pub fn render(r: &dyn Renderable) -> String {
    let mut out = String::new();
    // `db audit` findings are fixed by running `db clean`, never by `--apply`.
    let paths = r.paths();
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
    if r.findings().is_empty() {
        let _ = writeln!(out, "{}", "no findings".green().bold());
        return out;
    }
    // The summary first: one screen says how bad it is and what it takes, before the details.
    overview(r, applies, &mut out);
    for g in groups(&in_report_order(r.findings()), paths) {
        block(&g, applies, paths, &mut out);
    }
    // Again at the end, where a reader who scrolled through the findings is.
    summary(r, applies, &mut out);
    out
}

/// `--concise`: one line per finding, `file:line:col: severity[CODE] message` (as ruff's
/// `--output-format concise`), in the full report's order, then the summary line. A finding
/// without a file names its subject instead.
pub fn concise(r: &dyn Renderable) -> String {
    let mut out = String::new();
    let paths = r.paths();
    let applies = matches!(r.context(), Context::Audit(_));
    let mut all: Vec<&Finding> = r.findings().iter().collect();
    if let Context::Fleet(fr) = r.context() {
        // A deployment's own findings, then each node's, each once.
        let view = super::fleet::View::of(fr);
        let node_lines: Vec<String> = view
            .groups
            .iter()
            .flat_map(|g| {
                g.locations
                    .iter()
                    .map(|l| concise_line(&g.finding, Some(l), paths))
                    .collect::<Vec<_>>()
            })
            .collect();
        all.sort_by_cached_key(|f| order_key(f));
        for f in all {
            let _ = writeln!(out, "{}", concise_line(f, f.location.as_ref(), paths));
        }
        for l in node_lines {
            let _ = writeln!(out, "{l}");
        }
        fleet_summary(&view, &mut out);
        return out;
    }
    for f in in_report_order(r.findings()) {
        let _ = writeln!(out, "{}", concise_line(f, f.location.as_ref(), paths));
    }
    if r.findings().is_empty() {
        let _ = writeln!(out, "{}", "no findings".green().bold());
    } else {
        summary(r, applies, &mut out);
    }
    out
}

fn concise_line(f: &Finding, at: Option<&Location>, paths: &ShownPaths) -> String {
    let at = match at {
        Some(l) => paths.location(l),
        None => f.subject.to_string(),
    };
    let waived = if f.waived.is_some() { " (waived)" } else { "" };
    format!(
        "{}: {}[{}] {}{waived}",
        sanitize(&at),
        severity_label(f.severity),
        f.code.code(),
        sanitize(&paths.text(&f.message))
    )
}

/// Errors first, then warnings, then infos, each by file and line; waived findings (which do
/// not count) after the ones that do.
fn order_key(
    f: &Finding,
) -> (
    bool,
    std::cmp::Reverse<Severity>,
    (bool, String, u32, crate::diag::Code, String),
) {
    (
        f.waived.is_some(),
        std::cmp::Reverse(f.severity),
        f.sort_key(),
    )
}

fn in_report_order(findings: &[Finding]) -> Vec<&Finding> {
    let mut v: Vec<&Finding> = findings.iter().collect();
    v.sort_by_cached_key(|f| order_key(f));
    v
}

/// Findings that say the same thing (code, severity, message, current and expected value,
/// waived or not) in several places: one block listing the places.
struct Group<'a> {
    members: Vec<&'a Finding>,
}

fn groups<'a>(sorted: &[&'a Finding], paths: &ShownPaths) -> Vec<Group<'a>> {
    // Waived findings group only under the same waiver (reason, end date and the waiver's own
    // place): the block shows one waiver.
    type Key<'k> = (
        Option<(&'k str, Option<&'k str>, String)>,
        Severity,
        &'static str,
        String,
        Option<&'k str>,
        Option<&'k str>,
    );
    let mut index: std::collections::HashMap<Key<'a>, usize> = std::collections::HashMap::new();
    let mut out: Vec<Group<'a>> = Vec::new();
    for &f in sorted {
        let key: Key<'a> = (
            f.waived
                .as_ref()
                .map(|w| (w.reason.as_str(), w.expires.as_deref(), w.at.to_string())),
            f.severity,
            f.code.code(),
            paths.text(&f.message).into_owned(),
            f.current.as_deref(),
            f.expected.as_deref(),
        );
        match index.get(&key) {
            Some(&i) => out[i].members.push(f),
            None => {
                index.insert(key, out.len());
                out.push(Group { members: vec![f] });
            }
        }
    }
    out
}

/// A group's block: one finding's, with every place it was found and, deduplicated, the
/// notes and fixes of all of them.
fn block(g: &Group, applies: bool, paths: &ShownPaths, out: &mut String) {
    let first = g.members[0];
    let same_subject = g.members.iter().all(|f| f.subject == first.subject);
    // Each place once, with its subject when the places are about different settings.
    let mut places: Vec<String> = Vec::new();
    for f in &g.members {
        let at = f.location.as_ref().map(|l| paths.location(l));
        let place = match (at, same_subject) {
            (Some(at), true) => at,
            (Some(at), false) => format!("{at} ({})", f.subject),
            (None, true) => continue,
            (None, false) => f.subject.to_string(),
        };
        if !places.contains(&place) {
            places.push(place);
        }
    }
    let subject = if same_subject {
        first.subject.to_string()
    } else {
        format!("{} places", g.members.len())
    };
    let mut notes: Vec<String> = Vec::new();
    let mut fixes: Vec<String> = Vec::new();
    for f in &g.members {
        for n in &f.notes {
            let n = paths.text(n).into_owned();
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
        let fix = fix_hint(f, paths);
        if !fixes.contains(&fix) {
            fixes.push(fix);
        }
    }
    let b = Block {
        f: first,
        subject,
        scope: None,
        places,
        notes,
        fixes,
    };
    finding_block(&b, applies, paths, out);
}

fn header(r: &AuditReport, out: &mut String) {
    let f = &r.facts;
    let p = &r.paths;
    let kernel = f
        .kernel
        .as_ref()
        .map(|k| format!("kernel {} ({})", k.value, p.text(&k.source)))
        .unwrap_or_else(|| "kernel unknown".into());
    let java = f
        .java
        .as_ref()
        .map(|j| format!(", JDK {} ({})", j.value, p.text(&j.source)))
        .unwrap_or_default();
    let _ = writeln!(out, "{}", "apim-tune audit".bold());
    let _ = writeln!(
        out,
        "  host     {} cores ({}), {} MiB ({}), {kernel}, NAT {} ({}){java}",
        f.cores.value,
        p.text(&f.cores.source),
        f.memory_mb.value,
        p.text(&f.memory_mb.source),
        f.nat.value.as_str(),
        p.text(&f.nat.source)
    );
    match &r.apim {
        Some(a) => {
            let version = match &a.version {
                Some(v) => format!("{v} (from {})", p.text(&a.version_source)),
                None => format!("unknown, assuming {}", a.assumed_version),
            };
            let _ = writeln!(
                out,
                "  api-m    {} ({}), {} layout, version {version}",
                sanitize(&p.absolute(&a.home)),
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
        let _ = writeln!(out, "  note     {}", p.text(n));
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
        let homes = super::fleet::homes(n.node);
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
    let any = view.count(Severity::Error)
        + view.count(Severity::Warning)
        + view.count(Severity::Info)
        + view.waived()
        > 0;
    // The summary first when there is something to sum up; "no findings" is said once, last.
    if any {
        fleet_summary(&view, out);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} ({})\n",
        "deployment".bold(),
        counted(r.findings.len(), "finding", "findings")
    );
    for f in in_report_order(&r.findings) {
        finding(f, out);
    }
    let total: usize = view.nodes.iter().map(|n| n.findings.len()).sum();
    let _ = writeln!(
        out,
        "{} ({} on {}, {} distinct)\n",
        "nodes".bold(),
        counted(total, "finding", "findings"),
        counted(
            view.nodes.iter().filter(|n| !n.findings.is_empty()).count(),
            "node",
            "nodes"
        ),
        view.groups.len()
    );
    let mut groups: Vec<_> = view.groups.iter().collect();
    groups.sort_by_key(|g| {
        (
            g.finding.waived.is_some(),
            std::cmp::Reverse(g.finding.severity),
        )
    });
    for g in groups {
        let b = Block {
            f: &g.finding,
            subject: g.finding.subject.to_string(),
            scope: Some(g.scope()),
            places: g.locations.iter().map(Location::to_string).collect(),
            notes: g.finding.notes.clone(),
            fixes: Vec::new(),
        };
        finding_block(&b, false, &super::renderable::STORED, out);
    }
    fleet_summary(&view, out);
}

/// The deployment's one-line summary: before the findings and again after them.
fn fleet_summary(view: &super::fleet::View, out: &mut String) {
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
    let _ = writeln!(out, "{} {}{waived}", "summary:".bold(), severities(e, w, i));
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

/// A deployment finding: its own block, names as stored (a node's name, then its path).
fn finding(f: &Finding, out: &mut String) {
    let b = Block {
        f,
        subject: f.subject.to_string(),
        scope: None,
        places: f.location.iter().map(Location::to_string).collect(),
        notes: f.notes.clone(),
        fixes: Vec::new(),
    };
    finding_block(&b, false, &super::renderable::STORED, out);
}

/// What one block of the text report shows: a finding, or several that say the same thing.
struct Block<'a> {
    /// The finding whose message, values, why and source the block shows.
    f: &'a Finding,
    /// Its subject, or how many places when they are about different settings.
    subject: String,
    /// Which nodes have it (`on 2 of 3 gateways: gw1, gw2`), in a deployment.
    scope: Option<String>,
    /// Where, as the reader can open it.
    places: Vec<String>,
    /// The notes and `--apply` fixes of every finding of the block, each once.
    notes: Vec<String>,
    fixes: Vec<String>,
}

fn finding_block(b: &Block, applies: bool, paths: &ShownPaths, out: &mut String) {
    let Block {
        f,
        subject,
        scope,
        places,
        notes,
        fixes,
    } = b;
    let (subject, scope) = (subject.as_str(), scope.as_deref());
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
        sanitize(subject).bold()
    );
    if let Some(scope) = scope {
        let _ = writeln!(out, "  {} {}", "@".blue(), sanitize(scope));
    }
    // A node's path per node says little after three; a grouped finding's places are its
    // point, so more of them are listed.
    let shown = if scope.is_some() { 3 } else { 10 };
    for place in places.iter().take(shown) {
        let _ = writeln!(out, "  {} {}", "-->".blue(), sanitize(place));
    }
    if places.len() > shown {
        let more = places.len() - shown;
        let what = if scope.is_some() {
            counted(more, "node", "nodes")
        } else {
            counted(more, "place", "places")
        };
        let _ = writeln!(out, "  {} and {what} more", "-->".blue());
    }
    let _ = writeln!(
        out,
        "   {} {}",
        "=".blue(),
        sanitize(&paths.text(&f.message))
    );
    if f.current.is_some() || f.expected.is_some() {
        let _ = writeln!(
            out,
            "     current: {}   expected: {}",
            sanitize(&paths.text(f.current.as_deref().unwrap_or("-"))),
            sanitize(&paths.text(f.expected.as_deref().unwrap_or("-")))
        );
    }
    for n in notes {
        let _ = writeln!(out, "     note: {}", sanitize(n));
    }
    if let Some(why) = &f.why {
        let _ = writeln!(out, "     why: {}", sanitize(&paths.text(why)));
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
    if applies {
        for fix in fixes {
            let _ = writeln!(out, "     {}", fix.dimmed());
        }
    }
    out.push('\n');
}

/// What `--apply` does about a finding, in a line; files as the reader can open them.
fn fix_hint(f: &Finding, paths: &ShownPaths) -> String {
    match f.applied_fix() {
        Some(fix) => format!(
            "fixable with --apply ({})",
            super::fix_words::action(fix, &|s| format!("`{}`", sanitize(s)), &|file| {
                sanitize(&paths.file(file))
            })
        ),
        None => "not fixable automatically".into(),
    }
}

/// The summary that comes first: counts by severity and by family, what `--apply` can fix and
/// what it then takes for the changes to be in effect.
fn overview(r: &dyn Renderable, applies: bool, out: &mut String) {
    summary(r, applies, out);
    let kept: Vec<&Finding> = r.findings().iter().filter(|f| f.waived.is_none()).collect();
    let families: Vec<String> = Family::ALL
        .iter()
        .filter_map(|fam| {
            let of = |s: Severity| {
                kept.iter()
                    .filter(|f| f.code.family() == *fam && f.severity == s)
                    .count()
            };
            let (e, w, i) = (
                of(Severity::Error),
                of(Severity::Warning),
                of(Severity::Info),
            );
            if e + w + i == 0 {
                return None;
            }
            let parts: Vec<String> = [
                (e, "error", "errors"),
                (w, "warning", "warnings"),
                (i, "info", "info"),
            ]
            .iter()
            .filter(|(n, ..)| *n > 0)
            .map(|&(n, one, many)| counted(n, one, many))
            .collect();
            Some(format!(
                "{} {} ({})",
                fam.prefix(),
                e + w + i,
                parts.join(", ")
            ))
        })
        .collect();
    if !families.is_empty() {
        let _ = writeln!(out, "  families  {}", families.join("; "));
    }
    if applies {
        let mut effects: std::collections::BTreeMap<Effect, usize> = Default::default();
        for f in &kept {
            if let Some(fix) = f.applied_fix() {
                *effects.entry(fix.effect).or_default() += 1;
            }
        }
        let fixable: usize = effects.values().sum();
        let manual = kept.len() - fixable;
        let _ = writeln!(
            out,
            "  fixable   {fixable} with --apply, {manual} for a person to fix"
        );
        if !effects.is_empty() {
            let after: Vec<String> = effects
                .iter()
                .map(|(e, n)| format!("{} ({n})", effect_label(*e)))
                .collect();
            let _ = writeln!(out, "  then      {}", after.join("; "));
        }
    }
    out.push('\n');
}

/// What it takes for an applied change to be in effect, short (`explain` and `--apply` say it
/// in full).
fn effect_label(e: Effect) -> &'static str {
    match e {
        Effect::SysctlReload => "reload kernel parameters, no reboot",
        Effect::NewSessions => "new login sessions",
        Effect::RestartService => "daemon-reload and restart the unit",
        Effect::RestartApim => "restart API-M",
    }
}

fn summary(r: &dyn Renderable, applies: bool, out: &mut String) {
    let (e, w, i) = (
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info),
    );
    // Waived findings do not count, nor does what `--apply` would fix of them.
    let fixable = r
        .findings()
        .iter()
        .filter(|f| f.fixable() && f.waived.is_none())
        .count();
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
        "{} {}{fixable}",
        "summary:".bold(),
        severities(e, w, i)
    );
}

/// "2 errors, 1 warning, 0 info": every severity, so a pipeline's grep finds each.
fn severities(e: usize, w: usize, i: usize) -> String {
    format!(
        "{}, {}, {i} info",
        counted(e, "error", "errors"),
        counted(w, "warning", "warnings")
    )
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

    /// Identical findings share a block, but findings accepted by different waivers do not:
    /// a block shows one waiver's reason.
    #[test]
    fn identical_findings_group_but_not_across_waivers() {
        use crate::diag::{Code, Finding, Waived};
        let broken = |line: u32, reason: Option<&str>, expires: Option<&str>| {
            let mut f = Finding::new(
                Code::SOURCE_UNPARSEABLE,
                "file:etc/sysctl.d/30-junk.conf",
                "expected `key = value`",
            )
            .at(Some(Location::at("etc/sysctl.d/30-junk.conf", line, 1)));
            f.waived = reason.map(|r| Waived {
                reason: r.into(),
                expires: expires.map(str::to_string),
                at: Location::at("w.toml", 1, 1),
            });
            f
        };
        let r = crate::report::sarif::sample::report(
            vec![
                broken(1, None, None),
                broken(2, None, None),
                broken(3, Some("vendor file"), None),
                broken(4, Some("being replaced"), None),
                broken(5, Some("vendor file"), None),
                // The same reason with its own end date is another waiver: its own block.
                broken(6, Some("vendor file"), Some("2027-01-31")),
            ],
            &[],
        );
        let text = plain(&r);
        let blocks: Vec<&str> = text
            .split("\n\n")
            .filter(|b| b.contains("[SRC002]"))
            .collect();
        assert_eq!(blocks.len(), 4, "{text}");
        let lines = |b: &str| -> Vec<u32> {
            b.lines()
                .filter_map(|l| l.trim().strip_prefix("--> etc/sysctl.d/30-junk.conf:"))
                .map(|l| l.split(':').next().unwrap().parse().unwrap())
                .collect()
        };
        assert_eq!(lines(blocks[0]), [1, 2]);
        assert!(!blocks[0].contains("waived"), "{}", blocks[0]);
        let waived: Vec<(Vec<u32>, bool)> = blocks[1..]
            .iter()
            .map(|b| (lines(b), b.contains("vendor file")))
            .collect();
        assert!(waived.contains(&(vec![3, 5], true)), "{text}");
        assert!(waived.contains(&(vec![4], false)), "{text}");
        assert!(waived.contains(&(vec![6], true)), "{text}");
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
