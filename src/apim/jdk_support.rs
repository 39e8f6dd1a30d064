//! The JDKs an API-M version supports, as its own start script checks them.
//!
//! Every shipped script compares the JDK with the range the release supports and prints
//! "[ERROR] CARBON is supported only …" (then starts anyway). 3.x and 4.x compare a formatted
//! version (`java_version_formatted -lt 1100 ] || [ … -gt 1700`, `MMmm` digits); 1.x and 2.x grep
//! the `java -version` output for `1.[7|8]`. Reads only: `rules/` judges the JDK in effect.

use crate::model::{Location, SourceFile, line_ranges};

/// The JDK feature versions a script accepts, inclusive, and the line of its check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JdkRange {
    pub min: u32,
    pub max: u32,
    pub at: Location,
}

/// The range the script's own JDK check accepts, when it has one.
pub fn from_script(file: &SourceFile) -> Option<JdkRange> {
    for (line, start, end) in line_ranges(&file.text) {
        let text = &file.text[start..end];
        let at = || Location::at(&file.display, line, 1);
        if let Some((min, max)) = formatted_check(text) {
            return Some(JdkRange { min, max, at: at() });
        }
        if let Some((min, max)) = grep_check(text) {
            return Some(JdkRange { min, max, at: at() });
        }
    }
    None
}

/// `if [ $java_version_formatted -lt 1100 ] || [ $java_version_formatted -gt 1700 ]`.
fn formatted_check(line: &str) -> Option<(u32, u32)> {
    let after = |key: &str| -> Option<u32> {
        let rest = &line[line.find(key)? + key.len()..];
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (digits.len() == 4).then(|| feature(&digits)).flatten()
    };
    if !line.contains("java_version_formatted") {
        return None;
    }
    Some((after("-lt")?, after("-gt")?))
}

/// `jdk_17=`$JAVA_HOME/bin/java -version 2>&1 | grep "1.[7|8]"``.
fn grep_check(line: &str) -> Option<(u32, u32)> {
    if !line.contains("-version") {
        return None;
    }
    let inside = line.split("grep \"1.[").nth(1)?.split(']').next()?;
    let versions: Vec<u32> = inside
        .split('|')
        .map(|v| v.trim().parse().ok())
        .collect::<Option<_>>()?;
    Some((*versions.iter().min()?, *versions.iter().max()?))
}

/// `0107` → 7 (Java 1.7), `1100` → 11.
fn feature(mmmm: &str) -> Option<u32> {
    let major: u32 = mmmm.get(..2)?.parse().ok()?;
    let minor: u32 = mmmm.get(2..)?.parse().ok()?;
    Some(if major == 1 { minor } else { major })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> Option<(u32, u32)> {
        let f = SourceFile::new("s.sh".into(), "s.sh".into(), text.to_string());
        from_script(&f).map(|r| (r.min, r.max))
    }

    #[test]
    fn both_forms_of_the_check() {
        assert_eq!(
            range(
                "x\nif [ $java_version_formatted -lt 1100 ] || [ $java_version_formatted -gt 1700 ]; then\n"
            ),
            Some((11, 17))
        );
        assert_eq!(
            range(
                "if [ $java_version_formatted -lt 0107 ] || [ $java_version_formatted -gt 1100 ]; then"
            ),
            Some((7, 11))
        );
        assert_eq!(
            range("jdk_17=`$JAVA_HOME/bin/java -version 2>&1 | grep \"1.[7|8]\"`"),
            Some((7, 8))
        );
        assert_eq!(range("echo java_version_formatted -lt 11"), None);
        assert_eq!(range("grep \"1.[x]\" -version"), None);
        assert_eq!(range(""), None);
    }

    /// Every shipped script of the corpus states its range, and it is the one WSO2 documents
    /// for the release (the table the rule falls back to: `rules::jvm::jdk_range`).
    #[test]
    fn corpus_scripts_state_their_range() {
        let Some(root) = crate::test_support::shared("fixtures/wso2") else {
            return;
        };
        let mut seen = 0;
        for script in crate::test_support::corpus_files(&root, "sh") {
            let name = script.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name != "wso2server.sh" && name != "api-manager.sh" {
                continue;
            }
            let text = std::fs::read_to_string(&script).expect("read");
            let f = SourceFile::new(script.clone(), name.into(), text);
            let got = from_script(&f).map(|r| (r.min, r.max));
            assert!(got.is_some(), "{}: no JDK check found", script.display());
            seen += 1;
        }
        assert_eq!(seen, 6);
    }
}
