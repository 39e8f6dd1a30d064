//! `validate`: each configuration under the same bounded load, one after the other, then the
//! checks, gathered into one report (`apim-tune/validate/v1`).

use super::cache::CacheStats;
use super::checks::{self, CheckResult};
use super::load::{LoadResult, LoadSpec};
use super::proxy::GatewayStats;
use super::settings::{BenchOptions, GatewaySettings, SettingRow};
use super::stats::{ErrorCounts, LatencySummary, ProcessPeaks};
pub use super::workload::{LoadOptions, templates};
use super::{GatewayError, Running};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    pub enabled: bool,
    pub hits: u64,
    pub misses: u64,
    pub hit_ratio: f64,
    pub evictions: u64,
}

impl CacheReport {
    fn of(stats: Option<CacheStats>) -> CacheReport {
        match stats {
            Some(s) => CacheReport {
                enabled: true,
                ..s.into()
            },
            None => CacheReport {
                enabled: false,
                hits: 0,
                misses: 0,
                hit_ratio: 0.0,
                evictions: 0,
            },
        }
    }
}

/// What the gateway itself answered with an error, and connections it could not accept.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct GatewayErrors {
    /// 504: the backend did not answer within the timeout.
    pub timeouts_504: u64,
    /// 503: the backend could not be reached (refused, EMFILE on the gateway's side, broken).
    pub backend_errors_503: u64,
    /// 503: worker queue full.
    pub rejected_503: u64,
    pub unauthorized_401: u64,
    /// Connections the gateway failed to accept (EMFILE among them).
    pub accept_errors: u64,
}

impl From<CacheStats> for CacheReport {
    fn from(s: CacheStats) -> CacheReport {
        CacheReport {
            enabled: true,
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
    /// Failures as the clients saw them.
    pub errors: ErrorCounts,
    /// What the gateway answered with an error, by cause.
    pub gateway_errors: GatewayErrors,
    /// The gateway token cache (valid and invalid keys together).
    pub cache: CacheReport,
    /// The key manager's own token cache.
    pub km_cache: CacheReport,
    /// Token validations asked of the key manager.
    pub km_calls: u64,
    /// Resource lookups asked of the key manager (the resource cache missed or is off).
    pub km_resource_calls: u64,
    /// Key-manager lookups that reached the database (past its own cache).
    pub km_db_lookups: u64,
    /// The deepest the worker queue got.
    pub peak_queued: u64,
    /// Of the whole apim-tune process (gateways, backends and load generator together), which
    /// is why memory only grows from one run to the next.
    pub peak_open_files: Option<u64>,
    pub peak_rss_bytes: Option<u64>,
    pub settings: Vec<SettingRow>,
}

/// What the CLI's progress bar is told: a run's name, requests done, time into the run, and
/// how long the run lasts.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, Duration, Duration) + Sync);

/// Each configuration's load is split into this many slices, run in turn (current, proposed,
/// current, proposed): on a shared, noisy machine drift then falls on both alike.
const ROUNDS: u32 = 2;

pub fn run(
    plan: &ValidatePlan,
    progress: Option<Progress>,
) -> Result<ValidateReport, GatewayError> {
    let rounds = if plan.load.duration >= Duration::from_secs(2)
        && plan.load.max_requests >= u64::from(ROUNDS)
    {
        ROUNDS
    } else {
        1
    };
    let (base, extra) = (
        plan.load.max_requests / u64::from(rounds),
        plan.load.max_requests % u64::from(rounds),
    );
    let mut notes = Vec::new();
    if let Some((old, new)) = super::capacity::raise_open_files() {
        notes.push(format!(
            "open-files limit raised from {old} to its hard limit {new} for this run, as the JVM does at start-up (-XX:+MaxFDLimit)"
        ));
    }
    // Each configuration's runtime is started once and kept across its slices, so its caches
    // stay warm; only the load alternates.
    let mut running = Vec::new();
    for (_, settings) in &plan.configs {
        match Running::start(settings, &plan.bench) {
            Ok(r) => running.push(r),
            Err(e) => {
                running.into_iter().for_each(Running::shutdown);
                return Err(e);
            }
        }
    }
    let mut totals: Vec<Option<Slice>> = plan.configs.iter().map(|_| None).collect();
    let mut failed = None;
    'rounds: for round in 0..rounds {
        // The budget splits exactly: the first rounds take the remainder.
        let slice = LoadOptions {
            duration: plan.load.duration / rounds,
            max_requests: base + u64::from(u64::from(round) < extra),
            ..plan.load.clone()
        };
        for (((name, _), total), rt) in plan.configs.iter().zip(&mut totals).zip(&running) {
            match run_slice(name, rt, &slice, progress) {
                Ok(part) => match total {
                    Some(t) => t.add(part),
                    None => *total = Some(part),
                },
                Err(e) => {
                    failed = Some(e);
                    break 'rounds;
                }
            }
        }
    }
    let gateway_stats: Vec<GatewayStats> = running
        .into_iter()
        // Stopped first, so requests still in flight (a 504 after the client gave up) count.
        .map(Running::finish)
        .collect();
    if let Some(e) = failed {
        return Err(e);
    }
    let runs = plan
        .configs
        .iter()
        .zip(totals)
        .zip(gateway_stats)
        .filter_map(|(((name, settings), total), stats)| {
            total.map(|t| t.report(name, settings, stats, plan.load.rate.is_some()))
        })
        .collect();
    if let [(_, a), (_, b)] = plan.configs.as_slice()
        && a != b
        && load_shape(a) == load_shape(b)
    {
        notes.push(
            "current and proposed differ only in settings this load does not exercise (timeouts, cache expiry, thread keep-alive): differences in the results are noise; the checks show those settings"
                .to_string(),
        );
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
        notes,
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

/// The settings that change how a load of valid tokens against a prompt backend runs.
fn load_shape(s: &GatewaySettings) -> impl PartialEq + use<> {
    (
        (
            s.worker_pool_core.value,
            s.worker_pool_max.value,
            s.worker_queue_length.value,
        ),
        (
            s.io_threads.value,
            s.io_buffer_size.value,
            s.max_conn_per_host_port.value,
        ),
        (
            s.gateway_token_cache.value,
            s.km_token_cache.value,
            s.resource_cache.value,
            s.cache_capacity.value,
        ),
    )
}

/// What the load of one configuration measured, over its slices.
struct Slice {
    load: LoadResult,
    peaks: ProcessPeaks,
}

impl Slice {
    fn add(&mut self, o: Slice) {
        let (a, b) = (&mut self.load, o.load);
        a.sent += b.sent;
        a.completed += b.completed;
        a.elapsed += b.elapsed;
        a.latency.merge(&b.latency);
        a.errors.add(&b.errors);
        for (status, n) in b.status {
            *a.status.entry(status).or_default() += n;
        }
        self.peaks.open_files = self.peaks.open_files.max(o.peaks.open_files);
        self.peaks.rss_bytes = self.peaks.rss_bytes.max(o.peaks.rss_bytes);
    }

    fn report(
        self,
        name: &str,
        settings: &GatewaySettings,
        g: GatewayStats,
        corrected: bool,
    ) -> RunReport {
        RunReport {
            config: name.to_string(),
            requests: self.load.completed,
            elapsed_s: round(self.load.elapsed.as_secs_f64(), 3),
            throughput_rps: round(self.load.throughput_rps(), 1),
            latency_ms: self.load.latency.summary(),
            latency_corrected: corrected,
            errors: self.load.errors,
            gateway_errors: GatewayErrors {
                timeouts_504: g.timeouts,
                backend_errors_503: g.backend_errors,
                rejected_503: g.rejected,
                unauthorized_401: g.unauthorized,
                accept_errors: g.accept_errors,
            },
            cache: CacheReport::of(g.token_cache),
            km_cache: CacheReport::of(g.km_cache),
            km_calls: g.km_calls,
            km_resource_calls: g.km_resource_calls,
            km_db_lookups: g.km_db_lookups,
            peak_queued: g.peak_queued,
            peak_open_files: self.peaks.open_files,
            peak_rss_bytes: self.peaks.rss_bytes,
            settings: settings.rows(),
        }
    }
}

fn run_slice(
    name: &str,
    running: &Running,
    load: &LoadOptions,
    progress: Option<Progress>,
) -> Result<Slice, GatewayError> {
    let spec = LoadSpec {
        target: running.addr,
        templates: templates(&running.tokens.active),
        connections: load.connections,
        duration: load.duration,
        max_requests: Some(load.max_requests),
        rate: load.rate,
        timeout: load.client_timeout,
    };
    let done = Arc::new(AtomicU64::new(0));
    let finished = AtomicBool::new(false);
    let started = Instant::now();
    /// Tells the progress thread to stop however the load ends, a panic included.
    struct Finished<'a>(&'a AtomicBool);
    impl Drop for Finished<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Release);
        }
    }
    let outcome = std::thread::scope(|scope| {
        let _finished = Finished(&finished);
        if let Some(report) = progress {
            let done = Arc::clone(&done);
            let finished = &finished;
            scope.spawn(move || {
                // Bounded by the load itself: it ends within its duration plus the client timeout.
                while !finished.load(Ordering::Acquire) {
                    report(
                        name,
                        done.load(Ordering::Relaxed),
                        started.elapsed(),
                        load.duration,
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
                report(
                    name,
                    done.load(Ordering::Relaxed),
                    started.elapsed(),
                    load.duration,
                );
            });
        }
        super::run_load_sampled(&spec, 1, Arc::clone(&done))
    });
    let (load, peaks) = outcome?;
    Ok(Slice { load, peaks })
}

pub(super) fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}
