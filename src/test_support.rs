//! Helpers for the unit tests only.

mod skip;

pub use skip::shared;

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
