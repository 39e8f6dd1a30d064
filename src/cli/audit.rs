//! `apim-tune audit`: run the audit, render it, map the result to an exit code.

use super::args::{AuditArgs, ColorChoice, FailOn, Format, OutputSpec, TargetArgs};
use crate::audit::{AuditOptions, run as run_audit, run_with_sources};
use crate::diag::Severity;
use crate::exit_code;
use crate::host::detect::Overrides;
use crate::outcome::AuditReport;
use crate::report;
use crate::report::{RenderOptions, Renderable};
use anyhow::Context;
use std::io::{IsTerminal, Write};

pub fn run(a: &AuditArgs) -> anyhow::Result<u8> {
    set_color(a.color);
    let opts = options(a);
    if a.diff || a.apply {
        return super::changes::diff_or_apply(a, &opts);
    }
    let needs_diff =
        a.format == Format::Markdown || a.output.iter().any(|o| o.format == Format::Markdown);
    let (report, diff) = if needs_diff {
        // The Markdown report carries the diff of what --apply would change.
        let (report, sources) = run_with_sources(&opts)?;
        let today = crate::clock::today();
        let planned = crate::edit::plan::plan(
            &report,
            &sources,
            &crate::edit::plan::PlanContext {
                root: &opts.root,
                today: &today,
            },
        );
        let diff = crate::edit::diff::unified(&planned);
        (report, Some(diff))
    } else {
        (run_audit(&opts)?, None)
    };
    let ro = RenderOptions {
        fail_on: threshold(a.fail_on),
        diff: diff.as_deref(),
    };
    write_reports(&a.output, a.format, |f| render(f, &report, &ro))?;
    Ok(exit_for(&report, a.fail_on))
}

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
        Format::Text => report::text::render(report),
        Format::Json => report::json::render(report),
        Format::Sarif => report::sarif::render(report, ro),
        Format::Junit => report::junit::render(report, ro),
        Format::Markdown => report::markdown::render(report, ro),
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

/// A path made absolute and free of links when it exists, so every path the audit prints
/// relates to `--root` the same way however the two were spelled.
pub(super) fn canonical(p: &std::path::Path) -> std::path::PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

pub(super) fn options(a: &AuditArgs) -> AuditOptions {
    AuditOptions {
        waivers: a.waivers.clone().or_else(|| {
            let default = std::path::PathBuf::from(crate::waivers::DEFAULT_FILE);
            default.is_file().then_some(default)
        }),
        baseline: a.baseline.clone(),
        ..target_options(&a.target)
    }
}

/// The audit options of the host, home and profile flags (no waivers, no baseline).
pub(super) fn target_options(a: &TargetArgs) -> AuditOptions {
    AuditOptions {
        root: canonical(&a.root),
        apim_home: a.apim_home.as_deref().map(canonical),
        apim_version: a.apim_version,
        role: a.role.clone(),
        profile_file: a.profile.clone(),
        overrides: Overrides {
            cores: a.cores,
            memory_mb: a.memory,
            nat: Some(a.nat.into()),
            java_version: a.java_version,
            java_home: a.java_home.clone(),
        },
        user: a.user.clone(),
        waivers: None,
        baseline: None,
    }
}

pub(super) fn print_report(format: Format, report: &AuditReport) -> anyhow::Result<()> {
    let text = render(format, report, &RenderOptions::default());
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
