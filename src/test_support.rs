//! Helpers for the unit tests only.

mod skip;

pub use skip::shared;

use std::path::{Path, PathBuf};

/// Every file under `dir` whose name ends in `.ext`, sorted: the corpus tests' walk over
/// `shared/fixtures/wso2`.
pub fn corpus_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.retain(|p| p.extension().is_some_and(|e| e == ext));
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The changed region of `before` (start, end) and what replaced it, by common prefix and
/// suffix: what an editor's output must be, for "only the value changed" assertions.
pub fn changed_region<'a>(before: &str, after: &'a str) -> (usize, usize, &'a str) {
    let p = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let max_s = before.len().min(after.len()) - p;
    let s = before
        .bytes()
        .rev()
        .zip(after.bytes().rev())
        .take(max_s)
        .take_while(|(a, b)| a == b)
        .count();
    (p, before.len() - s, &after[p..after.len() - s])
}
