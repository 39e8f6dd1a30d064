//! `--format text`: a header with the facts used, then one block per finding, then a summary.
//!
//! Colour comes from `colored`, whose global override `cli` sets once from `--color`/NO_COLOR;
//! nothing here decides whether to colour.

use super::sanitize::sanitize;
use super::{Context, Renderable};
use crate::audit::AuditReport;
use crate::finding::{Finding, Fix, Severity};
use colored::Colorize;
use std::fmt::Write;

pub fn render(r: &dyn Renderable) -> String {
    let mut out = String::new();
    match r.context() {
        Context::Audit(a) => header(a, &mut out),
    }
    for f in r.findings() {
        finding(f, &mut out);
    }
    summary(r, &mut out);
    out
}

fn header(r: &AuditReport, out: &mut String) {
    let f = &r.facts;
    let kernel = f
        .kernel
        .as_ref()
        .map(|k| format!("kernel {} ({})", k.value, k.source))
        .unwrap_or_else(|| "kernel unknown".into());
    let java = f
        .java
        .as_ref()
        .map(|j| format!(", JDK {} ({})", j.value, j.source))
        .unwrap_or_default();
    let _ = writeln!(out, "{}", "apim-tune audit".bold());
    let _ = writeln!(
        out,
        "  host     {} cores ({}), {} MiB ({}), {kernel}, NAT {} ({}){java}",
        f.cores.value,
        f.cores.source,
        f.memory_mb.value,
        f.memory_mb.source,
        f.nat.value.as_str(),
        f.nat.source
    );
    match &r.apim {
        Some(a) => {
            let version = match &a.version {
                Some(v) => format!("{v} (from {})", a.version_source),
                None => format!("unknown, assuming {}", a.assumed_version),
            };
            let _ = writeln!(
                out,
                "  api-m    {} ({}), {} layout, version {version}",
                sanitize(&a.home),
                a.chosen_by,
                a.layout
            );
        }
        None => {
            let _ = writeln!(out, "  api-m    none: host only");
        }
    }
    let _ = writeln!(
        out,
        "  profile  {} (role {}, {} checks); limits user `{}` ({})",
        r.profile.chain.join(" → "),
        r.profile.role,
        r.profile.checks,
        sanitize(&r.user.name),
        r.user.chosen_by
    );
    for n in &r.notes {
        let _ = writeln!(out, "  note     {n}");
    }
    out.push('\n');
}

fn severity_label(s: Severity) -> String {
    match s {
        Severity::Error => "error".red().bold().to_string(),
        Severity::Warning => "warning".yellow().bold().to_string(),
        Severity::Info => "info".cyan().bold().to_string(),
    }
}

fn finding(f: &Finding, out: &mut String) {
    let waived = if f.waived.is_some() {
        format!("{} ", "waived".dimmed())
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{waived}{}[{}] {}: {}",
        severity_label(f.severity),
        f.code.code(),
        f.code.name(),
        sanitize(&f.subject).bold()
    );
    if let Some(loc) = &f.location {
        let _ = writeln!(out, "  {} {}", "-->".blue(), sanitize(&loc.to_string()));
    }
    let _ = writeln!(out, "   {} {}", "=".blue(), sanitize(&f.message));
    if f.current.is_some() || f.expected.is_some() {
        let _ = writeln!(
            out,
            "     current: {}   expected: {}",
            sanitize(f.current.as_deref().unwrap_or("-")),
            sanitize(f.expected.as_deref().unwrap_or("-"))
        );
    }
    for n in &f.notes {
        let _ = writeln!(out, "     note: {}", sanitize(n));
    }
    if let Some(why) = &f.why {
        let _ = writeln!(out, "     why: {}", sanitize(why));
    }
    if let Some(see) = &f.see {
        let _ = writeln!(out, "     see: {}", sanitize(see));
    }
    if let Some(p) = &f.profile_at {
        let _ = writeln!(out, "     profile: {p}");
    }
    if let Some(w) = &f.waived {
        let until = w
            .expires
            .as_ref()
            .map(|e| format!(" until {e}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "     waived{until} ({}): {}",
            w.at,
            sanitize(&w.reason)
        );
    }
    let fix = match &f.fix {
        Some(Fix::Replace { value, .. }) if value.is_empty() => {
            "fixable with --apply (remove the option)".to_string()
        }
        Some(Fix::Replace { value, .. }) => {
            format!("fixable with --apply (set `{}`)", sanitize(value))
        }
        Some(Fix::Insert { file, key, value }) => format!(
            "fixable with --apply (add `{}` = `{}` to {})",
            sanitize(key),
            sanitize(value),
            sanitize(file)
        ),
        Some(Fix::RemoveLine { .. }) => "fixable with --apply (comment out the line)".into(),
        None => "not fixable automatically".into(),
    };
    let _ = writeln!(out, "     {}", fix.dimmed());
    out.push('\n');
}

fn summary(r: &dyn Renderable, out: &mut String) {
    let (e, w, i) = (
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info),
    );
    let fixable = r.findings().iter().filter(|f| f.fixable()).count();
    let waived = match r.waived() {
        0 => String::new(),
        n => format!(", {n} waived"),
    };
    if r.findings().is_empty() {
        let _ = writeln!(out, "{}", "no findings".green().bold());
        return;
    }
    let _ = writeln!(
        out,
        "{} {} error(s), {} warning(s), {} info ({} fixable with --apply{waived})",
        "summary:".bold(),
        e,
        w,
        i,
        fixable
    );
}
