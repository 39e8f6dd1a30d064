//! Renderers: turn an audit report (of a host, of a database, or of a deployment of many nodes)
//! into text, JSON, SARIF, JUnit, Markdown or HTML. They never judge or read files.

#[cfg(test)]
pub(crate) mod db_sample;
mod figures;
mod fix_words;
pub mod fleet;
pub mod host;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
mod renderable;
pub mod sanitize;
pub mod sarif;
pub mod text;
pub mod validate;

use crate::diag::Severity;

pub use fleet::FleetFormat;
pub use renderable::{Context, Renderable};

/// "1 error", "2 errors": a count with its noun in the right number ("in 1 batches" and
/// "2 error(s)" read as a prototype's).
pub(crate) fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What a renderer needs besides the report itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct RenderOptions<'a> {
    /// `--fail-on`: findings at or above it (and not waived) are failures; `None` = never.
    pub fail_on: Option<Severity>,
    /// The unified diff of the fixable changes (already secret-masked), when computed.
    pub diff: Option<&'a str>,
    /// `--concise`: the text report as one line per finding.
    pub concise: bool,
}

/// A `fleet merge` report in one format: what `cli` calls, with the format mapped from its
/// `--format` (report/ cannot import cli).
pub fn fleet_render(
    kind: FleetFormat,
    report: &crate::outcome::FleetReport,
    o: &RenderOptions,
) -> String {
    match kind {
        FleetFormat::Text if o.concise => text::concise(report),
        FleetFormat::Text => text::render(report),
        FleetFormat::Json => json::render(report),
        FleetFormat::Sarif => sarif::render(report, o),
        FleetFormat::Junit => junit::render(report, o),
        FleetFormat::Markdown => markdown::render(report, o),
        FleetFormat::Html => html::render(report, o),
    }
}

/// [`fleet_render`] written to `w`. JSON is streamed from borrowed parts: a thousand nodes'
/// report is about the size of their exports, and building it as one string first would hold
/// it twice.
pub fn fleet_write(
    kind: FleetFormat,
    report: &crate::outcome::FleetReport,
    o: &RenderOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match kind {
        FleetFormat::Json => json::write_fleet(report, w),
        other => w.write_all(fleet_render(other, report, o).as_bytes()),
    }
}
