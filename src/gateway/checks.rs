//! The checks `validate` runs on each configuration, each on a fresh runtime and bounded:
//! timeout ordering, connection capacity, and the token cache's eviction, expiry and
//! revocation. Long timeouts are scaled down so a check takes seconds, not minutes; the
//! report says by how much.

use super::load::{LoadSpec, RequestTemplate};
use super::settings::{BenchOptions, GatewaySettings, Sourced};
use super::workload::{LoadOptions, templates};
use super::{GatewayError, Running, run_load};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    pub name: &'static str,
    pub config: String,
    pub status: Status,
    pub detail: String,
}

/// About how long [`run_all`] takes for one configuration with the default settings (release
/// build, 2 busy cores: 10 s for both configurations of `validate`), so `validate` can say how
/// long it will run before it starts. Mostly fixed waits: the scaled 504, the cache expiry.
pub const ESTIMATED_PER_CONFIG: Duration = Duration::from_secs(5);

/// Connections the capacity check opens at most, so it stays bounded on any configuration.
pub const CAPACITY_CHECK_MAX: usize = 20_000;

/// The checks [`run_all`] makes for each configuration, in order.
pub const NAMES: [&str; 5] = [
    "timeout-ordering",
    "connection-capacity",
    "cache-eviction",
    "cache-expiry",
    "revocation",
];

pub fn run_all(
    config: &str,
    settings: &GatewaySettings,
    load: &LoadOptions,
) -> Result<Vec<CheckResult>, GatewayError> {
    let mut out = Vec::new();
    let mut push = |name, (status, detail)| {
        out.push(CheckResult {
            name,
            config: config.to_string(),
            status,
            detail,
        })
    };
    let [timeout, capacity, eviction, expiry, revoke] = NAMES;
    push(timeout, timeout_ordering(settings, load)?);
    push(capacity, connection_capacity(settings, load)?);
    push(eviction, cache_eviction(settings)?);
    push(expiry, cache_expiry(settings)?);
    push(revoke, revocation(settings)?);
    Ok(out)
}

type Outcome = (Status, String);

/// A quiet bench: no key-manager cost (the checks count calls, they do not time them).
fn quiet_bench(tokens: usize) -> BenchOptions {
    BenchOptions {
        km_latency: Duration::ZERO,
        tokens,
        ..BenchOptions::default()
    }
}

/// What one request got: a status, or a timeout.
struct Answer {
    status: Option<u16>,
    timed_out: bool,
    latency: Duration,
}

fn send(
    running: &Running,
    template: RequestTemplate,
    timeout: Duration,
) -> Result<Answer, GatewayError> {
    let spec = LoadSpec {
        target: running.addr,
        templates: vec![template],
        connections: 1,
        duration: timeout + Duration::from_secs(1),
        max_requests: Some(1),
        rate: None,
        timeout,
    };
    let r = run_load(&spec, 1, Arc::new(AtomicU64::new(0)))?;
    Ok(Answer {
        status: r.status.keys().next().copied(),
        timed_out: r.errors.timeouts > 0,
        latency: Duration::from_secs_f64(r.latency.max_ms() / 1000.0),
    })
}

fn get_menu(token: &str) -> RequestTemplate {
    templates(std::slice::from_ref(&token.to_string())).remove(0)
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 && s.fract() == 0.0 {
        format!("{s:.0} s")
    } else if s >= 1.0 {
        format!("{s:.1} s")
    } else {
        format!("{:.0} ms", s * 1000.0)
    }
}

/// A slow backend must get a 504 from the gateway before the client stops waiting: the gateway's
/// timeout must be the shorter, and the gateway must really answer 504 when it runs out.
fn timeout_ordering(s: &GatewaySettings, load: &LoadOptions) -> Result<Outcome, GatewayError> {
    let client = load.client_timeout;
    let Some((gateway, which)) = s.backend_timeout() else {
        return Ok((
            Status::Fail,
            format!(
                "neither http.socket.timeout nor synapse.global_timeout_interval is set (0): the gateway waits for a slow backend as long as it takes, and clients give up after their own {} with no answer",
                seconds(client)
            ),
        ));
    };
    if client <= gateway {
        return Ok((
            Status::Fail,
            format!(
                "the client gives up first: its {} timeout is not longer than the gateway's {which} ({}), so clients get no answer while the gateway still waits; set {which} below {}",
                seconds(client),
                seconds(gateway),
                seconds(client)
            ),
        ));
    }
    // The ordering is right, so the verdict is Pass; the run shows the gateway's 504, with the
    // gateway's timeout scaled to 300 ms and the client waiting long enough to see it even on a
    // loaded machine (scaling the client's too would leave no margin for close timeouts).
    const SCALED: Duration = Duration::from_millis(300);
    let factor = SCALED.as_secs_f64() / gateway.as_secs_f64();
    let client_wait = SCALED + Duration::from_secs(2);
    let mut scaled = s.clone();
    let ms = |v: u64| ((v as f64 * factor).round() as u64).max(1);
    for (field, value) in [
        (&mut scaled.socket_timeout_ms, s.socket_timeout_ms.value),
        (&mut scaled.global_timeout_ms, s.global_timeout_ms.value),
    ] {
        // 0 stays 0: "no timeout" is not scaled into a short one.
        *field = Sourced::new(if value == 0 { 0 } else { ms(value) }, "scaled");
    }
    let bench = BenchOptions {
        backend_delay: client_wait + Duration::from_millis(500),
        ..quiet_bench(10)
    };
    let running = Running::start(&scaled, &bench)?;
    let token = running.tokens.active[0].clone();
    let answer = send(&running, get_menu(&token), client_wait);
    running.shutdown();
    let answer = answer?;
    let scale_note = format!(
        "timeouts scaled: {} → {}",
        seconds(gateway),
        seconds(SCALED)
    );
    let shown = match (answer.status, answer.timed_out) {
        // Both times: the wait measured in the scaled run, and what it stands for at the
        // configured timeouts (the scaled run alone reads as a 0.3 s timeout, the unscaled
        // figure alone as a two-minute wait that never happened).
        (Some(504), _) => format!(
            "a backend slower than that got a 504 from the gateway after {} in the scaled run, {} at the configured timeouts",
            seconds(answer.latency),
            seconds(Duration::from_secs_f64(
                answer.latency.as_secs_f64() / factor
            ))
        ),
        (Some(status), _) => format!("a backend slower than that got status {status}, not 504"),
        (None, _) => "a backend slower than that got no answer from the gateway".to_string(),
    };
    let ok = answer.status == Some(504);
    Ok((
        if ok { Status::Pass } else { Status::Fail },
        format!(
            "the gateway's {which} ({}) is shorter than the client's {} timeout; {shown} ({scale_note})",
            seconds(gateway),
            seconds(client)
        ),
    ))
}

/// Opens as many connections as the configuration is meant to serve and says which limit,
/// if any, cut them short. The target is the larger of `--connections` and
/// `worker_pool_size_max`, the concurrency the pass-through transport is sized for.
fn connection_capacity(s: &GatewaySettings, load: &LoadOptions) -> Result<Outcome, GatewayError> {
    let wanted = load
        .connections
        .max(s.worker_pool_max.value as usize)
        .min(CAPACITY_CHECK_MAX);
    let limits = super::capacity::Limits::read();
    let running = Running::start(s, &quiet_bench(10))?;
    let token = running.tokens.active[0].clone();
    let held = super::hold_connections(&running, wanted, &get_menu(&token));
    let accept_errors = running.accept_errors();
    let stats = running.stats();
    running.shutdown();
    let held = held?;
    let context = format!(
        "limits of the apim-tune process: open files {}, local ports {}; here one connection takes up to 4 descriptors (client, gateway, gateway to backend, backend); the API-M user's own limits are what `audit` checks",
        limits
            .nofile
            .map_or("unknown".into(), |n| format!("{n} (RLIMIT_NOFILE soft)")),
        limits.ports.map_or("unknown".into(), |(lo, hi)| format!(
            "{lo}–{hi} ({} ports)",
            hi - lo + 1
        )),
    );
    let target =
        format!("{wanted} connections (the larger of --connections and worker_pool_size_max)");
    if held.served() == wanted && accept_errors == 0 {
        return Ok((
            Status::Pass,
            format!("{target} opened at once and each served ({context})"),
        ));
    }
    let mut causes = Vec::new();
    if let Some(f) = &held.failure {
        causes.push(format!("opening stopped at {} by {f}", held.opened));
    }
    if accept_errors > 0 {
        causes.push(format!(
            "the gateway failed to accept {accept_errors} time(s) (open files)"
        ));
    }
    if stats.backend_errors > 0 {
        causes.push(format!(
            "{} request(s) got 503 because the gateway could not open a backend connection (open files or ports)",
            stats.backend_errors
        ));
    }
    if stats.rejected > 0 {
        causes.push(format!(
            "{} request(s) got 503: worker queue full",
            stats.rejected
        ));
    }
    if held.unanswered > 0 {
        causes.push(format!(
            "{} request(s) got no answer within 10 s",
            held.unanswered
        ));
    }
    let statuses: Vec<String> = held
        .statuses
        .iter()
        .map(|(s, n)| format!("{n}× {s}"))
        .collect();
    Ok((
        Status::Fail,
        format!(
            "{target}: {} opened, answers {}; {} ({context})",
            held.opened,
            if statuses.is_empty() {
                "none".to_string()
            } else {
                statuses.join(", ")
            },
            causes.join("; ")
        ),
    ))
}

/// Past its capacity the gateway token cache evicts; with the cache off every request calls
/// the key manager.
fn cache_eviction(s: &GatewaySettings) -> Result<Outcome, GatewayError> {
    if !s.gateway_token_cache.value {
        let requests = 200u64;
        let running = Running::start(s, &quiet_bench(50))?;
        let r = load_once_each(&running, requests, 8);
        let stats = running.stats();
        running.shutdown();
        r?;
        let calls = stats.km_calls;
        return Ok(if calls >= requests {
            (
                Status::Pass,
                format!(
                    "gateway token cache off: {requests} requests made {calls} key-manager calls (every request validates remotely)"
                ),
            )
        } else {
            (
                Status::Fail,
                format!(
                    "gateway token cache off, yet {requests} requests made only {calls} key-manager calls"
                ),
            )
        });
    }
    let capacity = s.cache_capacity.value;
    let tokens = capacity + capacity / 4;
    let running = Running::start(s, &quiet_bench(tokens as usize))?;
    let r = load_once_each(&running, tokens, 16);
    let stats = running.stats();
    running.shutdown();
    r?;
    let c = stats.token_cache.unwrap_or_default();
    let kept_within = c.entries <= capacity;
    Ok(if kept_within && c.evictions > 0 {
        (
            Status::Pass,
            format!(
                "{tokens} requests over {tokens} seeded tokens through a {capacity}-entry cache: {} kept, {} evicted",
                c.entries, c.evictions
            ),
        )
    } else {
        (
            Status::Fail,
            format!(
                "{tokens} requests over {tokens} seeded tokens through a {capacity}-entry cache: {} kept, {} evicted (expected at most {capacity} kept, and evictions)",
                c.entries, c.evictions
            ),
        )
    })
}

/// Sends `requests` requests spread over the seeded active tokens.
fn load_once_each(
    running: &Running,
    requests: u64,
    connections: usize,
) -> Result<(), GatewayError> {
    let spec = LoadSpec {
        target: running.addr,
        templates: templates(&running.tokens.active),
        connections,
        duration: Duration::from_secs(60),
        max_requests: Some(requests),
        rate: None,
        timeout: Duration::from_secs(10),
    };
    run_load(&spec, 1, Arc::new(AtomicU64::new(0))).map(|_| ())
}

/// A cached token is validated again once its entry expires.
fn cache_expiry(s: &GatewaySettings) -> Result<Outcome, GatewayError> {
    if !s.gateway_token_cache.value {
        return Ok((
            Status::Skip,
            "gateway token cache is off: nothing to expire".into(),
        ));
    }
    let configured = Duration::from_millis(s.token_cache_expiry_ms.value);
    // Long enough that two requests on a loaded machine fit inside it.
    const SCALED: Duration = Duration::from_millis(1000);
    let mut scaled = s.clone();
    scaled.token_cache_expiry_ms = Sourced::new(SCALED.as_millis() as u64, "scaled");
    let running = Running::start(&scaled, &quiet_bench(10))?;
    let token = running.tokens.active[0].clone();
    let timeout = Duration::from_secs(5);
    let mut misses = Vec::new();
    let mut statuses = Vec::new();
    for pause in [Duration::ZERO, Duration::ZERO, SCALED + SCALED / 2] {
        std::thread::sleep(pause);
        match send(&running, get_menu(&token), timeout) {
            Ok(a) => statuses.push(a.status),
            Err(e) => {
                running.shutdown();
                return Err(e);
            }
        }
        misses.push(running.stats().token_cache.unwrap_or_default().misses);
    }
    running.shutdown();
    let scale = format!("{} scaled to {}", seconds(configured), seconds(SCALED));
    Ok(match misses.as_slice() {
        [1, 1, 2] if statuses.iter().all(|s| *s == Some(200)) => (
            Status::Pass,
            format!(
                "a cached token was served from the cache, then validated again once its entry expired ({scale})"
            ),
        ),
        _ => (
            Status::Fail,
            format!(
                "key-manager validations after a first call, a second at once and a third after the expiry were {misses:?}, expected [1, 1, 2]; statuses {statuses:?} ({scale})"
            ),
        ),
    })
}

/// A revoked token is refused by the very next request, whatever the caches hold.
fn revocation(s: &GatewaySettings) -> Result<Outcome, GatewayError> {
    let running = Running::start(s, &quiet_bench(10))?;
    let token = running.tokens.active[0].clone();
    let timeout = Duration::from_secs(5);
    let steps = (|| {
        let before = send(&running, get_menu(&token), timeout)?.status;
        let revoke = RequestTemplate {
            method: "POST".into(),
            path: "/revoke".into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: bytes::Bytes::from(format!("token={token}")),
        };
        let revoked = send(&running, revoke, timeout)?.status;
        let after = send(&running, get_menu(&token), timeout)?.status;
        Ok::<_, GatewayError>((before, revoked, after))
    })();
    running.shutdown();
    let (before, revoked, after) = steps?;
    Ok(match (before, revoked, after) {
        (Some(200), Some(200), Some(401)) => (
            Status::Pass,
            "a cached token was refused (401) by the first request after its revocation returned"
                .into(),
        ),
        _ => (
            Status::Fail,
            format!(
                "before revoke: {before:?}, revoke: {revoked:?}, after revoke: {after:?}; expected 200, 200, 401"
            ),
        ),
    })
}
