//! Writing reports (`--format`, `--output`), the exit code a report gives, and colour.

use super::args::{ColorChoice, FailOn, Format, OutputSpec};
use crate::diag::Severity;
use crate::exit_code;
use crate::outcome::AuditReport;
use crate::report;
use crate::report::{RenderOptions, Renderable};
use anyhow::Context;
use std::io::{IsTerminal, Write};

/// Writes each `--output FORMAT=FILE`, then the `--format` report to stdout.
pub(super) fn write_reports(
    outputs: &[OutputSpec],
    format: Format,
    render: impl Fn(Format) -> String,
) -> anyhow::Result<()> {
    for o in outputs {
        std::fs::write(&o.path, render(o.format))
            .with_context(|| format!("cannot write `{}`", o.path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    out.write_all(render(format).as_bytes())?;
    out.flush()?;
    Ok(())
}

pub(super) fn render(format: Format, report: &AuditReport, ro: &RenderOptions) -> String {
    match format {
        Format::Text if ro.concise => report::text::concise(report),
        Format::Text => report::text::render(report),
        Format::Json => report::json::render(report),
        Format::Sarif => report::sarif::render(report, ro),
        Format::Junit => report::junit::render(report, ro),
        Format::Markdown => report::markdown::render(report, ro),
        Format::Html => report::html::render(report, ro),
    }
}

pub(super) fn threshold(fail_on: FailOn) -> Option<Severity> {
    match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    }
}

pub(super) fn print_report(
    format: Format,
    concise: bool,
    report: &AuditReport,
) -> anyhow::Result<()> {
    let ro = RenderOptions {
        concise,
        ..RenderOptions::default()
    };
    let text = render(format, report, &ro);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

pub(super) fn exit_for(report: &dyn Renderable, fail_on: FailOn) -> u8 {
    if report.fails(threshold(fail_on)) {
        exit_code::FINDINGS
    } else {
        exit_code::OK
    }
}

/// `auto` colours only a terminal, and a non-empty NO_COLOR wins (https://no-color.org).
pub(super) fn set_color(choice: ColorChoice) {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    };
    colored::control::set_override(on);
}
