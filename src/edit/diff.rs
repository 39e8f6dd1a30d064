//! Renders a plan as a unified diff (`similar`), uncoloured, with secrets masked.
//!
//! Headers name each file `a/<path>` / `b/<path>` relative to `--root` (absolute when the file
//! is outside it; `/dev/null` for a new file), so `patch -p1 -d ROOT < diff` writes what
//! `--apply` writes. A line that would show a secret is masked; such a hunk no longer applies
//! with `patch`, and the renderer says so.

use super::plan::{Plan, PlannedFile};
use crate::redact::MASK;
use similar::TextDiff;

/// Lines of context around each change, as `diff -u`.
const CONTEXT: usize = 3;

pub fn unified(plan: &Plan) -> String {
    let mut out = String::new();
    let mut masked = 0;
    for f in &plan.files {
        let (text, n) = file_diff(f);
        out.push_str(&text);
        masked += n;
    }
    if masked > 0 {
        out.push_str(&format!(
            "# apim-tune: {masked} line(s) masked because they hold a secret; `--apply` writes the real bytes\n"
        ));
    }
    out
}

fn file_diff(f: &PlannedFile) -> (String, usize) {
    let before = f.before.as_deref().unwrap_or("");
    // The real file (links resolved): `patch` refuses to write through a symlink.
    let name = &f.real;
    let (old_name, new_name) = if name.starts_with('/') {
        let old = if f.before.is_some() {
            name.clone()
        } else {
            "/dev/null".into()
        };
        (old, name.clone())
    } else {
        let old = if f.before.is_some() {
            format!("a/{name}")
        } else {
            "/dev/null".into()
        };
        (old, format!("b/{name}"))
    };
    let diff = TextDiff::from_lines(before, f.after.as_str());
    let text = diff
        .unified_diff()
        .context_radius(CONTEXT)
        .header(&old_name, &new_name)
        .to_string();
    mask(&text, &f.secrets)
}

/// Masks secrets in the body lines of a diff: known secret values, and the value part of any
/// line whose key names a password or secret.
fn mask(diff: &str, secrets: &[String]) -> (String, usize) {
    let mut out = String::with_capacity(diff.len());
    let mut count = 0;
    for line in diff.split_inclusive('\n') {
        let is_body =
            !(line.starts_with("---") || line.starts_with("+++") || line.starts_with("@@"));
        if !is_body {
            out.push_str(line);
            continue;
        }
        let mut masked = line.to_string();
        for s in secrets.iter().filter(|s| s.len() >= 3) {
            masked = masked.replace(s.as_str(), MASK);
        }
        masked = mask_secret_assignment(&masked);
        // Credentials inside JDBC and other URLs (`password=`, `user:pass@`, Oracle `u/p@`).
        masked = crate::redact::redact_url(&masked);
        if masked != line {
            count += 1;
        }
        out.push_str(&masked);
    }
    (out, count)
}

/// `password = "x"`, `key_password=x`, `<password>x</password>`: the value part masked.
fn mask_secret_assignment(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    if !(lower.contains("password") || lower.contains("secret") || lower.contains("passwd")) {
        return line.to_string();
    }
    // XML element text.
    if let (Some(open_end), Some(close)) = (line.find('>'), line.rfind("</")) {
        let tag = line[..open_end].to_ascii_lowercase();
        if open_end < close && (tag.contains("pass") || tag.contains("secret")) {
            return format!("{}{MASK}{}", &line[..=open_end], &line[close..]);
        }
    }
    // key = value / key=value / key: value
    if let Some(eq) = line.find(['=', ':']) {
        let key = &lower[..eq];
        if key.contains("password") || key.contains("secret") || key.contains("passwd") {
            let eol = if line.ends_with("\r\n") {
                "\r\n"
            } else if line.ends_with('\n') {
                "\n"
            } else {
                ""
            };
            return format!("{} {MASK}{eol}", &line[..=eq]);
        }
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_in_body_lines_only() {
        let diff = "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n password = \"hunter22\"\n-a = 1\n+a = 2\n <password>hunter22</password>\n";
        let (out, n) = mask(diff, &["hunter22".into()]);
        assert!(!out.contains("hunter22"), "{out}");
        assert_eq!(n, 2);
        assert!(out.contains("+a = 2"));
        let (out, _) = mask(" key_password=abc\r\n", &[]);
        assert_eq!(out, " key_password= ****\r\n");
        let (out, n) = mask(
            "+url = \"jdbc:postgresql://db/apim?user=a&password=Hunter2\"\n",
            &[],
        );
        assert!(!out.contains("Hunter2") && n == 1, "{out}");
    }
}
