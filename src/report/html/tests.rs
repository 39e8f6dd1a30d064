use super::*;
use crate::diag::{Code, Finding, Severity};
use crate::model::Location;
use crate::report::{db_sample, fleet::sample as fleet_sample, sarif::sample};
use sha2::{Digest, Sha256};

/// The text between `open` and the next `close`.
fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
    let start = s.find(open).map(|i| i + open.len()).unwrap_or(0);
    let end = s[start..].find(close).map_or(s.len(), |i| start + i);
    &s[start..end]
}

fn audit_findings() -> Vec<Finding> {
    vec![
        Finding::new(
            Code::SETTING_BELOW_RECOMMENDED,
            "deployment.toml:database.apim_db.pool_options.maxActive",
            "`database.apim_db.pool_options.maxActive` is below the recommended value",
        )
        .at(Some(Location::at(
            "opt/wso2am-4.2.0/repository/conf/deployment.toml",
            21,
            1,
        )))
        .current("50")
        .expected("100")
        .why("each API call may hold a connection")
        .see("https://apim.docs.wso2.com/en/4.2.0/install-and-setup/"),
        Finding::new(
            Code::TCP_TW_RECYCLE_ENABLED,
            "sysctl:net.ipv4.tcp_tw_recycle",
            "`net.ipv4.tcp_tw_recycle` breaks clients behind NAT <img src=x onerror=alert(1)>",
        )
        .severity(Severity::Error)
        .at(Some(Location::at("etc/sysctl.d/90-<legacy>.conf", 3, 1)))
        .current("1\"><script>alert(2)</script>")
        .expected("0"),
    ]
}

fn audit_page() -> String {
    let r = sample::report(audit_findings(), &[]);
    render(&r, &RenderOptions::default())
}

/// The policy allows exactly the page's own style and script: a hash that does not match what
/// is inline would leave the page unstyled and its filters dead in every browser.
#[test]
fn the_policy_hashes_are_those_of_the_inline_style_and_script() {
    let page = audit_page();
    let hash = |t: &str| {
        let d = Sha256::digest(t.as_bytes());
        format!("'sha256-{}'", page::base64(&d))
    };
    let style = between(&page, "<style>", "</style>");
    let script = between(&page, "<script>", "</script>");
    assert!(style.contains("@media print") && script.contains("addEventListener"));
    let policy = between(&page, "Content-Security-Policy\" content=\"", "\"");
    assert!(policy.starts_with("default-src 'none';"), "{policy}");
    assert!(
        policy.contains(&format!("style-src {};", hash(style))),
        "{policy}"
    );
    assert!(
        policy.contains(&format!("script-src {};", hash(script))),
        "{policy}"
    );
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(page.matches("<script").count(), 1, "one script only");
    assert_eq!(page.matches("<style").count(), 1, "one style only");
}

/// Values read from files reach the page as text, never as markup.
#[test]
fn every_value_is_escaped() {
    let page = audit_page();
    for raw in ["<img src=x", "<script>alert(2)", "<legacy>"] {
        assert!(!page.contains(raw), "{raw} reached the page unescaped");
    }
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("data-file=\"etc/sysctl.d/90-&lt;legacy&gt;.conf\""));
}

/// Nothing on the page makes the browser fetch: no `src`, no `<link>`, no CSS `url(` or
/// `@import`; links (`see`) are only followed when clicked.
#[test]
fn no_report_refers_to_anything_it_would_load() {
    let o = RenderOptions::default();
    for (what, page) in [
        ("audit", audit_page()),
        ("db", render(&db_sample::report(), &o)),
        ("fleet", render(&fleet_sample::report_of_fleet(), &o)),
    ] {
        let lower = page.to_ascii_lowercase();
        for bad in ["url(", "@import"] {
            assert!(!lower.contains(bad), "{what}: {bad}");
        }
        // Text never holds a `<` (it is escaped), so each one opens a tag.
        for tag in lower.split('<').skip(1).filter_map(|t| t.split('>').next()) {
            let name = tag.split_whitespace().next().unwrap_or("");
            assert!(
                ![
                    "link", "img", "iframe", "object", "embed", "audio", "video", "source"
                ]
                .contains(&name),
                "{what}: <{tag}>"
            );
            assert!(!tag.contains(" src="), "{what}: <{tag}>");
            assert!(name == "a" || !tag.contains("href="), "{what}: <{tag}>");
        }
    }
}

/// Errors come first, whatever order the audit found them in; the filters offer each
/// severity, family and file once.
#[test]
fn findings_are_ordered_by_severity_and_filterable() {
    let page = audit_page();
    let error = page.find("data-severity=\"error\"").unwrap();
    let warning = page.find("data-severity=\"warning\"").unwrap();
    assert!(error < warning);
    for option in [
        "<option value=\"error\">",
        "<option value=\"SYS\">",
        "<option value=\"APM\">",
        "<option value=\"opt/wso2am-4.2.0/repository/conf/deployment.toml\">",
    ] {
        assert_eq!(page.matches(option).count(), 1, "{option}");
    }
    assert!(page.contains("2 of 2 shown"));
    assert!(page.contains("<a href=\"https://apim.docs.wso2.com/en/4.2.0/install-and-setup/\""));
}

#[test]
fn the_diff_is_highlighted_line_by_line() {
    let diff = "--- a/etc/x.conf\n+++ b/etc/x.conf\n@@ -1 +1 @@\n-a = <1>\n+a = 2\n";
    let r = sample::report(audit_findings(), &[]);
    let page = render(
        &r,
        &RenderOptions {
            fail_on: None,
            diff: Some(diff),
            concise: false,
        },
    );
    assert!(
        page.contains("<span class=\"d-del\">-a = &lt;1&gt;</span>\n"),
        "{page}"
    );
    assert!(page.contains("<span class=\"d-add\">+a = 2</span>\n"));
    assert!(page.contains("<span class=\"d-hunk\">@@ -1 +1 @@</span>"));
}

/// A bar per present table in the plot, and every reason in its legend.
#[test]
fn a_db_audit_plots_each_table_and_its_reasons() {
    let r = db_sample::report();
    let page = render(&r, &RenderOptions::default());
    let plot = between(&page, "<figure><svg", "</svg>");
    for t in r.tables.iter().filter(|t| t.present) {
        assert!(
            plot.contains(&format!(">{}</text>", esc(&t.table))),
            "{}",
            t.table
        );
        for (reason, _) in &t.reasons {
            assert!(plot.contains(&esc(reason)), "{reason}");
        }
    }
}

/// Each role whose nodes differ gets a heatmap naming its hosts and settings.
#[test]
fn a_deployment_has_a_setting_by_node_heatmap() {
    let r = fleet_sample::report_of_fleet();
    let view = crate::report::fleet::View::of(&r);
    let drift = crate::report::fleet::drift(&view);
    assert!(!drift.is_empty(), "the sample has drift");
    let page = render(&r, &RenderOptions::default());
    for d in &drift {
        for h in &d.hosts {
            assert!(page.contains(&format!(">{}</text>", esc(h))), "{h}");
        }
        for (setting, _) in &d.rows {
            assert!(
                page.contains(&format!("<title>{}</title>", esc(setting))),
                "{setting}"
            );
        }
    }
}

/// The body of an audit's page (without the stylesheet and script, which have tests of their
/// own), pinned.
#[test]
fn an_audit_page() {
    let page = audit_page();
    insta::assert_snapshot!(between(&page, "<body>\n", "<script>"));
}

/// A deployment's counts are `--fail-on`'s: each node's finding once per node, not once per
/// row that groups identical findings of several nodes.
#[test]
fn a_deployment_counts_every_nodes_findings() {
    let r = fleet_sample::report_of_fleet();
    let view = crate::report::fleet::View::of(&r);
    let page = render(&r, &RenderOptions::default());
    let rows = page.matches("<tr class=\"finding").count();
    let mut counted = 0;
    for s in [Severity::Error, Severity::Warning, Severity::Info] {
        let n = view.count(s);
        counted += n;
        assert!(
            page.contains(&format!("<div class=\"card {}\"><b>{n}</b>", s.as_str())),
            "{s:?}: {n}"
        );
    }
    // The sample has findings shared by nodes, so the two ways of counting differ.
    assert!(
        counted + view.waived() > rows,
        "{counted} + {} vs {rows}",
        view.waived()
    );
}

/// The body of a database audit's page (facts, summary, the plot of table sizes and what is
/// removable, the figures, the findings), pinned.
#[test]
fn a_db_audit_page() {
    let page = render(&db_sample::report(), &RenderOptions::default());
    insta::assert_snapshot!(between(&page, "<body>\n", "<script>"));
}

/// The body of a deployment's page (nodes, summary, the heatmap, grouped findings), pinned.
#[test]
fn a_deployment_page() {
    let page = render(&fleet_sample::report_of_fleet(), &RenderOptions::default());
    insta::assert_snapshot!(between(&page, "<body>\n", "<script>"));
}

/// A role of many nodes gets the heatmap of its first 40, and says so.
#[test]
fn a_heatmap_of_many_nodes_is_cut_and_says_so() {
    let hosts: Vec<String> = (1..=45).map(|i| format!("gw{i}")).collect();
    let values = hosts.iter().map(|h| Some(h.len().to_string())).collect();
    let mut out = String::new();
    heatmap_figure(
        "gateways",
        &hosts,
        &[("somaxconn".into(), values)],
        &mut out,
    );
    assert!(
        out.contains(">gw40</text>") && !out.contains(">gw41</text>"),
        "{out}"
    );
    assert_eq!(out.matches("<rect").count(), 40);
    assert!(out.contains("The first 40 of 45 nodes."));
    let mut few = String::new();
    heatmap_figure(
        "gateways",
        &hosts[..3],
        &[("k".into(), vec![None; 3])],
        &mut few,
    );
    assert!(!few.contains("The first"), "{few}");
}

/// A copy of the page's diff is the diff: tabs stay, a CR survives HTML's line-end rule as a
/// character reference, and a removed `-- comment` line is a removed line, not a file header
/// (found in review of issue 17).
#[test]
fn the_diff_keeps_tabs_and_carriage_returns() {
    let diff = "--- a/x.sql\n+++ b/x.sql\n@@ -1,2 +1,2 @@\n--- old comment\r\n+\tnew = 1\r\n a\n";
    let mut out = String::new();
    super::findings::diff(diff, &mut out);
    assert!(
        out.contains("<span class=\"d-file\">--- a/x.sql</span>\n"),
        "{out}"
    );
    assert!(
        out.contains("<span class=\"d-del\">--- old comment&#13;</span>\n"),
        "{out}"
    );
    assert!(
        out.contains("<span class=\"d-add\">+\tnew = 1&#13;</span>\n"),
        "{out}"
    );
}
