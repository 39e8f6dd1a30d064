//! Format-preserving editors for line-based files: Java `.properties`, `sysctl.conf` and
//! `sysctl.d`, pam `limits.conf` and `limits.d`.
//!
//! Owns: turning "this value becomes X", "this line is commented out" and "this line is added"
//! into new text that differs from the old in exactly those bytes. Comments, order, indentation,
//! spacing around `=`, CRLF line ends, a UTF-8 BOM, a missing final newline and trailing comments
//! all survive byte for byte. Also owns the escaping `.properties` values and keys need, and the
//! spacing or column alignment a new sysctl or limits line copies from its file.
//!
//! Must not: read or write files, decide what to change (that is `plan`), or judge a value.
//! Every function is pure on text. Spans come from the readers (`apim::properties`,
//! `host::sysctl`, `host::limits`); this module re-reads only as much syntax as placing an edit
//! safely needs (a `.properties` continuation line, a limits line's columns).
//!
//! Lines end in `\n` or `\r\n`. A lone `\r` (old Mac files, which `Properties.load` accepts)
//! is taken as a line end only when commenting out and when checking for an open `.properties`
//! continuation; lines are inserted and appended after a `\n` only.

use crate::apim::properties::{PropEntry, Properties};
use crate::model::{BOM, Span, content_start};

/// How a file ends its lines, so an edit writes new lines the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineStyle {
    /// `"\r\n"` if the first line end is CRLF, else `"\n"` (also for a file with no line end).
    pub eol: &'static str,
    /// The text ends with `\n`.
    pub final_newline: bool,
    /// The text starts with a UTF-8 byte-order mark.
    pub bom: bool,
}

/// Line-ending style of `text`: `"\r\n"` if the first line ending is CRLF, else `"\n"`; whether
/// it ends with a newline; whether it starts with a UTF-8 BOM.
pub fn style(text: &str) -> LineStyle {
    let eol = match text.find('\n') {
        Some(i) if text[..i].ends_with('\r') => "\r\n",
        _ => "\n",
    };
    LineStyle {
        eol,
        final_newline: text.ends_with('\n'),
        bom: text.starts_with(BOM),
    }
}

/// Replaces exactly `span` with `new` (the caller has escaped it). A span that does not lie
/// inside `text` on character boundaries leaves the text unchanged: the spans come from parsing
/// this very text, so that is a caller bug, and an unchanged file is the harmless outcome.
pub fn splice(text: &str, span: Span, new: &str) -> String {
    apply_edits(text, splice_edit(text, span, new).into_iter().collect())
}

/// Comments out the line whose content is `line_span` (without its line end): `# ` goes before
/// its first non-blank character, keeping the indentation, and `# {note}` goes on a line of its
/// own just above with the same indentation and the file's line ends.
///
/// A `.properties` entry continued over several physical lines has every one of them commented
/// (a comment line never continues, so commenting only the first would turn the rest into
/// entries of their own). A note with line breaks becomes several comment lines; an empty note
/// adds none. Bytes before the line's start never move, so several edits planned on the same
/// original text can be applied together ([`apply_edits`]).
pub fn comment_out(text: &str, line_span: Span, note: &str) -> String {
    apply_edits(
        text,
        comment_out_edit(text, line_span, note)
            .into_iter()
            .collect(),
    )
}

/// One replacement of the bytes `region` of a text by `with`, computed on the original text.
/// Edits of one file are collected and applied in a single pass ([`apply_edits`]): applying
/// each to a fresh copy of the file would make a plan of n edits cost n copies (quadratic in a
/// file of many fixable lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub region: Span,
    pub with: String,
}

/// What [`splice`] does, as an edit; `None` when the span is not inside `text` on character
/// boundaries.
pub fn splice_edit(text: &str, span: Span, new: &str) -> Option<Edit> {
    (span.start <= span.end && text.get(span.start..span.end).is_some()).then(|| Edit {
        region: span,
        with: new.to_string(),
    })
}

/// What [`comment_out`] does, as an edit of the line's bytes (from its start to its content's
/// end); `None` when `line_span` is not inside `text`.
pub fn comment_out_edit(text: &str, line_span: Span, note: &str) -> Option<Edit> {
    let first = content_start(text);
    let span_start = line_span.start.max(first);
    if span_start > line_span.end || text.get(span_start..line_span.end).is_none() {
        return None;
    }
    let start = line_start(text, span_start).max(first);
    let eol = style(text).eol;
    let indent_len = leading_blank_len(&text[start..]);
    let indent = &text[start..start + indent_len];

    // Where `# ` goes: the first non-blank character of every physical line of the span.
    // Whitespace-only lines (a `.properties` continuation may end on one) stay blank.
    let mut points = Vec::new();
    let mut at = start;
    loop {
        let (end, next) = line_bounds(text, at);
        let body = &text[at..end];
        let blank = leading_blank_len(body);
        if blank < body.len() {
            points.push(at + blank);
        }
        if next >= line_span.end || next >= text.len() {
            break;
        }
        at = next;
    }

    let region_end = points
        .last()
        .map_or(line_span.end, |&p| p.max(line_span.end));
    let mut with = String::with_capacity(region_end - start + note.len() + 8 * (points.len() + 2));
    if !note.is_empty() {
        for l in split_lines(note) {
            with.push_str(indent);
            push_comment(&mut with, l);
            with.push_str(eol);
        }
    }
    let mut copied = start;
    for p in points {
        with.push_str(&text[copied..p]);
        with.push_str("# ");
        copied = p;
    }
    with.push_str(&text[copied..region_end]);
    Some(Edit {
        region: Span::new(start, region_end),
        with,
    })
}

/// Applies `edits` to `text` in one pass, in the order of their regions. The regions must not
/// overlap (the planner drops overlapping ones before); an edit that would overlap the one
/// before it, or lies outside the text, is left out rather than garbling the file.
pub fn apply_edits(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.region.start, e.region.end));
    let grow: usize = edits.iter().map(|e| e.with.len()).sum();
    let mut out = String::with_capacity(text.len() + grow);
    let mut copied = 0;
    for e in edits {
        let Span { start, end } = e.region;
        if start < copied || start > end || text.get(copied..start).is_none() {
            continue;
        }
        if text.get(start..end).is_none() {
            continue;
        }
        out.push_str(&text[copied..start]);
        out.push_str(&e.with);
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Inserts `line` (no line end) as a new line right after the line that contains byte offset
/// `after`, with the file's line ends. When that line is the last one and has no final newline,
/// the line end goes before `line` and the file stays without a final newline. An offset past
/// the end means the last line. Nothing else moves.
pub fn insert_after_line(text: &str, after: usize, line: &str) -> String {
    match next_line_start(text, after) {
        Some(at) => [&text[..at], line, style(text).eol, &text[at..]].concat(),
        None => append_line(text, line),
    }
}

/// Appends `line` at the end: after a line end added first if the file lacks a final newline
/// (which it then still lacks), else followed by one. An empty file (or one holding only a BOM)
/// becomes `line` plus a line end.
pub fn append_line(text: &str, line: &str) -> String {
    let s = style(text);
    if text.len() == content_start(text) || s.final_newline {
        [text, line, s.eol].concat()
    } else {
        [text, s.eol, line].concat()
    }
}

/// Appends `lines` as [`append_line`] would one after the other, in one pass.
pub fn append_lines(text: &str, lines: &[String]) -> String {
    let Some((first, rest)) = lines.split_first() else {
        return text.to_string();
    };
    let mut out = append_line(text, first);
    // From here the text's style is settled: its first line end, and whether it ends with one
    // (an appended line keeps a missing final newline missing).
    let s = style(&out);
    out.reserve(rest.iter().map(|l| l.len() + 2).sum());
    for l in rest {
        if s.final_newline {
            out.push_str(l);
            out.push_str(s.eol);
        } else {
            out.push_str(s.eol);
            out.push_str(l);
        }
    }
    out
}

/// Escapes a `.properties` value as `Properties.store` does where it matters for loading it
/// back: `\`, a leading space, tab, newline, carriage return and form feed. A leading `=` or
/// `:` is escaped too, because after a whitespace-only separator (`key value`) the loader would
/// take it for the separator. Other `=`, `:`, `#`, `!` stay as they are (they are plain text
/// inside a value, and `http\://` would only be noise). Non-ASCII stays as it is: the files are
/// UTF-8.
pub fn escape_property_value(v: &str) -> String {
    escape_property(v, false)
}

/// Escapes a `.properties` key: everything [`escape_property_value`] escapes, plus `=`, `:`,
/// space, `#` and `!` anywhere, as `Properties.store` does for keys.
pub fn escape_property_key(k: &str) -> String {
    escape_property(k, true)
}

fn escape_property(s: &str, key: bool) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            ' ' | '=' | ':' if key || i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '#' | '!' if key => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Sets `key` to `value` (unescaped; this escapes it) in a parsed `.properties` file and returns
/// the new text.
///
/// When the key exists, the value bytes of its last (effective) entry are replaced, together
/// with the unescaped whitespace that trails them on that line: `Properties.load` keeps that
/// whitespace in the value, so leaving it would load `key=old  ` as `new  `. A multi-line value
/// is replaced as a whole by a one-line value. Otherwise `key=value` is inserted, in the
/// separator style of the file's last entry (`=`, ` = `, `:`, …; default `=`), right after the
/// last commented-out line for the same key (`#key=...`) if there is one, else at the end. When
/// the line before the new one ends in an open continuation (`a=1\` at the end of the file), a
/// blank line goes in between, so the new entry is not swallowed into that value.
pub fn set_property(props: &Properties, key: &str, value: &str) -> String {
    let text = props.file.text.as_str();
    let escaped = escape_property_value(value);
    if let Some(entry) = props.get(key) {
        let (span, new) = property_value_edit(text, entry, &escaped, &separator_style(props));
        return splice(text, span, &new);
    }
    let line = format!(
        "{}{}{escaped}",
        escape_property_key(key),
        separator_style(props)
    );
    let after_comment = props
        .commented(key)
        .and_then(|(_, line_no)| props.file.line_start(line_no));
    let insert_at = after_comment
        .and_then(|at| next_line_start(text, at))
        .unwrap_or(text.len());
    let line = if continuation_open_at(text, insert_at) {
        // An empty line ends a continued logical line without adding to its value.
        format!("{}{line}", style(text).eol)
    } else {
        line
    };
    match after_comment {
        Some(at) => insert_after_line(text, at, &line),
        None => append_line(text, &line),
    }
}

/// The span to replace and the bytes to put there to give `entry` the (escaped) value.
fn property_value_edit(
    text: &str,
    entry: &PropEntry,
    escaped: &str,
    separator: &str,
) -> (Span, String) {
    let v = entry.value_span;
    // Splicing an empty value between a lone `\r` (ending `key=\`) and the `\n` after a
    // continued value would fuse them into one line end, so the continuation would take the
    // next line as the value: that case is written from the key on, below (fuzz/properties).
    let fuses = |end: usize| {
        escaped.is_empty()
            && text.get(..v.start).is_some_and(|h| h.ends_with('\r'))
            && text.get(end..).is_some_and(|t| t.starts_with('\n'))
    };
    let tail = text.get(v.end..).unwrap_or("");
    let trailing = leading_blank_len(tail);
    if v.start < v.end && !fuses(v.end + trailing) {
        // A value is always preceded by a separator character, so only the value changes.
        return (Span::new(v.start, v.end + trailing), escaped.to_string());
    }
    // Empty value: its span sits at the end of the logical line. What lies between key and line
    // end is kept when it is a plain same-line separator (`key=`, `key = `, `key `). Otherwise
    // (`key` alone, or a continuation backslash that would escape the new text) it is rewritten.
    let between = text.get(entry.key_span.end..v.start).unwrap_or("");
    if !between.is_empty() && !between.contains(['\\', '\r', '\n']) {
        (Span::new(v.start, v.start), escaped.to_string())
    } else {
        (
            Span::new(entry.key_span.end, entry.line_span.end),
            format!("{separator}{escaped}"),
        )
    }
}

/// Separator for a new entry: the one of the last entry whose separator is `=` or `:` with at
/// most whitespace around it (one whitespace character kept on each side where it had some),
/// else `=`. Entries with an empty value are skipped: their "space after" is trailing blank.
fn separator_style(props: &Properties) -> String {
    let text = props.file.text.as_str();
    props
        .entries
        .iter()
        .rev()
        .filter(|e| e.value_span.start < e.value_span.end)
        .find_map(|e| {
            let between = text.get(e.key_span.end..e.value_span.start)?;
            let core = between.trim_matches(is_blank);
            if core != "=" && core != ":" {
                return None;
            }
            let before = between.chars().next().filter(|&c| is_blank(c));
            let after = between.chars().last().filter(|&c| is_blank(c));
            Some(
                before
                    .into_iter()
                    .chain(core.chars())
                    .chain(after)
                    .collect(),
            )
        })
        .unwrap_or_else(|| "=".to_string())
}

/// Whether a physical line starting at `pos` would be read by `Properties.load` as the
/// continuation of the line before it.
fn continuation_open_at(text: &str, pos: usize) -> bool {
    let mut at = content_start(text);
    let mut open = false;
    while at < pos.min(text.len()) {
        let (end, next) = line_bounds(text, at);
        let body = text[at..end].trim_start_matches(is_blank);
        open = if body.is_empty() || (!open && body.starts_with(['#', '!'])) {
            // A blank line ends a continuation; a comment line never starts one (but a
            // continued line that starts with `#` is value, and may continue).
            false
        } else {
            (body.len() - body.trim_end_matches('\\').len()) % 2 == 1
        };
        at = next;
    }
    open
}

/// A sysctl assignment line in the file's own spacing style, copied from its last assignment
/// line with a value (`key = value`, `key=value`, `key\t=\tvalue`); default `key = value`.
pub fn sysctl_line(text: &str, key: &str, value: &str) -> String {
    sysctl_line_spaced(sysctl_spacing(text), key, value)
}

/// The whitespace a new sysctl line puts before and after `=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SysctlSpacing {
    before: Option<char>,
    after: Option<char>,
}

/// The spacing of the last assignment line of `text` (one space each side when it has none),
/// for [`sysctl_line_spaced`]: worked out once per file, not once per new line.
pub fn sysctl_spacing(text: &str) -> SysctlSpacing {
    let (before, after) = last_assignment_spacing(text).unwrap_or((Some(' '), Some(' ')));
    SysctlSpacing { before, after }
}

/// `key = value` with the given spacing around `=`.
pub fn sysctl_line_spaced(spacing: SysctlSpacing, key: &str, value: &str) -> String {
    let mut out = String::with_capacity(key.len() + value.len() + 3);
    out.push_str(key);
    out.extend(spacing.before);
    out.push('=');
    out.extend(spacing.after);
    out.push_str(value);
    out
}

/// The whitespace character right before and right after `=` in the last assignment line.
fn last_assignment_spacing(text: &str) -> Option<(Option<char>, Option<char>)> {
    let mut found = None;
    for line in physical_lines(text) {
        // sysctl.d(5): blank lines and lines starting with `#` or `;` are ignored.
        let body = line.trim_matches(|c: char| c.is_ascii_whitespace());
        if body.is_empty() || body.starts_with(['#', ';']) {
            continue;
        }
        let Some((k, v)) = body.split_once('=') else {
            continue;
        };
        if k.trim().trim_start_matches('-').is_empty() || v.trim().is_empty() {
            continue;
        }
        let ws = |c: &char| c.is_ascii_whitespace();
        found = Some((k.chars().last().filter(ws), v.chars().next().filter(ws)));
    }
    found
}

/// A limits line `domain type item value`. When the file's last four-field line separates its
/// fields by single characters, the new line uses the same characters; when it aligns them in
/// columns (runs of spaces or tabs), the new line starts each field at the same column where
/// the previous field leaves room, padding with tabs where that line used tabs. Its indentation
/// is copied. Without such a line: `domain<TAB>type<TAB>item<TAB>value`.
pub fn limits_line(text: &str, domain: &str, kind: &str, item: &str, value: &str) -> String {
    let fields = [domain, kind, item, value];
    let Some(t) = limits_template(text) else {
        return fields.join("\t");
    };
    let mut out = String::from(t.indent);
    if t.seps.iter().all(|s| s.chars().count() == 1) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push_str(t.seps[i - 1]);
            }
            out.push_str(f);
        }
        return out;
    }
    let mut col = advance(0, t.indent);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            let tabs = t.seps[i - 1].contains('\t');
            let before = out.len();
            if tabs {
                while next_tab(col) <= t.cols[i] {
                    out.push('\t');
                    col = next_tab(col);
                }
            }
            while col < t.cols[i] {
                out.push(' ');
                col += 1;
            }
            if out.len() == before {
                // The previous field is too long for the column: fields still need a separator.
                let c = if tabs { '\t' } else { ' ' };
                out.push(c);
                col = advance(col, if tabs { "\t" } else { " " });
            }
        }
        out.push_str(f);
        col = advance(col, f);
    }
    out
}

/// Layout of the last line with exactly four fields (comments cut at `#`, as pam_limits does).
struct LimitsTemplate<'a> {
    indent: &'a str,
    seps: [&'a str; 3],
    /// Display column (tabs every 8) where each field starts.
    cols: [usize; 4],
}

fn limits_template(text: &str) -> Option<LimitsTemplate<'_>> {
    let mut found = None;
    for line in physical_lines(text) {
        let content = line.split('#').next().unwrap_or("");
        let spans = field_spans(content);
        let [a, b, c, d] = spans[..] else {
            continue;
        };
        let starts = [a.0, b.0, c.0, d.0];
        found = Some(LimitsTemplate {
            indent: &content[..a.0],
            seps: [&content[a.1..b.0], &content[b.1..c.0], &content[c.1..d.0]],
            cols: starts.map(|s| advance(0, &content[..s])),
        });
    }
    found
}

/// (start, end) byte offsets of the whitespace-separated fields of `s`.
fn field_spans(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_ascii_whitespace(), start) {
            (true, Some(st)) => {
                out.push((st, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
    out
}

fn next_tab(col: usize) -> usize {
    (col / 8 + 1) * 8
}

/// Display column after writing `s` at `col`, with tab stops every 8 columns.
fn advance(col: usize, s: &str) -> usize {
    s.chars()
        .fold(col, |c, ch| if ch == '\t' { next_tab(c) } else { c + 1 })
}

/// Content for a brand-new drop-in file: each header line as a `# ` comment, a blank line,
/// then the lines, each followed by `\n`. Without header lines there is no blank line either;
/// an empty header line becomes a bare `#` (no trailing blank), and a header line with line
/// breaks becomes several comment lines, so the header can never turn into settings.
pub fn new_file(header: &[&str], lines: &[String]) -> String {
    let mut out = String::new();
    for h in header {
        for l in split_lines(h) {
            push_comment(&mut out, l);
            out.push('\n');
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

// --- helpers ---------------------------------------------------------------------------------

/// Blank as `Properties.load`, sysctl and pam all agree on it within a line.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

fn leading_blank_len(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_blank).len()
}

/// Start of the physical line that contains `at`. Unlike the XML and TOML editors' helper, a
/// lone `\r` ends a line here (`Properties.load` reads it so), and a BOM is left to the caller.
fn line_start(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.as_bytes()[..at]
        .iter()
        .rposition(|&b| b == b'\n' || b == b'\r')
        .map_or(0, |i| i + 1)
}

/// Content end and next line start of the physical line starting at `start` (`\n`, `\r\n` or a
/// lone `\r` ends it).
fn line_bounds(text: &str, start: usize) -> (usize, usize) {
    let rest = &text.as_bytes()[start.min(text.len())..];
    match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
        None => (text.len(), text.len()),
        Some(i) => {
            let end = start + i;
            let crlf = rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n');
            (end, end + if crlf { 2 } else { 1 })
        }
    }
}

/// Start of the line after the one containing `at` (after its `\n`), if that line has a `\n`.
fn next_line_start(text: &str, at: usize) -> Option<usize> {
    let from = at.min(text.len());
    text.as_bytes()[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| from + i + 1)
}

/// `\n`-separated lines without their `\r`, the BOM left out, as sysctl and pam read them.
fn physical_lines(text: &str) -> impl Iterator<Item = &str> {
    text[content_start(text)..]
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
}

/// Lines of a note or header, split at any line break, trailing breaks ignored.
fn split_lines(s: &str) -> impl Iterator<Item = &str> {
    s.trim_end_matches(['\r', '\n'])
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .flat_map(|l| l.split('\r'))
}

fn push_comment(out: &mut String, text: &str) {
    if text.is_empty() {
        out.push('#');
    } else {
        out.push_str("# ");
        out.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apim::properties;
    use crate::host::{limits, sysctl};
    use crate::model::SourceFile;
    use std::path::Path;

    // ---------------------------------------------------------------------------------------
    // Harness in toml_edit's style: `given(text).running(edit).produces(expected)`.

    struct Given<'a>(&'a str);

    fn given(text: &str) -> Given<'_> {
        Given(text)
    }

    struct Ran<'a> {
        input: &'a str,
        output: String,
    }

    impl<'a> Given<'a> {
        fn running(&self, edit: impl FnOnce(&str) -> String) -> Ran<'a> {
            Ran {
                input: self.0,
                output: edit(self.0),
            }
        }
    }

    impl Ran<'_> {
        #[track_caller]
        fn produces(&self, expected: &str) {
            assert_eq!(self.output, expected, "given {:?}", self.input);
        }
    }

    /// `after` is `before` with exactly `span` replaced by `new`.
    #[track_caller]
    fn unchanged_outside(before: &str, after: &str, span: Span, new: &str) {
        let expected = format!("{}{new}{}", &before[..span.start], &before[span.end..]);
        assert_eq!(after, expected, "edit of {span:?} in {before:?}");
    }

    fn props(text: &str) -> properties::Properties {
        let (p, problems) = properties::parse(SourceFile::new(
            "t.properties".into(),
            "t.properties".into(),
            text.to_string(),
        ));
        assert!(problems.is_empty(), "{problems:?}");
        p
    }

    fn set(key: &str, value: &str) -> impl FnOnce(&str) -> String {
        move |t| set_property(&props(t), key, value)
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    const SYSCTL_FILE: &str = "etc/sysctl.d/10-x.conf";

    fn sysctl_read(text: &str) -> (tempfile::TempDir, sysctl::Sysctl) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), SYSCTL_FILE, text);
        let s = sysctl::read(dir.path(), &[]);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        (dir, s)
    }

    /// (line, key, value) of every persisted assignment, in file order.
    fn sysctl_lines(s: &sysctl::Sysctl) -> Vec<(u32, String, String)> {
        let mut out: Vec<_> = s
            .entries
            .values()
            .flat_map(|e| e.shadowed.iter().chain(e.winner.as_ref()))
            .map(|l| (l.line, l.key.clone(), l.value.clone()))
            .collect();
        out.sort();
        out
    }

    fn sysctl_winner(text: &str, key: &str) -> sysctl::SysctlLine {
        let (_dir, s) = sysctl_read(text);
        s.get(key).unwrap().winner.clone().unwrap()
    }

    const LIMITS_FILE: &str = "etc/security/limits.conf";

    fn limits_read(text: &str) -> (tempfile::TempDir, limits::Limits) {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), LIMITS_FILE, text);
        let l = limits::read(dir.path());
        assert!(l.problems.is_empty(), "{:?}", l.problems);
        (dir, l)
    }

    // ---------------------------------------------------------------------------------------
    // Table tests.

    #[test]
    fn style_of_texts() {
        let cases: &[(&str, &str, bool, bool)] = &[
            ("", "\n", false, false),
            ("a", "\n", false, false),
            ("a\n", "\n", true, false),
            ("a\r\nb\n", "\r\n", true, false),
            ("a\nb\r\n", "\n", true, false),
            ("\u{feff}a\r\nb", "\r\n", false, true),
            ("\u{feff}", "\n", false, true),
        ];
        for &(text, eol, final_newline, bom) in cases {
            assert_eq!(
                style(text),
                LineStyle {
                    eol,
                    final_newline,
                    bom
                },
                "{text:?}"
            );
        }
    }

    #[test]
    fn many_edits_apply_in_one_pass_as_one_by_one_back_to_front() {
        let text = "a = 1\r\n  b = 2\r\nc = 3\r\n";
        let spans = |n: usize| {
            let start = text
                .match_indices("\r\n")
                .nth(n.wrapping_sub(1))
                .map_or(0, |(i, _)| i + 2);
            let end = start + text[start..].find('\r').unwrap();
            Span::new(start, end)
        };
        let value_c = Span::new(text.rfind('3').unwrap(), text.rfind('3').unwrap() + 1);
        let one_by_one = comment_out(&splice(text, value_c, "30"), spans(1), "why");
        let one_by_one = comment_out(&one_by_one, spans(0), "");
        let edits = vec![
            comment_out_edit(text, spans(1), "why").unwrap(),
            splice_edit(text, value_c, "30").unwrap(),
            comment_out_edit(text, spans(0), "").unwrap(),
        ];
        let batch = apply_edits(text, edits);
        assert_eq!(batch, one_by_one);
        assert_eq!(batch, "# a = 1\r\n  # why\r\n  # b = 2\r\nc = 30\r\n");
        // An edit that overlaps the one before it, or lies outside the text, is left out.
        let overlapping = vec![
            splice_edit(text, Span::new(0, 3), "x").unwrap(),
            Edit {
                region: Span::new(2, 4),
                with: "y".into(),
            },
            Edit {
                region: Span::new(90, 95),
                with: "z".into(),
            },
        ];
        assert_eq!(apply_edits(text, overlapping), format!("x{}", &text[3..]));
        assert_eq!(splice_edit(text, Span::new(4, 90), "v"), None);
    }

    #[test]
    fn appending_many_lines_is_appending_each() {
        for text in ["", "\u{feff}", "a\n", "a", "a\r\nb", "a\r\n"] {
            let lines = vec![
                "x = 1".to_string(),
                "y = 2".to_string(),
                "z = 3".to_string(),
            ];
            let each = lines
                .iter()
                .fold(text.to_string(), |t, l| append_line(&t, l));
            assert_eq!(append_lines(text, &lines), each, "{text:?}");
            assert_eq!(append_lines(text, &[]), text, "{text:?}");
        }
    }

    #[test]
    fn splice_replaces_exactly_the_span() {
        given("a = 1\r\n")
            .running(|t| splice(t, Span::new(4, 5), "42"))
            .produces("a = 42\r\n");
        given("a=")
            .running(|t| splice(t, Span::new(2, 2), "x"))
            .produces("a=x");
        given("é=1")
            .running(|t| splice(t, Span::new(0, 2), "e"))
            .produces("e=1");
        // Spans that are not inside the text on character boundaries change nothing.
        for bad in [Span::new(1, 2), Span::new(3, 9), Span::new(3, 2)] {
            given("é=1")
                .running(|t| splice(t, bad, "x"))
                .produces("é=1");
        }
    }

    #[test]
    fn splice_on_reader_spans_keeps_everything_else() {
        // sysctl: CRLF, BOM, tabs, no final newline.
        let text = "\u{feff}# tuned\r\nnet.core.somaxconn\t=\t1024\r\nvm.swappiness = 60";
        let w = sysctl_winner(text, "net.core.somaxconn");
        given(text)
            .running(|t| splice(t, w.value_span, "4096"))
            .produces("\u{feff}# tuned\r\nnet.core.somaxconn\t=\t4096\r\nvm.swappiness = 60");
        let w = sysctl_winner(text, "vm.swappiness");
        given(text)
            .running(|t| splice(t, w.value_span, "1"))
            .produces("\u{feff}# tuned\r\nnet.core.somaxconn\t=\t1024\r\nvm.swappiness = 1");
        // sysctl.d(5) has no trailing comments: `# note` is part of the value the kernel is
        // given (procps and systemd-sysctl alike), so the whole value is replaced.
        let text = "net.ipv4.tcp_fin_timeout = 60 # note\n";
        let w = sysctl_winner(text, "net.ipv4.tcp_fin_timeout");
        assert_eq!(w.value, "60 # note");
        given(text)
            .running(|t| splice(t, w.value_span, "30"))
            .produces("net.ipv4.tcp_fin_timeout = 30\n");
        // Duplicates: the later line wins and is the one edited.
        let text = "a.b = 1\n; old\na.b=2\n";
        let w = sysctl_winner(text, "a.b");
        given(text)
            .running(|t| splice(t, w.value_span, "3"))
            .produces("a.b = 1\n; old\na.b=3\n");

        // limits: pam_limits cuts at `#`, so a trailing comment survives.
        let text = "# header\r\nwso2\t-\tnofile\t4096   # raised for API-M\r\n";
        let (_d, l) = limits_read(text);
        let line = l.effective("wso2", &[], "nofile").soft.unwrap();
        given(text)
            .running(|t| splice(t, line.value_span, "65535"))
            .produces("# header\r\nwso2\t-\tnofile\t65535   # raised for API-M\r\n");
    }

    #[test]
    fn comment_out_table() {
        let line2 = |t: &str| {
            let start = t.find('\n').unwrap() + 1;
            let end = t[start..].find(['\r', '\n']).map_or(t.len(), |i| start + i);
            Span::new(start, end)
        };
        let note = "apim-tune 2026-11-22: removed";
        given("a = 1\nnet.ipv4.tcp_tw_recycle = 0\nb = 2\n")
            .running(|t| comment_out(t, line2(t), note))
            .produces(
                "a = 1\n# apim-tune 2026-11-22: removed\n# net.ipv4.tcp_tw_recycle = 0\nb = 2\n",
            );
        given("a = 1\r\n  x = 1\r\n")
            .running(|t| comment_out(t, line2(t), note))
            .produces("a = 1\r\n  # apim-tune 2026-11-22: removed\r\n  # x = 1\r\n");
        given("a\n\t\twso2 soft nofile 1 # why\n")
            .running(|t| comment_out(t, line2(t), "n"))
            .produces("a\n\t\t# n\n\t\t# wso2 soft nofile 1 # why\n");
        given("a=1\nb=2")
            .running(|t| comment_out(t, line2(t), "n"))
            .produces("a=1\n# n\n# b=2");
        given("\u{feff}a=1\nb=2\n")
            .running(|t| comment_out(t, Span::new(3, 6), "n"))
            .produces("\u{feff}# n\n# a=1\nb=2\n");
        given("a=1")
            .running(|t| comment_out(t, Span::new(0, 3), ""))
            .produces("# a=1");
        given("a=1\n")
            .running(|t| comment_out(t, Span::new(0, 3), "one\r\ntwo\n"))
            .produces("# one\n# two\n# a=1\n");
        // An invalid span changes nothing.
        given("a=1\n")
            .running(|t| comment_out(t, Span::new(2, 9), "n"))
            .produces("a=1\n");
    }

    #[test]
    fn comment_out_a_continued_property_comments_every_physical_line() {
        let text = "m = first \\\r\n    second\\\r\n  third\r\nn=1\r\n";
        let p = props(text);
        let m = p.get("m").unwrap();
        let out = comment_out(text, m.line_span, "n");
        assert_eq!(
            out,
            "# n\r\n# m = first \\\r\n    # second\\\r\n  # third\r\nn=1\r\n"
        );
        let after = props(&out);
        assert_eq!(after.get("m"), None);
        assert_eq!(after.get("n").unwrap().value, "1");
        assert_eq!(after.get("second\\"), None);
        // A continuation that ends on a whitespace-only line leaves that line blank.
        let text = "a=1\\\n   \nb=2\n";
        let a = props(text).get("a").unwrap().clone();
        given(text)
            .running(|t| comment_out(t, a.line_span, "n"))
            .produces("# n\n# a=1\\\n   \nb=2\n");
    }

    #[test]
    fn insert_after_line_table() {
        let cases: &[(&str, usize, &str)] = &[
            ("a\nb\n", 0, "a\nX\nb\n"),
            ("a\nb\n", 1, "a\nX\nb\n"),
            ("a\nb\n", 2, "a\nb\nX\n"),
            ("a\nb\n", 4, "a\nb\nX\n"),
            ("a\nb\n", 99, "a\nb\nX\n"),
            ("a\nb", 2, "a\nb\nX"),
            ("a\r\nb\r\n", 0, "a\r\nX\r\nb\r\n"),
            ("a\r\nb", 3, "a\r\nb\r\nX"),
            ("", 0, "X\n"),
            ("\u{feff}", 0, "\u{feff}X\n"),
            ("\u{feff}a", 1, "\u{feff}a\nX"),
            ("# only\n# comments\n", 3, "# only\nX\n# comments\n"),
        ];
        for &(text, after, expected) in cases {
            given(text)
                .running(|t| insert_after_line(t, after, "X"))
                .produces(expected);
        }
    }

    #[test]
    fn append_line_table() {
        let cases: &[(&str, &str)] = &[
            ("", "X\n"),
            ("\u{feff}", "\u{feff}X\n"),
            ("a\n", "a\nX\n"),
            ("a", "a\nX"),
            ("a\r\n", "a\r\nX\r\n"),
            ("a\r\nb", "a\r\nb\r\nX"),
            ("\u{feff}a\r\n", "\u{feff}a\r\nX\r\n"),
            ("\n", "\nX\n"),
            ("# c\n\n", "# c\n\nX\n"),
        ];
        for &(text, expected) in cases {
            given(text)
                .running(|t| append_line(t, "X"))
                .produces(expected);
        }
    }

    #[test]
    fn escaping() {
        let values: &[(&str, &str)] = &[
            ("", ""),
            ("180000", "180000"),
            (" lead", "\\ lead"),
            ("in side ", "in side "),
            ("a\\b", "a\\\\b"),
            ("\t\n\r\u{c}", "\\t\\n\\r\\f"),
            ("=x=y", "\\=x=y"),
            (":x:y", "\\:x:y"),
            ("#!x", "#!x"),
            ("\\w+://[^/]+", "\\\\w+://[^/]+"),
            ("été", "été"),
        ];
        for &(v, e) in values {
            assert_eq!(escape_property_value(v), e, "{v:?}");
        }
        let keys: &[(&str, &str)] = &[
            ("http.socket.timeout", "http.socket.timeout"),
            ("a b=c:d#e!f", "a\\ b\\=c\\:d\\#e\\!f"),
            ("#k", "\\#k"),
            ("t\tn\n\\", "t\\tn\\n\\\\"),
            ("clé", "clé"),
        ];
        for &(k, e) in keys {
            assert_eq!(escape_property_key(k), e, "{k:?}");
        }
    }

    #[test]
    fn set_property_replaces_the_effective_value() {
        given("a=1\nb=2\n")
            .running(set("b", "3"))
            .produces("a=1\nb=3\n");
        given("a = 1\r\nb = 2\r\n")
            .running(set("a", "10"))
            .produces("a = 10\r\nb = 2\r\n");
        given("a=1\nb=2")
            .running(set("b", "3"))
            .produces("a=1\nb=3");
        given("\u{feff}a=1\n")
            .running(set("a", "2"))
            .produces("\u{feff}a=2\n");
        given("  a\t=\tx\n")
            .running(set("a", "y"))
            .produces("  a\t=\ty\n");
        // Duplicates: the last one is in effect and is the one changed.
        given("d=1\n# x\nd=2\n")
            .running(set("d", "5"))
            .produces("d=1\n# x\nd=5\n");
        // Trailing blanks are part of the old value for `Properties.load`: they go with it.
        given("d=2  \t\nz=0\n")
            .running(set("d", "5"))
            .produces("d=5\nz=0\n");
        given("k: v\n").running(set("k", "w")).produces("k: w\n");
        given("k v\n").running(set("k", "w")).produces("k w\n");
        given("k\tv\n")
            .running(set("k", "=w"))
            .produces("k\t\\=w\n");
        given("m = first \\\n        second\\\n  third\nn=1\n")
            .running(set("m", "x"))
            .produces("m = x\nn=1\n");
        given("m = first \\\r\n  second\r\n")
            .running(set("m", "a b"))
            .produces("m = a b\r\n");
        given("p=x\n")
            .running(set("p", " a\\b\tc"))
            .produces("p=\\ a\\\\b\\tc\n");
        given("u=1\n").running(set("u", "été")).produces("u=été\n");
        given("k\\ x=1\n")
            .running(set("k x", "2"))
            .produces("k\\ x=2\n");
    }

    #[test]
    fn set_property_fills_empty_values() {
        given("e=\n").running(set("e", "v")).produces("e=v\n");
        given("e = \n").running(set("e", "v")).produces("e = v\n");
        given("e   \n").running(set("e", "v")).produces("e   v\n");
        given("bare\n")
            .running(set("bare", "v"))
            .produces("bare=v\n");
        given("a = 1\nbare")
            .running(set("bare", "v"))
            .produces("a = 1\nbare = v");
        // A dangling continuation backslash would escape the new value: it is rewritten.
        given("a=\\").running(set("a", "v")).produces("a=v");
        given("key\\\n")
            .running(set("key", "v"))
            .produces("key=v\n");
        given("key\\\n   \nz=1\n")
            .running(set("key", "v"))
            .produces("key=v\nz=1\n");
    }

    #[test]
    fn set_property_inserts_missing_keys() {
        given("").running(set("a", "1")).produces("a=1\n");
        given("\u{feff}")
            .running(set("a", "1"))
            .produces("\u{feff}a=1\n");
        given("# c\n! d\n")
            .running(set("a", "1"))
            .produces("# c\n! d\na=1\n");
        given("# c\r\n! d")
            .running(set("a", "1"))
            .produces("# c\r\n! d\r\na=1");
        given("x = 1\r\ny = 2\r\n")
            .running(set("a", "1"))
            .produces("x = 1\r\ny = 2\r\na = 1\r\n");
        given("x=1\ny: 2\n")
            .running(set("a", "1"))
            .produces("x=1\ny: 2\na: 1\n");
        given("x =1\ny\t=\t2\nz=\n")
            .running(set("a", "1"))
            .produces("x =1\ny\t=\t2\nz=\na\t=\t1\n");
        // Whitespace-only separators are not copied: `=` is clearer.
        given("x 1\n").running(set("a", "1")).produces("x 1\na=1\n");
        given("x=1\n")
            .running(set("my key", " v"))
            .produces("x=1\nmy\\ key=\\ v\n");
    }

    #[test]
    fn set_property_inserts_after_the_commented_out_default() {
        given("# header\n#http.socket.timeout=60000\n# other\nx=1\n")
            .running(set("http.socket.timeout", "180000"))
            .produces(
                "# header\n#http.socket.timeout=60000\nhttp.socket.timeout=180000\n# other\nx=1\n",
            );
        // The last commented line for the key, with its own line ends.
        given("#k=1\r\n! k : 2\r\nz = 0\r\n")
            .running(set("k", "3"))
            .produces("#k=1\r\n! k : 2\r\nk = 3\r\nz = 0\r\n");
        given("a=1\n#k=1")
            .running(set("k", "2"))
            .produces("a=1\n#k=1\nk=2");
        // Prose comments are not commented-out entries.
        given("# k is the timeout\na=1\n")
            .running(set("k", "2"))
            .produces("# k is the timeout\na=1\nk=2\n");
    }

    #[test]
    fn set_property_never_appends_into_an_open_continuation() {
        given("a=1\\")
            .running(set("b", "2"))
            .produces("a=1\\\n\nb=2");
        given("a=1\\\n")
            .running(set("b", "2"))
            .produces("a=1\\\n\nb=2\n");
        given("a=1\\\r\n  2\\\r\n")
            .running(set("b", "2"))
            .produces("a=1\\\r\n  2\\\r\n\r\nb=2\r\n");
        // An even number of backslashes is an escaped backslash, a comment never continues.
        given("a=1\\\\\n")
            .running(set("b", "2"))
            .produces("a=1\\\\\nb=2\n");
        given("# a\\\n")
            .running(set("b", "2"))
            .produces("# a\\\nb=2\n");
        for text in ["a=1\\", "a=1\\\n", "a=1\\\r\n  2\\\r\n"] {
            let out = set_property(&props(text), "b", "2");
            let p = props(&out);
            assert_eq!(p.get("b").unwrap().value, "2");
            assert_eq!(
                p.get("a").unwrap().value,
                props(text).get("a").unwrap().value
            );
        }
    }

    #[test]
    fn sysctl_line_copies_the_spacing() {
        let cases: &[(&str, &str)] = &[
            ("", "k = v"),
            ("# x=1\n; y = 2\n", "k = v"),
            ("a=1\n", "k=v"),
            ("a = 1\r\nb=2\r\n", "k=v"),
            ("a=1\nb = 2", "k = v"),
            ("\u{feff}a= 1\n", "k= v"),
            ("  -a =1\n", "k =v"),
            ("\ta\t=\t1\n", "k\t=\tv"),
            // A line without a value tells nothing about the space after `=`.
            ("a=1\nb =\n", "k=v"),
            ("a = 1 # note\n", "k = v"),
        ];
        for &(text, expected) in cases {
            assert_eq!(sysctl_line(text, "k", "v"), expected, "{text:?}");
        }
        let text = "vm.swappiness=10\n";
        let out = append_line(text, &sysctl_line(text, "net.core.somaxconn", "4096"));
        assert_eq!(out, "vm.swappiness=10\nnet.core.somaxconn=4096\n");
    }

    #[test]
    fn limits_line_copies_separators_or_columns() {
        let line = |text: &str| limits_line(text, "wso2", "hard", "nofile", "65535");
        let cases: &[(&str, &str)] = &[
            ("", "wso2\thard\tnofile\t65535"),
            // Stock comment examples are not lines.
            (
                "#*               soft    core            0\n",
                "wso2\thard\tnofile\t65535",
            ),
            ("* soft nofile 1024\n", "wso2 hard nofile 65535"),
            ("*\tsoft\tnofile\t1024\n", "wso2\thard\tnofile\t65535"),
            ("* soft\tnofile 1024 # why\n", "wso2 hard\tnofile 65535"),
            (
                "*               soft    nofile          1024\n",
                "wso2            hard    nofile          65535",
            ),
            (
                "*\t\tsoft\tnofile\t\t1024\r\n",
                "wso2\t\thard\tnofile\t\t65535",
            ),
            (
                "  @apim   soft   nproc   100\n",
                "  wso2    hard   nofile  65535",
            ),
            // The last four-field line is the model.
            (
                "*   soft   nofile   1\nx - nproc 2\n",
                "wso2 hard nofile 65535",
            ),
            (
                "x - nproc 2\n*   soft   nofile   1\nwso2 -\n",
                // `wso2` fills the first column: the next fields catch up with theirs.
                "wso2 hard  nofile   65535",
            ),
            ("\u{feff}a b c d\n", "wso2 hard nofile 65535"),
        ];
        for &(text, expected) in cases {
            assert_eq!(line(text), expected, "{text:?}");
        }
        // A field longer than its column still gets a separator.
        assert_eq!(
            limits_line("a    b    c    d\n", "@a-long-group", "soft", "nofile", "1"),
            "@a-long-group soft nofile 1"
        );
        assert_eq!(
            limits_line("a\t\tb\tc\td\n", "@a-long-group-name", "-", "nproc", "1"),
            "@a-long-group-name\t-\tnproc\t1"
        );
    }

    #[test]
    fn new_file_layout() {
        let lines = vec!["a = 1".to_string(), "b = 2".to_string()];
        assert_eq!(
            new_file(&["Written by apim-tune.", "", "Undo: rollback"], &lines),
            "# Written by apim-tune.\n#\n# Undo: rollback\n\na = 1\nb = 2\n"
        );
        assert_eq!(new_file(&[], &lines), "a = 1\nb = 2\n");
        assert_eq!(new_file(&["x\ny=1"], &[]), "# x\n# y=1\n\n");
    }

    // ---------------------------------------------------------------------------------------
    // Property tests.

    mod properties_hold {
        use super::*;
        use proptest::prelude::*;
        use proptest::sample::Index;

        #[derive(Clone, Debug)]
        struct FileSpec {
            /// Items, each one or more physical lines.
            items: Vec<Vec<String>>,
            eol: &'static str,
            final_newline: bool,
            bom: bool,
        }

        impl FileSpec {
            fn render(&self) -> String {
                let lines: Vec<&str> = self.items.iter().flatten().map(String::as_str).collect();
                let mut out = String::new();
                if self.bom {
                    out.push_str(BOM);
                }
                out.push_str(&lines.join(self.eol));
                if self.final_newline && !lines.is_empty() {
                    out.push_str(self.eol);
                }
                out
            }
        }

        fn file(item: BoxedStrategy<Vec<String>>) -> impl Strategy<Value = FileSpec> {
            (
                prop::collection::vec(item, 0..10),
                prop_oneof![Just("\n"), Just("\r\n")],
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(|(items, eol, final_newline, bom)| FileSpec {
                    items,
                    eol,
                    final_newline,
                    bom,
                })
        }

        fn one(s: impl Strategy<Value = String> + 'static) -> BoxedStrategy<Vec<String>> {
            s.prop_map(|l| vec![l]).boxed()
        }

        fn blank() -> impl Strategy<Value = String> {
            "[ \t]{0,3}"
        }

        fn indent() -> impl Strategy<Value = String> {
            "[ \t]{0,2}"
        }

        // --- .properties -------------------------------------------------------------------

        /// Raw key text as written (with its escapes).
        fn prop_key_raw() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                "k0",
                "k1",
                "a.b",
                "http.socket.timeout",
                "k\\ sp",
                "clé",
            ])
        }

        fn prop_sep() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                "=", " = ", ":", " : ", " ", "\t", "  =  ", "=\t", "\t:",
            ])
        }

        /// Raw value text as written: plain characters and escapes, never a lone backslash.
        fn prop_value_raw() -> impl Strategy<Value = String> {
            prop::collection::vec(
                prop::sample::select(vec![
                    "a", "Z", "0", "9", ".", " ", "=", ":", "#", "!", "é", "/", "\\\\", "\\t",
                    "\\u00e9", "\\ ", "\\=",
                ]),
                0..5,
            )
            .prop_map(|t| t.concat())
        }

        fn prop_item() -> BoxedStrategy<Vec<String>> {
            let comment = ("[#!]", "[ a-z=.:]{0,10}").prop_map(|(m, t)| format!("{m}{t}"));
            let commented = (
                "[#!]",
                "[ \t]{0,1}",
                prop_key_raw(),
                prop_sep(),
                prop_value_raw(),
            )
                .prop_map(|(m, w, k, s, v)| format!("{m}{w}{k}{s}{v}"));
            let assignment = (
                indent(),
                prop_key_raw(),
                prop_sep(),
                prop_value_raw(),
                blank(),
            )
                .prop_map(|(i, k, s, v, t)| format!("{i}{k}{s}{v}{t}"));
            let bare =
                (indent(), prop_key_raw(), blank()).prop_map(|(i, k, t)| format!("{i}{k}{t}"));
            let continued = (
                indent(),
                prop_key_raw(),
                prop_sep(),
                prop_value_raw(),
                indent(),
                prop_value_raw(),
                blank(),
            )
                .prop_map(|(i, k, s, v1, i2, v2, t)| {
                    vec![format!("{i}{k}{s}{v1}\\"), format!("{i2}{v2}{t}")]
                });
            let dangling = (prop_key_raw(), prop_sep(), prop_value_raw())
                .prop_map(|(k, s, v)| format!("{k}{s}{v}\\"));
            prop_oneof![
                2 => one(comment),
                2 => one(commented),
                1 => one(Just(String::new())),
                1 => one(blank()),
                6 => one(assignment),
                1 => one(bare),
                2 => continued.boxed(),
                1 => one(dangling),
            ]
            .boxed()
        }

        /// New values for `set_property`: anything, escaping makes it safe.
        fn new_value() -> impl Strategy<Value = String> {
            new_text(0..6)
        }

        fn new_text(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
            prop::collection::vec(
                prop::sample::select(vec![
                    "a", "7", " ", "=", ":", "#", "!", "\\", "\t", "\n", "\r", "\u{c}", "é", "😀",
                ]),
                len,
            )
            .prop_map(|t| t.concat())
        }

        fn new_key() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "k0",
                "k1",
                "a.b",
                "http.socket.timeout",
                "k sp",
                "clé",
                "fresh",
                "with=sep",
                "#hash",
            ])
            .prop_map(str::to_string)
        }

        fn entries(p: &properties::Properties) -> Vec<(String, String)> {
            p.entries
                .iter()
                .map(|e| (e.key.clone(), e.value.clone()))
                .collect()
        }

        fn parse_ok(text: &str) -> Option<properties::Properties> {
            let (p, problems) = properties::parse(SourceFile::new(
                "t.properties".into(),
                "t.properties".into(),
                text.to_string(),
            ));
            problems.is_empty().then_some(p)
        }

        /// Line style is kept: same line ends (where the file had any), BOM, final newline.
        fn assert_style_kept(before: &str, after: &str) -> Result<(), TestCaseError> {
            assert_style_kept_but_end(before, after, false)
        }

        /// As [`assert_style_kept`]; with `end_edited` (the edit replaced bytes up to the end of
        /// a file without a final newline) the final newline is not compared: a value continued
        /// onto the last line takes that line with it when it becomes a one-line value.
        fn assert_style_kept_but_end(
            before: &str,
            after: &str,
            end_edited: bool,
        ) -> Result<(), TestCaseError> {
            let (b, a) = (style(before), style(after));
            // (A new value may replace a multi-line one that held the only line end.)
            if before.contains('\n') && after.contains('\n') {
                prop_assert_eq!(a.eol, b.eol);
            }
            prop_assert_eq!(a.bom, b.bom);
            if before.len() > content_start(before) && !end_edited {
                prop_assert_eq!(a.final_newline, b.final_newline);
            }
            Ok(())
        }

        /// Positions where a line may be inserted: every line start and the end.
        fn line_starts(text: &str) -> Vec<usize> {
            let mut v = vec![content_start(text)];
            v.extend(text.match_indices('\n').map(|(i, _)| i + 1));
            v.push(text.len());
            v
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn set_property_changes_only_that_value(
                spec in file(prop_item()),
                pick in any::<Index>(),
                fresh in any::<bool>(),
                key in new_key(),
                value in new_value(),
            ) {
                let text = spec.render();
                let Some(before) = parse_ok(&text) else {
                    return Err(TestCaseError::reject("the generated file has a problem"));
                };
                let key = match (fresh, before.entries.is_empty()) {
                    (false, false) => before.entries[pick.index(before.entries.len())].key.clone(),
                    _ => key,
                };
                let out = set_property(&before, &key, &value);
                let after = parse_ok(&out).expect("the edited file parses");
                prop_assert_eq!(after.get(&key).map(|e| e.value.as_str()), Some(value.as_str()));
                let end_edited = before.get(&key).is_some_and(|e| e.line_span.end == text.len());
                assert_style_kept_but_end(&text, &out, end_edited)?;

                let old = entries(&before);
                let new = entries(&after);
                match before.get(&key) {
                    Some(e) => {
                        let i = before.entries.iter().rposition(|x| x.key == key).unwrap();
                        let mut expected = old.clone();
                        expected[i].1 = value.clone();
                        prop_assert_eq!(new, expected);
                        let escaped = escape_property_value(&value);
                        let v = e.value_span;
                        if v.start < v.end {
                            let tail = &text[v.end..];
                            let end = v.end + tail.len() - tail.trim_start_matches([' ', '\t', '\u{c}']).len();
                            unchanged_outside(&text, &out, Span::new(v.start, end), &escaped);
                        } else {
                            // Empty value: at most the separator between key and line end is
                            // rewritten.
                            let span = Span::new(e.key_span.end, e.line_span.end);
                            let middle = &out[span.start..out.len() - (text.len() - span.end)];
                            prop_assert!(middle.ends_with(&escaped), "{middle:?}");
                            unchanged_outside(&text, &out, span, middle);
                        }
                    }
                    None => {
                        let i = new.iter().position(|x| x.0 == key).unwrap();
                        let mut rest = new.clone();
                        rest.remove(i);
                        prop_assert_eq!(rest, old);
                        // One line went in (after a blank one when a continuation was open),
                        // right after the commented-out line, else at the end.
                        let pos = match before.commented(&key) {
                            Some((_, n)) => before.file.line_start(n + 1).unwrap_or(text.len()),
                            None => text.len(),
                        };
                        prop_assert!(line_starts(&text).contains(&pos));
                        let added = out.len() - text.len();
                        prop_assert_eq!(&out[..pos], &text[..pos]);
                        prop_assert_eq!(&out[pos + added..], &text[pos..]);
                        let inserted = &out[pos..pos + added];
                        let eol = style(&text).eol;
                        let line = inserted.trim_matches(['\r', '\n']);
                        prop_assert!(!line.contains(['\r', '\n']), "{inserted:?}");
                        prop_assert!(
                            [
                                format!("{line}{eol}"),
                                format!("{eol}{line}"),
                                format!("{eol}{line}{eol}"),
                                format!("{eol}{eol}{line}"),
                            ]
                            .contains(&inserted.to_string()),
                            "{inserted:?}"
                        );
                        let alone = parse_ok(line).unwrap();
                        prop_assert_eq!(entries(&alone), vec![(key.clone(), value.clone())]);
                    }
                }
            }

            #[test]
            fn escaped_keys_and_values_load_back(
                // Not empty: an empty key before a blank separator reads the value as the key.
                key in new_text(1..6),
                value in new_value(),
                sep in prop_sep(),
            ) {
                let line = format!("{}{sep}{}", escape_property_key(&key), escape_property_value(&value));
                let p = parse_ok(&line).unwrap();
                // `Properties.load` skips a line that is blank, so an empty key and value
                // after a blank separator is no entry at all.
                if !line.trim_matches([' ', '\t', '\u{c}']).is_empty() {
                    prop_assert_eq!(entries(&p), vec![(key, value)]);
                }
            }

            #[test]
            fn comment_out_property(
                spec in file(prop_item()),
                pick in any::<Index>(),
                note in "[a-z :`.-]{0,20}",
            ) {
                let text = spec.render();
                let Some(before) = parse_ok(&text) else {
                    return Err(TestCaseError::reject("the generated file has a problem"));
                };
                prop_assume!(!before.entries.is_empty());
                let i = pick.index(before.entries.len());
                let e = &before.entries[i];
                let out = comment_out(&text, e.line_span, &note);
                let after = parse_ok(&out).expect("the edited file parses");
                let mut expected = entries(&before);
                expected.remove(i);
                prop_assert_eq!(entries(&after), expected);
                check_commented(&text, &out, e.line_span, &note)?;
            }

            #[test]
            fn insert_and_append_add_exactly_one_line(
                spec in file(prop_item()),
                after in 0usize..400,
                line in "[a-z=.][a-z=. ]{0,9}",
            ) {
                let text = spec.render();
                let eol = style(&text).eol;
                for (out, k) in [
                    (insert_after_line(&text, after, &line), line_index(&text, after) + 1),
                    (append_line(&text, &line), usize::MAX),
                ] {
                    assert_style_kept(&text, &out)?;
                    let b = split_keep(&text);
                    let a = split_keep(&out);
                    prop_assert_eq!(a.len(), b.len() + 1);
                    let k = k.min(b.len());
                    let lacked_final = b.last().is_some_and(|l| l.1.is_empty());
                    for (j, &(content, end)) in a.iter().enumerate() {
                        if j < k {
                            prop_assert_eq!(content, b[j].0);
                            // Only a last line without a line end gets one.
                            if b[j].1.is_empty() {
                                prop_assert_eq!(j + 1, b.len());
                                prop_assert_eq!(end, eol);
                            } else {
                                prop_assert_eq!(end, b[j].1);
                            }
                        } else if j == k {
                            prop_assert_eq!(content, line.as_str());
                            let last_without = j + 1 == a.len() && lacked_final;
                            prop_assert_eq!(end, if last_without { "" } else { eol });
                        } else {
                            prop_assert_eq!(a[j], b[j - 1]);
                        }
                    }
                }
            }
        }

        /// Lines as (content, line end), after the BOM; an empty text has none.
        fn split_keep(text: &str) -> Vec<(&str, &str)> {
            let mut out = Vec::new();
            let mut at = content_start(text);
            while at < text.len() {
                let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
                let line = &text[at..end];
                let body = line.trim_end_matches('\n');
                let body = body.strip_suffix('\r').unwrap_or(body);
                out.push((body, &line[body.len()..]));
                at = end;
            }
            out
        }

        /// Index (in [`split_keep`] terms) of the line containing byte `at`.
        fn line_index(text: &str, at: usize) -> usize {
            let at = at.min(text.len());
            text.as_bytes()[..at]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        }

        /// `out` is `text` with a note line above `line_span`'s line and `# ` after the
        /// indentation of each of its non-blank physical lines; nothing else differs.
        fn check_commented(
            text: &str,
            out: &str,
            line_span: Span,
            note: &str,
        ) -> Result<(), TestCaseError> {
            assert_style_kept(text, out)?;
            let start = line_start(text, line_span.start).max(content_start(text));
            let tail = &text[line_span.end..];
            prop_assert_eq!(&out[..start], &text[..start]);
            prop_assert!(out.ends_with(tail));
            let mut middle = &out[start..out.len() - tail.len()];
            let original = &text[start..line_span.end];
            let indent = &original[..leading_blank_len(original)];
            if !note.is_empty() {
                let note_line = format!("{indent}# {note}{}", style(text).eol);
                prop_assert!(middle.starts_with(&note_line), "{middle:?}");
                middle = &middle[note_line.len()..];
            }
            // Undo the `# ` insertions line by line.
            let mut restored = String::new();
            for piece in middle.split_inclusive(['\n', '\r']) {
                let blank = leading_blank_len(piece);
                let rest = &piece[blank..];
                if rest.is_empty() || rest.starts_with(['\r', '\n']) {
                    restored.push_str(piece);
                } else {
                    prop_assert!(rest.starts_with("# "), "{piece:?}");
                    restored.push_str(&piece[..blank]);
                    restored.push_str(&rest[2..]);
                }
            }
            prop_assert_eq!(restored, original);
            Ok(())
        }

        // --- sysctl ------------------------------------------------------------------------

        fn sysctl_key() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                "net.core.somaxconn",
                "vm.swappiness",
                "net/ipv4/tcp_fin_timeout",
                "kernel.pid_max",
                "net.ipv4.ip_local_port_range",
            ])
        }

        fn sysctl_item() -> BoxedStrategy<Vec<String>> {
            let comment = ("[#;]", "[ a-z=.]{0,10}").prop_map(|(m, t)| format!("{m}{t}"));
            let value = ("[0-9a-z]{0,4}", "( [0-9]{1,3})?", "( # note)?")
                .prop_map(|(a, b, c)| format!("{a}{b}{c}"));
            let assignment = (
                indent(),
                "-?",
                sysctl_key(),
                "[ \t]{0,2}",
                "[ \t]{0,2}",
                value,
                blank(),
            )
                .prop_map(|(i, d, k, w1, w2, v, t)| format!("{i}{d}{k}{w1}={w2}{v}{t}"));
            prop_oneof![
                2 => one(comment),
                1 => one(Just(String::new())),
                1 => one(blank()),
                6 => one(assignment),
            ]
            .boxed()
        }

        fn sysctl_value() -> impl Strategy<Value = String> {
            "[0-9a-z]([0-9a-z \t]{0,5}[0-9a-z])?"
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn sysctl_splice_changes_only_that_value(
                spec in file(sysctl_item()),
                pick in any::<Index>(),
                value in sysctl_value(),
            ) {
                let text = spec.render();
                let (_d, before) = sysctl_read(&text);
                prop_assume!(!before.entries.is_empty());
                let keys: Vec<&String> = before.entries.keys().collect();
                let key = keys[pick.index(keys.len())].clone();
                let w = before.get(&key).unwrap().winner.clone().unwrap();
                let out = splice(&text, w.value_span, &value);
                unchanged_outside(&text, &out, w.value_span, &value);
                assert_style_kept(&text, &out)?;
                let (_d2, after) = sysctl_read(&out);
                let expected: Vec<_> = sysctl_lines(&before)
                    .into_iter()
                    .map(|(n, k, v)| if n == w.line { (n, k, value.clone()) } else { (n, k, v) })
                    .collect();
                prop_assert_eq!(sysctl_lines(&after), expected);
                prop_assert_eq!(&after.get(&key).unwrap().winner.as_ref().unwrap().value, &value);
            }

            #[test]
            fn sysctl_appended_line_wins(
                spec in file(sysctl_item()),
                key in prop::sample::select(vec!["fs.file-max", "net.core.netdev_max_backlog", "vm.swappiness"]),
                value in sysctl_value(),
            ) {
                let text = spec.render();
                let (_d, before) = sysctl_read(&text);
                let out = append_line(&text, &sysctl_line(&text, key, &value));
                assert_style_kept(&text, &out)?;
                let (_d2, after) = sysctl_read(&out);
                let w = after.get(key).unwrap().winner.as_ref().unwrap();
                prop_assert_eq!(&w.value, &value);
                let last = split_keep(&out).len() as u32;
                prop_assert_eq!(w.line, last);
                let mut rest = sysctl_lines(&after);
                rest.retain(|(n, ..)| *n != last);
                prop_assert_eq!(rest, sysctl_lines(&before));
                prop_assert!(out.starts_with(&text));
            }

            #[test]
            fn sysctl_comment_out(
                spec in file(sysctl_item()),
                pick in any::<Index>(),
                note in "[a-z :`.-]{0,20}",
            ) {
                let text = spec.render();
                let (_d, before) = sysctl_read(&text);
                let lines = sysctl_lines(&before);
                prop_assume!(!lines.is_empty());
                let all: Vec<sysctl::SysctlLine> = before
                    .entries
                    .values()
                    .flat_map(|e| e.shadowed.iter().chain(e.winner.as_ref()).cloned())
                    .collect();
                let l = &all[pick.index(all.len())];
                let out = comment_out(&text, l.line_span, &note);
                check_commented(&text, &out, l.line_span, &note)?;
                let (_d2, after) = sysctl_read(&out);
                let shift = u32::from(!note.is_empty());
                let expected: Vec<_> = lines
                    .into_iter()
                    .filter(|(n, ..)| *n != l.line)
                    .map(|(n, k, v)| (if n > l.line { n + shift } else { n }, k, v))
                    .collect();
                prop_assert_eq!(sysctl_lines(&after), expected);
            }
        }

        // --- limits ------------------------------------------------------------------------

        fn limits_item() -> BoxedStrategy<Vec<String>> {
            let comment = ("#", "[ a-z*@0-9]{0,12}").prop_map(|(m, t)| format!("{m}{t}"));
            let line = (
                indent(),
                prop::sample::select(vec!["wso2", "*", "@apim", "root", "bob"]),
                "[ \t]{1,6}",
                prop::sample::select(vec!["soft", "hard", "-"]),
                "[ \t]{1,6}",
                prop::sample::select(vec!["nofile", "nproc", "memlock"]),
                "[ \t]{1,6}",
                prop_oneof![
                    "[0-9]{1,6}",
                    Just("unlimited".to_string()),
                    Just("-1".to_string())
                ],
                prop_oneof![
                    Just(String::new()),
                    Just(" # x".to_string()),
                    Just("\t#y z".to_string())
                ],
                blank(),
            )
                .prop_map(|(i, d, s1, t, s2, it, s3, v, c, b)| {
                    format!("{i}{d}{s1}{t}{s2}{it}{s3}{v}{c}{b}")
                });
            prop_oneof![
                2 => one(comment),
                1 => one(Just(String::new())),
                1 => one(blank()),
                6 => one(line),
            ]
            .boxed()
        }

        type LimitsRow = (u32, String, limits::LimitType, String, limits::LimitValue);

        fn limits_rows(l: &limits::Limits) -> Vec<LimitsRow> {
            l.lines
                .iter()
                .map(|x| (x.line, x.domain.clone(), x.kind, x.item.clone(), x.value))
                .collect()
        }

        fn limits_value() -> impl Strategy<Value = String> {
            prop_oneof!["[1-9][0-9]{0,6}", Just("unlimited".to_string())]
        }

        fn groups() -> Vec<String> {
            vec!["apim".to_string()]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn limits_splice_changes_only_the_winning_value(
                spec in file(limits_item()),
                pick in any::<Index>(),
                hard in any::<bool>(),
                value in limits_value(),
            ) {
                let text = spec.render();
                let (_d, before) = limits_read(&text);
                prop_assume!(!before.lines.is_empty());
                // A user some line applies to, so that a line wins for it.
                let picked = &before.lines[pick.index(before.lines.len())];
                let user = match picked.domain.as_str() {
                    "*" | "@apim" => "wso2",
                    d => d,
                };
                let item = picked.item.as_str();
                let hard = match picked.kind {
                    limits::LimitType::Soft => false,
                    limits::LimitType::Hard => true,
                    limits::LimitType::Both => hard,
                };
                let e = before.effective(user, &groups(), item);
                let line = if hard { e.hard } else { e.soft }.expect("a line applies");
                let out = splice(&text, line.value_span, &value);
                unchanged_outside(&text, &out, line.value_span, &value);
                assert_style_kept(&text, &out)?;
                let (_d2, after) = limits_read(&out);
                let new = limits::LimitValue::parse(&value).unwrap();
                let expected: Vec<_> = limits_rows(&before)
                    .into_iter()
                    .map(|mut r| {
                        if r.0 == line.line {
                            r.4 = new;
                        }
                        r
                    })
                    .collect();
                prop_assert_eq!(limits_rows(&after), expected);
                let e = after.effective(user, &groups(), item);
                let won = if hard { e.hard } else { e.soft }.unwrap();
                prop_assert_eq!((won.line, won.value), (line.line, new));
            }

            #[test]
            fn limits_appended_line_wins_for_the_user(
                spec in file(limits_item()),
                item in prop::sample::select(vec!["nofile", "nproc", "memlock"]),
                kind in prop::sample::select(vec!["soft", "hard", "-"]),
                value in limits_value(),
            ) {
                let text = spec.render();
                let (_d, before) = limits_read(&text);
                let new_line = limits_line(&text, "wso2", kind, item, &value);
                let out = append_line(&text, &new_line);
                assert_style_kept(&text, &out)?;
                let (_d2, after) = limits_read(&out);
                let last = split_keep(&out).len() as u32;
                let e = after.effective("wso2", &groups(), item);
                let new = limits::LimitValue::parse(&value).unwrap();
                for (sets, got) in [(kind != "hard", e.soft), (kind != "soft", e.hard)] {
                    if sets {
                        let got = got.unwrap();
                        prop_assert_eq!((got.line, got.value), (last, new));
                    }
                }
                let mut rest = limits_rows(&after);
                prop_assert_eq!(rest.pop().map(|r| r.0), Some(last));
                prop_assert_eq!(rest, limits_rows(&before));
            }

            #[test]
            fn limits_comment_out(
                spec in file(limits_item()),
                pick in any::<Index>(),
                note in "[a-z :`.-]{0,20}",
            ) {
                let text = spec.render();
                let (_d, before) = limits_read(&text);
                prop_assume!(!before.lines.is_empty());
                let l = &before.lines[pick.index(before.lines.len())];
                let out = comment_out(&text, l.line_span, &note);
                check_commented(&text, &out, l.line_span, &note)?;
                let (_d2, after) = limits_read(&out);
                let shift = u32::from(!note.is_empty());
                let expected: Vec<_> = limits_rows(&before)
                    .into_iter()
                    .filter(|r| r.0 != l.line)
                    .map(|mut r| {
                        if r.0 > l.line {
                            r.0 += shift;
                        }
                        r
                    })
                    .collect();
                prop_assert_eq!(limits_rows(&after), expected);
            }
        }
    }
}
