//! Environment files a systemd service loads with `EnvironmentFile=` (systemd.exec(5)).
//!
//! Owns: reading one file as systemd's `load_env_file` does (its `parse_env_file_internal`
//! state machine): `KEY=VALUE` lines, `#`/`;` comment lines, leading whitespace skipped,
//! unquoted values trimmed with `\` escaping one character (and joining lines), `'…'` taken
//! literally, `"…"` with `\` escaping only `"`, `\`, `` ` `` and `$` (any other `\x` is kept whole)
//! and `\`-newline removed; quoted and unquoted parts of one value are joined. A line without `=`
//! is skipped, as systemd skips it. Nothing is expanded: `$VAR` in an environment file stays
//! literal, and so does it for the service. Must not: judge, write, or print.
//!
//! Each assignment keeps the byte span of its raw value (quotes included), which is what a fix
//! replaces to give the variable a new value.

use crate::model::{SourceFile, Span};
use std::sync::Arc;

/// One `KEY=VALUE` assignment of an environment file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvAssignment {
    pub key: String,
    /// The value the service gets: unquoted and unescaped.
    pub value: String,
    /// 1-based line of the key.
    pub line: u32,
    /// The value as written, quotes and escapes included: what a fix replaces. Empty, right
    /// after the `=` (or after the blanks following it), for `KEY=`.
    pub raw_span: Span,
}

/// The characters systemd treats as blanks between tokens (`WHITESPACE`).
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_newline(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

/// What a `\` inside double quotes unescapes (`SHELL_NEED_ESCAPE`); any other escaped
/// character keeps its backslash, as the shell does.
fn shell_needs_escape(c: char) -> bool {
    matches!(c, '"' | '\\' | '`' | '$')
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    Single,
    Double,
    DoubleEscape,
    Comment,
    CommentEscape,
}

/// Every assignment of `file`, in file order; a key set twice appears twice (the later wins).
/// Keys that are not valid variable names are dropped, as systemd drops them from the
/// environment it builds.
pub fn parse(file: &Arc<SourceFile>) -> Vec<EnvAssignment> {
    let text = &file.text;
    let mut out = Vec::new();
    let mut state = State::PreKey;
    let mut key = String::new();
    let mut key_at = 0usize;
    let mut value = String::new();
    // Length of `value` before trailing blanks of an unquoted part, which systemd chops.
    let mut value_keep: Option<usize> = None;
    let mut raw_start: Option<usize> = None;
    let mut raw_end = 0usize;
    let mut value_eq_at = 0usize;
    let mut push =
        |key: &mut String, key_at: usize, value: &mut String, keep: Option<usize>, raw: Span| {
            if let Some(k) = keep {
                value.truncate(k);
            }
            let k = key.trim_end_matches(is_blank).to_string();
            if is_valid_name(&k) {
                out.push(EnvAssignment {
                    key: k,
                    value: std::mem::take(value),
                    line: file.line_col(key_at).0,
                    raw_span: raw,
                });
            }
            key.clear();
            value.clear();
        };
    for (i, c) in text.char_indices() {
        let next = i + c.len_utf8();
        match state {
            State::PreKey => {
                if c == '#' || c == ';' {
                    state = State::Comment;
                } else if !is_blank(c) {
                    state = State::Key;
                    key.clear();
                    key.push(c);
                    key_at = i;
                }
            }
            State::Key => {
                if is_newline(c) {
                    state = State::PreKey; // a line without `=` is skipped
                } else if c == '=' {
                    state = State::PreValue;
                    value.clear();
                    value_keep = None;
                    raw_start = None;
                    value_eq_at = next;
                    raw_end = next;
                } else {
                    key.push(c);
                }
            }
            State::PreValue => {
                if is_newline(c) {
                    let raw = Span::new(raw_start.unwrap_or(value_eq_at), raw_end);
                    push(&mut key, key_at, &mut value, None, raw);
                    state = State::PreKey;
                } else if c == '\'' || c == '"' || c == '\\' || !is_blank(c) {
                    raw_start.get_or_insert(i);
                    raw_end = next;
                    state = match c {
                        '\'' => State::Single,
                        '"' => State::Double,
                        '\\' => State::ValueEscape,
                        _ => {
                            value.push(c);
                            State::Value
                        }
                    };
                }
            }
            State::Value => {
                if is_newline(c) {
                    let raw = Span::new(raw_start.unwrap_or(value_eq_at), raw_end);
                    push(&mut key, key_at, &mut value, value_keep, raw);
                    state = State::PreKey;
                } else if c == '\\' {
                    value_keep = None;
                    raw_end = next;
                    state = State::ValueEscape;
                } else {
                    if !is_blank(c) {
                        value_keep = None;
                        raw_end = next;
                    } else if value_keep.is_none() {
                        value_keep = Some(value.len());
                    }
                    value.push(c);
                }
            }
            State::ValueEscape => {
                raw_end = next;
                state = State::Value;
                if !is_newline(c) {
                    value.push(c);
                }
            }
            State::Single => {
                raw_end = next;
                if c == '\'' {
                    state = State::PreValue;
                } else {
                    value.push(c);
                }
            }
            State::Double => {
                raw_end = next;
                match c {
                    '"' => state = State::PreValue,
                    '\\' => state = State::DoubleEscape,
                    _ => value.push(c),
                }
            }
            State::DoubleEscape => {
                raw_end = next;
                state = State::Double;
                if shell_needs_escape(c) {
                    value.push(c);
                } else if c != '\n' {
                    value.push('\\');
                    value.push(c);
                }
            }
            State::Comment => {
                if c == '\\' {
                    state = State::CommentEscape;
                } else if is_newline(c) {
                    state = State::PreKey;
                }
            }
            // systemd ≥ 254: a `\` at the end of a comment no longer continues it.
            State::CommentEscape => {
                state = if is_newline(c) {
                    State::PreKey
                } else {
                    State::Comment
                };
            }
        }
    }
    // The last line without a newline still counts.
    if matches!(
        state,
        State::PreValue
            | State::Value
            | State::ValueEscape
            | State::Single
            | State::Double
            | State::DoubleEscape
    ) {
        let keep = if state == State::Value {
            value_keep
        } else {
            None
        };
        let raw = Span::new(raw_start.unwrap_or(value_eq_at), raw_end);
        push(&mut key, key_at, &mut value, keep, raw);
    }
    out
}

/// Variable names systemd keeps in the environment it builds: not empty, no `=`, no blanks or
/// control characters, not starting with a digit.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !name.chars().any(|c| c == '=' || c.is_control() || c == ' ')
}

/// `value` written so that [`parse`] reads it back exactly: double-quoted, with `"`, `\`, `` ` ``
/// and `$` escaped. A newline cannot be written (it would end the value) and is refused.
pub fn quote(value: &str) -> Option<String> {
    if value.contains(['\n', '\r']) {
        return None;
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if shell_needs_escape(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(text: &str) -> Arc<SourceFile> {
        SourceFile::new(
            PathBuf::from("env"),
            "etc/default/wso2am".into(),
            text.into(),
        )
    }

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(&file(text))
            .into_iter()
            .map(|a| (a.key, a.value))
            .collect()
    }

    fn raws(text: &str) -> Vec<String> {
        let f = file(text);
        parse(&f)
            .iter()
            .map(|a| f.slice(a.raw_span).to_string())
            .collect()
    }

    #[test]
    fn reads_values_as_systemd_does() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("A=1\n", &[("A", "1")]),
            ("  A = 1 \n", &[("A", "1")]),
            ("A=\"x y\"\n", &[("A", "x y")]),
            ("A='x \\n y'\n", &[("A", "x \\n y")]),
            // Only ", \, ` and $ lose their backslash inside double quotes.
            ("A=\"a\\\"b\\$c\\n\"\n", &[("A", "a\"b$c\\n")]),
            ("A=\"x\"'y'\n", &[("A", "xy")]),
            ("A=x\\ y\n", &[("A", "x y")]),
            // The escaped newline goes; the blanks around it stay (systemd keeps them too).
            ("A=one \\\n two\n", &[("A", "one  two")]),
            ("A=\"one \\\ntwo\"\n", &[("A", "one two")]),
            ("# c\n; c\nA=1\n", &[("A", "1")]),
            ("no equals sign\nA=1\n", &[("A", "1")]),
            ("A=\n", &[("A", "")]),
            ("A=1\nA=2", &[("A", "1"), ("A", "2")]),
            ("A=$HOME/x\n", &[("A", "$HOME/x")]),
            ("export A=1\n1B=2\n", &[]),
            ("A=x # not a comment\n", &[("A", "x # not a comment")]),
            ("A=\"unterminated\n", &[("A", "unterminated\n")]),
            ("A=1\r\nB=2\r\n", &[("A", "1"), ("B", "2")]),
            ("", &[]),
        ];
        for (text, want) in cases {
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(pairs(text), want, "{text:?}");
        }
    }

    #[test]
    fn raw_span_covers_the_value_as_written() {
        assert_eq!(raws("A=\"-Xmx2g -Xms2g\"  \n"), ["\"-Xmx2g -Xms2g\""]);
        assert_eq!(raws("A = -Xmx2g  \nB=\n"), ["-Xmx2g", ""]);
        assert_eq!(raws("A=one \\\n two\n"), ["one \\\n two"]);
    }

    #[test]
    fn lines_are_those_of_the_key() {
        let f = file("# x\n\nA=1\n  B=\"2\n3\"\nC=4\n");
        let lines: Vec<u32> = parse(&f).iter().map(|a| a.line).collect();
        assert_eq!(lines, [3, 4, 6]);
    }

    #[test]
    fn quote_round_trips() {
        for v in ["-Xmx2g -Xms2g", "a\"b", "$X `y` \\z", "", "x # y"] {
            let q = quote(v).unwrap();
            assert_eq!(pairs(&format!("K={q}\n")), [("K".into(), v.into())], "{q}");
        }
        assert_eq!(quote("a\nb"), None);
    }

    #[test]
    fn bad_input_never_panics() {
        for text in [
            "\\",
            "A=\\",
            "A=\"\\",
            "'",
            "=\n=",
            "A='",
            "\u{0}=\u{0}",
            "ä=ö\\ü",
        ] {
            let _ = parse(&file(text));
        }
    }
}
