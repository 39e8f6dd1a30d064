//! Secrets never reach output. The tool's ONE secrets module:
//! - one vocabulary of secret names, [`is_secret_key`], for deployment.toml keys, `-D` flags,
//!   properties keys, XML element and attribute names (and `name="…"` attributes), environment
//!   variables and URL parameters: a last segment containing `password`, `passwd`, `passphrase`
//!   or `secret`; a last word `pass`, `pwd`, `pw`, `token`, `apikey`, `credential(s)`,
//!   `authorization`; a last word `key` after `api`, `secret`, `private`, `access`, `signing`,
//!   `encryption`, `master` or `hmac`. Not secrets: `token_cache`, `max_tokens`,
//!   `passthru_http`, `key_alias`…;
//! - whatever the name, a value starting with `Basic ` or `Bearer ` (any case): an HTTP
//!   credential, masked after the scheme;
//! - a `Secret` newtype that only ever prints `****`;
//! - maskers for what parsers cannot mark: URLs ([`redact_url`], [`redact_connection_url`]),
//!   free text and command lines ([`redact_text`], [`redact_args`]), one line of any config
//!   format ([`redact_line`], used by `--diff` and the Markdown report), messages quoting text
//!   that holds a secret ([`mask_quoted`], used by XML parse errors).
//!
//! Parsers mark secret values when they read them (datasource passwords, secret keys in
//! deployment.toml); renderers can then only print `****`. A value named like a secret but
//! holding `true`/`false` is not masked ([`holds_secret`]): `<RetainOldAccessToken>` is a flag.

use serde::{Serialize, Serializer};
use std::fmt;

pub const MASK: &str = "****";

/// A value that must never be displayed, logged or serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The real value, for the code paths that must write it back (apply), never for output.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(MASK)
    }
}

/// Substrings that make a name's last segment secret wherever they stand, in any case:
/// `password`, `key_password`, `keyStorePassword`, `client_secret`, `passphrase`, `DB_PASSWD`.
const SECRET_PARTS: [&str; 4] = ["password", "passwd", "passphrase", "secret"];

/// Words that make a name secret when they END it: `keystorePass`, `KeyStorePass`,
/// `http.proxyPass`, `db.pass`, `DB_PWD`, `auth_token`, `accessToken`, `token`, `apikey`,
/// `client.authorization` (an HTTP `Authorization` header value). Only as
/// the last word, so `passthru_http`, `PassThroughHttpListener`, `token_cache` and
/// `max_tokens` are not secrets.
const SECRET_LAST_WORDS: [&str; 8] = [
    "pass",
    "pwd",
    "pw",
    "token",
    "apikey",
    "credential",
    "credentials",
    "authorization",
];

/// Words that make a final `key` secret: `api_key`, `apiKey`, `x-api-key`, `-Dsecret.key`,
/// `private_key`, `access.key`. A bare `key`, `key_alias` or `key_manager` is not.
const KEY_QUALIFIERS: [&str; 8] = [
    "api",
    "secret",
    "private",
    "access",
    "signing",
    "encryption",
    "master",
    "hmac",
];

/// Whether a name (a deployment.toml key, a `-D` flag with or without its `-D`, a properties key, an XML
/// element or attribute name, an environment variable, a URL parameter) names a secret.
///
/// The ONE vocabulary of the tool. A name is split in segments at `.`, `/` and `:` (quotes
/// around a segment are ignored) and in words at any other non-alphanumeric character and at a
/// lower-to-upper case change (`keyStorePass` → key, store, pass). It is secret when:
/// - its last segment contains `password`, `passwd`, `passphrase` or `secret` (any case);
/// - or its last word is `pass`, `pwd`, `pw`, `token`, `apikey`, `credential(s)`,
///   `authorization`;
/// - or its last word is `key` and the word before it (in any segment) is `api`, `secret`,
///   `private`, `access`, `signing`, `encryption`, `master` or `hmac`.
///
/// Not secret, on purpose: `token_cache`, `max_tokens`, `token_endpoint`, `password_policy.min`,
/// `passthru_http`, `key_alias`, `key_manager`, `bypass`.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.trim();
    // A JVM flag is named `-Dname` (`-Dsecret.key`, `-Dtoken`), a long option `--name`.
    let key = match key.strip_prefix("-D") {
        Some(name) if !name.is_empty() => name,
        _ => key.trim_start_matches('-'),
    };
    let last_start = key.rfind(['.', '/', ':']).map_or(0, |i| i + 1);
    let (prev, last) = key.split_at(last_start);
    let prev = prev.strip_suffix(['.', '/', ':']).unwrap_or(prev);
    is_secret_segments((!prev.is_empty()).then_some(prev), last)
}

/// Whether an XML attribute names its element as a secret: `name="KeyStorePass"` on
/// `<parameter>`, `name="password"` on `<Property>`; the element's text and `value` attribute
/// are then secrets.
pub fn names_a_secret(attr_name: &str, attr_value: &str) -> bool {
    matches!(attr_name, "name" | "key") && is_secret_key(attr_value)
}

/// [`is_secret_key`] on a name already split: `last` is its last segment (a TOML key segment may
/// hold dots), `before` what comes before it (only its last word matters).
pub fn is_secret_segments(before: Option<&str>, last: &str) -> bool {
    let last = last.trim_matches(['\'', '"', ' ', '\t']);
    if contains_secret_part(last) {
        return true;
    }
    let mut words = Words::new(last);
    let (mut prev_word, mut last_word) = (None, None);
    for w in words.by_ref() {
        prev_word = last_word;
        last_word = Some(w);
    }
    let Some(last_word) = last_word else {
        return false;
    };
    if SECRET_LAST_WORDS
        .iter()
        .any(|s| last_word.eq_ignore_ascii_case(s))
    {
        return true;
    }
    if !last_word.eq_ignore_ascii_case("key") {
        return false;
    }
    let qualifier = prev_word.or_else(|| before.and_then(|b| Words::new(b).last()));
    qualifier.is_some_and(|q| KEY_QUALIFIERS.iter().any(|k| q.eq_ignore_ascii_case(k)))
}

fn contains_secret_part(segment: &str) -> bool {
    if segment.is_ascii() {
        let bytes = segment.as_bytes();
        // Only where a `p` or an `s` stands (either case) can a part start; no allocation.
        return (0..bytes.len()).any(|i| match bytes[i] | 0x20 {
            b'p' => ["password", "passwd", "passphrase"]
                .iter()
                .any(|w| starts_with_ignore_case(&bytes[i..], w.as_bytes())),
            b's' => starts_with_ignore_case(&bytes[i..], b"secret"),
            _ => false,
        });
    }
    let lower = segment.to_lowercase();
    SECRET_PARTS.iter().any(|p| lower.contains(p))
}

fn starts_with_ignore_case(hay: &[u8], word: &[u8]) -> bool {
    hay.get(..word.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(word))
}

/// The words of a name: runs of letters and digits (any non-ASCII character counts as a
/// letter), cut where a lowercase letter or digit is followed by an uppercase one.
struct Words<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Words<'a> {
    fn new(s: &'a str) -> Self {
        Words { s, i: 0 }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let b = self.s.as_bytes();
        let word_byte = |c: u8| c.is_ascii_alphanumeric() || c >= 0x80;
        while self.i < b.len() && !word_byte(b[self.i]) {
            self.i += 1;
        }
        if self.i >= b.len() {
            return None;
        }
        let start = self.i;
        self.i += 1;
        while self.i < b.len()
            && word_byte(b[self.i])
            && !(b[self.i].is_ascii_uppercase()
                && (b[self.i - 1].is_ascii_lowercase() || b[self.i - 1].is_ascii_digit()))
        {
            self.i += 1;
        }
        // Cuts fall on ASCII bytes only, so both ends are character boundaries.
        Some(&self.s[start..self.i])
    }
}

/// Masks credentials in a URL given alone (a JDBC URL, a connection string): the value of any
/// parameter whose name is secret ([`is_secret_key`]: `password=`, `pass=`, `pwd=`,
/// `clientSecret=`, `access_token=`, also written `password%3D`), up to the next `&` or `;` (so
/// a value with a space is masked whole), or a `"`, `<` or backtick that ends the URL in the
/// text around it, or, for a quoted value (`password='…'`), its closing quote; the password of `scheme://user:password@host` (even one holding `/`); and Oracle's
/// `user/password@host`.
pub fn redact_url(url: &str) -> String {
    redact(url, Mode::Url)
}

/// Like [`redact_url`], for URLs and `name=value` words inside free text (a message, an error, a
/// diff line, a command line): a value also ends at whitespace, a quote, `<` or a backtick, and
/// `-D` or `--` before a name is ignored (`-Dsecret.key=x`).
pub fn redact_text(text: &str) -> String {
    redact(text, Mode::Text)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Url,
    Text,
}

fn redact(s: &str, mode: Mode) -> String {
    let out = mask_parameters(s, mode);
    let out = mask_userinfo(&out, mode);
    let out = mask_oracle(&out);
    mask_auth_schemes(&out)
}

/// HTTP credentials carry no secret-like name: `client.authorization = "Basic dXNlcjpw"`,
/// `x_auth = "Bearer abc"`, `-H 'Authorization: Bearer abc'`. A value that STARTS with `Basic `
/// or `Bearer ` (any case) has its credential masked, the scheme kept. Only at the start of a
/// value (the text's start, or after `=`, `:` or a quote, spaces allowed) so that prose such
/// as "uses Basic authentication" stays readable.
fn mask_auth_schemes(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let scheme = ["basic", "bearer"]
            .into_iter()
            .find(|w| starts_with_ignore_case(&b[i..], w.as_bytes()));
        let Some(scheme) = scheme else {
            i += 1;
            continue;
        };
        let before = s[..i].trim_end_matches([' ', '\t']);
        let at_value_start = before.is_empty()
            || matches!(
                before.as_bytes()[before.len() - 1],
                b'=' | b':' | b'"' | b'\''
            );
        let mut cred = i + scheme.len();
        let spaced = b.get(cred).is_some_and(|&c| c == b' ' || c == b'\t');
        while cred < b.len() && (b[cred] == b' ' || b[cred] == b'\t') {
            cred += 1;
        }
        // RFC 6750's b64token (and RFC 7617's base64): the credential's own alphabet.
        let mut end = cred;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b"-._~+/=".contains(&b[end])) {
            end += 1;
        }
        if at_value_start && spaced && end > cred && !s[cred..end].starts_with(MASK) {
            out.push_str(&s[copied..cred]);
            out.push_str(MASK);
            copied = end;
        }
        i = end.max(i + scheme.len());
    }
    out.push_str(&s[copied..]);
    out
}

/// Whether a byte may be part of a parameter or property name.
fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-') || b >= 0x80
}

/// Whether a value that is not quoted ends at this byte.
/// `in_url`: the parameter follows `?`, `&`, `;` (or their encodings), so its value may hold a
/// space even in free text; a word of a command line (`-Ddb.pass=x -Xmx1g`) ends at one.
fn ends_value(rest: &[u8], mode: Mode, in_url: bool) -> bool {
    let b = rest[0];
    if matches!(b, b'&' | b';' | b'\r' | b'\n') {
        return true;
    }
    let encoded = |code: &[u8]| rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(code);
    if encoded(b"%26") || encoded(b"%3b") {
        return true;
    }
    // `"`, `<` and a backtick cannot stand unencoded in a URL: they end the URL itself (in
    // JSON, XML or a message around it). A space can, in the value of a URL given alone.
    matches!(b, b'"' | b'<' | b'`')
        || mode == Mode::Text && b == b'\''
        || mode == Mode::Text && !in_url && matches!(b, b' ' | b'\t' | b',')
}

fn mask_parameters(s: &str, mode: Mode) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let sep = if b[i] == b'=' {
            1
        } else if b.len() - i >= 3 && b[i..i + 3].eq_ignore_ascii_case(b"%3d") {
            3
        } else {
            0
        };
        if sep == 0 {
            i += 1;
            continue;
        }
        let mut key_start = i;
        while key_start > copied && name_byte(b[key_start - 1]) {
            key_start -= 1;
        }
        let mut key = &s[key_start..i];
        if mode == Mode::Text {
            // `-Dname=` and `--name=` on command lines.
            key = key.trim_start_matches('-');
            if key.len() < s[key_start..i].len() && key.starts_with('D') && key.len() > 1 {
                key = &key[1..];
            }
        }
        let value_start = i + sep;
        if key.is_empty() || !is_secret_key(key) || value_start >= b.len() {
            i = value_start;
            continue;
        }
        let (mask_start, mask_end) = match b[value_start] {
            q @ (b'\'' | b'"') => {
                let close = b[value_start + 1..]
                    .iter()
                    .position(|&c| c == q || (mode == Mode::Text && matches!(c, b'\n' | b'\r')))
                    .map_or(b.len(), |p| value_start + 1 + p);
                (value_start + 1, close)
            }
            _ => {
                let mut end = value_start;
                let before = &s.as_bytes()[..key_start];
                let in_url = matches!(before.last(), Some(b'?' | b'&' | b';'))
                    || before.len() >= 3
                        && [b"%26", b"%3f", b"%3b"]
                            .iter()
                            .any(|c| before[before.len() - 3..].eq_ignore_ascii_case(*c));
                while end < b.len() && !ends_value(&b[end..], mode, in_url) {
                    end += 1;
                }
                (value_start, end)
            }
        };
        // An empty value (`password=` then a separator) has nothing to hide.
        if mask_end > mask_start {
            out.push_str(&s[copied..mask_start]);
            out.push_str(MASK);
            copied = mask_end;
        }
        i = mask_end.max(value_start);
    }
    out.push_str(&s[copied..]);
    out
}

/// `scheme://user:password@host`: what follows the colon of the userinfo is masked. The userinfo
/// ends at the LAST `@` of the authority (URL parsers take that one, so an unencoded `@` in the
/// password belongs to the password). A password holding `/` (or `?`, `#`) ends the authority
/// early; then the first `@` after the colon ends it, which at worst masks a port and a path.
fn mask_userinfo(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(scheme_end) = rest.find("://") {
        let after = scheme_end + 3;
        out.push_str(&rest[..after]);
        rest = &rest[after..];
        let text_end = |c: char| mode == Mode::Text && (c.is_whitespace() || "\"'<`".contains(c));
        let url_end = rest.find(text_end).unwrap_or(rest.len());
        let url = &rest[..url_end];
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let authority = &url[..authority_end];
        let userinfo_end = match authority.rfind('@') {
            Some(at) => Some(at),
            None => match authority.find(':') {
                Some(colon) => url[colon..].find('@').map(|at| colon + at),
                None => None,
            },
        };
        if let Some(at) = userinfo_end
            && let Some(colon) = url[..at].find(':')
            && colon + 1 < at
        {
            out.push_str(&url[..=colon]);
            out.push_str(MASK);
            rest = &rest[at..];
        }
    }
    out.push_str(rest);
    out
}

/// Oracle thin or OCI: `jdbc:oracle:thin:user/password@host`: what follows the first slash of
/// the `user/password` segment, up to the `@`, is masked.
fn mask_oracle(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    for marker in [":thin:", ":oci:", ":oci8:"] {
        let mut from = 0;
        while let Some(found) = lower[from..].find(marker) {
            let seg = from + found + marker.len();
            from = seg;
            if seg < copied {
                continue;
            }
            let Some(at) = s[seg..].find('@').map(|a| seg + a) else {
                continue;
            };
            let segment = &s[seg..at];
            if segment.contains(char::is_whitespace) {
                continue;
            }
            if let Some(slash) = segment.find('/')
                && slash > 0
                && seg + slash + 1 < at
            {
                out.push_str(&s[copied..seg + slash + 1]);
                out.push_str(MASK);
                copied = at;
            }
        }
    }
    out.push_str(&s[copied..]);
    out
}

/// Masks what one line of a configuration file (or of a diff of one, without its `+`/`-`/` `
/// marker) can show of a secret, whatever the file's format:
/// - `key = value`, `key=value`, `key: value` at the start (deployment.toml, properties, env
///   files): the whole value when the key is secret (a TOML `password = """` included);
/// - XML: the text of an element named like a secret (`<password>`, `<KeyStorePass>`) or whose
///   `name`/`key` attribute is (`<parameter name="KeyStorePass">x</parameter>`,
///   `<Property name="password" value="x"/>`: its `value` attribute too), and any attribute
///   named like one (`keystorePass="x"`);
/// - `-Dname=value`, `NAME=value` words and URL credentials anywhere ([`redact_text`]).
///
/// A secret spread over several lines (a TOML multi-line string, XML text on its own line) is
/// not recognised from one line: callers also mask the values they know.
pub fn redact_line(line: &str) -> String {
    let body = line.trim_end_matches(['\r', '\n']);
    let eol = &line[body.len()..];
    let masked = mask_assignment(body).unwrap_or_else(|| mask_xml(body));
    let mut out = redact_text(&masked);
    out.push_str(eol);
    out
}

/// `key = value` (or `key=value`, `key: value`, `export KEY=value`) at the start of a line: the
/// key and the byte offset of its separator. `None` for anything else (XML, prose, a value line
/// of a multi-line string).
fn assignment(line: &str) -> Option<(&str, usize)> {
    let sep = line.find(['=', ':'])?;
    let key = line[..sep].trim();
    let key = key.strip_prefix("export ").unwrap_or(key).trim();
    let plain = key
        .bytes()
        .all(|b| name_byte(b) || matches!(b, b'\'' | b'"' | b' ' | b'\t' | b'[' | b']'));
    (!key.is_empty() && plain).then_some((key, sep))
}

/// Whether one config line is plainly NOT a place for a secret: a TOML table header
/// (`[super_admin]`, `[[apim.throttling.url]]`) or a `key = value` whose key is not secret
/// (`username = "admin"`). A value known to be a secret elsewhere must not be masked there:
/// it would hide a setting that is no secret and, by the hole it leaves, show the secret.
/// Credentials such lines may still hold (a URL's `password=`, `Bearer …`) are masked by
/// [`redact_line`] on their own.
pub fn is_plain_non_secret_line(line: &str) -> bool {
    let body = line.trim();
    let header = body.starts_with('[')
        && body
            .split('#')
            .next()
            .is_some_and(|h| h.trim_end().ends_with(']'));
    header || assignment(body).is_some_and(|(key, _)| !is_secret_key(key))
}

/// `key = value` at the start of a line with a secret key: the key and separator, then the mask.
fn mask_assignment(line: &str) -> Option<String> {
    let (key, sep) = assignment(line)?;
    if !is_secret_key(key) {
        return None;
    }
    if !holds_secret(line[sep + 1..].trim()) {
        return Some(line.to_string());
    }
    Some(format!("{} {MASK}", &line[..=sep]))
}

/// Whether a value under a secret name can be a secret: not empty, and not a boolean (a flag
/// like `<RetainOldAccessToken>true</…>` is named like a secret but holds none).
pub fn holds_secret(value: &str) -> bool {
    let v = ['"', '\'']
        .iter()
        .find_map(|&q| value.strip_prefix(q)?.strip_suffix(q))
        .unwrap_or(value);
    !(v.is_empty() || v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"))
}

/// The XML part of [`redact_line`]: element text and `value` attributes of secret elements.
fn mask_xml(line: &str) -> String {
    let b = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut i = 0;
    while let Some(lt) = line[i..].find('<').map(|p| i + p) {
        i = lt + 1;
        let name_end = (lt + 1..b.len())
            .find(|&j| !name_byte(b[j]) && b[j] != b':')
            .unwrap_or(b.len());
        if name_end == lt + 1 {
            continue; // `</x>`, `<!--`, `<?xml`: nothing of a start tag
        }
        let tag_end = line[name_end..].find('>').map(|p| name_end + p);
        let attrs = &line[name_end..tag_end.unwrap_or(b.len())];
        let name = &line[lt + 1..name_end];
        let local = name.rsplit(':').next().unwrap_or(name);
        let named_secret = ["name", "key"]
            .iter()
            .any(|a| attribute(attrs, a).is_some_and(|(s, e)| names_a_secret(a, &attrs[s..e])));
        if !(named_secret || is_secret_key(local)) {
            continue;
        }
        if named_secret && let Some((s, e)) = attribute(attrs, "value") {
            let (s, e) = (name_end + s, name_end + e);
            if e > s {
                out.push_str(&line[copied..s]);
                out.push_str(MASK);
                copied = e;
            }
        }
        let Some(tag_end) = tag_end else { break };
        if b[tag_end - 1] == b'/' {
            i = tag_end + 1;
            continue;
        }
        let text_start = tag_end + 1;
        let text_end = line[text_start..]
            .find('<')
            .map_or(b.len(), |p| text_start + p);
        if holds_secret(line[text_start..text_end].trim()) {
            out.push_str(&line[copied..text_start]);
            out.push_str(MASK);
            copied = text_end;
        }
        i = text_end;
    }
    out.push_str(&line[copied..]);
    out
}

/// The byte range of attribute `name`'s value (between its quotes) inside a tag's attribute text.
fn attribute(attrs: &str, name: &str) -> Option<(usize, usize)> {
    let b = attrs.as_bytes();
    let mut from = 0;
    while let Some(p) = attrs[from..].find(name).map(|p| from + p) {
        from = p + name.len();
        let before_ok = p == 0 || b[p - 1].is_ascii_whitespace();
        let rest = attrs[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let rest = rest[1..].trim_start();
        let start = attrs.len() - rest.len();
        let quote = *rest.as_bytes().first()?;
        if quote != b'"' && quote != b'\'' {
            continue;
        }
        let end = attrs[start + 1..]
            .find(quote as char)
            .map_or(attrs.len(), |e| start + 1 + e);
        return Some((start + 1, end));
    }
    None
}

/// Every `` `quoted` `` fragment of a message masked, for messages about text that holds a
/// secret (a parse error inside `<password>` quotes the bytes it choked on).
pub fn mask_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('`');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        out.push('`');
        // Odd pieces are inside backticks; an unpaired last one is masked too.
        out.push_str(if i % 2 == 0 { MASK } else { part });
    }
    out
}

/// Masks the password of a URL the tool itself connects with (`scheme://user:password@host…`):
/// everything from the first `:` after `://` up to the LAST `@` of the whole string, whatever
/// characters the password holds (`'`, `#`, `/`, `?`, `@`…). Masking too much is harmless;
/// other credentials in the query (`password=`) are masked as [`redact_url`] does.
pub fn redact_connection_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return redact_url(url);
    };
    let after = scheme_end + 3;
    let masked = match (url[after..].rfind('@'), url[after..].find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!("{}{MASK}{}", &url[..after + colon + 1], &url[after + at..])
        }
        _ => url.to_string(),
    };
    redact_url(&masked)
}

/// Masks secret values in a command line: `-Dsome.password=x`, `--password x`, `password=x`,
/// `Bearer`/`Basic` credentials and credentials inside URLs.
///
/// Words are split as systemd and the shell split them: at whitespace outside quotes, so
/// `"-Dkeystore.password=first second"` is ONE word and its value is masked up to its closing
/// quote. Quotes and the spacing between words are kept as written.
pub fn redact_args(cmd: &str) -> String {
    let mut out = String::with_capacity(cmd.len());
    let mut mask_next = false;
    let mut copied = 0;
    for (start, end) in shell_words(cmd) {
        out.push_str(&cmd[copied..start]);
        copied = end;
        let word = &cmd[start..end];
        if mask_next {
            mask_next = false;
            out.push_str(MASK);
            continue;
        }
        if let Some(masked) = mask_word_value(word) {
            out.push_str(&masked);
            continue;
        }
        let bare = unquote(word);
        if bare.starts_with("--") && is_secret_key(&bare) {
            mask_next = true;
        }
        out.push_str(&redact_text(word));
    }
    out.push_str(&cmd[copied..]);
    out
}

/// The byte ranges of the words of a command line: runs of non-whitespace, where whitespace
/// inside `"…"` or `'…'` (or escaped with `\`) does not cut. An unclosed quote runs to the end.
fn shell_words(cmd: &str) -> Vec<(usize, usize)> {
    let b = cmd.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        let mut quote = None;
        while i < b.len() {
            match (quote, b[i]) {
                (None, c) if c.is_ascii_whitespace() => break,
                (None, q @ (b'"' | b'\'')) => quote = Some(q),
                (Some(q), c) if c == q => quote = None,
                (Some(b'\''), _) => {}
                (_, b'\\') => i += 1,
                _ => {}
            }
            i += 1;
        }
        let end = i.min(b.len());
        words.push((start, end));
    }
    words
}

/// A word with its quotes and escapes removed, as the program receives it.
fn unquote(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut quote = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => out.push(c),
            (_, '\\') => out.extend(chars.next()),
            (_, c) => out.push(c),
        }
    }
    out
}

/// One command-line word whose value is a secret (`-Dx.password=v`, `"DB_PASS=v w"`,
/// `JAVA_OPTS=-Dsecret.key=v`), with everything after the secret's `=` masked up to the end
/// of the word; a quote still open there is closed again. `None` if the word holds no such
/// assignment.
fn mask_word_value(word: &str) -> Option<String> {
    let b = word.as_bytes();
    let mut quote = None;
    let mut name_start = 0;
    let mut i = 0;
    while i < b.len() {
        match (quote, b[i]) {
            (None, q @ (b'"' | b'\'')) => quote = Some(q),
            (Some(q), c) if c == q => quote = None,
            (_, b'=') => {
                let name = unquote(&word[name_start..i]);
                if is_secret_key(&name) {
                    let mut masked = format!("{}{MASK}", &word[..=i]);
                    // The quote the value closes: `"-Dp=a b"` shows as `"-Dp=****"`.
                    let open = b[i + 1..].iter().fold(quote, |q, &c| match (q, c) {
                        (None, c @ (b'"' | b'\'')) => Some(c),
                        (Some(q), c) if c == q => None,
                        (q, _) => q,
                    });
                    if let Some(q) = quote.filter(|_| open.is_none()) {
                        masked.push(q as char);
                    }
                    return Some(masked);
                }
                name_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The value of a secret in one word of a unit or environment file, whatever assignments
/// come before it: `DB_PASSWORD=x`, `-Dclient.secret=x`, `JAVA_OPTS=-Dclient.secret=x`,
/// `Environment=JAVA_OPTS=-Dkey.password=x`.
pub fn secret_in_word(word: &str) -> Option<String> {
    let mut start = 0;
    while let Some(eq) = word[start..].find('=').map(|i| start + i) {
        if is_secret_key(&word[start..eq]) {
            return Some(word[eq + 1..].to_string());
        }
        start = eq + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "**** ****");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"****\"");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn command_lines() {
        assert_eq!(
            redact_args("/opt/x/bin/api-manager.sh -Dwso2.admin.password=S3cret -Xmx2g start"),
            "/opt/x/bin/api-manager.sh -Dwso2.admin.password=**** -Xmx2g start"
        );
        assert_eq!(
            redact_args("run --db-password hunter2 -v"),
            "run --db-password **** -v"
        );
    }

    #[test]
    fn keys_and_urls() {
        assert!(is_secret_key("database.apim_db.password"));
        assert!(is_secret_key("keystore.tls.key_password"));
        assert!(is_secret_key("apim.key_manager.'client_secret'"));
        assert!(!is_secret_key("database.apim_db.username"));
        assert_eq!(
            redact_url("jdbc:mysql://db/am?user=a&password=s3cr3t&ssl=true"),
            "jdbc:mysql://db/am?user=a&password=****&ssl=true"
        );
        assert_eq!(
            redact_url("jdbc:postgresql://am:s3cr3t@db:5432/am"),
            "jdbc:postgresql://am:****@db:5432/am"
        );
        assert_eq!(
            redact_url("jdbc:oracle:thin:apim/s3cr3t@db:1521/APIM"),
            "jdbc:oracle:thin:apim/****@db:1521/APIM"
        );
        assert_eq!(
            redact_url("jdbc:oracle:thin:@db.example:1521/APIM"),
            "jdbc:oracle:thin:@db.example:1521/APIM"
        );
        assert_eq!(
            redact_url("jdbc:sqlserver://db;user=a;Password=x;db=am"),
            "jdbc:sqlserver://db;user=a;Password=****;db=am"
        );
        // An unencoded `@` in the password: the userinfo ends at the last `@`.
        assert_eq!(
            redact_url("postgres://apim:top@secret@127.0.0.1:1/db"),
            "postgres://apim:****@127.0.0.1:1/db"
        );
        assert_eq!(
            redact_url("mysql://apim:s3cr3t@db:3306/am?x=a@b"),
            "mysql://apim:****@db:3306/am?x=a@b"
        );
        assert_eq!(redact_url("sqlite://data/a@b.db"), "sqlite://data/a@b.db");
        for (url, shown) in [
            (
                "postgres://quoty:it'sS3cret@h:5432/apim",
                "postgres://quoty:****@h:5432/apim",
            ),
            ("postgres://apim:pa#ss@h/db", "postgres://apim:****@h/db"),
            (
                "mysql://apim:a/b?c d\"e<f@h:3306/am",
                "mysql://apim:****@h:3306/am",
            ),
            ("mysql://apim@h/db", "mysql://apim@h/db"),
            ("sqlite://data/a@b.db", "sqlite://data/a@b.db"),
        ] {
            assert_eq!(redact_connection_url(url), shown);
        }
    }
}

#[cfg(test)]
mod secret_word_tests {
    use super::secret_in_word;

    #[test]
    fn a_secret_is_found_behind_any_assignment() {
        for (word, secret) in [
            ("DB_PASSWORD=hunter2", Some("hunter2")),
            ("-Dcom.example.oauth.client.secret=s3cr3t", Some("s3cr3t")),
            (
                "JAVA_OPTS=-Dcom.example.oauth.client.secret=s3cr3t",
                Some("s3cr3t"),
            ),
            ("Environment=JAVA_OPTS=-Dkey.password=a=b", Some("a=b")),
            ("JAVA_OPTS=-Xmx2g", None),
            ("=", None),
            ("", None),
        ] {
            assert_eq!(secret_in_word(word).as_deref(), secret, "{word}");
        }
    }
}

#[cfg(test)]
mod vocabulary_tests {
    use super::*;

    #[test]
    fn the_names_of_issue_15_are_secrets() {
        for name in [
            "auth_token",
            "apim.analytics.auth_token",
            "api_key",
            "apiKey",
            "x-api-key",
            "token",
            "accessToken",
            "passphrase",
            "secret.key",
            "-Dsecret.key",
            "-Dtoken",
            "-DapiKey",
            "--db-password",
            "db.pass",
            "keystorePass",
            "truststorePass",
            "KeyStorePass",
            "http.proxyPass",
            "DB_PWD",
            "DB_PASS",
            "password",
            "keyStorePassword",
            "apim.key_manager.'client_secret'",
            "private_key",
            "a.'Key.Password'",
        ] {
            assert!(is_secret_key(name), "{name} is a secret");
        }
    }

    #[test]
    fn look_alikes_are_not_secrets() {
        for name in [
            "token_cache",
            "max_tokens",
            "token_endpoint",
            "password_policy.min",
            "passthru_http",
            "passthru_http.worker_pool_size_core",
            "PassThroughHttpListener",
            "bypass",
            "key_alias",
            "apim.key_manager",
            "key",
            "keystore.tls.file_name",
            "EnableGatewayTokenCache",
            "username",
            "",
        ] {
            assert!(!is_secret_key(name), "{name} is not a secret");
        }
    }

    #[test]
    fn urls_given_alone() {
        for (url, shown) in [
            (
                "jdbc:postgresql://db/am?pass=s3cr3t&x=1",
                "jdbc:postgresql://db/am?pass=****&x=1",
            ),
            (
                "jdbc:mysql://db/am?user=a&password='s;3 c'&x=1",
                "jdbc:mysql://db/am?user=a&password='****'&x=1",
            ),
            (
                "jdbc:mysql://db/am?password=with space&x=1",
                "jdbc:mysql://db/am?password=****&x=1",
            ),
            (
                "jdbc:mysql://db/am?p=password%3Ds3cr3t%26x%3D1",
                "jdbc:mysql://db/am?p=password%3D****%26x%3D1",
            ),
            (
                "jdbc:x://db/am?clientSecret=s3cr3t",
                "jdbc:x://db/am?clientSecret=****",
            ),
            (
                "jdbc:postgresql://apim:pa/ss@db:5432/am",
                "jdbc:postgresql://apim:****@db:5432/am",
            ),
            (
                "jdbc:oracle:thin:apim/pa/ss@db:1521/APIM",
                "jdbc:oracle:thin:apim/****@db:1521/APIM",
            ),
            (
                "jdbc:x://db/am?access_token=abc&token_cache=on",
                "jdbc:x://db/am?access_token=****&token_cache=on",
            ),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn lines_of_any_format() {
        for (line, shown) in [
            ("auth_token = \"abc\"\n", "auth_token = ****\n"),
            ("password = \"\"\"\r\n", "password = ****\r\n"),
            ("http.proxyPass=abc", "http.proxyPass= ****"),
            ("token_cache = 100", "token_cache = 100"),
            (
                "  <parameter name=\"KeyStorePass\">abc</parameter>",
                "  <parameter name=\"KeyStorePass\">****</parameter>",
            ),
            (
                "<KeyStorePass>abc</KeyStorePass>",
                "<KeyStorePass>****</KeyStorePass>",
            ),
            (
                "<Property name=\"a.password\" value=\"abc\"/>",
                "<Property name=\"a.password\" value=\"****\"/>",
            ),
            (
                "<Connector keystorePass=\"abc\" truststorePass='d e' port=\"1\"/>",
                "<Connector keystorePass=\"****\" truststorePass='****' port=\"1\"/>",
            ),
            (
                "<RetainOldAccessToken>true</RetainOldAccessToken>",
                "<RetainOldAccessToken>true</RetainOldAccessToken>",
            ),
            (
                "java -Dsecret.key=abc -Ddb.pass=def -Xmx1g",
                "java -Dsecret.key=**** -Ddb.pass=**** -Xmx1g",
            ),
            (
                "Environment=\"JAVA_OPTS=-Dhttp.proxyPass=abc\" \"API_TOKEN=def\"",
                "Environment=\"JAVA_OPTS=-Dhttp.proxyPass=****\" \"API_TOKEN=****\"",
            ),
            (
                "url = \"jdbc:mysql://u:p/w@h/db\"",
                "url = \"jdbc:mysql://u:****@h/db\"",
            ),
        ] {
            assert_eq!(redact_line(line), shown, "{line:?}");
        }
    }

    /// ExecStart words are split as systemd splits them: a quoted word with a space is one
    /// word, its masked value runs to the closing quote (issue 15).
    #[test]
    fn command_lines_with_quotes() {
        for (cmd, shown) in [
            (
                "/opt/x/bin/java \"-Dkeystore.password=myfirst MYSECONDPART\" -jar x",
                "/opt/x/bin/java \"-Dkeystore.password=****\" -jar x",
            ),
            (
                "java '-Dsecret.key=a b c' -Xmx1g",
                "java '-Dsecret.key=****' -Xmx1g",
            ),
            (
                "java -Ddb.pass=\"a b\" -Xmx1g",
                "java -Ddb.pass=**** -Xmx1g",
            ),
            (
                "env \"JAVA_OPTS=-Dx=1 -Dhttp.proxyPass=p q\" run",
                "env \"JAVA_OPTS=-Dx=1 -Dhttp.proxyPass=****\" run",
            ),
            ("run --password \"a b\" -v", "run --password **** -v"),
            ("run  -x  \"a b\"  -v", "run  -x  \"a b\"  -v"),
            (
                "curl -H \"Authorization: Bearer tok55\" u",
                "curl -H \"Authorization: Bearer ****\" u",
            ),
            (
                "java \"-Dunclosed.password=a b",
                "java \"-Dunclosed.password=****",
            ),
        ] {
            assert_eq!(redact_args(cmd), shown, "{cmd}");
        }
    }

    /// HTTP credentials under names that say nothing (issue 15).
    #[test]
    fn basic_and_bearer_credentials() {
        assert!(is_secret_key("client.authorization"));
        assert!(is_secret_key("Authorization"));
        assert!(!is_secret_key("authorization_header"));
        for (line, shown) in [
            (
                "client.authorization = \"Basic dXNlcjpzZWNyZXRzZWNyZXQ=\"",
                "client.authorization = ****",
            ),
            (
                "x_auth = \"Bearer AbearerTok55\"",
                "x_auth = \"Bearer ****\"",
            ),
            ("x_auth = bearer AbearerTok55", "x_auth = bearer ****"),
            ("X_AUTH=BASIC dXNlcjpw", "X_AUTH=BASIC ****"),
            (
                "<header>Bearer AbearerTok55</header>",
                "<header>Bearer AbearerTok55</header>",
            ),
            ("mode = \"Basic\"", "mode = \"Basic\""),
            ("# uses Basic authentication", "# uses Basic authentication"),
        ] {
            assert_eq!(redact_line(line), shown, "{line}");
        }
        assert_eq!(
            redact_text("header: Bearer AbearerTok55"),
            "header: Bearer ****"
        );
    }

    #[test]
    fn lines_that_plainly_hold_no_secret() {
        for line in [
            "[super_admin]",
            "  [[apim.throttling.url]] # x = y",
            "username = \"admin\"",
            "DB_USER=admin",
        ] {
            assert!(is_plain_non_secret_line(line), "{line}");
        }
        for line in [
            "password = \"admin\"",
            "admin",
            "<password>admin</password>",
            "[admin",
        ] {
            assert!(!is_plain_non_secret_line(line), "{line}");
        }
    }

    #[test]
    fn quoted_fragments() {
        assert_eq!(
            mask_quoted("undefined entity `&ss;` in `x`"),
            "undefined entity `****` in `****`"
        );
        assert_eq!(mask_quoted("no quotes"), "no quotes");
        assert_eq!(mask_quoted("odd `abc"), "odd `****");
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    /// Every shape a secret takes on one line, with `{}` for the secret.
    const LINES: [&str; 14] = [
        "password = \"{}\"",
        "auth_token = '{}'",
        "api_key={}",
        "http.proxyPass: {}",
        "<KeyStorePass>{}</KeyStorePass>",
        "<parameter name=\"token\">{}</parameter>",
        "<Connector keystorePass=\"{}\" port=\"9443\"/>",
        "<Property name=\"db.pass\" value=\"{}\"/>",
        "java -Dsecret.key={} -Xmx1g",
        "Environment=\"JAVA_OPTS=-Ddb.pass={}\" \"API_TOKEN={}\"",
        "url = \"jdbc:mysql://h/db?user=a&password={}&ssl=true\"",
        "url = \"jdbc:mysql://h/db?clientSecret={}\"",
        "url = \"jdbc:postgresql://apim:{}@h:5432/db\"",
        "<url>jdbc:oracle:thin:apim/{}@db:1521/APIM</url>",
    ];

    proptest! {
        /// No generated secret survives [`redact_line`] in any of the shapes; the secret's
        /// alphabet is what these places take unescaped (no quotes, `&`, `;`, `<`, spaces).
        #[test]
        fn a_secret_in_any_shape_is_masked(secret in "[A-Za-z0-9][A-Za-z0-9._~!*+/@:-]{3,30}") {
            for shape in LINES {
                let line = shape.replace("{}", &secret);
                let shown = redact_line(&line);
                prop_assert!(!shown.contains(&secret), "{line:?} shows as {shown:?}");
            }
        }

        /// A URL given alone hides a password holding anything but its own separators.
        #[test]
        fn a_url_password_is_masked(secret in "[A-Za-z0-9][A-Za-z0-9 ._~!*+/@:'-]{3,30}") {
            for shape in [
                "jdbc:postgresql://db/am?user=a&password={}",
                "jdbc:postgresql://db/am?pass={}&ssl=true",
                "jdbc:postgresql://db/am?options=password%3D{}",
            ] {
                let url = shape.replace("{}", &secret);
                let shown = redact_url(&url);
                prop_assert!(!shown.contains(&secret), "{url:?} shows as {shown:?}");
            }
        }
    }
}
