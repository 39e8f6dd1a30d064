//! `validate` and `load` reports: the configurations side by side in text, or JSON
//! (`apim-tune/validate/v1`, `apim-tune/load/v1`).

use crate::gateway::checks::Status;
use crate::gateway::load::LoadResult;
use crate::gateway::settings::SettingRow;
use crate::gateway::stats::{ErrorCounts, LatencySummary};
use crate::gateway::validate::{CacheReport, RunReport, ValidateReport};
use colored::Colorize;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

pub fn json(report: &ValidateReport) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

pub fn text(r: &ValidateReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", "apim-tune validate:".bold(), r.home);
    let l = &r.load;
    let model = match l.rate {
        Some(rate) => {
            format!("{rate} req/s (open model, latency from each request's intended start)")
        }
        None => "as fast as answered (closed loop)".into(),
    };
    let _ = writeln!(
        out,
        "load: {} connections for {} s, at most {} requests, {model}",
        l.connections, l.duration_s, l.max_requests
    );
    let _ = writeln!(
        out,
        "bench: backend delay {} ms, payload {} B, key-manager lookup {} ms, {} active tokens, all on 127.0.0.1",
        l.backend_delay_ms, l.payload_bytes, l.km_latency_ms, l.tokens
    );
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    settings_table(&mut out, &r.runs);
    results_table(&mut out, &r.runs);
    if !r.checks.is_empty() {
        let _ = writeln!(out, "\n{}", "checks".bold());
        for c in &r.checks {
            let tag = match c.status {
                Status::Pass => "PASS".green().to_string(),
                Status::Fail => "FAIL".red().bold().to_string(),
                Status::Skip => "SKIP".dimmed().to_string(),
            };
            let _ = writeln!(out, "  {tag}  {:<20} {:<9} {}", c.name, c.config, c.detail);
        }
    }
    out
}

/// Each setting with its value per configuration; where a value came from, once per change.
fn settings_table(out: &mut String, runs: &[RunReport]) {
    let Some(first) = runs.first() else { return };
    let _ = writeln!(out, "\n{}", "settings".bold());
    let mut header = format!("  {:<34}", "");
    for run in runs {
        let _ = write!(header, " {:>14}", run.config);
    }
    let _ = writeln!(
        out,
        "{}  from",
        header.trim_end_matches(' ').to_string() + ""
    );
    for (i, row) in first.settings.iter().enumerate() {
        let rows: Vec<&SettingRow> = runs.iter().filter_map(|r| r.settings.get(i)).collect();
        let mut line = format!("  {:<34}", row.name);
        for r in &rows {
            let _ = write!(line, " {:>14}", r.display());
        }
        let sources: Vec<String> = dedup(rows.iter().map(|r| r.source.clone()));
        let _ = writeln!(out, "{line}  {}", sources.join(" → "));
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for i in items {
        if !seen.contains(&i) {
            seen.push(i);
        }
    }
    seen
}

fn results_table(out: &mut String, runs: &[RunReport]) {
    let _ = writeln!(out, "\n{}", "results".bold());
    let mut header = format!("  {:<26}", "");
    for run in runs {
        let _ = write!(header, " {:>14}", run.config);
    }
    let _ = writeln!(out, "{}", header.trim_end());
    let row = |out: &mut String, name: &str, cell: &dyn Fn(&RunReport) -> String| {
        let mut line = format!("  {name:<26}");
        for run in runs {
            let _ = write!(line, " {:>14}", cell(run));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    };
    row(out, "requests", &|r| r.requests.to_string());
    row(out, "throughput (req/s)", &|r| {
        format!("{:.1}", r.throughput_rps)
    });
    let corrected = runs.iter().any(|r| r.latency_corrected);
    let unit = if corrected { "ms, corrected" } else { "ms" };
    let lat =
        |f: fn(&LatencySummary) -> f64| move |r: &RunReport| format!("{:.3}", f(&r.latency_ms));
    row(out, &format!("latency p50 ({unit})"), &lat(|l| l.p50));
    row(out, "latency p90", &lat(|l| l.p90));
    row(out, "latency p99", &lat(|l| l.p99));
    row(out, "latency p99.9", &lat(|l| l.p99_9));
    row(out, "latency max", &lat(|l| l.max));
    let err = |f: fn(&ErrorCounts) -> u64| move |r: &RunReport| f(&r.errors).to_string();
    row(out, "errors: timeouts", &err(|e| e.timeouts));
    row(out, "errors: 4xx", &err(|e| e.status_4xx));
    row(out, "errors: 5xx", &err(|e| e.status_5xx));
    row(out, "errors: connect", &err(|e| e.connect));
    row(out, "errors: EMFILE", &err(|e| e.emfile));
    row(out, "errors: other I/O", &err(|e| e.io));
    let ratio = |c: &CacheReport| {
        if c.enabled {
            format!("{:.1}%", c.hit_ratio * 100.0)
        } else {
            "off".into()
        }
    };
    row(out, "gateway: 504 timeouts", &|r| {
        r.gateway_errors.timeouts_504.to_string()
    });
    row(out, "gateway: 503 backend errors", &|r| {
        r.gateway_errors.backend_errors_503.to_string()
    });
    row(out, "gateway: 503 queue full", &|r| {
        r.gateway_errors.rejected_503.to_string()
    });
    row(out, "gateway: accept errors", &|r| {
        r.gateway_errors.accept_errors.to_string()
    });
    row(out, "worker queue peak", &|r| r.peak_queued.to_string());
    row(out, "token cache hit ratio", &|r| ratio(&r.cache));
    row(out, "token cache evictions", &|r| {
        r.cache.evictions.to_string()
    });
    row(out, "key-manager validations", &|r| r.km_calls.to_string());
    row(out, "key-manager cache hit ratio", &|r| ratio(&r.km_cache));
    row(out, "key-manager resource lookups", &|r| {
        r.km_resource_calls.to_string()
    });
    row(out, "key-manager database lookups", &|r| {
        r.km_db_lookups.to_string()
    });
    row(out, "peak open files (process)", &|r| {
        r.peak_open_files.map_or("-".into(), |n| n.to_string())
    });
    row(out, "peak memory (process RSS)", &|r| {
        r.peak_rss_bytes
            .map_or("-".into(), |b| format!("{:.1} MiB", b as f64 / 1_048_576.0))
    });
}

/// `apim-tune load` as JSON.
#[derive(Serialize)]
struct LoadJson<'a> {
    schema: &'static str,
    url: &'a str,
    sent: u64,
    requests: u64,
    elapsed_s: f64,
    throughput_rps: f64,
    latency_ms: LatencySummary,
    latency_corrected: bool,
    errors: ErrorCounts,
    status: &'a BTreeMap<u16, u64>,
}

pub fn load_json(url: &str, r: &LoadResult, corrected: bool) -> String {
    let doc = LoadJson {
        schema: "apim-tune/load/v1",
        url,
        sent: r.sent,
        requests: r.completed,
        elapsed_s: r.elapsed.as_secs_f64(),
        throughput_rps: r.throughput_rps(),
        latency_ms: r.latency.summary(),
        latency_corrected: corrected,
        errors: r.errors,
        status: &r.status,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

pub fn load_text(url: &str, r: &LoadResult, corrected: bool) -> String {
    let l = r.latency.summary();
    let e = &r.errors;
    let mut out = String::new();
    let _ = writeln!(out, "{url}");
    let _ = writeln!(
        out,
        "  {} responses in {:.2} s: {:.1} req/s",
        r.completed,
        r.elapsed.as_secs_f64(),
        r.throughput_rps()
    );
    let _ = writeln!(
        out,
        "  latency{} ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        if corrected { " (corrected)" } else { "" },
        l.p50,
        l.p90,
        l.p99,
        l.p99_9,
        l.max
    );
    let statuses: Vec<String> = r.status.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    let _ = writeln!(out, "  status: {}", statuses.join(", "));
    let _ = writeln!(
        out,
        "  errors: {} timeouts, {} connect, {} EMFILE, {} other I/O",
        e.timeouts, e.connect, e.emfile, e.io
    );
    out
}
