//! `apim-tune rules` and `apim-tune explain CODE`: the rule registry and each rule's own
//! documentation, where it is declared, what it reads, and the shipped profile entries that
//! produce a generic code.
//!
//! Writes through a locked stdout and returns its errors, so `explain X | head -1` ends quietly
//! like every other command (a closed pipe is not a failure).

use super::args::DocFormat;
use crate::diag::sources::{self, Cite};
use crate::diag::{Code, Family};
use crate::exit_code;
use crate::profile::schema::Entry;
use crate::profile::{self, Profile};
use crate::rules::Check;
use anyhow::bail;
use serde::Serialize;
use std::io::Write;

/// One line of `rules`, and one element of its JSON `rules` array.
#[derive(Serialize)]
struct RuleRow {
    code: &'static str,
    name: &'static str,
    family: &'static str,
    severity: &'static str,
    summary: &'static str,
}

impl RuleRow {
    fn of(c: Code) -> RuleRow {
        RuleRow {
            code: c.code(),
            name: c.name(),
            family: c.family().prefix(),
            severity: c.default_severity().as_str(),
            summary: c.summary(),
        }
    }
}

/// `rules --format json`: a struct, so `schema` comes first as in every other JSON output.
#[derive(Serialize)]
struct RulesDoc {
    schema: &'static str,
    families: Vec<&'static str>,
    rules: Vec<RuleRow>,
}

pub fn rules(format: DocFormat) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    match format {
        DocFormat::Text => {
            for c in Code::ALL {
                writeln!(
                    out,
                    "{:<7} {:<38} {:<8} {}",
                    c.code(),
                    c.name(),
                    c.default_severity().as_str(),
                    c.summary()
                )?;
            }
        }
        DocFormat::Json => {
            let doc = RulesDoc {
                schema: "apim-tune/rules/v1",
                families: Family::ALL.iter().map(|f| f.prefix()).collect(),
                rules: Code::ALL.iter().copied().map(RuleRow::of).collect(),
            };
            writeln!(out, "{}", serde_json::to_string(&doc)?)?;
        }
    }
    Ok(exit_code::OK)
}

/// A shipped profile entry that produces a generic code.
#[derive(Serialize)]
struct ProfileEntry {
    /// `net.core.somaxconn`, `limits.nofile`, `apim.…`.
    key: String,
    /// Where the entry is declared (`profiles/base.toml:12`).
    at: String,
    why: String,
    see: Option<String>,
}

impl ProfileEntry {
    fn line(&self) -> String {
        let see = self
            .see
            .as_ref()
            .map(|s| format!(" (see: {s})"))
            .unwrap_or_default();
        format!("- `{}` ({}): {}{see}", self.key, self.at, self.why)
    }
}

/// One row of the sources table.
#[derive(Serialize)]
struct SourceRow {
    id: String,
    title: String,
    url: String,
}

/// Everything `explain` says about a code, rendered as text or as JSON from the same data.
#[derive(Serialize)]
struct Explanation {
    schema: &'static str,
    #[serde(flatten)]
    row: RuleRow,
    /// The rule's documentation (Markdown, without its sources: they are `sources`).
    doc: String,
    declared_at: String,
    /// Produced by the generic profile check rather than code of its own.
    generic: bool,
    reads: Vec<String>,
    profile_entries: Vec<ProfileEntry>,
    sources: Vec<SourceRow>,
}

pub fn explain(code: &str, format: DocFormat) -> anyhow::Result<u8> {
    let Some(c) = Code::from_code(code) else {
        bail!("`{code}` is not a finding code (list them with `apim-tune rules`)");
    };
    let Some(rule) = c.rule() else {
        bail!("`{code}` has no rule in the registry");
    };
    let (profile_entries, cites) = profile_entries(c)?;
    let e = Explanation {
        schema: "apim-tune/explain/v1",
        row: RuleRow::of(c),
        doc: sources::strip_doc_sources(&c.doc()),
        declared_at: c.declared_at(),
        generic: matches!(rule.check, Check::Expectation),
        reads: rule.inputs.iter().map(|i| i.describe()).collect(),
        profile_entries,
        sources: source_rows(c, cites),
    };
    let mut out = std::io::stdout().lock();
    match format {
        DocFormat::Text => write_text(&mut out, &e)?,
        DocFormat::Json => writeln!(out, "{}", serde_json::to_string(&e)?)?,
    }
    Ok(exit_code::OK)
}

fn write_text(out: &mut impl Write, e: &Explanation) -> std::io::Result<()> {
    writeln!(
        out,
        "{} {} ({} by default)\n\n{}\n",
        e.row.code, e.row.name, e.row.severity, e.row.summary
    )?;
    writeln!(out, "{}", e.doc.replace("### ", "## "))?;
    writeln!(out, "\n## The rule\n")?;
    writeln!(out, "Declared in `{}`.", e.declared_at)?;
    if e.generic {
        writeln!(
            out,
            "Produced by the generic profile check in `src/rules/expectation/mod.rs`."
        )?;
    }
    if !e.reads.is_empty() {
        writeln!(out, "Reads: {}.", e.reads.join("; "))?;
    }
    if e.profile_entries.is_empty() {
        writeln!(
            out,
            "\n## Where the recommendation comes from\nThis check is built into apim-tune; its reasons are above, its sources below."
        )?;
    } else {
        writeln!(out, "\n## Profile entries that use it\n")?;
        for entry in &e.profile_entries {
            writeln!(out, "{}", entry.line())?;
        }
    }
    write_sources(out, &e.sources)
}

/// The shipped entries (every role: they all live in base.toml) that produce `c`, and the
/// sources their `see` strings cite.
fn profile_entries(c: Code) -> anyhow::Result<(Vec<ProfileEntry>, Vec<Cite>)> {
    let mut out = Vec::new();
    let mut cites = Vec::new();
    if !c
        .rule()
        .is_some_and(|r| matches!(r.check, Check::Expectation))
    {
        return Ok((out, cites));
    }
    let p: Profile = profile::load_role("all-in-one")?;
    if c.family() == Family::Lim {
        for (item, rec) in &p.limits {
            cites.extend(cited(&rec.entry.see));
            out.push(ProfileEntry {
                key: format!("limits.{item}"),
                at: rec.at.to_string(),
                why: rec.entry.why.clone().unwrap_or_default(),
                see: rec.entry.see.clone(),
            });
        }
        return Ok((out, cites));
    }
    let map = match c.family() {
        Family::Sys => &p.sysctl,
        Family::Apm => &p.apim,
        Family::Jvm => &p.jvm,
        _ => return Ok((out, cites)),
    };
    let number = &c.code()[3..];
    for (key, rec) in map {
        if produces(&rec.entry, number) {
            cites.extend(cited(&rec.entry.see));
            out.push(ProfileEntry {
                key: key.to_string(),
                at: rec.at.to_string(),
                why: rec.entry.why.clone().unwrap_or_default(),
                see: rec.entry.see.clone(),
            });
        }
    }
    Ok((out, cites))
}

/// The sources a `see` string cites; the profile tests hold every shipped `see` to the format,
/// so a site profile's free text is simply not tabulated.
fn cited(see: &Option<String>) -> Vec<Cite> {
    see.as_deref()
        .and_then(|s| sources::parse_see(s).ok())
        .unwrap_or_default()
}

/// The sources the code uses, once each: the rule doc's `### Sources` first, then those the
/// profile entries producing it cite.
fn source_rows(c: Code, more: Vec<Cite>) -> Vec<SourceRow> {
    let mut cites = match sources::parse_doc(&c.doc()) {
        Some(Ok(cites)) => cites,
        _ => Vec::new(),
    };
    cites.extend(more);
    let mut seen = std::collections::BTreeSet::new();
    cites
        .iter()
        .filter(|c| seen.insert(c.id().to_string()))
        .map(|c| {
            let (id, title, url) = c.row();
            SourceRow { id, title, url }
        })
        .collect()
}

/// The sources as a Markdown table (nothing when there are none).
fn write_sources(out: &mut impl Write, rows: &[SourceRow]) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n## Sources\n")?;
    writeln!(out, "| id | title | URL |\n|---|---|---|")?;
    for r in rows {
        writeln!(out, "| {} | {} | {} |", r.id, r.title, r.url)?;
    }
    Ok(())
}

/// Which generic code (…001 below, …002 above, …003 not the value, …004 present) an entry can
/// produce.
fn produces(e: &Entry, number: &str) -> bool {
    match number {
        "001" => e.min.is_some(),
        "002" => e.max.is_some(),
        "003" => e.eq.is_some() || e.one_of.is_some() || e.set == Some(true),
        "004" => e.absent == Some(true),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::sources::Target;
    use crate::rules::RULES;

    /// Every rule's doc ends with a `### Sources` section that names ids of the source table or
    /// full URLs only (issue 14: every rule has an openable source).
    #[test]
    fn every_rule_names_its_sources() {
        for rule in RULES {
            let c = rule.code();
            let doc = c.doc();
            let cites = match sources::parse_doc(&doc) {
                None => panic!("{} has no `### Sources` section", c.code()),
                Some(Err(e)) => panic!("{}: {e}", c.code()),
                Some(Ok(cites)) => cites,
            };
            assert!(!cites.is_empty(), "{}", c.code());
            let last_heading = doc.lines().rfind(|l| l.starts_with("### "));
            assert_eq!(
                last_heading,
                Some("### Sources"),
                "{}: the sources section ends the doc",
                c.code()
            );
        }
    }

    /// The table `explain` prints holds every source the code's doc and profile entries cite,
    /// with a title and an address.
    #[test]
    fn the_sources_table_resolves_every_cited_id() {
        for rule in RULES {
            let c = rule.code();
            let (_, cites) = profile_entries(c).unwrap();
            let mut out = Vec::new();
            write_sources(&mut out, &source_rows(c, cites.clone())).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("## Sources"), "{}: {text}", c.code());
            let doc_cites = match sources::parse_doc(&c.doc()) {
                Some(Ok(v)) => v,
                _ => Vec::new(),
            };
            for cite in doc_cites.iter().chain(&cites) {
                let (id, title, url) = cite.row();
                assert!(!title.is_empty() || matches!(cite.target, Target::Url(_)));
                assert!(
                    text.contains(&format!("| {id} | {title} | {url} |")),
                    "{}: {id} missing from\n{text}",
                    c.code()
                );
            }
        }
    }

    /// No bare abbreviation: an id of the source table that appears anywhere in a code's
    /// `explain` text (a `see` of a profile entry, the doc) is also a row of its table.
    #[test]
    fn no_id_is_shown_without_its_row() {
        for rule in RULES {
            let c = rule.code();
            let (entries, cites) = profile_entries(c).unwrap();
            let mut table = Vec::new();
            write_sources(&mut table, &source_rows(c, cites)).unwrap();
            let table = String::from_utf8(table).unwrap();
            let body = format!(
                "{}\n{}",
                sources::strip_doc_sources(&c.doc()),
                entries
                    .iter()
                    .map(ProfileEntry::line)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            for s in sources::all() {
                let bare = body
                    .split(|ch: char| ch.is_whitespace() || "(),;:`".contains(ch))
                    .any(|w| w == s.id);
                if bare {
                    assert!(
                        table.contains(&format!("| {} |", s.id)),
                        "{}: `{}` is shown but not in the table\n{table}",
                        c.code(),
                        s.id
                    );
                }
            }
        }
    }
}
