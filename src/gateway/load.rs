//! A built-in HTTP/1.1 load generator for driving the embedded gateway on loopback.
//!
//! It is a small hand-written keep-alive client rather than hyper's, because the hot path of a
//! load generator is "write the same bytes, find where the response ends" and nothing else: every
//! request is serialised once up front, responses are parsed in place with `httparse` and their
//! bodies are skipped without being copied. One task drives one connection, so a single tokio
//! worker can keep dozens of connections busy, as `wrk` does with its event loop.
//!
//! Two load models are supported:
//! - closed loop (no rate): each connection sends its next request as soon as the previous
//!   response is complete; latency is measured from the start of the write.
//! - open model (`rate`): each connection follows a fixed schedule and latency is measured from
//!   the *intended* send time, so a stalled server is charged for the requests it delayed. This is
//!   the coordinated-omission correction of wrk2. See: <https://github.com/giltene/wrk2>

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::http1::{ReadBuf, read_body, read_head};
use super::stats::{self, ErrorCounts, Latency, classify_io};

/// How long a connection task waits after a failed connect, so a refused port costs a few
/// hundred attempts per second instead of a busy loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// Latencies are recorded into a per-connection batch and merged into the shared histogram when
/// the batch fills, so the lock is taken once per this many responses.
const LATENCY_BATCH: usize = 256;

/// One request the generator sends, pre-serialised once (method, path, Host header, extra headers,
/// body with Content-Length).
///
/// A `Host` header is added unless `headers` has one. `Content-Length` and `Transfer-Encoding`
/// entries in `headers` are ignored: the body is always sent whole with a computed length.
#[derive(Clone, Debug)]
pub struct RequestTemplate {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: bytes::Bytes,
}

impl RequestTemplate {
    /// A `GET` of `path` with no extra headers.
    pub fn get(path: impl Into<String>) -> RequestTemplate {
        RequestTemplate {
            method: "GET".to_owned(),
            path: path.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Checks the parts that would otherwise corrupt the request stream (a CR or LF in a header
    /// value starts a new header, a space in the path ends the request target).
    fn validate(&self, index: usize) -> Result<(), LoadError> {
        let bad = |what| Err(LoadError::BadTemplate { index, what });
        if !is_token(&self.method) {
            return bad("method");
        }
        if self.path.is_empty() || self.path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return bad("path");
        }
        for (name, value) in &self.headers {
            if !is_token(name) {
                return bad("header name");
            }
            if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
                return bad("header value");
            }
        }
        Ok(())
    }

    /// The exact bytes sent on the wire for this template.
    pub(super) fn serialize(&self, host: &str) -> Bytes {
        let mut out = BytesMut::with_capacity(128 + self.path.len() + self.body.len());
        put_all(&mut out, &[&self.method, " ", &self.path, " HTTP/1.1\r\n"]);
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("host"))
        {
            put_all(&mut out, &["Host: ", host, "\r\n"]);
        }
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding")
            {
                continue;
            }
            put_all(&mut out, &[name, ": ", value, "\r\n"]);
        }
        // Methods whose semantics include a body get an explicit zero length, as curl does, so
        // servers that insist on a length for POST/PUT/PATCH do not answer 411.
        let body_method = matches!(self.method.as_str(), "POST" | "PUT" | "PATCH");
        if !self.body.is_empty() || body_method {
            put_all(
                &mut out,
                &["Content-Length: ", &self.body.len().to_string(), "\r\n"],
            );
        }
        out.put_slice(b"\r\n");
        out.put_slice(&self.body);
        out.freeze()
    }
}

fn put_all(out: &mut BytesMut, parts: &[&str]) {
    for part in parts {
        out.put_slice(part.as_bytes());
    }
}

/// RFC 9110 `token`: what a method or a header name may contain.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// What to send, where, and for how long.
pub struct LoadSpec {
    /// MUST be loopback: [`run`] returns [`LoadError::NotLoopback`] otherwise.
    pub target: std::net::SocketAddr,
    /// Connection `c` sends its `k`-th request from `templates[(c + k * connections) % len]`, so
    /// consecutive templates (for example distinct tokens) land on different connections.
    pub templates: Vec<RequestTemplate>,
    /// Number of concurrent keep-alive connections, at least 1.
    pub connections: usize,
    /// Hard bound: no request is started after this much time.
    pub duration: std::time::Duration,
    /// Hard bound on requests started, across all connections. A failed connect uses up a
    /// request too, so a dead target ends the run instead of retrying until the deadline.
    pub max_requests: Option<u64>,
    /// Total requests per second (open model); `None` = closed loop as fast as possible.
    pub rate: Option<f64>,
    /// Per-request client timeout, also applied to each connect.
    pub timeout: std::time::Duration,
}

/// What a run measured.
#[derive(Debug)]
pub struct LoadResult {
    /// Requests written (or being written) to a connection. Failed connects are not included.
    pub sent: u64,
    /// Requests that got a full response, whatever its status.
    pub completed: u64,
    /// From the start of the run to the last completed response (to the end of the run if no
    /// response completed).
    pub elapsed: std::time::Duration,
    /// Latency of completed responses.
    pub latency: stats::Latency,
    /// 4xx/5xx responses by status, plus timeouts, connect, fd exhaustion and I/O failures.
    pub errors: stats::ErrorCounts,
    /// Completed responses by status code.
    pub status: std::collections::BTreeMap<u16, u64>,
}

impl LoadResult {
    /// Completed responses per second of `elapsed`.
    pub fn throughput_rps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.completed as f64 / secs
        } else {
            0.0
        }
    }
}

/// Why a load run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "load target `{0}` is not a loopback address\n(hint: the built-in load generator only drives a gateway on this host)"
    )]
    NotLoopback(SocketAddr),
    #[error("no request templates to send")]
    NoTemplates,
    /// A count or duration that must be positive is zero (or, for `rate`, not a positive number).
    #[error("`{0}` must be greater than zero")]
    Zero(&'static str),
    /// A template would produce a malformed request.
    #[error("request template {index} has an invalid {what}")]
    BadTemplate { index: usize, what: &'static str },
}

/// Runs the load; `progress` is incremented once per completed or failed request so a caller on
/// another thread can draw a bar.
///
/// Connection tasks are spawned on the current runtime; how many worker threads drive them is the
/// caller's choice. Dropping the returned future aborts them.
pub(super) async fn run(
    spec: &LoadSpec,
    progress: Arc<AtomicU64>,
) -> Result<LoadResult, LoadError> {
    let shared = Arc::new(Shared::new(spec, progress)?);
    let mut tasks = JoinSet::new();
    for index in 0..spec.connections {
        tasks.spawn(drive(Arc::clone(&shared), index));
    }
    let mut total = ConnReport::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(report) => total.merge(report),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Cancelled: the runtime is shutting down and nobody will read the result.
            Err(_) => {}
        }
    }
    let ended = total.last_completion.unwrap_or_else(Instant::now);
    let latency = std::mem::take(&mut *lock(&shared.latency));
    Ok(LoadResult {
        sent: total.sent,
        completed: total.completed,
        elapsed: ended.saturating_duration_since(shared.start),
        latency,
        errors: total.errors,
        status: total.status,
    })
}

/// A template ready to go on the wire.
struct Request {
    bytes: Bytes,
    /// Responses to HEAD have no body whatever their headers say.
    is_head: bool,
}

/// State every connection task reads, plus the two counters they share.
struct Shared {
    target: SocketAddr,
    requests: Vec<Request>,
    connections: usize,
    start: Instant,
    deadline: Instant,
    timeout: Duration,
    /// Seconds between two requests of one connection, in the open model.
    interval: Option<f64>,
    budget: Option<u64>,
    claimed: AtomicU64,
    progress: Arc<AtomicU64>,
    latency: Mutex<Latency>,
}

impl Shared {
    fn new(spec: &LoadSpec, progress: Arc<AtomicU64>) -> Result<Shared, LoadError> {
        if !spec.target.ip().is_loopback() {
            return Err(LoadError::NotLoopback(spec.target));
        }
        if spec.templates.is_empty() {
            return Err(LoadError::NoTemplates);
        }
        for (name, zero) in [
            ("connections", spec.connections == 0),
            ("duration", spec.duration.is_zero()),
            ("timeout", spec.timeout.is_zero()),
            ("max_requests", spec.max_requests == Some(0)),
            (
                "rate",
                spec.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())),
            ),
        ] {
            if zero {
                return Err(LoadError::Zero(name));
            }
        }
        let host = spec.target.to_string();
        let mut requests = Vec::with_capacity(spec.templates.len());
        for (index, template) in spec.templates.iter().enumerate() {
            template.validate(index)?;
            requests.push(Request {
                bytes: template.serialize(&host),
                is_head: template.method == "HEAD",
            });
        }
        let start = Instant::now();
        Ok(Shared {
            target: spec.target,
            requests,
            connections: spec.connections,
            start,
            deadline: far_add(start, spec.duration),
            timeout: spec.timeout,
            interval: spec.rate.map(|rate| spec.connections as f64 / rate),
            budget: spec.max_requests,
            claimed: AtomicU64::new(0),
            progress,
            latency: Mutex::new(Latency::new()),
        })
    }

    /// Claims one request slot from the budget; `false` once it is spent.
    fn claim(&self) -> bool {
        match self.budget {
            None => true,
            Some(max) => self.claimed.fetch_add(1, Ordering::Relaxed) < max,
        }
    }

    /// When connection `index` should send its `k`-th request in the open model, or `None` if
    /// that is past the deadline. Connection `c` is offset by `c / rate` so the connections take
    /// turns instead of all firing at once every interval.
    fn intended(&self, interval: f64, index: usize, k: u64) -> Option<Instant> {
        let offset = index as f64 * interval / self.connections as f64 + k as f64 * interval;
        let at = self
            .start
            .checked_add(Duration::try_from_secs_f64(offset).ok()?)?;
        (at < self.deadline).then_some(at)
    }

    fn tick_progress(&self) {
        self.progress.fetch_add(1, Ordering::Relaxed);
    }
}

/// `at + d`, or a point decades away when that overflows, so `Duration::MAX` means "no limit".
fn far_add(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(at)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What one connection task counted.
#[derive(Default)]
struct ConnReport {
    sent: u64,
    completed: u64,
    errors: ErrorCounts,
    status: BTreeMap<u16, u64>,
    last_completion: Option<Instant>,
}

impl ConnReport {
    fn merge(&mut self, other: ConnReport) {
        self.sent += other.sent;
        self.completed += other.completed;
        self.errors.add(&other.errors);
        for (status, n) in other.status {
            *self.status.entry(status).or_insert(0) += n;
        }
        self.last_completion = self.last_completion.max(other.last_completion);
    }
}

/// Latencies in microseconds waiting to be merged into the shared histogram.
struct LatencyBatch<'a> {
    into: &'a Mutex<Latency>,
    pending: Vec<u64>,
}

impl<'a> LatencyBatch<'a> {
    fn new(into: &'a Mutex<Latency>) -> Self {
        LatencyBatch {
            into,
            pending: Vec::with_capacity(LATENCY_BATCH),
        }
    }

    fn record(&mut self, d: Duration) {
        self.pending
            .push(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        if self.pending.len() == LATENCY_BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let mut latency = lock(self.into);
        for &us in &self.pending {
            latency.record_us(us);
        }
        self.pending.clear();
    }
}

/// One connection's task: claim a request, send it, read the response, repeat until the
/// deadline or the budget ends the run.
async fn drive(shared: Arc<Shared>, index: usize) -> ConnReport {
    let mut report = ConnReport::default();
    let mut latencies = LatencyBatch::new(&shared.latency);
    let mut conn = Conn::new();
    let len = shared.requests.len();
    let step = shared.connections % len;
    let mut template = index % len;
    // One timer reused for every request: pushing its deadline later is a single atomic update
    // in tokio, where a fresh `timeout()` per request would insert into and remove from the
    // timer wheel each time.
    let mut timer = pin!(tokio::time::sleep_until(shared.deadline));
    let mut pacer = pin!(tokio::time::sleep_until(shared.start));

    for k in 0u64.. {
        // In the open model, latency counts from the intended send time only when this
        // connection is behind schedule, i.e. when a slow response held the request back. A
        // connection that is ahead sleeps, and the timer's 1 ms granularity must not be charged
        // to the server, so it counts from the actual send like the closed loop.
        let behind_since = match shared.interval {
            None => None,
            Some(interval) => match shared.intended(interval, index, k) {
                None => break,
                Some(at) if Instant::now() < at => {
                    pacer.as_mut().reset(at);
                    pacer.as_mut().await;
                    None
                }
                Some(at) => Some(at),
            },
        };
        let mut now = Instant::now();
        if now >= shared.deadline || !shared.claim() {
            break;
        }
        let request = &shared.requests[template];
        template += step;
        if template >= len {
            template -= len;
        }

        if !conn.is_open() {
            if let Err(e) = conn.connect(shared.target, shared.timeout).await {
                classify_io(&e, true, &mut report.errors);
                shared.tick_progress();
                let retry_at = (Instant::now() + CONNECT_BACKOFF).min(shared.deadline);
                tokio::time::sleep_until(retry_at).await;
                continue;
            }
            now = Instant::now();
        }

        let began = now;
        report.sent += 1;
        timer.as_mut().reset(began + shared.timeout);
        let outcome = tokio::select! {
            biased;
            r = conn.exchange(request) => Some(r),
            () = timer.as_mut() => None,
        };
        match outcome {
            Some(Ok(response)) => {
                let done = Instant::now();
                latencies.record(done.saturating_duration_since(behind_since.unwrap_or(began)));
                report.completed += 1;
                report.errors.count_status(response.status);
                *report.status.entry(response.status).or_insert(0) += 1;
                report.last_completion = Some(done);
                if response.close {
                    conn.close();
                }
            }
            Some(Err(e)) => {
                classify_io(&e, false, &mut report.errors);
                conn.close();
            }
            None => {
                report.errors.timeouts += 1;
                // The response may still arrive; the connection cannot be reused after it.
                conn.close();
            }
        }
        shared.tick_progress();
    }
    latencies.flush();
    report
}

/// A completed response.
#[derive(Clone, Copy, Debug)]
struct Response {
    status: u16,
    close: bool,
}

/// One keep-alive connection and its read buffer. The buffer outlives reconnects so a connection
/// that is closed after every response does not allocate for every request.
struct Conn {
    stream: Option<TcpStream>,
    buf: ReadBuf,
}

impl Conn {
    fn new() -> Conn {
        Conn {
            stream: None,
            buf: ReadBuf::new(),
        }
    }

    fn is_open(&self) -> bool {
        self.stream.is_some()
    }

    fn close(&mut self) {
        self.stream = None;
        self.buf.clear();
    }

    async fn connect(&mut self, target: SocketAddr, timeout: Duration) -> io::Result<()> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(target))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        // Requests are written in one piece; Nagle would only hold back the rare split write.
        stream.set_nodelay(true)?;
        self.buf.clear();
        self.stream = Some(stream);
        Ok(())
    }

    /// Writes one request and reads its response to the end.
    async fn exchange(&mut self, request: &Request) -> io::Result<Response> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        stream.write_all(&request.bytes).await?;
        let head = read_head(stream, &mut self.buf, request.is_head, None).await?;
        read_body(stream, &mut self.buf, head.body, None, 0).await?;
        Ok(Response {
            status: head.status,
            close: head.close,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::http1::READ_BUFFER;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// What the test server does with one request.
    enum Reply {
        /// Write these bytes and keep the connection open.
        Keep(Vec<u8>),
        /// Write these bytes, then close the connection.
        Close(Vec<u8>),
        /// Write these bytes after a delay and keep the connection open.
        Delayed(Duration, Vec<u8>),
        /// Never answer.
        Never,
    }

    type Responder = Arc<dyn Fn(&str) -> Reply + Send + Sync>;

    /// A raw HTTP/1.1 server on an ephemeral loopback port that answers fixed bytes, counts
    /// accepted connections and records `(connection number, path)` for every request.
    struct TestServer {
        addr: SocketAddr,
        accepted: Arc<AtomicU64>,
        seen: Arc<Mutex<Vec<(u64, String)>>>,
    }

    async fn server(respond: impl Fn(&str) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let respond: Responder = Arc::new(respond);
        let (a, s) = (Arc::clone(&accepted), Arc::clone(&seen));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let id = a.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, id, Arc::clone(&respond), Arc::clone(&s)));
            }
        });
        TestServer {
            addr,
            accepted,
            seen,
        }
    }

    async fn serve(
        mut stream: TcpStream,
        id: u64,
        respond: Responder,
        seen: Arc<Mutex<Vec<(u64, String)>>>,
    ) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                continue;
            };
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let body_len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .map_or(0, |v| v.parse().unwrap());
            while buf.len() < end + 4 + body_len {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            buf.drain(..end + 4 + body_len);
            let path = head.split(' ').nth(1).unwrap().to_owned();
            seen.lock().unwrap().push((id, path.clone()));
            let written = match respond(&path) {
                Reply::Keep(bytes) => stream.write_all(&bytes).await,
                Reply::Close(bytes) => {
                    let _ = stream.write_all(&bytes).await;
                    return;
                }
                Reply::Delayed(delay, bytes) => {
                    tokio::time::sleep(delay).await;
                    stream.write_all(&bytes).await
                }
                Reply::Never => {
                    while stream.read(&mut chunk).await.is_ok_and(|n| n > 0) {}
                    return;
                }
            };
            if written.is_err() {
                return;
            }
        }
    }

    fn ok_with_body(body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 200 OK\r\nServer: test\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn spec(target: SocketAddr, connections: usize, max_requests: Option<u64>) -> LoadSpec {
        LoadSpec {
            target,
            templates: vec![RequestTemplate::get("/")],
            connections,
            duration: Duration::from_secs(5),
            max_requests,
            rate: None,
            timeout: Duration::from_secs(2),
        }
    }

    async fn run_ok(spec: &LoadSpec) -> (LoadResult, u64) {
        let progress = Arc::new(AtomicU64::new(0));
        let result = run(spec, Arc::clone(&progress)).await.unwrap();
        (result, progress.load(Ordering::SeqCst))
    }

    /// A port nothing listens on: bound once to get a free number, then released.
    async fn closed_port() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    }

    #[tokio::test]
    async fn content_length_responses_reuse_connections() {
        let srv = server(|_| Reply::Keep(ok_with_body("hello"))).await;
        let (r, progress) = run_ok(&spec(srv.addr, 4, Some(200))).await;
        assert_eq!((r.sent, r.completed, progress), (200, 200, 200));
        assert_eq!(r.status, BTreeMap::from([(200, 200)]));
        assert_eq!(r.errors, ErrorCounts::default());
        assert_eq!(r.latency.count(), 200);
        assert!(r.throughput_rps() > 0.0);
        assert_eq!(srv.accepted.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn bodies_larger_than_the_read_buffer_are_skipped_whole() {
        let body = "x".repeat(5 * READ_BUFFER + 17);
        let srv = server(move |_| Reply::Keep(ok_with_body(&body))).await;
        let (r, _) = run_ok(&spec(srv.addr, 2, Some(20))).await;
        assert_eq!(r.completed, 20);
        assert_eq!(r.errors.total(), 0);
        assert_eq!(srv.accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn chunked_responses_are_read_to_the_end() {
        let big = "y".repeat(3 * READ_BUFFER);
        let srv = server(move |_| {
            let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec();
            r.extend_from_slice(b"5;name=value\r\nhello\r\n");
            r.extend_from_slice(format!("{:X}\r\n{big}\r\n", big.len()).as_bytes());
            r.extend_from_slice(b"0\r\nX-Trailer: yes\r\n\r\n");
            Reply::Keep(r)
        })
        .await;
        let (r, _) = run_ok(&spec(srv.addr, 1, Some(30))).await;
        assert_eq!((r.sent, r.completed), (30, 30));
        assert_eq!(r.errors.total(), 0);
        // A body read short or long would corrupt the next response on the same connection.
        assert_eq!(srv.accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn connection_close_forces_a_reconnect_per_request() {
        let srv = server(|_| {
            Reply::Close(
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            )
        })
        .await;
        let (r, _) = run_ok(&spec(srv.addr, 1, Some(10))).await;
        assert_eq!(r.completed, 10);
        assert_eq!(r.errors.total(), 0);
        assert_eq!(srv.accepted.load(Ordering::SeqCst), 10);
    }

    #[tokio::test]
    async fn a_body_without_length_runs_to_the_close() {
        let srv = server(|_| Reply::Close(b"HTTP/1.0 200 OK\r\n\r\nuntil the end".to_vec())).await;
        let (r, _) = run_ok(&spec(srv.addr, 2, Some(6))).await;
        assert_eq!(r.completed, 6);
        assert_eq!(r.errors.total(), 0);
        assert_eq!(srv.accepted.load(Ordering::SeqCst), 6);
    }

    #[tokio::test]
    async fn statuses_are_counted_and_classified() {
        let srv = server(|path| {
            let status = match path {
                "/missing" => "404 Not Found",
                "/down" => "503 Service Unavailable",
                _ => "201 Created",
            };
            Reply::Keep(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").into_bytes())
        })
        .await;
        let mut s = spec(srv.addr, 1, Some(9));
        s.templates = ["/missing", "/down", "/"]
            .into_iter()
            .map(RequestTemplate::get)
            .collect();
        let (r, _) = run_ok(&s).await;
        assert_eq!(r.completed, 9);
        assert_eq!(r.status, BTreeMap::from([(201, 3), (404, 3), (503, 3)]));
        assert_eq!(
            r.errors,
            ErrorCounts {
                status_4xx: 3,
                status_5xx: 3,
                ..ErrorCounts::default()
            }
        );
    }

    #[tokio::test]
    async fn unanswered_requests_time_out_and_reconnect() {
        let srv = server(|_| Reply::Never).await;
        let mut s = spec(srv.addr, 1, Some(3));
        s.timeout = Duration::from_millis(50);
        let (r, progress) = run_ok(&s).await;
        assert_eq!((r.sent, r.completed, progress), (3, 0, 3));
        assert_eq!(r.errors.timeouts, 3);
        assert_eq!(r.errors.total(), 3);
        assert_eq!(r.latency.count(), 0);
        assert_eq!(srv.accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_closed_port_counts_connect_errors_without_spinning() {
        let mut s = spec(closed_port().await, 2, None);
        s.duration = Duration::from_millis(200);
        let started = std::time::Instant::now();
        let (r, progress) = run_ok(&s).await;
        // Bounded by its duration, not by the failures (loose: a loaded machine is slow).
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!((r.sent, r.completed), (0, 0));
        assert!(r.errors.connect >= 2, "{:?}", r.errors);
        // 200 ms at one attempt per 10 ms backoff is at most about 20 per connection.
        assert!(r.errors.connect <= 2 * 22, "{:?}", r.errors);
        assert_eq!(r.errors.total(), r.errors.connect);
        assert_eq!(progress, r.errors.connect);
    }

    #[tokio::test]
    async fn a_closed_port_uses_up_the_request_budget() {
        let (r, progress) = run_ok(&spec(closed_port().await, 3, Some(5))).await;
        assert_eq!(r.errors.connect, 5);
        assert_eq!((r.sent, progress), (0, 5));
    }

    #[tokio::test]
    async fn max_requests_is_respected_exactly() {
        let srv = server(|_| Reply::Keep(ok_with_body("{}"))).await;
        let (r, progress) = run_ok(&spec(srv.addr, 7, Some(1000))).await;
        assert_eq!((r.sent, r.completed, progress), (1000, 1000, 1000));
        assert_eq!(srv.seen.lock().unwrap().len(), 1000);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn max_requests_is_exact_across_worker_threads() {
        let srv = server(|_| Reply::Keep(ok_with_body("{}"))).await;
        let (r, progress) = run_ok(&spec(srv.addr, 16, Some(2000))).await;
        assert_eq!((r.sent, r.completed, progress), (2000, 2000, 2000));
        assert_eq!(r.latency.count(), 2000);
    }

    #[tokio::test]
    async fn rate_mode_sends_about_rate_times_duration() {
        let srv = server(|_| Reply::Keep(ok_with_body("ok"))).await;
        let mut s = spec(srv.addr, 4, None);
        s.rate = Some(200.0);
        s.duration = Duration::from_millis(300);
        let (r, _) = run_ok(&s).await;
        // 60 requests are scheduled before the deadline; a late connection catches up rather
        // than skipping, so the count can only fall short if the whole run stalls.
        assert!(r.sent <= 60 + 4, "sent {}", r.sent);
        assert!(r.sent >= 30, "sent {}", r.sent);
        assert_eq!(r.completed, r.sent);
    }

    #[tokio::test]
    async fn rate_mode_charges_a_slow_server_for_the_queue_it_causes() {
        let slow = || Reply::Delayed(Duration::from_millis(50), ok_with_body("slow"));
        let srv = server(move |_| slow()).await;
        let mut s = spec(srv.addr, 1, None);
        s.duration = Duration::from_millis(400);
        s.rate = Some(100.0);
        let (open, _) = run_ok(&s).await;
        // Requests are due every 10 ms but take 50 ms each, so the third is sent at least 80 ms
        // after it was due and its latency, counted from that due time, is at least 130 ms.
        assert!(open.completed >= 3, "{open:?}");
        assert!(open.latency.max_ms() >= 130.0, "{}", open.latency.max_ms());
        s.rate = None;
        s.max_requests = Some(3);
        let (closed, _) = run_ok(&s).await;
        assert!(closed.latency.percentile_ms(0.0) >= 50.0);
    }

    #[tokio::test]
    async fn templates_rotate_across_connections() {
        let srv = server(|_| Reply::Keep(ok_with_body("ok"))).await;
        let mut s = spec(srv.addr, 3, Some(30));
        s.templates = (0..5)
            .map(|i| RequestTemplate::get(format!("/{i}")))
            .collect();
        let (r, _) = run_ok(&s).await;
        assert_eq!(r.completed, 30);
        let mut per_conn: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (conn, path) in srv.seen.lock().unwrap().iter() {
            per_conn
                .entry(*conn)
                .or_default()
                .push(path[1..].parse().unwrap());
        }
        let mut firsts: Vec<usize> = per_conn.values().map(|paths| paths[0]).collect();
        firsts.sort_unstable();
        assert_eq!(firsts, [0, 1, 2], "{per_conn:?}");
        for paths in per_conn.values() {
            for pair in paths.windows(2) {
                assert_eq!(pair[1], (pair[0] + 3) % 5, "{per_conn:?}");
            }
        }
    }

    #[tokio::test]
    async fn garbage_responses_count_as_io_errors() {
        let srv = server(|_| Reply::Keep(b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec())).await;
        let (r, _) = run_ok(&spec(srv.addr, 1, Some(4))).await;
        assert_eq!((r.sent, r.completed), (4, 0));
        assert_eq!(r.errors.io, 4);
        assert_eq!(srv.accepted.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn invalid_specs_are_rejected_before_any_connection() {
        let progress = Arc::new(AtomicU64::new(0));
        let loopback = SocketAddr::from(([127, 0, 0, 1], 9));
        let remote = SocketAddr::from(([10, 0, 0, 1], 80));
        let check = |s: LoadSpec| {
            let progress = Arc::clone(&progress);
            async move { run(&s, progress).await.unwrap_err().to_string() }
        };

        let err = check(spec(remote, 1, None)).await;
        assert!(err.starts_with("load target `10.0.0.1:80` is not a loopback address"));
        let v6 = check(spec("[::1]:9".parse().unwrap(), 0, None)).await;
        assert_eq!(v6, "`connections` must be greater than zero");

        let mut s = spec(loopback, 1, None);
        s.templates.clear();
        assert_eq!(check(s).await, "no request templates to send");
        let mut s = spec(loopback, 1, Some(0));
        assert_eq!(check(s).await, "`max_requests` must be greater than zero");
        s = spec(loopback, 1, None);
        s.rate = Some(f64::NAN);
        assert_eq!(check(s).await, "`rate` must be greater than zero");
        let mut s = spec(loopback, 1, None);
        s.templates[0].headers = vec![("X-A".into(), "1\r\nX-Injected: 1".into())];
        assert_eq!(
            check(s).await,
            "request template 0 has an invalid header value"
        );
        let mut s = spec(loopback, 1, None);
        s.templates[0].path = "/a b".into();
        assert_eq!(check(s).await, "request template 0 has an invalid path");
        assert_eq!(progress.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn templates_serialise_with_host_and_length() {
        let t = RequestTemplate {
            method: "POST".into(),
            path: "/token?grant=x".into(),
            headers: vec![
                ("Authorization".into(), "Bearer abc".into()),
                ("content-length".into(), "999".into()),
            ],
            body: Bytes::from_static(b"{\"a\":1}"),
        };
        assert_eq!(
            t.serialize("127.0.0.1:8243"),
            &b"POST /token?grant=x HTTP/1.1\r\nHost: 127.0.0.1:8243\r\n\
               Authorization: Bearer abc\r\nContent-Length: 7\r\n\r\n{\"a\":1}"[..]
        );
        let mut get = RequestTemplate::get("/");
        get.headers.push(("host".into(), "api.example".into()));
        assert_eq!(
            get.serialize("127.0.0.1:1"),
            &b"GET / HTTP/1.1\r\nhost: api.example\r\n\r\n"[..]
        );
    }
}
