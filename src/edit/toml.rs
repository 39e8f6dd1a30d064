//! Format-preserving editor for `deployment.toml` (API-M 3.x/4.x).
//!
//! Owns: setting one canonical dotted key to a value with the smallest text change — the bytes
//! of the value, or one `key = value` line added to its table (or a new table appended at the
//! end) — and proving the result with the reader in `apim::deployment_toml`.
//! Must not: reformat, reorder or re-quote anything else (comments, blank lines, CRLF, a BOM, a
//! missing final newline survive byte for byte), write files, or put a value in a message (the
//! key may name a password).
//!
//! Decisions:
//! - A value that is already written exactly as it would be, or reads back as the same value of
//!   the asked kind, leaves the text untouched; so `set` is idempotent.
//! - Strings keep the quote style of the value they replace: literal `'…'` stays literal when
//!   the new value can be written literally (no `'`, no control character), else basic `"…"`
//!   with escapes. A multi-line original is replaced by a single-line string of the same quote
//!   kind. A string replacing a number or boolean is written basic.
//! - Int and Bool are always written bare, also over a string original (`expiry_time = "15m"`
//!   becomes `expiry_time = 900`): the caller asked for an integer, and the product's mapper
//!   reads a bare integer where it reads a numeric string. An Int must be a plain decimal
//!   integer (`-1`, `900`), a Bool `true` or `false`.
//! - Insertion goes after the last key/value line of the table, before any comments or blank
//!   lines that follow it: in the product's files those trailing lines are commented-out
//!   examples of the next table (`#[apim.idp]`), not part of this one.
//! - A table without a header (only implied by `[a.b.c]` or by dotted keys) is not looked for:
//!   a new `[table]` is appended, and when dotted keys or an inline table already define it the
//!   re-parse rejects the result and `set` returns the error.
//! - Array-of-tables entries (`x.y[0].k`) are replaced and can take new keys, but a missing
//!   `[[x.y]]` element is not created.

use super::Edit;
use super::{leading_ws, line_start, usual_eol};
use crate::apim::deployment_toml::{
    DeploymentToml, TomlEntry, TomlKind, canonical_key, parse, split_key,
};
use crate::model::{BOM, content_start};
use crate::model::{SourceFile, Span};

/// The TOML type the value is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Int,
    Bool,
    Str,
}

/// Set `user_key` (canonical dotted form, e.g. `apim.cache.km_token.enable`,
/// `passthru_http.'http.socket.timeout'`) to `value`.
///
/// Present: exactly the value bytes are replaced. Absent: `key = value` goes after the last
/// key/value line of the table's `[header]` (or right after the header), in the style of that
/// table's lines; without a header, `[table]` and the line are appended at the end of the file.
/// The result is re-parsed; the key must read back as `value` of the asked kind.
pub fn set(
    doc: &DeploymentToml,
    user_key: &str,
    value: &str,
    kind: ValueKind,
) -> Result<String, String> {
    let text = doc.file.text.as_str();
    check_value(user_key, value, kind)?;
    let (edit, literal) = match doc.get(user_key) {
        Some(entry) => {
            let raw = slice(text, entry.value_span);
            let literal = render(value, kind, Some(raw));
            let same = raw == literal
                || (!entry.secret && kind_matches(entry.kind, kind) && entry.value == value);
            if same {
                return Ok(text.to_string());
            }
            (Edit::replace(entry.value_span, literal.clone()), literal)
        }
        None => {
            let literal = render(value, kind, None);
            (insert(doc, user_key, &literal)?, literal)
        }
    };
    let new_text = edit.apply(text)?;
    verify(doc, user_key, value, kind, &literal, new_text)
}

/// Refuses values that are not of the asked kind; the message names the key, not the value.
fn check_value(key: &str, value: &str, kind: ValueKind) -> Result<(), String> {
    match kind {
        ValueKind::Int => match value.parse::<i64>() {
            Ok(n) if n.to_string() == value => Ok(()),
            _ => Err(format!("`{key}`: the value is not a plain decimal integer")),
        },
        ValueKind::Bool if value == "true" || value == "false" => Ok(()),
        ValueKind::Bool => Err(format!("`{key}`: a boolean must be `true` or `false`")),
        ValueKind::Str => Ok(()),
    }
}

fn kind_matches(found: TomlKind, wanted: ValueKind) -> bool {
    matches!(
        (found, wanted),
        (TomlKind::Integer, ValueKind::Int)
            | (TomlKind::Boolean, ValueKind::Bool)
            | (TomlKind::String, ValueKind::Str)
    )
}

/// The value as TOML text; `old` is the value it replaces, whose quote style a string keeps.
fn render(value: &str, kind: ValueKind, old: Option<&str>) -> String {
    match kind {
        ValueKind::Int | ValueKind::Bool => value.to_string(),
        ValueKind::Str => {
            let literal_style = old.is_some_and(|o| o.starts_with('\''));
            let literal_ok = !value.contains('\'')
                && !value
                    .chars()
                    .any(|c| c != '\t' && (c.is_control() || c == '\u{7f}'));
            if literal_style && literal_ok {
                format!("'{value}'")
            } else {
                basic_string(value)
            }
        }
    }
}

fn basic_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The edit that adds `key = literal` for an absent key.
fn insert(doc: &DeploymentToml, user_key: &str, literal: &str) -> Result<Edit, String> {
    let text = doc.file.text.as_str();
    let segments = split_key(user_key);
    let Some((last, table)) = segments.split_last() else {
        return Err(format!("`{user_key}` is not a key"));
    };
    if last.is_empty() || is_indexed(last) {
        return Err(format!(
            "`{user_key}`: an array-of-tables element cannot be created"
        ));
    }
    let key = canonical_key(&[last.as_str()]);
    let table_refs: Vec<&str> = table.iter().map(String::as_str).collect();
    let table_key = canonical_key(&table_refs);
    let eol = usual_eol(text);

    if table.is_empty() {
        return Ok(insert_into_body(doc, None, &key, literal, eol));
    }
    if let Some(header) = doc.tables.get(&table_key) {
        return Ok(insert_into_body(doc, Some(*header), &key, literal, eol));
    }
    if table.iter().any(|s| is_indexed(s)) {
        return Err(format!(
            "`{user_key}`: table `{table_key}` is an array-of-tables element that does not exist"
        ));
    }
    let (_, sep) = style(doc, None);
    let block = format!("[{table_key}]{eol}{key}{sep}{literal}");
    let at = text.len();
    let body = text.strip_prefix(BOM).unwrap_or(text);
    let with = if body.is_empty() {
        format!("{block}{eol}")
    } else if text.ends_with('\n') {
        let before_last = text.get(..text.len() - 1).unwrap_or("");
        let last_line = before_last.rsplit('\n').next().unwrap_or("");
        if last_line.trim().is_empty() {
            format!("{block}{eol}")
        } else {
            format!("{eol}{block}{eol}")
        }
    } else {
        // No final newline: none after the new line either.
        let last_line = text.rsplit('\n').next().unwrap_or("");
        if last_line.trim().is_empty() {
            format!("{eol}{block}")
        } else {
            format!("{eol}{eol}{block}")
        }
    };
    Ok(Edit::insert(at, with))
}

/// `name[0]`: an array-of-tables element in this tool's key naming.
fn is_indexed(segment: &str) -> bool {
    segment.ends_with(']') && segment.contains('[')
}

/// Inserts the line into the body of the table whose header is `header` (`None`: the root
/// table, before the first header).
fn insert_into_body(
    doc: &DeploymentToml,
    header: Option<Span>,
    key: &str,
    literal: &str,
    eol: &str,
) -> Edit {
    let text = doc.file.text.as_str();
    let body_start = match header {
        Some(h) => next_line(text, h.end),
        None => content_start(text),
    };
    let after = header.map_or(0, |h| h.end);
    // The body ends where the next header's line starts.
    let body_end = doc
        .tables
        .values()
        .map(|s| s.start)
        .filter(|s| *s >= after && Some(*s) != header.map(|h| h.start))
        .min()
        .map_or(text.len(), |s| line_start(text, s));
    let last_value_end = doc
        .entries
        .values()
        .filter(|e| e.key_span.start >= body_start && e.key_span.start < body_end)
        .map(|e| e.value_span.end)
        .max();
    let (indent, sep) = style(doc, Some((body_start, body_end)));
    let indent = match (last_value_end, header) {
        (None, Some(h)) => leading_ws(text, h.start).to_string(),
        _ => indent,
    };
    let line = format!("{indent}{key}{sep}{literal}");
    let at = match (last_value_end, header) {
        (Some(end), _) => next_line(text, end),
        (None, Some(h)) => next_line(text, h.end),
        // Nothing in the root table: the new key goes first.
        (None, None) => body_start,
    };
    if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
        // The line before has no newline (end of a file without one): keep it that way.
        Edit::insert(at, format!("{eol}{line}"))
    } else {
        Edit::insert(at, format!("{line}{eol}"))
    }
}

/// Indentation and `key = ` separator of the key/value lines in `range` (the last one written
/// on its own line), else of the first such line in the file, else none and ` = `.
fn style(doc: &DeploymentToml, range: Option<(usize, usize)>) -> (String, String) {
    let text = doc.file.text.as_str();
    let own_line = |e: &&TomlEntry| {
        let ws = leading_ws(text, e.key_span.start);
        line_start(text, e.key_span.start) + ws.len() == e.key_span.start
    };
    let describe = |e: &TomlEntry| {
        let sep = slice(text, Span::new(e.key_span.end, e.value_span.start));
        let sep_ok = sep.trim_matches([' ', '\t']) == "=";
        (
            leading_ws(text, e.key_span.start).to_string(),
            if sep_ok { sep } else { " = " }.to_string(),
        )
    };
    let mut lines: Vec<&TomlEntry> = doc.entries.values().filter(own_line).collect();
    lines.sort_by_key(|e| e.key_span.start);
    if let Some((start, end)) = range
        && let Some(e) = lines
            .iter()
            .rev()
            .find(|e| e.key_span.start >= start && e.key_span.start < end)
    {
        return describe(e);
    }
    match lines.first() {
        Some(e) => (String::new(), describe(e).1),
        None => (String::new(), " = ".to_string()),
    }
}

/// Re-parses the edited text and checks that the key reads back as the value, with the asked
/// type and exactly the written text.
fn verify(
    doc: &DeploymentToml,
    user_key: &str,
    value: &str,
    kind: ValueKind,
    literal: &str,
    new_text: String,
) -> Result<String, String> {
    let file = SourceFile::new(doc.file.path.clone(), doc.file.display.clone(), new_text);
    let parsed = parse(file.clone()).map_err(|p| {
        let line = p.location.line.unwrap_or(0);
        format!(
            "setting `{user_key}` would leave {} invalid at line {line}: {} (a table that \
             dotted keys or an inline table already define cannot get a `[header]`)",
            doc.file.display,
            scrub(&p.message, value)
        )
    })?;
    let Some(entry) = parsed.get(user_key) else {
        return Err(format!("after the edit `{user_key}` is not found"));
    };
    let raw = slice(&file.text, entry.value_span);
    let value_ok = entry.secret || entry.value == value;
    if kind_matches(entry.kind, kind) && raw == literal && value_ok {
        Ok(file.text.clone())
    } else {
        Err(format!(
            "after the edit `{user_key}` does not read back as the new value"
        ))
    }
}

/// A parser message with any copy of the value cut out: the value may be a secret.
fn scrub(message: &str, value: &str) -> String {
    if value.is_empty() || !message.contains(value) {
        message.to_string()
    } else {
        message.replace(value, "****")
    }
}

// ------------------------------------------------------------------------------------------------
// Text helpers

fn slice(text: &str, span: Span) -> &str {
    text.get(span.start..span.end).unwrap_or("")
}

/// The start of the line after the one holding `pos` (after its `\n`), or the end of the text.
fn next_line(text: &str, pos: usize) -> usize {
    text.get(pos..)
        .and_then(|s| s.find('\n'))
        .map_or(text.len(), |i| pos + i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apim::catalog::{Place, SettingType, catalog};

    fn doc(text: &str) -> DeploymentToml {
        let file = SourceFile::new(
            "deployment.toml".into(),
            "deployment.toml".into(),
            text.into(),
        );
        parse(file).unwrap_or_else(|p| panic!("fixture does not parse: {p:?}"))
    }

    use ValueKind::{Bool, Int, Str};

    /// (name, given, key, value, kind, produces)
    const CASES: &[(&str, &str, &str, &str, ValueKind, &str)] = &[
        (
            "replace int",
            "[server]\nhostname = \"localhost\"\n\n[passthru_http]\nworker_pool_size_core = 400 # tuned\n",
            "passthru_http.worker_pool_size_core",
            "800",
            Int,
            "[server]\nhostname = \"localhost\"\n\n[passthru_http]\nworker_pool_size_core = 800 # tuned\n",
        ),
        (
            "replace bool",
            "[apim.cache.km_token]\nenable = false\n",
            "apim.cache.km_token.enable",
            "true",
            Bool,
            "[apim.cache.km_token]\nenable = true\n",
        ),
        (
            "replace basic string",
            "[a]\nurl = \"x\"   # note\n",
            "a.url",
            "C:\\dir \"q\"",
            Str,
            "[a]\nurl = \"C:\\\\dir \\\"q\\\"\"   # note\n",
        ),
        (
            "replace literal string",
            "[a]\nurl = 'x'\n",
            "a.url",
            "C:\\dir",
            Str,
            "[a]\nurl = 'C:\\dir'\n",
        ),
        (
            "literal string falls back to basic",
            "[a]\nurl = 'x'\n",
            "a.url",
            "it's",
            Str,
            "[a]\nurl = \"it's\"\n",
        ),
        (
            "int over a string is written bare",
            "[apim.cache.gateway_token]\nexpiry_time = \"15m\"\n",
            "apim.cache.gateway_token.expiry_time",
            "900",
            Int,
            "[apim.cache.gateway_token]\nexpiry_time = 900\n",
        ),
        (
            "quoted key",
            "[passthru_http]\n'http.socket.timeout' = 180000\n",
            "passthru_http.'http.socket.timeout'",
            "60000",
            Int,
            "[passthru_http]\n'http.socket.timeout' = 60000\n",
        ),
        (
            "quoted key written with double quotes",
            "[passthru_http]\n\"http.socket.timeout\" = 180000\n",
            "passthru_http.\"http.socket.timeout\"",
            "60000",
            Int,
            "[passthru_http]\n\"http.socket.timeout\" = 60000\n",
        ),
        (
            "dotted key inside a table",
            "[apim]\ncache.km_token.enable = false\n",
            "apim.cache.km_token.enable",
            "true",
            Bool,
            "[apim]\ncache.km_token.enable = true\n",
        ),
        (
            "inline table leaf",
            "[database.apim_db]\npool_options = { maxActive = 100, testOnBorrow = false }\n",
            "database.apim_db.pool_options.testOnBorrow",
            "true",
            Bool,
            "[database.apim_db]\npool_options = { maxActive = 100, testOnBorrow = true }\n",
        ),
        (
            "insert after the last key line, before trailing comments and blanks",
            "[apim.key_manager]\nenable = true\n#service_url = \"x\"\n\n#[apim.idp]\n#server_url = \"y\"\n\n[apim.cors]\nallow_origins = \"*\"\n",
            "apim.key_manager.key_validation_handler_type",
            "default",
            Str,
            "[apim.key_manager]\nenable = true\nkey_validation_handler_type = \"default\"\n#service_url = \"x\"\n\n#[apim.idp]\n#server_url = \"y\"\n\n[apim.cors]\nallow_origins = \"*\"\n",
        ),
        (
            "insert matches indentation and spacing",
            "[keystore.tls]\n  file_name =  \"wso2carbon.jks\"\n  type =  \"JKS\"\n[x]\n",
            "keystore.tls.alias",
            "wso2",
            Str,
            "[keystore.tls]\n  file_name =  \"wso2carbon.jks\"\n  type =  \"JKS\"\n  alias =  \"wso2\"\n[x]\n",
        ),
        (
            "insert with a quoted key after a multi-line array",
            "[passthru_http]\nlist = [\n  1,\n  2,\n]\n[b]\n",
            "passthru_http.'http.socket.timeout'",
            "60000",
            Int,
            "[passthru_http]\nlist = [\n  1,\n  2,\n]\n'http.socket.timeout' = 60000\n[b]\n",
        ),
        (
            "insert into an empty table",
            "[a]\n# nothing yet\n[b]\nx = 1\n",
            "a.y",
            "2",
            Int,
            "[a]\ny = 2\n# nothing yet\n[b]\nx = 1\n",
        ),
        (
            "insert into an array-of-tables element",
            "[[apim.gateway.environment]]\nname = \"Default\"\n\n[[apim.gateway.environment]]\nname = \"Other\"\n",
            "apim.gateway.environment[0].type",
            "hybrid",
            Str,
            "[[apim.gateway.environment]]\nname = \"Default\"\ntype = \"hybrid\"\n\n[[apim.gateway.environment]]\nname = \"Other\"\n",
        ),
        (
            "new table at the end",
            "[server]\nhostname = \"localhost\"\n",
            "transport.http.socket_timeout",
            "60000",
            Int,
            "[server]\nhostname = \"localhost\"\n\n[transport.http]\nsocket_timeout = 60000\n",
        ),
        (
            "new table after an existing blank line",
            "[server]\nhostname = \"localhost\"\n\n",
            "passthru_http.'http.socket.timeout'",
            "60000",
            Int,
            "[server]\nhostname = \"localhost\"\n\n[passthru_http]\n'http.socket.timeout' = 60000\n",
        ),
        (
            "new table, no final newline",
            "[server]\nhostname = \"localhost\"",
            "apim.cache.km_token.enable",
            "true",
            Bool,
            "[server]\nhostname = \"localhost\"\n\n[apim.cache.km_token]\nenable = true",
        ),
        (
            "insert at the end of a file without final newline",
            "[server]\nhostname = \"localhost\"",
            "server.offset",
            "1",
            Int,
            "[server]\nhostname = \"localhost\"\noffset = 1",
        ),
        (
            "replace, no final newline",
            "[server]\noffset = 0",
            "server.offset",
            "1",
            Int,
            "[server]\noffset = 1",
        ),
        (
            "crlf replace",
            "[server]\r\noffset = 0\r\n",
            "server.offset",
            "1",
            Int,
            "[server]\r\noffset = 1\r\n",
        ),
        (
            "crlf insert and new table",
            "[server]\r\noffset = 0\r\n\r\n[a]\r\nb = 1\r\n",
            "server.hostname",
            "h",
            Str,
            "[server]\r\noffset = 0\r\nhostname = \"h\"\r\n\r\n[a]\r\nb = 1\r\n",
        ),
        (
            "crlf new table",
            "[server]\r\noffset = 0\r\n",
            "x.y",
            "true",
            Bool,
            "[server]\r\noffset = 0\r\n\r\n[x]\r\ny = true\r\n",
        ),
        (
            "bom",
            "\u{feff}[server]\noffset = 0\n",
            "server.offset",
            "2",
            Int,
            "\u{feff}[server]\noffset = 2\n",
        ),
        (
            "bom, root key into an empty root table",
            "\u{feff}[server]\noffset = 0\n",
            "top",
            "1",
            Int,
            "\u{feff}top = 1\n[server]\noffset = 0\n",
        ),
        (
            "root key after the root keys",
            "# c\na = 1\n\n[server]\noffset = 0\n",
            "b",
            "x",
            Str,
            "# c\na = 1\nb = \"x\"\n\n[server]\noffset = 0\n",
        ),
        (
            "same value leaves the text alone",
            "[a]\nb = \"\\u0041\"\n",
            "a.b",
            "A",
            Str,
            "[a]\nb = \"\\u0041\"\n",
        ),
        (
            "secret value is replaced",
            "[super_admin]\npassword = 'admin'\n",
            "super_admin.password",
            "n3w",
            Str,
            "[super_admin]\npassword = 'n3w'\n",
        ),
    ];

    #[test]
    fn given_produces() {
        for (name, given, key, value, kind, produces) in CASES {
            let d = doc(given);
            match set(&d, key, value, *kind) {
                Ok(out) => {
                    assert_eq!(out, *produces, "case `{name}`");
                    assert_eq!(
                        set(&doc(&out), key, value, *kind).as_deref(),
                        Ok(*produces),
                        "case `{name}` (second run)"
                    );
                }
                Err(e) => panic!("case `{name}`: {e}"),
            }
        }
    }

    /// (name, given, key, value, kind, error contains)
    const ERRORS: &[(&str, &str, &str, &str, ValueKind, &str)] = &[
        (
            "table defined implicitly by dotted keys",
            "[apim]\ncache.km_token.expiry = 1\n",
            "apim.cache.km_token.enable",
            "s3cret-true",
            Str,
            "would leave deployment.toml invalid",
        ),
        (
            "table defined by an inline table",
            "[database.apim_db]\npool_options = { maxActive = 1 }\n",
            "database.apim_db.pool_options.testOnBorrow",
            "true",
            Bool,
            "invalid",
        ),
        (
            "not an integer",
            "[a]\nb = 1\n",
            "a.b",
            "15m",
            Int,
            "not a plain decimal integer",
        ),
        (
            "not a boolean",
            "[a]\nb = 1\n",
            "a.b",
            "yes",
            Bool,
            "`true` or `false`",
        ),
        (
            "missing array-of-tables element",
            "[[a.env]]\nname = \"x\"\n",
            "a.env[1].name",
            "zz9",
            Str,
            "array-of-tables element",
        ),
    ];

    #[test]
    fn errors() {
        for (name, given, key, value, kind, wanted) in ERRORS {
            match set(&doc(given), key, value, *kind) {
                Ok(out) => panic!("case `{name}`: expected an error, got {out:?}"),
                Err(e) => {
                    assert!(e.contains(wanted), "case `{name}`: {e}");
                    assert!(!e.contains(value), "case `{name}` leaks the value: {e}");
                }
            }
        }
    }

    #[test]
    fn strings_escape_control_characters() {
        assert_eq!(
            render("a\tb\u{1}\n", Str, Some("'x'")),
            "\"a\\tb\\u0001\\n\""
        );
        assert_eq!(render("a\tb", Str, Some("'x'")), "'a\tb'");
        assert_eq!(render("x", Str, Some("'''x'''")), "'x'");
        assert_eq!(render("x", Str, Some("1")), "\"x\"");
    }

    // --------------------------------------------------------------------------------------------
    // Corpus: every `>=3.0` key of the catalog (template key, user key, aliases) on the real
    // deployment.toml files.

    #[test]
    fn corpus_catalog_keys() {
        let Some(dir) = crate::test_support::shared("fixtures/wso2") else {
            eprintln!("skipping: shared/fixtures/wso2 is absent");
            return;
        };
        let mut runs = 0;
        for version in ["3.2.0", "4.2.0", "4.3.0"] {
            let path = dir.join(format!("apim-{version}/repository/conf/deployment.toml"));
            let text = std::fs::read_to_string(&path).unwrap();
            let d = doc(&text);
            for setting in catalog() {
                for at in &setting.at {
                    let Place::Toml {
                        template_key,
                        user_key,
                        aliases,
                        ..
                    } = &at.place
                    else {
                        continue;
                    };
                    for key in std::iter::once(template_key)
                        .chain(std::iter::once(user_key))
                        .chain(aliases)
                    {
                        check_key(&d, &text, key, setting.ty, version);
                        runs += 1;
                    }
                }
            }
        }
        assert!(runs >= 90, "only {runs} runs");
    }

    fn check_key(d: &DeploymentToml, text: &str, key: &str, ty: SettingType, version: &str) {
        let label = format!("{version} {key}");
        let current = d.get(key).map(|e| e.value.clone());
        let (value, kind) = match ty {
            SettingType::Int => ("4242", Int),
            SettingType::Bool if current.as_deref() == Some("true") => ("false", Bool),
            SettingType::Bool => ("true", Bool),
            SettingType::String => ("https://example.com/x?a=1&b='2'", Str),
        };
        let out = set(d, key, value, kind).unwrap_or_else(|e| panic!("{label}: {e}"));
        let after = doc(&out);
        let e = after.get(key).unwrap();
        assert_eq!(e.value, value, "{label}");
        let (s, end, new) = crate::test_support::changed_region(text, &out);
        match d.get(key) {
            Some(old) => {
                let span = old.value_span;
                assert!(span.start <= s && end <= span.end, "{label}");
                let written = slice(&out, e.value_span);
                assert_eq!(
                    format!("{}{written}{}", &text[..span.start], &text[span.end..]),
                    out,
                    "{label}"
                );
            }
            None => {
                assert_eq!(s, end, "{label}: insertion removed bytes");
                assert!(new.contains(&canonical_key(&[split_key(key).last().unwrap()])));
            }
        }
        // Everything else reads the same.
        for (k, old) in &d.entries {
            if k != &e.key {
                let now = after
                    .entries
                    .get(k)
                    .unwrap_or_else(|| panic!("{label}: {k}"));
                assert_eq!(now.value, old.value, "{label}: {k}");
            }
        }
        assert_eq!(set(&after, key, value, kind).as_deref(), Ok(out.as_str()));
    }

    /// All catalog keys set one after the other on one file: later keys land in the tables the
    /// earlier ones created, and every value is still there at the end.
    #[test]
    fn corpus_all_keys_in_sequence() {
        let Some(dir) = crate::test_support::shared("fixtures/wso2") else {
            eprintln!("skipping: shared/fixtures/wso2 is absent");
            return;
        };
        for version in ["3.2.0", "4.2.0", "4.3.0"] {
            let path = dir.join(format!("apim-{version}/repository/conf/deployment.toml"));
            let mut text = std::fs::read_to_string(&path).unwrap();
            let mut wanted = Vec::new();
            for (n, setting) in catalog().iter().enumerate() {
                for at in &setting.at {
                    let Place::Toml { user_key, .. } = &at.place else {
                        continue;
                    };
                    let (value, kind) = match setting.ty {
                        SettingType::Int => (format!("{}", 1000 + n), Int),
                        SettingType::Bool => (format!("{}", n % 2 == 0), Bool),
                        SettingType::String => (format!("v{n}"), Str),
                    };
                    text = set(&doc(&text), user_key, &value, kind)
                        .unwrap_or_else(|e| panic!("{version} {user_key}: {e}"));
                    wanted.retain(|(k, _): &(String, String)| k != user_key);
                    wanted.push((user_key.clone(), value));
                }
            }
            let d = doc(&text);
            for (k, v) in &wanted {
                assert_eq!(d.get(k).map(|e| e.value.as_str()), Some(v.as_str()), "{k}");
            }
            // Each created table got exactly one header.
            assert_eq!(text.matches("\n[passthru_http]").count(), 1, "{version}");
        }
    }
}
