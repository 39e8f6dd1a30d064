//! What every renderer shows of a `fleet merge`: the nodes, their own findings read back from
//! the audit each export embeds, and those findings grouped across nodes.
//!
//! The per-node findings arrive as JSON (`HomePart.report`, written by another apim-tune,
//! perhaps an older one), so they are read back into the finding model here, once, and every
//! format lays out the same [`View`]. Nothing here judges: the cross-node rules did that.

use crate::diag::{Finding, Severity, Subject, Waived};
use crate::fleet::facts::NodeFacts;
use crate::model::Location;
use crate::outcome::{FleetNode, FleetReport};
use serde_json::Value;
use std::collections::BTreeMap;

/// Which layout `fleet_render` produces; `cli` maps its `--format` onto it (report/ cannot
/// import cli).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FleetFormat {
    Text,
    Json,
    Sarif,
    Junit,
    Markdown,
    Html,
}

/// "gateways", "control planes": how a count of nodes of one role reads.
pub fn plural(role: &str) -> String {
    match role {
        "all-in-one" => "all-in-one nodes".into(),
        r => format!("{}s", r.replace('-', " ")),
    }
}

/// One node's own findings, read back from every home's embedded report, with file paths
/// prefixed by the host (`gw1/etc/sysctl.d/…`), and the role of the home each came from. A
/// host-level finding (a sysctl, a limit) appears in each home's report; it is one finding of
/// the host, so exact repeats are kept once, with no home role (`None`, as for a home whose
/// role is unknown). On a host with two homes, a heap finding is the traffic manager's or the
/// key manager's, not the host's (see: review of issue 16). Returns the findings, their home
/// roles, and notes on what could not be read.
/// Each home of a node as "gateway 4.2.0": what the text and the HTML node tables show.
pub fn homes(node: &FleetNode) -> Vec<String> {
    node.facts
        .homes
        .iter()
        .map(|h| {
            format!(
                "{} {}",
                h.role.value.as_deref().unwrap_or("?"),
                h.version.value.as_deref().unwrap_or("version unknown")
            )
        })
        .collect()
}

pub fn node_findings(node: &FleetNode) -> (Vec<Finding>, Vec<Option<String>>, Vec<String>) {
    let mut out: Vec<Finding> = Vec::new();
    let mut out_roles: Vec<Option<String>> = Vec::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for home in &node.facts.homes {
        let home_role = home.role.value.clone();
        let report = home.report.value();
        let Some(list) = report.get("findings").and_then(Value::as_array) else {
            continue;
        };
        for v in list {
            match finding(&node.host, v) {
                Some(f) => match out.iter().position(|o| same(o, &f)) {
                    // Reported by another home too: the host's, not one home's.
                    Some(i) => {
                        if out_roles[i] != home_role {
                            out_roles[i] = None;
                        }
                    }
                    None => {
                        out.push(f);
                        out_roles.push(home_role.clone());
                    }
                },
                None => {
                    let code = v.get("code").and_then(Value::as_str).unwrap_or("?");
                    *skipped.entry(code.to_string()).or_default() += 1;
                }
            }
        }
    }
    let mut paired: Vec<(Finding, Option<String>)> = out.into_iter().zip(out_roles).collect();
    paired.sort_by_cached_key(|(f, _)| f.sort_key());
    let (out, out_roles): (Vec<Finding>, Vec<Option<String>>) = paired.into_iter().unzip();
    let notes = skipped
        .into_iter()
        .map(|(code, n)| {
            format!(
                "{}: {n} finding(s) `{code}` not shown: not a code or subject this apim-tune \
                 knows (the export was written by another version)",
                node.host
            )
        })
        .collect();
    (out, out_roles, notes)
}

/// The same finding of one host (two homes reporting one host fact), location included.
fn same(a: &Finding, b: &Finding) -> bool {
    a.code == b.code
        && a.subject == b.subject
        && a.location == b.location
        && a.current == b.current
        && a.expected == b.expected
        && a.message == b.message
}

/// One finding of the audit JSON (`report::json`'s shape) back in the model; `None` when its
/// code or subject is unknown to this build.
fn finding(host: &str, v: &Value) -> Option<Finding> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let n = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let code = crate::diag::Code::from_code(&s("code")?)?;
    let subject = Subject::parse(&s("subject")?).ok()?;
    let mut f = Finding::new(code, subject, s("message").unwrap_or_default());
    if let Some(sev) = s("severity").as_deref().and_then(Severity::parse) {
        f.severity = sev;
    }
    f.location = s("file").map(|file| Location {
        file: format!("{host}/{file}"),
        line: n("line"),
        column: n("column"),
        span: None,
    });
    f.current = s("current");
    f.expected = s("expected");
    f.why = s("why");
    f.see = s("see");
    f.notes = v
        .get("notes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    f.waived = v.get("waived").filter(|w| w.is_object()).map(|w| {
        let ws = |k: &str| w.get(k).and_then(Value::as_str).map(str::to_string);
        Waived {
            reason: ws("reason").unwrap_or_default(),
            expires: ws("expires"),
            at: Location::file_only(&ws("waiver").unwrap_or_default()),
        }
    });
    Some(f)
}

/// Identical findings of several nodes, shown once: "SYS010 on 3 of 4 gateways: gw1, gw2, gw3".
#[derive(Debug)]
pub struct Group {
    /// The first node's finding (its location is that node's).
    pub finding: Finding,
    /// The hosts that have it, in node order.
    pub hosts: Vec<String>,
    /// Every host's location of it, in the order of `hosts`.
    pub locations: Vec<Location>,
    /// The role all of `hosts` share, when they share one.
    pub role: Option<String>,
    /// How many nodes have that role (or how many nodes there are, with no common role).
    pub of: usize,
}

impl Group {
    /// `on 3 of 4 gateways: gw1, gw2, gw3`, `on gw1 (1 of 2 gateways)`.
    pub fn scope(&self) -> String {
        let kind = match &self.role {
            Some(r) => plural(r),
            None => "nodes".to_string(),
        };
        let n = self.hosts.len();
        if n == 1 && self.of == 1 {
            let one = self
                .role
                .as_deref()
                .map_or("node".to_string(), |r| r.replace('-', " "));
            format!("on {} (the only {one})", self.hosts[0])
        } else if n == 1 {
            format!("on {} (1 of {} {kind})", self.hosts[0], self.of)
        } else if n == self.of {
            format!("on all {n} {kind}: {}", self.hosts.join(", "))
        } else {
            format!("on {n} of {} {kind}: {}", self.of, self.hosts.join(", "))
        }
    }
}

/// Everything a renderer shows of a fleet, computed once.
pub struct View<'a> {
    pub report: &'a FleetReport,
    /// Per node, in report order: its roles and its own findings.
    pub nodes: Vec<NodeView<'a>>,
    pub groups: Vec<Group>,
    /// The report's notes, then what could not be read from the embedded reports.
    pub notes: Vec<String>,
}

pub struct NodeView<'a> {
    pub node: &'a FleetNode,
    pub roles: Vec<String>,
    pub findings: Vec<Finding>,
    /// The role of the home each of `findings` came from (`None`: the host's).
    pub finding_roles: Vec<Option<String>>,
}

impl<'a> View<'a> {
    pub fn of(report: &'a FleetReport) -> View<'a> {
        let mut notes = report.notes.clone();
        let nodes: Vec<NodeView> = report
            .nodes
            .iter()
            .map(|node| {
                let (findings, finding_roles, more) = node_findings(node);
                notes.extend(more);
                NodeView {
                    node,
                    roles: node.roles(),
                    findings,
                    finding_roles,
                }
            })
            .collect();
        let groups = group(&nodes);
        View {
            report,
            nodes,
            groups,
            notes,
        }
    }

    /// The node findings, each host's counted once (not once per group).
    pub fn node_finding_iter(&self) -> impl Iterator<Item = &Finding> {
        self.nodes.iter().flat_map(|n| n.findings.iter())
    }

    /// The deployment findings and the node findings (each host's once).
    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.report.findings.iter().chain(self.node_finding_iter())
    }

    /// Findings of this severity that count (not waived), deployment and nodes.
    pub fn count(&self, s: Severity) -> usize {
        self.all_findings()
            .filter(|f| f.severity == s && f.waived.is_none())
            .count()
    }

    pub fn waived(&self) -> usize {
        self.all_findings().filter(|f| f.waived.is_some()).count()
    }

    /// Whether any finding that is not waived is at or above `threshold`.
    pub fn fails(&self, threshold: Option<Severity>) -> bool {
        threshold.is_some_and(|t| {
            self.all_findings()
                .any(|f| f.severity >= t && f.waived.is_none())
        })
    }
}

/// Groups identical findings (code, subject, current, expected, waived or not) across nodes,
/// in the order of their first occurrence by severity, most severe first.
fn group(nodes: &[NodeView]) -> Vec<Group> {
    type Key = (String, String, Option<String>, Option<String>, bool);
    let mut index: BTreeMap<Key, usize> = BTreeMap::new();
    let mut groups: Vec<Group> = Vec::new();
    // The home roles each group's findings came from, by group index.
    let mut home_roles: Vec<Vec<Option<String>>> = Vec::new();
    for n in nodes {
        for (f, home_role) in n.findings.iter().zip(&n.finding_roles) {
            let key = (
                f.code.code().to_string(),
                f.subject.to_string(),
                f.current.clone(),
                f.expected.clone(),
                f.waived.is_some(),
            );
            let at = f
                .location
                .clone()
                .unwrap_or_else(|| Location::file_only(&n.node.host));
            match index.get(&key) {
                Some(&i) => {
                    let g = &mut groups[i];
                    if !g.hosts.contains(&n.node.host) {
                        g.hosts.push(n.node.host.clone());
                        g.locations.push(at);
                        home_roles[i].push(home_role.clone());
                    }
                }
                None => {
                    index.insert(key, groups.len());
                    home_roles.push(vec![home_role.clone()]);
                    groups.push(Group {
                        finding: f.clone(),
                        hosts: vec![n.node.host.clone()],
                        locations: vec![at],
                        role: None,
                        of: nodes.len(),
                    });
                }
            }
        }
    }
    for (g, from) in groups.iter_mut().zip(&home_roles) {
        // Every finding of the group from a home of one role: that role.
        if let Some(Some(r)) = from.first()
            && from.iter().all(|x| x.as_ref() == Some(r))
        {
            g.of = nodes.iter().filter(|n| n.roles.contains(r)).count();
            g.role = Some(r.clone());
            continue;
        }
        let roles_of = |h: &String| {
            nodes
                .iter()
                .find(|n| &n.node.host == h)
                .map(|n| n.roles.clone())
                .unwrap_or_default()
        };
        let first = g.hosts.first().map(roles_of).unwrap_or_default();
        g.role = first
            .into_iter()
            .find(|r| g.hosts.iter().all(|h| roles_of(h).contains(r)));
        if let Some(r) = &g.role {
            g.of = nodes.iter().filter(|n| n.roles.contains(r)).count();
        }
    }
    // Stable: among equal severities, the order nodes and their sorted findings gave.
    groups.sort_by_key(|g| std::cmp::Reverse(g.finding.severity));
    groups
}

/// The settings that differ between nodes of one role: per role, per catalog setting (and heap),
/// the value on each node of the role. Settings equal on every node are left out; so are
/// roles with one node.
pub struct Drift {
    pub role: String,
    pub hosts: Vec<String>,
    /// (setting, one value per host: `None` when that node does not say).
    pub rows: Vec<(String, Vec<Option<String>>)>,
}

pub fn drift(view: &View) -> Vec<Drift> {
    let mut roles: Vec<String> = Vec::new();
    for n in &view.nodes {
        for r in &n.roles {
            if !roles.contains(r) {
                roles.push(r.clone());
            }
        }
    }
    let mut out = Vec::new();
    for role in roles {
        // A node's settings as that role: the home running it (the first, when the inventory
        // role is not a home's own).
        let members: Vec<(&str, BTreeMap<String, String>)> = view
            .nodes
            .iter()
            .filter(|n| n.roles.contains(&role))
            .map(|n| (n.node.host.as_str(), settings_of(&n.node.facts, &role)))
            .collect();
        if members.len() < 2 {
            continue;
        }
        let mut keys: Vec<&String> = members.iter().flat_map(|(_, s)| s.keys()).collect();
        keys.sort();
        keys.dedup();
        let mut rows = Vec::new();
        for k in keys {
            let values: Vec<Option<String>> =
                members.iter().map(|(_, s)| s.get(k).cloned()).collect();
            if values.windows(2).any(|w| w[0] != w[1]) {
                rows.push((k.clone(), values));
            }
        }
        if !rows.is_empty() {
            out.push(Drift {
                role,
                hosts: members.iter().map(|(h, _)| h.to_string()).collect(),
                rows,
            });
        }
    }
    out
}

/// The values compared for drift: catalog settings (with their unit), heap, pools, and the
/// host's kernel parameters and limits in effect. Per-node identity (hostname, node_ip,
/// offset, peer URLs) is not among them: those differ by design.
fn settings_of(facts: &NodeFacts, role: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let home = facts
        .homes
        .iter()
        .find(|h| h.role.value.as_deref() == Some(role))
        .or_else(|| facts.homes.first());
    if let Some(h) = home {
        for (k, s) in &h.settings {
            if let Some(v) = &s.value {
                let v = match &s.unit {
                    Some(u) => format!("{v} {u}"),
                    None => v.clone(),
                };
                out.insert(k.clone(), v);
            }
        }
        if let Some(v) = h.heap_max_mb.value {
            out.insert("jvm.heap_max".into(), format!("{v} MiB"));
        }
        if let Some(v) = h.heap_min_mb.value {
            out.insert("jvm.heap_min".into(), format!("{v} MiB"));
        }
        for d in &h.datasources {
            if let Some(m) = d.max_active {
                out.insert(format!("datasource.{}.max_active", d.name), m.to_string());
            }
        }
    }
    for (k, s) in &facts.host.sysctl {
        if let Some(v) = s.live.as_ref().or(s.boot.as_ref()) {
            out.insert(format!("sysctl.{k}"), v.clone());
        }
    }
    for (k, l) in &facts.host.limits {
        let v = format!(
            "{}/{}",
            l.soft.as_deref().unwrap_or("-"),
            l.hard.as_deref().unwrap_or("-")
        );
        out.insert(format!("limits.{k}"), v);
    }
    out
}

#[cfg(test)]
pub(crate) mod sample;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{RenderOptions, fleet_render};

    fn plain(kind: FleetFormat, r: &FleetReport) -> String {
        colored::control::set_override(false);
        fleet_render(kind, r, &RenderOptions::default())
    }

    #[test]
    fn identical_findings_of_several_nodes_are_one_group() {
        let r = sample::report_of_fleet();
        let view = View::of(&r);
        let scopes: Vec<(String, String)> = view
            .groups
            .iter()
            .map(|g| (g.finding.code.code().to_string(), g.scope()))
            .collect();
        assert!(
            scopes.contains(&("SYS010".into(), "on 2 of 3 gateways: gw1, gw2".into())),
            "{scopes:?}"
        );
        // gw3's waived pool is not gw2's active one.
        assert!(
            scopes.contains(&("APM001".into(), "on gw2 (1 of 3 gateways)".into()))
                || scopes.iter().filter(|(c, _)| c == "APM001").count() == 2,
            "{scopes:?}"
        );
        // tm1's homes both report the limit: one finding of tm1, not two.
        let tm1 = view.nodes.iter().find(|n| n.node.host == "tm1").unwrap();
        assert_eq!(tm1.findings.len(), 1);
        assert_eq!(tm1.roles, ["traffic-manager", "key-manager"]);
        // Node findings are located under their host.
        assert_eq!(
            tm1.findings[0].location.as_ref().unwrap().file,
            "tm1/etc/security/limits.d/wso2.conf"
        );
        // The unknown code is not dropped silently.
        assert!(
            view.notes
                .iter()
                .any(|n| n.contains("gw3") && n.contains("XYZ999")),
            "{:?}",
            view.notes
        );
    }

    /// The exit code asks about the whole deployment: a node's own error fails it, a waived
    /// one does not.
    #[test]
    fn node_findings_count_for_fail_on() {
        use crate::report::Renderable;
        let mut r = sample::report_of_fleet();
        r.findings.clear();
        assert!(r.fails(Some(Severity::Warning)));
        assert_eq!(r.waived(), 1);
        for n in &mut r.nodes {
            if n.host != "gw3" {
                for h in &mut n.facts.homes {
                    h.report = crate::fleet::facts::EmbeddedReport::from_value(
                        &serde_json::json!({ "findings": [] }),
                    );
                }
            }
        }
        assert!(
            !r.fails(Some(Severity::Info)),
            "only a waived finding is left"
        );
        assert_eq!(r.count(Severity::Warning), 0);
    }

    #[test]
    fn drift_lists_only_what_differs_within_a_role() {
        let r = sample::report_of_fleet();
        let view = View::of(&r);
        let d = drift(&view);
        let gw = d.iter().find(|d| d.role == "gateway").unwrap();
        assert_eq!(gw.hosts, ["gw1", "gw2", "gw3"]);
        let keys: Vec<&str> = gw.rows.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "cache.gateway_token.expiry_time",
                "database.apim_db.pool_options.maxActive",
                "sysctl.net.core.somaxconn",
            ]
        );
        // One node per role elsewhere: nothing to compare.
        assert!(
            d.iter().all(|d| d.role == "gateway"),
            "{:?}",
            d.iter().map(|d| &d.role).collect::<Vec<_>>()
        );
    }

    /// Nothing found anywhere: every format says so rather than printing empty tables.
    #[test]
    fn a_clean_fleet() {
        let mut r = sample::report_of_fleet();
        r.findings.clear();
        r.notes.clear();
        for n in &mut r.nodes {
            for h in &mut n.facts.homes {
                h.report = crate::fleet::facts::EmbeddedReport::from_value(
                    &serde_json::json!({ "findings": [] }),
                );
            }
        }
        let text = plain(FleetFormat::Text, &r);
        assert!(text.ends_with("no findings\n"), "{text}");
        let md = plain(FleetFormat::Markdown, &r);
        assert!(md.contains("No cross-node finding."), "{md}");
        assert!(md.contains("No node has a finding of its own."), "{md}");
        let v: serde_json::Value = serde_json::from_str(&plain(FleetFormat::Json, &r)).unwrap();
        assert_eq!(v["summary"]["error"], 0);
        assert_eq!(v["node_findings"], serde_json::json!([]));
    }

    #[test]
    fn text() {
        insta::assert_snapshot!(plain(FleetFormat::Text, &sample::report_of_fleet()));
    }

    #[test]
    fn markdown() {
        insta::assert_snapshot!(plain(FleetFormat::Markdown, &sample::report_of_fleet()));
    }

    #[test]
    fn json() {
        let out = plain(FleetFormat::Json, &sample::report_of_fleet());
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["schema"], "apim-tune/fleet/v1");
        // Each node's own reports are inside, untouched.
        assert_eq!(
            v["nodes"][4]["homes"][1]["report"]["schema"],
            "apim-tune/audit/v1"
        );
        insta::assert_json_snapshot!(v, {
            ".version" => "[VERSION]",
            ".nodes[].homes[].report.version" => "[VERSION]",
        });
    }

    #[test]
    fn sarif() {
        let out = plain(FleetFormat::Sarif, &sample::report_of_fleet());
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let results = v["runs"][0]["results"].as_array().unwrap();
        let uris: Vec<&str> = results
            .iter()
            .map(|r| {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap_or("-")
            })
            .collect();
        // The deployment finding first, then each node's own, one result per node.
        assert_eq!(
            uris,
            [
                "cp1/opt/wso2am-4.2.0/repository/conf/deployment.toml",
                "gw1/etc/sysctl.d/90-legacy.conf",
                "gw2/etc/sysctl.d/90-legacy.conf",
                "gw2/opt/wso2am-4.2.0/repository/conf/deployment.toml",
                "gw3/opt/wso2am-4.2.0/repository/conf/deployment.toml",
                "tm1/etc/security/limits.d/wso2.conf",
            ]
        );
        let prints: Vec<&str> = results
            .iter()
            .filter_map(|r| r["partialFingerprints"]["apimTune/v1"].as_str())
            .collect();
        let mut unique = prints.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), prints.len(), "{prints:?}");
    }
}
