//! The embedded gateway through real sockets on 127.0.0.1:0, with a plain blocking HTTP client
//! written here (so the gateway is not tested with its own client) and bounded request counts.
//! No assertion on how fast anything is.

use apim_tune::gateway::settings::{BenchOptions, GatewaySettings, Sourced};
use apim_tune::gateway::{GatewayError, Running};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

fn s<T>(v: T) -> Sourced<T> {
    Sourced::new(v, "test")
}

/// API-M 4.x defaults, as the catalog gives them.
fn settings() -> GatewaySettings {
    GatewaySettings {
        worker_pool_core: s(400),
        worker_pool_max: s(500),
        worker_queue_length: s(-1),
        worker_keepalive_s: s(60),
        io_threads: s(2),
        io_buffer_size: s(16384),
        socket_timeout_ms: s(180_000),
        max_conn_per_host_port: s(i32::MAX as u32),
        global_timeout_ms: s(120_000),
        gateway_token_cache: s(true),
        token_cache_expiry_ms: s(900_000),
        km_token_cache: s(false),
        resource_cache: s(true),
        cache_capacity: s(10_000),
    }
}

fn bench(tokens: usize) -> BenchOptions {
    BenchOptions {
        km_latency: Duration::ZERO,
        tokens,
        ..BenchOptions::default()
    }
}

/// A gateway with default settings in front of a loopback backend of the test's own.
fn in_front_of(backend: SocketAddr, tokens: usize) -> Running {
    Running::start(
        &settings(),
        &BenchOptions {
            external_backend: Some(backend),
            ..bench(tokens)
        },
    )
    .expect("start")
}

struct Reply {
    status: u16,
    body: String,
}

/// How long a test waits for one answer: generous, because CI runs the tests beside database
/// servers on two cores; a gateway that never answers still fails the test.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// One request on a fresh connection, `Connection: close`, read to the end.
fn call(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(ANSWER_WITHIN))
        .expect("timeout");
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .expect("the gateway answers in time");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Reply { status, body }
}

fn get(addr: SocketAddr, token: &str) -> Reply {
    call(addr, "GET", "/pizzashack/1.0.0/menu", Some(token), "")
}

fn revoke(addr: SocketAddr, token: &str) -> Reply {
    call(addr, "POST", "/revoke", None, &format!("token={token}"))
}

/// A backend that counts the requests it gets and answers `ok` (`Connection: close`).
fn counting_backend() -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn);
                let mut line = String::new();
                // Request head only: the gateway's GETs carry no body.
                while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                    if line == "\r\n" {
                        seen.fetch_add(1, Ordering::SeqCst);
                        let _ = reader.get_mut().write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        );
                        return;
                    }
                    line.clear();
                }
            });
        }
    });
    (addr, count)
}

#[test]
fn token_states_get_200_or_401_and_only_valid_ones_reach_the_backend() {
    let (backend, hits) = counting_backend();
    let running = in_front_of(backend, 5);
    let addr = running.addr;
    let t = running.tokens.clone();

    let ok = get(addr, &t.active[0]);
    assert_eq!((ok.status, ok.body.as_str()), (200, "ok"));
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    for (token, why) in [
        (t.expired[0].as_str(), "token expired"),
        (t.revoked[0].as_str(), "token revoked"),
        ("not-a-token", "unknown token"),
    ] {
        // Twice: the second answer comes from the invalid-key cache and must agree.
        for _ in 0..2 {
            let r = get(addr, token);
            assert_eq!(r.status, 401, "{token}");
            assert!(
                r.body.contains("900901") && r.body.contains(why),
                "{}",
                r.body
            );
        }
    }
    let missing = call(addr, "GET", "/pizzashack/1.0.0/menu", None, "");
    assert_eq!(missing.status, 401);
    assert!(missing.body.contains("900902"));
    let bad_scheme = {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .write_all(b"GET /pizzashack/1.0.0/menu HTTP/1.1\r\nHost: x\r\nAuthorization: Basic abc\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut text = String::new();
        stream.read_to_string(&mut text).expect("read");
        text
    };
    assert!(bad_scheme.starts_with("HTTP/1.1 401"), "{bad_scheme}");
    // None of the refused requests reached the backend.
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    running.shutdown();
}

#[test]
fn unknown_api_or_resource_is_404_and_an_unsubscribed_api_403() {
    let running = Running::start(&settings(), &bench(3)).expect("start");
    let (addr, token) = (running.addr, running.tokens.active[0].clone());
    let no_api = call(addr, "GET", "/nope/1.0.0/menu", Some(&token), "");
    assert_eq!(no_api.status, 404);
    let no_resource = call(addr, "POST", "/pizzashack/1.0.0/menu", Some(&token), "");
    assert_eq!(no_resource.status, 404);
    assert!(no_resource.body.contains("No matching resource"));
    let templated = call(addr, "GET", "/pizzashack/1.0.0/order/42", Some(&token), "");
    assert_eq!(templated.status, 200);
    assert_eq!(templated.body.len(), 1024, "the embedded backend's payload");
    let forbidden = call(addr, "GET", "/admin/1.0.0/users", Some(&token), "");
    assert_eq!(forbidden.status, 403);
    assert!(forbidden.body.contains("900908"));
    running.shutdown();
}

/// Revocation must win over every cache: gateway cache, key-manager cache, both, neither.
#[test]
fn a_revoked_token_is_refused_by_the_next_request_whatever_the_caches() {
    for (gateway_cache, km_cache) in [(true, false), (false, true), (true, true), (false, false)] {
        let mut cfg = settings();
        cfg.gateway_token_cache = s(gateway_cache);
        cfg.km_token_cache = s(km_cache);
        let running = Running::start(&cfg, &bench(5)).expect("start");
        let (addr, token) = (running.addr, running.tokens.active[1].clone());
        // Warm every cache there is.
        assert_eq!(get(addr, &token).status, 200);
        assert_eq!(get(addr, &token).status, 200);
        let r = revoke(addr, &token);
        assert_eq!((r.status, r.body.as_str()), (200, r#"{"revoked":true}"#));
        assert_eq!(
            get(addr, &token).status,
            401,
            "gateway cache {gateway_cache}, km cache {km_cache}"
        );
        // Another token is untouched.
        assert_eq!(get(addr, &running.tokens.active[2]).status, 200);
        // Unknown tokens are answered 200 too (RFC 7009), and GET is refused.
        assert_eq!(revoke(addr, "unknown").body, r#"{"revoked":false}"#);
        assert_eq!(call(addr, "GET", "/revoke", None, "").status, 405);
        assert_eq!(call(addr, "POST", "/revoke", None, "x=1").status, 400);
        running.shutdown();
    }
}

#[test]
fn with_the_gateway_cache_off_every_request_calls_the_key_manager() {
    let mut cfg = settings();
    cfg.gateway_token_cache = s(false);
    let running = Running::start(&cfg, &bench(3)).expect("start");
    for _ in 0..20 {
        assert_eq!(get(running.addr, &running.tokens.active[0]).status, 200);
    }
    let stats = running.stats();
    // 20 validations; the resource lookup was cached after the first request.
    assert_eq!((stats.km_calls, stats.km_resource_calls), (20, 1));
    assert!(stats.token_cache.is_none());
    running.shutdown();

    let on = Running::start(&settings(), &bench(3)).expect("start");
    for _ in 0..20 {
        assert_eq!(get(on.addr, &on.tokens.active[0]).status, 200);
    }
    let stats = on.stats();
    assert_eq!((stats.km_calls, stats.km_resource_calls), (1, 1));
    let cache = stats.token_cache.expect("on");
    assert_eq!((cache.hits, cache.misses), (19, 1));
    on.shutdown();
}

#[test]
fn the_token_cache_evicts_past_its_capacity() {
    let mut cfg = settings();
    cfg.cache_capacity = s(20);
    let running = Running::start(&cfg, &bench(60)).expect("start");
    for t in running.tokens.active.clone() {
        assert_eq!(get(running.addr, &t).status, 200);
    }
    let cache = running.stats().token_cache.expect("on");
    assert!(cache.entries <= 20, "{cache:?}");
    assert!(cache.evictions >= 40, "{cache:?}");
    running.shutdown();
}

#[test]
fn a_cached_token_is_validated_again_after_the_expiry() {
    let mut cfg = settings();
    cfg.token_cache_expiry_ms = s(600);
    let running = Running::start(&cfg, &bench(3)).expect("start");
    let token = running.tokens.active[0].clone();
    assert_eq!(get(running.addr, &token).status, 200);
    assert_eq!(get(running.addr, &token).status, 200);
    let misses = || running.stats().token_cache.expect("on").misses;
    assert_eq!(misses(), 1);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(get(running.addr, &token).status, 200);
    assert_eq!(misses(), 2);
    running.shutdown();
}

#[test]
fn a_backend_slower_than_the_timeout_gets_504_and_a_dead_one_503() {
    let mut cfg = settings();
    cfg.global_timeout_ms = s(100);
    let running = Running::start(
        &cfg,
        &BenchOptions {
            backend_delay: Duration::from_secs(3),
            ..bench(3)
        },
    )
    .expect("start");
    let r = get(running.addr, &running.tokens.active[0]);
    assert_eq!(r.status, 504);
    assert!(r.body.contains("101504"));
    assert_eq!(running.stats().timeouts, 1);
    running.shutdown();

    // A backend port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let running = in_front_of(closed, 3);
    let r = get(running.addr, &running.tokens.active[0]);
    assert_eq!(r.status, 503);
    assert!(r.body.contains("101503"));
    running.shutdown();
}

#[test]
fn a_full_worker_queue_is_rejected_with_503() {
    let mut cfg = settings();
    cfg.worker_pool_core = s(1);
    cfg.worker_pool_max = s(1);
    cfg.worker_queue_length = s(0);
    let running = Running::start(
        &cfg,
        &BenchOptions {
            // The one worker is held for the whole key-manager call.
            km_latency: Duration::from_millis(2000),
            ..bench(3)
        },
    )
    .expect("start");
    let addr = running.addr;
    let token = running.tokens.active[0].clone();
    let first = std::thread::spawn(move || get(addr, &token).status);
    // The second request goes only once the first holds the one worker (it is asking the key
    // manager), however slowly the machine schedules the first thread.
    let deadline = std::time::Instant::now() + ANSWER_WITHIN;
    while running.stats().km_calls == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first request never reached the key manager"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = get(addr, &running.tokens.active[1]);
    assert_eq!(second.status, 503);
    assert!(second.body.contains("101505"));
    assert_eq!(first.join().expect("join"), 200);
    assert_eq!(running.stats().rejected, 1);
    running.shutdown();
}

#[test]
fn shutdown_lets_requests_in_flight_finish_then_refuses_connections() {
    let running = Running::start(
        &settings(),
        &BenchOptions {
            backend_delay: Duration::from_millis(1500),
            ..bench(3)
        },
    )
    .expect("start");
    let addr = running.addr;
    let token = running.tokens.active[0].clone();
    let in_flight = std::thread::spawn(move || get(addr, &token).status);
    std::thread::sleep(Duration::from_millis(500));
    running.shutdown();
    assert_eq!(in_flight.join().expect("join"), 200);
    assert!(TcpStream::connect(addr).is_err(), "still accepting");
}

#[test]
fn only_loopback_addresses_are_used() {
    let err = Running::start(
        &settings(),
        &BenchOptions {
            listen: "0.0.0.0:0".parse().expect("addr"),
            ..bench(1)
        },
    )
    .err()
    .expect("refused");
    assert!(matches!(err, GatewayError::NotLoopback(_)), "{err}");
    let err = Running::start(
        &settings(),
        &BenchOptions {
            external_backend: Some("192.0.2.1:80".parse().expect("addr")),
            ..bench(1)
        },
    )
    .err()
    .expect("refused");
    assert!(matches!(err, GatewayError::NotLoopback(_)), "{err}");
}

/// A backend that answers each request as `answer(n, method)` says: the bytes to write and
/// whether to close the connection after them (`None`: close without answering). `n` counts
/// every request the backend has read, across connections.
fn scripted_backend(
    answer: impl Fn(u64, &str) -> Option<(Vec<u8>, bool)> + Send + Sync + 'static,
) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&count);
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let (seen, answer) = (Arc::clone(&seen), Arc::clone(&answer));
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn);
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).map_or(true, |n| n == 0) {
                        return;
                    }
                    let method = request_line.split(' ').next().unwrap_or("").to_string();
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).map_or(true, |n| n == 0) {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let n = seen.fetch_add(1, Ordering::SeqCst);
                    match answer(n, &method) {
                        Some((bytes, close)) => {
                            // `LATE` splits an answer: the rest follows 50 ms later.
                            let at = bytes.windows(4).position(|w| w == b"LATE");
                            let (now, later) = match at {
                                Some(i) => (&bytes[..i], &bytes[i + 4..]),
                                None => (&bytes[..], &[][..]),
                            };
                            let stream = reader.get_mut();
                            if stream.write_all(now).is_err() {
                                return;
                            }
                            if !later.is_empty() {
                                std::thread::sleep(Duration::from_millis(50));
                                let _ = stream.write_all(later);
                            }
                            if close {
                                return;
                            }
                        }
                        None => return,
                    }
                }
            });
        }
    });
    (addr, count)
}

/// A backend that sends more than its Content-Length must not answer the next request.
/// (Review finding: leftover bytes were handed to the next request on the pooled connection.)
#[test]
fn bytes_after_a_response_never_reach_the_next_request() {
    let (backend, _) = scripted_backend(|n, _| {
        let extra: &[u8] = if n == 0 {
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nSMUGG"
        } else {
            b""
        };
        let mut out = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
        out.extend_from_slice(extra);
        Some((out, false))
    });
    let running = in_front_of(backend, 3);
    for _ in 0..3 {
        let r = get(running.addr, &running.tokens.active[0]);
        assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    }
    running.shutdown();
}

/// A kept-alive backend connection that closes after reading a request: a GET is sent again on
/// a new connection, a POST is not (it may have been processed).
#[test]
fn only_idempotent_requests_are_retried_on_a_stale_connection() {
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    // Every second request read on a connection is dropped unanswered, as a backend closing an
    // idle keep-alive connection would: request 0 answered, 1 dropped, 2 answered, ...
    let (backend, count) = scripted_backend(|n, _| (n % 2 == 0).then(|| (OK.to_vec(), false)));
    let running = in_front_of(backend, 3);
    let token = running.tokens.active[0].clone();
    assert_eq!(get(running.addr, &token).status, 200); // backend request 0, pooled
    // Reuses the pooled connection: request 1 is dropped, then retried on a new one as 2.
    assert_eq!(get(running.addr, &token).status, 200);
    assert_eq!(count.load(Ordering::SeqCst), 3);
    // A POST on the pooled connection: request 3 dropped, and not sent again.
    let post = call(
        running.addr,
        "POST",
        "/pizzashack/1.0.0/order",
        Some(&token),
        "{}",
    );
    assert_eq!(post.status, 503);
    assert!(post.body.contains("101503"), "{}", post.body);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(count.load(Ordering::SeqCst), 4, "the POST was sent twice");
    running.shutdown();
}

/// Second review: bytes that arrive after the response was read, and a backend that closes an
/// idle connection, are both noticed before the connection is used again.
#[test]
fn a_pooled_connection_is_checked_before_it_is_reused() {
    let (backend, _) = scripted_backend(|n, _| {
        let mut out = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
        if n == 0 {
            out.extend_from_slice(b"LATEHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nSMUGG");
        }
        Some((out, false))
    });
    let running = in_front_of(backend, 3);
    let token = running.tokens.active[0].clone();
    assert_eq!(get(running.addr, &token).body, "ok");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(get(running.addr, &token).body, "ok");
    running.shutdown();

    // Every connection is closed by the backend right after its answer (no `Connection: close`
    // header, so the gateway keeps it): a POST later must get a fresh connection, not a 503.
    let (backend, count) = scripted_backend(|_, _| {
        Some((
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            true,
        ))
    });
    let running = in_front_of(backend, 3);
    assert_eq!(get(running.addr, &token).status, 200);
    std::thread::sleep(Duration::from_millis(300));
    let post = call(
        running.addr,
        "POST",
        "/pizzashack/1.0.0/order",
        Some(&token),
        "{}",
    );
    assert_eq!((post.status, post.body.as_str()), (200, "ok"));
    assert_eq!(count.load(Ordering::SeqCst), 2);
    running.shutdown();
}
