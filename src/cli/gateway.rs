//! `apim-tune gateway`, `backend` and `load`: the embedded runtime on its own.

use super::args::{BackendArgs, BenchArgs, GatewayArgs, LoadArgs, RunFormat};
use crate::exit_code;
use crate::gateway::load::{LoadSpec, RequestTemplate};
use crate::gateway::settings::{BenchOptions, GatewaySettings};
use crate::gateway::{self, Running, RunningBackend};
use crate::report;
use crate::runtime_config;
use anyhow::{Context, bail};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// Seeded tokens of each kind printed with `--format json` (the store holds more).
const TOKENS_SHOWN: usize = 100;

pub(super) fn bench_options(b: &BenchArgs) -> BenchOptions {
    BenchOptions {
        km_latency: b.km_latency,
        backend_delay: b.backend_delay,
        payload: b.payload as usize,
        tokens: b.tokens as usize,
        ..BenchOptions::default()
    }
}

pub fn run(a: &GatewayArgs) -> anyhow::Result<u8> {
    let configs = runtime_config::load(&super::options::target_options(&a.target))?;
    let (which, settings) = if a.proposed {
        ("proposed", &configs.proposed)
    } else {
        ("current", &configs.current)
    };
    let bench = BenchOptions {
        listen: a.listen,
        external_backend: a.backend,
        worker_threads: a.worker_threads.map(|n| n as usize),
        ..bench_options(&a.bench)
    };
    let running = Running::start(settings, &bench)?;
    let signals = running.arm_signals()?;
    let mut out = std::io::stdout().lock();
    match a.format {
        RunFormat::Json => {
            let shown = |v: &[String]| v.iter().take(TOKENS_SHOWN).cloned().collect::<Vec<_>>();
            let g = running.addr;
            let doc = serde_json::json!({
                "schema": "apim-tune/gateway/v1",
                "config": which,
                "home": configs.home,
                "gateway": format!("http://{g}"),
                "backend": format!("http://{}", running.backend_addr),
                "revoke": format!("http://{g}/revoke"),
                "apis": apis_json(g),
                "try": try_lines(&running).map(|(call, revoke)| serde_json::json!({
                    "call": call,
                    "revoke": revoke,
                })),
                "settings": settings.rows(),
                "notes": configs.notes,
                "tokens": {
                    "active": shown(&running.tokens.active),
                    "expired": shown(&running.tokens.expired),
                    "revoked": shown(&running.tokens.revoked),
                },
            });
            writeln!(out, "{doc}")?;
        }
        RunFormat::Text => {
            out.write_all(
                banner(which, &configs.home, settings, &configs.notes, &running).as_bytes(),
            )?;
        }
    }
    out.flush()?;
    drop(out);
    running.wait_for_signal(signals, a.run_for);
    running.shutdown();
    eprintln!("apim-tune gateway: stopped");
    Ok(exit_code::OK)
}

fn banner(
    which: &str,
    home: &str,
    settings: &GatewaySettings,
    notes: &[String],
    running: &Running,
) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "apim-tune gateway: {which} settings of {home}");
    for row in settings.rows() {
        let _ = writeln!(
            s,
            "  {:<34} {:>14}  {}",
            row.name,
            row.display(),
            row.source
        );
    }
    for n in notes {
        let _ = writeln!(s, "note: {n}");
    }
    let g = running.addr;
    let _ = writeln!(s, "gateway listening on http://{g}");
    let _ = writeln!(s, "backend            http://{}", running.backend_addr);
    let _ = writeln!(s, "APIs: {}", apis_line());
    if let Some((call, revoke)) = try_lines(running) {
        let _ = writeln!(s, "try:    {call}");
        let _ = writeln!(s, "revoke: {revoke}");
    }
    let _ = writeln!(
        s,
        "{} active, {} expired, {} revoked tokens seeded; Ctrl-C stops",
        running.tokens.active.len(),
        running.tokens.expired.len(),
        running.tokens.revoked.len()
    );
    s
}

/// The published APIs in one line, from [`gateway::APIS`] (so the banner cannot drift from
/// what the gateway routes): `/pizzashack/1.0.0 (GET /menu, …, GET|PUT|DELETE /order/{orderId})`.
fn apis_line() -> String {
    let mut apis = Vec::new();
    for api in gateway::APIS {
        if !api.subscribed() {
            apis.push(format!("{} (not subscribed: 403)", api.context));
            continue;
        }
        // Verbs of one template together, in the order the templates first appear.
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for r in api.resources {
            match groups.iter_mut().find(|(t, _)| *t == r.template) {
                Some((_, verbs)) => verbs.push(r.method),
                None => groups.push((r.template, vec![r.method])),
            }
        }
        let resources: Vec<String> = groups
            .iter()
            .map(|(t, verbs)| format!("{} {t}", verbs.join("|")))
            .collect();
        apis.push(format!("{} ({})", api.context, resources.join(", ")));
    }
    apis.join(", ")
}

/// `--format json`'s `apis`: every API with its resources as full URLs on this gateway.
fn apis_json(g: SocketAddr) -> serde_json::Value {
    gateway::APIS
        .iter()
        .map(|api| {
            let resources: Vec<serde_json::Value> = api
                .resources
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "method": r.method,
                        "path": format!("{}{}", api.context, r.template),
                        "url": format!("http://{g}{}{}", api.context, r.template),
                    })
                })
                .collect();
            serde_json::json!({
                "name": api.name,
                "context": api.context,
                "subscribed": api.subscribed(),
                "resources": resources,
            })
        })
        .collect()
}

/// A call that works (the first resource of the first subscribed API, with the first active
/// token) and the revocation of that token, as curl command lines.
fn try_lines(running: &Running) -> Option<(String, String)> {
    let g = running.addr;
    let t = running.tokens.active.first()?;
    let api = gateway::APIS.iter().find(|a| a.subscribed())?;
    let r = api.resources.iter().find(|r| r.method == "GET")?;
    Some((
        format!(
            "curl -H 'Authorization: Bearer {t}' http://{g}{}{}",
            api.context, r.template
        ),
        format!("curl -d 'token={t}' http://{g}/revoke"),
    ))
}

pub fn backend(a: &BackendArgs) -> anyhow::Result<u8> {
    let running = RunningBackend::start(a.listen, a.payload as usize, a.delay, a.threads as usize)?;
    let signals = running.arm_signals()?;
    println!("backend listening on http://{}", running.addr);
    std::io::stdout().flush()?;
    running.wait_for_signal(signals, a.run_for);
    running.shutdown();
    Ok(exit_code::OK)
}

pub fn load(a: &LoadArgs) -> anyhow::Result<u8> {
    let (target, path) = parse_url(&a.url)?;
    let mut headers = Vec::new();
    for h in &a.headers {
        let Some((k, v)) = h.split_once(':') else {
            bail!("header `{h}` is not `Name: value`");
        };
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let spec = LoadSpec {
        target,
        templates: vec![RequestTemplate {
            method: "GET".into(),
            path,
            headers,
            body: bytes::Bytes::new(),
        }],
        connections: a.connections as usize,
        duration: a.duration,
        max_requests: Some(a.requests),
        rate: a.rate,
        timeout: a.timeout,
    };
    let result = gateway::run_load(&spec, a.threads as usize, Arc::new(AtomicU64::new(0)))
        .context("load failed")?;
    let corrected = a.rate.is_some();
    let text = match a.format {
        RunFormat::Json => report::validate::load_json(&a.url, &result, corrected),
        RunFormat::Text => report::validate::load_text(&a.url, &result, corrected),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(exit_code::OK)
}

/// `http://127.0.0.1:8280/path?q` → (address, `/path?q`); only loopback literals and
/// `localhost`, which needs no resolver.
fn parse_url(url: &str) -> anyhow::Result<(SocketAddr, String)> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("`{url}` is not an http:// URL (https is not supported: the load stays on loopback)");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let authority = authority.replace("localhost", "127.0.0.1");
    let with_port = if authority.contains(':') && !authority.ends_with(']') {
        authority
    } else {
        format!("{authority}:80")
    };
    let addr: SocketAddr = with_port
        .parse()
        .with_context(|| format!("`{url}` does not name a loopback IP address and port"))?;
    if !addr.ip().is_loopback() {
        bail!("`{url}` is not on loopback: the load generator only sends to 127.0.0.1 or ::1");
    }
    Ok((addr, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_loopback_http() {
        let (a, p) = parse_url("http://127.0.0.1:8280/pizzashack/1.0.0/menu?x=1").expect("ok");
        assert_eq!((a.port(), p.as_str()), (8280, "/pizzashack/1.0.0/menu?x=1"));
        assert_eq!(parse_url("http://localhost:9").expect("ok").1, "/");
        assert_eq!(parse_url("http://[::1]:81/x").expect("ok").0.port(), 81);
        assert!(parse_url("https://127.0.0.1:1/").is_err());
        assert!(parse_url("http://10.0.0.1:80/").is_err());
        assert!(parse_url("http://example.com/").is_err());
    }
}
