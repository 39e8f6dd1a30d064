//! Dotted version numbers (API-M, kernel, JDK) and the ranges profiles and the catalog use.
//!
//! Deliberately small: `>=4.0,<4.12` style comparator lists, nothing like full semver.

use serde::Serialize;
use std::cmp::Ordering;
use std::fmt;

/// Up to three numeric components; a kernel release like `6.1.0-18-amd64` reads as 6.1.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Parses the leading `N[.N[.N]]` of `s`; anything after (`-18-amd64`, `+build`) is ignored.
    pub fn parse_prefix(s: &str) -> Option<Version> {
        let s = s.trim();
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let mut parts = s[..end].split('.').filter(|p| !p.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().map(str::parse).transpose().ok()?.unwrap_or(0);
        let patch = parts.next().map(str::parse).transpose().ok()?.unwrap_or(0);
        Some(Version::new(major, minor, patch))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

/// A conjunction of comparators, e.g. `>=2.0, <3.0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionReq {
    text: String,
    comparators: Vec<(Op, Version)>,
}

impl VersionReq {
    pub fn parse(text: &str) -> Result<VersionReq, String> {
        let mut comparators = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!("empty comparator in version range `{text}`"));
            }
            let (op, rest) = if let Some(r) = part.strip_prefix(">=") {
                (Op::Ge, r)
            } else if let Some(r) = part.strip_prefix("<=") {
                (Op::Le, r)
            } else if let Some(r) = part.strip_prefix('>') {
                (Op::Gt, r)
            } else if let Some(r) = part.strip_prefix('<') {
                (Op::Lt, r)
            } else if let Some(r) = part.strip_prefix('=') {
                (Op::Eq, r)
            } else {
                return Err(format!(
                    "version comparator `{part}` must start with >=, >, <=, < or ="
                ));
            };
            let rest = rest.trim();
            let v = Version::parse_prefix(rest)
                .filter(|_| rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| format!("`{rest}` is not a version number"))?;
            comparators.push((op, v));
        }
        Ok(VersionReq {
            text: text.to_string(),
            comparators,
        })
    }

    pub fn matches(&self, v: Version) -> bool {
        self.comparators.iter().all(|(op, bound)| {
            let ord = v.cmp(bound);
            match op {
                Op::Lt => ord == Ordering::Less,
                Op::Le => ord != Ordering::Greater,
                Op::Gt => ord == Ordering::Greater,
                Op::Ge => ord != Ordering::Less,
                Op::Eq => ord == Ordering::Equal,
            }
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_releases() {
        assert_eq!(
            Version::parse_prefix("6.1.0-18-amd64"),
            Some(Version::new(6, 1, 0))
        );
        assert_eq!(Version::parse_prefix("4.12"), Some(Version::new(4, 12, 0)));
        assert_eq!(Version::parse_prefix("x"), None);
    }

    #[test]
    fn ranges() {
        let r = VersionReq::parse(">=2.0, <3.0").unwrap();
        assert!(r.matches(Version::new(2, 6, 0)));
        assert!(!r.matches(Version::new(3, 0, 0)));
        assert!(!r.matches(Version::new(1, 10, 0)));
        assert!(VersionReq::parse("~2").is_err());
        assert!(VersionReq::parse(">=2.x").is_err());
    }
}
