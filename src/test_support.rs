//! Helpers for the unit tests only.

use std::path::PathBuf;

/// `shared/<rel>`: the read-only folder beside the crate (`../shared`, where CI puts it), else
/// `/work/shared`; `None` when neither has it, and the caller says it skipped.
pub fn shared(rel: &str) -> Option<PathBuf> {
    [
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared")
            .join(rel),
        PathBuf::from("/work/shared").join(rel),
    ]
    .into_iter()
    .find(|p| p.exists())
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
