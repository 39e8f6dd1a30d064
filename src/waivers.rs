//! Waivers: accepted deviations, read from `apim-tune.waivers.toml` (or `--waivers FILE`).
//!
//! A waived finding is still shown, with its reason, but does not count for the exit code. An
//! expired waiver is ignored and reported (WAV001); one that matched nothing is reported too
//! (WAV002), like an unused suppression. Never changes a finding's content otherwise.

use crate::diag::{Code, Finding, Waived};
use crate::model::{Location, SourceFile, Span};
use crate::rules::waiver::WaiverUse;
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

/// The file looked for in the current directory when `--waivers` is not given.
pub const DEFAULT_FILE: &str = "apim-tune.waivers.toml";

#[derive(Debug, thiserror::Error)]
#[error("invalid waivers file at {location}: {message}")]
pub struct WaiverError {
    pub location: Location,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    waiver: Vec<Spanned<RawWaiver>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    code: Option<String>,
    subject: Option<String>,
    reason: Option<String>,
    expires: Option<toml::value::Datetime>,
}

#[derive(Clone, Debug)]
pub struct Waiver {
    pub code: Option<Code>,
    /// Exact subject, or a pattern with `*` standing for any text.
    pub subject: Option<String>,
    pub reason: String,
    pub expires: Option<String>,
    pub at: Location,
}

impl Waiver {
    fn matches(&self, f: &Finding) -> bool {
        self.code.is_none_or(|c| c == f.code)
            && self
                .subject
                .as_deref()
                .is_none_or(|pattern| glob(pattern, &f.subject.to_string()))
    }
}

/// `*` matches any run of characters; everything else is literal.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

pub fn load(path: &Path) -> Result<Vec<Waiver>, WaiverError> {
    let display = path.to_string_lossy().into_owned();
    let text =
        crate::source::read_text_at_most(path, crate::source::MAX_OWN_FILE_BYTES).map_err(|e| {
            WaiverError {
                location: Location::file_only(&display),
                message: format!("cannot read: {e}"),
            }
        })?;
    parse(&display, &text)
}

pub fn parse(display: &str, text: &str) -> Result<Vec<Waiver>, WaiverError> {
    let file: Arc<SourceFile> = SourceFile::new(display.into(), display.into(), text.into());
    let at = |span: std::ops::Range<usize>| file.location(Span::new(span.start, span.end));
    let raw: RawFile = toml::from_str(text).map_err(|e| WaiverError {
        location: e
            .span()
            .map(&at)
            .unwrap_or_else(|| Location::file_only(display)),
        message: match e.message().trim() {
            m if m.contains("expected a TOML datetime") => {
                "`expires` must be a date like 2027-01-31".to_string()
            }
            m => m.to_string(),
        },
    })?;
    let mut out = Vec::new();
    for w in raw.waiver {
        let location = at(w.span());
        let w = w.into_inner();
        let err = |message: String| WaiverError {
            location: location.clone(),
            message,
        };
        let reason = w
            .reason
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| err("every waiver needs a `reason`".into()))?;
        if w.code.is_none() && w.subject.is_none() {
            return Err(err("a waiver needs a `code`, a `subject`, or both".into()));
        }
        // An exact subject is parsed as findings name their subjects: a misspelt one
        // (`sysctl.net.core.somaxconn`) would otherwise match nothing, silently. A pattern
        // (with `*`) is matched against the rendered subjects as it is.
        if let Some(s) = w.subject.as_deref().filter(|s| !s.contains('*')) {
            crate::diag::Subject::parse(s).map_err(|e| {
                err(format!(
                    "{e} (write it as findings show it, e.g. `sysctl:net.core.somaxconn`)"
                ))
            })?;
        }
        let code = match &w.code {
            Some(c) => Some(
                Code::from_code(c).ok_or_else(|| err(format!("`{c}` is not a finding code")))?,
            ),
            None => None,
        };
        let expires = match w.expires {
            Some(d) => match (d.date, d.time) {
                (Some(date), None) => Some(date.to_string()),
                _ => return Err(err("`expires` must be a date like 2027-01-31".into())),
            },
            None => None,
        };
        out.push(Waiver {
            code,
            subject: w.subject,
            reason,
            expires,
            at: location,
        });
    }
    Ok(out)
}

/// Marks the findings the live waivers accept, and returns WAV001/WAV002 findings for expired and
/// unused waivers. `today` is `YYYY-MM-DD`; a waiver is live through its `expires` day.
pub fn apply(waivers: &[Waiver], findings: &mut [Finding], today: &str) -> Vec<Finding> {
    let mut uses = Vec::new();
    for w in waivers {
        let mut used = WaiverUse {
            what: describe(w),
            reason: w.reason.clone(),
            expires: w.expires.clone(),
            today: today.to_string(),
            at: w.at.clone(),
            matched: 0,
        };
        if !used.expired() {
            for f in findings
                .iter_mut()
                .filter(|f| f.waived.is_none() && w.matches(f))
            {
                used.matched += 1;
                f.waived = Some(Waived {
                    reason: w.reason.clone(),
                    expires: w.expires.clone(),
                    at: w.at.clone(),
                });
            }
        }
        uses.push(used);
    }
    let mut extra = Vec::new();
    crate::rules::run_waivers(&uses, &mut extra);
    extra
}

fn describe(w: &Waiver) -> String {
    match (&w.code, &w.subject) {
        (Some(c), Some(s)) => format!("{} on `{s}`", c.code()),
        (Some(c), None) => c.code().to_string(),
        (None, Some(s)) => format!("`{s}`"),
        (None, None) => "nothing".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(code: Code, subject: &str) -> Finding {
        Finding::new(code, crate::diag::Subject::parse(subject).unwrap(), "m")
    }

    #[test]
    fn waivers_match_expire_and_report_unused() {
        let ws = parse(
            "w.toml",
            r#"
[[waiver]]
code = "SYS010"
reason = "legacy load balancer, replaced in Q1"
expires = 2027-01-31

[[waiver]]
subject = "limits:*:nofile:*"
reason = "set by the container runtime"

[[waiver]]
code = "APM010"
reason = "old and gone"
expires = 2026-01-01

[[waiver]]
code = "JVM010"
reason = "nothing matches this"
"#,
        )
        .unwrap();
        let mut fs = vec![
            finding(
                Code::TCP_TW_RECYCLE_ENABLED,
                "sysctl:net.ipv4.tcp_tw_recycle",
            ),
            finding(Code::LIMIT_BELOW_RECOMMENDED, "limits:wso2:nofile:soft"),
            finding(
                Code::TOKEN_CACHES_BOTH_ENABLED,
                "deployment.toml:apim.cache.km_token.enable",
            ),
        ];
        let extra = apply(&ws, &mut fs, "2026-11-22");
        assert_eq!(
            fs[0].waived.as_ref().unwrap().expires.as_deref(),
            Some("2027-01-31")
        );
        assert!(fs[1].waived.is_some());
        assert!(fs[2].waived.is_none(), "expired waivers do not apply");
        let codes: Vec<_> = extra.iter().map(|f| f.code).collect();
        assert_eq!(codes, vec![Code::WAIVER_EXPIRED, Code::WAIVER_UNUSED]);
        // The `[[waiver]]` header of the expired waiver.
        assert_eq!(extra[0].location.as_ref().unwrap().line, Some(11));
    }

    #[test]
    fn bad_waiver_files_are_errors_with_their_line() {
        for (text, needle, line) in [
            ("[[waiver]]\ncode = \"SYS010\"\n", "reason", 1),
            ("[[waiver]]\nreason = \"r\"\n", "code", 1),
            (
                "[[waiver]]\ncode = \"NOPE1\"\nreason = \"r\"\n",
                "not a finding code",
                1,
            ),
            (
                "[[waiver]]\ncode = \"SYS010\"\nreason = \"r\"\nexpires = \"soon\"\n",
                "expires",
                4,
            ),
            (
                "[[waiver]]\ncode = \"SYS010\"\nreason = \"r\"\nextra = 1\n",
                "extra",
                4,
            ),
            (
                "\n[[waiver]]\nsubject = \"sysctl.net.core.somaxconn\"\nreason = \"r\"\n",
                "is not a finding subject",
                2,
            ),
        ] {
            let e = parse("w.toml", text)
                .err()
                .unwrap_or_else(|| panic!("{text}"));
            assert!(e.to_string().contains(needle), "{text}: {e}");
            assert_eq!(e.location.line, Some(line), "{text}: {e}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob("limits:*:nofile:*", "limits:wso2:nofile:soft"));
        assert!(!glob("limits:*:nofile:*", "limits:wso2:nproc:soft"));
        assert!(glob("sysctl:net.*", "sysctl:net.core.somaxconn"));
        assert!(glob("exact", "exact") && !glob("exact", "exactly"));
    }
}
