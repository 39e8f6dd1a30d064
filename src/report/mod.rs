//! Renderers: turn an audit report (of a host or of a database) into text, JSON, SARIF, JUnit or
//! Markdown. They never judge or read files.

#[cfg(test)]
pub(crate) mod db_sample;
mod figures;
pub mod host;
pub mod json;
pub mod junit;
pub mod markdown;
mod renderable;
pub mod sanitize;
pub mod sarif;
pub mod text;
pub mod validate;

use crate::diag::Severity;

pub use renderable::{Context, Renderable};

/// What a renderer needs besides the report itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct RenderOptions<'a> {
    /// `--fail-on`: findings at or above it (and not waived) are failures; `None` = never.
    pub fail_on: Option<Severity>,
    /// The unified diff of the fixable changes (already secret-masked), when computed.
    pub diff: Option<&'a str>,
}
