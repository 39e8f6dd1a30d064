//! `--format sarif`: one SARIF 2.1.0 log with one run, for GitHub code scanning and other
//! SARIF viewers. A `db audit` run has no files: its results name their table as a logical
//! location instead.
//!
//! Owns the mapping from findings and codes to SARIF objects; it never judges a value and never
//! reads a file (the only file bytes it could name are spans the audit already measured).
//! Secrets never reach here: parsers already masked them.

use super::{Context, RenderOptions, Renderable};
use crate::db::model::DbAuditReport;
use crate::diag::Code;
use crate::diag::{Finding, Fix, FixShape, Severity};
use crate::model::Location;
use crate::outcome::AuditReport;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The OASIS 2.1.0 schema (errata 01), the one the tests validate against.
const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

const INFORMATION_URI: &str = "https://github.com/apim-tune/apim-tune";

/// Relative artifact URIs are relative to `--root`; naming that base lets a consumer resolve
/// them without guessing (SARIF §3.4.4 asks for a `uriBaseId` on relative URIs).
const ROOT_BASE_ID: &str = "ROOT";

/// The partial fingerprint's name; bump the version if its recipe ever changes, so GitHub does
/// not match old alerts against differently computed values.
const FINGERPRINT: &str = "apimTune/v1";

/// `--fail-on` plays no part: every result carries its level, and the consumer (GitHub's
/// branch protection, a SARIF viewer) decides what blocks.
pub fn render(r: &dyn Renderable, _o: &RenderOptions) -> String {
    let rules: Vec<Code> = match r.context() {
        // The host audit can raise every code, so its run describes them all.
        // A deployment runs every node rule on each node and the cross-node rules.
        Context::Audit(_) | Context::Fleet(_) => Code::ALL.to_vec(),
        // A database audit raises a few codes of its own; listing the host's would describe
        // checks this run never made. `Code::ALL` order keeps the list stable between runs.
        Context::Db(_) => Code::ALL
            .iter()
            .copied()
            .filter(|c| r.findings().iter().any(|f| f.code == *c))
            .collect(),
    };
    // A deployment's run holds its own findings, then every node's, each under the node's
    // host (one result per node: a code-scanning alert is closed per place it is fixed).
    let view = match r.context() {
        Context::Fleet(fr) => Some(super::fleet::View::of(fr)),
        _ => None,
    };
    let mut all: Vec<(Option<&str>, &Finding)> = r.findings().iter().map(|f| (None, f)).collect();
    if let Some(v) = &view {
        for n in &v.nodes {
            all.extend(n.findings.iter().map(|f| (Some(n.node.host.as_str()), f)));
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let results: Vec<Value> = all
        .into_iter()
        .map(|(host, f)| {
            let key = match host {
                Some(h) => format!("{}:{h}:{}", f.code.code(), f.subject),
                None => format!("{}:{}", f.code.code(), f.subject),
            };
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            // The same code on the same subject can occur twice (two files set one key); the
            // occurrence number keeps fingerprints unique without tying them to line numbers,
            // which move whenever someone edits the file.
            let fingerprint = if *n == 1 { key } else { format!("{key}#{n}") };
            result(f, &rules, fingerprint, r.context())
        })
        .collect();

    let mut run = json!({
        "tool": {
            "driver": {
                "name": "apim-tune",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules.iter().map(|c| rule(*c)).collect::<Vec<_>>(),
            }
        },
        "invocations": [invocation(r)],
        // Our columns count characters, not UTF-16 units (see `SourceFile::line_col`).
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": run_properties(r),
    });
    match r.context() {
        // Without --root the base is `/`, which a viewer can resolve on its own.
        Context::Audit(a) if a.paths.root_is_slash() => {
            run["originalUriBaseIds"] = json!({
                ROOT_BASE_ID: { "uri": "file:///", "description": { "text": "/ (no --root was given)" } }
            });
        }
        Context::Audit(_) => {
            run["originalUriBaseIds"] = json!({
                ROOT_BASE_ID: { "description": { "text": "the directory given as --root" } }
            });
        }
        Context::Fleet(_) => {
            run["originalUriBaseIds"] = json!({
                ROOT_BASE_ID: { "description": { "text": "the deployment: each path starts with the node's inventory host name, then the path under that node's root" } }
            });
        }
        // No `--root`, hence no base to resolve relative paths against.
        Context::Db(_) => {}
    }
    let doc = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [run],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

fn rule(c: Code) -> Value {
    let explain = dedent(c.explain());
    json!({
        "id": c.code(),
        "name": c.name(),
        "shortDescription": { "text": c.summary() },
        "fullDescription": { "text": section(&explain, "What it checks") },
        "help": { "text": explain, "markdown": explain },
        "defaultConfiguration": { "level": level(c.default_severity()) },
    })
}

/// The explain text comes from `///` lines, each with the space after the slashes kept.
fn dedent(explain: &str) -> String {
    let lines: Vec<&str> = explain
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    lines.join("\n").trim().to_string()
}

/// The body of one `### heading` section, its wrapped lines joined into one paragraph.
fn section(explain: &str, heading: &str) -> String {
    let mut inside = false;
    let mut words = Vec::new();
    for line in explain.lines().map(str::trim) {
        if let Some(h) = line.strip_prefix("###") {
            if inside {
                break;
            }
            inside = h.trim() == heading;
        } else if inside && !line.is_empty() {
            words.push(line);
        }
    }
    words.join(" ")
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn invocation(r: &dyn Renderable) -> Value {
    let mut inv = json!({ "executionSuccessful": true });
    if !r.notes().is_empty() {
        inv["toolExecutionNotifications"] = r
            .notes()
            .iter()
            .map(|n| json!({ "level": "note", "message": { "text": n } }))
            .collect();
    }
    inv
}

fn run_properties(r: &dyn Renderable) -> Value {
    match r.context() {
        Context::Audit(a) => audit_properties(a),
        Context::Db(d) => db_properties(d),
        Context::Fleet(f) => json!({
            "nodes": f.nodes.iter().map(|n| json!({
                "host": n.host,
                "roles": n.roles(),
                "export_file": n.export_file,
            })).collect::<Vec<_>>(),
        }),
    }
}

fn db_properties(r: &DbAuditReport) -> Value {
    json!({
        "target": r.target,
        "engine": r.engine,
        "server_version": r.server_version,
        "schema_version": r.schema_version,
        "now": r.now,
        "cutoff": r.cutoff,
        "safe_period": r.safe_period,
    })
}

fn audit_properties(r: &AuditReport) -> Value {
    let f = &r.facts;
    json!({
        "cores": f.cores.value,
        "memory_mb": f.memory_mb.value,
        "kernel": f.kernel.as_ref().map(|k| k.value.clone()),
        "nat": f.nat.value.as_str(),
        "apim_version": r.apim.as_ref().map(|a| a.version.clone().unwrap_or_else(|| a.assumed_version.clone())),
        "apim_layout": r.apim.as_ref().map(|a| a.layout),
        "profile": r.profile.chain,
        "role": r.profile.role,
    })
}

fn result(f: &Finding, rules: &[Code], fingerprint: String, cx: Context) -> Value {
    // The run's rules include every code its findings use, so the position is always found.
    let rule_index = rules.iter().position(|c| *c == f.code).unwrap_or(0);
    let sarif_fix = f.applied_fix().and_then(fix);
    let mut res = Map::new();
    res.insert("ruleId".into(), json!(f.code.code()));
    res.insert("ruleIndex".into(), json!(rule_index));
    res.insert("level".into(), json!(level(f.severity)));
    res.insert(
        "message".into(),
        json!({ "text": message(f, sarif_fix.is_some(), cx.paths()) }),
    );
    let location = match cx {
        Context::Audit(_) => primary_location(f),
        Context::Db(_) | Context::Fleet(_) => {
            primary_location(f).or_else(|| Some(logical_location(f)))
        }
    };
    if let Some(loc) = location {
        res.insert("locations".into(), json!([loc]));
    }
    if let Some(p) = &f.profile_at {
        res.insert(
            "relatedLocations".into(),
            json!([{
                "id": 1,
                "physicalLocation": physical(p),
                "message": { "text": "recommended here" },
            }]),
        );
    }
    res.insert(
        "partialFingerprints".into(),
        json!({ FINGERPRINT: fingerprint }),
    );
    if let Some(fx) = sarif_fix {
        res.insert("fixes".into(), json!([fx]));
    }
    if let Some(w) = &f.waived {
        res.insert(
            "suppressions".into(),
            json!([{ "kind": "external", "status": "accepted", "justification": w.reason }]),
        );
    }
    let mut props = json!({ "subject": f.subject });
    for (k, v) in [
        ("current", &f.current),
        ("expected", &f.expected),
        ("why", &f.why),
        ("see", &f.see),
    ] {
        if let Some(v) = v {
            props[k] = json!(v);
        }
    }
    if !f.notes.is_empty() {
        props["notes"] = json!(f.notes);
    }
    if let Some(w) = &f.waived
        && let Some(exp) = &w.expires
    {
        props["waiver_expires"] = json!(exp);
    }
    res.insert("properties".into(), props);
    Value::Object(res)
}

/// The message, plus current/expected when known, plus the fix when SARIF cannot carry it as a
/// `fix` object (an insertion's place is chosen at apply time).
fn message(f: &Finding, has_sarif_fix: bool, paths: &crate::model::ShownPaths) -> String {
    let mut text = paths.text(&f.message).into_owned();
    match (&f.current, &f.expected) {
        (Some(c), Some(e)) => text.push_str(&format!(" (current: {c}, expected: {e})")),
        (Some(c), None) => text.push_str(&format!(" (current: {c})")),
        (None, Some(e)) => text.push_str(&format!(" (expected: {e})")),
        (None, None) => {}
    }
    if !has_sarif_fix {
        match f.applied_fix().map(Fix::shape) {
            Some(FixShape::Insert { file, key, value }) => text.push_str(&format!(
                "; fixable with `apim-tune audit --apply`, which adds `{key}` = `{value}` to {}",
                paths.file(file)
            )),
            Some(FixShape::Replace { value, .. }) => text.push_str(&format!(
                "; fixable with `apim-tune audit --apply`, which sets `{value}`"
            )),
            Some(FixShape::RemoveLine { also, .. }) => text.push_str(&format!(
                "; fixable with `apim-tune audit --apply`, which comments out the line{}",
                also_text(also)
            )),
            Some(FixShape::Move {
                from,
                file,
                key,
                value,
                also,
            }) => text.push_str(&format!(
                "; fixable with `apim-tune audit --apply`, which adds `{key}` = `{value}` to {} and comments out {}{}{}",
                paths.file(file),
                paths.file(&from.file),
                from.line.map(|n| format!(":{n}")).unwrap_or_default(),
                also_text(also)
            )),
            None => {}
        }
    }
    text
}

/// ", and the 3 earlier lines of the same key" when a fix comments out more than one line.
fn also_text(also: &[Location]) -> String {
    match also.len() {
        0 => String::new(),
        1 => ", and the earlier line of the same key".to_string(),
        n => format!(", and the {n} earlier lines of the same key"),
    }
}

/// Where the finding is. A finding without a file is anchored where `--apply` would add the
/// setting, else at the profile entry behind it: GitHub code scanning rejects a whole upload
/// when any result has no location. Only when neither exists is the location left out.
fn primary_location(f: &Finding) -> Option<Value> {
    let loc = match (&f.location, f.fix.as_ref().map(Fix::shape), &f.profile_at) {
        (Some(l), _, _) => l.clone(),
        (None, Some(FixShape::Insert { file, .. }), _) => Location::file_only(file),
        (None, _, Some(p)) => p.clone(),
        (None, _, None) => return None,
    };
    Some(json!({ "physicalLocation": physical(&loc) }))
}

/// A database finding's subject (`db:IDN_OAUTH2_ACCESS_TOKEN`) as a SARIF logical location,
/// so viewers can still group and show results by table. No `kind`: none of SARIF's listed
/// kinds is a table, and the schema asks for one of them only when it fits.
fn logical_location(f: &Finding) -> Value {
    let name = f.subject.short_name();
    json!({
        "logicalLocations": [{ "name": name, "fullyQualifiedName": f.subject }],
    })
}

fn physical(l: &Location) -> Value {
    let mut p = json!({ "artifactLocation": artifact(&l.file) });
    if let Some(line) = l.line.filter(|n| *n > 0) {
        let mut region = json!({ "startLine": line });
        if let Some(col) = l.column.filter(|n| *n > 0) {
            region["startColumn"] = json!(col);
        }
        p["region"] = region;
    }
    p
}

fn artifact(file: &str) -> Value {
    if file.starts_with('/') {
        json!({ "uri": format!("file://{}", encode_path(file)) })
    } else {
        json!({ "uri": encode_path(file), "uriBaseId": ROOT_BASE_ID })
    }
}

/// Percent-encodes a path for a URI: everything but unreserved characters and `/`. Encoding
/// more than strictly needed is always valid, and keeps `:` in a first segment from reading
/// as a scheme.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The SARIF `fix` for a change whose bytes are known now. An insertion has none: where it
/// goes is decided when `--apply` runs.
fn fix(fx: &Fix) -> Option<Value> {
    match fx.shape() {
        FixShape::Replace { location, value } => {
            let span = location.span?;
            let description = if value.is_empty() {
                "remove the option's value".to_string()
            } else {
                format!("set the value to `{value}`")
            };
            Some(json!({
                "description": { "text": description },
                "artifactChanges": [{
                    "artifactLocation": artifact(&location.file),
                    "replacements": [{
                        "deletedRegion": {
                            "byteOffset": span.start,
                            "byteLength": span.end.saturating_sub(span.start),
                        },
                        "insertedContent": { "text": value },
                    }],
                }],
            }))
        }
        FixShape::RemoveLine { location, also } => {
            location.line.filter(|n| *n > 0)?;
            // Every line of the fix, by file (the earlier lines of the key first).
            let mut files: Vec<(&str, Vec<Value>)> = Vec::new();
            for l in also.iter().chain([location]) {
                let Some(n) = l.line.filter(|n| *n > 0) else {
                    continue;
                };
                let region = json!({ "deletedRegion": { "startLine": n, "endLine": n } });
                match files.iter_mut().find(|(f, _)| *f == l.file) {
                    Some((_, regions)) => regions.push(region),
                    None => files.push((&l.file, vec![region])),
                }
            }
            let changes: Vec<Value> = files
                .into_iter()
                .map(|(file, replacements)| {
                    json!({ "artifactLocation": artifact(file), "replacements": replacements })
                })
                .collect();
            Some(json!({
                // `--apply` comments the line out; SARIF has no notion of a comment, and a
                // viewer that applies this fix deletes the line's text instead.
                "description": { "text": "remove the line (`apim-tune audit --apply` comments it out)" },
                "artifactChanges": changes,
            }))
        }
        // Half of a move (the commented-out line) as a SARIF fix would lose the value if a
        // viewer applied it alone; the message names both files instead.
        FixShape::Insert { .. } | FixShape::Move { .. } => None,
    }
}

/// A hand-built report that covers every shape the renderers must handle; shared by the tests
/// of all three renderers.
#[cfg(test)]
pub(crate) mod sample {
    use crate::diag::Code;
    use crate::diag::{Change, Checked, Effect, Finding, Fix, Severity, Subject, Value, Waived};
    use crate::host::limits::LimitsUser;
    use crate::host::{Fact, HostFacts, Nat};
    use crate::model::{Location, Span};
    use crate::outcome::{ApimSummary, AuditReport, ProfileSummary};

    pub(crate) fn facts() -> HostFacts {
        HostFacts {
            cores: Fact::new(8, "--cores"),
            memory_mb: Fact::new(16384, "--memory"),
            kernel: Some(Fact::new("5.15.0-91-generic".to_string(), "proc/sys")),
            nat: Fact::new(Nat::Yes, "--nat"),
            nat_signals: Vec::new(),
            java: None,
            jaxp_entity_limit: None,
            distro: None,
            cloud: None,
            container: None,
            proc_sys_read_only: None,
            nat_verdict: crate::host::NatVerdict::BehindNat,
            nat_evidence: Vec::new(),
        }
    }

    /// Wraps findings (already in report order) into a report with one checked subject each,
    /// plus `passing` subjects that produced nothing.
    pub(crate) fn report(findings: Vec<Finding>, passing: &[&str]) -> AuditReport {
        let mut checked: Vec<Checked> = findings
            .iter()
            .map(|f| f.subject.clone())
            .chain(passing.iter().map(|s| Subject::from(*s)))
            .map(Checked::of)
            .collect();
        checked.sort();
        checked.dedup();
        AuditReport {
            facts: facts(),
            apim: Some(ApimSummary {
                home: "/opt/wso2am-4.2.0".into(),
                chosen_by: "--apim-home".into(),
                version: Some("4.2.0".into()),
                version_source: "carbon.xml".into(),
                assumed_version: "4.2.0".into(),
                layout: "toml",
            }),
            user: LimitsUser {
                name: "wso2carbon".into(),
                groups: Vec::new(),
                chosen_by: "--user".into(),
            },
            profile: ProfileSummary {
                chain: vec!["base".into(), "all-in-one".into()],
                role: "all-in-one".into(),
                checks: 12,
            },
            findings,
            checked,
            sysctl: Vec::new(),
            notes: Vec::new(),
            paths: crate::model::ShownPaths::as_stored(),
        }
    }

    /// Setters the renderers' tests need and `Finding`'s builder does not have.
    trait TestBuilder {
        fn waived_by(self, w: Waived) -> Self;
        fn profile_entry(self, at: Location) -> Self;
    }

    impl TestBuilder for Finding {
        fn waived_by(mut self, w: Waived) -> Self {
            self.waived = Some(w);
            self
        }

        fn profile_entry(mut self, at: Location) -> Self {
            self.profile_at = Some(at);
            self
        }
    }

    fn at(file: &str, line: u32, column: u32, span: Option<(usize, usize)>) -> Location {
        Location {
            file: file.into(),
            line: Some(line),
            column: Some(column),
            span: span.map(|(s, e)| Span::new(s, e)),
        }
    }

    /// Errors, warnings and info; a finding without a file; Replace, Insert and RemoveLine
    /// fixes; a waived finding; hostile characters in values. In report order.
    pub(crate) fn findings() -> Vec<Finding> {
        let toml = "repository/conf/deployment.toml";
        vec![
            Finding::new(
                Code::SETTING_BELOW_RECOMMENDED,
                "deployment.toml:[transport.http].socket_timeout",
                "`[transport.http].socket_timeout` is `a|b`c`, expected at least 60000",
            )
            .at(Some(at(toml, 12, 18, Some((301, 308)))))
            .current("a|b`c<&>\"'")
            .expected("60000")
            .why("slow back ends need <time> & patience")
            .fix(Fix::safe(
                Change::SetApim {
                    file: toml.into(),
                    key: "[transport.http].socket_timeout".into(),
                    value: Value::inferred("60000"),
                    at: Some(at(toml, 12, 18, Some((301, 308)))),
                },
                Effect::RestartApim,
            )),
            Finding::new(
                Code::TCP_TW_RECYCLE_ENABLED,
                "sysctl:net.ipv4.tcp_tw_recycle",
                "`net.ipv4.tcp_tw_recycle` is enabled",
            )
            .at(Some(at("etc/sysctl.conf", 3, 1, Some((40, 68)))))
            .current("1")
            .expected("absent")
            .why("drops connections from clients behind NAT")
            .fix(Fix::safe(
                Change::DisableSysctl {
                    key: "net.ipv4.tcp_tw_recycle".into(),
                    line: at("etc/sysctl.conf", 3, 1, Some((40, 68))),
                    because: "drops connections".into(),
                    also: Vec::new(),
                },
                Effect::SysctlReload,
            )),
            Finding::new(
                Code::SYSCTL_SHADOWED_LINE,
                "sysctl:net.core.somaxconn",
                "`net.core.somaxconn` on line 2 is overridden by a later file",
            )
            .at(Some(at("etc/sysctl.d/my sysctl.conf", 2, 1, None)))
            .severity(Severity::Info),
            Finding::new(
                Code::LIMITS_WILDCARD_SKIPS_ROOT,
                "limits:*:nofile:soft",
                "wildcard limits do not apply to root",
            )
            .at(Some(at("etc/security/limits.conf", 7, 1, None)))
            .current("65535")
            .waived_by(Waived {
                reason: "root runs nothing | here".into(),
                expires: Some("2027-01-31".into()),
                at: at("apim-tune.waivers.toml", 1, 1, None),
            }),
            Finding::new(
                Code::SYSCTL_BELOW_RECOMMENDED,
                "sysctl:net.core.netdev_max_backlog",
                "`net.core.netdev_max_backlog` is not set, expected at least 4096",
            )
            .expected("4096")
            .profile_entry(at("profiles/base.toml", 7, 1, None))
            .fix(Fix::safe(
                Change::SetSysctl {
                    key: "net.core.netdev_max_backlog".into(),
                    value: "4096".into(),
                    line: None,
                    drop_in: "etc/sysctl.d/99-apim-tune.conf".into(),
                },
                Effect::SysctlReload,
            )),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::sample;
    use super::*;
    use std::path::PathBuf;

    fn rendered() -> Value {
        let r = sample::report(sample::findings(), &["sysctl:vm.swappiness"]);
        serde_json::from_str(&render(&r, &RenderOptions::default())).unwrap()
    }

    fn schema_path() -> Option<PathBuf> {
        crate::test_support::shared("schemas/sarif-2.1.0.json")
    }

    /// The schema validator, formats included; `None` (with a note) where the schema is missing.
    fn validator() -> Option<jsonschema::Validator> {
        let Some(path) = schema_path() else {
            eprintln!(
                "skipped: sarif-2.1.0.json not found at $CARGO_MANIFEST_DIR/../shared/schemas/ \
                 nor /work/shared/schemas/; SARIF output was not schema-checked"
            );
            return None;
        };
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        // Formats too (`uri`, `date-time`). The schema is draft-04, which has no
        // `uri-reference`, so artifact URIs are checked by `uris_are_valid_references` below.
        Some(
            jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .unwrap(),
        )
    }

    fn schema_errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
        validator
            .iter_errors(doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    #[test]
    fn validates_against_the_sarif_schema() {
        let Some(validator) = validator() else {
            return;
        };
        let doc = rendered();
        let errors = schema_errors(&validator, &doc);
        assert!(errors.is_empty(), "{errors:#?}");

        // The validator must be able to say no, or the check above proves nothing.
        let mut bad = doc.clone();
        bad["runs"][0]["results"][0]["level"] = json!("fatal");
        assert!(!validator.is_valid(&bad));
        let mut bad = doc.clone();
        bad["runs"][0]["tool"]["driver"]["informationUri"] = json!("not a uri");
        assert!(!validator.is_valid(&bad), "format checks are on");
    }

    /// Without `--root` the base is `/`, given as `file:///`, and the run is still valid.
    #[test]
    fn a_run_without_root_names_its_base() {
        let mut r = sample::report(sample::findings(), &[]);
        r.paths = crate::model::ShownPaths::for_root(std::path::Path::new("/"), None, None);
        let doc: Value = serde_json::from_str(&render(&r, &RenderOptions::default())).unwrap();
        assert_eq!(
            doc["runs"][0]["originalUriBaseIds"]["ROOT"]["uri"],
            "file:///"
        );
        if let Some(validator) = validator() {
            let errors = schema_errors(&validator, &doc);
            assert!(errors.is_empty(), "{errors:#?}");
        }
    }

    /// A deployment's one run (its findings and every node's) is valid SARIF too.
    #[test]
    fn a_fleet_run_validates_against_the_sarif_schema() {
        let Some(validator) = validator() else {
            return;
        };
        let r = crate::report::fleet::sample::report_of_fleet();
        let doc: Value =
            serde_json::from_str(&render(&r, &crate::report::RenderOptions::default())).unwrap();
        let errors = schema_errors(&validator, &doc);
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(doc["runs"].as_array().map(Vec::len), Some(1));
        let results = doc["runs"][0]["results"].as_array().unwrap();
        // gw3's waived finding is an accepted suppression, as in an audit.
        let waived: Vec<&Value> = results
            .iter()
            .filter(|r| r["suppressions"].is_array())
            .collect();
        assert_eq!(waived.len(), 1);
        assert_eq!(
            waived[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "gw3/opt/wso2am-4.2.0/repository/conf/deployment.toml"
        );
    }

    fn uris(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match v {
                        Value::String(s) if k == "uri" => out.push(s.clone()),
                        _ => uris(v, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| uris(v, out)),
            _ => {}
        }
    }

    /// RFC 3986 characters only, every `%` starting an escape, no scheme-like first segment.
    #[test]
    fn uris_are_valid_references() {
        let f = Finding::new(Code::SYSCTL_SHADOWED_LINE, "sysctl:x", "m").at(Some(Location::at(
            "/etc/a b/ü:#?%.conf",
            1,
            1,
        )));
        let mut r = sample::report(sample::findings(), &[]);
        r.findings.push(f);
        let doc: Value = serde_json::from_str(&render(&r, &RenderOptions::default())).unwrap();
        let mut all = Vec::new();
        uris(&doc["runs"][0], &mut all);
        assert!(all.len() >= 6, "{all:?}");
        for u in &all {
            let b = u.as_bytes();
            for (i, c) in b.iter().enumerate() {
                assert!(
                    c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(c),
                    "{u}"
                );
                if *c == b'%' {
                    assert!(
                        b.len() > i + 2
                            && b[i + 1].is_ascii_hexdigit()
                            && b[i + 2].is_ascii_hexdigit(),
                        "{u}"
                    );
                }
            }
            let first = u.split('/').next().unwrap();
            assert!(u.starts_with("file:///") || !first.contains(':'), "{u}");
        }
        assert!(
            all.contains(&"file:///etc/a%20b/%C3%BC%3A%23%3F%25.conf".to_string()),
            "{all:?}"
        );
    }

    #[test]
    fn every_code_is_a_rule_and_results_point_at_theirs() {
        let doc = rendered();
        let run = &doc["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), Code::ALL.len());
        let sys010 = &rules[Code::ALL
            .iter()
            .position(|c| *c == Code::TCP_TW_RECYCLE_ENABLED)
            .unwrap()];
        assert_eq!(sys010["id"], "SYS010");
        assert_eq!(sys010["name"], "tcp-tw-recycle-enabled");
        assert_eq!(sys010["defaultConfiguration"]["level"], "error");
        assert!(
            sys010["fullDescription"]["text"]
                .as_str()
                .unwrap()
                .contains("tcp_tw_recycle")
        );
        assert!(
            !sys010["fullDescription"]["text"]
                .as_str()
                .unwrap()
                .contains("###")
        );
        assert!(
            sys010["help"]["markdown"]
                .as_str()
                .unwrap()
                .starts_with("### What it checks")
        );
        for r in rules {
            assert!(
                !r["fullDescription"]["text"].as_str().unwrap().is_empty(),
                "{r}"
            );
        }

        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 5);
        for res in results {
            let i = res["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], res["ruleId"]);
        }
        let levels: Vec<&str> = results
            .iter()
            .map(|r| r["level"].as_str().unwrap())
            .collect();
        assert_eq!(levels, ["warning", "error", "note", "warning", "warning"]);
        assert_eq!(run["invocations"][0]["executionSuccessful"], true);
        assert_eq!(run["properties"]["cores"], 8);
        assert_eq!(run["properties"]["memory_mb"], 16384);
        assert_eq!(run["properties"]["kernel"], "5.15.0-91-generic");
        assert_eq!(run["properties"]["nat"], "yes");
        assert_eq!(run["tool"]["driver"]["version"], env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn fixes_only_where_the_bytes_are_known() {
        let doc = rendered();
        let results = doc["runs"][0]["results"].as_array().unwrap();

        let replace = &results[0]["fixes"][0]["artifactChanges"][0];
        assert_eq!(
            replace["artifactLocation"]["uri"],
            "repository/conf/deployment.toml"
        );
        let rep = &replace["replacements"][0];
        assert_eq!(
            rep["deletedRegion"],
            json!({ "byteOffset": 301, "byteLength": 7 })
        );
        assert_eq!(rep["insertedContent"]["text"], "60000");

        let remove = &results[1]["fixes"][0]["artifactChanges"][0]["replacements"][0];
        assert_eq!(
            remove["deletedRegion"],
            json!({ "startLine": 3, "endLine": 3 })
        );
        assert!(remove.get("insertedContent").is_none());

        assert!(results[2].get("fixes").is_none(), "no fix");
        assert!(results[3].get("fixes").is_none(), "no fix");
        assert!(
            results[4].get("fixes").is_none(),
            "an insertion has no SARIF fix"
        );
        let insert_msg = results[4]["message"]["text"].as_str().unwrap();
        assert!(
            insert_msg.contains(
                "adds `net.core.netdev_max_backlog` = `4096` to etc/sysctl.d/99-apim-tune.conf"
            ),
            "{insert_msg}"
        );
    }

    #[test]
    fn messages_locations_fingerprints_and_suppressions() {
        let doc = rendered();
        let results = doc["runs"][0]["results"].as_array().unwrap();
        assert_eq!(
            results[0]["message"]["text"],
            "`[transport.http].socket_timeout` is `a|b`c`, expected at least 60000 \
             (current: a|b`c<&>\"', expected: 60000)"
        );
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["region"],
            json!({ "startLine": 12, "startColumn": 18 })
        );
        assert_eq!(
            results[2]["locations"][0]["physicalLocation"]["artifactLocation"],
            json!({ "uri": "etc/sysctl.d/my%20sysctl.conf", "uriBaseId": "ROOT" })
        );
        assert_eq!(
            results[1]["partialFingerprints"][FINGERPRINT],
            "SYS010:sysctl:net.ipv4.tcp_tw_recycle"
        );
        // The fileless finding is anchored where --apply would add the key, with no region.
        assert_eq!(
            results[4]["locations"][0]["physicalLocation"],
            json!({ "artifactLocation": { "uri": "etc/sysctl.d/99-apim-tune.conf", "uriBaseId": "ROOT" } })
        );

        let suppressed: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.get("suppressions").is_some())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(suppressed, [3]);
        assert_eq!(
            results[3]["suppressions"],
            json!([{ "kind": "external", "status": "accepted", "justification": "root runs nothing | here" }])
        );
    }

    #[test]
    fn absolute_paths_become_file_uris_and_duplicates_get_distinct_fingerprints() {
        let f = || {
            Finding::new(Code::SYSCTL_SHADOWED_LINE, "sysctl:x", "m").at(Some(Location::at(
                "/etc/sysctl d/ü.conf",
                1,
                1,
            )))
        };
        let r = sample::report(vec![f(), f()], &[]);
        let doc: Value = serde_json::from_str(&render(&r, &RenderOptions::default())).unwrap();
        let results = doc["runs"][0]["results"].as_array().unwrap();
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"],
            json!({ "uri": "file:///etc/sysctl%20d/%C3%BC.conf" })
        );
        assert_eq!(
            results[0]["partialFingerprints"][FINGERPRINT],
            "SYS006:sysctl:x"
        );
        assert_eq!(
            results[1]["partialFingerprints"][FINGERPRINT],
            "SYS006:sysctl:x#2"
        );
    }

    #[test]
    fn fileless_findings_are_anchored_where_they_can_be() {
        let doc = rendered();
        let insert = &doc["runs"][0]["results"][4];
        assert_eq!(
            insert["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "profiles/base.toml"
        );
        assert_eq!(
            insert["relatedLocations"][0]["message"]["text"],
            "recommended here"
        );

        let mut f = Finding::new(
            Code::TCP_TW_RECYCLE_ENABLED,
            "sysctl:net.ipv4.tcp_tw_recycle",
            "m",
        );
        f.profile_at = Some(Location::at("profiles/base.toml", 9, 1));
        let r = sample::report(vec![f], &[]);
        let doc: Value = serde_json::from_str(&render(&r, &RenderOptions::default())).unwrap();
        assert_eq!(
            doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"],
            json!({
                "artifactLocation": { "uri": "profiles/base.toml", "uriBaseId": "ROOT" },
                "region": { "startLine": 9, "startColumn": 1 },
            })
        );
    }

    #[test]
    fn a_finding_with_nothing_to_anchor_it_has_no_location() {
        let r = sample::report(
            vec![Finding::new(Code::APIM_VERSION_UNKNOWN, "apim:/opt/x", "m")],
            &[],
        );
        let doc: Value = serde_json::from_str(&render(&r, &RenderOptions::default())).unwrap();
        let res = &doc["runs"][0]["results"][0];
        assert!(res.get("locations").is_none());
        assert_eq!(res["level"], "note");
    }

    fn rendered_db(r: &DbAuditReport) -> Value {
        serde_json::from_str(&render(r, &RenderOptions::default())).unwrap()
    }

    #[test]
    fn a_db_report_validates_against_the_sarif_schema() {
        let mut r = crate::report::db_sample::report();
        // A second finding, waived, with a code not first in `Code::ALL`: rule indexes and
        // suppressions must hold in a run that lists only the codes it used.
        let mut waived = Finding::new(
            Code::SETTING_NOT_RECOMMENDED,
            "db:IDN_OAUTH2_AUTHORIZATION_CODE",
            "m",
        );
        waived.waived = Some(crate::diag::Waived {
            reason: "cleaned by the vendor job".into(),
            expires: None,
            at: Location::file_only("apim-tune.waivers.toml"),
        });
        r.findings.push(waived);
        let doc = rendered_db(&r);
        if let Some(validator) = validator() {
            let errors = schema_errors(&validator, &doc);
            assert!(errors.is_empty(), "{errors:#?}");
        }

        let run = &doc["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["APM003", "DBG001"], "only the codes used");
        let results = run["results"].as_array().unwrap();
        for res in results {
            let i = res["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], res["ruleId"]);
            assert!(res["locations"][0].get("physicalLocation").is_none());
        }
        assert_eq!(
            results[0]["locations"][0]["logicalLocations"],
            json!([{
                "name": "IDN_OAUTH2_ACCESS_TOKEN",
                "fullyQualifiedName": "db:IDN_OAUTH2_ACCESS_TOKEN",
            }])
        );
        assert_eq!(
            results[0]["message"]["text"],
            "`IDN_OAUTH2_ACCESS_TOKEN` holds 1100000 removable rows, expected at most 100000 \
             (current: 1100000, expected: at most 100000)"
        );
        assert_eq!(
            results[0]["partialFingerprints"][FINGERPRINT],
            "DBG001:db:IDN_OAUTH2_ACCESS_TOKEN"
        );
        assert_eq!(results[1]["suppressions"][0]["status"], "accepted");
        assert_eq!(
            run["properties"],
            json!({
                "target": "postgres://apim:****@db.example:5432/apim_db",
                "engine": "postgresql",
                "server_version": "PostgreSQL 15.14",
                "schema_version": "4.2",
                "now": "2026-11-22 05:48:01",
                "cutoff": "2026-11-21 05:48:01",
                "safe_period": "24h",
            })
        );
        assert!(run.get("originalUriBaseIds").is_none(), "no --root");
        assert_eq!(
            run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"],
            "`IDN_OIDC_REQ_OBJECT_REFERENCE` is absent: not cleaned"
        );
    }

    #[test]
    fn a_clean_db_report_is_a_valid_run_without_rules() {
        let mut r = crate::report::db_sample::report();
        r.findings.clear();
        let doc = rendered_db(&r);
        if let Some(validator) = validator() {
            let errors = schema_errors(&validator, &doc);
            assert!(errors.is_empty(), "{errors:#?}");
        }
        assert_eq!(doc["runs"][0]["tool"]["driver"]["rules"], json!([]));
        assert_eq!(doc["runs"][0]["results"], json!([]));
    }
}
