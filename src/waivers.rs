//! Waivers: accepted deviations, read from `apim-tune.waivers.toml` (or `--waivers FILE`).
//!
//! A waived finding is still shown, with its reason, but does not count for the exit code. An
//! expired waiver is ignored and reported (WAV001); one that matched nothing is reported too
//! (WAV002), like an unused suppression. Never changes a finding's content otherwise.
//!
//! A waiver may name `hosts` (patterns with `*`) and `roles`: it then accepts only findings of
//! those nodes. In `fleet merge` that is a node's own findings when the node is one of them,
//! and a deployment finding when every host it names is (and, with `roles`, every role it
//! names is one of them). In a plain audit, a waiver with `hosts` applies when the audited
//! host's name matches, and one with `roles` never does (one host is no deployment); a waiver
//! out of its scope is not reported as unused, so one file serves both commands.

use crate::diag::{Code, Finding, Waived};
use crate::model::{Location, SourceFile, Span};
use crate::outcome::FleetReport;
use crate::rules::waiver::WaiverUse;
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

/// The file looked for in the current directory when `--waivers` is not given.
pub const DEFAULT_FILE: &str = "apim-tune.waivers.toml";

#[derive(Debug, thiserror::Error)]
#[error("invalid waivers file at {location}: {message}")]
pub struct WaiverError {
    pub location: Location,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    waiver: Vec<Spanned<RawWaiver>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    code: Option<String>,
    subject: Option<String>,
    reason: Option<String>,
    expires: Option<toml::value::Datetime>,
    hosts: Option<Vec<String>>,
    roles: Option<Vec<String>>,
}

#[derive(Clone, Debug)]
pub struct Waiver {
    pub code: Option<Code>,
    /// Exact subject, or a pattern with `*` standing for any text.
    pub subject: Option<String>,
    pub reason: String,
    pub expires: Option<String>,
    pub at: Location,
    /// Host names or patterns (`gw*`); empty: any host.
    pub hosts: Vec<String>,
    /// Roles (`gateway`, `control-plane`, …); empty: any role.
    pub roles: Vec<String>,
}

/// Where findings were found, for a waiver's `hosts` and `roles`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scope<'a> {
    /// The host's name; `None` when unknown (then no waiver with `hosts` applies).
    pub host: Option<&'a str>,
    /// The node's roles; empty outside `fleet merge`.
    pub roles: &'a [String],
}

impl Waiver {
    fn matches(&self, f: &Finding) -> bool {
        self.matches_text(f.code.code(), &f.subject.to_string())
    }

    /// The same test on a finding as the audit JSON writes it (a node's embedded report).
    fn matches_text(&self, code: &str, subject: &str) -> bool {
        self.code
            .is_none_or(|c| c.code().eq_ignore_ascii_case(code))
            && self
                .subject
                .as_deref()
                .is_none_or(|pattern| glob(pattern, subject))
    }

    /// Whether findings of a host with these roles are this waiver's to accept.
    fn in_scope(&self, scope: &Scope) -> bool {
        let host_ok = self.hosts.is_empty()
            || scope
                .host
                .is_some_and(|h| self.hosts.iter().any(|p| glob(p, h)));
        let role_ok = self.roles.is_empty() || scope.roles.iter().any(|r| self.roles.contains(r));
        host_ok && role_ok
    }

    fn scoped(&self) -> bool {
        !self.hosts.is_empty() || !self.roles.is_empty()
    }
}

/// `*` matches any run of characters; everything else is literal.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

pub fn load(path: &Path) -> Result<Vec<Waiver>, WaiverError> {
    let display = path.to_string_lossy().into_owned();
    let text =
        crate::source::read_text_at_most(path, crate::source::MAX_OWN_FILE_BYTES).map_err(|e| {
            WaiverError {
                location: Location::file_only(&display),
                message: format!("cannot read: {e}"),
            }
        })?;
    parse(&display, &text)
}

pub fn parse(display: &str, text: &str) -> Result<Vec<Waiver>, WaiverError> {
    let file: Arc<SourceFile> = SourceFile::new(display.into(), display.into(), text.into());
    let at = |span: std::ops::Range<usize>| file.location(Span::new(span.start, span.end));
    let raw: RawFile = toml::from_str(text).map_err(|e| WaiverError {
        location: e
            .span()
            .map(&at)
            .unwrap_or_else(|| Location::file_only(display)),
        message: match e.message().trim() {
            m if m.contains("expected a TOML datetime") => {
                "`expires` must be a date like 2027-01-31".to_string()
            }
            m => m.to_string(),
        },
    })?;
    let mut out = Vec::new();
    for w in raw.waiver {
        let location = at(w.span());
        let w = w.into_inner();
        let err = |message: String| WaiverError {
            location: location.clone(),
            message,
        };
        let reason = w
            .reason
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| err("every waiver needs a `reason`".into()))?;
        if w.code.is_none() && w.subject.is_none() {
            return Err(err("a waiver needs a `code`, a `subject`, or both".into()));
        }
        // An exact subject is parsed as findings name their subjects: a misspelt one
        // (`sysctl.net.core.somaxconn`) would otherwise match nothing, silently. A pattern
        // (with `*`) is matched against the rendered subjects as it is.
        if let Some(s) = w.subject.as_deref().filter(|s| !s.contains('*')) {
            crate::diag::Subject::parse(s).map_err(|e| {
                err(format!(
                    "{e} (write it as findings show it, e.g. `sysctl:net.core.somaxconn`)"
                ))
            })?;
        }
        let code = match &w.code {
            Some(c) => Some(
                Code::from_code(c).ok_or_else(|| err(format!("`{c}` is not a finding code")))?,
            ),
            None => None,
        };
        let list = |v: Option<Vec<String>>, what: &str| -> Result<Vec<String>, WaiverError> {
            let v = v.unwrap_or_default();
            if v.iter().any(|s| s.trim().is_empty()) {
                return Err(err(format!("`{what}` holds an empty name")));
            }
            Ok(v)
        };
        let hosts = list(w.hosts, "hosts")?;
        let roles = list(w.roles, "roles")?;
        if let Some(r) = roles.iter().find(|r| !ROLES.contains(&r.as_str())) {
            return Err(err(format!(
                "`{r}` is not a role (one of {})",
                ROLES.join(", ")
            )));
        }
        let expires = match w.expires {
            Some(d) => match (d.date, d.time) {
                (Some(date), None) => Some(date.to_string()),
                _ => return Err(err("`expires` must be a date like 2027-01-31".into())),
            },
            None => None,
        };
        out.push(Waiver {
            code,
            subject: w.subject,
            reason,
            expires,
            at: location,
            hosts,
            roles,
        });
    }
    Ok(out)
}

/// The roles a waiver may name: the node roles of the inventory and of API-M.
pub const ROLES: &[&str] = &[
    "gateway",
    "control-plane",
    "key-manager",
    "traffic-manager",
    "all-in-one",
];

/// Marks the findings the live waivers accept, and returns WAV001/WAV002 findings for expired and
/// unused waivers. `today` is `YYYY-MM-DD`; a waiver is live through its `expires` day.
/// Waivers with `hosts` or `roles` are left out: see [`apply_on`].
pub fn apply(waivers: &[Waiver], findings: &mut [Finding], today: &str) -> Vec<Finding> {
    apply_on(waivers, findings, today, &Scope::default())
}

/// [`apply`] on the findings of one host: a waiver with `hosts` applies when `scope.host`
/// matches one of them, one with `roles` when the host has one of them. A waiver out of scope
/// is neither used nor unused.
pub fn apply_on(
    waivers: &[Waiver],
    findings: &mut [Finding],
    today: &str,
    scope: &Scope,
) -> Vec<Finding> {
    let mut uses = Vec::new();
    for w in waivers.iter().filter(|w| w.in_scope(scope)) {
        let mut used = WaiverUse {
            what: describe(w),
            reason: w.reason.clone(),
            expires: w.expires.clone(),
            today: today.to_string(),
            at: w.at.clone(),
            matched: 0,
        };
        if !used.expired() {
            for f in findings
                .iter_mut()
                .filter(|f| f.waived.is_none() && w.matches(f))
            {
                used.matched += 1;
                f.waived = Some(Waived {
                    reason: w.reason.clone(),
                    expires: w.expires.clone(),
                    at: w.at.clone(),
                });
            }
        }
        uses.push(used);
    }
    let mut extra = Vec::new();
    crate::rules::run_waivers(&uses, &mut extra);
    extra
}

/// Marks the findings of a deployment the live waivers accept: the cross-node findings, and
/// each node's own findings inside its export's embedded reports (a waived one gets the same
/// `waived` object an audit writes). Returns WAV001/WAV002 findings as [`apply`] does; a
/// waiver is used when it accepted a finding anywhere.
pub fn apply_fleet(waivers: &[Waiver], report: &mut FleetReport, today: &str) -> Vec<Finding> {
    let hosts: Vec<(String, Vec<String>)> = report
        .nodes
        .iter()
        .map(|n| (n.host.clone(), n.roles()))
        .collect();
    let mut uses = Vec::new();
    for w in waivers {
        let mut used = WaiverUse {
            what: describe(w),
            reason: w.reason.clone(),
            expires: w.expires.clone(),
            today: today.to_string(),
            at: w.at.clone(),
            matched: 0,
        };
        if !used.expired() {
            let waived = Waived {
                reason: w.reason.clone(),
                expires: w.expires.clone(),
                at: w.at.clone(),
            };
            for f in report
                .findings
                .iter_mut()
                .filter(|f| f.waived.is_none() && w.matches(f) && names_in_scope(w, f, &hosts))
            {
                used.matched += 1;
                f.waived = Some(waived.clone());
            }
            for node in &mut report.nodes {
                let roles = node.roles();
                let host = node.host.clone();
                for home in &mut node.facts.homes {
                    // A home is in the scope of its own role: on a host running a traffic
                    // manager and a key manager, `roles = ["key-manager"]` waives the key
                    // manager's findings only (see: review of issue 16).
                    let home_roles: Vec<String> = match &home.role.value {
                        Some(r) => vec![r.clone()],
                        None => roles.clone(),
                    };
                    let scope = Scope {
                        host: Some(&host),
                        roles: &home_roles,
                    };
                    if !w.in_scope(&scope) {
                        continue;
                    }
                    // Parsed and written back only when a waiver applies to this node.
                    let mut report = home.report.value();
                    let n = waive_json(w, &mut report);
                    if n > 0 {
                        home.report = crate::fleet::facts::EmbeddedReport::from_value(&report);
                        used.matched += n;
                    }
                }
            }
        }
        uses.push(used);
    }
    let mut extra = Vec::new();
    crate::rules::run_waivers(&uses, &mut extra);
    extra
}

/// Whether a cross-node finding is within a scoped waiver's `hosts` and `roles`: every host
/// it names (its file's first component, or a node's name as a word of its text) matches
/// `hosts`, and every role those hosts have, or its text names, is in `roles`. A finding that
/// names no host is no scoped waiver's. Strict on purpose: waiving `gw2` must not hide what
/// the same finding says about `cp1`.
fn names_in_scope(w: &Waiver, f: &Finding, nodes: &[(String, Vec<String>)]) -> bool {
    if !w.scoped() {
        return true;
    }
    let mut text = format!("{} {}", f.subject, f.message);
    for s in f.current.iter().chain(&f.expected).chain(&f.notes) {
        text.push(' ');
        text.push_str(s);
    }
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .map(|s| s.trim_end_matches('.'))
        .collect();
    let at = f
        .location
        .as_ref()
        .and_then(|l| l.file.split('/').next())
        .unwrap_or("");
    let named: Vec<&(String, Vec<String>)> = nodes
        .iter()
        .filter(|(h, _)| h == at || words.contains(&h.as_str()))
        .collect();
    if named.is_empty() {
        return false;
    }
    let hosts_ok = w.hosts.is_empty()
        || named
            .iter()
            .all(|(h, _)| w.hosts.iter().any(|p| glob(p, h)));
    let mut roles: Vec<&str> = named
        .iter()
        .flat_map(|(_, r)| r.iter().map(String::as_str))
        .collect();
    roles.extend(ROLES.iter().copied().filter(|r| words.contains(r)));
    let roles_ok = w.roles.is_empty() || roles.iter().all(|r| w.roles.iter().any(|x| x == r));
    hosts_ok && roles_ok
}

/// Waives the matching, not yet waived findings of one embedded audit report; returns how many.
fn waive_json(w: &Waiver, report: &mut serde_json::Value) -> usize {
    let Some(list) = report
        .get_mut("findings")
        .and_then(serde_json::Value::as_array_mut)
    else {
        return 0;
    };
    let mut n = 0;
    for f in list {
        let text = |k: &str| f.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
        let open = f.get("waived").is_none_or(serde_json::Value::is_null);
        if open && w.matches_text(text("code"), text("subject")) {
            f["waived"] = serde_json::json!({
                "reason": w.reason,
                "expires": w.expires,
                "waiver": w.at.to_string(),
            });
            n += 1;
        }
    }
    n
}

fn describe(w: &Waiver) -> String {
    let what = match (&w.code, &w.subject) {
        (Some(c), Some(s)) => format!("{} on `{s}`", c.code()),
        (Some(c), None) => c.code().to_string(),
        (None, Some(s)) => format!("`{s}`"),
        (None, None) => "nothing".into(),
    };
    let mut scope = Vec::new();
    if !w.hosts.is_empty() {
        scope.push(format!("hosts {}", w.hosts.join(", ")));
    }
    if !w.roles.is_empty() {
        scope.push(format!("roles {}", w.roles.join(", ")));
    }
    if scope.is_empty() {
        what
    } else {
        format!("{what} ({})", scope.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(code: Code, subject: &str) -> Finding {
        Finding::new(code, crate::diag::Subject::parse(subject).unwrap(), "m")
    }

    #[test]
    fn waivers_match_expire_and_report_unused() {
        let ws = parse(
            "w.toml",
            r#"
[[waiver]]
code = "SYS010"
reason = "legacy load balancer, replaced in Q1"
expires = 2027-01-31

[[waiver]]
subject = "limits:*:nofile:*"
reason = "set by the container runtime"

[[waiver]]
code = "APM010"
reason = "old and gone"
expires = 2026-01-01

[[waiver]]
code = "JVM010"
reason = "nothing matches this"
"#,
        )
        .unwrap();
        let mut fs = vec![
            finding(
                Code::TCP_TW_RECYCLE_ENABLED,
                "sysctl:net.ipv4.tcp_tw_recycle",
            ),
            finding(Code::LIMIT_BELOW_RECOMMENDED, "limits:wso2:nofile:soft"),
            finding(
                Code::TOKEN_CACHES_BOTH_ENABLED,
                "deployment.toml:apim.cache.km_token.enable",
            ),
        ];
        let extra = apply(&ws, &mut fs, "2026-11-22");
        assert_eq!(
            fs[0].waived.as_ref().unwrap().expires.as_deref(),
            Some("2027-01-31")
        );
        assert!(fs[1].waived.is_some());
        assert!(fs[2].waived.is_none(), "expired waivers do not apply");
        let codes: Vec<_> = extra.iter().map(|f| f.code).collect();
        assert_eq!(codes, vec![Code::WAIVER_EXPIRED, Code::WAIVER_UNUSED]);
        // The `[[waiver]]` header of the expired waiver.
        assert_eq!(extra[0].location.as_ref().unwrap().line, Some(11));
    }

    #[test]
    fn bad_waiver_files_are_errors_with_their_line() {
        for (text, needle, line) in [
            ("[[waiver]]\ncode = \"SYS010\"\n", "reason", 1),
            ("[[waiver]]\nreason = \"r\"\n", "code", 1),
            (
                "[[waiver]]\ncode = \"NOPE1\"\nreason = \"r\"\n",
                "not a finding code",
                1,
            ),
            (
                "[[waiver]]\ncode = \"SYS010\"\nreason = \"r\"\nexpires = \"soon\"\n",
                "expires",
                4,
            ),
            (
                "[[waiver]]\ncode = \"SYS010\"\nreason = \"r\"\nextra = 1\n",
                "extra",
                4,
            ),
            (
                "\n[[waiver]]\nsubject = \"sysctl.net.core.somaxconn\"\nreason = \"r\"\n",
                "is not a finding subject",
                2,
            ),
        ] {
            let e = parse("w.toml", text)
                .err()
                .unwrap_or_else(|| panic!("{text}"));
            assert!(e.to_string().contains(needle), "{text}: {e}");
            assert_eq!(e.location.line, Some(line), "{text}: {e}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob("limits:*:nofile:*", "limits:wso2:nofile:soft"));
        assert!(!glob("limits:*:nofile:*", "limits:wso2:nproc:soft"));
        assert!(glob("sysctl:net.*", "sysctl:net.core.somaxconn"));
        assert!(glob("exact", "exact") && !glob("exact", "exactly"));
    }

    fn scoped(text: &str) -> Vec<Waiver> {
        parse("w.toml", text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn bad_hosts_and_roles_are_errors_with_their_line() {
        for (text, needle) in [
            (
                "[[waiver]]\ncode = \"SYS010\"\nreason = \"r\"\nroles = [\"gatway\"]\n",
                "`gatway` is not a role",
            ),
            (
                "[[waiver]]\ncode = \"SYS010\"\nreason = \"r\"\nhosts = [\"\"]\n",
                "`hosts` holds an empty name",
            ),
            (
                "[[waiver]]\ncode = \"SYS010\"\nreason = \"r\"\nhosts = \"gw1\"\n",
                "sequence",
            ),
        ] {
            let e = parse("w.toml", text)
                .err()
                .unwrap_or_else(|| panic!("{text}"));
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }

    /// In a plain audit: `hosts` compares with the audited host's name; `roles` never applies;
    /// and a waiver out of scope is not called unused, so one file serves every host.
    #[test]
    fn a_plain_audit_applies_host_waivers_of_its_own_host_only() {
        let ws = scoped(
            r#"
[[waiver]]
code = "SYS010"
hosts = ["gw*"]
reason = "gateways behind the old balancer"

[[waiver]]
code = "LIM001"
hosts = ["cp1"]
reason = "not this host"

[[waiver]]
code = "LIM001"
roles = ["gateway"]
reason = "roles need a deployment"
"#,
        );
        let fresh = || {
            vec![
                finding(
                    Code::TCP_TW_RECYCLE_ENABLED,
                    "sysctl:net.ipv4.tcp_tw_recycle",
                ),
                finding(Code::LIMIT_BELOW_RECOMMENDED, "limits:wso2:nofile:soft"),
            ]
        };
        let mut fs = fresh();
        let scope = Scope {
            host: Some("gw2"),
            roles: &[],
        };
        let extra = apply_on(&ws, &mut fs, "2026-11-22", &scope);
        assert!(fs[0].waived.is_some());
        assert!(fs[1].waived.is_none());
        assert!(extra.is_empty(), "{extra:?}");
        // Another host, or an unknown one: the gateway waiver does not apply.
        for host in [Some("cp1"), None] {
            let mut fs = fresh();
            let scope = Scope { host, roles: &[] };
            apply_on(&ws, &mut fs, "2026-11-22", &scope);
            assert!(fs[0].waived.is_none(), "{host:?}");
        }
        // `apply` knows no host: no scoped waiver applies.
        let mut fs = fresh();
        assert!(apply(&ws, &mut fs, "2026-11-22").is_empty());
        assert!(fs.iter().all(|f| f.waived.is_none()));
    }

    fn waived_hosts(r: &FleetReport, code: &str) -> Vec<String> {
        let mut out = Vec::new();
        for n in &r.nodes {
            for h in &n.facts.homes {
                for f in h.report.value()["findings"].as_array().unwrap() {
                    if f["code"] == code && f["waived"].is_object() && !out.contains(&n.host) {
                        out.push(n.host.clone());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn fleet_waivers_reach_node_findings_of_their_hosts_and_roles() {
        let mut r = crate::report::fleet::sample::report_of_fleet();
        let ws = scoped(
            r#"
[[waiver]]
code = "SYS010"
hosts = ["gw1"]
reason = "gw1 is retired next week"

[[waiver]]
code = "LIM001"
roles = ["key-manager"]
reason = "the key manager's limits come from its unit"

[[waiver]]
code = "APM001"
roles = ["control-plane"]
reason = "no control plane has this finding"
"#,
        );
        let extra = apply_fleet(&ws, &mut r, "2026-11-22");
        assert_eq!(waived_hosts(&r, "SYS010"), ["gw1"]);
        // tm1 runs a key manager as well: its findings are a key manager's too.
        assert_eq!(waived_hosts(&r, "LIM001"), ["tm1"]);
        // gw3's own waiver stays as it was; no control plane has APM001: unused.
        assert_eq!(waived_hosts(&r, "APM001"), ["gw3"]);
        let codes: Vec<_> = extra.iter().map(|f| f.code).collect();
        assert_eq!(codes, vec![Code::WAIVER_UNUSED]);
        assert!(
            extra[0].message.contains("control-plane"),
            "{}",
            extra[0].message
        );
        // The renderers see them as waived.
        let view = crate::report::fleet::View::of(&r);
        let gw1 = &view.nodes[0];
        assert!(gw1.findings[0].waived.is_some());
        assert!(
            view.nodes[1]
                .findings
                .iter()
                .all(|f| f.code != Code::TCP_TW_RECYCLE_ENABLED || f.waived.is_none())
        );
    }

    /// A deployment finding is a scoped waiver's only when every host and role it names is
    /// within the waiver: waiving the gateways must not hide what it says of the control plane.
    #[test]
    fn fleet_waivers_on_deployment_findings_need_every_named_host() {
        let cases = [
            (r#"hosts = ["gw*"]"#, false),
            (r#"hosts = ["gw*", "cp1"]"#, true),
            (r#"roles = ["gateway"]"#, false),
            (r#"roles = ["gateway", "control-plane"]"#, true),
            ("", true),
        ];
        for (scope, waived) in cases {
            let mut r = crate::report::fleet::sample::report_of_fleet();
            let ws = scoped(&format!(
                "[[waiver]]\ncode = \"APM010\"\n{scope}\nreason = \"both caches on by design\"\n"
            ));
            apply_fleet(&ws, &mut r, "2026-11-22");
            assert_eq!(r.findings[0].waived.is_some(), waived, "{scope}");
        }
    }

    #[test]
    fn expired_fleet_waivers_apply_nowhere() {
        let mut r = crate::report::fleet::sample::report_of_fleet();
        let ws = scoped(
            "[[waiver]]\ncode = \"SYS010\"\nhosts = [\"gw*\"]\nreason = \"r\"\nexpires = 2026-01-01\n",
        );
        let extra = apply_fleet(&ws, &mut r, "2026-11-22");
        assert!(waived_hosts(&r, "SYS010").is_empty());
        assert_eq!(extra[0].code, Code::WAIVER_EXPIRED);
    }
}
