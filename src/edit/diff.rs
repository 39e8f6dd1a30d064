//! Renders a plan as a unified diff (`similar` finds the changes), uncoloured, with secrets
//! kept out.
//!
//! Headers name each file `a/<path>` / `b/<path>` relative to `--root` (absolute when the file
//! is outside it; `/dev/null` for a new file), so `patch -p1 -d ROOT < diff` writes what
//! `--apply` writes. A line holding a secret is never a context line: a hunk's context stops
//! at it (and two changes on either side of it make two hunks), so every hunk applies with
//! `patch -p1` and no fuzz: a hunk whose trailing context a secret cuts short gets no more
//! leading context than that (see [`hunks`]), and the line numbers are exact, since the diff is made against the
//! very bytes `--apply` edits. `git apply` takes them too, except a hunk left with no context
//! at all (a secret right before and right after a change), which it takes only with
//! `--unidiff-zero`. Only a changed line that itself holds a secret is masked; such a hunk
//! cannot apply, and the diff says so.

use super::plan::{Plan, PlannedFile};
use crate::redact::{MASK, is_plain_non_secret_line, redact_line};
use similar::{ChangeTag, TextDiff};

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
            "# apim-tune: {masked} changed {} masked because {} a secret: the {} holding {} not apply with `patch`; `--apply` writes the real bytes\n",
            if masked == 1 { "line" } else { "lines" },
            if masked == 1 { "it holds" } else { "they hold" },
            if masked == 1 { "hunk" } else { "hunks" },
            if masked == 1 { "it does" } else { "them do" },
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
    let values = known_values(&f.secrets);
    let rows = rows(before, &f.after);
    let hunks = hunks(&rows, |line| mask_line(line, &values) != line);
    if hunks.is_empty() {
        return (String::new(), 0);
    }
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    let mut masked = 0;
    for h in hunks {
        masked += write_hunk(&mut out, &rows[h], &values);
    }
    (out, masked)
}

/// One line of the diff: what it is, its 1-based numbers in the old and new file (the line
/// before it where it has none), and its text with its line end.
#[derive(Debug)]
struct Row {
    tag: ChangeTag,
    old_line: usize,
    new_line: usize,
    text: String,
}

fn rows(before: &str, after: &str) -> Vec<Row> {
    let diff = TextDiff::from_lines(before, after);
    let (mut old_line, mut new_line) = (0, 0);
    let mut out = Vec::new();
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Equal => {
                old_line += 1;
                new_line += 1;
            }
            ChangeTag::Delete => old_line += 1,
            ChangeTag::Insert => new_line += 1,
        }
        out.push(Row {
            tag: change.tag(),
            old_line,
            new_line,
            text: change.value().to_string(),
        });
    }
    out
}

/// The row ranges of the hunks: each change with up to [`CONTEXT`] unchanged lines on either
/// side, context never crossing a line `is_secret` says holds a secret. Changes closer than
/// twice the context (with no secret between them) share a hunk, as `diff -u` has it.
///
/// GNU patch reads a hunk with less context after than before it as anchored at the end of the
/// file (that is where `diff` makes them): so a trailing side cut short by a secret, not by the
/// file's end, cuts the leading side to the same length. (Less context before is read as
/// nothing special: the tests below apply every arrangement with the real `patch`.)
fn hunks(rows: &[Row], is_secret: impl Fn(&str) -> bool) -> Vec<std::ops::Range<usize>> {
    let context_ok = |r: &Row| r.tag == ChangeTag::Equal && !is_secret(&r.text);
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while let Some(first) = (i..rows.len()).find(|&k| rows[k].tag != ChangeTag::Equal) {
        let floor = out.last().map_or(0, |h| h.end);
        let mut lead = 0;
        while first - lead > floor && lead < CONTEXT && context_ok(&rows[first - lead - 1]) {
            lead += 1;
        }
        let mut last = first;
        let trail = loop {
            while last < rows.len() && rows[last].tag != ChangeTag::Equal {
                last += 1;
            }
            let usable = rows[last..].iter().take_while(|r| context_ok(r)).count();
            let next = last + usable;
            let joins = next < rows.len() && rows[next].tag != ChangeTag::Equal;
            if joins && usable <= 2 * CONTEXT {
                last = next;
            } else {
                break usable.min(CONTEXT);
            }
        };
        let at_end = last + trail == rows.len();
        let lead = if trail < lead && !at_end { trail } else { lead };
        out.push(first - lead..last + trail);
        i = last + trail;
    }
    out
}

/// Writes one hunk; returns how many of its changed lines had to be masked.
fn write_hunk(out: &mut String, rows: &[Row], values: &[String]) -> usize {
    let count = |tag: ChangeTag| rows.iter().filter(|r| r.tag != tag).count();
    let (old_len, new_len) = (count(ChangeTag::Insert), count(ChangeTag::Delete));
    // A range starts at its first line; an empty one names the line before it (0 at the top),
    // which is the number every row of the hunk carries then.
    let first = |len: usize, line: fn(&Row) -> usize, skip: ChangeTag| {
        let row = if len == 0 {
            rows.first()
        } else {
            rows.iter().find(|r| r.tag != skip)
        };
        row.map_or(0, line)
    };
    let old_start = first(old_len, |r| r.old_line, ChangeTag::Insert);
    let new_start = first(new_len, |r| r.new_line, ChangeTag::Delete);
    out.push_str(&format!(
        "@@ -{} +{} @@\n",
        range(old_start, old_len),
        range(new_start, new_len)
    ));
    let mut masked = 0;
    for r in rows {
        let marker = match r.tag {
            ChangeTag::Equal => ' ',
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
        };
        let shown = if r.tag == ChangeTag::Equal {
            r.text.clone()
        } else {
            mask_line(&r.text, values)
        };
        if shown != r.text {
            masked += 1;
        }
        out.push(marker);
        out.push_str(&shown);
        if !shown.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
    masked
}

/// `N,LEN`, or `N` alone for one line, as `diff -u` writes a range.
fn range(start: usize, len: usize) -> String {
    if len == 1 {
        start.to_string()
    } else {
        format!("{start},{len}")
    }
}

/// One line of a file as a diff may show it: known secret values masked, then whatever
/// [`redact_line`] recognises on the line itself (secret keys, XML elements and attributes,
/// `-D` flags, URL credentials; the vocabulary is `crate::redact`'s).
fn mask_line(line: &str, values: &[String]) -> String {
    redact_line(&mask_known(line, values))
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

    /// The masked diff lines for `text` (each line prefixed by its marker), as the old
    /// whole-diff masker gave them: the marker stays, the body is masked.
    fn mask(lines: &str, secrets: &[String]) -> (String, usize) {
        let values = known_values(secrets);
        let mut n = 0;
        let out = lines
            .split_inclusive('\n')
            .map(|l| {
                let (marker, body) = l.split_at(1);
                let m = mask_line(body, &values);
                n += usize::from(m != body);
                format!("{marker}{m}")
            })
            .collect();
        (out, n)
    }

    fn plan_diff(before: &str, after: &str, secrets: &[&str]) -> (String, usize) {
        file_diff(&PlannedFile {
            path: "x".into(),
            display: "x".into(),
            real: "x".into(),
            before: Some(before.into()),
            after: after.into(),
            changes: Vec::new(),
            secrets: secrets.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn secrets_are_masked_on_each_line() {
        let (out, n) = mask(
            " password = \"hunter22\"\n-a = 1\n+a = 2\n <password>hunter22</password>\n",
            &["hunter22".into()],
        );
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

    /// Without secrets the hunks are those of `diff -u`: three lines of context, changes six
    /// or fewer lines apart in one hunk, `N` alone for a one-line range.
    #[test]
    fn hunks_are_those_of_diff_u() {
        let before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n";
        let after: String = before
            .lines()
            .filter(|l| *l != "19")
            .map(|l| match l {
                "2" => "two\n".to_string(),
                "9" => "nine\n".to_string(),
                l => format!("{l}\n"),
            })
            .collect();
        let (out, n) = plan_diff(before, &after, &[]);
        assert_eq!(n, 0);
        assert_eq!(
            out,
            "--- a/x\n+++ b/x\n@@ -1,12 +1,12 @@\n 1\n-2\n+two\n 3\n 4\n 5\n 6\n 7\n 8\n-9\n+nine\n 10\n 11\n 12\n@@ -16,5 +16,4 @@\n 16\n 17\n 18\n-19\n 20\n"
        );
        let (out, _) = plan_diff("a\n", "a\nb", &[]);
        assert_eq!(
            out,
            "--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n a\n+b\n\\ No newline at end of file\n"
        );
        let (out, _) = plan_diff("a\n", "a\n", &[]);
        assert_eq!(out, "");
    }

    /// A secret line is never context: the context stops at it, and the changes on either
    /// side of it make two hunks, so both apply with `patch` (issue 17).
    #[test]
    fn context_stops_at_a_secret_line() {
        let before = "[db]\nurl = \"x\"\npassword = \"hunter22\"\npool = 1\nmax = 2\n";
        let after = "[db]\nurl = \"y\"\npassword = \"hunter22\"\npool = 1\nmax = 3\n";
        let (out, n) = plan_diff(before, after, &["hunter22"]);
        assert_eq!(n, 0, "{out}");
        assert_eq!(
            out,
            "--- a/x\n+++ b/x\n@@ -2 +2 @@\n-url = \"x\"\n+url = \"y\"\n@@ -4,2 +4,2 @@\n pool = 1\n-max = 2\n+max = 3\n"
        );
        // A secret right before and after a change: a hunk with no context at all.
        let before = "key_password = a1b2c3\nx = 1\nstore_password = d4e5f6\n";
        let after = "key_password = a1b2c3\nx = 2\nstore_password = d4e5f6\n";
        let (out, _) = plan_diff(before, after, &[]);
        assert_eq!(out, "--- a/x\n+++ b/x\n@@ -2 +2 @@\n-x = 1\n+x = 2\n");
        // Inserting after a secret line: an empty old range names the line before it.
        let (out, _) = plan_diff("password = p4ss\n", "password = p4ss\nnew = 1\n", &[]);
        assert_eq!(out, "--- a/x\n+++ b/x\n@@ -1,0 +2 @@\n+new = 1\n");
    }

    /// Every arrangement of six lines, each plain, a secret or changed, diffed and applied with
    /// the real `patch -p1 --fuzz=0`: each gives the new file, and no secret is context. A hunk
    /// cut short by a secret on its trailing side only used to be read as anchored at the end
    /// of the file and refused (found in review of issue 17).
    #[test]
    fn every_arrangement_of_secrets_and_changes_applies_with_patch() {
        let dir = tempfile::tempdir().unwrap();
        let mut tried = 0;
        for n in 0..3usize.pow(6) {
            let kinds: Vec<usize> = (0..6).map(|i| n / 3usize.pow(i) % 3).collect();
            if !kinds.contains(&2) {
                continue;
            }
            let line = |i: usize, k: usize, new: bool| match k {
                0 => format!("plain{i} = 1\n"),
                1 => format!("password{i} = s3cr3t{i}\n"),
                _ => format!("c{i} = {}\n", if new { 2 } else { 1 }),
            };
            let before: String = kinds
                .iter()
                .enumerate()
                .map(|(i, &k)| line(i, k, false))
                .collect();
            let after: String = kinds
                .iter()
                .enumerate()
                .map(|(i, &k)| line(i, k, true))
                .collect();
            let (diff, masked) = plan_diff(&before, &after, &[]);
            assert_eq!(masked, 0, "{diff}");
            no_secret_in_context(&diff);
            std::fs::write(dir.path().join("x"), &before).unwrap();
            let out = std::process::Command::new("patch")
                .args(["-p1", "--fuzz=0", "-s", "-d"])
                .arg(dir.path())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut child| {
                    // `.ci/run` installs `patch`; its absence fails here, as in tests/cli/apply.rs.
                    use std::io::Write;
                    child.stdin.take().unwrap().write_all(diff.as_bytes())?;
                    child.wait_with_output()
                })
                .unwrap();
            let patched = std::fs::read_to_string(dir.path().join("x")).unwrap();
            assert!(
                out.status.success() && patched == after,
                "{kinds:?}: {}\n{diff}",
                String::from_utf8_lossy(&out.stdout)
            );
            tried += 1;
        }
        assert_eq!(tried, 729 - 64);
    }

    fn no_secret_in_context(diff: &str) {
        for l in diff.lines().filter(|l| l.starts_with(' ')) {
            assert!(!l.contains("password"), "{l:?} is context in:\n{diff}");
        }
    }

    /// Only a changed line holding a secret is masked, and the diff counts it.
    #[test]
    fn a_changed_secret_line_is_masked_and_counted() {
        let (out, n) = plan_diff("password = old1\n", "password = new2\n", &["old1", "new2"]);
        assert_eq!(n, 2, "{out}");
        assert!(!out.contains("old1") && !out.contains("new2"), "{out}");
    }
}
