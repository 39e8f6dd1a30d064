//! One API-M home's part of the export: identity, role, offset, settings, heap, datasources,
//! endpoints, gateway labels and environments, clustering, cache invalidation, fingerprints,
//! and the home's own audit report.

use super::Audited;
use super::fingerprint::{Salt, fingerprints};
use super::url::parse_all;
use crate::apim::datasources::{Engine, Server};
use crate::apim::wiring::{self, Target};
use crate::apim::{ApimModel, Layout, ports};
use crate::fleet::facts::{
    Clustering, DatasourceFact, EndpointFact, EndpointTarget, GatewayEnvironment, HomePart,
    SettingFact, Sourced,
};
use crate::model::display_path;
use std::collections::BTreeMap;
use std::path::Path;

pub(super) fn home_part(root: &Path, m: &ApimModel, a: &Audited, salt: Option<&Salt>) -> HomePart {
    let node_ports = ports::node_ports(m);
    let offset = node_ports.offset;
    let mut listen_ports: Vec<u32> = node_ports.ports.iter().map(|p| p.port).collect();
    listen_ports.sort_unstable();
    listen_ports.dedup();
    let (heap_min_mb, heap_max_mb) = heap(a, m);
    HomePart {
        path: display_path(root, &m.home.path),
        version: match m.home.version {
            Some(v) => Sourced::known(v.to_string(), m.home.version_source.clone()),
            None => Sourced::unknown(m.home.version_source.clone()),
        },
        role: role(a),
        offset: Sourced::known(offset, node_ports.offset_from.clone()),
        hostname: hostname(m),
        node_ip: toml_written(m, "server.node_ip").map_or_else(
            || Sourced::unknown("not set: Carbon uses this host's address"),
            |(v, at)| Sourced::known(v, at),
        ),
        settings: settings(m),
        heap_min_mb,
        heap_max_mb,
        datasources: datasources(m),
        endpoints: endpoints(m, offset),
        listen_ports,
        gateway_labels: gateway_labels(m),
        gateway_environments: environments(m, offset),
        clustering: clustering(m),
        cache_invalidation: cache_invalidation(m),
        fingerprints: salt.map(|s| fingerprints(m, s)).unwrap_or_default(),
        report: report_json(&a.report),
    }
}

/// Exactly what `apim-tune audit --format json` prints for this home, compacted: kept as
/// text by the merge, its own indentation would sit at odds with the export's.
fn report_json(r: &crate::outcome::AuditReport) -> crate::fleet::facts::EmbeddedReport {
    serde_json::from_str::<serde_json::Value>(&crate::report::json::render(r))
        .map(|v| crate::fleet::facts::EmbeddedReport::from_value(&v))
        .unwrap_or_default()
}

fn role(a: &Audited) -> Sourced<String> {
    let role = a.report.profile.role.clone();
    let source = match &a.prepared.node_role {
        Some(n) if n.role == role => format!("{} (`{}`)", n.source, n.written),
        _ if a.prepared.node_role.is_none() && role == "all-in-one" => {
            "default (the node declares no role)".to_string()
        }
        _ => "--role / --profile".to_string(),
    };
    Sourced::known(role, source)
}

/// A value deployment.toml writes for `key` (never a secret: those are redacted by the parser
/// and not asked for here), with where.
fn toml_written(m: &ApimModel, key: &str) -> Option<(String, String)> {
    let doc = m.toml.as_ref()?;
    let e = doc.get(key)?;
    (!e.secret).then(|| (e.value.clone(), doc.file.location(e.value_span).to_string()))
}

fn xml_text(m: &ApimModel, file: &str, xpath: &str) -> Option<(String, String)> {
    let doc = m.xml_doc(file)?;
    let path = crate::apim::xml::XPath::parse(xpath).ok()?;
    let hit = doc.query(&path).pop()?;
    let at = hit.span.map_or_else(
        || doc.file.location(hit.element_span),
        |s| doc.file.location(s),
    );
    Some((hit.value.clone(), at.to_string()))
}

fn hostname(m: &ApimModel) -> Sourced<String> {
    match m.home.layout {
        Layout::Toml => match toml_written(m, "server.hostname") {
            Some((v, at)) => Sourced::known(v, at),
            None => match m.effective("server.hostname").and_then(|e| e.value) {
                Some(v) => Sourced::known(v, "not set; the product default applies"),
                None => Sourced::unknown("not set"),
            },
        },
        Layout::Xml => match xml_text(m, "carbon.xml", "/Server/HostName") {
            Some((v, at)) => Sourced::known(v, at),
            None => Sourced::unknown("carbon.xml has no HostName"),
        },
    }
}

fn settings(m: &ApimModel) -> BTreeMap<String, SettingFact> {
    crate::apim::catalog::catalog()
        .iter()
        .filter_map(|s| {
            let obs = m.observe(&s.id)?;
            let written = obs.set_at.is_some();
            let source = match (&obs.set_at, &obs.note) {
                (Some(at), _) => at.to_string(),
                (None, Some(note)) => note.clone(),
                (None, None) => "not set; no known default".to_string(),
            };
            Some((
                s.id.clone(),
                SettingFact {
                    // A setting may be a URL (`revoke_endpoint`): never its credentials.
                    value: obs.value.map(|v| wiring::printable(&v)),
                    unit: s.unit.clone(),
                    source,
                    written,
                },
            ))
        })
        .collect()
}

/// `-Xms`/`-Xmx` of the next start (script + the environment of the unit that runs the home).
fn heap(a: &Audited, m: &ApimModel) -> (Sourced<u64>, Sourced<u64>) {
    let Some(script) = m.jvm.as_ref() else {
        let why = "no readable start-up script in the home";
        return (Sourced::unknown(why), Sourced::unknown(why));
    };
    let effect =
        crate::apim::jvm_effect::JvmInEffect::compute(script, a.prepared.home_units.first());
    let one = |flag: &str| match effect.get(flag) {
        Some(o) => match o
            .flag
            .value
            .as_deref()
            .and_then(crate::apim::jvm::parse_size)
        {
            Some(bytes) => Sourced::known(bytes >> 20, o.source()),
            None => Sourced::unknown(format!("{} is not a size ({})", flag, o.source())),
        },
        None => Sourced::unknown(format!(
            "no {flag} in the start-up script or its environment"
        )),
    };
    (one("-Xms"), one("-Xmx"))
}

fn datasources(m: &ApimModel) -> Vec<DatasourceFact> {
    m.datasources()
        .iter()
        .map(|d| {
            let (host, port, database) = match &d.server {
                Server::Remote {
                    host,
                    port,
                    database,
                } => (Some(host.clone()), *port, database.clone()),
                _ => (None, None, None),
            };
            DatasourceFact {
                name: d.name.clone(),
                engine: d.engine.map(|e| engine_id(e).to_string()),
                embedded: d.server == Server::Embedded,
                host,
                port,
                database,
                max_active: d.max_active.value,
                max_wait_ms: d.max_wait.value,
                source: match (&d.url_at, &d.safe_url) {
                    (Some(at), _) => at.to_string(),
                    (None, Some(_)) => "not set; the product default applies".to_string(),
                    (None, None) => "no URL".to_string(),
                },
            }
        })
        .collect()
}

/// The engine as the export names it: lower case, one word (`mssql`, not `SQL Server`).
fn engine_id(e: Engine) -> &'static str {
    match e {
        Engine::H2 => "h2",
        Engine::MySql => "mysql",
        Engine::Maria => "mariadb",
        Engine::Postgres => "postgresql",
        Engine::Oracle => "oracle",
        Engine::MsSql => "mssql",
        Engine::Db2 => "db2",
    }
}

fn endpoints(m: &ApimModel, offset: u32) -> Vec<EndpointFact> {
    let mut out: Vec<EndpointFact> = wiring::read(m)
        .into_iter()
        .map(|l| {
            let key = l.subject.to_string();
            // The traffic manager's event receivers (binary/Thrift URL groups) are reached on
            // other ports than its service URL; the merge checks them apart.
            let receiver = key.contains("url_group")
                || key.contains("receiver_url")
                || key.ends_with("ReceiverUrlGroup")
                || key.ends_with("AuthUrlGroup");
            let target = match l.target {
                Target::KeyManager => EndpointTarget::KeyManager,
                Target::TrafficManager if receiver => EndpointTarget::TrafficManagerReceiver,
                Target::TrafficManager => EndpointTarget::TrafficManager,
                Target::EventHub => EndpointTarget::EventHub,
                Target::Gateway => EndpointTarget::Gateway,
                Target::RevocationNotify => EndpointTarget::RevocationNotify,
                Target::ThriftListen => EndpointTarget::ThriftListen,
            };
            EndpointFact {
                target,
                setting: key,
                urls: parse_all(&wiring::printable(&l.value), offset),
                source: match (&l.at, &l.note) {
                    (Some(at), _) => at.to_string(),
                    (None, Some(n)) => n.clone(),
                    (None, None) => "not set".to_string(),
                },
                written: l.at.is_some(),
                raw: wiring::printable(&l.value),
            }
        })
        .collect();
    // `[apim.event_hub] event_duplicate_url` (4.x control plane / traffic manager HA): where
    // this node forwards the events it receives, i.e. its HA peer.
    if let Some(doc) = m.toml.as_ref()
        && let Some(e) = doc.get("apim.event_hub.event_duplicate_url")
        && !e.secret
    {
        out.push(EndpointFact {
            target: EndpointTarget::EventDuplicate,
            setting: "deployment.toml:apim.event_hub.event_duplicate_url".to_string(),
            raw: wiring::printable(&e.value),
            urls: parse_all(&wiring::printable(&e.value), offset),
            source: doc.file.location(e.value_span).to_string(),
            written: true,
        });
    }
    out
}

/// The strings of a TOML array as written (`["Default", 'Edge']`), or a lone string.
fn strings_of(value: &str) -> Vec<String> {
    let v = value.trim();
    if !v.starts_with('[') {
        return if v.is_empty() {
            Vec::new()
        } else {
            vec![v.to_string()]
        };
    }
    let mut out = Vec::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            let mut s = String::new();
            let mut escaped = false;
            for d in chars.by_ref() {
                match d {
                    '\\' if c == '"' && !escaped => escaped = true,
                    d if d == c && !escaped => break,
                    d => {
                        s.push(d);
                        escaped = false;
                    }
                }
            }
            out.push(s);
        }
    }
    out
}

fn gateway_labels(m: &ApimModel) -> Vec<String> {
    if m.home.layout != Layout::Toml {
        return Vec::new();
    }
    let key = "apim.sync_runtime_artifacts.gateway.gateway_labels";
    match m.toml.as_ref().and_then(|d| d.get(key)) {
        Some(e) => strings_of(&e.value),
        // default.json gives `["Default"]`; the effective value says so when the home has it.
        None => m
            .effective(key)
            .and_then(|e| e.value)
            .map(|v| strings_of(&v))
            .unwrap_or_else(|| vec!["Default".to_string()]),
    }
}

fn environments(m: &ApimModel, offset: u32) -> Vec<GatewayEnvironment> {
    let mut out = Vec::new();
    match m.home.layout {
        Layout::Toml => {
            let Some(doc) = m.toml.as_ref() else {
                return out;
            };
            let mut by_index: BTreeMap<
                usize,
                BTreeMap<&str, &crate::apim::deployment_toml::TomlEntry>,
            > = BTreeMap::new();
            for e in doc.entries.values() {
                let Some(rest) = e.key.strip_prefix("apim.gateway.environment[") else {
                    continue;
                };
                let Some((index, field)) = rest.split_once("].") else {
                    continue;
                };
                if let Ok(i) = index.parse::<usize>() {
                    by_index.entry(i).or_default().insert(field, e);
                }
            }
            for fields in by_index.values() {
                let Some(name) = fields.get("name") else {
                    continue;
                };
                out.push(GatewayEnvironment {
                    name: name.value.clone(),
                    kind: fields.get("type").map(|e| e.value.clone()),
                    service_url: fields.get("service_url").and_then(|e| {
                        parse_all(&wiring::printable(&e.value), offset)
                            .into_iter()
                            .next()
                    }),
                    source: doc.file.location(name.value_span).to_string(),
                });
            }
        }
        Layout::Xml => {
            let Some(doc) = m.xml_doc("api-manager.xml") else {
                return out;
            };
            let Ok(path) =
                crate::apim::xml::XPath::parse("/APIManager/APIGateway/Environments/Environment")
            else {
                return out;
            };
            for env in doc.query_elements(&path) {
                let text = |name: &str| {
                    env.children_named(name)
                        .next()
                        .and_then(|c| c.text_value())
                        .map(str::to_string)
                };
                let Some(name) = text("Name") else { continue };
                out.push(GatewayEnvironment {
                    name,
                    kind: env.attr("type").map(|a| a.value.clone()),
                    service_url: text("ServerURL")
                        .and_then(|u| parse_all(&wiring::printable(&u), offset).into_iter().next()),
                    source: doc.file.location(env.start_tag).to_string(),
                });
            }
        }
    }
    out
}

fn clustering(m: &ApimModel) -> Clustering {
    match m.home.layout {
        Layout::Toml => {
            let Some(doc) = m.toml.as_ref() else {
                return Clustering {
                    source: "deployment.toml not readable".into(),
                    ..Clustering::default()
                };
            };
            let get = |k: &str| doc.get(k).filter(|e| !e.secret).map(|e| e.value.clone());
            let scheme = get("clustering.membership_scheme");
            let members = get("clustering.members")
                .or_else(|| get("clustering.properties.members"))
                .map(|v| {
                    strings_of(&wiring::printable(&v))
                        .into_iter()
                        // `host:port` is the member; anything before an `@` is credentials.
                        .map(|m| m.rsplit('@').next().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            Clustering {
                // The 4.x axis2.xml template: `enable="{{clustering.membership_scheme is defined}}"`.
                enabled: scheme.is_some(),
                source: match doc.get("clustering.membership_scheme") {
                    Some(e) => doc.file.location(e.value_span).to_string(),
                    None => "no `[clustering] membership_scheme`: clustering is off".into(),
                },
                membership_scheme: scheme,
                domain: get("clustering.domain"),
                local_member_host: get("clustering.local_member_host"),
                local_member_port: get("clustering.local_member_port")
                    .and_then(|p| p.trim().parse().ok()),
                members,
            }
        }
        Layout::Xml => {
            let Some(doc) = m.xml_doc("axis2.xml") else {
                return Clustering {
                    source: "no readable axis2.xml".into(),
                    ..Clustering::default()
                };
            };
            let Some(c) = crate::apim::xml::XPath::parse("/axisconfig/clustering")
                .ok()
                .and_then(|p| doc.query_elements(&p).into_iter().next())
            else {
                return Clustering {
                    source: format!("{}: no clustering element", doc.file.display),
                    ..Clustering::default()
                };
            };
            let param = |name: &str| {
                c.children_named("parameter")
                    .find(|p| p.attr("name").is_some_and(|a| a.value == name))
                    .and_then(|p| p.text_value())
                    .map(|t| t.trim().to_string())
            };
            let members = c
                .children_named("members")
                .flat_map(|ms| ms.children_named("member"))
                .filter_map(|mem| {
                    let host = mem.children_named("hostName").next()?.text_value()?.trim();
                    let port = mem
                        .children_named("port")
                        .next()
                        .and_then(|p| p.text_value())
                        .map(str::trim);
                    Some(match port {
                        Some(p) => format!("{host}:{p}"),
                        None => host.to_string(),
                    })
                })
                .collect();
            Clustering {
                enabled: c
                    .attr("enable")
                    .is_some_and(|a| a.value.trim().eq_ignore_ascii_case("true")),
                membership_scheme: param("membershipScheme"),
                domain: param("domain"),
                local_member_host: param("localMemberHost"),
                local_member_port: param("localMemberPort").and_then(|p| p.parse().ok()),
                members,
                source: doc.file.location(c.start_tag).to_string(),
            }
        }
    }
}

fn cache_invalidation(m: &ApimModel) -> BTreeMap<String, String> {
    let Some(doc) = m.toml.as_ref() else {
        return BTreeMap::new();
    };
    doc.entries
        .values()
        .filter(|e| !e.secret)
        .filter_map(|e| {
            let rest = e.key.strip_prefix("apim.cache_invalidation.")?;
            // Credentials of the invalidation topic are not facts to compare.
            (!crate::redact::is_secret_key(rest) && !rest.ends_with("username"))
                .then(|| (rest.to_string(), wiring::printable(&e.value)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::strings_of;

    #[test]
    fn toml_string_arrays() {
        assert_eq!(
            strings_of(r#"["Default", 'Edge']"#),
            vec!["Default", "Edge"]
        );
        assert_eq!(strings_of(r#"["a\"b"]"#), vec!["a\"b"]);
        assert_eq!(strings_of("[]"), Vec::<String>::new());
        assert_eq!(strings_of("Default"), vec!["Default"]);
        assert_eq!(strings_of(r#"["unterminated"#), vec!["unterminated"]);
    }
}
