//! `--format markdown`: a pull-request comment (GitHub-flavoured): a summary, a table of the
//! findings, a table of the waived ones, and the diff `--apply` would make, folded. For
//! `db audit`, a table of per-table figures comes before the findings.
//!
//! Owns the comment's layout, its escaping and its size limit; it never judges a value and never
//! reads a file. Secrets never reach here: parsers and the diff already masked them.

use super::figures;
use super::sanitize::sanitize;
use super::{Context, RenderOptions, Renderable};
use crate::db::model::{DbAuditReport, TableStats};
use crate::diag::{Finding, Severity};
use crate::model::ShownPaths;
use crate::outcome::{AuditReport, FleetReport};
use std::fmt::Write;

/// GitHub refuses comments longer than this many characters. Lengths here are counted in
/// bytes, which are never fewer than characters, so staying under it in bytes is safe.
const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// Room kept for the lines that say what was left out.
const RESERVE: usize = 1_024;

pub fn render(r: &dyn Renderable, o: &RenderOptions) -> String {
    render_limited(r, o, GITHUB_COMMENT_LIMIT)
}

fn render_limited(r: &dyn Renderable, o: &RenderOptions, limit: usize) -> String {
    if let Context::Fleet(fr) = r.context() {
        return fleet(fr, limit);
    }
    let diff = o.diff.filter(|d| !d.trim().is_empty());
    if r.findings().is_empty() {
        let mut out = match r.context() {
            Context::Audit(_) => format!(
                "**apim-tune**: nothing found ({} settings checked, all as the profile recommends)\n",
                r.checked().len()
            ),
            // The figures are the point of a database audit, problem or not.
            Context::Db(d) => {
                let mut out = format!(
                    "## apim-tune db audit\n\n**apim-tune**: nothing found ({} checks made)\n\n",
                    r.checked().len()
                );
                db_context(d, &mut out);
                out
            }
            // Laid out by `fleet`, which returned above.
            Context::Fleet(_) => String::new(),
        };
        if let Some(d) = diff {
            let room = limit.saturating_sub(out.len() + RESERVE);
            out.push('\n');
            out.push_str(&diff_block(d, room));
        }
        return out;
    }

    let mut out = head(r);
    let active: Vec<&Finding> = r.findings().iter().filter(|f| f.waived.is_none()).collect();
    let waived: Vec<&Finding> = r.findings().iter().filter(|f| f.waived.is_some()).collect();
    let active_rows: Vec<String> = active.iter().map(|f| active_row(f, r.paths())).collect();
    let waived_rows: Vec<String> = waived.iter().map(|f| waived_row(f, r.paths())).collect();

    // The tables come first: the findings matter more than the diff that fixes some of them.
    let fixed = out.len() + ACTIVE_HEADER.len() + WAIVED_HEADER.len() + RESERVE;
    let mut room = limit.saturating_sub(fixed);
    let shown_active = fitting(&active_rows, &mut room);
    // The waived table follows only a complete one, so a cut never hides which table a row
    // belongs to.
    let shown_waived = if shown_active == active_rows.len() {
        fitting(&waived_rows, &mut room)
    } else {
        0
    };
    let left_out = (active_rows.len() - shown_active) + (waived_rows.len() - shown_waived);

    if active_rows.is_empty() {
        out.push_str("Nothing counts: every finding is waived.\n");
    } else {
        out.push_str(ACTIVE_HEADER);
        active_rows[..shown_active]
            .iter()
            .for_each(|row| out.push_str(row));
        if shown_active < active_rows.len() {
            out.push_str(&left_out_row(left_out, 6));
        }
    }
    if !waived_rows.is_empty() && shown_active == active_rows.len() {
        out.push_str("\n**Waived**\n\n");
        out.push_str(WAIVED_HEADER);
        waived_rows[..shown_waived]
            .iter()
            .for_each(|row| out.push_str(row));
        if shown_waived < waived_rows.len() {
            out.push_str(&left_out_row(left_out, 6));
        }
    }
    if let Some(d) = diff {
        out.push('\n');
        let room = limit.saturating_sub(out.len() + RESERVE);
        out.push_str(&diff_block(d, room));
    }
    out
}

const ACTIVE_HEADER: &str = "| | Severity | Code | Setting | Where | Current → Expected |\n\
                             | --- | --- | --- | --- | --- | --- |\n";
const WAIVED_HEADER: &str = "| Severity | Code | Setting | Where | Reason | Expires |\n\
                             | --- | --- | --- | --- | --- | --- |\n";

const GROUP_HEADER: &str = "| Severity | Code | Setting | Nodes | Current → Expected |\n\
                            | --- | --- | --- | --- | --- |\n";

/// A deployment: the counts, the nodes, the deployment findings, the nodes' own findings with
/// identical ones of several nodes on one row, then per role a setting × node matrix of what
/// differs between the nodes of that role. Cut to `limit` like an audit's comment.
fn fleet(r: &FleetReport, limit: usize) -> String {
    let view = super::fleet::View::of(r);
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut out = String::from("## apim-tune fleet merge\n\n");
    let _ = writeln!(
        out,
        "**apim-tune**: {}, {}, {} — {} waived\n",
        count(view.count(Severity::Error), "error", "errors"),
        count(view.count(Severity::Warning), "warning", "warnings"),
        count(view.count(Severity::Info), "info", "info"),
        view.waived()
    );
    let nodes: Vec<String> = view
        .nodes
        .iter()
        .map(|n| {
            let roles = if n.roles.is_empty() {
                "role unknown".to_string()
            } else {
                n.roles.join(", ")
            };
            format!("{} ({roles})", code(&n.node.host))
        })
        .collect();
    let _ = writeln!(out, "{} nodes: {}\n", nodes.len(), nodes.join(", "));
    for n in &view.notes {
        let _ = writeln!(out, "> {}", text(n));
    }
    if !view.notes.is_empty() {
        out.push('\n');
    }
    let deployment: Vec<String> = r
        .findings
        .iter()
        .map(|f| {
            if f.waived.is_some() {
                waived_row(f, &ShownPaths::as_stored())
            } else {
                active_row(f, &ShownPaths::as_stored())
            }
        })
        .collect();
    let groups: Vec<String> = view.groups.iter().map(group_row).collect();
    let drift = super::fleet::drift(&view);
    let mut room = limit.saturating_sub(out.len() + 3 * RESERVE);
    let mut left_out = 0;
    out.push_str("**Deployment**\n\n");
    if deployment.is_empty() {
        out.push_str("No cross-node finding.\n");
    } else {
        out.push_str(ACTIVE_HEADER);
        let shown = fitting(&deployment, &mut room);
        deployment[..shown].iter().for_each(|row| out.push_str(row));
        left_out += deployment.len() - shown;
    }
    out.push_str("\n**Nodes**\n\n");
    if groups.is_empty() {
        out.push_str("No node has a finding of its own.\n");
    } else {
        out.push_str(GROUP_HEADER);
        let shown = fitting(&groups, &mut room);
        groups[..shown].iter().for_each(|row| out.push_str(row));
        left_out += groups.len() - shown;
    }
    if !drift.is_empty() {
        out.push_str("\n**Settings that differ between nodes of one role**\n");
        for d in &drift {
            let mut table = format!(
                "\n*{}*\n\n| Setting |",
                text(&super::fleet::plural(&d.role))
            );
            for h in &d.hosts {
                let _ = write!(table, " {} |", code(h));
            }
            table.push_str("\n| --- |");
            table.push_str(&" --- |".repeat(d.hosts.len()));
            table.push('\n');
            let rows: Vec<String> = d
                .rows
                .iter()
                .map(|(k, values)| {
                    let mut row = format!("| {} |", code(k));
                    for v in values {
                        let _ = write!(
                            row,
                            " {} |",
                            v.as_deref().map_or_else(|| "–".to_string(), code)
                        );
                    }
                    row.push('\n');
                    row
                })
                .collect();
            if table.len() > room {
                left_out += rows.len();
                continue;
            }
            room -= table.len();
            out.push_str(&table);
            let shown = fitting(&rows, &mut room);
            rows[..shown].iter().for_each(|row| out.push_str(row));
            left_out += rows.len() - shown;
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n{left_out} more row{} not shown: the comment would exceed GitHub's size limit",
            plural(left_out)
        );
    }
    out
}

/// One finding of several nodes: which nodes, out of how many of their role.
fn group_row(g: &super::fleet::Group) -> String {
    let f = &g.finding;
    let change = match (&f.current, &f.expected) {
        (None, None) => String::new(),
        (c, e) => format!(
            "{} → {}",
            c.as_deref().map_or_else(|| "–".to_string(), code),
            e.as_deref().map_or_else(|| "–".to_string(), code)
        ),
    };
    let waived = if f.waived.is_some() { " (waived)" } else { "" };
    format!(
        "| {}{waived} | {} | {} | {} | {change} |\n",
        f.severity.as_str(),
        code_cell(f),
        code(&f.subject.to_string()),
        text(&g.scope()),
    )
}

/// How many rows fit in `room`, taking them in order; `room` shrinks by what they use.
fn fitting(rows: &[String], room: &mut usize) -> usize {
    let mut n = 0;
    for row in rows {
        if row.len() > *room {
            break;
        }
        *room -= row.len();
        n += 1;
    }
    n
}

fn left_out_row(n: usize, columns: usize) -> String {
    let mut row = format!(
        "| … | {n} more finding{} not shown: the comment would exceed GitHub's size limit |",
        plural(n)
    );
    row.push_str(&" |".repeat(columns - 2));
    row.push('\n');
    row
}

fn head(r: &dyn Renderable) -> String {
    let fixable = r
        .findings()
        .iter()
        .filter(|f| f.waived.is_none() && f.fixable())
        .count();
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut out = match r.context() {
        Context::Audit(_) => String::from("## apim-tune audit\n\n"),
        Context::Db(_) => String::from("## apim-tune db audit\n\n"),
        Context::Fleet(_) => String::from("## apim-tune fleet merge\n\n"),
    };
    let _ = writeln!(
        out,
        "**apim-tune**: {}, {}, {} — {fixable} fixable, {} waived\n",
        count(r.count(Severity::Error), "error", "errors"),
        count(r.count(Severity::Warning), "warning", "warnings"),
        count(r.count(Severity::Info), "info", "info"),
        r.waived()
    );
    match r.context() {
        Context::Audit(a) => audit_context(a, &mut out),
        Context::Db(d) => {
            db_context(d, &mut out);
            out.push('\n');
        }
        Context::Fleet(_) => {}
    }
    out
}

/// The database on one line, then its per-table figures as a table.
fn db_context(r: &DbAuditReport, out: &mut String) {
    let server = r
        .server_version
        .as_deref()
        .map_or_else(|| "server version unknown".to_string(), code);
    let schema = r.schema_version.as_deref().map_or_else(
        || "API-M schema unknown".to_string(),
        |v| format!("API-M schema {}", code(v)),
    );
    let _ = writeln!(
        out,
        "Database: {} ({}, {server}), {schema}; cut-off {} (now {}, safe period {})",
        code(&r.target),
        r.engine,
        code(&r.cutoff),
        code(&r.now),
        code(&r.safe_period)
    );
    if r.tables.is_empty() {
        return;
    }
    out.push_str(
        "\n| Table | Rows | Size | Removable | Oldest removable | Removable by reason |\n\
         | --- | ---: | ---: | ---: | --- | --- |\n",
    );
    for t in &r.tables {
        out.push_str(&table_row(t));
    }
}

fn table_row(t: &TableStats) -> String {
    if !t.present {
        return format!("| {} | absent | | | | |\n", code(&t.table));
    }
    let number = |n: Option<u64>| n.map_or_else(|| "–".to_string(), |n| n.to_string());
    let reasons: Vec<String> = t
        .reasons
        .iter()
        .map(|(reason, n)| format!("{}: {n}", text(reason)))
        .collect();
    format!(
        "| {} | {} | {} | {} | {} | {} |\n",
        code(&t.table),
        number(t.rows),
        // `text` escapes an estimate's `~`, which GitHub could pair into strikethrough.
        figures::size(t).map_or_else(|| "–".to_string(), |s| text(&s)),
        number(t.removable),
        t.oldest_removable
            .as_deref()
            .map_or_else(|| "–".to_string(), code),
        reasons.join("; ")
    )
}

/// The facts the host audit judged by, on one line.
fn audit_context(r: &AuditReport, out: &mut String) {
    let f = &r.facts;
    let kernel = f.kernel.as_ref().map_or_else(
        || "kernel unknown".to_string(),
        |k| format!("kernel {}", code(&k.value)),
    );
    let apim = match &r.apim {
        Some(a) => match &a.version {
            Some(v) => format!("API-M {} ({} layout)", code(v), a.layout),
            None => format!(
                "API-M version unknown, assuming {} ({} layout)",
                code(&a.assumed_version),
                a.layout
            ),
        },
        None => "host only (no API-M home)".to_string(),
    };
    let _ = writeln!(
        out,
        "Host: {} cores, {} MiB memory, {kernel}, NAT {}; {apim}\n",
        f.cores.value,
        f.memory_mb.value,
        f.nat.value.as_str()
    );
}

fn active_row(f: &Finding, paths: &ShownPaths) -> String {
    let change = match (&f.current, &f.expected) {
        (None, None) => String::new(),
        (c, e) => format!(
            "{} → {}",
            c.as_deref().map_or_else(|| "–".to_string(), code),
            e.as_deref().map_or_else(|| "–".to_string(), code)
        ),
    };
    format!(
        "| {} | {} | {} | {} | {} | {change} |\n",
        if f.fixable() { "fixable" } else { "" },
        f.severity.as_str(),
        code_cell(f),
        code(&f.subject.to_string()),
        place(f, paths),
    )
}

fn waived_row(f: &Finding, paths: &ShownPaths) -> String {
    let (reason, expires) = match &f.waived {
        Some(w) => (
            text(&w.reason),
            w.expires
                .as_deref()
                .map_or_else(|| "never".to_string(), text),
        ),
        None => (String::new(), String::new()),
    };
    format!(
        "| {} | {} | {} | {} | {reason} | {expires} |\n",
        f.severity.as_str(),
        code_cell(f),
        code(&f.subject.to_string()),
        place(f, paths),
    )
}

fn code_cell(f: &Finding) -> String {
    format!("`{}` {}", f.code.code(), f.code.name())
}

fn place(f: &Finding, paths: &ShownPaths) -> String {
    match &f.location {
        Some(l) => match l.line {
            Some(line) => code(&format!("{}:{line}", paths.file(&l.file))),
            None => code(&paths.file(&l.file)),
        },
        None => "–".to_string(),
    }
}

/// A code span that shows `s` exactly and stays inside its table cell. Control characters and
/// newlines become visible escapes (so a row stays one line); `|` is escaped as `\|`, which
/// GitHub's table parser turns back into `|` even inside code; and the span is fenced with one
/// more backtick than the longest run in `s`, so no backtick in a value can end it.
fn code(s: &str) -> String {
    let s = sanitize(s).replace('|', "\\|");
    if s.is_empty() {
        return "*(empty)*".into();
    }
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    // A span's content loses one leading and one trailing space when it has both; padding
    // keeps a value that starts or ends with a backtick (or with spaces) intact.
    let pad = s.starts_with('`')
        || s.ends_with('`')
        || (s.starts_with(' ') && s.ends_with(' ') && !s.trim().is_empty());
    if pad {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

/// Prose from a user (a waiver's reason) as inert Markdown text: characters that could open
/// emphasis, code, links or HTML, or end the cell, are backslash-escaped.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in sanitize(s).chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' | '!' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in s.chars() {
        if ch == c {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// The folded diff. Its fence is longer than any backtick run in the diff, so a changed line
/// holding a fence cannot close it; lines that do not fit in `room` are left out, and said so.
fn diff_block(diff: &str, room: usize) -> String {
    let files = diff_files(diff);
    let mut body = String::new();
    let mut left_out = 0;
    for line in diff.split_inclusive('\n') {
        if left_out == 0 && body.len() + line.len() <= room {
            body.push_str(line);
        } else {
            left_out += 1;
        }
    }
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    let fence = "`".repeat((longest_run(diff, '`') + 1).max(3));
    let mut out = format!(
        "<details><summary>Changes apim-tune --apply would make ({files} file{})</summary>\n\n\
         {fence}diff\n{body}{fence}\n",
        plural(files)
    );
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n{left_out} more line{} of the diff not shown: the comment would exceed GitHub's \
             size limit; run `apim-tune audit --diff` for all of it.",
            plural(left_out)
        );
    }
    out.push_str("\n</details>\n");
    out
}

/// Files in a unified diff: `+++` headers outside hunks. Hunk bodies are skipped by their line
/// counts, so an added line that itself starts with `++ ` is not taken for a header.
fn diff_files(diff: &str) -> usize {
    let mut files = 0;
    let (mut old_left, mut new_left) = (0usize, 0usize);
    for line in diff.lines() {
        if old_left > 0 || new_left > 0 {
            match line.as_bytes().first() {
                Some(b'-') => old_left = old_left.saturating_sub(1),
                Some(b'+') => new_left = new_left.saturating_sub(1),
                Some(b'\\') => {}
                _ => {
                    old_left = old_left.saturating_sub(1);
                    new_left = new_left.saturating_sub(1);
                }
            }
        } else if line.starts_with("+++ ") {
            files += 1;
        } else if let Some(ranges) = line.strip_prefix("@@ ") {
            let mut parts = ranges.split_whitespace();
            old_left = hunk_len(parts.next(), '-');
            new_left = hunk_len(parts.next(), '+');
        }
    }
    files
}

/// The line count of a hunk range such as `-12,3` (a range without a count has one line).
fn hunk_len(range: Option<&str>, sign: char) -> usize {
    range
        .and_then(|r| r.strip_prefix(sign))
        .map_or(0, |r| match r.split_once(',') {
            Some((_, n)) => n.parse().unwrap_or(0),
            None => 1,
        })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;
    use crate::diag::{Change, Effect, Fix, Value};
    use crate::model::Location;
    use crate::report::sarif::sample;

    fn md(r: &dyn Renderable, diff: Option<&str>) -> String {
        render(
            r,
            &RenderOptions {
                fail_on: Some(Severity::Warning),
                diff,
                concise: false,
            },
        )
    }

    #[test]
    fn a_small_report_exactly() {
        let findings = sample::findings();
        // tcp_tw_recycle (error, RemoveLine) and the waived wildcard limit.
        let r = sample::report(vec![findings[1].clone(), findings[3].clone()], &[]);
        let diff = "--- a/etc/sysctl.conf\n+++ b/etc/sysctl.conf\n@@ -3 +3 @@\n\
                    -net.ipv4.tcp_tw_recycle = 1\n+# net.ipv4.tcp_tw_recycle = 1\n";
        assert_eq!(
            md(&r, Some(diff)),
            "## apim-tune audit\n\
             \n\
             **apim-tune**: 1 error, 0 warnings, 0 info — 1 fixable, 1 waived\n\
             \n\
             Host: 8 cores, 16384 MiB memory, kernel `5.15.0-91-generic`, NAT yes; API-M `4.2.0` (toml layout)\n\
             \n\
             | | Severity | Code | Setting | Where | Current → Expected |\n\
             | --- | --- | --- | --- | --- | --- |\n\
             | fixable | error | `SYS010` tcp-tw-recycle-enabled | `sysctl:net.ipv4.tcp_tw_recycle` | `etc/sysctl.conf:3` | `1` → `absent` |\n\
             \n\
             **Waived**\n\
             \n\
             | Severity | Code | Setting | Where | Reason | Expires |\n\
             | --- | --- | --- | --- | --- | --- |\n\
             | warning | `LIM004` limits-wildcard-skips-root | `limits:*:nofile:soft` | `etc/security/limits.conf:7` | root runs nothing \\| here | 2027-01-31 |\n\
             \n\
             <details><summary>Changes apim-tune --apply would make (1 file)</summary>\n\
             \n\
             ```diff\n\
             --- a/etc/sysctl.conf\n\
             +++ b/etc/sysctl.conf\n\
             @@ -3 +3 @@\n\
             -net.ipv4.tcp_tw_recycle = 1\n\
             +# net.ipv4.tcp_tw_recycle = 1\n\
             ```\n\
             \n\
             </details>\n"
        );
    }

    #[test]
    fn the_full_sample_keeps_report_order_and_escapes_values() {
        let out = md(&sample::report(sample::findings(), &[]), None);
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(
            rows[2],
            "| fixable | warning | `APM001` setting-below-recommended | \
             `deployment.toml:[transport.http].socket_timeout` | \
             `repository/conf/deployment.toml:12` | ``a\\|b`c<&>\"'`` → `60000` |"
        );
        assert!(rows[3].contains("`SYS010`"));
        assert_eq!(
            rows[4],
            "|  | info | `SYS006` sysctl-shadowed-line | `sysctl:net.core.somaxconn` | \
             `etc/sysctl.d/my sysctl.conf:2` |  |"
        );
        // The fileless Insert finding: no place, no current value.
        assert_eq!(
            rows[5],
            "| fixable | warning | `SYS001` sysctl-below-recommended | \
             `sysctl:net.core.netdev_max_backlog` | – | – → `4096` |"
        );
        assert!(out.contains("**apim-tune**: 1 error, 2 warnings, 1 info — 3 fixable, 1 waived\n"));
        assert!(!out.contains("<details>"), "no diff, no fold");
    }

    #[test]
    fn code_spans_hold_any_value() {
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x``"), "``` `x`` ```");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a\\|b"), "`a\\\\|b`");
        assert_eq!(code("line\nbreak"), "`line\\u{a}break`");
        assert_eq!(code(" padded "), "`  padded  `");
        assert_eq!(code(""), "*(empty)*");
        assert_eq!(
            text("**x** | <b>&amp; `y`"),
            "\\*\\*x\\*\\* \\| \\<b\\>\\&amp; \\`y\\`"
        );
    }

    #[test]
    fn cell_values_never_break_the_row() {
        let f = Finding::new(Code::SETTING_NOT_RECOMMENDED, "deployment.toml:a|b\nc", "m")
            .at(Some(Location::at("conf/x|y.toml", 1, 1)))
            .current("``|`\r\n| x |")
            .expected("<script>&</script>");
        let out = md(&sample::report(vec![f], &[]), None);
        let row = out.lines().find(|l| l.contains("APM003")).unwrap();
        // Six cells: seven unescaped pipes.
        let unescaped = row
            .char_indices()
            .filter(|(i, c)| *c == '|' && (*i == 0 || row.as_bytes()[i - 1] != b'\\'))
            .count();
        assert_eq!(unescaped, 7, "{row}");
        assert!(
            row.contains("| ``` ``\\|`\\u{d}\\u{a}\\| x \\| ``` → "),
            "{row}"
        );
        assert!(row.contains("| `deployment.toml:a\\|b\\u{a}c` |"), "{row}");
    }

    #[test]
    fn a_diff_holding_a_fence_cannot_close_the_block() {
        let r = sample::report(sample::findings(), &[]);
        let diff = "--- a/README\n+++ b/README\n@@ -1,2 +1,2 @@\n context\n-```\n+````rust\n\
                    --- a/b\n+++ b/b\n@@ -1 +1 @@\n-x\n+y\n";
        let out = md(&r, Some(diff));
        assert!(out.contains(
            "<details><summary>Changes apim-tune --apply would make (2 files)</summary>\n\n`````diff\n"
        ));
        assert!(out.ends_with("+y\n`````\n\n</details>\n"), "{out}");
        // An added line reading `++ x` is body, not a header.
        assert_eq!(
            diff_files("--- a/f\n+++ b/f\n@@ -0,0 +1,2 @@\n+++ x\n+y\n"),
            1
        );
        assert_eq!(md(&r, Some("")), md(&r, None), "an empty diff adds nothing");
    }

    #[test]
    fn nothing_found_is_one_line() {
        let r = sample::report(Vec::new(), &["sysctl:a", "sysctl:b"]);
        assert_eq!(
            md(&r, None),
            "**apim-tune**: nothing found (2 settings checked, all as the profile recommends)\n"
        );
    }

    #[test]
    fn host_only_and_unknown_versions_say_so() {
        let f = || vec![Finding::new(Code::SYSCTL_SHADOWED_LINE, "sysctl:x", "m")];
        let mut r = sample::report(f(), &[]);
        r.apim = None;
        r.facts.kernel = None;
        assert!(md(&r, None).contains(
            "Host: 8 cores, 16384 MiB memory, kernel unknown, NAT yes; host only (no API-M home)\n"
        ));
        let mut r = sample::report(f(), &[]);
        if let Some(a) = r.apim.as_mut() {
            a.version = None;
        }
        assert!(md(&r, None).contains("; API-M version unknown, assuming `4.2.0` (toml layout)\n"));
    }

    #[test]
    fn all_waived_still_shows_the_waived_table() {
        let findings = sample::findings();
        let r = sample::report(vec![findings[3].clone()], &[]);
        let out = md(&r, None);
        assert!(out.contains("0 errors, 0 warnings, 0 info — 0 fixable, 1 waived"));
        assert!(out.contains("Nothing counts: every finding is waived.\n\n**Waived**\n"));
    }

    fn big_report(n: usize) -> AuditReport {
        let findings = (0..n)
            .map(|i| {
                Finding::new(
                    Code::SYSCTL_BELOW_RECOMMENDED,
                    format!("sysctl:key.{i:05}"),
                    "m",
                )
                .at(Some(Location::at(
                    "etc/sysctl.d/10-a-rather-long-file-name.conf",
                    1,
                    1,
                )))
                .current("x".repeat(40))
                .expected("y".repeat(40))
                .fix(Fix::safe(
                    Change::SetApim {
                        file: "f".into(),
                        key: "k".into(),
                        value: Value::inferred("v"),
                        at: None,
                    },
                    Effect::RestartApim,
                ))
            })
            .collect();
        sample::report(findings, &[])
    }

    #[test]
    fn a_long_report_is_cut_to_fit_a_github_comment() {
        let r = big_report(2_000);
        let diff: String = (0..5_000).map(|i| format!("+line {i}\n")).collect();
        let diff = format!("--- a/f\n+++ b/f\n@@ -0,0 +1,5000 @@\n{diff}");
        let out = md(&r, Some(&diff));
        assert!(out.len() <= GITHUB_COMMENT_LIMIT, "{}", out.len());
        let rows = out.lines().filter(|l| l.contains("`SYS001`")).count();
        assert!(rows > 100, "{rows}");
        assert!(
            out.contains(&format!(
                "| … | {} more findings not shown: the comment would exceed GitHub's size limit | | | | |\n",
                2_000 - rows
            )),
            "{}",
            &out[out.len() - 600..]
        );
        // The table took the room: the diff is folded but empty, and says why.
        assert!(out.contains("(1 file)</summary>"));
        assert!(
            out.contains("more lines of the diff not shown"),
            "{}",
            &out[out.len() - 600..]
        );
        assert!(out.ends_with("</details>\n"));
    }

    #[test]
    fn a_long_diff_is_cut_after_the_table() {
        let r = big_report(3);
        let diff: String = (0..20_000).map(|i| format!("+line {i}\n")).collect();
        let out = md(&r, Some(&diff));
        assert!(out.len() <= GITHUB_COMMENT_LIMIT, "{}", out.len());
        assert_eq!(out.lines().filter(|l| l.contains("`SYS001`")).count(), 3);
        assert!(!out.contains("findings not shown"));
        assert!(out.contains("more lines of the diff not shown"));
        assert!(out.contains("+line 5000\n"));
        // The cut falls on a line boundary, just before the fence.
        let before_fence = out.split("\n```\n").next().unwrap();
        assert!(before_fence.lines().last().unwrap().starts_with("+line "));
    }

    #[test]
    fn small_limits_still_produce_a_well_formed_comment() {
        let r = sample::report(sample::findings(), &[]);
        let out = render_limited(&r, &RenderOptions::default(), 1_500);
        assert!(out.len() <= 1_500, "{}", out.len());
        assert!(out.contains("| … | 5 more findings not shown"), "{out}");
        assert!(
            !out.contains("**Waived**"),
            "the waived table follows only a complete one"
        );
    }

    #[test]
    fn a_db_report() {
        insta::assert_snapshot!(md(&crate::report::db_sample::report(), None));
    }

    #[test]
    fn a_clean_db_report_still_shows_its_figures() {
        let mut r = crate::report::db_sample::report();
        r.findings.clear();
        r.tables.truncate(1);
        r.tables[0].reasons = vec![("a|b ~c~ *d*".into(), 1)];
        r.tables[0].size_kind = Some("estimate");
        insta::assert_snapshot!(md(&r, None), @r"
        ## apim-tune db audit

        **apim-tune**: nothing found (2 checks made)

        Database: `postgres://apim:****@db.example:5432/apim_db` (postgresql, `PostgreSQL 15.14`), API-M schema `4.2`; cut-off `2026-11-21 05:48:01` (now `2026-11-22 05:48:01`, safe period `24h`)

        | Table | Rows | Size | Removable | Oldest removable | Removable by reason |
        | --- | ---: | ---: | ---: | --- | --- |
        | `IDN_OAUTH2_ACCESS_TOKEN` | 1250000 | \~1.5 GiB | 1100000 | `2024-03-01 12:00:00` | a\|b \~c\~ \*d\*: 1 |
        ");
    }
}
