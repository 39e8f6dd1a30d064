//! Changing files: plan the fixes of an audit onto the files where they take effect, render
//! them as a unified diff, and write them atomically with backups (and undo them).
//!
//! Consumes findings and the sources the audit read; never judges. `plan` decides *where*,
//! the per-format editors (`line`, `xml`, `toml`, `jvm`) decide the bytes, `write` makes it
//! durable and reversible.

pub mod diff;
pub mod jvm;
pub mod line;
pub mod plan;
pub mod toml;
pub mod write;
pub mod xml;

/// One byte-span replacement (an insertion when the span is empty): how the XML and TOML
/// editors build their result. Unlike `line::splice`, a span outside the text is an error.
pub(crate) struct Edit {
    pub(crate) span: crate::model::Span,
    pub(crate) with: String,
}

impl Edit {
    pub(crate) fn replace(span: crate::model::Span, with: String) -> Edit {
        Edit { span, with }
    }

    pub(crate) fn insert(at: usize, with: String) -> Edit {
        Edit {
            span: crate::model::Span::new(at, at),
            with,
        }
    }

    pub(crate) fn apply(&self, text: &str) -> Result<String, String> {
        let (Some(head), Some(tail)) = (text.get(..self.span.start), text.get(self.span.end..))
        else {
            return Err("internal error: edit position outside the file".into());
        };
        Ok(format!("{head}{}{tail}", self.with))
    }
}

/// What it takes for a change to be in effect: decided by the rule that wrote the fix.
pub use crate::diag::Effect;

pub use crate::clock::{timestamp, today};

// Line geometry the editors share. The BOM itself is `model`'s: readers skip it too.

/// The start of the line holding `pos` (after a leading BOM on the first line).
fn line_start(text: &str, pos: usize) -> usize {
    let start = text
        .get(..pos)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1);
    // A BOM is not indentation.
    start.max(crate::model::content_start(text))
}

/// The spaces and tabs that start the line holding `pos`.
fn leading_ws(text: &str, pos: usize) -> &str {
    let start = line_start(text, pos);
    let line = text.get(start..pos).unwrap_or("");
    let len = line.len() - line.trim_start_matches([' ', '\t']).len();
    line.get(..len).unwrap_or("")
}

/// `\r\n` when most lines end that way, else `\n`: the line end a new line gets where no
/// neighbouring line decides it.
fn usual_eol(text: &str) -> &'static str {
    let crlf = text.matches("\r\n").count();
    if crlf * 2 > text.matches('\n').count() {
        "\r\n"
    } else {
        "\n"
    }
}
