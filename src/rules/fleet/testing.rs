//! Table tests for the cross-node rules: nodes built in code (a [`NodeFacts`] builder with
//! known defaults, nothing from the machine running the tests), run through the fleet registry,
//! each finding of one code one line:
//!
//! `CODE subject @location current → expected`

use super::FleetContext;
use crate::diag::Code;
use crate::fleet::facts::*;
use crate::fleet::inventory::Inventory;
use crate::outcome::FleetNode;

/// A node with one home by default: 4.2.0, offset 0, 4 cores, 8 GiB, JDK 17, debian 12.
pub(crate) struct NodeB {
    node: FleetNode,
}

pub(crate) fn node(host: &str, role: &str) -> NodeB {
    let mut facts = NodeFacts {
        schema: SCHEMA.into(),
        tool_version: "test".into(),
        fingerprinted: true,
        ..NodeFacts::default()
    };
    facts.host.hostname = Sourced::known(host.to_string(), "proc/sys/kernel/hostname");
    facts.host.cores = Sourced::known(4, "sys/devices/system/cpu/online");
    facts.host.memory_mb = Sourced::known(8192, "proc/meminfo");
    facts.host.jdk = Sourced::known(17, "java -version");
    facts.host.distro = Sourced::known("debian 12".into(), "etc/os-release");
    let mut b = NodeB {
        node: FleetNode {
            host: host.into(),
            inventory_role: Some(role.into()),
            export_file: format!("{host}.json"),
            matched_by: "host field".into(),
            facts,
        },
    };
    b = b.home("opt/wso2am-4.2.0", role, 0);
    b
}

/// `scheme://host:port/path` as the facts export parses it.
pub(crate) fn url(s: &str) -> ParsedUrl {
    let (scheme, rest) = match s.split_once("://") {
        Some((a, b)) => (Some(a.to_string()), b),
        None => (None, s),
    };
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, String::new()),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().ok()),
        None => (hostport.to_string(), None),
    };
    ParsedUrl {
        scheme,
        host,
        port,
        path,
    }
}

impl NodeB {
    fn last(&mut self) -> &mut HomePart {
        self.node.facts.homes.last_mut().expect("a home")
    }

    /// Adds a home; the home setters below apply to the last one added.
    pub(crate) fn home(mut self, path: &str, role: &str, offset: u32) -> Self {
        let base = [9443u32, 9763, 8243, 8280, 5672, 9611, 9711];
        self.node.facts.homes.push(HomePart {
            path: path.into(),
            version: Sourced::known("4.2.0".into(), "updates/product.txt"),
            role: Sourced::known(role.into(), "-Dprofile"),
            offset: Sourced::known(offset, "deployment.toml:4:1"),
            heap_min_mb: Sourced::known(2048, "api-manager.sh"),
            heap_max_mb: Sourced::known(2048, "api-manager.sh"),
            listen_ports: base.iter().map(|p| p + offset).collect(),
            clustering: Clustering {
                source: "default".into(),
                ..Clustering::default()
            },
            ..HomePart::default()
        });
        self
    }

    pub(crate) fn address(mut self, a: &str) -> Self {
        self.node.facts.host.addresses.push(a.into());
        self
    }
    pub(crate) fn memory(mut self, mb: u64) -> Self {
        self.node.facts.host.memory_mb = Sourced::known(mb, "proc/meminfo");
        self
    }
    pub(crate) fn cores(mut self, n: u32) -> Self {
        self.node.facts.host.cores = Sourced::known(n, "sys/devices/system/cpu/online");
        self
    }
    pub(crate) fn jdk(mut self, v: Option<u32>) -> Self {
        self.node.facts.host.jdk = match v {
            Some(v) => Sourced::known(v, "java -version"),
            None => Sourced::unknown("no JDK found"),
        };
        self
    }
    pub(crate) fn sysctl(mut self, key: &str, live: &str) -> Self {
        self.node.facts.host.sysctl.insert(
            key.into(),
            SysctlFact {
                live: Some(live.into()),
                boot: Some(live.into()),
                boot_source: Some("etc/sysctl.d/90-apim.conf:1".into()),
            },
        );
        self
    }
    pub(crate) fn limit(mut self, item: &str, soft: &str, hard: &str) -> Self {
        self.node.facts.host.limits.insert(
            item.into(),
            LimitFact {
                soft: Some(soft.into()),
                hard: Some(hard.into()),
                user: Some("wso2carbon".into()),
                source: "etc/security/limits.d/apim.conf:1".into(),
            },
        );
        self
    }
    pub(crate) fn kubernetes(mut self, replicas: u32, hpa: Option<u32>, surge: u32) -> Self {
        self.node.facts.host.kubernetes = Some(KubernetesPart {
            workload: format!("Deployment/{}", self.node.host),
            container: "wso2am".into(),
            replicas: Some(replicas),
            hpa_max_replicas: hpa,
            max_surge: Some(surge),
            source: "manifests.yaml#1".into(),
            ..KubernetesPart::default()
        });
        self
    }
    pub(crate) fn unsalted(mut self) -> Self {
        self.node.facts.fingerprinted = false;
        for h in &mut self.node.facts.homes {
            h.fingerprints.clear();
        }
        self
    }

    pub(crate) fn version(mut self, v: &str) -> Self {
        self.last().version = Sourced::known(v.into(), "updates/product.txt");
        self
    }
    pub(crate) fn role_unknown(mut self) -> Self {
        self.last().role = Sourced::unknown("no role");
        self
    }
    pub(crate) fn server_hostname(mut self, h: &str) -> Self {
        self.last().hostname = Sourced::known(h.into(), "deployment.toml:2:1");
        self
    }
    pub(crate) fn setting(mut self, id: &str, value: &str, line: u32) -> Self {
        self.last().settings.insert(
            id.into(),
            SettingFact {
                value: Some(value.into()),
                unit: None,
                source: format!("deployment.toml:{line}:1"),
                written: true,
            },
        );
        self
    }
    pub(crate) fn default_setting(mut self, id: &str, value: &str) -> Self {
        self.last().settings.insert(
            id.into(),
            SettingFact {
                value: Some(value.into()),
                unit: None,
                source: "default".into(),
                written: false,
            },
        );
        self
    }
    pub(crate) fn heap(mut self, min: u64, max: u64) -> Self {
        let h = self.last();
        h.heap_min_mb = Sourced::known(min, "api-manager.sh");
        h.heap_max_mb = Sourced::known(max, "api-manager.sh");
        self
    }
    pub(crate) fn datasource(
        mut self,
        name: &str,
        engine: &str,
        server: &str,
        database: &str,
        max_active: Option<i64>,
    ) -> Self {
        let (host, port) = match server.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()),
            None => (server.to_string(), None),
        };
        self.last().datasources.push(DatasourceFact {
            name: name.into(),
            engine: Some(engine.into()),
            embedded: engine == "h2",
            host: Some(host),
            port,
            database: Some(database.into()),
            max_active,
            max_wait_ms: Some(60000),
            source: "deployment.toml:30:1".into(),
        });
        self
    }
    pub(crate) fn endpoint(mut self, target: EndpointTarget, setting: &str, urls: &[&str]) -> Self {
        self.last().endpoints.push(EndpointFact {
            target,
            setting: format!("deployment.toml:{setting}"),
            raw: urls.join(","),
            urls: urls.iter().map(|u| url(u)).collect(),
            source: "deployment.toml:40:1".into(),
            written: true,
        });
        self
    }
    /// The last endpoint added is the product's default, not written.
    pub(crate) fn defaulted(mut self) -> Self {
        if let Some(e) = self.last().endpoints.last_mut() {
            e.written = false;
            e.source = "default".into();
        }
        self
    }
    pub(crate) fn labels(mut self, labels: &[&str]) -> Self {
        self.last().gateway_labels = labels.iter().map(|s| s.to_string()).collect();
        self
    }
    pub(crate) fn environment(mut self, name: &str, service_url: &str) -> Self {
        self.last().gateway_environments.push(GatewayEnvironment {
            name: name.into(),
            kind: Some("hybrid".into()),
            service_url: Some(url(service_url)),
            source: "deployment.toml:50:1".into(),
        });
        self
    }
    pub(crate) fn clustering(mut self, scheme: &str, members: &[&str]) -> Self {
        self.last().clustering = Clustering {
            enabled: true,
            membership_scheme: Some(scheme.into()),
            domain: Some("wso2.apim.domain".into()),
            local_member_host: None,
            local_member_port: Some(4000),
            members: members.iter().map(|s| s.to_string()).collect(),
            source: "deployment.toml:60:1".into(),
        };
        self
    }
    pub(crate) fn fingerprint(mut self, key: &str, secret: &str) -> Self {
        self.last().fingerprints.insert(
            key.into(),
            Fingerprint {
                hmac: format!("hmac-sha256:{secret}"),
                source: "deployment.toml:70:1".into(),
            },
        );
        self
    }
    pub(crate) fn offset(mut self, offset: u32) -> Self {
        let h = self.last();
        h.offset = Sourced::known(offset, "deployment.toml:4:1");
        h.listen_ports = [9443u32, 9763, 8243, 8280, 5672, 9611, 9711]
            .iter()
            .map(|p| p + offset)
            .collect();
        self
    }

    pub(crate) fn build(self) -> FleetNode {
        self.node
    }
}

/// A deployment to judge: nodes, optionally an inventory (JSON as `ansible-inventory --list`).
pub(crate) struct Fleet {
    pub nodes: Vec<FleetNode>,
    pub inventory: Option<Inventory>,
    pub missing: Vec<String>,
    pub strays: Vec<String>,
    pub max: Option<u32>,
}

pub(crate) fn fleet(nodes: Vec<NodeB>) -> Fleet {
    Fleet {
        nodes: nodes.into_iter().map(NodeB::build).collect(),
        inventory: None,
        missing: Vec::new(),
        strays: Vec::new(),
        max: None,
    }
}

impl Fleet {
    pub(crate) fn inventory(mut self, json: &str) -> Self {
        let inv = crate::fleet::inventory::parse("inventory.json", json).expect("inventory");
        self.max = self.max.or(inv.db_max_connections);
        self.inventory = Some(inv);
        self
    }
    pub(crate) fn max_connections(mut self, n: u32) -> Self {
        self.max = Some(n);
        self
    }
    pub(crate) fn missing(mut self, hosts: &[&str]) -> Self {
        self.missing = hosts.iter().map(|s| s.to_string()).collect();
        self
    }
    pub(crate) fn strays(mut self, hosts: &[&str]) -> Self {
        self.strays = hosts.iter().map(|s| s.to_string()).collect();
        self
    }

    pub(crate) fn findings(&self, code: Code) -> Vec<crate::diag::Finding> {
        let cx = FleetContext::new(
            &self.nodes,
            self.inventory.as_ref(),
            &self.missing,
            &self.strays,
            self.max,
        );
        crate::rules::run_fleet(&cx)
            .into_iter()
            .filter(|f| f.code.code() == code.code())
            .collect()
    }

    /// `CODE subject @location current → expected`, one per finding of `code`.
    pub(crate) fn lines(&self, code: Code) -> Vec<String> {
        self.findings(code)
            .iter()
            .map(|f| {
                let mut s = format!("{} {}", f.code.code(), f.subject);
                if let Some(l) = &f.location {
                    s.push_str(&format!(" @{l}"));
                }
                if let Some(c) = &f.current {
                    s.push_str(&format!(" {c}"));
                }
                if let Some(e) = &f.expected {
                    s.push_str(&format!(" → {e}"));
                }
                s
            })
            .collect()
    }
}
