//! Turns a merged profile into concrete expectations for one host (cores, memory, NAT, kernel,
//! API-M version, JDK, role). Pure: no file or host access.

use super::schema::{Entry, Expr, LimitEntry, When};
use super::{Family, Profile, Rec};
use crate::apim::jvm::parse_size;
use crate::diag::Severity;
use crate::host::{HostFacts, Nat};
use crate::model::Location;
use crate::version::{Version, VersionReq};
use std::fmt;

/// A concrete expected value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Int(i64),
    Bool(bool),
    Str(String),
    /// Whitespace-separated integers, compared element by element (`tcp_rmem`).
    List(Vec<i64>),
    /// A JVM size in bytes, shown as `2g`/`512m`.
    Size(u64),
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Int(i) => write!(f, "{i}"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Str(s) => f.write_str(s),
            Val::List(l) => {
                let parts: Vec<String> = l.iter().map(i64::to_string).collect();
                f.write_str(&parts.join(" "))
            }
            Val::Size(b) => f.write_str(&format_size(*b)),
        }
    }
}

/// `2147483648` → `2g`, `536870912` → `512m`, otherwise bytes.
pub fn format_size(bytes: u64) -> String {
    const K: u64 = 1024;
    for (unit, factor) in [("g", K * K * K), ("m", K * K), ("k", K)] {
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    bytes.to_string()
}

#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    Range { min: Option<Val>, max: Option<Val> },
    Eq(Val),
    OneOf(Vec<Val>),
    Absent,
    Set,
}

impl Check {
    /// How the expectation reads in a finding's `expected` field.
    pub fn describe(&self) -> String {
        match self {
            Check::Range {
                min: Some(a),
                max: Some(b),
            } => format!("between {a} and {b}"),
            Check::Range { min: Some(a), .. } => format!(">= {a}"),
            Check::Range { max: Some(b), .. } => format!("<= {b}"),
            Check::Range { .. } => "any".into(),
            Check::Eq(v) => v.to_string(),
            Check::OneOf(vs) => {
                let parts: Vec<String> = vs.iter().map(Val::to_string).collect();
                format!("one of {}", parts.join(", "))
            }
            Check::Absent => "absent".into(),
            Check::Set => "set".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Expectation {
    pub family: Family,
    /// Sysctl key, catalog setting id, JVM flag, or `nofile:soft` for limits.
    pub key: String,
    pub check: Check,
    /// `None`: the code's default severity.
    pub severity: Option<Severity>,
    pub why: String,
    pub see: Option<String>,
    /// Why the operator must make the change, when `--apply` must not (`manual-fix`).
    pub manual_fix: Option<String>,
    /// The profile entry (`profiles/base.toml:12:1`).
    pub at: Location,
    pub profile: String,
}

/// What the conditions and scaled values are evaluated against.
pub struct Context<'a> {
    pub facts: &'a HostFacts,
    pub role: &'a str,
    /// The API-M version in effect, when a home is audited.
    pub apim_version: Option<Version>,
}

pub fn resolve(profile: &Profile, cx: &Context) -> Vec<Expectation> {
    let mut out = Vec::new();
    for (family, map) in [
        (Family::Sysctl, &profile.sysctl),
        (Family::Apim, &profile.apim),
        (Family::Jvm, &profile.jvm),
    ] {
        for (key, rec) in map {
            if applies(&rec.entry.when, cx)
                && let Some(check) = entry_check(family, &rec.entry, cx)
            {
                out.push(expectation(family, key.clone(), check, rec, &rec.entry));
            }
        }
    }
    for (item, rec) in &profile.limits {
        let e: &LimitEntry = &rec.entry;
        if !applies(&e.when, cx) {
            continue;
        }
        for (kind, bound) in [("soft", &e.soft), ("hard", &e.hard)] {
            if let Some(b) = bound
                && let Some(v) = value(Family::Limits, &b.min, cx)
            {
                out.push(Expectation {
                    family: Family::Limits,
                    key: format!("{item}:{kind}"),
                    check: Check::Range {
                        min: Some(v),
                        max: None,
                    },
                    severity: e.severity.as_deref().and_then(Severity::parse),
                    why: e.why.clone().unwrap_or_default(),
                    see: e.see.clone(),
                    manual_fix: None,
                    at: rec.at.clone(),
                    profile: rec.profile.clone(),
                });
            }
        }
    }
    out
}

fn expectation(
    family: Family,
    key: String,
    check: Check,
    rec: &Rec<Entry>,
    e: &Entry,
) -> Expectation {
    Expectation {
        family,
        key,
        check,
        severity: e.severity.as_deref().and_then(Severity::parse),
        why: e.why.clone().unwrap_or_default(),
        see: e.see.clone(),
        manual_fix: e.manual_fix.clone(),
        at: rec.at.clone(),
        profile: rec.profile.clone(),
    }
}

/// Whether every condition holds. A condition on an unknown fact (kernel, JDK, API-M version)
/// does not hold: the entry is skipped rather than guessed.
pub fn applies(when: &Option<When>, cx: &Context) -> bool {
    let Some(w) = when else { return true };
    if let Some(nat) = w.nat {
        let is = match cx.facts.nat.value {
            Nat::Yes => Some(true),
            Nat::No => Some(false),
            Nat::Unknown => None,
        };
        if is != Some(nat) {
            return false;
        }
    }
    let version_ok = |range: &Option<String>, v: Option<Version>| match range {
        None => true,
        Some(r) => match (VersionReq::parse(r), v) {
            (Ok(req), Some(v)) => req.matches(v),
            _ => false,
        },
    };
    let jdk = cx.facts.java.as_ref().map(|j| Version::new(j.value, 0, 0));
    version_ok(&w.kernel, cx.facts.kernel_version())
        && version_ok(&w.apim, cx.apim_version)
        && version_ok(&w.jdk, jdk)
        && w.role
            .as_ref()
            .is_none_or(|roles| roles.iter().any(|r| r == cx.role))
}

fn entry_check(family: Family, e: &Entry, cx: &Context) -> Option<Check> {
    if e.min.is_some() || e.max.is_some() {
        let min = match &e.min {
            Some(x) => Some(value(family, x, cx)?),
            None => None,
        };
        let max = match &e.max {
            Some(x) => Some(value(family, x, cx)?),
            None => None,
        };
        return Some(Check::Range { min, max });
    }
    if let Some(x) = &e.eq {
        return value(family, x, cx).map(Check::Eq);
    }
    if let Some(xs) = &e.one_of {
        return xs
            .iter()
            .map(|x| value(family, x, cx))
            .collect::<Option<Vec<_>>>()
            .map(Check::OneOf);
    }
    if e.absent == Some(true) {
        return Some(Check::Absent);
    }
    if e.set == Some(true) {
        return Some(Check::Set);
    }
    None
}

/// The concrete value of an expression on this host.
pub fn value(family: Family, x: &Expr, cx: &Context) -> Option<Val> {
    Some(match x {
        Expr::Int(i) => Val::Int(*i),
        Expr::Float(f) => Val::Int(f.round() as i64),
        Expr::Bool(b) => Val::Bool(*b),
        Expr::List(l) => Val::List(l.clone()),
        Expr::Str(s) if family == Family::Jvm => match parse_size(s) {
            Some(b) => Val::Size(b),
            None => Val::Str(s.clone()),
        },
        Expr::Str(s) => Val::Str(s.clone()),
        Expr::Scaled(sc) => {
            // A fact that is unknown (zero) scales nothing: the entry is not judged.
            let base = match (sc.per_core, sc.per_gib) {
                (Some(_), None) if cx.facts.cores.value == 0 => return None,
                (None, Some(_)) if cx.facts.memory_mb.value == 0 => return None,
                (Some(n), None) => n * f64::from(cx.facts.cores.value),
                (None, Some(n)) => n * cx.facts.memory_gib(),
                _ => return None,
            };
            let mut v = base.round() as i64;
            if let Some(lo) = sc.at_least {
                v = v.max(lo);
            }
            if let Some(hi) = sc.at_most {
                v = v.min(hi);
            }
            if family == Family::Jvm {
                // Scaled JVM values are sizes in MiB (`{ per-gib = 512 }` = 512m per GiB of RAM).
                Val::Size((v.max(0) as u64) * 1024 * 1024)
            } else {
                Val::Int(v)
            }
        }
    })
}
