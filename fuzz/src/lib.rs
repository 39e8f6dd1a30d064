//! Shared checks for the fuzz targets in `fuzz_targets/`.
//!
//! The targets assert properties, not only "no panic": every span a reader hands out lies in
//! its file on character boundaries, and an edit leaves every byte outside its span as it was.
//! A failed check panics, which libFuzzer records as a crash with the input that caused it.

use apim_tune::model::{SourceFile, Span};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A source file named like the one the real reader would open.
pub fn source(display: &str, text: &str) -> Arc<SourceFile> {
    SourceFile::new(
        PathBuf::from(display),
        display.to_string(),
        text.to_string(),
    )
}

/// The span is inside `text` and cuts it on character boundaries, so slicing cannot panic.
pub fn check_span(text: &str, span: Span, what: &str) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{what}: span {span:?} outside a text of {} bytes",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what}: span {span:?} cuts a character"
    );
}

/// `inner` lies within `outer`.
pub fn check_within(inner: Span, outer: Span, what: &str) {
    assert!(
        outer.start <= inner.start && inner.end <= outer.end,
        "{what}: {inner:?} is not within {outer:?}"
    );
}

/// The bytes of `before` that `after` changed: `before[start..end]` was replaced. Computed as the
/// longest common prefix and then the longest common suffix of what is left.
pub fn changed_region(before: &str, after: &str) -> Span {
    let (b, a) = (before.as_bytes(), after.as_bytes());
    let prefix = b.iter().zip(a).take_while(|(x, y)| x == y).count();
    let max_suffix = b.len().min(a.len()) - prefix;
    let suffix = b
        .iter()
        .rev()
        .zip(a.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    Span::new(prefix, b.len() - suffix)
}

/// An edit meant to touch only `span` of `before` left every other byte as it was.
pub fn check_edit_within(before: &str, after: &str, span: Span, what: &str) {
    let changed = changed_region(before, after);
    if changed.start == changed.end && before.len() == after.len() {
        return; // nothing changed
    }
    // An insertion at `span.start` (an empty span) or one that shares bytes with its
    // surroundings (`"a"` inserted before `"a"`) may show up as a region next to the span: the
    // check is that `before` outside the span survives at both ends of `after`.
    assert!(
        after
            .as_bytes()
            .starts_with(&before.as_bytes()[..span.start])
            && after.as_bytes().ends_with(&before.as_bytes()[span.end..])
            && after.len() >= span.start + (before.len() - span.end),
        "{what}: the edit changed bytes outside {span:?} (changed region {changed:?})"
    );
}

/// An edit that only inserts: `after` is `before` with one run of bytes added somewhere.
pub fn check_pure_insertion(before: &str, after: &str, what: &str) {
    let changed = changed_region(before, after);
    assert!(
        changed.start == changed.end,
        "{what}: an insertion also changed bytes {changed:?} of the original"
    );
}

/// A root directory reused by every run of one target process (libFuzzer runs inputs one after
/// another in one process), for the readers that find their files under `--root`.
pub fn root() -> &'static Path {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| tempfile::tempdir().expect("a temp dir for the fuzz root"))
        .path()
}

/// Writes `bytes` to `rel` under [`root`], creating its directory.
pub fn write(rel: &str, bytes: &[u8]) {
    let path = root().join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the fuzz root's directories");
    }
    std::fs::write(&path, bytes).expect("write a fuzz input under the root");
}

/// Splits fuzz input into a few parameter bytes and the text after them (lossily decoded: the
/// readers take text; invalid UTF-8 is the source layer's job and is tested there).
pub fn split(data: &[u8], n: usize) -> (Vec<u8>, String) {
    let n = n.min(data.len());
    let params = data[..n].to_vec();
    (params, String::from_utf8_lossy(&data[n..]).into_owned())
}
