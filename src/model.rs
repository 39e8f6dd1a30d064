//! Shared source model: files read from the host or the API-M home, byte spans and locations.
//!
//! Readers in `host/` and `apim/` produce these; nothing here knows about rules or output.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A half-open byte range `[start, end)` into a [`SourceFile`]'s text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
}

/// A file as it was read, with a line index so any byte offset maps to line and column.
#[derive(Debug)]
pub struct SourceFile {
    /// The path that was opened (after resolving symlinks inside the root).
    pub path: PathBuf,
    /// How the file is named in findings: relative to `--root` when under it, else absolute.
    pub display: String,
    pub text: String,
    /// Byte offset of each line's start, built on the first lookup: most files read (every
    /// unit file a host has, the mapper's JSON) are never asked for a line.
    line_starts: OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(path: PathBuf, display: String, text: String) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path,
            display,
            text,
            line_starts: OnceLock::new(),
        })
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(self.text.match_indices('\n').map(|(i, _)| i + 1));
            starts
        })
    }

    /// 1-based line and 1-based column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let line_starts = self.line_starts();
        let line_idx = match line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let line_start = line_starts[line_idx];
        let col = self
            .text
            .get(line_start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - line_start);
        (line_idx as u32 + 1, col as u32 + 1)
    }

    /// Byte offset where 1-based `line` starts, if the file has that line.
    pub fn line_start(&self, line: u32) -> Option<usize> {
        self.line_starts()
            .get((line as usize).checked_sub(1)?)
            .copied()
    }

    pub fn location(&self, span: Span) -> Location {
        let (line, column) = self.line_col(span.start);
        Location {
            file: self.display.clone(),
            line: Some(line),
            column: Some(column),
            span: Some(span),
        }
    }

    /// A location naming the whole file (no line), e.g. for a setting that is absent.
    pub fn whole(&self) -> Location {
        Location::file_only(&self.display)
    }

    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }
}

/// Where a value was read: file (display form), line, column and byte span when known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub span: Option<Span>,
}

impl Location {
    pub fn file_only(display: &str) -> Location {
        Location {
            file: display.to_string(),
            line: None,
            column: None,
            span: None,
        }
    }

    pub fn at(display: &str, line: u32, column: u32) -> Location {
        Location {
            file: display.to_string(),
            line: Some(line),
            column: Some(column),
            span: None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// A file that could not be read or parsed. Becomes an `SRC…` finding; the audit goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceProblem {
    pub kind: ProblemKind,
    pub location: Location,
    /// Lowercase fragment, e.g. "expected `=` after key".
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The file exists but could not be read (permissions, not UTF-8, a directory, a dangling link).
    Unreadable,
    /// The file was read but its syntax is wrong.
    Unparseable,
}

impl SourceProblem {
    pub fn unreadable(display: &str, message: impl Into<String>) -> Self {
        SourceProblem {
            kind: ProblemKind::Unreadable,
            location: Location::file_only(display),
            message: message.into(),
        }
    }

    pub fn unparseable(location: Location, message: impl Into<String>) -> Self {
        SourceProblem {
            kind: ProblemKind::Unparseable,
            location,
            message: message.into(),
        }
    }
}

/// Problems kept per file by a line parser: a file of a million broken lines is one finding per
/// broken line up to here, then one that counts the rest, so memory and output stay small.
pub const MAX_PROBLEMS_PER_FILE: usize = 20;

/// Where a line parser puts the problems of one file: the first [`MAX_PROBLEMS_PER_FILE`] as
/// they are, then, when the sink is dropped, one more that counts the others.
pub struct CappedProblems<'a> {
    out: &'a mut Vec<SourceProblem>,
    kept: usize,
    dropped: usize,
    first_dropped: Option<Location>,
}

impl<'a> CappedProblems<'a> {
    pub fn new(out: &'a mut Vec<SourceProblem>) -> Self {
        CappedProblems {
            out,
            kept: 0,
            dropped: 0,
            first_dropped: None,
        }
    }

    pub fn push(&mut self, p: SourceProblem) {
        if self.kept < MAX_PROBLEMS_PER_FILE {
            self.kept += 1;
            self.out.push(p);
        } else {
            self.dropped += 1;
            self.first_dropped.get_or_insert(p.location);
        }
    }
}

/// Where a parser puts problems: a plain list, or a [`CappedProblems`] sink.
pub trait ProblemSink {
    fn push(&mut self, p: SourceProblem);
}

impl ProblemSink for Vec<SourceProblem> {
    fn push(&mut self, p: SourceProblem) {
        Vec::push(self, p);
    }
}

impl ProblemSink for CappedProblems<'_> {
    fn push(&mut self, p: SourceProblem) {
        CappedProblems::push(self, p);
    }
}

impl Drop for CappedProblems<'_> {
    fn drop(&mut self) {
        if let Some(at) = self.first_dropped.take() {
            self.out.push(SourceProblem::unparseable(
                at,
                format!(
                    "this and {} more lines after it cannot be read either (only the first {MAX_PROBLEMS_PER_FILE} problems of a file are listed one by one)",
                    self.dropped - 1
                ),
            ));
        }
    }
}

/// A UTF-8 byte order mark. Readers skip it and editors keep it; it belongs to no line and is
/// never indentation.
pub const BOM: &str = "\u{feff}";

/// Where the content of `text` starts: after a leading BOM.
pub fn content_start(text: &str) -> usize {
    if text.starts_with(BOM) { BOM.len() } else { 0 }
}

/// Lines of `text` as (1-based number, start, end), the terminator (`\n`, `\r\n`) excluded and
/// the first line starting after a BOM: the line walk every line-based reader shares.
pub fn line_ranges(text: &str) -> impl Iterator<Item = (u32, usize, usize)> + '_ {
    let mut start = content_start(text);
    let mut number = 0u32;
    std::iter::from_fn(move || {
        if start >= text.len() {
            return None;
        }
        let rest = &text[start..];
        let (len, next) = match rest.find('\n') {
            Some(i) => (i, start + i + 1),
            None => (rest.len(), text.len()),
        };
        let body = rest[..len].strip_suffix('\r').unwrap_or(&rest[..len]);
        let item = (number + 1, start, start + body.len());
        number += 1;
        start = next;
        Some(item)
    })
}

/// How to name `path` in findings: relative to `root` when under it, else as given.
pub fn display_path(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) if root != Path::new("") => rel.to_string_lossy().into_owned(),
        _ => path.to_string_lossy().into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_maps_offsets() {
        let f = SourceFile::new("x".into(), "x".into(), "ab\ncdé\nf".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(7), (2, 4)); // after the two-byte é
        assert_eq!(f.line_col(8), (3, 1));
        assert_eq!(f.line_start(3), Some(8));
        assert_eq!(f.line_start(4), None);
    }

    #[test]
    fn the_line_walk_starts_after_a_bom_and_drops_line_ends() {
        let lines: Vec<_> = line_ranges("\u{feff}a\r\nbc\n\nd").collect();
        assert_eq!(lines, [(1, 3, 4), (2, 6, 8), (3, 9, 9), (4, 10, 11)]);
        assert_eq!(line_ranges("\u{feff}").count(), 0);
        assert_eq!(content_start("\u{feff}x"), 3);
        assert_eq!(content_start("x\u{feff}"), 0);
    }

    #[test]
    fn display_is_relative_under_root() {
        assert_eq!(
            display_path(Path::new("/tmp/r"), Path::new("/tmp/r/etc/sysctl.conf")),
            "etc/sysctl.conf"
        );
        assert_eq!(
            display_path(Path::new("/tmp/r"), Path::new("/opt/x")),
            "/opt/x"
        );
    }
}
