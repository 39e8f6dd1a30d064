//! A finding: one thing the audit found, with its code, subject, location and explanation.
//!
//! Produced by `rules/` and `audit`, consumed by `report/` (and later `edit/`).

use crate::model::Location;
use crate::rules::codes::Code;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// What `--apply` would do about a finding. Semantic, not bytes: `edit/` realises it per format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fix {
    /// Replace the value at `location` (which carries the byte span) with `value`.
    Replace { location: Location, value: String },
    /// The setting is absent: add `key` = `value` to `file` (the realiser picks the place).
    Insert {
        file: String,
        key: String,
        value: String,
    },
    /// Remove (comment out) the line at `location`.
    RemoveLine { location: Location },
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// The setting's own name with its family, e.g. `sysctl:net.ipv4.tcp_tw_recycle`.
    pub subject: String,
    /// Where the value was read (file relative to `--root` when under it).
    pub location: Option<Location>,
    pub current: Option<String>,
    pub expected: Option<String>,
    /// Lowercase, keys and values in backticks, no trailing period.
    pub message: String,
    /// Why the recommendation exists (from the profile entry or the rule).
    pub why: Option<String>,
    /// Where the recommendation comes from (a URL or a document).
    pub see: Option<String>,
    /// The profile entry that produced this finding, when one did.
    pub profile_at: Option<Location>,
    /// Extra evidence lines (shadowed lines, NAT signals…).
    pub notes: Vec<String>,
    pub fix: Option<Fix>,
    /// Set when a waiver accepts this finding: it is shown, but does not count for the exit code.
    pub waived: Option<Waived>,
}

/// The waiver that accepted a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Waived {
    pub reason: String,
    /// `YYYY-MM-DD`, when the waiver has an end date.
    pub expires: Option<String>,
    /// The waiver's `[[waiver]]` table in its file.
    pub at: Location,
}

impl Finding {
    pub fn new(code: Code, subject: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: code.default_severity(),
            subject: subject.into(),
            location: None,
            current: None,
            expected: None,
            message: message.into(),
            why: None,
            see: None,
            profile_at: None,
            notes: Vec::new(),
            fix: None,
            waived: None,
        }
    }

    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub fn current(mut self, v: impl Into<String>) -> Self {
        self.current = Some(v.into());
        self
    }

    pub fn expected(mut self, v: impl Into<String>) -> Self {
        self.expected = Some(v.into());
        self
    }

    pub fn why(mut self, v: impl Into<String>) -> Self {
        self.why = Some(v.into());
        self
    }

    pub fn see(mut self, v: impl Into<String>) -> Self {
        self.see = Some(v.into());
        self
    }

    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }

    pub fn note(mut self, n: impl Into<String>) -> Self {
        self.notes.push(n.into());
        self
    }

    pub fn fix(mut self, f: Fix) -> Self {
        self.fix = Some(f);
        self
    }

    pub fn fixable(&self) -> bool {
        self.fix.is_some()
    }

    /// Sort key: file, line, code, subject; findings without a file come last.
    pub fn sort_key(&self) -> (bool, String, u32, Code, String) {
        let (file, line) = match &self.location {
            Some(l) => (l.file.clone(), l.line.unwrap_or(0)),
            None => (String::new(), 0),
        };
        (
            self.location.is_none(),
            file,
            line,
            self.code,
            self.subject.clone(),
        )
    }
}
