//! `repository/conf/deployment.toml` of API-M 3.x/4.x, flattened to canonical dotted keys with the
//! exact byte spans of every key, value and table header.
//!
//! Owns the TOML syntax and the key naming the product's config mapper uses. It must not apply
//! defaults, aliases, inference or units (that is `apim::mapper`), must not judge values, and must
//! never keep a secret value in a plain field: secret entries carry `****` and their span only.
//!
//! Key naming (what the product's `TomlParser` produces, so that keys match `default.json`):
//! segments are joined with `.`; a segment that is not a bare TOML key (`A-Za-z0-9_-`) is wrapped in
//! single quotes: `[passthru_http] 'http.socket.timeout' = 1` → `passthru_http.'http.socket.timeout'`.
//! Tables, dotted keys (`a.b = 1`) and inline tables (`x = { y = 1 }`) are expanded to their leaves.
//! Arrays (also arrays of inline tables) stay one entry, shown as written. Arrays of tables
//! (`[[x.y]]`) get an index suffix on the segment: `x.y[0].name`, `x.y[1].name`; the product itself
//! hands such an array to the templates whole, so the index form is this tool's own naming.

use crate::model::{SourceFile, SourceProblem, Span};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use toml_edit::{Document, InlineTable, Item, Table, Value};

/// Shown instead of a secret value, everywhere.
pub const REDACTED: &str = "****";

/// The TOML type of a flattened value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TomlKind {
    String,
    Integer,
    Float,
    Boolean,
    Datetime,
    Array,
    /// Only for an empty inline table (`x = {}`): a non-empty one is expanded to its leaves.
    InlineTable,
}

/// One flattened value of `deployment.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TomlEntry {
    /// Canonical dotted key (see the module documentation).
    pub key: String,
    /// Strings unquoted and unescaped; numbers, booleans, datetimes and arrays as written;
    /// [`REDACTED`] when `secret`.
    pub value: String,
    pub kind: TomlKind,
    /// The last key segment names a password or secret (or the value sits under one, see
    /// [`is_secret_segment`]); `value` is then redacted and only the span locates the real text.
    pub secret: bool,
    /// Exact bytes of the value in the file, including the quotes of a string.
    pub value_span: Span,
    /// The key as written on its own line, all dotted segments included (`a.b.c` of `a.b.c = 1`;
    /// for a key inside an inline table, that inner key).
    pub key_span: Span,
    /// 1-based line of the key.
    pub line: u32,
}

/// A parsed `deployment.toml`.
#[derive(Clone)]
pub struct DeploymentToml {
    pub file: Arc<SourceFile>,
    pub entries: BTreeMap<String, TomlEntry>,
    /// Canonical path of every table that has a header in the file → span of that header
    /// (`[a.b]`, or `[[x.y]]` under `x.y[0]`, `x.y[1]`…), so an editor can insert next to siblings.
    /// Tables that exist only implicitly (`[a]` of `[a.b]`, or through dotted keys) are absent.
    pub tables: BTreeMap<String, Span>,
}

impl DeploymentToml {
    /// The entry for `key`, written canonically or with any other quoting of its segments
    /// (`passthru_http."http.socket.timeout"` finds `passthru_http.'http.socket.timeout'`).
    pub fn get(&self, key: &str) -> Option<&TomlEntry> {
        self.entries
            .get(key)
            .or_else(|| self.entries.get(&normalize_key(key)))
    }
}

// Hand-written because `SourceFile`'s derived Debug would print the whole file text, secrets
// included; the entries are safe to show because secret values are already redacted.
impl fmt::Debug for DeploymentToml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeploymentToml")
            .field("file", &self.file.display)
            .field("entries", &self.entries)
            .field("tables", &self.tables)
            .finish()
    }
}

/// Parses `file` as TOML. A syntax error (duplicate keys and tables included) becomes an
/// `unparseable` problem at the exact line and column the TOML parser points at.
pub fn parse(file: Arc<SourceFile>) -> Result<DeploymentToml, SourceProblem> {
    let doc = match Document::parse(file.text.as_str()) {
        Ok(doc) => doc,
        Err(err) => return Err(syntax_problem(&file, &err)),
    };
    let mut walker = Walker {
        file: &file,
        entries: BTreeMap::new(),
        tables: BTreeMap::new(),
    };
    walker.table(doc.as_table(), "", None, false);
    let Walker {
        entries, tables, ..
    } = walker;
    Ok(DeploymentToml {
        file: file.clone(),
        entries,
        tables,
    })
}

fn syntax_problem(file: &SourceFile, err: &toml_edit::TomlError) -> SourceProblem {
    let first = err.message().lines().next().unwrap_or("invalid toml");
    let mut message = lower_first(first);
    let location = match err.span() {
        Some(range) => {
            let span = Span::new(range.start, range.end);
            // The parser does not say which key is duplicated; the span covers it, and naming it
            // saves the reader a trip to the file.
            let text = file.slice(span);
            if message == "duplicate key" && !text.is_empty() && !text.contains('\n') {
                message = format!("duplicate key `{text}`");
            }
            file.location(span)
        }
        None => file.whole(),
    };
    SourceProblem::unparseable(location, message)
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

struct Walker<'a> {
    file: &'a SourceFile,
    entries: BTreeMap<String, TomlEntry>,
    tables: BTreeMap<String, Span>,
}

impl Walker<'_> {
    /// `dotted_start`: where the first segment of the dotted key that created `table` starts, so
    /// that a leaf's key span covers `a.b.c`, not just `c`. `secret_scope`: everything below is
    /// secret regardless of its own name.
    fn table(
        &mut self,
        table: &Table,
        prefix: &str,
        dotted_start: Option<usize>,
        secret_scope: bool,
    ) {
        for (name, item) in table.iter() {
            let key = join(prefix, name);
            let own = table.key(name).and_then(|k| k.span());
            let start = match (table.is_dotted(), dotted_start) {
                (true, Some(start)) => Some(start),
                _ => own.as_ref().map(|r| r.start),
            };
            // The product's secure-vault table holds ciphertexts named by alias (`db_pass`), so
            // the names say nothing; treat all of it as secret.
            let scope = secret_scope || (prefix.is_empty() && name == "secrets");
            match item {
                Item::None => {}
                Item::Value(value) => {
                    let key_span = key_span(start, own.as_ref());
                    self.value(value, key, name, key_span, scope);
                }
                Item::Table(sub) => {
                    if sub.is_dotted() {
                        self.table(sub, &key, start, scope);
                    } else {
                        if !sub.is_implicit()
                            && let Some(range) = sub.span()
                        {
                            self.tables.insert(key.clone(), to_span(&range));
                        }
                        self.table(sub, &key, None, scope);
                    }
                }
                Item::ArrayOfTables(array) => {
                    for (i, sub) in array.iter().enumerate() {
                        let indexed = format!("{key}[{i}]");
                        if let Some(range) = sub.span() {
                            self.tables.insert(indexed.clone(), to_span(&range));
                        }
                        self.table(sub, &indexed, None, scope);
                    }
                }
            }
        }
    }

    fn inline(&mut self, table: &InlineTable, prefix: &str, dotted_start: usize, scope: bool) {
        for (name, value) in table.iter() {
            let key = join(prefix, name);
            let own = table.key(name).and_then(|k| k.span());
            // Inside `x = { y.z = 1 }` the dotted part `y` is itself an inline table marked
            // dotted; only then does the key span reach back to its first segment.
            let start = if table.is_dotted() {
                Some(dotted_start)
            } else {
                own.as_ref().map(|r| r.start)
            };
            let key_span = key_span(start, own.as_ref());
            self.value(value, key, name, key_span, scope);
        }
    }

    fn value(&mut self, value: &Value, key: String, name: &str, key_span: Span, scope: bool) {
        let secret = scope || is_secret_segment(name);
        if let Value::InlineTable(table) = value
            && !table.is_empty()
        {
            // A secret name on the inline table (`password = { … }`) covers all its leaves.
            self.inline(table, &key, key_span.start, secret);
            return;
        }
        let value_span = value
            .span()
            .map(|r| to_span(&r))
            .unwrap_or(Span::new(key_span.end, key_span.end));
        let written = self.file.slice(value_span);
        let (kind, shown) = match value {
            Value::String(s) => (TomlKind::String, s.value().clone()),
            Value::Integer(_) => (TomlKind::Integer, written.to_string()),
            Value::Float(_) => (TomlKind::Float, written.to_string()),
            Value::Boolean(_) => (TomlKind::Boolean, written.to_string()),
            Value::Datetime(_) => (TomlKind::Datetime, written.to_string()),
            Value::Array(_) => (TomlKind::Array, written.to_string()),
            Value::InlineTable(_) => (TomlKind::InlineTable, written.to_string()),
        };
        // An array written as text could carry `{ password = "…" }` inside; redact it whole.
        let secret = secret || value_holds_secret(value);
        let (line, _) = self.file.line_col(key_span.start);
        self.entries.insert(
            key.clone(),
            TomlEntry {
                key,
                value: if secret { REDACTED.to_string() } else { shown },
                kind,
                secret,
                value_span,
                key_span,
                line,
            },
        );
    }
}

fn key_span(start: Option<usize>, own: Option<&Range<usize>>) -> Span {
    match (start, own) {
        (Some(start), Some(own)) => Span::new(start.min(own.start), own.end),
        (None, Some(own)) => to_span(own),
        (Some(start), None) => Span::new(start, start),
        (None, None) => Span::new(0, 0),
    }
}

fn to_span(range: &Range<usize>) -> Span {
    Span::new(range.start, range.end)
}

fn value_holds_secret(value: &Value) -> bool {
    match value {
        Value::Array(array) => array.iter().any(value_holds_secret),
        Value::InlineTable(table) => table
            .iter()
            .any(|(name, v)| is_secret_segment(name) || value_holds_secret(v)),
        _ => false,
    }
}

/// Whether a key segment names a secret, by the tool's one vocabulary
/// ([`crate::redact::is_secret_key`]): `password`, `client_secret`, `auth_token`, `api_key`…
pub fn is_secret_segment(segment: &str) -> bool {
    crate::redact::is_secret_segments(None, segment)
}

/// Whether a canonical key names a secret: its last segment, read with the one before it
/// (`secret.key`).
pub fn is_secret_key(key: &str) -> bool {
    // Without quotes or blanks every way of splitting cuts at the dots: the last segment is what
    // follows the last one. This is the common case, and it needs no allocation.
    if !key
        .bytes()
        .any(|b| matches!(b, b'\'' | b'"' | b' ' | b'\t'))
    {
        let (before, last) = match key.rfind('.') {
            Some(dot) => (Some(&key[..dot]), &key[dot + 1..]),
            None => (None, key),
        };
        return crate::redact::is_secret_segments(before, last);
    }
    let segments = split_key(key);
    match segments.split_last() {
        Some((last, before)) => {
            crate::redact::is_secret_segments(before.last().map(String::as_str), last)
        }
        None => false,
    }
}

fn join(prefix: &str, segment: &str) -> String {
    let quoted = quote_segment(segment);
    if prefix.is_empty() {
        quoted
    } else {
        format!("{prefix}.{quoted}")
    }
}

/// Joins key segments with `.`, quoting any segment that is not a bare TOML key (one with a dot,
/// a space, an empty one…) in single quotes, or in double quotes when it contains a single quote.
/// A bare segment followed by `[N]` index suffixes (array-of-tables form) is left as is.
pub fn canonical_key(segments: &[&str]) -> String {
    segments
        .iter()
        .map(|s| quote_segment(s))
        .collect::<Vec<_>>()
        .join(".")
}

fn is_bare(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `name`, `name[0]`, `name[0][2]`: bare, or bare with array-of-tables indexes.
fn is_plain(s: &str) -> bool {
    let Some(open) = s.find('[') else {
        return is_bare(s);
    };
    let (name, mut rest) = s.split_at(open);
    if !is_bare(name) {
        return false;
    }
    while !rest.is_empty() {
        let Some(inner) = rest.strip_prefix('[') else {
            return false;
        };
        let Some(close) = inner.find(']') else {
            return false;
        };
        let digits = &inner[..close];
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
        rest = &inner[close + 1..];
    }
    true
}

fn quote_segment(s: &str) -> String {
    if is_plain(s) {
        s.to_string()
    } else if !s.contains('\'') && !s.contains('\n') {
        format!("'{s}'")
    } else {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

/// Splits a dotted key into its segments, the inverse of [`canonical_key`]. Accepts `'single'`
/// and `"double"` quoted segments and spaces around the dots. A malformed key (an unclosed
/// quote, text after a closing quote) is still split, best effort, never rejected.
pub fn split_key(key: &str) -> Vec<String> {
    try_split_key(key).unwrap_or_else(|| split_lenient(key))
}

/// The key in canonical form, or unchanged when it is not a well-formed dotted key (some product
/// files hold typos such as `passthru_http.''valid.max.message.size.in.bytes'`, which the product
/// uses verbatim, so they are kept verbatim).
pub fn normalize_key(key: &str) -> String {
    // A key of bare segments is already canonical: nothing to split, quote or join.
    if is_canonical_bare(key) {
        return key.to_string();
    }
    match try_split_key(key) {
        Some(segments) => {
            let refs: Vec<&str> = segments.iter().map(String::as_str).collect();
            canonical_key(&refs)
        }
        None => key.to_string(),
    }
}

/// [`normalize_key`] of a key the caller owns, kept as it is when already canonical (no copy).
pub fn normalize_owned_key(key: String) -> String {
    if is_canonical_bare(&key) {
        key
    } else {
        normalize_key(&key)
    }
}

/// Whether `key` is bare segments joined by dots, which [`normalize_key`] keeps as it is: what
/// `key.split('.').all(is_bare)` says, in one pass over the bytes.
fn is_canonical_bare(key: &str) -> bool {
    // At the start, as after a dot, an empty segment would begin.
    let mut after_dot = true;
    for &b in key.as_bytes() {
        match b {
            b'.' if after_dot => return false,
            b'.' => after_dot = true,
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' => after_dot = false,
            _ => return false,
        }
    }
    !after_dot
}

/// Strict split: `None` when the key is not well formed.
fn try_split_key(key: &str) -> Option<Vec<String>> {
    let mut segments = Vec::new();
    let mut chars = key.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let segment = match chars.peek() {
            Some('\'') => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => s.push(c),
                    }
                }
                s
            }
            Some('"') => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            'r' => s.push('\r'),
                            c => s.push(c),
                        },
                        c => s.push(c),
                    }
                }
                s
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '.' || c == ' ' || c == '\t' {
                        break;
                    }
                    if c == '\'' || c == '"' {
                        return None;
                    }
                    s.push(c);
                    chars.next();
                }
                if s.is_empty() {
                    return None;
                }
                s
            }
        };
        segments.push(segment);
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        match chars.next() {
            None => return Some(segments),
            Some('.') => {}
            Some(_) => return None,
        }
    }
}

/// Best effort for malformed keys: quotes are honoured where a segment starts with one, anything
/// else up to the next dot is taken literally.
fn split_lenient(key: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = key.chars();
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' if at_start => {
                at_start = false;
                for inner in chars.by_ref() {
                    if inner == c {
                        break;
                    }
                    current.push(inner);
                }
            }
            '.' => {
                segments.push(std::mem::take(&mut current));
                at_start = true;
            }
            c => {
                at_start = false;
                current.push(c);
            }
        }
    }
    segments.push(current);
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProblemKind;
    use std::path::PathBuf;

    fn doc(text: &str) -> DeploymentToml {
        let file = SourceFile::new(
            "deployment.toml".into(),
            "deployment.toml".into(),
            text.into(),
        );
        match parse(file) {
            Ok(d) => d,
            Err(p) => panic!("unexpected problem {p:?}"),
        }
    }

    fn problem(text: &str) -> SourceProblem {
        let file = SourceFile::new(
            "deployment.toml".into(),
            "deployment.toml".into(),
            text.into(),
        );
        match parse(file) {
            Ok(d) => panic!("expected a problem, got {d:?}"),
            Err(p) => p,
        }
    }

    fn fixtures() -> Option<PathBuf> {
        let dir = crate::test_support::shared("fixtures/wso2");
        if dir.is_some() {
            dir
        } else {
            eprintln!("note: shared/fixtures/wso2 is absent; fixture tests skipped");
            None
        }
    }

    #[test]
    fn real_fixtures_parse() {
        let Some(dir) = fixtures() else { return };
        for version in ["3.2.0", "4.2.0", "4.3.0"] {
            let path = dir.join(format!("apim-{version}/repository/conf/deployment.toml"));
            let text = std::fs::read_to_string(&path).unwrap();
            let file = SourceFile::new(path.clone(), format!("{version}/deployment.toml"), text);
            let d = parse(file.clone()).unwrap();

            let ty = d.get("database.apim_db.type").unwrap();
            assert_eq!(ty.value, "h2");
            assert_eq!(ty.kind, TomlKind::String);
            assert_eq!(file.slice(ty.value_span), "\"h2\"");
            assert_eq!(file.slice(ty.key_span), "type");
            assert!(!ty.secret);

            let pw = d.get("database.apim_db.password").unwrap();
            assert!(pw.secret);
            assert_eq!(pw.value, REDACTED);
            assert_eq!(file.slice(pw.value_span), "\"wso2carbon\"");

            let env_pw = d.get("apim.gateway.environment[0].password").unwrap();
            assert!(env_pw.secret, "{version}");
            assert!(
                !d.get("apim.gateway.environment[0].name")
                    .unwrap()
                    .value
                    .is_empty()
            );
            assert!(d.tables.contains_key("apim.gateway.environment[0]"));
            assert!(d.tables.contains_key("database.apim_db"));
            let header = d.tables["database.apim_db"];
            assert_eq!(file.slice(header), "[database.apim_db]");

            let role = d.get("server.hostname").unwrap();
            assert_eq!(role.value, "localhost");
            for entry in d.entries.values().filter(|e| e.secret) {
                assert_eq!(entry.value, REDACTED);
            }
            assert!(d.get("event_handler[0].name").is_some(), "{version}");
        }
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let text = "[database.apim_db]\nusername = \"apimuser\"\npassword = \"Zq8-unique-Pw\"\n\
                    [keystore.tls]\nkey_password = \"Zq8-unique-Pw\"\nclientSecret = \"Zq8-unique-Pw\"\n\
                    [x]\ncreds = { Password = \"Zq8-unique-Pw\" }\nlist = [{ secret = \"Zq8-unique-Pw\" }]\n\
                    [secrets]\ndb = \"Zq8-unique-Pw\"\n";
        let d = doc(text);
        let shown = format!("{d:?}");
        assert!(!shown.contains("Zq8-unique-Pw"), "{shown}");
        for key in [
            "database.apim_db.password",
            "keystore.tls.key_password",
            "keystore.tls.clientSecret",
            "x.creds.Password",
            "x.list",
            "secrets.db",
        ] {
            let e = d.get(key).unwrap_or_else(|| panic!("{key}"));
            assert!(e.secret, "{key}");
            assert_eq!(e.value, REDACTED, "{key}");
            assert!(!format!("{e:?}").contains("Zq8-unique-Pw"));
        }
        let pw = d.get("database.apim_db.password").unwrap();
        assert_eq!(d.file.slice(pw.value_span), "\"Zq8-unique-Pw\"");
        assert_eq!(
            d.get("database.apim_db.username").unwrap().value,
            "apimuser"
        );
    }

    #[test]
    fn quoted_keys_become_canonical() {
        let d = doc(
            "[passthru_http]\n'http.socket.timeout' = 180000\n\"worker_pool_size_core\" = 400\n\"a b\" = 1\n",
        );
        let e = d.get("passthru_http.'http.socket.timeout'").unwrap();
        assert_eq!(e.key, "passthru_http.'http.socket.timeout'");
        assert_eq!(e.value, "180000");
        assert_eq!(e.kind, TomlKind::Integer);
        assert_eq!(d.file.slice(e.key_span), "'http.socket.timeout'");
        assert_eq!(e.line, 2);
        // Other spellings of the same key find it.
        assert!(d.get("passthru_http.\"http.socket.timeout\"").is_some());
        assert!(
            d.entries
                .contains_key("passthru_http.worker_pool_size_core")
        );
        assert!(d.get("passthru_http.'worker_pool_size_core'").is_some());
        assert!(d.entries.contains_key("passthru_http.'a b'"));
    }

    #[test]
    fn dotted_keys_and_inline_tables_are_flattened() {
        let text = "a.b.c = 1\n[t]\nx.y = true\nz = { p = \"q\", r.s = 2.5 }\ne = {}\narr = [1, 2,\n  3]\nd = 1979-05-27T07:32:00Z\nh = 0x1F\n";
        let d = doc(text);
        let abc = d.get("a.b.c").unwrap();
        assert_eq!(d.file.slice(abc.key_span), "a.b.c");
        assert_eq!(abc.value, "1");
        let xy = d.get("t.x.y").unwrap();
        assert_eq!((xy.kind, xy.value.as_str()), (TomlKind::Boolean, "true"));
        assert_eq!(d.file.slice(xy.key_span), "x.y");
        let p = d.get("t.z.p").unwrap();
        assert_eq!(p.value, "q");
        assert_eq!(d.file.slice(p.value_span), "\"q\"");
        assert_eq!(d.file.slice(p.key_span), "p");
        let rs = d.get("t.z.r.s").unwrap();
        assert_eq!((rs.kind, rs.value.as_str()), (TomlKind::Float, "2.5"));
        assert_eq!(d.file.slice(rs.key_span), "r.s");
        assert_eq!(d.get("t.e").unwrap().kind, TomlKind::InlineTable);
        let arr = d.get("t.arr").unwrap();
        assert_eq!(
            (arr.kind, arr.value.as_str()),
            (TomlKind::Array, "[1, 2,\n  3]")
        );
        assert_eq!(d.get("t.d").unwrap().kind, TomlKind::Datetime);
        assert_eq!(d.get("t.h").unwrap().value, "0x1F");
        assert!(!d.tables.contains_key("a"));
        assert!(d.tables.contains_key("t"));
        assert!(!d.entries.contains_key("t.z"));
    }

    #[test]
    fn arrays_of_tables_are_indexed() {
        let d = doc("[[x.y]]\nname = 'a'\n[[x.y]]\nname = 'b'\n[[x.y.z]]\nq = 1\n");
        assert_eq!(d.get("x.y[0].name").unwrap().value, "a");
        assert_eq!(d.get("x.y[1].name").unwrap().value, "b");
        assert_eq!(d.get("x.y[1].z[0].q").unwrap().value, "1");
        assert_eq!(d.file.slice(d.tables["x.y[1]"]), "[[x.y]]");
        assert_eq!(split_key("x.y[1].z[0].q"), ["x", "y[1]", "z[0]", "q"]);
    }

    #[test]
    fn strings_are_unescaped_and_multiline() {
        let d = doc("a = \"x\\ty\\u00e9\"\nb = '''\nraw\\n'''\nc = \"\"\"\nl1\nl2\"\"\"\n");
        assert_eq!(d.get("a").unwrap().value, "x\tyé");
        assert_eq!(d.get("b").unwrap().value, "raw\\n");
        assert_eq!(d.get("c").unwrap().value, "l1\nl2");
    }

    #[test]
    fn crlf_keeps_exact_spans() {
        let text = "[server]\r\nhostname = \"h\"\r\n[database.apim_db]\r\ntype = \"mysql\"\r\n";
        let d = doc(text);
        let e = d.get("database.apim_db.type").unwrap();
        assert_eq!(e.value, "mysql");
        assert_eq!(d.file.slice(e.value_span), "\"mysql\"");
        assert_eq!(e.line, 4);
        assert_eq!(
            d.file.slice(d.tables["database.apim_db"]),
            "[database.apim_db]"
        );
    }

    #[test]
    fn bom_keeps_byte_offsets() {
        let text = "\u{feff}[server]\nhostname = \"h\"\n";
        let d = doc(text);
        let e = d.get("server.hostname").unwrap();
        assert_eq!(e.value_span, Span::new(23, 26));
        assert_eq!(d.file.slice(e.value_span), "\"h\"");
        assert_eq!(d.tables["server"], Span::new(3, 11));
        assert_eq!(e.line, 2);
    }

    #[test]
    fn unclosed_table_header_is_located() {
        let p = problem("[server]\nhostname = \"h\"\n[database.apim_db\ntype = \"h2\"\n");
        assert_eq!(p.kind, ProblemKind::Unparseable);
        assert_eq!((p.location.line, p.location.column), (Some(3), Some(18)));
        assert_eq!(p.message, "unclosed table, expected `]`");
        assert_eq!(p.location.file, "deployment.toml");
    }

    #[test]
    fn duplicate_key_is_reported_not_panicked() {
        let p = problem("[a]\nb = 1\n  b = 2\n");
        assert_eq!((p.location.line, p.location.column), (Some(3), Some(3)));
        assert_eq!(p.message, "duplicate key `b`");
        let p = problem("[a]\nb = 1\n\n[a]\n");
        assert_eq!((p.location.line, p.location.column), (Some(4), Some(2)));
        assert!(p.message.starts_with("duplicate key"), "{}", p.message);
        let p = problem("x.y = 1\nx.y.z = 2\n");
        assert_eq!(p.location.line, Some(2));
    }

    #[test]
    fn bad_value_is_located() {
        let p = problem("[a]\nenable = tru\n");
        assert_eq!((p.location.line, p.location.column), (Some(2), Some(10)));
        assert_eq!(p.message, "invalid boolean, expected `true`");
        let p = problem("[a]\nname = \"unterminated\n");
        assert_eq!(p.location.line, Some(2));
        assert!(p.message.chars().next().is_some_and(|c| !c.is_uppercase()));
    }

    #[test]
    fn canonical_and_split_are_inverse() {
        let cases: [&[&str]; 5] = [
            &["passthru_http", "http.socket.timeout"],
            &["a", "b c", ""],
            &["q", "it's"],
            &["x", "y[0]", "name"],
            &["we\"ird", "z"],
        ];
        for segments in cases {
            let key = canonical_key(segments);
            assert_eq!(split_key(&key), segments, "{key}");
        }
        assert_eq!(
            canonical_key(&["passthru_http", "http.socket.timeout"]),
            "passthru_http.'http.socket.timeout'"
        );
        assert_eq!(canonical_key(&["x", "y[z]"]), "x.'y[z]'");
        assert_eq!(split_key("a.\"b.c\" . 'd'"), ["a", "b.c", "d"]);
        assert_eq!(
            normalize_key("passthru_http.'worker_pool_size_core'"),
            "passthru_http.worker_pool_size_core"
        );
        let typo = "passthru_http.''valid.max.message.size.in.bytes'";
        assert_eq!(normalize_key(typo), typo);
        assert!(!split_key(typo).is_empty());
        assert!(is_secret_key("a.'Key.Password'"));
        assert!(!is_secret_key("password_policy.min"));
    }

    #[test]
    fn fast_paths_give_what_splitting_gives() {
        let keys = [
            "a",
            "a.b",
            "a-b.c_D9",
            "a..b",
            ".a",
            "a.",
            "",
            ".",
            "x.y[0].z",
            "a.'b.c'",
            "a . b",
            "a.\"b\".c",
            "é.x",
            "db.Password",
            "db.pass.word",
            "key.SECRET_x",
            "a.'x.secret'.y",
            "tab\t.password",
            "a.PassWord2",
            "a.xSECRETx",
            "a.secre",
            "a.Pass\u{212a}word",
            "a.\u{212a}secret",
        ];
        for key in keys {
            let split = match try_split_key(key) {
                Some(segments) => {
                    let refs: Vec<&str> = segments.iter().map(String::as_str).collect();
                    canonical_key(&refs)
                }
                None => key.to_string(),
            };
            assert_eq!(
                is_canonical_bare(key),
                key.split('.').all(is_bare),
                "{key:?}"
            );
            assert_eq!(normalize_key(key), split, "{key:?}");
            assert_eq!(normalize_owned_key(key.to_string()), split, "{key:?}");
            let segments = split_key(key);
            let secret = segments.split_last().is_some_and(|(last, before)| {
                crate::redact::is_secret_segments(before.last().map(String::as_str), last)
            });
            assert_eq!(is_secret_key(key), secret, "{key:?}");
        }
    }
}
