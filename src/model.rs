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

/// How a report names files to the person reading it.
///
/// Inside, a file is named relative to the root ([`display_path`]): the planner, waivers and
/// SARIF's `uriBaseId` rely on that. Without `--root` the root is `/` and that name lacks its
/// leading slash (`etc/sysctl.conf`, `work/x/bin/api-manager.sh`), which opens nothing from the
/// user's directory. So renderers show names through this presenter, which the report carries:
/// relative to the current directory when under it, else absolute; relative to `--root` (as
/// stored) only when one was given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShownPaths {
    /// `None`: names are shown as stored (a `--root` was given, or a report of a deployment).
    live: Option<LiveRoot>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct LiveRoot {
    /// The current directory, when it is not `/` (relative to `/` reads as the bug did).
    cwd: Option<PathBuf>,
    /// First components that mark a root-relative name: the usual top-level directories and
    /// the API-M home's. A name starting otherwise (a waivers file named as given, an embedded
    /// profile `profiles/base.toml`, a path inside the home such as `bin/…`) is left alone.
    tops: Vec<String>,
    /// Files named as the user gave them (`--waivers etc/w.toml` from a checkout): relative to
    /// the current directory already, whatever their first component.
    given: Vec<String>,
}

/// Top-level directories of a Linux root whose files an audit reads or names. Not `bin` or
/// `lib`: messages name paths inside the API-M home (`bin/api-manager.sh`) that would read as
/// root-relative.
const ROOT_TOPS: [&str; 15] = [
    "etc", "proc", "sys", "run", "usr", "var", "opt", "home", "srv", "tmp", "boot", "mnt", "media",
    "root", "dev",
];

impl ShownPaths {
    /// Names as stored: relative to the given `--root`.
    pub const fn as_stored() -> ShownPaths {
        ShownPaths { live: None }
    }

    /// The presenter for an audit of `root`, run from `cwd`, of a home whose stored name is
    /// `home` (root-relative). Only a root of `/` (no `--root`) changes how names are shown.
    pub fn for_root(root: &Path, cwd: Option<&Path>, home: Option<&str>) -> ShownPaths {
        if root != Path::new("/") {
            return ShownPaths::as_stored();
        }
        let mut tops: Vec<String> = ROOT_TOPS.iter().map(|t| t.to_string()).collect();
        if let Some(first) = home
            .filter(|h| !h.starts_with('/'))
            .and_then(|h| h.split('/').next())
            .filter(|f| !f.is_empty() && !tops.iter().any(|t| t == f))
        {
            tops.push(first.to_string());
        }
        ShownPaths {
            live: Some(LiveRoot {
                cwd: cwd
                    .filter(|c| c.is_absolute() && *c != Path::new("/"))
                    .map(Path::to_path_buf),
                tops,
                given: Vec::new(),
            }),
        }
    }

    /// Names the user gave on the command line, shown as given.
    pub fn given(mut self, names: impl IntoIterator<Item = String>) -> ShownPaths {
        if let Some(live) = &mut self.live {
            live.given.extend(names);
        }
        self
    }

    /// Whether the stored names are relative to `/` (no `--root`): then they can be resolved
    /// without knowing where the audit ran, as SARIF's `file:///` base says.
    pub fn root_is_slash(&self) -> bool {
        self.live.is_some()
    }

    fn is_root_relative(live: &LiveRoot, name: &str) -> bool {
        let first = name.split('/').next().unwrap_or("");
        name.contains('/')
            && live.tops.iter().any(|t| t == first)
            && !live.given.iter().any(|g| g == name)
    }

    /// A stored file name as the user can open it.
    pub fn file<'a>(&self, name: &'a str) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        let Some(live) = &self.live else {
            return Cow::Borrowed(name);
        };
        if !Self::is_root_relative(live, name) {
            return Cow::Borrowed(name);
        }
        let absolute = Path::new("/").join(name);
        if let Some(rel) = live
            .cwd
            .as_deref()
            .and_then(|c| absolute.strip_prefix(c).ok())
        {
            if rel.as_os_str().is_empty() {
                return Cow::Borrowed(".");
            }
            return Cow::Owned(rel.to_string_lossy().into_owned());
        }
        Cow::Owned(absolute.to_string_lossy().into_owned())
    }

    /// An absolute path (the API-M home) as [`ShownPaths::file`] shows its root-relative name.
    pub fn absolute<'a>(&self, path: &'a str) -> std::borrow::Cow<'a, str> {
        match (&self.live, path.strip_prefix('/')) {
            (Some(_), Some(name)) => match self.file(name) {
                std::borrow::Cow::Borrowed(_) => std::borrow::Cow::Borrowed(path),
                shown => std::borrow::Cow::Owned(shown.into_owned()),
            },
            _ => std::borrow::Cow::Borrowed(path),
        }
    }

    /// `file:line:col` with the file as [`ShownPaths::file`] shows it.
    pub fn location(&self, l: &Location) -> String {
        let mut shown = l.clone();
        shown.file = self.file(&l.file).into_owned();
        shown.to_string()
    }

    /// Free text (a message, a note) with each root-relative file name in it shown as
    /// [`ShownPaths::file`] shows it. A name starts at a word boundary (not after `/`, so an
    /// absolute `/etc/sysctl.conf` stays) and ends at white space, a quote, a bracket or a
    /// comma; a trailing `:line:col` or full stop is not part of it.
    pub fn text<'a>(&self, s: &'a str) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        let Some(live) = &self.live else {
            return Cow::Borrowed(s);
        };
        let mut out = String::new();
        let mut copied = 0;
        let mut prev: Option<char> = None;
        for (i, c) in s.char_indices() {
            let boundary = prev.is_none_or(|p| {
                !(p.is_alphanumeric() || matches!(p, '/' | '.' | '_' | '-' | '~' | '$'))
            });
            prev = Some(c);
            if !boundary || i < copied || !c.is_alphanumeric() {
                continue;
            }
            let rest = &s[i..];
            let len = rest
                .find(|ch: char| ch.is_whitespace() || "`'\"()[]{},;<>".contains(ch))
                .unwrap_or(rest.len());
            let name = trim_position(&rest[..len]);
            if !Self::is_root_relative(live, name) {
                continue;
            }
            out.push_str(&s[copied..i]);
            out.push_str(&self.file(name));
            copied = i + name.len();
        }
        if copied == 0 {
            return Cow::Borrowed(s);
        }
        out.push_str(&s[copied..]);
        Cow::Owned(out)
    }
}

/// `etc/x.conf:3:7.` → `etc/x.conf`: a position or a full stop after a name is not part of it.
fn trim_position(token: &str) -> &str {
    let mut t = token.trim_end_matches(['.', ':']);
    for _ in 0..2 {
        match t.rsplit_once(':') {
            Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => {
                t = head
            }
            _ => break,
        }
    }
    t
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

    #[test]
    fn names_are_shown_as_the_user_can_open_them() {
        let cwd = Path::new("/work/repo");
        let live = ShownPaths::for_root(Path::new("/"), Some(cwd), Some("work/repo/apim"));
        // Under the current directory: relative to it.
        assert_eq!(
            live.file("work/repo/apim/bin/api-manager.sh"),
            "apim/bin/api-manager.sh"
        );
        assert_eq!(live.file("work/repo"), ".");
        assert_eq!(live.absolute("/work/repo/apim"), "apim");
        assert_eq!(live.absolute("/srv/apim"), "/srv/apim");
        // Elsewhere: absolute.
        assert_eq!(live.file("etc/sysctl.conf"), "/etc/sysctl.conf");
        assert_eq!(live.file("work/other/x.toml"), "/work/other/x.toml");
        // Not a root-relative name: a waivers file as given, an embedded profile, absolute.
        assert_eq!(
            live.file("apim-tune-waivers.toml"),
            "apim-tune-waivers.toml"
        );
        assert_eq!(live.file("profiles/base.toml"), "profiles/base.toml");
        assert_eq!(live.file("/opt/x"), "/opt/x");
        // From `/` itself, absolute: a name relative to `/` is what the bug printed.
        let at_root = ShownPaths::for_root(Path::new("/"), Some(Path::new("/")), None);
        assert_eq!(at_root.file("etc/sysctl.conf"), "/etc/sysctl.conf");
        // A file the user named from the current directory, as given.
        let given = live.clone().given(["etc/waivers.toml".to_string()]);
        assert_eq!(given.file("etc/waivers.toml"), "etc/waivers.toml");
        assert_eq!(
            given.text("unused (etc/waivers.toml:3:1)"),
            "unused (etc/waivers.toml:3:1)"
        );
        assert_eq!(given.file("etc/sysctl.conf"), "/etc/sysctl.conf");
        // With a --root, as stored.
        let given = ShownPaths::for_root(Path::new("/mnt/img"), Some(cwd), None);
        assert_eq!(given.file("etc/sysctl.conf"), "etc/sysctl.conf");
        assert_eq!(given.text("see etc/sysctl.conf:3"), "see etc/sysctl.conf:3");
    }

    #[test]
    fn names_in_text_are_shown_and_the_rest_is_kept() {
        let live = ShownPaths::for_root(
            Path::new("/"),
            Some(Path::new("/work/repo")),
            Some("work/repo/apim"),
        );
        assert_eq!(
            live.text(
                "cache enabled at work/repo/apim/conf/deployment.toml:45:10, and `proc/sys/vm/x`."
            ),
            "cache enabled at apim/conf/deployment.toml:45:10, and `/proc/sys/vm/x`."
        );
        // Absolute names, home-relative names, URLs and words stay as they are.
        for kept in [
            "applies /etc/sysctl.conf last",
            "edit bin/api-manager.sh",
            "see https://example.org/etc/x",
            "set etc to 3",
            "the 3933 MiB from proc/meminfo",
        ] {
            let expected = kept.replace("proc/meminfo", "/proc/meminfo");
            assert_eq!(live.text(kept), expected);
        }
        assert_eq!(
            live.text("(etc/sysctl.d/99-x.conf)"),
            "(/etc/sysctl.d/99-x.conf)"
        );
    }
}
