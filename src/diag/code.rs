//! A finding code: a family prefix and number (`SYS010`) plus a kebab-case name that describes
//! the problem (`tcp-tw-recycle-enabled`), never a knob.
//!
//! A `Code` points at the [`CodeInfo`] its rule declares in its own file (`rules/…`, with
//! `declare_rule!`), the way clippy's lints are pointers to their declarations. The registry in
//! `rules/mod.rs` names every code (`Code::TCP_TW_RECYCLE_ENABLED`) and lists them (`Code::ALL`).
//! Codes are never reused or renumbered: the stable string is the identity in every output,
//! waiver and baseline.

use super::Severity;
use serde::{Serialize, Serializer};

/// The families, in the order reports list them (and the order codes sort in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Configuration files that could not be read or understood.
    Src,
    /// The waivers file.
    Wav,
    /// Kernel parameters.
    Sys,
    /// pam limits.
    Lim,
    /// The systemd service that runs API-M.
    Svc,
    /// Running API-M processes.
    Prc,
    /// API-M settings.
    Apm,
    /// JVM options.
    Jvm,
    /// The API-M database (`db audit`).
    Dbg,
    /// Between the nodes of a deployment (`fleet merge`).
    Flt,
}

impl Family {
    pub const ALL: &'static [Family] = &[
        Family::Src,
        Family::Wav,
        Family::Sys,
        Family::Lim,
        Family::Svc,
        Family::Prc,
        Family::Apm,
        Family::Jvm,
        Family::Dbg,
        Family::Flt,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            Family::Src => "SRC",
            Family::Wav => "WAV",
            Family::Sys => "SYS",
            Family::Lim => "LIM",
            Family::Svc => "SVC",
            Family::Prc => "PRC",
            Family::Apm => "APM",
            Family::Jvm => "JVM",
            Family::Dbg => "DBG",
            Family::Flt => "FLT",
        }
    }

    pub fn of(code: &str) -> Option<Family> {
        let prefix = code.get(..3)?;
        Family::ALL
            .iter()
            .copied()
            .find(|f| f.prefix().eq_ignore_ascii_case(prefix))
    }
}

/// What a rule declares about its code; `declare_rule!` fills it from the rule's file.
#[derive(Debug)]
pub struct CodeInfo {
    /// `SYS010`.
    pub code: &'static str,
    /// `tcp-tw-recycle-enabled`.
    pub name: &'static str,
    pub family: Family,
    pub severity: Severity,
    /// One line for `apim-tune rules`.
    pub summary: &'static str,
    /// The rule's doc comment: what it checks, why it matters, the fix.
    pub doc: &'static str,
    /// Where the rule is declared (`file!()`, `line!()`): `explain` shows it.
    pub file: &'static str,
    pub line: u32,
}

/// A finding code. Equal, hashed and ordered by its stable string; codes sort by family, then
/// number.
#[derive(Clone, Copy)]
pub struct Code(&'static CodeInfo);

impl Code {
    pub const fn new(info: &'static CodeInfo) -> Code {
        Code(info)
    }

    pub fn info(self) -> &'static CodeInfo {
        self.0
    }

    /// Short code, e.g. `SYS010`.
    pub fn code(self) -> &'static str {
        self.0.code
    }

    /// Kebab-case name describing the problem, e.g. `tcp-tw-recycle-enabled`.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    pub fn family(self) -> Family {
        self.0.family
    }

    pub fn default_severity(self) -> Severity {
        self.0.severity
    }

    /// One line for `apim-tune rules`.
    pub fn summary(self) -> &'static str {
        self.0.summary
    }

    /// The full documentation as the doc comment holds it (each line with its leading space).
    pub fn explain(self) -> &'static str {
        self.0.doc
    }

    /// The documentation as text: `explain()` without the leading space doc comments carry.
    pub fn doc(self) -> String {
        self.explain()
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The file and line where the rule is declared, relative to the package.
    pub fn declared_at(self) -> String {
        format!("{}:{}", self.0.file, self.0.line)
    }

    fn rank(self) -> (Family, &'static str) {
        (self.0.family, self.0.code)
    }
}

impl PartialEq for Code {
    fn eq(&self, other: &Code) -> bool {
        self.0.code == other.0.code
    }
}

impl Eq for Code {}

impl std::hash::Hash for Code {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.code.hash(h);
    }
}

impl PartialOrd for Code {
    fn partial_cmp(&self, other: &Code) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Code {
    fn cmp(&self, other: &Code) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: CodeInfo = CodeInfo {
        code: "SYS010",
        name: "a",
        family: Family::Sys,
        severity: Severity::Error,
        summary: "",
        doc: " ### What it checks\n x\n",
        file: "f.rs",
        line: 1,
    };
    const B: CodeInfo = CodeInfo {
        code: "LIM001",
        family: Family::Lim,
        ..A
    };
    const C: CodeInfo = CodeInfo {
        code: "SRC003",
        family: Family::Src,
        ..A
    };

    #[test]
    fn codes_sort_by_family_then_number() {
        let (a, b, c) = (Code::new(&A), Code::new(&B), Code::new(&C));
        let mut v = vec![a, b, c];
        v.sort();
        assert_eq!(v, vec![c, a, b]);
        assert_eq!(a.doc(), "### What it checks\nx");
        assert_eq!(Family::of("sys001"), Some(Family::Sys));
        assert_eq!(Family::of("XYZ001"), None);
    }
}
