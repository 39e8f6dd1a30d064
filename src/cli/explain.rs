//! `apim-tune rules` and `apim-tune explain CODE`: the code registry and its documentation,
//! with the shipped profile entries that produce each generic code.

use crate::exit_code;
use crate::profile::schema::Entry;
use crate::profile::{self, Family, Profile};
use crate::rules::codes::Code;
use anyhow::bail;

pub fn rules() -> anyhow::Result<u8> {
    for c in Code::ALL {
        println!(
            "{:<7} {:<38} {:<8} {}",
            c.code(),
            c.name(),
            c.default_severity().as_str(),
            c.summary()
        );
    }
    Ok(exit_code::OK)
}

pub fn explain(code: &str) -> anyhow::Result<u8> {
    let Some(c) = Code::from_code(code) else {
        bail!("`{code}` is not a finding code (list them with `apim-tune rules`)");
    };
    println!(
        "{} {} ({} by default)\n\n{}\n",
        c.code(),
        c.name(),
        c.default_severity().as_str(),
        c.summary()
    );
    println!("{}", c.doc().replace("### ", "## "));
    let entries = profile_entries(c)?;
    if entries.is_empty() {
        println!(
            "\n## Where the recommendation comes from\nThis check is built into apim-tune ({}); its reasons and sources are above.",
            rule_home(c)
        );
    } else {
        println!("\n## Profile entries that use it\n");
        for e in entries {
            println!("{e}");
        }
    }
    Ok(exit_code::OK)
}

fn rule_home(c: Code) -> &'static str {
    match c.family() {
        "SYS" => "src/rules/sysctl/",
        "LIM" => "src/rules/limits/",
        "APM" => "src/rules/apim/",
        "JVM" => "src/rules/jvm/",
        "WAV" => "src/waivers.rs",
        _ => "the file readers",
    }
}

/// The shipped entries (every role: they all live in base.toml) that produce `c`.
fn profile_entries(c: Code) -> anyhow::Result<Vec<String>> {
    let p: Profile = profile::load_role("all-in-one")?;
    let mut out = Vec::new();
    let family = match c.family() {
        "SYS" => Family::Sysctl,
        "LIM" => Family::Limits,
        "APM" => Family::Apim,
        "JVM" => Family::Jvm,
        _ => return Ok(out),
    };
    if family == Family::Limits {
        if c == Code::Lim001 {
            for (item, rec) in &p.limits {
                out.push(format!(
                    "- `limits.{item}` ({}): {}{}",
                    rec.at,
                    rec.entry.why.clone().unwrap_or_default(),
                    see(&rec.entry.see)
                ));
            }
        }
        return Ok(out);
    }
    let number = &c.code()[3..];
    let map = match family {
        Family::Sysctl => &p.sysctl,
        Family::Apim => &p.apim,
        Family::Jvm => &p.jvm,
        Family::Limits => return Ok(out),
    };
    for (key, rec) in map {
        if produces(&rec.entry, number) {
            out.push(format!(
                "- `{key}` ({}): {}{}",
                rec.at,
                rec.entry.why.clone().unwrap_or_default(),
                see(&rec.entry.see)
            ));
        }
    }
    Ok(out)
}

/// Which generic code (…001 below, …002 above, …003 not the value, …004 present) an entry can
/// produce.
fn produces(e: &Entry, number: &str) -> bool {
    match number {
        "001" => e.min.is_some(),
        "002" => e.max.is_some(),
        "003" => e.eq.is_some() || e.one_of.is_some() || e.set == Some(true),
        "004" => e.absent == Some(true),
        _ => false,
    }
}

fn see(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(" (see: {s})"))
        .unwrap_or_default()
}
