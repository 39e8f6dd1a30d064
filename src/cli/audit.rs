//! `apim-tune audit`: run the audit, render it, map the result to an exit code.

use super::args::{AuditArgs, ColorChoice, FailOn, Format, NatChoice};
use crate::audit::{AuditOptions, run as run_audit};
use crate::exit_code;
use crate::finding::Severity;
use crate::host::detect::{NatArg, Overrides};
use crate::report;
use std::io::{IsTerminal, Write};

pub fn run(a: &AuditArgs) -> anyhow::Result<u8> {
    set_color(a.color);
    let opts = AuditOptions {
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
    };
    let report = run_audit(&opts)?;
    let text = match a.format {
        Format::Text => report::text::render(&report),
        Format::Json => report::json::render(&report),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    let threshold = match a.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    Ok(if report.fails(threshold) {
        exit_code::FINDINGS
    } else {
        exit_code::OK
    })
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
