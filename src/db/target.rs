//! Which database to open: `--url` (`sqlite://PATH`, `postgres://…`, `mysql://…`) or the API-M
//! home's own datasource (`[database.apim_db]` in deployment.toml, `WSO2AM_DB` in
//! master-datasources.xml). The password is a [`Secret`]; only the masked form is ever shown.

use super::dialect::Engine;
use crate::model::SourceFile;
use crate::redact::{Secret, redact_connection_url, redact_url};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Target {
    pub engine: Engine,
    /// The URL sqlx connects with (password included): never printed.
    pub url: Secret,
    /// The URL with its password masked, for every message.
    pub display: String,
    /// How long opening a connection may take, handshake and login included
    /// ([`DEFAULT_CONNECT_TIMEOUT`] unless `--connect-timeout` says otherwise).
    pub connect_timeout: Duration,
    /// `--ca-file`: the PEM certificates a server's TLS certificate must chain to.
    pub ca: Option<CaFile>,
}

/// A CA file, read once when the command starts (so a missing or wrong file is an error before
/// any connection, named with its path).
#[derive(Clone, Debug)]
pub struct CaFile {
    pub path: PathBuf,
    /// Only the file's certificate sections: a private key kept in the same bundle never
    /// reaches sqlx, whose errors quote the PEM it was given.
    pub pem: Vec<u8>,
    /// How the server is checked against these certificates.
    pub verify: Verify,
}

/// How far a server's certificate is checked when `--ca-file` is given. sqlx reads the CA file
/// only in its verifying modes, so a CA file always means one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// The chain and the host name: verify-full (PostgreSQL), VERIFY_IDENTITY (MySQL).
    Full,
    /// The chain only: verify-ca (PostgreSQL), VERIFY_CA (MySQL).
    Ca,
}

/// A CA bundle larger than this is not a CA bundle (Debian's whole system bundle is ~220 KB).
const MAX_CA_BYTES: u64 = 4 * 1024 * 1024;

/// Long enough for a server across a WAN and a TLS-less login, short enough that a cron job or
/// timer facing a server that accepts and never answers fails in seconds instead of hanging.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest `--connect-timeout` accepted, in seconds.
pub const MAX_CONNECT_TIMEOUT_SECS: u64 = 300;

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let url = url.trim();
        let engine = if let Some(rest) = url.strip_prefix("sqlite:") {
            if rest.trim_start_matches('/').is_empty() {
                return Err("`sqlite://` needs a file path, e.g. sqlite://apim.db".into());
            }
            Engine::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Engine::MySql
        } else {
            return Err(format!(
                "`{}` is not a database URL apim-tune knows: use sqlite://PATH, \
                 postgres://USER:PASSWORD@HOST:PORT/DB or mysql://USER:PASSWORD@HOST:PORT/DB",
                redact_connection_url(url)
            ));
        };
        // sqlx knows `mysql://` only; MariaDB speaks the same protocol.
        let url = match url.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => url.to_string(),
        };
        if engine != Engine::Sqlite {
            // Refuses a TLS key sqlx would ignore (`SSLMODE=`), which would leave TLS at its
            // unverified default without a word.
            url_tls_mode(&url)?;
        }
        Ok(Target {
            engine,
            display: redact_connection_url(&url),
            url: Secret::new(url),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            ca: None,
        })
    }

    /// The same target verifying the server against the certificates in `path` (`--ca-file`).
    /// Without an `sslmode`/`ssl-mode` in the URL, giving a CA file means "verify": the mode
    /// becomes verify-full (PostgreSQL) or VERIFY_IDENTITY (MySQL/MariaDB). sqlx reads the CA
    /// file in its verifying modes only, so `require`/`REQUIRED` becomes verify-ca/VERIFY_CA
    /// (as libpq does when it finds a root certificate), and a mode that may skip TLS or the
    /// check (disable, allow, prefer; DISABLED, PREFERRED) is refused rather than ignoring the
    /// file.
    pub fn with_ca_file(mut self, path: &Path) -> Result<Target, String> {
        if self.engine == Engine::Sqlite {
            return Err("--ca-file is for PostgreSQL and MySQL/MariaDB servers, not SQLite".into());
        }
        let verify = ca_verify(self.engine, url_tls_mode(self.url.expose())?.as_deref())
            .map_err(|why| format!("--ca-file {}: {why}", path.display()))?;
        let text = crate::source::read_text_at_most(path, MAX_CA_BYTES)
            .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        let pem = certificates_only(&text)
            .map_err(|why| format!("--ca-file {}: {why}", path.display()))?;
        self.ca = Some(CaFile {
            path: path.to_path_buf(),
            pem,
            verify,
        });
        Ok(self)
    }

    /// The same target with another connect timeout.
    pub fn with_connect_timeout(mut self, limit: Duration) -> Target {
        self.connect_timeout = limit;
        self
    }

    /// The file of a `sqlite:` URL (`sqlite://rel/path`, `sqlite:///abs/path`, `sqlite:path`).
    pub fn sqlite_path(&self) -> PathBuf {
        let raw = self.url.expose();
        let rest = raw.strip_prefix("sqlite:").unwrap_or(raw);
        let rest = rest.split('?').next().unwrap_or(rest);
        let path = match rest.strip_prefix("//") {
            Some(p) => p,
            None => rest,
        };
        PathBuf::from(path)
    }
}

/// The TLS mode a PostgreSQL or MySQL URL names (`sslmode=` or `ssl-mode=`, which sqlx reads
/// for both engines), as written. A key that is one of those in other letter case
/// (`SSLMODE=`) is refused: sqlx matches the keys exactly and would skip it silently.
fn url_tls_mode(url: &str) -> Result<Option<String>, String> {
    let Some((_, query)) = url.split_once('?') else {
        return Ok(None);
    };
    let mut mode = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        // sqlx percent-decodes the keys, so `ssl%6Dode` is `sslmode` to it.
        let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
        if key == "sslmode" || key == "ssl-mode" {
            mode = Some(
                percent_encoding::percent_decode_str(value)
                    .decode_utf8_lossy()
                    .into_owned(),
            );
        } else if key.eq_ignore_ascii_case("sslmode") || key.eq_ignore_ascii_case("ssl-mode") {
            return Err(format!(
                "the URL's `{key}=` would be ignored (the database driver reads only the \
                 lower-case `sslmode=` or `ssl-mode=`), leaving TLS unverified: write it in \
                 lower case"
            ));
        }
    }
    Ok(mode)
}

/// How a `--ca-file` verifies under the URL's TLS mode `mode`; the reason when the mode would
/// never read the file. An unknown mode is left to sqlx, which refuses it when it parses the URL.
fn ca_verify(engine: Engine, mode: Option<&str>) -> Result<Verify, String> {
    let Some(mode) = mode else {
        return Ok(Verify::Full);
    };
    let lower = mode.to_ascii_lowercase();
    let (key, full, ca) = match engine {
        Engine::MySql => ("ssl-mode", "VERIFY_IDENTITY", "VERIFY_CA"),
        _ => ("sslmode", "verify-full", "verify-ca"),
    };
    match (engine, lower.as_str()) {
        (Engine::Postgres, "require" | "verify-ca") | (Engine::MySql, "required" | "verify_ca") => {
            Ok(Verify::Ca)
        }
        (Engine::Postgres, "disable" | "allow" | "prefer")
        | (Engine::MySql, "disabled" | "preferred") => Err(format!(
            "the URL's {key}={mode} may connect without TLS or without checking the server's \
             certificate, so the CA file would never be read: use {key}={full} (or {ca}), or \
             leave out --ca-file"
        )),
        _ => Ok(Verify::Full),
    }
}

/// The certificate sections of a CA file's text, checked the way sqlx checks them, so sqlx
/// never refuses them with an error that quotes the whole file (a private key kept in the same
/// bundle included). The reason names no part of the file's content.
fn certificates_only(text: &str) -> Result<Vec<u8>, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut count = 0usize;
    for cert in CertificateDer::pem_slice_iter(text.as_bytes()) {
        if cert.is_err() {
            return Err(
                "a PEM section in it is not valid (bad base64 or a missing END line)".into(),
            );
        }
        count += 1;
    }
    if count == 0 {
        return Err("no PEM certificate in it (`-----BEGIN CERTIFICATE-----`)".into());
    }
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            break;
        };
        out.push_str(&rest[start..start + len + END.len()]);
        out.push('\n');
        rest = &rest[start + len + END.len()..];
    }
    // The cut-out sections must be the same certificates the parser found, or a section was
    // cut wrong: refuse rather than verify against fewer CAs than the file holds.
    let again: Vec<_> = CertificateDer::pem_slice_iter(out.as_bytes()).collect();
    if again.len() != count || again.iter().any(|c| c.is_err()) {
        return Err("its certificate sections could not be read apart from the rest".into());
    }
    Ok(out.into_bytes())
}

/// A JDBC URL and credentials from the API-M home turned into a [`Target`].
///
/// H2 (the shipped default) has no server apim-tune can reach; a `$secret{alias}` password is
/// encrypted by the Secure Vault and cannot be read here. Both are refused with what to do.
pub fn from_jdbc(jdbc: &str, user: &str, password: &str, source: &str) -> Result<Target, String> {
    let lower = jdbc.to_ascii_lowercase();
    if lower.starts_with("jdbc:h2:") {
        return Err(format!(
            "{source} points at an embedded H2 database; apim-tune reads PostgreSQL, \
             MySQL/MariaDB or SQLite: pass --url"
        ));
    }
    if password.trim_start().starts_with("$secret{") {
        return Err(format!(
            "{source} keeps its password in the Secure Vault ($secret{{…}}); pass --url"
        ));
    }
    let (scheme, rest) = if let Some(r) = strip_ci(jdbc, "jdbc:postgresql://") {
        ("postgres", r)
    } else if let Some(r) = strip_ci(jdbc, "jdbc:mysql://") {
        ("mysql", r)
    } else if let Some(r) = strip_ci(jdbc, "jdbc:mariadb://") {
        ("mariadb", r)
    } else {
        return Err(format!(
            "{source}: `{}` is not a PostgreSQL or MySQL/MariaDB JDBC URL; pass --url",
            redact_url(jdbc)
        ));
    };
    // Of the JDBC query options only the TLS mode means something to sqlx; the others
    // (autoReconnect=…, characterEncoding=…) are dropped.
    let mut parts = rest.splitn(2, ['?', ';']);
    let host_db = parts.next().unwrap_or(rest);
    let tls = parts.next().and_then(|q| jdbc_tls_mode(scheme, q));
    // sqlx speaks MySQL's protocol to MariaDB; only the TLS options differ (above).
    let scheme = if scheme == "mariadb" { "mysql" } else { scheme };
    let url = format!(
        "{scheme}://{}:{}@{host_db}{}",
        percent_encode(user),
        percent_encode(password),
        tls.map(|m| format!("?{m}")).unwrap_or_default()
    );
    Target::parse(&url)
}

/// The sqlx TLS mode a JDBC URL's options ask for, never a weaker one than the driver would use:
///
/// - pgjdbc: `sslmode=…` as is; else `ssl=true` (or a bare `ssl`) is verify-full, which is what
///   pgjdbc does with `ssl` and no `sslmode`.
/// - MySQL Connector/J and MariaDB Connector/J: `sslMode=…` (either driver's spelling); else
///   Connector/J's `useSSL=true`, `requireSSL=true` or `verifyServerCertificate=true` is
///   VERIFY_CA, or REQUIRED with `verifyServerCertificate=false` /
///   `trustServerCertificate=true`; MariaDB Connector/J's `useSsl=true` is VERIFY_IDENTITY
///   (VERIFY_CA with `disableSslHostnameVerification=true`, REQUIRED with
///   `trustServerCertificate=true`); `useSSL=false` alone is DISABLED.
fn jdbc_tls_mode(scheme: &str, query: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = query
        .split(['&', ';'])
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let is = |k: &str, want: &str| get(k).is_some_and(|v| v.eq_ignore_ascii_case(want));
    let safe = |v: &str| {
        !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if scheme == "postgres" {
        if let Some(v) = get("sslmode").filter(|v| safe(v)) {
            return Some(format!("sslmode={}", v.to_ascii_lowercase()));
        }
        // pgjdbc (SslMode.of): without sslmode, `ssl=true` or a bare `ssl` is verify-full;
        // any other value falls back to prefer, which is sqlx's default too.
        return match get("ssl") {
            Some(v) if v.is_empty() || v.eq_ignore_ascii_case("true") => {
                Some("sslmode=verify-full".into())
            }
            _ => None,
        };
    }
    if let Some(v) = get("sslmode").filter(|v| safe(v)) {
        let mode = match v.to_ascii_lowercase().as_str() {
            // MariaDB Connector/J 3's names, then Connector/J's.
            "disable" | "disabled" => "DISABLED".to_string(),
            "trust" | "required" => "REQUIRED".to_string(),
            "verify-ca" | "verify_ca" => "VERIFY_CA".to_string(),
            "verify-full" | "verify_identity" => "VERIFY_IDENTITY".to_string(),
            // PREFERRED, or a value sqlx refuses by name when it parses the URL.
            _ => v.to_ascii_uppercase(),
        };
        return Some(format!("ssl-mode={mode}"));
    }
    let unverified = is("verifyservercertificate", "false") || is("trustservercertificate", "true");
    if scheme == "mariadb" {
        // MariaDB Connector/J 2: `useSsl` checks the chain and the host name unless told not
        // to (found in review of issue 17: VERIFY_CA dropped the host-name check).
        return if is("usessl", "true") || is("requiressl", "true") {
            Some(
                if is("trustservercertificate", "true") {
                    "ssl-mode=REQUIRED"
                } else if is("disablesslhostnameverification", "true") {
                    "ssl-mode=VERIFY_CA"
                } else {
                    "ssl-mode=VERIFY_IDENTITY"
                }
                .into(),
            )
        } else {
            is("usessl", "false").then(|| "ssl-mode=DISABLED".into())
        };
    }
    // Connector/J: `requireSSL` or `verifyServerCertificate=true` means TLS (its `useSSL`
    // defaults to on) and, unless told otherwise, a checked chain.
    if is("usessl", "true") || is("requiressl", "true") || is("verifyservercertificate", "true") {
        return Some(
            if unverified {
                "ssl-mode=REQUIRED"
            } else {
                "ssl-mode=VERIFY_CA"
            }
            .into(),
        );
    }
    is("usessl", "false").then(|| "ssl-mode=DISABLED".into())
}

fn strip_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

/// What a user or password keeps as is in a URL: RFC 3986's unreserved characters. Everything
/// else (`@`, `:`, `/`, `%`, UTF-8 bytes…) is percent-encoded.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, USERINFO).to_string()
}

/// Which of an API-M home's databases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datasource {
    /// The API-M database (tokens, codes, sessions): `[database.apim_db]`, WSO2AM_DB.
    Apim,
    /// The registry's database, which holds REG_LOG: `[database.shared_db]` (3.x/4.x); on
    /// 2.x the datasource registry.xml mounts (else WSO2_CARBON_DB, the registry's default).
    Registry,
}

/// The WSO2AM_DB datasource of an API-M home: deployment.toml (3.x/4.x) or
/// master-datasources.xml (2.x). Values are read from the raw file text, since the parsed
/// models mask passwords.
pub fn from_home(home: &Path) -> Result<Target, String> {
    datasource_of_home(home, Datasource::Apim)
}

/// Whether an error of [`datasource_of_home`] says the home keeps no server database of that
/// kind (no `[database.…]` table, or the shipped embedded H2), as opposed to one it cannot use
/// (a Secure Vault password, an unknown JDBC URL): only the first lets a caller fall back to
/// the API-M database. The two messages are this module's own, below and in [`from_jdbc`].
pub fn is_no_server_database(err: &str) -> bool {
    err.contains(" points at an embedded H2 database;") || err.contains(" has no [database.")
}

/// One of the home's datasources as a [`Target`].
pub fn datasource_of_home(home: &Path, which: Datasource) -> Result<Target, String> {
    let toml_path = home.join("repository/conf/deployment.toml");
    if toml_path.is_file() {
        let key = match which {
            Datasource::Apim => "apim_db",
            Datasource::Registry => "shared_db",
        };
        return from_deployment_toml(&toml_path, key);
    }
    let name = match which {
        Datasource::Apim => "WSO2AM_DB".to_string(),
        Datasource::Registry => registry_datasource_2x(home)?,
    };
    from_master_datasources(home, &name)
}

/// `[database.KEY]` of a deployment.toml.
fn from_deployment_toml(toml_path: &Path, key: &str) -> Result<Target, String> {
    // Capped and regular-file only, as every config read: a FIFO here must not hang `db`.
    let text = crate::source::read_text_at_most(toml_path, crate::source::MAX_FILE_BYTES)
        .map_err(|e| format!("{}: {e}", toml_path.display()))?;
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let file = SourceFile::new(
            toml_path.to_path_buf(),
            toml_path.display().to_string(),
            text.clone(),
        );
        let (line, column) = e.span().map(|s| file.line_col(s.start)).unwrap_or((1, 1));
        format!(
            "{}:{line}:{column}: not valid TOML: {}",
            toml_path.display(),
            e.message()
        )
    })?;
    let db = doc
        .get("database")
        .and_then(|d| d.get(key))
        .ok_or_else(|| {
            format!(
                "{} has no [database.{key}]: pass --url",
                toml_path.display()
            )
        })?;
    let get = |k: &str| db.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let source = format!("{} [database.{key}]", toml_path.display());
    let url = get("url");
    if url.is_empty() {
        return Err(format!("{source} has no `url`: pass --url"));
    }
    from_jdbc(&url, &get("username"), &get("password"), &source)
}

/// A 2.x home's XML config file, parsed with the audit's own parser (comments are not
/// elements, a broken file is reported with its line and column but never its text, which can
/// be the password).
fn read_xml(path: &Path, what: &str) -> Result<crate::apim::xml::XmlDoc, String> {
    let text = crate::source::read_text_at_most(path, crate::source::MAX_FILE_BYTES)
        .map_err(|e| format!("{what} ({e}): pass --url"))?;
    let file = SourceFile::new(path.to_path_buf(), path.display().to_string(), text);
    crate::apim::xml::parse(file)
        .map_err(|p| format!("{}: not well-formed XML: pass --url", p.location))
}

/// The first value at `path` in `doc`.
fn xml_value(doc: &crate::apim::xml::XmlDoc, path: &str) -> Option<String> {
    crate::apim::xml::XPath::parse(path)
        .ok()
        .and_then(|x| doc.query(&x).into_iter().next())
        .map(|h| h.value)
}

/// The datasource (by name in master-datasources.xml) that holds a 2.x home's registry: the
/// one whose JNDI name registry.xml's mounted `dbConfig` (a `remoteInstance`) uses, else its
/// `currentDBConfig`'s; WSO2_CARBON_DB when registry.xml is absent (the shipped default).
fn registry_datasource_2x(home: &Path) -> Result<String, String> {
    let reg_path = home.join("repository/conf/registry.xml");
    if !reg_path.is_file() {
        return Ok("WSO2_CARBON_DB".into());
    }
    let reg = read_xml(&reg_path, &format!("{}", reg_path.display()))?;
    let config = xml_value(&reg, "/wso2registry/remoteInstance/dbConfig")
        .or_else(|| xml_value(&reg, "/wso2registry/currentDBConfig"))
        .ok_or_else(|| format!("{} names no dbConfig: pass --url", reg_path.display()))?;
    let jndi = xml_value(
        &reg,
        &format!(
            "/wso2registry/dbConfig[@name='{}']/dataSource",
            config.trim()
        ),
    )
    .ok_or_else(|| {
        format!(
            "{}: dbConfig `{}` has no dataSource: pass --url",
            reg_path.display(),
            config.trim()
        )
    })?;
    let xml_path = home.join("repository/conf/datasources/master-datasources.xml");
    let doc = read_xml(&xml_path, &format!("{}", xml_path.display()))?;
    let base = "/datasources-configuration/datasources/datasource";
    let names = crate::apim::xml::XPath::parse(&format!("{base}/name"))
        .map(|x| doc.query(&x))
        .unwrap_or_default();
    names
        .into_iter()
        .map(|h| h.value)
        .find(|n| {
            xml_value(&doc, &format!("{base}[name='{n}']/jndiConfig/name"))
                .is_some_and(|j| j.trim() == jndi.trim())
        })
        .ok_or_else(|| {
            format!(
                "{}: no datasource has the JNDI name `{}` that registry.xml uses: pass --url",
                xml_path.display(),
                jndi.trim()
            )
        })
}

/// The datasource `name` of a 2.x home's master-datasources.xml.
fn from_master_datasources(home: &Path, name: &str) -> Result<Target, String> {
    let xml_path = home.join("repository/conf/datasources/master-datasources.xml");
    let doc = read_xml(
        &xml_path,
        &format!(
            "{} has neither deployment.toml nor a readable master-datasources.xml",
            home.display()
        ),
    )?;
    let source = format!("{} {name}", xml_path.display());
    let field = |f: &str| {
        xml_value(
            &doc,
            &format!(
                "/datasources-configuration/datasources/datasource[name='{name}']/definition/configuration/{f}"
            ),
        )
    };
    let url = field("url").ok_or_else(|| {
        format!(
            "{} has no {name} datasource with a url: pass --url",
            xml_path.display()
        )
    })?;
    from_jdbc(
        &url,
        &field("username").unwrap_or_default(),
        &field("password").unwrap_or_default(),
        &source,
    )
}

#[cfg(test)]
mod tests {
    /// RFC 3986 unreserved characters stay; every other byte, UTF-8 included, is `%XX`.
    #[test]
    fn userinfo_keeps_only_unreserved_characters() {
        assert_eq!(
            super::percent_encode("aZ9-._~ é%@:/?#[]!$&'()*+,;="),
            "aZ9-._~%20%C3%A9%25%40%3A%2F%3F%23%5B%5D%21%24%26%27%28%29%2A%2B%2C%3B%3D"
        );
    }

    use super::*;

    #[test]
    fn urls_and_engines() {
        let t = Target::parse("postgres://apim:s3cret@127.0.0.1:5432/apim").expect("pg");
        assert_eq!(t.engine, Engine::Postgres);
        assert!(!t.display.contains("s3cret"), "{}", t.display);
        assert!(!format!("{t:?}").contains("s3cret"));
        let t = Target::parse("mariadb://u:p@h/db").expect("mariadb");
        assert_eq!(t.engine, Engine::MySql);
        assert!(t.url.expose().starts_with("mysql://"));
        let t = Target::parse("sqlite://data/apim.db").expect("sqlite");
        assert_eq!(t.sqlite_path(), PathBuf::from("data/apim.db"));
        let t = Target::parse("sqlite:///tmp/apim.db").expect("sqlite abs");
        assert_eq!(t.sqlite_path(), PathBuf::from("/tmp/apim.db"));
        let e = Target::parse("oracle://u:topsecret@h/db").expect_err("oracle");
        assert!(
            e.contains("not a database URL") && !e.contains("topsecret"),
            "{e}"
        );
        assert!(Target::parse("sqlite://").is_err());
    }

    /// Each JDBC TLS option maps to the sqlx mode the driver would use, never a weaker one.
    #[test]
    fn jdbc_tls_options_map_to_no_weaker_sqlx_mode() {
        let table: &[(&str, &str, Option<&str>)] = &[
            // pgjdbc: sslmode wins; `ssl` alone means verify-full.
            ("postgres", "sslmode=require", Some("sslmode=require")),
            ("postgres", "sslMode=VERIFY-CA", Some("sslmode=verify-ca")),
            ("postgres", "ssl=true", Some("sslmode=verify-full")),
            ("postgres", "ssl", Some("sslmode=verify-full")),
            (
                "postgres",
                "ssl=true&sslmode=require",
                Some("sslmode=require"),
            ),
            ("postgres", "ssl=false", None),
            ("postgres", "loginTimeout=5", None),
            // Connector/J's sslMode, and MariaDB Connector/J 3's names for the same modes.
            (
                "mysql",
                "sslMode=VERIFY_IDENTITY",
                Some("ssl-mode=VERIFY_IDENTITY"),
            ),
            ("mysql", "sslMode=preferred", Some("ssl-mode=PREFERRED")),
            (
                "mysql",
                "sslMode=verify-full",
                Some("ssl-mode=VERIFY_IDENTITY"),
            ),
            ("mysql", "sslMode=verify-ca", Some("ssl-mode=VERIFY_CA")),
            ("mysql", "sslMode=trust", Some("ssl-mode=REQUIRED")),
            ("mysql", "sslMode=disable", Some("ssl-mode=DISABLED")),
            // The legacy options.
            ("mysql", "useSSL=true", Some("ssl-mode=VERIFY_CA")),
            (
                "mysql",
                "useSSL=true&verifyServerCertificate=false",
                Some("ssl-mode=REQUIRED"),
            ),
            (
                "mysql",
                "useSsl=true;trustServerCertificate=true",
                Some("ssl-mode=REQUIRED"),
            ),
            (
                "mysql",
                "useSSL=true&requireSSL=true",
                Some("ssl-mode=VERIFY_CA"),
            ),
            ("mysql", "requireSSL=true", Some("ssl-mode=VERIFY_CA")),
            (
                "mysql",
                "requireSSL=true&verifyServerCertificate=false",
                Some("ssl-mode=REQUIRED"),
            ),
            (
                "mysql",
                "useSSL=false&requireSSL=true",
                Some("ssl-mode=VERIFY_CA"),
            ),
            (
                "mysql",
                "verifyServerCertificate=true",
                Some("ssl-mode=VERIFY_CA"),
            ),
            // MariaDB Connector/J 2 checks the host name too, unless told not to.
            ("mariadb", "useSsl=true", Some("ssl-mode=VERIFY_IDENTITY")),
            (
                "mariadb",
                "useSsl=true&disableSslHostnameVerification=true",
                Some("ssl-mode=VERIFY_CA"),
            ),
            (
                "mariadb",
                "useSsl=true&trustServerCertificate=true",
                Some("ssl-mode=REQUIRED"),
            ),
            ("mariadb", "useSsl=false", Some("ssl-mode=DISABLED")),
            (
                "mariadb",
                "sslMode=verify-full",
                Some("ssl-mode=VERIFY_IDENTITY"),
            ),
            ("mysql", "useSSL=false", Some("ssl-mode=DISABLED")),
            ("mysql", "autoReconnect=true", None),
        ];
        for (scheme, query, want) in table {
            assert_eq!(
                jdbc_tls_mode(scheme, query).as_deref(),
                *want,
                "{scheme} {query}"
            );
        }
    }

    /// Only a home that keeps no registry database (no `[database.shared_db]`, or the shipped
    /// H2 one) may fall back to the API-M database; one it cannot use may not (review of
    /// issue 17: a Secure Vault password moved REG_LOG's rows into the wrong database).
    #[test]
    fn only_a_missing_or_embedded_registry_database_is_no_server_database() {
        let apim = "[database.apim_db]\nurl = \"jdbc:postgresql://db/apim\"\nusername = \"u\"\npassword = \"p\"\n";
        let cases = [
            ("", true),
            (
                "[database.shared_db]\nurl = \"jdbc:h2:./repository/database/WSO2SHARED_DB\"\nusername = \"u\"\npassword = \"p\"\n",
                true,
            ),
            (
                "[database.shared_db]\nurl = \"jdbc:postgresql://db/shared\"\nusername = \"u\"\npassword = \"$secret{shared}\"\n",
                false,
            ),
            (
                "[database.shared_db]\nurl = \"jdbc:oracle:thin:@db:1521/SHARED\"\nusername = \"u\"\npassword = \"p\"\n",
                false,
            ),
        ];
        for (shared, absent) in cases {
            let home = tempfile::tempdir().expect("tmp");
            let conf = home.path().join("repository/conf");
            std::fs::create_dir_all(&conf).expect("mkdir");
            std::fs::write(conf.join("deployment.toml"), format!("{apim}\n{shared}"))
                .expect("toml");
            let err = datasource_of_home(home.path(), Datasource::Registry)
                .expect_err("no usable registry database");
            assert_eq!(is_no_server_database(&err), absent, "{shared}: {err}");
        }
    }

    /// sqlx reads `sslmode` / `ssl-mode` exactly; another letter case would be skipped.
    #[test]
    fn a_tls_key_in_other_letter_case_is_refused() {
        for url in [
            "postgres://u:p@h/db?SSLMODE=verify-full",
            "postgres://u:p@h/db?x=1&SslMode=require",
            "mysql://u:p@h/db?SSL-MODE=VERIFY_IDENTITY",
            "mariadb://u:p@h/db?ssl-Mode=REQUIRED",
        ] {
            let e = Target::parse(url).expect_err(url);
            assert!(e.contains("lower case") && !e.contains(":p@"), "{e}");
        }
        assert_eq!(
            url_tls_mode("postgres://u:p@h/db?ssl%6Dode=verify-ca").expect("decoded key"),
            Some("verify-ca".into())
        );
        assert!(Target::parse("postgres://u:p@h/db?sslmode=verify-full").is_ok());
        assert!(Target::parse("mysql://u:p@h/db?ssl-mode=REQUIRED").is_ok());
        assert!(Target::parse("sqlite://SSLMODE=x.db").is_ok());
    }

    /// With a CA file the mode always verifies: require is raised, the modes that may skip
    /// the check are refused with why.
    #[test]
    fn a_ca_file_raises_or_refuses_an_unverified_mode() {
        use Engine::{MySql, Postgres};
        assert_eq!(ca_verify(Postgres, None), Ok(Verify::Full));
        assert_eq!(ca_verify(Postgres, Some("require")), Ok(Verify::Ca));
        assert_eq!(ca_verify(Postgres, Some("verify-ca")), Ok(Verify::Ca));
        assert_eq!(ca_verify(Postgres, Some("verify-full")), Ok(Verify::Full));
        assert_eq!(ca_verify(MySql, None), Ok(Verify::Full));
        assert_eq!(ca_verify(MySql, Some("REQUIRED")), Ok(Verify::Ca));
        assert_eq!(ca_verify(MySql, Some("VERIFY_CA")), Ok(Verify::Ca));
        assert_eq!(ca_verify(MySql, Some("VERIFY_IDENTITY")), Ok(Verify::Full));
        for (engine, mode) in [
            (Postgres, "disable"),
            (Postgres, "allow"),
            (Postgres, "prefer"),
            (MySql, "DISABLED"),
            (MySql, "preferred"),
        ] {
            let e = ca_verify(engine, Some(mode)).expect_err(mode);
            assert!(e.contains("would never be read"), "{e}");
        }
    }

    /// Only certificate sections go on; a bundle whose sections do not all decode is refused
    /// without quoting any of it.
    #[test]
    fn a_ca_bundle_keeps_only_its_certificates() {
        let cert = "-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----";
        let key = "-----BEGIN PRIVATE KEY-----\nU0VDUkVUS0VZ\n-----END PRIVATE KEY-----";
        let out = certificates_only(&format!("# bundle\n{key}\n{cert}\n")).expect("certs");
        assert_eq!(String::from_utf8(out).expect("utf8"), format!("{cert}\n"));
        let broken = "-----BEGIN CERTIFICATE-----\n!!notbase64!!\n-----END CERTIFICATE-----";
        let e = certificates_only(&format!("{key}\n{broken}\n")).expect_err("broken");
        assert!(
            !e.contains("U0VDUkVUS0VZ") && !e.contains("notbase64"),
            "{e}"
        );
        let e = certificates_only(&format!("{key}\n")).expect_err("no cert");
        assert!(e.contains("no PEM certificate"), "{e}");
    }

    #[test]
    fn jdbc_urls_from_the_home() {
        let t = from_jdbc(
            "jdbc:mysql://db.local:3306/apim_db?useSSL=false&amp;autoReconnect=true",
            "apimuser",
            "p@ss:word/1",
            "deployment.toml",
        )
        .expect("mysql");
        assert_eq!(t.engine, Engine::MySql);
        assert_eq!(
            t.url.expose(),
            "mysql://apimuser:p%40ss%3Aword%2F1@db.local:3306/apim_db?ssl-mode=DISABLED"
        );
        // The JDBC URL's TLS mode carries over; other options do not.
        let tls = |jdbc: &str| {
            from_jdbc(jdbc, "u", "p", "x")
                .expect("url")
                .url
                .expose()
                .to_string()
        };
        assert_eq!(
            tls("jdbc:postgresql://h:5432/am?sslmode=verify-full&amp;x=1"),
            "postgres://u:p@h:5432/am?sslmode=verify-full"
        );
        assert_eq!(
            tls("jdbc:mysql://h/am?autoReconnect=true&sslMode=verify_identity"),
            "mysql://u:p@h/am?ssl-mode=VERIFY_IDENTITY"
        );
        assert_eq!(
            tls("jdbc:mysql://h/am?useSSL=true"),
            "mysql://u:p@h/am?ssl-mode=VERIFY_CA"
        );
        assert_eq!(
            tls("jdbc:mysql://h/am?autoReconnect=true"),
            "mysql://u:p@h/am"
        );
        assert!(!t.display.contains("p%40ss"));
        let t = from_jdbc("jdbc:postgresql://h/db", "u", "it's#S3cret", "x").expect("pg");
        assert!(!t.display.contains("S3cret"), "{}", t.display);
        let e = from_jdbc(
            "jdbc:h2:./repository/database/WSO2AM_DB",
            "wso2carbon",
            "wso2carbon",
            "x",
        )
        .expect_err("h2");
        assert!(e.contains("H2"), "{e}");
        let e =
            from_jdbc("jdbc:postgresql://h/db", "u", "$secret{apim_db}", "x").expect_err("vault");
        assert!(e.contains("Secure Vault"), "{e}");
    }

    #[test]
    fn datasource_from_master_datasources_xml() {
        let dir = tempfile::tempdir().expect("tmp");
        let conf = dir.path().join("repository/conf/datasources");
        std::fs::create_dir_all(&conf).expect("mkdir");
        std::fs::write(
            conf.join("master-datasources.xml"),
            "<datasources-configuration><datasources>\
             <datasource><name>WSO2_CARBON_DB</name><definition type=\"RDBMS\"><configuration>\
             <url>jdbc:h2:x</url></configuration></definition></datasource>\
             <datasource><name>WSO2AM_DB</name><definition type=\"RDBMS\"><configuration>\
             <url>jdbc:postgresql://10.0.0.5:5432/am?ssl=false</url><username>am</username>\
             <password>Hidden&amp;1</password></configuration></definition></datasource>\
             </datasources></datasources-configuration>",
        )
        .expect("write");
        let t = from_home(dir.path()).expect("target");
        assert_eq!(t.url.expose(), "postgres://am:Hidden%261@10.0.0.5:5432/am");
        assert!(!t.display.contains("Hidden"));
        // A commented-out example is not a datasource; a broken file says where.
        std::fs::write(
            conf.join("master-datasources.xml"),
            "<datasources-configuration><datasources>\n<!-- <datasource><name>WSO2AM_DB</name>\
             <definition type=\"RDBMS\"><configuration><url>jdbc:mysql://x/am</url>\
             </configuration></definition></datasource> -->\n\
             <datasource><name>WSO2AM_DB</name><definition type=\"RDBMS\"><configuration>\
             <url>jdbc:h2:repository/database/WSO2AM_DB</url><password>wso2carbon</password>\
             </configuration></definition></datasource>\n</datasources></datasources-configuration>",
        )
        .expect("write");
        let e = from_home(dir.path()).expect_err("h2");
        assert!(e.contains("H2") && !e.contains("wso2carbon"), "{e}");
        std::fs::write(
            conf.join("master-datasources.xml"),
            "<datasources-configuration>\n<datasources>\n</oops>\n",
        )
        .expect("write");
        let e = from_home(dir.path()).expect_err("broken");
        assert!(e.contains("master-datasources.xml:3:"), "{e}");
        std::fs::write(
            conf.join("master-datasources.xml"),
            "<datasources-configuration><datasources><datasource><name>WSO2AM_DB</name>\
             <definition><configuration><url>jdbc:mysql://h/am</url>\
             <password>Tr0ub&ad0r;x</password></configuration></definition></datasource>\
             </datasources></datasources-configuration>",
        )
        .expect("write");
        let e = from_home(dir.path()).expect_err("entity");
        assert!(!e.contains("ad0r"), "{e}");
    }

    #[test]
    fn datasource_from_deployment_toml_and_bad_toml() {
        let dir = tempfile::tempdir().expect("tmp");
        let conf = dir.path().join("repository/conf");
        std::fs::create_dir_all(&conf).expect("mkdir");
        let f = conf.join("deployment.toml");
        std::fs::write(
            &f,
            "[database.apim_db]\ntype = \"mysql\"\nurl = \"jdbc:mysql://m:3306/am\"\n\
             username = \"am\"\npassword = \"Zq8\"\n",
        )
        .expect("write");
        let t = from_home(dir.path()).expect("target");
        assert_eq!(t.url.expose(), "mysql://am:Zq8@m:3306/am");
        std::fs::write(&f, "[database.apim_db\nurl = 1\n").expect("write");
        let e = from_home(dir.path()).expect_err("bad toml");
        assert!(
            e.contains("deployment.toml:1:") && e.contains("not valid TOML"),
            "{e}"
        );
        std::fs::write(&f, "[server]\nhostname = \"x\"\n").expect("write");
        assert!(
            from_home(dir.path())
                .expect_err("no db")
                .contains("[database.apim_db]")
        );
    }

    /// REG_LOG's datasource: `[database.shared_db]` on 3.x/4.x; on 2.x the datasource whose
    /// JNDI name registry.xml's mounted dbConfig uses, else WSO2_CARBON_DB.
    #[test]
    fn the_registry_datasource_of_a_home() {
        let dir = tempfile::tempdir().expect("tmp");
        let conf = dir.path().join("repository/conf");
        std::fs::create_dir_all(conf.join("datasources")).expect("mkdir");
        let ds = |name: &str, jndi: &str, url: &str| {
            format!(
                "<datasource><name>{name}</name><jndiConfig><name>{jndi}</name></jndiConfig>\
                 <definition type=\"RDBMS\"><configuration><url>{url}</url>\
                 <username>u</username><password>p</password></configuration></definition>\
                 </datasource>"
            )
        };
        std::fs::write(
            conf.join("datasources/master-datasources.xml"),
            format!(
                "<datasources-configuration><datasources>{}{}{}</datasources></datasources-configuration>",
                ds("WSO2_CARBON_DB", "jdbc/WSO2CarbonDB", "jdbc:mysql://carbon/db"),
                ds("WSO2AM_DB", "jdbc/WSO2AM_DB", "jdbc:mysql://am/db"),
                ds("WSO2REG_DB", "jdbc/WSO2RegDB", "jdbc:mysql://reg/db"),
            ),
        )
        .expect("write");
        let reg = |home: &Path| {
            datasource_of_home(home, Datasource::Registry).map(|t| t.url.expose().to_string())
        };
        assert_eq!(reg(dir.path()).as_deref(), Ok("mysql://u:p@carbon/db"));
        assert_eq!(
            from_home(dir.path())
                .map(|t| t.url.expose().to_string())
                .as_deref(),
            Ok("mysql://u:p@am/db")
        );
        std::fs::write(
            conf.join("registry.xml"),
            "<wso2registry><currentDBConfig>wso2registry</currentDBConfig>\
             <dbConfig name=\"wso2registry\"><dataSource>jdbc/WSO2CarbonDB</dataSource></dbConfig>\
             <dbConfig name=\"govregistry\"><dataSource>jdbc/WSO2RegDB</dataSource></dbConfig>\
             <remoteInstance url=\"https://localhost:9443/registry\"><id>gov</id>\
             <dbConfig>govregistry</dbConfig></remoteInstance></wso2registry>",
        )
        .expect("write");
        assert_eq!(reg(dir.path()).as_deref(), Ok("mysql://u:p@reg/db"));
        // 3.x/4.x: the shared database.
        std::fs::write(
            conf.join("deployment.toml"),
            "[database.apim_db]\nurl = \"jdbc:postgresql://am/db\"\n\
             [database.shared_db]\nurl = \"jdbc:postgresql://shared/db\"\nusername = \"s\"\n",
        )
        .expect("write");
        assert_eq!(reg(dir.path()).as_deref(), Ok("postgres://s:@shared/db"));
        std::fs::write(
            conf.join("deployment.toml"),
            "[database.apim_db]\nurl = \"x\"\n",
        )
        .expect("write");
        assert!(
            reg(dir.path())
                .expect_err("none")
                .contains("[database.shared_db]")
        );
    }
}
