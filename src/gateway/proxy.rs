//! The gateway's request path, in API-M's order: match the API and resource (404), check the
//! token (401/403) through the gateway cache then the key manager, then pass the request
//! through to the backend within the timeout (504), holding a worker only for the mediation.

use super::apis::{self, NoMatch};
use super::cache::{CacheStats, CountingCache};
use super::keymanager::KeyManager;
use super::server::{Body, fault, full};
use super::settings::GatewaySettings;
use super::tokens::Validation;
use super::upstream::{Outgoing, Upstream, UpstreamError};
use super::worker_pool::WorkerPool;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde::Serialize;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counters of what the gateway itself answered.
#[derive(Default)]
struct Counters {
    timeouts: AtomicU64,
    backend_errors: AtomicU64,
    unauthorized: AtomicU64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct GatewayStats {
    /// 504s: the backend did not answer within the timeout.
    pub timeouts: u64,
    /// 503s for a backend that refused or broke the connection.
    pub backend_errors: u64,
    pub unauthorized: u64,
    /// Connections the listener failed to accept (filled in by the facade, which owns it).
    pub accept_errors: u64,
    /// 503s for a full worker queue.
    pub rejected: u64,
    pub peak_queued: u64,
    /// `None` when the gateway token cache is off.
    pub token_cache: Option<CacheStats>,
    pub km_cache: Option<CacheStats>,
    /// Token validations asked of the key manager.
    pub km_calls: u64,
    /// Resource lookups asked of the key manager (resource cache off or missed).
    pub km_resource_calls: u64,
    /// Lookups that reached the token store (the database), past the key manager's cache.
    pub km_db_lookups: u64,
}

pub struct Gateway {
    pub km: Arc<KeyManager>,
    /// Valid keys (`gatewayKeyCache`); `None` when the gateway token cache is off.
    token_cache: Option<CountingCache<String, Validation>>,
    /// Invalid keys apart (`gatewayInvalidKeyCache`), so junk tokens cannot evict valid ones.
    invalid_cache: Option<CountingCache<String, &'static str>>,
    resource_cache: Option<CountingCache<&'static str, ()>>,
    pool: WorkerPool,
    upstream: Arc<Upstream>,
    /// `None`: the gateway waits for the backend as long as it takes.
    timeout: Option<Duration>,
    /// `http.socket.timeout` towards clients.
    client_timeout: Option<Duration>,
    counters: Counters,
}

impl Gateway {
    pub fn new(s: &GatewaySettings, km: Arc<KeyManager>, backend: SocketAddr) -> Gateway {
        let ttl = Duration::from_millis(s.token_cache_expiry_ms.value);
        let capacity = s.cache_capacity.value;
        fn on<K, V>(enabled: bool, capacity: u64, ttl: Duration) -> Option<CountingCache<K, V>>
        where
            K: std::hash::Hash + Eq + Send + Sync + 'static,
            V: Clone + Send + Sync + 'static,
        {
            enabled.then(|| CountingCache::new(capacity, ttl))
        }
        Gateway {
            km,
            token_cache: on(s.gateway_token_cache.value, capacity, ttl),
            invalid_cache: on(s.gateway_token_cache.value, capacity, ttl),
            resource_cache: on(s.resource_cache.value, capacity, ttl),
            pool: WorkerPool::new(
                s.worker_pool_core.value,
                s.worker_pool_max.value,
                s.worker_queue_length.value,
            ),
            upstream: Arc::new(Upstream::new(
                backend,
                s.max_conn_per_host_port.value,
                s.socket_timeout(),
            )),
            timeout: s.backend_timeout().map(|(d, _)| d),
            client_timeout: s.socket_timeout(),
            counters: Counters::default(),
        }
    }

    pub fn stats(&self) -> GatewayStats {
        let c = &self.counters;
        // A lookup tries the valid-key cache, then the invalid-key one: a hit in either is a
        // hit, and only a miss in both (the invalid cache's misses) goes to the key manager.
        let valid = self.token_cache.as_ref().map(CountingCache::stats);
        let invalid = self.invalid_cache.as_ref().map(CountingCache::stats);
        let token_cache = match (valid, invalid) {
            (Some(v), Some(i)) => Some(CacheStats {
                hits: v.hits + i.hits,
                misses: i.misses,
                evictions: v.evictions + i.evictions,
                entries: v.entries + i.entries,
            }),
            _ => None,
        };
        GatewayStats {
            timeouts: c.timeouts.load(Ordering::Relaxed),
            backend_errors: c.backend_errors.load(Ordering::Relaxed),
            unauthorized: c.unauthorized.load(Ordering::Relaxed),
            accept_errors: 0,
            rejected: self.pool.rejected(),
            peak_queued: self.pool.peak_queued() as u64,
            token_cache,
            km_cache: self.km.cache_stats(),
            km_calls: self.km.calls(),
            km_resource_calls: self.km.resource_calls(),
            km_db_lookups: self.km.db_lookups(),
        }
    }

    /// Runs the caches' pending maintenance so their entry counts are exact.
    pub async fn settle(&self) {
        if let Some(c) = &self.token_cache {
            c.settle().await;
        }
        if let Some(c) = &self.invalid_cache {
            c.settle().await;
        }
        if let Some(c) = &self.resource_cache {
            c.settle().await;
        }
        self.km.settle().await;
    }

    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, Infallible> {
        if req.uri().path() == "/revoke" {
            return Ok(self.revoke(req).await);
        }
        Ok(self.mediate(req).await)
    }

    async fn mediate(&self, req: Request<Incoming>) -> Response<Body> {
        let Ok(worker) = self.pool.acquire().await else {
            return fault(
                503,
                101_505,
                "Server busy",
                "all pass-through workers are busy and the worker queue is full",
            );
        };
        let (mut parts, body) = req.into_parts();
        let uri = parts.uri.clone();
        let pq = uri
            .path_and_query()
            .map_or_else(|| uri.path(), |p| p.as_str());
        let matched = match apis::route(parts.method.as_str(), pq) {
            Ok(m) => m,
            Err(NoMatch::Api) => {
                return fault(
                    404,
                    404,
                    "Not Found",
                    "no API is published at this context and version",
                );
            }
            Err(NoMatch::Resource) => {
                return fault(
                    404,
                    404,
                    "No matching resource found for given API Request",
                    "the API has no resource for this verb and path",
                );
            }
        };
        self.resource_info(matched.resource.template).await;
        let Some(token) = bearer(&parts.headers) else {
            self.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
            return fault(
                401,
                900_902,
                "Missing Credentials",
                "make sure your API invocation call has a header: 'Authorization: Bearer ACCESS_TOKEN'",
            );
        };
        let verdict = self.validate(token).await;
        // The revoked set is read after the caches: a revoke that has returned wins over any
        // cached answer, including one a concurrent miss put back.
        let now = Instant::now();
        let refusal = match verdict {
            Validation::Invalid(why) => Some((401, 900_901, why)),
            _ if self.km.store.is_revoked(token) => Some((401, 900_901, "token revoked")),
            Validation::Valid { expires_at, .. } if expires_at <= now => {
                Some((401, 900_901, "token expired"))
            }
            Validation::Valid { subscriptions, .. }
                if !subscriptions.contains(&matched.api.name) =>
            {
                Some((
                    403,
                    900_908,
                    "the application is not subscribed to this API",
                ))
            }
            Validation::Valid { .. } => None,
        };
        if let Some((status, code, why)) = refusal {
            if status == 401 {
                self.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
            }
            let message = if status == 401 {
                "Invalid Credentials"
            } else {
                "Resource forbidden"
            };
            return fault(status, code, message, why);
        }
        // Pass-through: the worker hands the request to the target side and is free again.
        drop(worker);
        // API-M drops the client's token before the backend sees it (RemoveOAuthHeadersFromOutMessage).
        parts.headers.remove(hyper::header::AUTHORIZATION);
        self.forward(&parts, body, matched.backend_path).await
    }

    /// The resource's auth type and tier: cached, or a key-manager call per request.
    async fn resource_info(&self, template: &'static str) {
        match &self.resource_cache {
            Some(cache) => {
                if cache.get(&template).await.is_none() {
                    self.km.uri_templates().await;
                    cache.insert(template, ()).await;
                }
            }
            None => self.km.uri_templates().await,
        }
    }

    async fn validate(&self, token: &str) -> Validation {
        let (Some(valid), Some(invalid)) = (&self.token_cache, &self.invalid_cache) else {
            return self.km.validate(token).await;
        };
        if let Some(hit) = valid.get(token).await {
            return hit;
        }
        if let Some(why) = invalid.get(token).await {
            return Validation::Invalid(why);
        }
        let answer = self.km.validate(token).await;
        let key = token.to_string();
        match &answer {
            Validation::Valid { .. } => valid.insert(key, answer.clone()).await,
            Validation::Invalid(why) => invalid.insert(key, why).await,
        }
        answer
    }

    /// `POST /revoke` with `token=…`: the key manager's revoke plus the gateway cache clear, done
    /// before answering; 200 for unknown tokens too, as RFC 7009 asks.
    async fn revoke(&self, req: Request<Incoming>) -> Response<Body> {
        if req.method() != hyper::Method::POST {
            return fault(
                405,
                405,
                "Method Not Allowed",
                "use POST /revoke with token=…",
            );
        }
        let read = Limited::new(req.into_body(), 8192).collect();
        let read = match self.client_timeout {
            Some(limit) => tokio::time::timeout(limit, read).await,
            None => Ok(read.await),
        };
        let body = match read {
            Ok(Ok(b)) => b.to_bytes(),
            Ok(Err(_)) => return fault(400, 400, "Bad Request", "unreadable or too large body"),
            Err(_) => {
                return fault(
                    408,
                    408,
                    "Request Timeout",
                    "the body did not arrive within http.socket.timeout",
                );
            }
        };
        let Some(token) = form_value(&body, "token") else {
            return fault(400, 400, "Bad Request", "no token=… in the body");
        };
        let known = self.km.revoke(&token).await;
        if let Some(c) = &self.token_cache {
            c.invalidate(token.as_str()).await;
        }
        if let Some(c) = &self.invalid_cache {
            c.invalidate(token.as_str()).await;
        }
        let mut resp = Response::new(full(serde_json::json!({ "revoked": known }).to_string()));
        resp.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        resp
    }

    async fn forward(
        &self,
        parts: &hyper::http::request::Parts,
        body: Incoming,
        backend_path: &str,
    ) -> Response<Body> {
        let body = if hyper::body::Body::is_end_stream(&body) {
            bytes::Bytes::new()
        } else {
            // A client that stalls mid-body is cut like one that stalls mid-head.
            let read = Limited::new(body, MAX_REQUEST_BODY).collect();
            let read = match self.client_timeout {
                Some(limit) => tokio::time::timeout(limit, read).await,
                None => Ok(read.await),
            };
            match read {
                Ok(Ok(b)) => b.to_bytes(),
                Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                    return fault(
                        413,
                        413,
                        "Payload Too Large",
                        "request bodies are limited to 16 MiB here",
                    );
                }
                Ok(Err(_)) => {
                    return fault(
                        400,
                        400,
                        "Bad Request",
                        "the request body could not be read",
                    );
                }
                Err(_) => {
                    return fault(
                        408,
                        408,
                        "Request Timeout",
                        "the request body did not arrive within http.socket.timeout",
                    );
                }
            }
        };
        let out = Outgoing {
            method: &parts.method,
            path: backend_path,
            headers: &parts.headers,
            body,
        };
        let sent = match self.timeout {
            Some(limit) => tokio::time::timeout(limit, self.upstream.send(&out)).await,
            None => Ok(self.upstream.send(&out).await),
        };
        match sent {
            Err(_) => {
                self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                fault(
                    504,
                    101_504,
                    "Endpoint Timeout",
                    "the backend did not answer within the gateway's timeout",
                )
            }
            Ok(Err(e)) => {
                self.counters.backend_errors.fetch_add(1, Ordering::Relaxed);
                let why = match e {
                    UpstreamError::Connect(e) => format!("cannot connect to the backend: {e}"),
                    UpstreamError::Exchange(e) => format!("the backend broke the exchange: {e}"),
                };
                fault(503, 101_503, "Error connecting to the back end", &why)
            }
            Ok(Ok(answer)) => {
                let mut resp = Response::new(full(answer.body));
                *resp.status_mut() = answer.status;
                *resp.headers_mut() = answer.headers;
                resp
            }
        }
    }
}

/// The largest request body the gateway passes on.
const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

fn bearer(headers: &hyper::HeaderMap) -> Option<&str> {
    let value = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The value of `name` in an `application/x-www-form-urlencoded` body (tokens need no decoding
/// beyond `+`/`%2D`-free UUIDs, but percent-escapes are decoded anyway).
fn form_value(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v)).flatten()
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = (bytes.next()? as char).to_digit(16)?;
                let lo = (bytes.next()? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_found_and_decoded() {
        assert_eq!(
            form_value(b"token=abc-1&x=2", "token").as_deref(),
            Some("abc-1")
        );
        assert_eq!(
            form_value(b"x=1&token=a%2Db+c", "token").as_deref(),
            Some("a-b c")
        );
        assert_eq!(form_value(b"x=1", "token"), None);
        assert_eq!(form_value(b"token=%zz", "token"), None);
        assert_eq!(form_value(&[0xff, 0xfe], "token"), None);
    }
}
