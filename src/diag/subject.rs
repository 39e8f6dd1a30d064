//! What a finding is about: one kernel parameter, limit, unit setting, API-M key, JVM option,
//! file, database object, waiver, or (for deployments) any of these on a named node.
//!
//! Rendered as the stable strings every output, waiver and baseline uses
//! (`sysctl:net.core.somaxconn`, `limits:wso2:nofile:soft`, `deployment.toml:apim.cache.km_token.enable`,
//! `api-manager.sh:-Xmx`…) and parsed back from them; the round trip is exact.

use serde::{Serialize, Serializer};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// `sysctl:KEY`.
    Sysctl { key: String },
    /// `limits:USER:ITEM:KIND`, or `limits:USER:ITEM` for soft and hard together.
    Limit {
        user: String,
        item: String,
        kind: Option<String>,
    },
    /// `systemd:UNIT:SETTING` (`LimitNOFILE`, or `limits.conf` for lines that do not reach it).
    Unit { unit: String, setting: String },
    /// `process:WHO:ITEM`: a running JVM, named by its home (or `pid N`).
    Process { who: String, item: String },
    /// `FILE:KEY`: an API-M setting by its file name and key (a TOML key, an XPath or a
    /// property name).
    Setting { file: String, key: String },
    /// `SCRIPT:FLAG`: a JVM option of the start-up script (`api-manager.sh:-Xmx`).
    JvmOption { script: String, flag: String },
    /// `file:PATH`: a configuration file as a whole.
    Source { file: String },
    /// `apim:PATH`: the API-M home as a whole.
    ApimHome { path: String },
    /// `db:TABLE`.
    DbTable { table: String },
    /// `db:TABLE(COL, COL)`: an index the cleanup needs.
    DbIndex { table: String, columns: Vec<String> },
    /// `db:@@NAME`: a server variable.
    DbVariable { name: String },
    /// `db:TABLE:ID`: one row of apim-tune's own bookkeeping (an unfinished clean run).
    DbRow { table: String, id: String },
    /// `waiver:WHAT`.
    Waiver { what: String },
    /// `node:NAME/SUBJECT`: a subject on one node of a deployment.
    Node { node: String, subject: Box<Subject> },
}

impl Subject {
    pub fn sysctl(key: impl Into<String>) -> Subject {
        Subject::Sysctl { key: key.into() }
    }

    pub fn limit(user: &str, item: &str, kind: Option<&str>) -> Subject {
        Subject::Limit {
            user: user.to_string(),
            item: item.to_string(),
            kind: kind.map(str::to_string),
        }
    }

    pub fn setting(file: impl Into<String>, key: impl Into<String>) -> Subject {
        Subject::Setting {
            file: file.into(),
            key: key.into(),
        }
    }

    pub fn jvm(script: impl Into<String>, flag: impl Into<String>) -> Subject {
        Subject::JvmOption {
            script: script.into(),
            flag: flag.into(),
        }
    }

    /// The kernel parameter, for sysctl subjects.
    pub fn sysctl_key(&self) -> Option<&str> {
        match self {
            Subject::Sysctl { key } => Some(key),
            _ => None,
        }
    }

    /// The JUnit suite a checked subject belongs to: `sysctl`, `limits`, `sources` for files and
    /// the home, else the family or the file name (`deployment.toml`, `api-manager.sh`).
    pub fn suite(&self) -> String {
        match self {
            Subject::Sysctl { .. } => "sysctl".into(),
            Subject::Limit { .. } => "limits".into(),
            Subject::Source { .. } | Subject::ApimHome { .. } => "sources".into(),
            Subject::Unit { .. } => "systemd".into(),
            Subject::Process { .. } => "process".into(),
            Subject::Setting { file, .. } => file.clone(),
            Subject::JvmOption { script, .. } => script.clone(),
            Subject::DbTable { .. }
            | Subject::DbIndex { .. }
            | Subject::DbVariable { .. }
            | Subject::DbRow { .. } => "db".into(),
            Subject::Waiver { .. } => "waiver".into(),
            Subject::Node { .. } => "node".into(),
        }
    }

    /// The name people know the setting by: the key, and for an XPath its last element
    /// (`TokenCacheExpiry`, `parameter[@name='SO_TIMEOUT']` → `SO_TIMEOUT`, `Valve/@threshold`).
    pub fn short_name(&self) -> String {
        match self {
            Subject::Setting { key, .. } => short_key(key),
            Subject::Sysctl { key } => key.clone(),
            Subject::JvmOption { flag, .. } => flag.clone(),
            other => {
                let s = other.to_string();
                s.split_once(':').map(|(_, k)| k.to_string()).unwrap_or(s)
            }
        }
    }

    /// The short name of an API-M key (see [`Subject::short_name`]).
    pub fn short_key(key: &str) -> String {
        short_key(key)
    }

    /// Parses a rendered subject. Every string [`Subject`] renders parses back to it.
    pub fn parse(s: &str) -> Result<Subject, String> {
        let bad = || format!("`{s}` is not a finding subject");
        let (head, rest) = s.split_once(':').ok_or_else(bad)?;
        if rest.is_empty() {
            return Err(bad());
        }
        let owned = |v: &str| v.to_string();
        Ok(match head {
            "sysctl" => Subject::sysctl(rest),
            "limits" => {
                let parts: Vec<&str> = rest.split(':').collect();
                match parts[..] {
                    [user, item] => Subject::limit(user, item, None),
                    [user, item, kind] => Subject::limit(user, item, Some(kind)),
                    _ => return Err(bad()),
                }
            }
            // A unit name may hold `:`; the setting never does.
            "systemd" => {
                let (unit, setting) = rest.rsplit_once(':').ok_or_else(bad)?;
                Subject::Unit {
                    unit: owned(unit),
                    setting: owned(setting),
                }
            }
            "process" => {
                let (who, item) = rest.rsplit_once(':').ok_or_else(bad)?;
                Subject::Process {
                    who: owned(who),
                    item: owned(item),
                }
            }
            "file" => Subject::Source { file: owned(rest) },
            "apim" => Subject::ApimHome { path: owned(rest) },
            "waiver" => Subject::Waiver { what: owned(rest) },
            "node" => {
                let (node, inner) = rest.split_once('/').ok_or_else(bad)?;
                Subject::Node {
                    node: owned(node),
                    subject: Box::new(Subject::parse(inner)?),
                }
            }
            "db" => parse_db(rest),
            file if file.contains('.') => {
                if file.ends_with(".sh") {
                    Subject::jvm(file, rest)
                } else {
                    Subject::setting(file, rest)
                }
            }
            _ => return Err(bad()),
        })
    }
}

fn parse_db(rest: &str) -> Subject {
    if let Some(name) = rest.strip_prefix("@@") {
        return Subject::DbVariable {
            name: name.to_string(),
        };
    }
    if let Some((table, cols)) = rest.split_once('(')
        && let Some(cols) = cols.strip_suffix(')')
    {
        return Subject::DbIndex {
            table: table.to_string(),
            columns: cols.split(", ").map(str::to_string).collect(),
        };
    }
    match rest.split_once(':') {
        Some((table, id)) => Subject::DbRow {
            table: table.to_string(),
            id: id.to_string(),
        },
        None => Subject::DbTable {
            table: rest.to_string(),
        },
    }
}

/// The last element of an XPath (`Valve/@threshold` for an attribute), or the key itself.
fn short_key(key: &str) -> String {
    if !key.starts_with('/') {
        return key.to_string();
    }
    let steps: Vec<&str> = key.split('/').filter(|s| !s.is_empty()).collect();
    let name_of = |step: &str| -> String {
        match step.split_once("[@name='") {
            Some((_, rest)) => rest.trim_end_matches("']").to_string(),
            None => step.split('[').next().unwrap_or(step).to_string(),
        }
    };
    match steps.as_slice() {
        [.., parent, attr] if attr.starts_with('@') => format!("{}/{attr}", name_of(parent)),
        [.., last] => name_of(last),
        [] => key.to_string(),
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Sysctl { key } => write!(f, "sysctl:{key}"),
            Subject::Limit {
                user,
                item,
                kind: Some(kind),
            } => write!(f, "limits:{user}:{item}:{kind}"),
            Subject::Limit {
                user,
                item,
                kind: None,
            } => write!(f, "limits:{user}:{item}"),
            Subject::Unit { unit, setting } => write!(f, "systemd:{unit}:{setting}"),
            Subject::Process { who, item } => write!(f, "process:{who}:{item}"),
            Subject::Setting { file, key } => write!(f, "{file}:{key}"),
            Subject::JvmOption { script, flag } => write!(f, "{script}:{flag}"),
            Subject::Source { file } => write!(f, "file:{file}"),
            Subject::ApimHome { path } => write!(f, "apim:{path}"),
            Subject::DbTable { table } => write!(f, "db:{table}"),
            Subject::DbIndex { table, columns } => write!(f, "db:{table}({})", columns.join(", ")),
            Subject::DbVariable { name } => write!(f, "db:@@{name}"),
            Subject::DbRow { table, id } => write!(f, "db:{table}:{id}"),
            Subject::Waiver { what } => write!(f, "waiver:{what}"),
            Subject::Node { node, subject } => write!(f, "node:{node}/{subject}"),
        }
    }
}

/// Tests build findings from the rendered form; a malformed one is a bug in the test.
#[cfg(test)]
impl From<&str> for Subject {
    fn from(s: &str) -> Subject {
        Subject::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }
}

#[cfg(test)]
impl From<String> for Subject {
    fn from(s: String) -> Subject {
        Subject::from(s.as_str())
    }
}

/// Ordered as the rendered strings are, so sorted lists read as before.
impl PartialOrd for Subject {
    fn partial_cmp(&self, other: &Subject) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Subject {
    fn cmp(&self, other: &Subject) -> std::cmp::Ordering {
        self.to_string().cmp(&other.to_string())
    }
}

impl Serialize for Subject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shape the rules render, and what it parses back to.
    #[test]
    fn subjects_round_trip() {
        let cases = [
            (
                "sysctl:net.core.somaxconn",
                Subject::sysctl("net.core.somaxconn"),
            ),
            (
                "limits:wso2:nofile:soft",
                Subject::limit("wso2", "nofile", Some("soft")),
            ),
            ("limits:root:nproc", Subject::limit("root", "nproc", None)),
            (
                "limits:*:nofile:hard",
                Subject::limit("*", "nofile", Some("hard")),
            ),
            (
                "systemd:wso2am.service:LimitNOFILE",
                Subject::Unit {
                    unit: "wso2am.service".into(),
                    setting: "LimitNOFILE".into(),
                },
            ),
            (
                "systemd:wso2:am.service:LimitNOFILE",
                Subject::Unit {
                    unit: "wso2:am.service".into(),
                    setting: "LimitNOFILE".into(),
                },
            ),
            (
                "process:/opt/wso2am-4.2.0:nofile",
                Subject::Process {
                    who: "/opt/wso2am-4.2.0".into(),
                    item: "nofile".into(),
                },
            ),
            (
                "deployment.toml:passthru_http.'http.socket.timeout'",
                Subject::setting("deployment.toml", "passthru_http.'http.socket.timeout'"),
            ),
            (
                "axis2_client.xml:/axisconfig/transportSender[@name='https']/parameter[@name='SO_TIMEOUT']",
                Subject::setting(
                    "axis2_client.xml",
                    "/axisconfig/transportSender[@name='https']/parameter[@name='SO_TIMEOUT']",
                ),
            ),
            (
                "api-manager.sh:-Xmx",
                Subject::jvm("api-manager.sh", "-Xmx"),
            ),
            (
                "file:etc/sysctl.d/20-broken.conf",
                Subject::Source {
                    file: "etc/sysctl.d/20-broken.conf".into(),
                },
            ),
            (
                "apim:/opt/x",
                Subject::ApimHome {
                    path: "/opt/x".into(),
                },
            ),
            (
                "db:IDN_OAUTH2_ACCESS_TOKEN",
                Subject::DbTable {
                    table: "IDN_OAUTH2_ACCESS_TOKEN".into(),
                },
            ),
            (
                "db:IDN_AUTH_SESSION_STORE(EXPIRY_TIME, SESSION_ID)",
                Subject::DbIndex {
                    table: "IDN_AUTH_SESSION_STORE".into(),
                    columns: vec!["EXPIRY_TIME".into(), "SESSION_ID".into()],
                },
            ),
            (
                "db:@@global.time_zone",
                Subject::DbVariable {
                    name: "global.time_zone".into(),
                },
            ),
            (
                "db:APIM_TUNE_CLEAN_RUN:3",
                Subject::DbRow {
                    table: "APIM_TUNE_CLEAN_RUN".into(),
                    id: "3".into(),
                },
            ),
            (
                "waiver:SYS010 on `sysctl:x`",
                Subject::Waiver {
                    what: "SYS010 on `sysctl:x`".into(),
                },
            ),
            (
                "node:gw-1/sysctl:net.core.somaxconn",
                Subject::Node {
                    node: "gw-1".into(),
                    subject: Box::new(Subject::sysctl("net.core.somaxconn")),
                },
            ),
        ];
        for (text, subject) in cases {
            assert_eq!(subject.to_string(), text);
            assert_eq!(Subject::parse(text).as_ref(), Ok(&subject), "{text}");
        }
    }

    #[test]
    fn malformed_subjects_are_errors() {
        for bad in [
            "",
            "sysctl",
            "sysctl:",
            "limits:a",
            "limits:a:b:c:d",
            "nofamily:x",
            "node:x",
        ] {
            assert!(Subject::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_names_name_the_element() {
        let short = |s: &str| Subject::parse(s).unwrap().short_name();
        assert_eq!(short("sysctl:net.core.somaxconn"), "net.core.somaxconn");
        assert_eq!(
            short("api-manager.xml:/APIManager/CacheConfigurations/TokenCacheExpiry"),
            "TokenCacheExpiry"
        );
        assert_eq!(
            short(
                "axis2_client.xml:/axisconfig/transportSender[@name='https']/parameter[@name='SO_TIMEOUT']"
            ),
            "SO_TIMEOUT"
        );
        assert_eq!(
            short(
                "catalina-server.xml:/Server/Service/Engine/Host/Valve[@className='x']/@threshold"
            ),
            "Valve/@threshold"
        );
        assert_eq!(
            short("deployment.toml:passthru_http.'http.socket.timeout'"),
            "passthru_http.'http.socket.timeout'"
        );
    }
}
