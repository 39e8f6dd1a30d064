//! What `--apply` does about a finding, in words: one wording for the text and the HTML
//! report, each quoting values and naming files its own way.

use crate::diag::{Fix, FixShape};

/// "set `4096m`", "add `k` = `v` to F and comment out this line", …, for a fix `--apply`
/// applies. `quote` marks a key or value up; `file` names a file as the reader can open it.
pub fn action(fix: &Fix, quote: &dyn Fn(&str) -> String, file: &dyn Fn(&str) -> String) -> String {
    let more = |n: usize| match n {
        0 => String::new(),
        1 => " and the earlier line of the same key".into(),
        n => format!(" and the {n} earlier lines of the same key"),
    };
    match fix.shape() {
        FixShape::Replace { value: "", .. } => "remove the option".to_string(),
        FixShape::Replace { value, .. } => format!("set {}", quote(value)),
        FixShape::Insert {
            file: f,
            key,
            value,
        } => {
            format!("add {} = {} to {}", quote(&key), quote(value), file(f))
        }
        FixShape::RemoveLine { also, .. } => format!("comment out the line{}", more(also.len())),
        FixShape::Move {
            file: f,
            key,
            value,
            also,
            ..
        } => format!(
            "add {} = {} to {} and comment out this line{}",
            quote(&key),
            quote(value),
            file(f),
            more(also.len())
        ),
    }
}
