//! `--format junit`: JUnit XML for GitLab and Jenkins, valid against the strict Ant schema
//! (`shared/schemas/junit.xsd`): one `<testsuite>` per suite of checked settings, one
//! `<testcase>` per setting, a `<failure>` for findings at or above `--fail-on`.
//!
//! Owns the shape of that XML and its escaping; it never judges a value and never reads a file.
//! Secrets never reach here: parsers already masked them.

use super::sanitize::sanitize;
use super::{Context, RenderOptions, Renderable};
use crate::db::model::DbAuditReport;
use crate::diag::{Finding, Fix, FixShape, Severity};
use crate::model::ShownPaths;
use crate::outcome::{AuditReport, FleetReport};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The schema requires a hostname; apim-tune does not read the machine's name (it may audit a
/// root that is not the running system), so it names itself, and the kernel goes in the
/// properties.
const HOSTNAME: &str = "apim-tune";

/// The schema's `ISO8601_DATETIME_PATTERN` takes no timezone; this is UTC.
const EPOCH: &str = "1970-01-01T00:00:00";

pub fn render(r: &dyn Renderable, o: &RenderOptions) -> String {
    render_at(r, o, &xs_datetime(&crate::clock::timestamp()))
}

/// `YYYYMMDDTHHMMSSZ` → `YYYY-MM-DDTHH:MM:SS`, the only form the schema's pattern accepts.
fn xs_datetime(compact: &str) -> String {
    let b = compact.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() == 16 && b[8] == b'T' && b[15] == b'Z' && digits(0..8) && digits(9..15) {
        format!(
            "{}-{}-{}T{}:{}:{}",
            &compact[0..4],
            &compact[4..6],
            &compact[6..8],
            &compact[9..11],
            &compact[11..13],
            &compact[13..15]
        )
    } else {
        // A `SOURCE_DATE_EPOCH` past year 9999 or before 0 has no four-digit form.
        EPOCH.to_string()
    }
}

/// One checked setting and the findings on it.
type Cases<'a> = BTreeMap<String, Vec<&'a Finding>>;

fn render_at(r: &dyn Renderable, o: &RenderOptions, timestamp: &str) -> String {
    if let Context::Fleet(fr) = r.context() {
        return fleet_at(fr, o, timestamp);
    }
    let props = properties(r, o);
    let mut suites: BTreeMap<String, Cases> = BTreeMap::new();
    for c in r.checked() {
        suites
            .entry(suite_name(&c.suite))
            .or_default()
            .entry(c.subject.to_string())
            .or_default();
    }
    for f in r.findings() {
        // The audit lists every finding's subject in `checked`; a hand-built report may not.
        let suite = r
            .checked()
            .iter()
            .find(|c| c.subject == f.subject)
            .map(|c| c.suite.clone())
            .unwrap_or_else(|| f.subject.suite());
        suites
            .entry(suite_name(&suite))
            .or_default()
            .entry(f.subject.to_string())
            .or_default()
            .push(f);
    }

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for (id, (name, cases)) in suites.iter().enumerate() {
        let head = SuiteHead {
            id,
            name,
            hostname: HOSTNAME,
            timestamp,
            paths: r.paths(),
        };
        suite(&head, &props, o, cases, &mut out);
    }
    out.push_str("</testsuites>\n");
    out
}

/// A deployment: one suite for the cross-node findings, then one per node (named after the
/// inventory host, which is also the suite's `hostname`) with one case per subject its own
/// audit found something on. A node's passing checks are not in its export, so a node with
/// no finding is a suite with no cases.
fn fleet_at(r: &FleetReport, o: &RenderOptions, timestamp: &str) -> String {
    let view = super::fleet::View::of(r);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    let fail_on = (
        "fail_on",
        o.fail_on.map_or("never", Severity::as_str).to_string(),
    );
    let mut cases: Cases = BTreeMap::new();
    for c in &r.checked {
        cases.entry(c.subject.to_string()).or_default();
    }
    for f in &r.findings {
        cases.entry(f.subject.to_string()).or_default().push(f);
    }
    let props = vec![("nodes", view.nodes.len().to_string()), fail_on.clone()];
    let head = SuiteHead {
        id: 0,
        name: "deployment",
        hostname: HOSTNAME,
        timestamp,
        paths: &ShownPaths::as_stored(),
    };
    suite(&head, &props, o, &cases, &mut out);
    for (i, n) in view.nodes.iter().enumerate() {
        let mut cases: Cases = BTreeMap::new();
        for f in &n.findings {
            cases.entry(f.subject.to_string()).or_default().push(f);
        }
        let versions: Vec<&str> = n
            .node
            .facts
            .homes
            .iter()
            .map(|h| h.version.value.as_deref().unwrap_or("unknown"))
            .collect();
        let props = vec![
            ("roles", n.roles.join(", ")),
            ("export_file", n.node.export_file.clone()),
            ("matched_by", n.node.matched_by.clone()),
            ("apim_versions", versions.join(", ")),
            fail_on.clone(),
        ];
        let name = suite_name(&n.node.host);
        let head = SuiteHead {
            id: i + 1,
            name: &name,
            hostname: &name,
            timestamp,
            paths: &ShownPaths::as_stored(),
        };
        suite(&head, &props, o, &cases, &mut out);
    }
    out.push_str("</testsuites>\n");
    out
}

/// The schema wants a non-empty name; a subject like `:x` would give an empty suite.
fn suite_name(s: &str) -> String {
    if s.trim().is_empty() {
        "other".into()
    } else {
        sanitize(s)
    }
}

/// What one test case says: the findings that fail it, the waived ones, the quiet ones.
struct Verdict<'a> {
    failing: Vec<&'a Finding>,
    waived: Vec<&'a Finding>,
    quiet: Vec<&'a Finding>,
}

fn verdict<'a>(findings: &[&'a Finding], fail_on: Option<Severity>) -> Verdict<'a> {
    let mut v = Verdict {
        failing: Vec::new(),
        waived: Vec::new(),
        quiet: Vec::new(),
    };
    for f in findings {
        if f.waived.is_some() {
            v.waived.push(f);
        } else if fail_on.is_some_and(|t| f.severity >= t) {
            v.failing.push(f);
        } else {
            v.quiet.push(f);
        }
    }
    v
}

/// A `<testsuite>`'s attributes that are not counts.
struct SuiteHead<'a> {
    id: usize,
    name: &'a str,
    hostname: &'a str,
    timestamp: &'a str,
    /// How the suite's findings name files (a host audit's presenter; as stored for a fleet).
    paths: &'a ShownPaths,
}

fn suite(
    head: &SuiteHead,
    props: &[(&'static str, String)],
    o: &RenderOptions,
    cases: &Cases,
    out: &mut String,
) {
    let SuiteHead {
        id,
        name,
        hostname,
        timestamp,
        paths,
    } = *head;
    let verdicts: Vec<(&String, Verdict)> = cases
        .iter()
        .map(|(subject, fs)| (subject, verdict(fs, o.fail_on)))
        .collect();
    let failures = verdicts
        .iter()
        .filter(|(_, v)| !v.failing.is_empty())
        .count();
    // A case with a failure is a failure even if it also has a waived finding: the schema
    // allows one of `failure` or `skipped` per case, and the failure is what counts.
    let skipped = verdicts
        .iter()
        .filter(|(_, v)| v.failing.is_empty() && !v.waived.is_empty())
        .count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" package=\"apim-tune\" id=\"{id}\" hostname=\"{}\" \
         timestamp=\"{timestamp}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" \
         skipped=\"{skipped}\" time=\"0\">",
        attr(name),
        attr(hostname),
        verdicts.len()
    );
    out.push_str("    <properties>\n");
    for (name, value) in props {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            attr(&sanitize(value))
        );
    }
    out.push_str("    </properties>\n");
    let mut system_out = String::new();
    for (subject, v) in &verdicts {
        testcase(name, subject, v, paths, out);
        for f in &v.waived {
            let _ = writeln!(system_out, "{}", waived_line(f));
            push_block(&mut system_out, f, paths);
        }
        for f in &v.quiet {
            let why = match o.fail_on {
                Some(t) => format!("below --fail-on {}", t.as_str()),
                None => "--fail-on never".to_string(),
            };
            let _ = writeln!(system_out, "passes ({why}):");
            push_block(&mut system_out, f, paths);
        }
    }
    if system_out.is_empty() {
        out.push_str("    <system-out/>\n");
    } else {
        let _ = writeln!(out, "    <system-out>{}</system-out>", text(&system_out));
    }
    out.push_str("    <system-err/>\n  </testsuite>\n");
}

/// The schema puts properties on each suite, so each carries the facts the audit judged by.
fn properties(r: &dyn Renderable, o: &RenderOptions) -> Vec<(&'static str, String)> {
    let fail_on = (
        "fail_on",
        o.fail_on.map_or("never", Severity::as_str).to_string(),
    );
    let mut props = match r.context() {
        Context::Audit(a) => audit_properties(a),
        Context::Db(d) => db_properties(d),
        // Laid out by `fleet_at`, which never comes here.
        Context::Fleet(_) => Vec::new(),
    };
    props.push(fail_on);
    props
}

fn audit_properties(r: &AuditReport) -> Vec<(&'static str, String)> {
    let f = &r.facts;
    let (apim_version, layout) = match &r.apim {
        Some(a) => (
            a.version
                .clone()
                .unwrap_or_else(|| format!("unknown (assuming {})", a.assumed_version)),
            a.layout.to_string(),
        ),
        None => ("none (host only)".to_string(), "none".to_string()),
    };
    vec![
        ("cores", f.cores.value.to_string()),
        ("memory_mb", f.memory_mb.value.to_string()),
        (
            "kernel",
            f.kernel
                .as_ref()
                .map_or_else(|| "unknown".to_string(), |k| k.value.clone()),
        ),
        ("nat", f.nat.value.as_str().to_string()),
        ("apim_version", apim_version),
        ("layout", layout),
        ("profile", r.profile.chain.join(" → ")),
        ("role", r.profile.role.clone()),
    ]
}

/// The database judged and the cut-off that decided which rows count as removable. The target
/// was password-masked before it reached the report.
fn db_properties(r: &DbAuditReport) -> Vec<(&'static str, String)> {
    let unknown = || "unknown".to_string();
    vec![
        ("target", r.target.clone()),
        ("engine", r.engine.to_string()),
        (
            "server_version",
            r.server_version.clone().unwrap_or_else(unknown),
        ),
        (
            "schema_version",
            r.schema_version.clone().unwrap_or_else(unknown),
        ),
        ("cutoff", r.cutoff.clone()),
        ("safe_period", r.safe_period.clone()),
    ]
}

fn testcase(suite: &str, subject: &str, v: &Verdict, paths: &ShownPaths, out: &mut String) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
        attr(suite),
        attr(&sanitize(subject))
    );
    if !v.failing.is_empty() {
        // The schema allows one `failure` per case; several findings on one setting share it.
        let message: Vec<String> = v
            .failing
            .iter()
            .map(|f| sanitize(&paths.text(&f.message)))
            .collect();
        let types: Vec<&str> = v.failing.iter().map(|f| f.code.code()).collect();
        let mut body = String::new();
        for f in &v.failing {
            push_block(&mut body, f, paths);
        }
        let _ = writeln!(
            out,
            ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
            attr(&message.join("; ")),
            attr(&types.join(",")),
            text(&body)
        );
    } else if !v.waived.is_empty() {
        let reasons: Vec<String> = v.waived.iter().map(|f| waived_line(f)).collect();
        let _ = writeln!(
            out,
            ">\n      <skipped message=\"{}\"/>\n    </testcase>",
            attr(&reasons.join("; "))
        );
    } else {
        out.push_str("/>\n");
    }
}

fn waived_line(f: &Finding) -> String {
    match &f.waived {
        Some(w) => {
            let until = w
                .expires
                .as_ref()
                .map(|e| format!(" (until {})", sanitize(e)))
                .unwrap_or_default();
            format!(
                "waived: {}{until}: {} on {}",
                sanitize(&w.reason),
                f.code.code(),
                sanitize(&f.subject.to_string())
            )
        }
        None => String::new(),
    }
}

/// A finding as plain lines: what, where, current → expected, why, fix.
fn push_block(out: &mut String, f: &Finding, paths: &ShownPaths) {
    let _ = writeln!(
        out,
        "{} {} ({}): {}",
        f.code.code(),
        f.code.name(),
        f.severity.as_str(),
        sanitize(&paths.text(&f.message))
    );
    if let Some(l) = &f.location {
        let _ = writeln!(out, "  at {}", sanitize(&paths.location(l)));
    }
    if f.current.is_some() || f.expected.is_some() {
        let _ = writeln!(
            out,
            "  {} → {}",
            sanitize(f.current.as_deref().unwrap_or("-")),
            sanitize(f.expected.as_deref().unwrap_or("-"))
        );
    }
    if let Some(why) = &f.why {
        let _ = writeln!(out, "  why: {}", sanitize(why));
    }
    if let Some(see) = &f.see {
        let _ = writeln!(out, "  see: {}", sanitize(see));
    }
    for n in &f.notes {
        let _ = writeln!(out, "  note: {}", sanitize(&paths.text(n)));
    }
    match f.applied_fix().map(Fix::shape) {
        Some(FixShape::Replace { value, .. }) => {
            let _ = writeln!(out, "  fix: --apply sets `{}`", sanitize(value));
        }
        Some(FixShape::Insert { file, key, value }) => {
            let _ = writeln!(
                out,
                "  fix: --apply adds `{}` = `{}` to {}",
                sanitize(&key),
                sanitize(value),
                sanitize(&paths.file(file))
            );
        }
        Some(FixShape::RemoveLine { also, .. }) => {
            let _ = writeln!(
                out,
                "  fix: --apply comments out the line{}",
                earlier_too(also)
            );
        }
        Some(FixShape::Move {
            from,
            file,
            key,
            value,
            also,
        }) => {
            let _ = writeln!(
                out,
                "  fix: --apply adds `{}` = `{}` to {} and comments out {}{}",
                sanitize(&key),
                sanitize(value),
                sanitize(&paths.file(file)),
                sanitize(&line_of(from, paths)),
                earlier_too(also)
            );
        }
        None => {}
    }
}

/// `file:line` of a location, or the file alone.
fn line_of(l: &crate::model::Location, paths: &ShownPaths) -> String {
    let file = paths.file(&l.file);
    match l.line {
        Some(n) => format!("{file}:{n}"),
        None => file.into_owned(),
    }
}

fn attr(s: &str) -> String {
    escape(s, true)
}

fn text(s: &str) -> String {
    escape(s, false)
}

/// XML-escapes markup characters (quotes too, so one function serves text and attributes) and
/// replaces characters XML 1.0 cannot carry at all, even as references. In attributes,
/// whitespace other than a space is written as a reference, since parsers turn it into spaces.
fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push_str(&c.escape_unicode().to_string())
            }
            c => out.push(c),
        }
    }
    out
}

/// " and the 3 earlier lines of the same key" for a fix that comments out more than one line.
fn earlier_too(also: &[crate::model::Location]) -> String {
    match also.len() {
        0 => String::new(),
        1 => " and the earlier line of the same key".to_string(),
        n => format!(" and the {n} earlier lines of the same key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;
    use crate::diag::Severity;
    use crate::report::sarif::sample;
    use std::path::PathBuf;
    use std::process::Command;

    const TS: &str = "2026-11-22T05:48:01";

    fn schema_path() -> Option<PathBuf> {
        crate::test_support::shared("schemas/junit.xsd")
    }

    /// Runs `xmllint --schema` on the XML: `None` (with a note) where the schema or xmllint is
    /// missing, except that CI, which installs xmllint, must have it.
    fn schema_check(xml: &str) -> Option<Result<(), String>> {
        let Some(xsd) = schema_path() else {
            eprintln!(
                "skipped: junit.xsd not found at $CARGO_MANIFEST_DIR/../shared/schemas/ nor \
                 /work/shared/schemas/; JUnit output was not schema-checked"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report.xml");
        std::fs::write(&file, xml).unwrap();
        let out = match Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .arg(&file)
            .output()
        {
            Ok(out) => out,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!(
                    "skipped: xmllint not runnable ({e}); JUnit output was not schema-checked"
                );
                return None;
            }
            Err(e) => panic!("xmllint is required in CI: {e}"),
        };
        Some(if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        })
    }

    fn assert_schema_valid(xml: &str) {
        if let Some(Err(e)) = schema_check(xml) {
            panic!("xmllint rejected the report:\n{e}\n{xml}");
        }
    }

    /// The check above must be able to say no, or passing it proves nothing.
    #[test]
    fn the_schema_check_rejects_what_the_xsd_forbids() {
        let good = render_with(&sample_report(), Some(Severity::Warning));
        for bad in [
            good.replace("    <system-err/>\n", ""),
            good.replace(
                &format!("timestamp=\"{TS}\""),
                &format!("timestamp=\"{TS}Z\""),
            ),
            good.replacen("<testsuites>", "<testsuites tests=\"1\">", 1),
        ] {
            if let Some(res) = schema_check(&bad) {
                assert!(res.is_err(), "accepted:\n{bad}");
            }
        }
    }

    fn sample_report() -> AuditReport {
        sample::report(sample::findings(), &["sysctl:vm.swappiness"])
    }

    fn render_with(r: &AuditReport, fail_on: Option<Severity>) -> String {
        render_at(
            r,
            &RenderOptions {
                fail_on,
                diff: None,
                concise: false,
            },
            TS,
        )
    }

    /// `(name, tests, failures, skipped)` per suite, read back from the attributes.
    fn counts(xml: &str) -> Vec<(String, usize, usize, usize)> {
        let get = |line: &str, key: &str| -> String {
            let start = line.find(&format!(" {key}=\"")).unwrap() + key.len() + 3;
            line[start..].split('"').next().unwrap().to_string()
        };
        xml.lines()
            .filter(|l| l.trim_start().starts_with("<testsuite "))
            .map(|l| {
                (
                    get(l, "name"),
                    get(l, "tests").parse().unwrap(),
                    get(l, "failures").parse().unwrap(),
                    get(l, "skipped").parse().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn valid_against_the_schema_with_the_right_counts() {
        let xml = render_with(&sample_report(), Some(Severity::Warning));
        assert_schema_valid(&xml);
        assert_eq!(
            counts(&xml),
            [
                ("deployment.toml".to_string(), 1, 1, 0),
                ("limits".to_string(), 1, 0, 1),
                ("sysctl".to_string(), 4, 2, 0),
            ]
        );
        assert_eq!(xml.matches("<failure ").count(), 2 + 1);
        assert!(xml.contains(" id=\"0\" ") && xml.contains(" id=\"2\" "));
        assert!(xml.contains(&format!("timestamp=\"{TS}\"")));
        assert!(xml.contains("<property name=\"kernel\" value=\"5.15.0-91-generic\"/>"));
        assert!(xml.contains("<property name=\"apim_version\" value=\"4.2.0\"/>"));
        assert!(xml.contains(
            "<skipped message=\"waived: root runs nothing | here (until 2027-01-31): LIM004 on limits:*:nofile:soft\"/>"
        ));
        // The info finding passes its case and is reported in system-out instead.
        assert!(xml.contains(
            "<testcase classname=\"sysctl\" name=\"sysctl:net.core.somaxconn\" time=\"0\"/>"
        ));
        assert!(
            xml.contains("passes (below --fail-on warning):\nSYS006 sysctl-shadowed-line (info)")
        );
        assert!(xml.contains(
            "<failure message=\"`net.ipv4.tcp_tw_recycle` is enabled\" type=\"SYS010\">\
             SYS010 tcp-tw-recycle-enabled (error): `net.ipv4.tcp_tw_recycle` is enabled\n  \
             at etc/sysctl.conf:3:1\n  1 → absent\n  why: drops connections from clients behind NAT\n  \
             fix: --apply comments out the line\n</failure>"
        ), "{xml}");
    }

    #[test]
    fn the_threshold_decides_what_fails() {
        let r = sample_report();
        let never = render_with(&r, None);
        assert_schema_valid(&never);
        assert!(counts(&never).iter().all(|c| c.2 == 0));
        assert_eq!(never.matches("<skipped ").count(), 1);

        let info = render_with(&r, Some(Severity::Info));
        assert_schema_valid(&info);
        assert_eq!(counts(&info)[2], ("sysctl".to_string(), 4, 3, 0));

        let error = render_with(&r, Some(Severity::Error));
        assert_eq!(
            counts(&error).iter().map(|c| c.2).collect::<Vec<_>>(),
            [0, 0, 1]
        );
    }

    #[test]
    fn markup_and_forbidden_characters_are_escaped() {
        let f = Finding::new(
            Code::SETTING_NOT_RECOMMENDED,
            "deployment.toml:<&>\"'",
            "bad <&>\"' value",
        )
        .current("\u{1}\u{FFFF}<x>")
        .expected("a\r\nb")
        .why("because ]]> & <![CDATA[");
        let mut r = sample::report(vec![f], &[]);
        r.facts.kernel = Some(crate::host::Fact::new("6.1 <&>\"'".to_string(), "x"));
        let xml = render_with(&r, Some(Severity::Warning));
        assert_schema_valid(&xml);
        assert!(
            xml.contains(
                "<failure message=\"bad &lt;&amp;&gt;&quot;&apos; value\" type=\"APM003\">"
            ),
            "{xml}"
        );
        assert!(xml.contains("name=\"deployment.toml:&lt;&amp;&gt;&quot;&apos;\""));
        assert!(xml.contains("value=\"6.1 &lt;&amp;&gt;&quot;&apos;\""));
        assert!(xml.contains("why: because ]]&gt; &amp; &lt;![CDATA["));
        assert!(!xml.contains('\u{1}') && !xml.contains('\u{FFFF}') && !xml.contains('\r'));
    }

    #[test]
    fn several_failing_findings_on_one_setting_share_one_failure() {
        let f = |code| Finding::new(code, "sysctl:net.core.somaxconn", format!("{code:?}"));
        let waived = {
            let mut w = f(Code::SYSCTL_SHADOWED_LINE);
            w.waived = Some(crate::diag::Waived {
                reason: "known".into(),
                expires: None,
                at: crate::model::Location::file_only("w.toml"),
            });
            w
        };
        let r = sample::report(
            vec![
                f(Code::SYSCTL_BELOW_RECOMMENDED),
                f(Code::SYSCTL_LIVE_DIFFERS),
                waived,
            ],
            &[],
        );
        let xml = render_with(&r, Some(Severity::Warning));
        assert_schema_valid(&xml);
        assert_eq!(counts(&xml), [("sysctl".to_string(), 1, 1, 0)]);
        assert!(xml.contains("<failure message=\"SYS001; SYS005\" type=\"SYS001,SYS005\">"));
        assert!(xml.contains("<system-out>waived: known: SYS006 on sysctl:net.core.somaxconn\n"));
    }

    #[test]
    fn an_empty_report_is_still_valid() {
        let r = sample::report(Vec::new(), &[]);
        let xml = render_with(&r, Some(Severity::Warning));
        assert_schema_valid(&xml);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n</testsuites>\n"
        );
    }

    #[test]
    fn timestamps_take_the_schema_form() {
        assert_eq!(xs_datetime("20261122T054801Z"), TS);
        assert_eq!(xs_datetime("120261122T054801Z"), EPOCH);
        assert_eq!(xs_datetime("2026112xT054801Z"), EPOCH);
        let now = render(&sample_report(), &RenderOptions::default());
        assert_schema_valid(&now);
    }

    fn db_with(fail_on: Option<Severity>) -> String {
        render_at(
            &crate::report::db_sample::report(),
            &RenderOptions {
                fail_on,
                diff: None,
                concise: false,
            },
            TS,
        )
    }

    #[test]
    fn a_db_report_is_valid_against_the_schema() {
        let xml = db_with(Some(Severity::Warning));
        assert_schema_valid(&xml);
        assert_eq!(counts(&xml), [("db".to_string(), 2, 1, 0)]);
        for property in [
            "<property name=\"target\" value=\"postgres://apim:****@db.example:5432/apim_db\"/>",
            "<property name=\"engine\" value=\"postgresql\"/>",
            "<property name=\"schema_version\" value=\"4.2\"/>",
            "<property name=\"cutoff\" value=\"2026-11-21 05:48:01\"/>",
            "<property name=\"fail_on\" value=\"warning\"/>",
        ] {
            assert!(xml.contains(property), "{property}\n{xml}");
        }
        assert!(!xml.contains("name=\"kernel\""), "no host facts");
        assert!(xml.contains(
            "<failure message=\"`IDN_OAUTH2_ACCESS_TOKEN` holds 1100000 removable rows, expected \
             at most 100000\" type=\"DBG001\">DBG001 removable-rows-present (warning): "
        ), "{xml}");
        assert!(xml.contains(
            "<testcase classname=\"db\" name=\"db:IDN_OAUTH2_AUTHORIZATION_CODE\" time=\"0\"/>"
        ));
    }

    #[test]
    fn a_db_report_below_the_threshold_passes_and_stays_valid() {
        let xml = db_with(Some(Severity::Error));
        assert_schema_valid(&xml);
        assert_eq!(counts(&xml), [("db".to_string(), 2, 0, 0)]);
        assert!(xml.contains("passes (below --fail-on error):\nDBG001"));

        let mut r = crate::report::db_sample::report();
        r.schema_version = None;
        r.server_version = None;
        let xml = render_at(&r, &RenderOptions::default(), TS);
        assert_schema_valid(&xml);
        assert!(xml.contains("<property name=\"schema_version\" value=\"unknown\"/>"));
    }

    /// One suite for the deployment and one per node, named after the host; the node suites
    /// hold the node's own findings, and the whole is valid against the strict schema.
    #[test]
    fn a_fleet_report_is_one_suite_per_host_and_schema_valid() {
        let r = crate::report::fleet::sample::report_of_fleet();
        let xml = render_at(
            &r,
            &RenderOptions {
                fail_on: Some(Severity::Warning),
                diff: None,
                concise: false,
            },
            TS,
        );
        assert_schema_valid(&xml);
        let names: Vec<&str> = xml
            .lines()
            .filter_map(|l| l.trim().strip_prefix("<testsuite name=\""))
            .filter_map(|l| l.split('"').next())
            .collect();
        assert_eq!(names, ["deployment", "gw1", "gw2", "gw3", "cp1", "tm1"]);
        assert!(xml.contains("hostname=\"gw2\""), "{xml}");
        // tm1's limit, reported by both its homes, is one case of tm1.
        let tm1 = &xml[xml.find("name=\"tm1\"").unwrap()..];
        assert_eq!(tm1.matches("<testcase ").count(), 1, "{tm1}");
        // gw3's waived finding is skipped, not failed.
        let gw3 = &xml[xml.find("name=\"gw3\"").unwrap()..xml.find("name=\"cp1\"").unwrap()];
        assert!(
            gw3.contains("<skipped message=\"waived: gw3 is the canary"),
            "{gw3}"
        );
        insta::assert_snapshot!(xml);
    }
}
