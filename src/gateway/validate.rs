//! `validate`: each configuration under the same bounded load, one after the other, then the
//! checks, gathered into one report (`apim-tune/validate/v1`).

use super::cache::CacheStats;
use super::checks::{self, CheckResult};
use super::load::{LoadSpec, RequestTemplate};
use super::settings::{BenchOptions, GatewaySettings, SettingRow};
use super::stats::{ErrorCounts, LatencySummary, ProcessPeaks};
use super::{GatewayError, Running};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The load every configuration gets.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub connections: usize,
    pub duration: Duration,
    pub max_requests: u64,
    /// Total requests per second (open model); `None` runs as fast as the gateway answers.
    pub rate: Option<f64>,
    /// How long a client waits for an answer (its read timeout).
    pub client_timeout: Duration,
}

pub struct ValidatePlan<'a> {
    /// `("current", …)`, `("proposed", …)`.
    pub configs: Vec<(&'a str, &'a GatewaySettings)>,
    pub bench: BenchOptions,
    pub load: LoadOptions,
    pub run_checks: bool,
}

pub const SCHEMA: &str = "apim-tune/validate/v1";

#[derive(Clone, Debug, Serialize)]
pub struct ValidateReport {
    pub schema: &'static str,
    /// What was run: the home and version, or the defaults used (set by the caller).
    pub home: String,
    /// Values that could not be used as written, and other remarks (set by the caller).
    pub notes: Vec<String>,
    pub load: LoadSummary,
    pub runs: Vec<RunReport>,
    pub checks: Vec<CheckResult>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LoadSummary {
    pub connections: usize,
    pub duration_s: f64,
    pub max_requests: u64,
    pub rate: Option<f64>,
    pub backend_delay_ms: f64,
    pub km_latency_ms: f64,
    pub payload_bytes: usize,
    pub tokens: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct CacheReport {
    pub hits: u64,
    pub misses: u64,
    pub hit_ratio: f64,
    pub evictions: u64,
}

impl From<CacheStats> for CacheReport {
    fn from(s: CacheStats) -> CacheReport {
        CacheReport {
            hits: s.hits,
            misses: s.misses,
            hit_ratio: round(s.hit_ratio(), 4),
            evictions: s.evictions,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub config: String,
    pub requests: u64,
    pub elapsed_s: f64,
    pub throughput_rps: f64,
    pub latency_ms: LatencySummary,
    /// Whether latency counts from each request's intended start (`--rate`).
    pub latency_corrected: bool,
    pub errors: ErrorCounts,
    pub cache: CacheReport,
    pub km_calls: u64,
    /// 503s from a full worker queue and the deepest the queue got.
    pub rejected: u64,
    pub peak_queued: u64,
    pub peak_open_files: Option<u64>,
    pub peak_rss_bytes: Option<u64>,
    pub settings: Vec<SettingRow>,
}

/// What the CLI's progress bar is told: a run's name, requests done, time into the run.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, Duration) + Sync);

pub fn run(
    plan: &ValidatePlan,
    progress: Option<Progress>,
) -> Result<ValidateReport, GatewayError> {
    let mut runs = Vec::new();
    for (name, settings) in &plan.configs {
        runs.push(run_one(name, settings, plan, progress)?);
    }
    let mut checks = Vec::new();
    if plan.run_checks {
        for (name, settings) in &plan.configs {
            checks.extend(checks::run_all(name, settings, &plan.load)?);
        }
    }
    Ok(ValidateReport {
        schema: SCHEMA,
        home: String::new(),
        notes: Vec::new(),
        load: LoadSummary {
            connections: plan.load.connections,
            duration_s: plan.load.duration.as_secs_f64(),
            max_requests: plan.load.max_requests,
            rate: plan.load.rate,
            backend_delay_ms: plan.bench.backend_delay.as_secs_f64() * 1000.0,
            km_latency_ms: plan.bench.km_latency.as_secs_f64() * 1000.0,
            payload_bytes: plan.bench.payload,
            tokens: plan.bench.tokens,
        },
        runs,
        checks,
    })
}

/// The request every load sends: the sample API's `GET /menu`, one template per active token.
pub fn templates(tokens: &[String]) -> Vec<RequestTemplate> {
    tokens
        .iter()
        .map(|t| RequestTemplate {
            method: "GET".into(),
            path: "/pizzashack/1.0.0/menu".into(),
            headers: vec![("Authorization".into(), format!("Bearer {t}"))],
            body: bytes::Bytes::new(),
        })
        .collect()
}

fn run_one(
    name: &str,
    settings: &GatewaySettings,
    plan: &ValidatePlan,
    progress: Option<Progress>,
) -> Result<RunReport, GatewayError> {
    let running = Running::start(settings, &plan.bench)?;
    let spec = LoadSpec {
        target: running.addr,
        templates: templates(&running.tokens.active),
        connections: plan.load.connections,
        duration: plan.load.duration,
        max_requests: Some(plan.load.max_requests),
        rate: plan.load.rate,
        timeout: plan.load.client_timeout,
    };
    let done = Arc::new(AtomicU64::new(0));
    let finished = AtomicBool::new(false);
    let started = Instant::now();
    let outcome = std::thread::scope(|scope| {
        if let Some(report) = progress {
            let done = Arc::clone(&done);
            let finished = &finished;
            scope.spawn(move || {
                // Bounded by the load itself: it ends within its duration plus the client timeout.
                while !finished.load(Ordering::Acquire) {
                    report(name, done.load(Ordering::Relaxed), started.elapsed());
                    std::thread::sleep(Duration::from_millis(100));
                }
                report(name, done.load(Ordering::Relaxed), started.elapsed());
            });
        }
        let r = super::run_load_sampled(&spec, 1, Arc::clone(&done));
        finished.store(true, Ordering::Release);
        r
    });
    let stats = running.stats();
    running.shutdown();
    let (load, peaks): (_, ProcessPeaks) = outcome?;
    Ok(RunReport {
        config: name.to_string(),
        requests: load.completed,
        elapsed_s: round(load.elapsed.as_secs_f64(), 3),
        throughput_rps: round(load.throughput_rps(), 1),
        latency_ms: load.latency.summary(),
        latency_corrected: plan.load.rate.is_some(),
        errors: load.errors,
        cache: stats.token_cache.into(),
        km_calls: stats.km_calls,
        rejected: stats.rejected,
        peak_queued: stats.peak_queued,
        peak_open_files: peaks.open_files,
        peak_rss_bytes: peaks.rss_bytes,
        settings: settings.rows(),
    })
}

pub(super) fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}
