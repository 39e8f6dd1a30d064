//! Every datasource of the home, as the node will open it: engine, server (host, port,
//! database) and pool (`maxActive`, `maxWait`), for both layouts.
//!
//! 1.x/2.x: each `<datasource>` of `master-datasources.xml`. 3.x/4.x: `[database.apim_db]` and
//! `[database.shared_db]` (rendered by the `master-datasources.xml.j2` template whether or not
//! the file has them, so their product defaults apply when absent), plus every other
//! `[database.NAME]` the file sets and every `[[datasource]]`.
//!
//! Never a user name or a password: the URL is kept only as `safe_url`, cut before the first
//! parameter (where H2, SQL Server and MySQL may carry `user=`/`password=`) and without any
//! `user:password@` part.

use crate::apim::{ApimModel, Layout, mapper};
use crate::diag::Subject;
use crate::model::Location;
use std::collections::BTreeSet;

/// The database engine, from the JDBC URL, else the driver class, else (3.x/4.x) `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    H2,
    MySql,
    Maria,
    Postgres,
    Oracle,
    MsSql,
    Db2,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::H2 => "H2",
            Engine::MySql => "MySQL",
            Engine::Maria => "MariaDB",
            Engine::Postgres => "PostgreSQL",
            Engine::Oracle => "Oracle",
            Engine::MsSql => "SQL Server",
            Engine::Db2 => "DB2",
        }
    }

    pub fn from_url(url: &str) -> Option<Engine> {
        let u = url.trim().to_ascii_lowercase();
        Some(match u.strip_prefix("jdbc:")?.split(':').next()? {
            "h2" => Engine::H2,
            "mysql" => Engine::MySql,
            "mariadb" => Engine::Maria,
            "postgresql" => Engine::Postgres,
            "oracle" => Engine::Oracle,
            "sqlserver" | "jtds" => Engine::MsSql,
            "db2" | "as400" => Engine::Db2,
            _ => return None,
        })
    }

    pub fn from_driver(driver: &str) -> Option<Engine> {
        let d = driver.trim().to_ascii_lowercase();
        [
            ("org.h2", Engine::H2),
            ("com.mysql", Engine::MySql),
            ("org.mariadb", Engine::Maria),
            ("org.postgresql", Engine::Postgres),
            ("oracle.", Engine::Oracle),
            ("com.microsoft.sqlserver", Engine::MsSql),
            ("net.sourceforge.jtds", Engine::MsSql),
            ("com.ibm.db2", Engine::Db2),
        ]
        .iter()
        .find(|(p, _)| d.starts_with(p))
        .map(|(_, e)| *e)
    }

    pub fn from_type(ty: &str) -> Option<Engine> {
        Some(match ty.trim().to_ascii_lowercase().as_str() {
            "h2" => Engine::H2,
            "mysql" => Engine::MySql,
            "mariadb" => Engine::Maria,
            "postgre" | "postgres" | "postgresql" => Engine::Postgres,
            "oracle" => Engine::Oracle,
            "mssql" => Engine::MsSql,
            "db2" => Engine::Db2,
            _ => return None,
        })
    }
}

/// Where a database lives, as far as the URL tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Server {
    /// H2 in this JVM, on this node's disk (`jdbc:h2:./…`, `jdbc:h2:mem:…`, `jdbc:h2:file:…`;
    /// `AUTO_SERVER=TRUE` only lets other local processes in).
    Embedded,
    /// A database server at `host` (`localhost` included), `port` when written.
    Remote {
        host: String,
        port: Option<u16>,
        database: Option<String>,
    },
    /// The URL is absent, a template placeholder or a form this does not read.
    Unknown,
}

/// One pool setting: its value (as written, or the default that applies) and where it is set.
#[derive(Clone, Debug)]
pub struct PoolValue {
    /// The value in effect; `None` when written as something not a whole number.
    pub value: Option<i64>,
    pub raw: String,
    /// Where it is written; `None` when a default applies.
    pub at: Option<Location>,
    /// `pool_options.maxActive` of deployment.toml, `maxActive` in master-datasources.xml.
    pub subject: Subject,
    /// Where the default comes from, when not written.
    pub default_from: Option<&'static str>,
}

#[derive(Clone, Debug)]
pub struct Datasource {
    /// `apim_db`, `mb.store_db`, `datasource[0]` (3.x/4.x) or `WSO2AM_DB` (1.x/2.x).
    pub name: String,
    /// The file it is configured in (display form).
    pub file: String,
    /// The URL cut before its parameters, without credentials; `None` when there is no URL.
    pub safe_url: Option<String>,
    /// Where the URL is written (`None`: a product default applies).
    pub url_at: Option<Location>,
    /// The subject that names the URL (`deployment.toml:database.apim_db.url`).
    pub url_subject: Subject,
    pub engine: Option<Engine>,
    pub server: Server,
    pub max_active: PoolValue,
    pub max_wait: PoolValue,
}

impl Datasource {
    /// The host of a database server, when the URL names one.
    pub fn host(&self) -> Option<&str> {
        match &self.server {
            Server::Remote { host, .. } => Some(host),
            _ => None,
        }
    }

    /// `engine host:port/database` as people name a server, never with credentials.
    pub fn server_label(&self) -> Option<String> {
        let Server::Remote {
            host,
            port,
            database,
        } = &self.server
        else {
            return None;
        };
        let engine = self.engine.map(Engine::name).unwrap_or("database");
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let db = database
            .as_deref()
            .map(|d| format!("/{d}"))
            .unwrap_or_default();
        Some(format!("{engine} {host}{port}{db}"))
    }
}

/// `database.apim_db.url` in 4.2.0's default.json, for a home without that file.
const PRODUCT_APIM_DB_URL: &str = "jdbc:h2:./repository/database/WSO2AM_DB;DB_CLOSE_ON_EXIT=FALSE;AUTO_SERVER=TRUE;LOCK_TIMEOUT=60000";
/// The tables whose pool options default.json sets (maxActive 50, maxWait 60000).
const PRODUCT_POOLS: &[&str] = &[
    "apim_db",
    "shared_db",
    "local",
    "mb.store_db",
    "identity_db",
];

/// tomcat-jdbc-pool defaults: what a datasource gets for a setting nobody writes.
pub const TOMCAT_MAX_ACTIVE: i64 = 100;
pub const TOMCAT_MAX_WAIT: i64 = 30_000;

/// Every datasource of the home.
pub fn read(apim: &ApimModel) -> Vec<Datasource> {
    match apim.home.layout {
        Layout::Xml => xml(apim),
        Layout::Toml => toml(apim),
    }
}

/// Whether a host is this node itself: loopback names and addresses, and the placeholders that
/// Carbon fills with this node's own address.
pub fn is_self_host(host: &str) -> bool {
    let h = host
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    h == "localhost"
        || h.ends_with(".localhost")
        || h.starts_with("127.")
        || h == "::1"
        || h == "0:0:0:0:0:0:0:1"
        || h == "${carbon.local.ip}"
}

/// The URL without parameters and credentials, safe to print.
pub fn safe_url(url: &str) -> String {
    let cut = url
        .find([';', '?', '&'])
        .map(|i| &url[..i])
        .unwrap_or(url)
        .trim();
    // `jdbc:oracle:thin:user/password@…` (any form after the `@`, `//host` included): keep the
    // driver prefix and what follows the last `@`.
    if cut.to_ascii_lowercase().starts_with("jdbc:oracle")
        && let Some(at) = cut.rfind('@')
    {
        let prefix = cut.find(":thin:").map(|i| i + 6).unwrap_or(0);
        return format!("{}@{}", &cut[..prefix], &cut[at + 1..]);
    }
    // `scheme://user:password@host` → `scheme://host`.
    let cut = match (cut.find("//"), cut.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}{}", &cut[..s + 2], &cut[at + 1..]),
        _ => cut.to_string(),
    };
    // DB2's `//host:port/DB:user=…;password=…;`: after the database name, `:` opens properties.
    match cut.find("//").map(|s| s + 2) {
        Some(auth) => match cut[auth..].find('/') {
            Some(slash) => {
                let db = auth + slash;
                let end = cut[db..].find(':').map_or(cut.len(), |i| db + i);
                cut[..end].to_string()
            }
            None => cut,
        },
        None => cut,
    }
}

/// Where the URL points.
pub fn server_of(url: &str, engine: Option<Engine>) -> Server {
    let url = url.trim();
    if url.is_empty() || url.contains("{{") || url.contains("$ref{") {
        return Server::Unknown;
    }
    let lower = url.to_ascii_lowercase();
    if engine == Some(Engine::H2) || lower.starts_with("jdbc:h2:") {
        // H2 told by `type` or driver with a URL of another form: where it points is unknown.
        let Some(rest) = lower.strip_prefix("jdbc:h2:") else {
            return Server::Unknown;
        };
        let remote = rest
            .strip_prefix("tcp://")
            .or_else(|| rest.strip_prefix("ssl://"));
        return match remote {
            Some(r) => authority(r),
            None => Server::Embedded,
        };
    }
    if engine == Some(Engine::Oracle) || lower.starts_with("jdbc:oracle:") {
        // `@host:port:SID`, `@//host:port/service`, `@(DESCRIPTION=…(HOST=h)(PORT=p)…)`.
        let Some(at) = url.rfind('@') else {
            return Server::Unknown;
        };
        let rest = &url[at + 1..];
        if let Some(i) = rest.to_ascii_uppercase().find("(HOST=") {
            let host: String = rest[i + 6..].chars().take_while(|c| *c != ')').collect();
            let port = rest.to_ascii_uppercase().find("(PORT=").and_then(|j| {
                rest[j + 6..]
                    .chars()
                    .take_while(|c| *c != ')')
                    .collect::<String>()
                    .trim()
                    .parse()
                    .ok()
            });
            return Server::Remote {
                host: host.trim().to_string(),
                port,
                database: None,
            };
        }
        let rest = rest.trim_start_matches("//");
        let mut parts = rest.splitn(2, [':', '/']);
        let host = parts.next().unwrap_or_default().to_string();
        let tail = parts.next().unwrap_or_default();
        let port = tail.split([':', '/']).next().and_then(|p| p.parse().ok());
        let database = tail
            .split_once([':', '/'])
            .map(|(_, d)| d.to_string())
            .filter(|d| !d.is_empty());
        return if host.is_empty() {
            Server::Unknown
        } else {
            Server::Remote {
                host,
                port,
                database,
            }
        };
    }
    match url.find("//") {
        Some(i) => authority(&url[i + 2..]),
        None => Server::Unknown,
    }
}

/// `host[:port][/database]` at the start of `rest` (the first host of a list; SQL Server's
/// `;databaseName=` is a parameter and stays unread).
fn authority(rest: &str) -> Server {
    let end = rest.find([';', '?', '/']).unwrap_or(rest.len());
    let mut auth = &rest[..end];
    if let Some(at) = auth.rfind('@') {
        auth = &auth[at + 1..];
    }
    let first = auth.split(',').next().unwrap_or_default();
    let (host, port) = if let Some(v6) = first.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (format!("[{h}]"), p.strip_prefix(':')),
            None => (first.to_string(), None),
        }
    } else {
        match first.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (first.to_string(), None),
        }
    };
    // `host\instance` (SQL Server): the host is before the backslash.
    let host = host.split('\\').next().unwrap_or_default().to_string();
    let database = rest[end..]
        .strip_prefix('/')
        .map(|d| {
            // `:` opens DB2's properties (`/DB:user=…;password=…;`).
            d.split([';', '?', '&', ':'])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .filter(|d| !d.is_empty());
    if host.is_empty() {
        return Server::Unknown;
    }
    Server::Remote {
        host,
        port: port.and_then(|p| p.parse().ok()),
        database,
    }
}

/// The engine from the JDBC URL, else the driver class, else (3.x/4.x) `type`.
pub fn engine_of(url: Option<&str>, driver: Option<&str>, ty: Option<&str>) -> Option<Engine> {
    url.and_then(Engine::from_url)
        .or_else(|| driver.and_then(Engine::from_driver))
        .or_else(|| ty.and_then(Engine::from_type))
}

fn child<'a>(
    e: &'a crate::apim::xml::Element,
    name: &str,
) -> Option<&'a crate::apim::xml::Element> {
    e.children.iter().find(|c| c.name == name)
}

fn xml(apim: &ApimModel) -> Vec<Datasource> {
    let Some(doc) = apim.xml_doc("master-datasources.xml") else {
        return Vec::new();
    };
    let Ok(path) =
        crate::apim::xml::XPath::parse("/datasources-configuration/datasources/datasource")
    else {
        return Vec::new();
    };
    let file = doc.file.display.clone();
    let mut out = Vec::new();
    for ds in doc.query_elements(&path) {
        let Some(name) = child(ds, "name")
            .and_then(|n| n.text.as_ref())
            .map(|t| t.value.clone())
        else {
            continue;
        };
        let Some(conf) = child(ds, "definition").and_then(|d| child(d, "configuration")) else {
            continue;
        };
        let text = |leaf: &str| {
            child(conf, leaf)
                .and_then(|e| e.text.as_ref())
                .filter(|t| !t.value.is_empty())
        };
        // A datasource without a URL (the shipped SAMPLE_DATA_SOURCE) opens nothing.
        let Some(url) = text("url") else { continue };
        let driver = text("driverClassName").map(|t| t.value.clone());
        let engine = engine_of(Some(&url.value), driver.as_deref(), None);
        let base = format!(
            "/datasources-configuration/datasources/datasource[name='{name}']/definition/configuration"
        );
        let pool = |leaf: &str, default: i64| {
            let subject = Subject::setting("master-datasources.xml", format!("{base}/{leaf}"));
            match text(leaf) {
                Some(t) => PoolValue {
                    value: t.value.trim().parse().ok(),
                    raw: t.value.clone(),
                    at: Some(doc.file.location(t.span)),
                    subject,
                    default_from: None,
                },
                None => PoolValue {
                    value: Some(default),
                    raw: default.to_string(),
                    at: None,
                    subject,
                    default_from: Some("tomcat-jdbc-pool default"),
                },
            }
        };
        out.push(Datasource {
            safe_url: Some(safe_url(&url.value)),
            url_at: Some(doc.file.location(url.span)),
            url_subject: Subject::setting("master-datasources.xml", format!("{base}/url")),
            engine,
            server: server_of(&url.value, engine),
            max_active: pool("maxActive", TOMCAT_MAX_ACTIVE),
            max_wait: pool("maxWait", TOMCAT_MAX_WAIT),
            file: file.clone(),
            name,
        });
    }
    out
}

/// The leaves a `[database.NAME]` table has, to tell `NAME` from the leaf in a dotted key.
const LEAVES: &[&str] = &[
    "url",
    "type",
    "driver",
    "username",
    "password",
    "validationQuery",
    "hostname",
    "port",
    "name",
    "sid",
    "id",
    "jmx_enable",
];

fn toml(apim: &ApimModel) -> Vec<Datasource> {
    let Some(doc) = apim.toml.as_ref() else {
        return Vec::new();
    };
    // The template renders these two whatever the file says.
    let mut names: BTreeSet<String> = ["apim_db", "shared_db"].map(String::from).into();
    let mut arrays: BTreeSet<String> = BTreeSet::new();
    for key in doc.entries.keys() {
        if let Some(rest) = key.strip_prefix("database.") {
            let name = match rest.split_once(".pool_options.") {
                Some((n, _)) => Some(n),
                None => LEAVES
                    .iter()
                    .find_map(|l| rest.strip_suffix(&format!(".{l}"))),
            };
            // The node's own H2 (`local`) and message-broker store are on this node by design.
            if let Some(n) = name.filter(|n| !n.is_empty()) {
                names.insert(n.to_string());
            }
        } else if let Some(rest) = key.strip_prefix("datasource[")
            && let Some((i, _)) = rest.split_once(']')
        {
            arrays.insert(format!("datasource[{i}]"));
        }
    }
    let file = doc.file.display.clone();
    let mut out = Vec::new();
    for (prefix, name) in names
        .iter()
        .map(|n| (format!("database.{n}"), n.clone()))
        .chain(arrays.iter().map(|a| (a.clone(), a.clone())))
    {
        // The written value, else what the mapper gives (defaults, `type` inference).
        let get = |leaf: &str| -> (Option<String>, Option<Location>) {
            let key = format!("{prefix}.{leaf}");
            if let Some(e) = doc.get(&key) {
                return (Some(e.value.clone()), Some(doc.file.location(e.value_span)));
            }
            let eff = apim.effective(&key);
            match eff {
                Some(mapper::Effective {
                    value: Some(v),
                    origin: mapper::Origin::Toml { value_span, .. },
                    ..
                }) => (Some(v), Some(doc.file.location(value_span))),
                Some(eff) => (eff.value, None),
                None => (None, None),
            }
        };
        let (mut url, url_at) = get("url");
        if url.is_none() && name == "apim_db" {
            // A home without default.json: the product's own default (4.2.0 default.json).
            url = Some(PRODUCT_APIM_DB_URL.to_string());
        }
        let (driver, _) = get("driver");
        let (ty, _) = get("type");
        let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
            continue;
        };
        let engine = engine_of(Some(&url), driver.as_deref(), ty.as_deref());
        // Tables default.json gives pool options (50, 60000); others get tomcat-jdbc-pool's.
        let product_pool = PRODUCT_POOLS.contains(&name.as_str());
        let pool = |leaf: &str, fallback: i64| {
            let key = format!("{prefix}.pool_options.{leaf}");
            let subject = Subject::setting("deployment.toml", key.clone());
            let (mut value, mut at) = get(&format!("pool_options.{leaf}"));
            // carbon-kernel's key-mappings.json aliases `shared_db`'s snake_case names; a home
            // without that file still reads them.
            let snake = if leaf == "maxActive" {
                "max_active"
            } else {
                "max_wait"
            };
            if at.is_none()
                && name == "shared_db"
                && let Some(e) = doc.get(&format!("{prefix}.pool_options.{snake}"))
            {
                value = Some(e.value.clone());
                at = Some(doc.file.location(e.value_span));
            }
            match value {
                Some(v) => PoolValue {
                    value: v.trim().parse().ok(),
                    default_from: at.is_none().then_some("product default"),
                    raw: v,
                    at,
                    subject,
                },
                None if product_pool => {
                    let v = if leaf == "maxActive" { 50 } else { 60_000 };
                    PoolValue {
                        value: Some(v),
                        raw: v.to_string(),
                        at: None,
                        subject,
                        default_from: Some("product default"),
                    }
                }
                None => PoolValue {
                    value: Some(fallback),
                    raw: fallback.to_string(),
                    at: None,
                    subject,
                    default_from: Some("tomcat-jdbc-pool default"),
                },
            }
        };
        out.push(Datasource {
            safe_url: Some(safe_url(&url)),
            url_subject: Subject::setting("deployment.toml", format!("{prefix}.url")),
            url_at,
            engine,
            server: server_of(&url, engine),
            max_active: pool("maxActive", TOMCAT_MAX_ACTIVE),
            max_wait: pool("maxWait", TOMCAT_MAX_WAIT),
            file: file.clone(),
            name,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(host: &str, port: Option<u16>, db: Option<&str>) -> Server {
        Server::Remote {
            host: host.into(),
            port,
            database: db.map(String::from),
        }
    }

    #[test]
    fn servers_from_urls() {
        assert_eq!(
            server_of(
                "jdbc:h2:./repository/database/WSO2AM_DB;AUTO_SERVER=TRUE",
                None
            ),
            Server::Embedded
        );
        assert_eq!(
            server_of("jdbc:h2:tcp://db1:9092/~/am", None),
            remote("db1", Some(9092), Some("~/am"))
        );
        assert_eq!(
            server_of("jdbc:mysql://db.example:3306/apim_db?useSSL=false", None),
            remote("db.example", Some(3306), Some("apim_db"))
        );
        assert_eq!(
            server_of("jdbc:mysql://u:p@localhost/apim", None),
            remote("localhost", None, Some("apim"))
        );
        assert_eq!(
            server_of("jdbc:postgresql://[::1]:5432/am", None),
            remote("[::1]", Some(5432), Some("am"))
        );
        assert_eq!(
            server_of("jdbc:oracle:thin:@ora:1521/ORCL", None),
            remote("ora", Some(1521), Some("ORCL"))
        );
        assert_eq!(
            server_of("jdbc:oracle:thin:@//ora:1521/svc", None),
            remote("ora", Some(1521), Some("svc"))
        );
        assert_eq!(
            server_of(
                "jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=rac1)(PORT=1522)))",
                None
            ),
            remote("rac1", Some(1522), None)
        );
        assert_eq!(
            server_of("jdbc:sqlserver://mssql\\inst:1433;databaseName=am", None),
            remote("mssql", Some(1433), None)
        );
        assert_eq!(server_of("{{ wso2am_db_url }}", None), Server::Unknown);
        assert!(is_self_host("127.0.0.1") && is_self_host("[::1]") && is_self_host("LOCALHOST"));
        assert!(!is_self_host("db.example"));
    }

    #[test]
    fn safe_urls_carry_no_credentials() {
        assert_eq!(
            safe_url("jdbc:h2:./x;USER=sa;PASSWORD=s3cret"),
            "jdbc:h2:./x"
        );
        assert_eq!(
            safe_url("jdbc:mysql://wso2:s3cret@db:3306/am?user=wso2"),
            "jdbc:mysql://db:3306/am"
        );
        assert_eq!(
            safe_url("jdbc:oracle:thin:wso2/s3cret@ora:1521/x"),
            "jdbc:oracle:thin:@ora:1521/x"
        );
        // The `//` after the `@` once hid the credentials in front of it.
        assert_eq!(
            safe_url("jdbc:oracle:thin:scott/tiger@//db:1521/ORCL"),
            "jdbc:oracle:thin:@//db:1521/ORCL"
        );
        // DB2 puts its properties after a `:` behind the database name.
        assert_eq!(
            safe_url("jdbc:db2://localhost:50000/WSO2AM:password=Hunter2Secret;user=db2admin;"),
            "jdbc:db2://localhost:50000/WSO2AM"
        );
        assert_eq!(
            server_of(
                "jdbc:db2://localhost:50000/WSO2AM:password=Hunter2Secret;user=db2admin;",
                Some(Engine::Db2)
            ),
            Server::Remote {
                host: "localhost".into(),
                port: Some(50000),
                database: Some("WSO2AM".into()),
            }
        );
    }

    #[test]
    fn an_h2_type_with_a_url_of_another_form_is_unknown_not_a_panic() {
        assert_eq!(server_of("jdbc:ññññ/x", Some(Engine::H2)), Server::Unknown);
        assert_eq!(server_of("ñ", Some(Engine::H2)), Server::Unknown);
    }
}
