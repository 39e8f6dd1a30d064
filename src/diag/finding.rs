//! A finding: one thing a rule found, with its code, subject, evidence, why, and fix.

use super::{Code, Fix, Severity, Subject};
use crate::model::Location;
use serde::Serialize;

#[derive(Clone, Debug)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// The setting it is about, e.g. `sysctl:net.ipv4.tcp_tw_recycle`.
    pub subject: Subject,
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

/// One checked setting, whether or not it produced a finding (JUnit lists passing ones too).
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Checked {
    pub suite: String,
    pub subject: Subject,
}

impl Checked {
    /// Checked in the suite its subject names (`sysctl`, `limits`, a file name…).
    pub fn of(subject: Subject) -> Checked {
        Checked {
            suite: subject.suite(),
            subject,
        }
    }
}

impl Finding {
    pub fn new(code: Code, subject: impl Into<Subject>, message: impl Into<String>) -> Finding {
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

    /// Whether `--apply` would change something for it.
    pub fn fixable(&self) -> bool {
        self.applied_fix().is_some()
    }

    /// The fix `--apply` applies: none when there is none, or when it is for a person to make.
    pub fn applied_fix(&self) -> Option<&Fix> {
        self.fix.as_ref().filter(|f| f.applies())
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
            self.subject.to_string(),
        )
    }
}
