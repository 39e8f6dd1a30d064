//! The distribution, from `etc/os-release` or `usr/lib/os-release` under the root (os-release(5)
//! order).
//!
//! Owns: finding the file and reading its shell-style assignments. Must not: judge the
//! distribution, run a binary, or read outside the root.

use super::Distro;
use crate::source::read_text;
use std::path::Path;

const OS_RELEASE: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];

/// `etc/os-release`, else `usr/lib/os-release` (os-release(5) order). `None` when neither is
/// readable or neither names anything.
pub fn distro(root: &Path) -> Option<Distro> {
    OS_RELEASE.iter().find_map(|rel| {
        let text = read_text(root, rel)?;
        parse_os_release(&text, rel)
    })
}

fn parse_os_release(text: &str, source: &str) -> Option<Distro> {
    let (mut id, mut version_id, mut pretty_name) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        if value.is_empty() {
            continue;
        }
        match key.trim() {
            "ID" => id = Some(value),
            "VERSION_ID" => version_id = Some(value),
            "PRETTY_NAME" => pretty_name = Some(value),
            _ => {}
        }
    }
    if id.is_none() && version_id.is_none() && pretty_name.is_none() {
        return None;
    }
    Some(Distro {
        // os-release(5): "If not set, a default of ID=linux may be used."
        id: id.unwrap_or_else(|| "linux".to_string()),
        version_id,
        pretty_name,
        source: source.to_string(),
    })
}

/// Strips shell-style quotes: os-release values are shell assignments, and double-quoted ones
/// may escape `"`, `\`, `$` and `` ` `` with a backslash.
fn unquote(v: &str) -> String {
    if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.extend(chars.next()),
                c => out.push(c),
            }
        }
        out
    } else if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        inner.to_string()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::testkit::write;

    #[test]
    fn os_release_with_quotes_and_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(distro(root), None);
        write(
            root,
            "usr/lib/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
             VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n\
             HOME_URL=\"https://www.debian.org/\"\n",
        );
        assert_eq!(
            distro(root),
            Some(Distro {
                id: "debian".to_string(),
                version_id: Some("12".to_string()),
                pretty_name: Some("Debian GNU/Linux 12 (bookworm)".to_string()),
                source: "usr/lib/os-release".to_string(),
            })
        );
        // etc/os-release wins; single quotes and escapes are shell syntax.
        write(
            root,
            "etc/os-release",
            "# comment\nNAME=\"Red Hat Enterprise Linux\"\nID='rhel'\nVERSION_ID=\"9.4\"\n\
             PRETTY_NAME=\"Red Hat \\\"Plow\\\" 9.4\"\n",
        );
        let d = distro(root).unwrap();
        assert_eq!(d.id, "rhel");
        assert_eq!(d.version_id.as_deref(), Some("9.4"));
        assert_eq!(d.pretty_name.as_deref(), Some("Red Hat \"Plow\" 9.4"));
        assert_eq!(d.source, "etc/os-release");
        // os-release(5): ID defaults to `linux`.
        write(root, "etc/os-release", "PRETTY_NAME=\"Custom\"\n");
        assert_eq!(distro(root).unwrap().id, "linux");
    }
}
