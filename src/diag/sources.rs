//! The source table: every id a `see` string or a rule's `### Sources` section may name, with a
//! title and an address a reader can open (`sources.toml`, embedded), and the parsers for both
//! forms.
//!
//! A `see` string is `ID[, detail][; ID[, detail]]...`; a `### Sources` section is a list of
//! `- ID[: detail]` lines. ID is an id of the table or a full `https://` URL, so an abbreviation
//! never reaches a reader without the table that resolves it (`explain CODE` prints it).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One row of the table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    #[serde(skip)]
    pub id: String,
    pub title: String,
    pub url: String,
}

const TABLE: &str = include_str!("sources.toml");

/// Every source, ordered by id.
pub fn all() -> &'static [Source] {
    static ALL: OnceLock<Vec<Source>> = OnceLock::new();
    ALL.get_or_init(|| {
        // The table is part of the binary, not user input; a unit test parses it, so an error
        // here is a build defect.
        let map: BTreeMap<String, Source> =
            toml::from_str(TABLE).expect("src/diag/sources.toml is valid (tested)");
        map.into_iter()
            .map(|(id, mut s)| {
                s.id = id;
                s
            })
            .collect()
    })
}

/// The source with this id.
pub fn get(id: &str) -> Option<&'static Source> {
    all().iter().find(|s| s.id == id)
}

/// What a citation points at: a row of the table or a URL given in full.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Known(&'static str),
    Url(String),
}

/// One cited source with the part of it that matters (a section, a key, a line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cite {
    pub target: Target,
    pub detail: Option<String>,
}

impl Cite {
    /// The id (or the URL, for a URL cited in full).
    pub fn id(&self) -> &str {
        match &self.target {
            Target::Known(id) => id,
            Target::Url(u) => u,
        }
    }

    /// `(id, title, url)` for the table `explain` prints; a URL cited in full has its detail as
    /// the title.
    pub fn row(&self) -> (String, String, String) {
        match &self.target {
            Target::Known(id) => {
                let s = get(id);
                (
                    (*id).to_string(),
                    s.map(|s| s.title.clone()).unwrap_or_default(),
                    s.map(|s| s.url.clone()).unwrap_or_default(),
                )
            }
            Target::Url(u) => (
                "(link)".to_string(),
                self.detail.clone().unwrap_or_default(),
                u.clone(),
            ),
        }
    }
}

/// Splits one item into its id (an id of the table, or an `https://` URL) and its detail.
fn item(text: &str, detail_sep: &[char]) -> Result<Cite, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty source".to_string());
    }
    let is_url = text.starts_with("https://");
    let end = text
        .find(|c: char| c.is_whitespace() || c == ',' || (!is_url && detail_sep.contains(&c)))
        .unwrap_or(text.len());
    let (id, rest) = text.split_at(end);
    let detail = rest
        .trim_start_matches(|c: char| c.is_whitespace() || c == ',' || detail_sep.contains(&c))
        .trim();
    let detail = (!detail.is_empty()).then(|| detail.to_string());
    let target = if is_url {
        if id.len() <= "https://".len() {
            return Err(format!("`{text}`: a URL without a host"));
        }
        Target::Url(id.to_string())
    } else {
        match get(id) {
            Some(s) => Target::Known(all_id(s)),
            None => {
                return Err(format!(
                    "`{id}` is neither a source id (src/diag/sources.toml) nor an https URL"
                ));
            }
        }
    };
    Ok(Cite { target, detail })
}

fn all_id(s: &'static Source) -> &'static str {
    s.id.as_str()
}

/// Parses a `see` string: `ID[, detail][; ID[, detail]]...`.
pub fn parse_see(see: &str) -> Result<Vec<Cite>, String> {
    see.split(';').map(|part| item(part, &[])).collect()
}

/// The `### Sources` section of a rule's doc text (`None` when it has none): one `- ID[: detail]`
/// line per source, up to the next heading.
pub fn parse_doc(doc: &str) -> Option<Result<Vec<Cite>, String>> {
    let mut lines = doc
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .skip_while(|l| l.trim() != "### Sources");
    lines.next()?;
    let mut out = Vec::new();
    for line in lines.take_while(|l| !l.starts_with("### ")) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(rest) = line.strip_prefix("- ") else {
            return Some(Err(format!("`{line}`: a source line starts with `- `")));
        };
        match item(rest, &[':']) {
            Ok(c) => out.push(c),
            Err(e) => return Some(Err(e)),
        }
    }
    if out.is_empty() {
        return Some(Err("an empty `### Sources` section".to_string()));
    }
    Some(Ok(out))
}

/// The doc text without its `### Sources` section (`explain` prints the sources as a table).
pub fn strip_doc_sources(doc: &str) -> String {
    let mut out = Vec::new();
    let mut skipping = false;
    for line in doc.lines() {
        let bare = line.strip_prefix(' ').unwrap_or(line);
        if bare.trim() == "### Sources" {
            skipping = true;
            continue;
        }
        if skipping && bare.starts_with("### ") {
            skipping = false;
        }
        if !skipping {
            out.push(line);
        }
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_every_row_can_be_opened() {
        assert!(all().len() >= 30);
        for s in all() {
            assert!(!s.title.trim().is_empty(), "{}", s.id);
            if s.id == "verified-facts" {
                // A path in this repository: the tests that run the real thing.
                for path in ["tests/jdk.rs", "tests/systemd_oracle.rs"] {
                    assert!(s.url.contains(path), "{}", s.url);
                    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
                    assert!(file.is_file(), "{path}");
                }
            } else {
                assert!(s.url.starts_with("https://"), "{}: {}", s.id, s.url);
                assert!(!s.url.contains(char::is_whitespace), "{}", s.id);
            }
        }
    }

    #[test]
    fn the_brief_ids_are_all_in_the_table() {
        for id in [
            "tuning-1.9",
            "tuning-4.x",
            "caching",
            "data-growth",
            "endpoint-timeouts",
            "carbon-apimgt-5560",
            "prod-checklist",
            "security-guidelines",
            "distributed-deployment",
            "databases",
            "logging-4.x",
            "throttling-4.x",
            "ip-sysctl",
            "tcp.7",
            "vm-sysctl",
            "thp",
            "limits.conf.5",
            "systemd.exec",
            "systemd-system.conf",
            "sysctl.d",
            "java-man",
            "jaxp-limits",
            "thread-pool-executor",
            "jdk-8256717",
            "somaxconn-commit",
            "tw-recycle-removal",
            "tomcat-jdbc-pool",
            "log4j2-config",
            "hazelcast-clustering",
            "verified-facts",
        ] {
            assert!(get(id).is_some(), "{id}");
        }
    }

    #[test]
    fn see_strings_name_ids_or_urls_with_details() {
        let c = parse_see("tuning-1.9, OS-level settings; https://example.org/x, a page; tcp.7")
            .unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].target, Target::Known("tuning-1.9"));
        assert_eq!(c[0].detail.as_deref(), Some("OS-level settings"));
        assert_eq!(c[1].target, Target::Url("https://example.org/x".into()));
        assert_eq!(c[1].detail.as_deref(), Some("a page"));
        assert_eq!(c[2].detail, None);
        assert!(parse_see("tuning-1.9 OS-level settings").is_ok());
        assert!(parse_see("Oracle JAXP limits").is_err());
        assert!(parse_see("tuning-1.9;").is_err());
        assert!(parse_see("http://example.org").is_err());
        assert!(parse_see("https://").is_err());
    }

    #[test]
    fn doc_sections_are_found_parsed_and_stripped() {
        let doc = " ### What it checks\n x\n ### Sources\n - ip-sysctl: ip_local_port_range\n - https://github.com/wso2/carbon-apimgt/issues/5560\n";
        let c = parse_doc(doc).unwrap().unwrap();
        assert_eq!(c[0].target, Target::Known("ip-sysctl"));
        assert_eq!(c[0].detail.as_deref(), Some("ip_local_port_range"));
        assert_eq!(
            c[1].target,
            Target::Url("https://github.com/wso2/carbon-apimgt/issues/5560".into())
        );
        assert_eq!(strip_doc_sources(doc), " ### What it checks\n x");
        assert!(parse_doc(" ### Fix\n y\n").is_none());
        assert!(parse_doc(" ### Sources\n - folklore\n").unwrap().is_err());
        assert!(parse_doc(" ### Sources\n").unwrap().is_err());
    }
}
