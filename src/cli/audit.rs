//! `apim-tune audit`: run the audit, render it, map the result to an exit code.

use super::args::{AuditArgs, ColorChoice, FailOn, Format, NatChoice};
use crate::audit::{AuditOptions, AuditReport, run as run_audit};
use crate::exit_code;
use crate::finding::Severity;
use crate::host::detect::{NatArg, Overrides};
use crate::report;
use std::io::{IsTerminal, Write};

pub fn run(a: &AuditArgs) -> anyhow::Result<u8> {
    set_color(a.color);
    let opts = options(a);
    if a.diff || a.apply {
        return super::changes::diff_or_apply(a, &opts);
    }
    let report = run_audit(&opts)?;
    print_report(a.format, &report)?;
    Ok(exit_for(&report, a.fail_on))
}

pub(super) fn options(a: &AuditArgs) -> AuditOptions {
    AuditOptions {
        root: a.root.clone(),
        apim_home: a.apim_home.clone(),
        apim_version: a.apim_version,
        role: a.role.clone(),
        profile_file: a.profile.clone(),
        overrides: Overrides {
            cores: a.cores,
            memory_mb: a.memory,
            nat: Some(match a.nat {
                NatChoice::Auto => NatArg::Auto,
                NatChoice::Yes => NatArg::Yes,
                NatChoice::No => NatArg::No,
            }),
            java_version: a.java_version,
            java_home: a.java_home.clone(),
        },
        user: a.user.clone(),
    }
}

pub(super) fn print_report(format: Format, report: &AuditReport) -> anyhow::Result<()> {
    let text = match format {
        Format::Text => report::text::render(report),
        Format::Json => report::json::render(report),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

pub(super) fn exit_for(report: &AuditReport, fail_on: FailOn) -> u8 {
    let threshold = match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    if report.fails(threshold) {
        exit_code::FINDINGS
    } else {
        exit_code::OK
    }
}

/// `auto` colours only a terminal, and a non-empty NO_COLOR wins (https://no-color.org).
fn set_color(choice: ColorChoice) {
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
