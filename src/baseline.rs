//! Baselines: a previous JSON report whose findings are known; with `--baseline` only new
//! findings are shown and counted, for gating drift rather than history.
//!
//! A finding is "the same" when its code and subject match: line numbers move when files are
//! edited, so they are not part of the identity.

use crate::diag::{Finding, Subject};
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("baseline `{path}` is not an apim-tune JSON report: {message}")]
    Format { path: String, message: String },
}

/// (code, subject) of every finding in the baseline report.
pub fn load(path: &Path) -> Result<BTreeSet<(String, Subject)>, BaselineError> {
    let display = path.display().to_string();
    // A baseline is an earlier JSON report: larger than a profile, far below this.
    let text = crate::source::read_text_at_most(path, crate::source::MAX_FILE_BYTES).map_err(
        |source| BaselineError::Read {
            path: display.clone(),
            source,
        },
    )?;
    parse(&display, &text)
}

pub fn parse(display: &str, text: &str) -> Result<BTreeSet<(String, Subject)>, BaselineError> {
    let format = |message: String| BaselineError::Format {
        path: display.to_string(),
        message,
    };
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format(format!("{e} (line {}, column {})", e.line(), e.column())))?;
    if v["schema"] != "apim-tune/audit/v1" {
        return Err(format("its `schema` is not `apim-tune/audit/v1`".into()));
    }
    let findings = v["findings"]
        .as_array()
        .ok_or_else(|| format("it has no `findings` array".into()))?;
    findings
        .iter()
        .map(|f| match (f["code"].as_str(), f["subject"].as_str()) {
            (Some(c), Some(s)) => Ok((c.to_string(), Subject::parse(s).map_err(format)?)),
            _ => Err(format("a finding lacks `code` or `subject`".into())),
        })
        .collect()
}

/// Drops the findings the baseline already had; returns how many were dropped.
pub fn filter(known: &BTreeSet<(String, Subject)>, findings: &mut Vec<Finding>) -> usize {
    let before = findings.len();
    findings.retain(|f| !known.contains(&(f.code.code().to_string(), f.subject.clone())));
    before - findings.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;

    fn finding(code: Code, subject: &str) -> Finding {
        Finding::new(code, Subject::parse(subject).unwrap(), "m")
    }

    #[test]
    fn only_new_findings_remain() {
        let known = parse(
            "b.json",
            r#"{"schema":"apim-tune/audit/v1","findings":[{"code":"SYS010","subject":"sysctl:net.ipv4.tcp_tw_recycle","line":4}]}"#,
        )
        .unwrap();
        let mut fs = vec![
            finding(
                Code::TCP_TW_RECYCLE_ENABLED,
                "sysctl:net.ipv4.tcp_tw_recycle",
            ),
            finding(Code::SYSCTL_BELOW_RECOMMENDED, "sysctl:net.core.somaxconn"),
        ];
        assert_eq!(filter(&known, &mut fs), 1);
        assert_eq!(fs[0].code, Code::SYSCTL_BELOW_RECOMMENDED);
        assert!(parse("b.json", "{").is_err());
        assert!(parse("b.json", r#"{"schema":"other","findings":[]}"#).is_err());
        let bad_subject = r#"{"schema":"apim-tune/audit/v1","findings":[{"code":"SYS010","subject":"nofamily"}]}"#;
        assert!(parse("b.json", bad_subject).is_err());
    }
}
