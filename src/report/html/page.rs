//! The page around every HTML report: escaping, the stylesheet and the filter script (both
//! inline, allowed by their SHA-256 in the Content-Security-Policy, so the file needs nothing
//! from the network and no `unsafe-inline`), and the document shell.

use super::super::sanitize::sanitize;
use crate::diag::sources::{self, Target};
use sha2::{Digest, Sha256};

/// Text for HTML content and attribute values: terminal controls and bidi overrides made
/// visible first (a value read from a file could reorder what the reader sees), then the five
/// characters HTML gives meaning to.
pub fn esc(s: &str) -> String {
    markup_safe(&sanitize(s), false)
}

/// `s` with the five characters HTML gives meaning to escaped, and with `cr` a carriage return
/// as `&#13;` (HTML reads a bare one as a line end): the diff keeps its bytes this way.
pub fn markup_safe(s: &str, cr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\r' if cr => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// Prose from rules and profiles writes keys and values in backticks: shown as code.
pub fn prose(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(&esc(part));
            out.push_str("</code>");
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

/// A `see` string: each cited source by its title, a link to its address when that is a web
/// URL (nothing is fetched unless the reader follows it), with the part of it that matters.
/// A string that is not in the citation format is shown as it is.
pub fn reference(see: &str) -> String {
    let Ok(cites) = sources::parse_see(see) else {
        return link_or_text(see.trim(), &prose(see));
    };
    let parts: Vec<String> = cites
        .iter()
        .map(|c| {
            // A source of the table by its title; a URL cited in full by itself.
            let (name, url) = match &c.target {
                Target::Known(id) => match sources::get(id) {
                    Some(s) => (s.title.as_str(), s.url.as_str()),
                    None => (*id, ""),
                },
                Target::Url(u) => (u.as_str(), u.as_str()),
            };
            let mut part = link_or_text(url, &esc(name));
            if let Some(d) = &c.detail {
                part.push_str(", ");
                part.push_str(&prose(d));
            }
            part
        })
        .collect();
    parts.join("; ")
}

/// `shown` (already HTML) as a link to `url` when it is an http(s) URL, else as it is.
fn link_or_text(url: &str, shown: &str) -> String {
    let is_url = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(char::is_whitespace);
    if is_url {
        format!(
            "<a href=\"{}\" rel=\"noreferrer noopener\">{shown}</a>",
            esc(url)
        )
    } else {
        shown.to_string()
    }
}

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("filter.js");

/// `sha256-…` as CSP writes a hash source.
fn csp_hash(text: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(text.as_bytes())))
}

/// Standard base64 with padding (RFC 4648), for the two CSP hashes; not worth a crate.
pub(super) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The policy: nothing may load (`default-src 'none'`), only this stylesheet and this script
/// may run, no form may submit, no `<base>` may redirect links. `frame-ancestors` is left out:
/// a `<meta>` policy cannot carry it, and Chromium logs an error when it tries.
pub fn csp() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; base-uri 'none'; form-action 'none'",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    )
}

/// The whole document: `title` (plain text) and `body` (HTML, already escaped).
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"apim-tune\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\
         <script>{SCRIPT}</script>\n</body>\n</html>\n",
        csp = csp(),
        title = esc(title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_terminal_controls() {
        assert_eq!(
            esc("<script>alert(\"x\" & 'y')</script>"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(esc("a\u{202E}b"), "a\\u{202e}b");
        assert_eq!(prose("set `a<b` now"), "set <code>a&lt;b</code> now");
    }

    #[test]
    fn only_web_urls_become_links() {
        assert!(
            reference("https://x.example/a?b=1&c")
                .contains("href=\"https://x.example/a?b=1&amp;c\"")
        );
        assert!(!reference("javascript:alert(1)").contains("href"));
        assert!(!reference("WSO2 docs, `tuning`").contains("href"));
    }

    /// Source ids resolve to their titles and addresses; `verified-facts` (tests in this
    /// repository, no web address) stays text.
    #[test]
    fn cited_sources_are_linked_by_title() {
        let html = reference("jdk-8256717; verified-facts, -XX:MaxPermSize on 17");
        assert!(
            html.starts_with("<a href=\"https://bugs.openjdk.org/browse/JDK-8256717\" rel=\"noreferrer noopener\">JDK-8256717: Expire"),
            "{html}"
        );
        assert!(html.contains("; apim-tune&#39;s own tests"), "{html}");
        assert!(
            html.ends_with("(JDK, systemd), -XX:MaxPermSize on 17"),
            "{html}"
        );
        assert_eq!(html.matches("href").count(), 1, "{html}");
    }

    /// Checked against coreutils' `base64` for the three padding cases.
    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
