//! The URLs of an endpoint setting, parsed for the merge: scheme, host, port, path.
//!
//! A value may hold one URL, a list (`["tcp://a:9611", "tcp://b:9611"]`) or a failover group
//! (`{tcp://a:9611 | tcp://b:9611}`, `tcp://a:9611,tcp://b:9611`). The product fills a few
//! placeholders itself; those that name a port of this node are resolved to the base port plus
//! the node's offset (`${mgt.transport.https.port}` → 9443 + offset), the way Carbon does at
//! start-up. Host placeholders (`${carbon.local.ip}`) and `localhost` stay as written: whose
//! address they are is the merge's question.

use crate::fleet::facts::ParsedUrl;

/// Base ports of the placeholders Carbon fills with one of this node's own ports.
const PORT_PLACEHOLDERS: &[(&str, u32)] = &[
    ("mgt.transport.https.port", 9443),
    ("carbon.management.port", 9443),
    ("mgt.transport.http.port", 9763),
    ("https.nio.port", 8243),
    ("http.nio.port", 8280),
    ("jms.port", 5672),
    ("receiver.url.port", 9611),
    ("auth.url.port", 9711),
];

/// Characters that end a URL inside a list or group.
const END: &[char] = &[',', '|', '}', ']', '"', '\'', ' ', ';', '\n', '\t'];

/// Every URL in `value`, in order. `offset` is this node's port offset.
pub fn parse_all(value: &str, offset: u32) -> Vec<ParsedUrl> {
    // `${carbon.context}` is the web context root, `/` unless the server sets another: it
    // starts the path (`…:${mgt.transport.https.port}${carbon.context}services/`).
    let value = value.replace("${carbon.context}", "/");
    let mut out = Vec::new();
    let mut rest = value.as_str();
    while let Some(i) = rest.find("://") {
        let before = &rest[..i];
        let scheme_start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |(p, c)| p + c.len_utf8());
        let scheme = &before[scheme_start..];
        let after = &rest[i + 3..];
        let len = url_len(after);
        if let Some(u) = parse_one(scheme, &after[..len], offset) {
            out.push(u);
        }
        rest = &after[len..];
    }
    out
}

/// The length of the URL body starting at `s` (after `://`): up to a list or group separator,
/// keeping `${…}` placeholders whole.
fn url_len(s: &str) -> usize {
    // An IPv6 literal's `]` is not a list's.
    let start = match s.strip_prefix('[') {
        Some(rest) => rest.find(']').map_or(0, |e| e + 2),
        None => 0,
    };
    let mut depth = 0usize;
    let mut prev = '\0';
    for (i, c) in s.char_indices().skip_while(|(i, _)| *i < start) {
        match c {
            '{' if prev == '$' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            c if depth == 0 && END.contains(&c) => return i,
            _ => {}
        }
        prev = c;
    }
    s.len()
}

fn parse_one(scheme: &str, body: &str, offset: u32) -> Option<ParsedUrl> {
    // Authority: up to the first `/` outside a placeholder.
    let mut depth = 0usize;
    let mut prev = '\0';
    let mut auth_end = body.len();
    for (i, c) in body.char_indices() {
        match c {
            '{' if prev == '$' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            '/' | '?' if depth == 0 => {
                auth_end = i;
                break;
            }
            _ => {}
        }
        prev = c;
    }
    let mut auth = &body[..auth_end];
    // Credentials are never part of the fact.
    if let Some(at) = auth.rfind('@') {
        auth = &auth[at + 1..];
    }
    let (host, port_text) = split_host_port(auth);
    if host.is_empty() {
        return None;
    }
    let port = match port_text {
        Some(p) => resolve_port(p, offset),
        None => match scheme.to_ascii_lowercase().as_str() {
            "https" | "wss" => Some(443),
            "http" | "ws" => Some(80),
            _ => None,
        },
    };
    // The path only: a query or fragment is no address, and may carry a token or a password.
    let rest = &body[auth_end..];
    let path = collapse_slashes(rest.split(['?', '#']).next().unwrap_or(""));
    Some(ParsedUrl {
        scheme: (!scheme.is_empty()).then(|| scheme.to_ascii_lowercase()),
        host: host.to_string(),
        port,
        path,
    })
}

/// `host:port`, `[v6]:port`, `${placeholder}:port`, `host`.
fn split_host_port(auth: &str) -> (&str, Option<&str>) {
    let host_end = if auth.starts_with('[') {
        auth.find(']').map_or(auth.len(), |e| e + 1)
    } else if auth.starts_with("${") {
        auth.find('}').map_or(auth.len(), |e| e + 1)
    } else {
        auth.find(':').unwrap_or(auth.len())
    };
    let host = &auth[..host_end];
    let port = auth[host_end..].strip_prefix(':').filter(|p| !p.is_empty());
    (host, port)
}

fn resolve_port(p: &str, offset: u32) -> Option<u16> {
    if let Ok(n) = p.parse::<u16>() {
        return Some(n);
    }
    let name = p.strip_prefix("${")?.strip_suffix('}')?;
    let base = PORT_PLACEHOLDERS.iter().find(|(n, _)| *n == name)?.1;
    u16::try_from(base.checked_add(offset)?).ok()
}

fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(v: &str, offset: u32) -> ParsedUrl {
        let all = parse_all(v, offset);
        assert_eq!(all.len(), 1, "{v}: {all:?}");
        all.into_iter().next().unwrap()
    }

    #[test]
    fn plain_url() {
        let u = one("https://cp1.example.internal:9443/services/", 0);
        assert_eq!(u.scheme.as_deref(), Some("https"));
        assert_eq!(u.host, "cp1.example.internal");
        assert_eq!(u.port, Some(9443));
        assert_eq!(u.path, "/services/");
    }

    #[test]
    fn product_port_placeholders_get_the_offset() {
        let u = one(
            "https://localhost:${mgt.transport.https.port}${carbon.context}services/",
            2,
        );
        assert_eq!(u.host, "localhost");
        assert_eq!(u.port, Some(9445));
        assert_eq!(u.path, "/services/");
        let u = one("tcp://${carbon.local.ip}:${receiver.url.port}", 1);
        assert_eq!(u.host, "${carbon.local.ip}");
        assert_eq!(u.port, Some(9612));
    }

    #[test]
    fn lists_and_groups() {
        let all = parse_all(r#"["tcp://a:9611", "tcp://b:9612"]"#, 0);
        assert_eq!(
            all.iter()
                .map(|u| (u.host.as_str(), u.port))
                .collect::<Vec<_>>(),
            vec![("a", Some(9611)), ("b", Some(9612))]
        );
        let all = parse_all("{tcp://a:9611 | tcp://b:9611},{ssl://c:9711}", 0);
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].scheme.as_deref(), Some("ssl"));
    }

    #[test]
    fn default_ports_ipv6_credentials_and_unknown_placeholders() {
        assert_eq!(one("https://gw.example.internal/x", 0).port, Some(443));
        assert_eq!(one("tcp://tm", 0).port, None);
        let u = one("https://[fd00::1]:9443/", 0);
        assert_eq!(u.host, "[fd00::1]");
        assert_eq!(u.port, Some(9443));
        let u = one("https://user:pw@host:1/", 0);
        assert_eq!(u.host, "host");
        assert_eq!(one("tcp://h:${unknown.port}", 0).port, None);
        assert_eq!(one("tcp://h:99999", 0).port, None);
    }

    proptest::proptest! {
        /// Any text, any offset: no panic, and every host is non-empty.
        #[test]
        fn any_text_parses_without_panicking(v in "(.|://|\\$\\{|\\[|\\]|:|/){0,40}", offset in proptest::num::u32::ANY) {
            for u in parse_all(&v, offset) {
                proptest::prop_assert!(!u.host.is_empty());
            }
        }
    }

    #[test]
    fn garbage_gives_nothing_and_never_panics() {
        for v in [
            "",
            "://",
            "a://",
            "${",
            "tcp://${",
            "x://[",
            "é://ü:é",
            "::://:::",
        ] {
            let _ = parse_all(v, u32::MAX);
        }
        assert!(parse_all("not a url", 0).is_empty());
        assert_eq!(one("tcp://h:${receiver.url.port}", u32::MAX).port, None);
    }
}
