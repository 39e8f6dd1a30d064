//! `--format html` and `--output html=FILE` through the binary, for every command that has
//! them: one self-contained page with its policy, the findings, the plots. (Escaping and the
//! policy's hashes are tested on hand-made reports in `src/report/html/tests.rs`; the page in a
//! real browser by `.ci/browser.sh`.)

use super::{CliTest, fixtures};
use assert_cmd::Command;

/// What every report page must be: one document with a policy that forbids every fetch.
fn assert_page(what: &str, page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>"), "{what}: {page:.200}");
    assert!(page.trim_end().ends_with("</html>"), "{what}");
    assert!(
        page.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"),
        "{what}"
    );
    assert_eq!(page.matches("<html").count(), 1, "{what}");
}

#[test]
fn audit_writes_the_same_page_to_stdout_and_to_output() {
    let t = CliTest::new("modern-4.2");
    let file = t.dir.path().join("audit.html");
    let output = format!("html={}", file.display());
    let (code, stdout, stderr) = t.run(
        Some("wso2am-4.2.0"),
        &[
            "--java-version",
            "17",
            "--format",
            "html",
            "--output",
            &output,
        ],
    );
    // Findings still decide the exit code, whatever the format.
    assert_eq!(code, 1, "{stderr}");
    assert_page("audit", &stdout);
    let written = std::fs::read_to_string(&file)
        .unwrap()
        .replace(&t.root.display().to_string(), "[ROOT]");
    assert_eq!(written, stdout);
    // The findings, with the filters, and the diff --apply would make.
    assert!(stdout.contains("<tr class=\"finding\" data-severity=\"error\""));
    assert!(stdout.contains("<select id=\"filter-family\">"));
    assert!(stdout.contains("<h2>What <code>--apply</code> would change</h2>"));
    assert!(
        stdout.contains("<span class=\"d-add\">+"),
        "the diff is highlighted"
    );
}

#[test]
fn an_unknown_output_format_lists_html() {
    let t = CliTest::new("modern-4.2");
    let (code, _, stderr) = t.run(None, &["--output", "pdf=x.pdf"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("(text, json, sarif, junit, markdown, html)"),
        "{stderr}"
    );
}

fn db(url: &str, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("apim-tune")
        .unwrap()
        .env("APIM_TUNE_DB_URL", url)
        .env_remove("NO_COLOR")
        .arg("db")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn db_audit_plots_table_sizes_and_what_is_removable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("apim.db").display());
    for step in [
        &["init"][..],
        &[
            "seed",
            "--tokens",
            "400",
            "--sessions",
            "40",
            "--codes",
            "40",
        ][..],
    ] {
        let out = db(&url, step);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let file = dir.path().join("db.html");
    let out = db(
        &url,
        &[
            "audit",
            "--format",
            "html",
            "--output",
            &format!("html={}", file.display()),
        ],
    );
    let page = String::from_utf8_lossy(&out.stdout);
    assert_page("db audit", &page);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), page);
    let plot = page
        .split("<figure>")
        .nth(1)
        .and_then(|f| f.split("</figure>").next())
        .unwrap_or_else(|| panic!("no plot:\n{page}"));
    assert!(
        plot.contains("aria-label=\"table size and removable share\""),
        "{plot}"
    );
    assert!(plot.contains(">IDN_OAUTH2_ACCESS_TOKEN</text>"), "{plot}");
    assert!(plot.contains("% removable</text>"), "{plot}");
}

#[test]
fn fleet_merge_draws_the_setting_by_node_heatmap() {
    let set = fixtures().join("fleet/merge/deployment");
    let out = Command::cargo_bin("apim-tune")
        .unwrap()
        .env_remove("APIM_TUNE_FLEET_SALT")
        .args(["fleet", "merge", "--format", "html"])
        .args(["cp1", "gw1", "gw2", "tm1"].map(|h| set.join(format!("{h}.json"))))
        .arg("--inventory")
        .arg(set.join("inventory.json"))
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&out.stdout);
    assert_page("fleet merge", &page);
    assert!(
        page.contains("aria-label=\"gateways: setting × node\""),
        "{page}"
    );
    // gw1 and gw2 differ in the somaxconn they set: two cells, in two colours.
    let heatmap = page
        .split_once("gateways: setting × node")
        .map_or("", |(_, rest)| rest);
    assert!(
        heatmap.contains(">sysctl.net.core.somaxconn</text>"),
        "{heatmap:.2000}"
    );
    assert!(heatmap.contains(">4096</text>") && heatmap.contains(">1024</text>"));
}

#[test]
fn validate_writes_its_plots_to_an_html_file() {
    let t = CliTest::new("legacy-2.6");
    let file = t.dir.path().join("validate.html");
    let out = t
        .command(
            "validate",
            Some("wso2am-2.6.0"),
            &[
                "--no-checks",
                "--duration",
                "0.3",
                "--connections",
                "2",
                "--requests",
                "100",
                "--km-latency",
                "0",
                "--tokens",
                "10",
                "--format",
                "json",
                "--output",
                &format!("html={}", file.display()),
            ],
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let page = std::fs::read_to_string(&file).unwrap();
    assert_page("validate", &page);
    assert!(page.contains("aria-label=\"latency percentiles\""));
    assert!(page.contains("aria-label=\"throughput\""));
    // Each run's throughput is a bar, labelled with the figure the JSON report gives.
    let plot = page.split("aria-label=\"throughput\"").nth(1).unwrap_or("");
    for run in json["runs"].as_array().unwrap() {
        let rps = run["throughput_rps"].as_f64().unwrap();
        let title = format!("<title>{}: ", run["config"].as_str().unwrap());
        let shown: f64 = plot
            .split(&title)
            .nth(1)
            .and_then(|t| t.split('<').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no bar {title}"));
        assert!(
            (shown - rps).abs() <= rps * 0.01 + 0.01,
            "{shown} for {rps}"
        );
    }
}
