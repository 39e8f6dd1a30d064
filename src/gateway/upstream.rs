//! The gateway's HTTP/1.1 client towards the backend: keep-alive connections, at most
//! `http.max.connection.per.host.port` at once, idle ones reused.
//!
//! The exchange runs inside the request's own task (write the request, read the response
//! whole) instead of in a connection task fed through a channel, as hyper's client does: on one
//! thread that saves two task wake-ups and a channel per request, which is most of what
//! separated the gateway from nginx in `bench/gateway.sh`. Responses are read whole, up to
//! [`MAX_BODY`], as nginx does with proxy buffering on.

use super::http1::{READ_BUFFER, ReadBuf, invalid_data, is_hop_by_hop, read_body, read_head};
use bytes::Bytes;
use hyper::header::HeaderMap;
use hyper::{Method, StatusCode};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// The largest backend response the gateway buffers.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

pub struct Upstream {
    addr: SocketAddr,
    host: String,
    idle: Mutex<Vec<Conn>>,
    slots: Arc<Semaphore>,
    connect_timeout: Option<Duration>,
}

struct Conn {
    stream: TcpStream,
    buf: ReadBuf,
    out: Vec<u8>,
}

/// Why the backend gave no response.
#[derive(Debug)]
pub enum UpstreamError {
    Connect(io::Error),
    Exchange(io::Error),
}

/// A whole backend response.
pub struct Answer {
    pub status: StatusCode,
    /// End-to-end headers only.
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What the request to the backend carries.
pub struct Outgoing<'a> {
    pub method: &'a Method,
    /// Origin form: `/menu?x=1`.
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    pub body: Bytes,
}

impl Upstream {
    pub fn new(
        addr: SocketAddr,
        max_connections: u32,
        connect_timeout: Option<Duration>,
    ) -> Upstream {
        Upstream {
            addr,
            host: addr.to_string(),
            idle: Mutex::new(Vec::new()),
            slots: Arc::new(Semaphore::new(
                (max_connections as usize).clamp(1, Semaphore::MAX_PERMITS),
            )),
            connect_timeout,
        }
    }

    pub async fn send(&self, req: &Outgoing<'_>) -> Result<Answer, UpstreamError> {
        // Waits here when every allowed connection is busy, as synapse queues for a connection.
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| UpstreamError::Connect(io::Error::other("connection pool closed")))?;
        let (mut conn, reused) = match self.idle_connection() {
            Some(c) => (c, true),
            None => (self.connect().await?, false),
        };
        let answer = match exchange(&mut conn, req, &self.host).await {
            Ok(a) => a,
            // A kept-alive connection the backend closed meanwhile fails before any byte of a
            // response. The request may still have been processed, so only an idempotent one
            // is sent again, on a new connection (nginx's proxy_next_upstream does the same).
            Err((_, false)) if reused && is_idempotent(req.method) => {
                conn = self.connect().await?;
                exchange(&mut conn, req, &self.host)
                    .await
                    .map_err(|(e, _)| UpstreamError::Exchange(e))?
            }
            Err((e, _)) => return Err(UpstreamError::Exchange(e)),
        };
        // Bytes after the response mean the backend and the gateway disagree on where it
        // ended: never hand them to the next request.
        let reusable = !answer.1 && conn.buf.pending().is_empty();
        if reusable {
            self.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
        Ok(answer.0)
    }

    /// An idle connection that still looks usable: the backend has neither closed it nor sent
    /// anything on it since its last response (either would poison the next exchange).
    fn idle_connection(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(conn) = idle.pop() {
            let mut probe = [0u8; 1];
            match conn.stream.try_read(&mut probe) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Some(conn),
                // Closed (Ok(0)), late bytes (Ok(n)) or an error: drop it.
                _ => continue,
            }
        }
        None
    }

    async fn connect(&self) -> Result<Conn, UpstreamError> {
        let connect = TcpStream::connect(self.addr);
        let connected = match self.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, connect).await,
            None => Ok(connect.await),
        };
        let stream = match connected {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(UpstreamError::Connect(e)),
            Err(_) => {
                return Err(UpstreamError::Connect(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connect timed out",
                )));
            }
        };
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            buf: ReadBuf::new(),
            out: Vec::with_capacity(READ_BUFFER),
        })
    }
}

/// Writes the request and reads the response whole. The error says whether any of the response
/// had arrived; the `bool` of the answer whether the connection must be closed after it.
async fn exchange(
    conn: &mut Conn,
    req: &Outgoing<'_>,
    host: &str,
) -> Result<(Answer, bool), (io::Error, bool)> {
    serialise(&mut conn.out, req, host);
    conn.stream
        .write_all(&conn.out)
        .await
        .map_err(|e| (e, false))?;
    let mut headers = HeaderMap::new();
    let is_head = req.method == Method::HEAD;
    let head = read_head(&mut conn.stream, &mut conn.buf, is_head, Some(&mut headers))
        .await
        .map_err(|e| {
            let started = !conn.buf.pending().is_empty();
            (e, started)
        })?;
    let status = StatusCode::from_u16(head.status)
        .map_err(|_| (invalid_data("invalid status code"), true))?;
    let mut body = Vec::new();
    read_body(
        &mut conn.stream,
        &mut conn.buf,
        head.body,
        Some(&mut body),
        MAX_BODY,
    )
    .await
    .map_err(|e| (e, true))?;
    Ok((
        Answer {
            status,
            headers,
            body: Bytes::from(body),
        },
        head.close,
    ))
}

/// RFC 9110 section 9.2.2.
fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// `METHOD path HTTP/1.1`, the end-to-end headers, `Host`, and the body with its length.
fn serialise(out: &mut Vec<u8>, req: &Outgoing<'_>, host: &str) {
    out.clear();
    out.extend_from_slice(req.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(req.path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\n");
    // Headers the client's `Connection` names were for its hop only.
    let named: Vec<&str> = req
        .headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for (name, value) in req.headers {
        let for_this_hop = is_hop_by_hop(name.as_str())
            || name == hyper::header::HOST
            || named.iter().any(|n| n.eq_ignore_ascii_case(name.as_str()));
        if for_this_hop {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let needs_length =
        !req.body.is_empty() || matches!(*req.method, Method::POST | Method::PUT | Method::PATCH);
    if needs_length {
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(req.body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&req.body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn requests_carry_end_to_end_headers_and_a_computed_length() {
        let mut headers = HeaderMap::new();
        headers.insert("x-trace", HeaderValue::from_static("abc"));
        headers.insert("connection", HeaderValue::from_static("keep-alive, X-Hop"));
        headers.insert("x-hop", HeaderValue::from_static("secret"));
        headers.insert("content-length", HeaderValue::from_static("999"));
        headers.insert("host", HeaderValue::from_static("client.example"));
        let mut out = Vec::new();
        let req = Outgoing {
            method: &Method::POST,
            path: "/order?x=1",
            headers: &headers,
            body: Bytes::from_static(b"{}"),
        };
        serialise(&mut out, &req, "127.0.0.1:9");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /order?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nx-trace: abc\r\nContent-Length: 2\r\n\r\n{}"
        );
        let mut out = Vec::new();
        let get = Outgoing {
            method: &Method::GET,
            path: "/menu",
            headers: &HeaderMap::new(),
            body: Bytes::new(),
        };
        serialise(&mut out, &get, "h");
        assert_eq!(out, b"GET /menu HTTP/1.1\r\nHost: h\r\n\r\n");
    }
}
