//! Renders a plan as a unified diff (`similar`), uncoloured, with secrets masked.
//!
//! Headers name each file `a/<path>` / `b/<path>` relative to `--root` (absolute when the file
//! is outside it; `/dev/null` for a new file), so `patch -p1 -d ROOT < diff` writes what
//! `--apply` writes. A line that would show a secret is masked; such a hunk no longer applies
//! with `patch`, and the renderer says so.

use super::plan::{Plan, PlannedFile};
use crate::redact::{MASK, is_plain_non_secret_line, redact_line};
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

/// Masks secrets in the body lines of a diff: known secret values (each line of a multi-line
/// one too), and whatever [`redact_line`] recognises on the line itself (secret keys, XML
/// elements and attributes, `-D` flags, URL credentials; the vocabulary is `crate::redact`'s).
fn mask(diff: &str, secrets: &[String]) -> (String, usize) {
    let values = known_values(secrets);
    let mut out = String::with_capacity(diff.len());
    let mut count = 0;
    for line in diff.split_inclusive('\n') {
        let is_body =
            !(line.starts_with("---") || line.starts_with("+++") || line.starts_with("@@"));
        if !is_body || line.len() < 2 {
            out.push_str(line);
            continue;
        }
        // The first byte is the diff's own marker (`+`, `-`, ` `, `\`), not part of the file.
        let (marker, body) = line.split_at(1);
        let masked = mask_known(body, &values);
        let masked = format!("{marker}{}", redact_line(&masked));
        if masked != line {
            count += 1;
        }
        out.push_str(&masked);
    }
    (out, count)
}

/// Masks the known secret values on one line of a file, where they can be a secret:
/// - a line that IS one (a line of a TOML `"""…"""` password) is masked whole;
/// - on a line that plainly holds none ([`is_plain_non_secret_line`]: a TOML table header, a
///   `key = value` whose key is no secret) only a value that IS a known secret, whole
///   (`username = "admin"` when the password is `admin`: printing it would print the
///   password), never a part of a name or value (`[super_admin]`, `apimadmin`);
/// - elsewhere only whole tokens: bounded by characters that cannot continue a name
///   (`[A-Za-z0-9_.-]`) and not a name themselves (`<admin>`, `admin=` of XML).
fn mask_known(body: &str, values: &[String]) -> String {
    let text = body.trim_end_matches(['\r', '\n']);
    let eol = &body[text.len()..];
    let trimmed = text.trim();
    if let Some(v) = values.iter().find(|v| v.as_str() == trimmed) {
        let lead = &text[..text.len() - text.trim_start().len()];
        let trail = &text[lead.len() + v.len()..];
        return format!("{lead}{MASK}{trail}{eol}");
    }
    if is_plain_non_secret_line(text) {
        return mask_whole_value(text, values).map_or_else(|| body.to_string(), |m| m + eol);
    }
    let mut masked = body.to_string();
    for v in values {
        masked = replace_tokens(&masked, v);
    }
    masked
}

/// `key = value` with the value masked when, unquoted, it is one of `values`; `None` otherwise
/// (also for a table header).
fn mask_whole_value(text: &str, values: &[String]) -> Option<String> {
    let sep = text.find(['=', ':'])?;
    let raw = text[sep + 1..].trim();
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|&q| raw.strip_prefix(q)?.strip_suffix(q))
        .unwrap_or(raw);
    values
        .iter()
        .any(|v| v == unquoted)
        .then(|| format!("{} {MASK}", &text[..=sep]))
}

/// `text` with each whole-token occurrence of `value` masked (see [`mask_known`]).
fn replace_tokens(text: &str, value: &str) -> String {
    let b = text.as_bytes();
    let name_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-');
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(p) = text[from..].find(value).map(|p| from + p) {
        let end = p + value.len();
        from = p + 1;
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let before = text[..p].trim_end_matches('/');
        let bounded = (p == 0 || !name_char(b[p - 1])) && (end == b.len() || !name_char(b[end]));
        let a_tag_name = before.ends_with('<');
        let an_attribute_name = text[end..].trim_start().starts_with('=');
        if p < copied || !bounded || a_tag_name || an_attribute_name {
            continue;
        }
        out.push_str(&text[copied..p]);
        out.push_str(MASK);
        copied = end;
        from = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// The strings to mask for the secret values a parser found: the value, and each line of a
/// multi-line one (a TOML `"""…"""` password shows in a diff one line at a time). Values under
/// three characters are left to [`redact_line`]: replacing them everywhere would garble the diff.
fn known_values(secrets: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in secrets {
        let s = s.trim_matches(['"', '\'']);
        for part in std::iter::once(s).chain(s.lines().map(str::trim)) {
            let part = part.trim_end_matches('\\');
            if part.chars().count() >= 3
                && crate::redact::holds_secret(part)
                && !out.iter().any(|o| o == part)
            {
                out.push(part.to_string());
            }
        }
    }
    // Longest first, so that a value containing another is masked whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
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

    /// A known password `admin` is masked where it is the value, also under a name that is no
    /// secret, never inside a name or a longer token (issue 15).
    #[test]
    fn a_known_value_is_masked_only_as_a_whole_value() {
        let diff = " [super_admin]\n username = \"admin\"\n-password = \"admin\"\n+password = \"admin\"\n user = \"apimadmin\"\n <admin>x</admin>\n <UserName>admin</UserName>\n admin.x = 1\n";
        let (out, _) = mask(diff, &["admin".into()]);
        for shown in [
            " [super_admin]\n",
            " username = ****\n",
            "-password = ****\n",
            "+password = ****\n",
            " user = \"apimadmin\"\n",
            " <admin>x</admin>\n",
            " <UserName>****</UserName>\n",
            " admin.x = 1\n",
        ] {
            assert!(out.contains(shown), "{shown:?} in:\n{out}");
        }
    }

    /// Lines of a multi-line secret stay masked whole, even one that looks like an assignment.
    #[test]
    fn lines_of_a_multi_line_secret_are_masked() {
        let diff = "+password = \"\"\"\n+first = part\n+  [second]  \n+\"\"\"\n";
        let (out, n) = mask(diff, &["first = part\n  [second]  ".into()]);
        assert_eq!(out, "+password = ****\n+****\n+  ****  \n+\"\"\"\n",);
        assert_eq!(n, 3);
    }
}
