//! Secrets never reach output: a `Secret` newtype, and redaction of credentials in URLs.
//!
//! Parsers mark secret values when they read them (datasource passwords, `password`/`secret`
//! keys in deployment.toml); renderers can then only print `****`.

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

/// Whether a key names a secret (`password`, `key_password`, `client_secret`, `secret`…).
pub fn is_secret_key(key: &str) -> bool {
    let last = key
        .rsplit(['.', '/'])
        .next()
        .unwrap_or(key)
        .trim_matches(['\'', '"'])
        .to_ascii_lowercase();
    last.contains("password") || last.contains("secret") || last == "passwd"
}

/// Masks credentials in a JDBC or URL string: `user:pass@`, `password=…`, `;password=…`.
pub fn redact_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let lower = url.to_ascii_lowercase();
    let mut i = 0;
    while i < url.len() {
        let rest = &lower[i..];
        let hit = ["password=", "passwd=", "pwd="]
            .iter()
            .find(|p| rest.starts_with(**p));
        if let Some(p) = hit {
            out.push_str(&url[i..i + p.len()]);
            i += p.len();
            let value_start = i;
            // The value ends at the next parameter, or where the URL itself ends in the text
            // around it (whitespace, a quote, markup).
            while i < url.len()
                && !matches!(
                    url.as_bytes()[i],
                    b'&' | b';' | b'?' | b')' | b'"' | b'\'' | b'<' | b' ' | b'\t' | b'\r' | b'\n'
                )
            {
                i += 1;
            }
            // An empty value (`password=` then a separator) has nothing to hide.
            if i > value_start {
                out.push_str(MASK);
            }
            continue;
        }
        let ch = url[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    // Oracle thin: `jdbc:oracle:thin:user/pass@host`: mask what follows the slash.
    if let Some(at) = out.find('@') {
        let before = &out[..at];
        let seg_start = before.rfind(':').map(|i| i + 1).unwrap_or(0);
        if let Some(slash) = before[seg_start..].find('/') {
            let start = seg_start + slash + 1;
            if start < at && !before[seg_start..].starts_with('/') {
                out.replace_range(start..at, MASK);
            }
        }
    }
    // `scheme://user:pass@host`: mask what follows the colon of the userinfo. The userinfo
    // ends at the LAST `@` of the authority (URL parsers take that one, so an unencoded `@` in
    // the password belongs to the password).
    if let Some(scheme_end) = out.find("://") {
        let after = scheme_end + 3;
        let authority_end = out[after..]
            .find(['/', '?', '#', ' ', '"', '\'', '<'])
            .map(|e| after + e)
            .unwrap_or(out.len());
        if let Some(at) = out[after..authority_end].rfind('@') {
            let userinfo = &out[after..after + at];
            if let Some(colon) = userinfo.find(':') {
                let start = after + colon + 1;
                out.replace_range(start..after + at, MASK);
            }
        }
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
/// and credentials inside URLs.
pub fn redact_args(cmd: &str) -> String {
    let mut out = Vec::new();
    let mut mask_next = false;
    for word in cmd.split(' ') {
        if mask_next && !word.is_empty() {
            out.push(MASK.to_string());
            mask_next = false;
            continue;
        }
        if let Some((k, _)) = word.split_once('=')
            && is_secret_key(k.trim_start_matches('-').trim_start_matches("D"))
        {
            out.push(format!("{k}={MASK}"));
            continue;
        }
        if word.starts_with("--") && is_secret_key(word.trim_start_matches('-')) {
            mask_next = true;
        }
        out.push(redact_url(word));
    }
    out.join(" ")
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
