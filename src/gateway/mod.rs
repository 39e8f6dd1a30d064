//! The embedded gateway runtime: a pass-through API gateway with token validation, a token
//! cache, a resource cache, a key-validation service and a backend, configured from the API-M
//! settings the audit reads, plus a load generator to measure what those settings do.
//!
//! The only module that uses tokio and hyper. Its surface is synchronous: each entry point
//! builds its own runtime, so the rest of the tool stays plain blocking code. Everything binds
//! loopback addresses only, and every load is bounded in requests and time.

mod apis;
mod backend;
mod cache;
mod capacity;
pub mod checks;
mod driven;
mod http1;
mod keymanager;
pub mod load;
mod proxy;
mod server;
pub mod settings;
pub mod stats;
pub mod tokens;
mod upstream;
pub mod validate;
mod worker_pool;
mod workload;

pub use apis::{APIS, Api, Resource};
pub use cache::CacheStats;
// The HTTP/1.1 response framing, reachable only for the fuzz targets in `fuzz/` (issue 15).
#[doc(hidden)]
pub use http1::{fuzz_chunked, fuzz_parse_head};
pub use proxy::GatewayStats;

use settings::{BenchOptions, GatewaySettings};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use tokens::{SeededTokens, TokenStore};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(
        "{0} is not a loopback address: the embedded runtime only listens on and connects to 127.0.0.1 or ::1"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot start the async runtime")]
    Runtime(#[source] io::Error),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Load(#[from] load::LoadError),
}

/// How long a stop waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A current-thread runtime with timers, for this module's unit tests (tokio stays in here).
#[cfg(test)]
fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

fn loopback(addr: SocketAddr) -> Result<SocketAddr, GatewayError> {
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(GatewayError::NotLoopback(addr))
    }
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, GatewayError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| GatewayError::Bind { addr, source })
}

/// A backend, a key manager and a gateway running on their own threads until stopped.
///
/// The backend gets a runtime of its own so that the gateway's threads (`io_threads`) are
/// spent on the gateway alone, as on a real node.
pub struct Running {
    gateway_rt: driven::Driven,
    backend_rt: Option<driven::Driven>,
    gateway: Arc<proxy::Gateway>,
    gateway_listener: Option<server::Listener>,
    backend_listener: Option<server::Listener>,
    pub addr: SocketAddr,
    pub backend_addr: SocketAddr,
    pub tokens: SeededTokens,
    /// Accept errors counted by a listener already stopped.
    accept_errors_seen: u64,
}

impl Running {
    pub fn start(
        settings: &GatewaySettings,
        bench: &BenchOptions,
    ) -> Result<Running, GatewayError> {
        loopback(bench.listen)?;
        let (backend_rt, backend_listener, backend_addr) = match bench.external_backend {
            Some(addr) => (None, None, loopback(addr)?),
            None => {
                let rt = driven::Driven::new(1, "apim-tune-backend")?;
                let listener = start_backend(&rt, bench, BACKEND_GRACE_AFTER_GATEWAY)?;
                let addr = listener.addr;
                (Some(rt), Some(listener), addr)
            }
        };
        let threads = bench
            .worker_threads
            .unwrap_or(settings.io_threads.value as usize);
        let gateway_rt = driven::Driven::new(threads.clamp(1, 256), "apim-tune-gateway")?;
        let (store, tokens) = TokenStore::seeded(bench.tokens);
        let km_cache = settings.km_token_cache.value.then(|| {
            cache::CountingCache::new(
                settings.cache_capacity.value,
                Duration::from_millis(settings.token_cache_expiry_ms.value),
            )
        });
        let (gateway, gateway_listener) = gateway_rt.block_on(async {
            let km = Arc::new(keymanager::KeyManager::new(
                Arc::new(store),
                km_cache,
                bench.km_latency,
            ));
            let gateway = Arc::new(proxy::Gateway::new(settings, km, backend_addr));
            let listener = bind(bench.listen).await?;
            let g = Arc::clone(&gateway);
            let served = server::serve(
                listener,
                conn_options(settings),
                SHUTDOWN_GRACE,
                move |req| Arc::clone(&g).handle(req),
            )
            .map_err(|source| GatewayError::Bind {
                addr: bench.listen,
                source,
            })?;
            Ok::<_, GatewayError>((gateway, served))
        })?;
        Ok(Running {
            addr: gateway_listener.addr,
            gateway_rt,
            backend_rt,
            gateway,
            gateway_listener: Some(gateway_listener),
            backend_listener,
            backend_addr,
            tokens,
            accept_errors_seen: 0,
        })
    }

    /// Connections the gateway failed to accept (EMFILE among them).
    pub fn accept_errors(&self) -> u64 {
        self.gateway_listener.as_ref().map_or(0, |l| {
            l.accept_errors.load(std::sync::atomic::Ordering::Relaxed)
        })
    }

    /// The gateway's counters, with the caches' pending maintenance run first.
    pub fn stats(&self) -> proxy::GatewayStats {
        self.gateway_rt.block_on(self.gateway.settle());
        self.gateway.stats()
    }

    /// Starts catching SIGINT and SIGTERM; call before telling anyone the gateway is up.
    pub fn arm_signals(&self) -> Result<Signals, GatewayError> {
        Signals::arm(&self.gateway_rt)
    }

    /// Blocks until one of `signals` arrives or `limit` has passed.
    pub fn wait_for_signal(&self, signals: Signals, limit: Option<Duration>) {
        self.gateway_rt.block_on(signals.wait(limit));
    }

    /// [`Running::shutdown`], then the gateway's counters, which now include every request
    /// that was still in flight.
    pub fn finish(mut self) -> proxy::GatewayStats {
        self.stop_listeners();
        let mut stats = self.stats();
        stats.accept_errors = self.accept_errors_seen;
        stats
    }

    /// Stops accepting connections, lets requests in flight finish (up to the grace period),
    /// then stops the threads.
    pub fn shutdown(mut self) {
        self.stop_listeners();
    }

    fn stop_listeners(&mut self) {
        if let Some(l) = self.gateway_listener.take() {
            self.accept_errors_seen = l.accept_errors.load(std::sync::atomic::Ordering::Relaxed);
            self.gateway_rt.block_on(l.stop());
        }
        if let (Some(rt), Some(l)) = (&self.backend_rt, self.backend_listener.take()) {
            rt.block_on(l.stop());
        }
        // Dropping the runtimes stops their threads.
    }
}

/// SIGINT (Ctrl-C) and SIGTERM, caught from the moment this exists: a signal that arrives
/// while the CLI is still printing its banner is not lost (nor does it kill the process).
pub struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn arm(rt: &driven::Driven) -> Result<Signals, GatewayError> {
        use tokio::signal::unix::{SignalKind, signal};
        rt.block_on(async {
            Ok(Signals {
                int: signal(SignalKind::interrupt()).map_err(GatewayError::Runtime)?,
                term: signal(SignalKind::terminate()).map_err(GatewayError::Runtime)?,
            })
        })
    }

    /// A signal, or the end of `limit`, whichever comes first.
    async fn wait(mut self, limit: Option<Duration>) {
        let deadline = async {
            match limit {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
            _ = deadline => {}
        }
    }
}

fn conn_options(settings: &GatewaySettings) -> server::ConnOptions {
    server::ConnOptions {
        max_buf_size: settings.io_buffer_size.value,
        header_read_timeout: settings.socket_timeout(),
    }
}

/// The backend's own connection handling: generous, so the gateway is what is measured.
const BACKEND_CONN: server::ConnOptions = server::ConnOptions {
    max_buf_size: 16384,
    header_read_timeout: Some(Duration::from_secs(300)),
};

/// After the gateway's grace period its requests to the backend are over or abandoned: the
/// embedded backend then needs little of its own.
const BACKEND_GRACE_AFTER_GATEWAY: Duration = Duration::from_secs(1);

fn start_backend(
    rt: &driven::Driven,
    bench: &BenchOptions,
    grace: Duration,
) -> Result<server::Listener, GatewayError> {
    let addr = loopback(bench.backend_listen)?;
    let app = Arc::new(backend::Backend::new(bench.payload, bench.backend_delay));
    rt.block_on(async {
        let listener = bind(addr).await?;
        server::serve(listener, BACKEND_CONN, grace, move |req| {
            Arc::clone(&app).handle(req)
        })
        .map_err(|source| GatewayError::Bind { addr, source })
    })
}

/// The embedded backend alone (`apim-tune backend`), for measuring other proxies against it.
pub struct RunningBackend {
    rt: driven::Driven,
    listener: Option<server::Listener>,
    pub addr: SocketAddr,
}

impl RunningBackend {
    pub fn start(
        listen: SocketAddr,
        payload: usize,
        delay: Duration,
        threads: usize,
    ) -> Result<RunningBackend, GatewayError> {
        let rt = driven::Driven::new(threads, "apim-tune-backend")?;
        let bench = BenchOptions {
            backend_listen: listen,
            payload,
            backend_delay: delay,
            ..BenchOptions::default()
        };
        let listener = start_backend(&rt, &bench, SHUTDOWN_GRACE)?;
        Ok(RunningBackend {
            addr: listener.addr,
            rt,
            listener: Some(listener),
        })
    }

    /// Starts catching SIGINT and SIGTERM; call before telling anyone the backend is up.
    pub fn arm_signals(&self) -> Result<Signals, GatewayError> {
        Signals::arm(&self.rt)
    }

    /// Blocks until one of `signals` arrives or `limit` has passed.
    pub fn wait_for_signal(&self, signals: Signals, limit: Option<Duration>) {
        self.rt.block_on(signals.wait(limit));
    }

    pub fn shutdown(mut self) {
        if let Some(l) = self.listener.take() {
            self.rt.block_on(l.stop());
        }
    }
}

use capacity::hold_connections;

/// [`run_load`], sampling this process's open files and memory meanwhile.
pub fn run_load_sampled(
    spec: &load::LoadSpec,
    threads: usize,
    progress: Arc<AtomicU64>,
) -> Result<(load::LoadResult, stats::ProcessPeaks), GatewayError> {
    let sampler = stats::ProcessSampler::start(Duration::from_millis(100));
    let result = run_load(spec, threads, progress);
    let peaks = sampler.stop();
    Ok((result?, peaks))
}

/// Runs a bounded load against a loopback address on a runtime of `threads` threads of its own.
pub fn run_load(
    spec: &load::LoadSpec,
    threads: usize,
    progress: Arc<AtomicU64>,
) -> Result<load::LoadResult, GatewayError> {
    loopback(spec.target)?;
    let rt = driven::build(threads, "apim-tune-load")?;
    let result = rt.block_on(load::run(spec, progress))?;
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(result)
}
