//! What the embedded runtime is configured with: the API-M settings it honours, each with the
//! file it came from, and the options of the test bench around it (backend, key-manager cost).
//!
//! Plain data, no async: the CLI and [`crate::runtime_config`] build it, the runtime reads it.

use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;

/// A value and where it came from (`deployment.toml:12`, `default of 4.2.0`, `profile base`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: String,
}

impl<T> Sourced<T> {
    pub fn new(value: T, source: impl Into<String>) -> Sourced<T> {
        Sourced {
            value,
            source: source.into(),
        }
    }
}

/// The API-M settings the runtime maps, by their API-M meaning.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GatewaySettings {
    /// Pass-through worker pool: threads kept; with an unbounded queue the only ones ever used.
    pub worker_pool_core: Sourced<u32>,
    /// Threads added only once the queue is full (Java ThreadPoolExecutor semantics).
    pub worker_pool_max: Sourced<u32>,
    /// Requests waiting for a worker; -1 is unbounded.
    pub worker_queue_length: Sourced<i64>,
    /// Idle time before a non-core worker thread ends (shown; tasks here are not threads).
    pub worker_keepalive_s: Sourced<u64>,
    /// I/O reactor threads: the runtime's worker threads.
    pub io_threads: Sourced<u32>,
    /// Read buffer per connection, bytes.
    pub io_buffer_size: Sourced<usize>,
    /// `http.socket.timeout`: idle client connections and silent backends are cut after it
    /// (0: never).
    pub socket_timeout_ms: Sourced<u64>,
    /// `http.max.connection.per.host.port`: concurrent connections to one backend.
    pub max_conn_per_host_port: Sourced<u32>,
    /// `synapse.global_timeout_interval`: how long a backend response is waited for (0: no limit).
    pub global_timeout_ms: Sourced<u64>,
    pub gateway_token_cache: Sourced<bool>,
    /// Entry lifetime of both token caches, ms (`TokenCacheExpiry`, else `DefaultCacheTimeout`).
    pub token_cache_expiry_ms: Sourced<u64>,
    pub km_token_cache: Sourced<bool>,
    pub resource_cache: Sourced<bool>,
    /// Entries per cache before eviction (Carbon's built-in 10,000).
    pub cache_capacity: Sourced<u64>,
}

/// Carbon's cache capacity (`CachingConstants.DEFAULT_CACHE_CAPACITY`); no API-M file sets it.
pub const CARBON_CACHE_CAPACITY: u64 = 10_000;

impl GatewaySettings {
    /// The time after which the gateway answers 504: the shorter of the two timeouts that are
    /// set (0 means none, as in Java), and which one it is; `None` when neither is.
    pub fn backend_timeout(&self) -> Option<(Duration, &'static str)> {
        [
            (self.socket_timeout_ms.value, "http.socket.timeout"),
            (
                self.global_timeout_ms.value,
                "synapse.global_timeout_interval",
            ),
        ]
        .into_iter()
        .filter(|(ms, _)| *ms > 0)
        .min_by_key(|(ms, _)| *ms)
        .map(|(ms, which)| (Duration::from_millis(ms), which))
    }

    /// `http.socket.timeout` as a duration; 0 means none.
    pub fn socket_timeout(&self) -> Option<Duration> {
        (self.socket_timeout_ms.value > 0)
            .then(|| Duration::from_millis(self.socket_timeout_ms.value))
    }

    /// Each setting as (name, value, source), in the order the table prints them.
    pub fn rows(&self) -> Vec<SettingRow> {
        fn row<T: ToString>(name: &'static str, s: &Sourced<T>, unit: &'static str) -> SettingRow {
            SettingRow {
                name,
                value: s.value.to_string(),
                unit,
                source: s.source.clone(),
            }
        }
        vec![
            row("worker_pool_size_core", &self.worker_pool_core, ""),
            row("worker_pool_size_max", &self.worker_pool_max, ""),
            row("worker_pool_queue_length", &self.worker_queue_length, ""),
            row("worker_thread_keepalive_sec", &self.worker_keepalive_s, "s"),
            row("io_threads_per_reactor", &self.io_threads, ""),
            row("io_buffer_size", &self.io_buffer_size, "B"),
            row("http.socket.timeout", &self.socket_timeout_ms, "ms"),
            row(
                "http.max.connection.per.host.port",
                &self.max_conn_per_host_port,
                "",
            ),
            row(
                "synapse.global_timeout_interval",
                &self.global_timeout_ms,
                "ms",
            ),
            row("gateway token cache", &self.gateway_token_cache, ""),
            row("token cache expiry", &self.token_cache_expiry_ms, "ms"),
            row("key manager token cache", &self.km_token_cache, ""),
            row("resource cache", &self.resource_cache, ""),
            row("cache capacity", &self.cache_capacity, "entries"),
        ]
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SettingRow {
    pub name: &'static str,
    pub value: String,
    /// `ms`, `s`, `B`, `entries`, or empty.
    pub unit: &'static str,
    pub source: String,
}

impl SettingRow {
    /// `180000 ms`, `true`.
    pub fn display(&self) -> String {
        if self.unit.is_empty() {
            self.value.clone()
        } else {
            format!("{} {}", self.value, self.unit)
        }
    }
}

/// The bench around the gateway: not API-M settings, the conditions of the test.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Where the gateway listens (loopback only; port 0 picks one).
    pub listen: SocketAddr,
    /// Where the embedded backend listens; ignored when `external_backend` is set.
    pub backend_listen: SocketAddr,
    /// Proxy to this loopback backend instead of starting the embedded one.
    pub external_backend: Option<SocketAddr>,
    /// Cost of one key-validation call that misses every cache (a database lookup).
    pub km_latency: Duration,
    /// How long the embedded backend takes to answer.
    pub backend_delay: Duration,
    /// Response body size of the embedded backend, bytes.
    pub payload: usize,
    /// Active tokens seeded in the token store (expired and revoked ones are added beside them).
    pub tokens: usize,
    /// Runtime worker threads, overriding `io_threads` (benchmarks pin it to 1).
    pub worker_threads: Option<usize>,
}

/// One database round trip of the key manager: a primary-key lookup on IDN_OAUTH2_ACCESS_TOKEN
/// over a LAN plus the key manager's own HTTP hop is in the low milliseconds.
pub const DEFAULT_KM_LATENCY: Duration = Duration::from_millis(2);

impl Default for BenchOptions {
    fn default() -> BenchOptions {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        BenchOptions {
            listen: loopback,
            backend_listen: loopback,
            external_backend: None,
            km_latency: DEFAULT_KM_LATENCY,
            backend_delay: Duration::ZERO,
            payload: 1024,
            tokens: 1000,
            worker_threads: None,
        }
    }
}
