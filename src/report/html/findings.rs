//! The summary (counts by severity and by family, what `--apply` fixes and what that takes to
//! be in effect) and the findings table with its filters (severity, family, file).

use super::super::Renderable;
use super::page::{esc, markup_safe, prose, reference};
use crate::diag::{Effect, Family, Finding, Fix, Severity};
use crate::model::{Location, ShownPaths};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The file filter's value for a finding without a file: not `""`, which is the filter's "all"
/// (found in review of issue 17: "(no file)" showed every row).
const NO_FILE: &str = "-";

/// One row of the table: a finding, where it is (several places for a finding that several
/// nodes share) and, for a deployment, on which nodes.
pub struct Row<'a> {
    pub finding: &'a Finding,
    /// How the report names files (as the reader can open them, for an audit without --root).
    pub paths: &'a ShownPaths,
    pub locations: Vec<Location>,
    pub scope: Option<String>,
    /// How many findings the row stands for: a deployment's row for a finding several nodes
    /// share counts once per node, as the severity counts and `--fail-on` do.
    pub weight: usize,
}

impl<'a> Row<'a> {
    pub fn of(finding: &'a Finding, paths: &'a ShownPaths) -> Row<'a> {
        Row {
            finding,
            paths,
            locations: finding
                .location
                .iter()
                .map(|l| Location {
                    file: paths.file(&l.file).into_owned(),
                    ..l.clone()
                })
                .collect(),
            scope: None,
            weight: 1,
        }
    }

    /// The file the file filter knows the row by: its first location's, or [`NO_FILE`].
    fn file(&self) -> &str {
        self.locations.first().map_or(NO_FILE, |l| l.file.as_str())
    }
}

/// Errors first, then warnings, then infos; within one severity by file and line, as the
/// reader fixes them.
pub fn sort(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        b.finding
            .severity
            .cmp(&a.finding.severity)
            .then_with(|| a.finding.sort_key().cmp(&b.finding.sort_key()))
    });
}

const SEVERITIES: [Severity; 3] = [Severity::Error, Severity::Warning, Severity::Info];

/// Counts by severity (waived apart) as `--fail-on` counts them (a deployment counts each
/// node's findings, not the rows that group them), by family, and — when `applies` (an audit,
/// where `--apply` fixes) — what is fixable and what it takes to be in effect.
pub fn summary(r: &dyn Renderable, rows: &[Row], applies: bool, out: &mut String) {
    let active = || rows.iter().filter(|r| r.finding.waived.is_none());
    out.push_str("<div class=\"cards\">");
    for s in SEVERITIES {
        let n = r.count(s);
        let _ = write!(
            out,
            "<div class=\"card {0}\"><b>{n}</b>{0}{1}</div>",
            s.as_str(),
            if n == 1 || s == Severity::Info {
                ""
            } else {
                "s"
            }
        );
    }
    let _ = write!(out, "<div class=\"card\"><b>{}</b>waived</div>", r.waived());
    if applies {
        let fixable: usize = active()
            .filter(|r| r.finding.fixable())
            .map(|r| r.weight)
            .sum();
        let _ = write!(
            out,
            "<div class=\"card\"><b>{fixable}</b>fixable with <code>--apply</code></div>"
        );
    }
    out.push_str("</div>\n");
    if rows.is_empty() {
        out.push_str("<p class=\"pass\">No findings.</p>\n");
        return;
    }
    let mut by_family: BTreeMap<Family, [usize; 3]> = BTreeMap::new();
    for r in active() {
        let counts = by_family.entry(r.finding.code.family()).or_default();
        let i = SEVERITIES
            .iter()
            .position(|s| *s == r.finding.severity)
            .unwrap_or(2);
        counts[i] += r.weight;
    }
    if !by_family.is_empty() {
        out.push_str(
            "<table class=\"families\"><thead><tr><th>Family</th><th class=\"n\">errors</th><th class=\"n\">warnings</th><th class=\"n\">info</th></tr></thead><tbody>\n",
        );
        for (family, c) in &by_family {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                family.prefix(),
                c[0],
                c[1],
                c[2]
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if applies {
        let mut effects: BTreeMap<Effect, usize> = BTreeMap::new();
        for r in active() {
            if let Some(fix) = r.finding.applied_fix() {
                *effects.entry(fix.effect).or_default() += r.weight;
            }
        }
        if !effects.is_empty() {
            out.push_str("<h3>After <code>--apply</code></h3>\n<ul>\n");
            for (effect, n) in &effects {
                let _ = writeln!(
                    out,
                    "<li>{n} fix{}: {}</li>",
                    if *n == 1 { "" } else { "es" },
                    prose(effect.describe())
                );
            }
            out.push_str("</ul>\n");
        }
    }
}

/// The table, sorted, after its three filters.
pub fn table(rows: &[Row], applies: bool, out: &mut String) {
    if rows.is_empty() {
        return;
    }
    let families: BTreeSet<Family> = rows.iter().map(|r| r.finding.code.family()).collect();
    let files: BTreeSet<&str> = rows.iter().map(Row::file).collect();
    out.push_str("<div class=\"filters\" role=\"search\">");
    select(
        out,
        "severity",
        "Severity",
        SEVERITIES
            .iter()
            .map(|s| (s.as_str().to_string(), s.as_str().to_string())),
    );
    select(
        out,
        "family",
        "Family",
        families
            .iter()
            .map(|f| (f.prefix().to_string(), f.prefix().to_string())),
    );
    select(
        out,
        "file",
        "File",
        files.iter().map(|f| {
            let shown = if *f == NO_FILE { "(no file)" } else { f };
            (f.to_string(), shown.to_string())
        }),
    );
    let _ = writeln!(
        out,
        "<span id=\"shown\" class=\"muted\" aria-live=\"polite\">{0} of {0} shown</span></div>",
        rows.len()
    );
    out.push_str(
        "<div class=\"scroll\"><table class=\"findings\"><thead><tr><th>Severity</th><th>Code</th><th>Setting</th><th>Where</th><th>Finding</th></tr></thead><tbody>\n",
    );
    for r in rows {
        row(r, applies, out);
    }
    out.push_str("</tbody></table></div>\n");
}

fn select(
    out: &mut String,
    key: &str,
    label: &str,
    options: impl Iterator<Item = (String, String)>,
) {
    let _ = write!(
        out,
        "<label>{label} <select id=\"filter-{key}\"><option value=\"\">all</option>"
    );
    for (value, shown) in options {
        let _ = write!(
            out,
            "<option value=\"{}\">{}</option>",
            esc(&value),
            esc(&shown)
        );
    }
    out.push_str("</select></label>");
}

fn row(r: &Row, applies: bool, out: &mut String) {
    let f = r.finding;
    let waived = f.waived.is_some();
    let _ = write!(
        out,
        "<tr class=\"finding{}\" data-severity=\"{}\" data-family=\"{}\" data-file=\"{}\">",
        if waived { " waived" } else { "" },
        f.severity.as_str(),
        f.code.family().prefix(),
        esc(r.file())
    );
    let _ = write!(
        out,
        "<td><span class=\"sev {0}\">{0}</span>{1}</td>",
        f.severity.as_str(),
        if waived {
            "<span class=\"tag\">waived</span>"
        } else {
            ""
        }
    );
    let _ = write!(
        out,
        "<td><code>{}</code><div class=\"muted\">{}</div></td><td><code>{}</code></td><td>",
        f.code.code(),
        esc(f.code.name()),
        esc(&f.subject.to_string())
    );
    if let Some(scope) = &r.scope {
        let _ = write!(out, "<div>{}</div>", esc(scope));
    }
    // A few places say where; more would bury the row under the same path per node.
    const SHOWN: usize = 3;
    for l in r.locations.iter().take(SHOWN) {
        let _ = write!(out, "<div><code>{}</code></div>", esc(&l.to_string()));
    }
    if r.locations.len() > SHOWN {
        let _ = write!(
            out,
            "<div class=\"muted\">and {} more</div>",
            r.locations.len() - SHOWN
        );
    }
    let _ = write!(
        out,
        "</td><td><div>{}</div>",
        prose(&r.paths.text(&f.message))
    );
    if f.current.is_some() || f.expected.is_some() {
        let _ = write!(
            out,
            "<div class=\"detail\"><b>current</b> <code>{}</code> → <b>expected</b> <code>{}</code></div>",
            esc(f.current.as_deref().unwrap_or("-")),
            esc(f.expected.as_deref().unwrap_or("-"))
        );
    }
    for n in &f.notes {
        let _ = write!(
            out,
            "<div class=\"detail\"><b>note</b> {}</div>",
            prose(&r.paths.text(n))
        );
    }
    if let Some(why) = &f.why {
        let _ = write!(out, "<div class=\"detail\"><b>why</b> {}</div>", prose(why));
    }
    if let Some(see) = &f.see {
        let _ = write!(
            out,
            "<div class=\"detail\"><b>see</b> {}</div>",
            reference(see)
        );
    }
    if let Some(p) = &f.profile_at {
        let _ = write!(
            out,
            "<div class=\"detail\"><b>profile</b> <code>{}</code></div>",
            esc(&p.to_string())
        );
    }
    if applies {
        let _ = write!(
            out,
            "<div class=\"detail\"><b>fix</b> {}</div>",
            fix_text(f.applied_fix(), r.paths)
        );
    }
    if let Some(w) = &f.waived {
        let until = w
            .expires
            .as_ref()
            .map(|e| format!(" until {}", esc(e)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<div class=\"detail\"><b>waived{until}</b> {} (<code>{}</code>)</div>",
            prose(&w.reason),
            esc(&w.at.to_string())
        );
    }
    out.push_str("</td></tr>\n");
}

/// What `--apply` would do for a finding, and what it takes to be in effect.
fn fix_text(fix: Option<&Fix>, paths: &ShownPaths) -> String {
    let Some(fix) = fix else {
        return "not fixable automatically".into();
    };
    let code = |s: &str| format!("<code>{}</code>", esc(s));
    let what = super::super::fix_words::action(fix, &code, &|file| code(&paths.file(file)));
    format!(
        "<code>--apply</code> will {what}; then {}",
        prose(fix.effect.describe())
    )
}

/// The unified diff `--apply` would make, a span per line coloured by its kind. A copy of it
/// still applies with `patch -p1`: the newlines, tabs and carriage returns stay (a CR as
/// `&#13;`, since HTML reads a bare CR as a line end), and only `& < > " '` are escaped (the
/// diff is masked already; `esc` would also turn tabs into spaces). Found in review of issue 17.
pub fn diff(d: &str, out: &mut String) {
    out.push_str("<pre class=\"diff\">");
    let lines: Vec<&str> = d.split_inclusive('\n').collect();
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        // A file header is a `--- ` line followed by a `+++ ` line: a removed line that starts
        // with `--` (a SQL comment) is a removed line.
        let header = (line.starts_with("--- ")
            && lines.get(i + 1).is_some_and(|n| n.starts_with("+++ ")))
            || (line.starts_with("+++ ") && i > 0 && lines[i - 1].starts_with("--- "));
        let class = if header {
            "d-file"
        } else if line.starts_with('+') {
            "d-add"
        } else if line.starts_with('-') {
            "d-del"
        } else if line.starts_with("@@") {
            "d-hunk"
        } else {
            ""
        };
        // Not `esc`: it would turn tabs into spaces (the diff is masked already).
        let body = markup_safe(line, true);
        if class.is_empty() {
            let _ = writeln!(out, "<span>{body}</span>");
        } else {
            let _ = writeln!(out, "<span class=\"{class}\">{body}</span>");
        }
    }
    out.push_str("</pre>\n");
}
