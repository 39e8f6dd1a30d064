//! Keep-alive connections to the backend: at most `http.max.connection.per.host.port` at once,
//! idle ones reused. A connection goes back to the pool only once its response body has been
//! read to the end; one dropped half-read is closed, as an HTTP/1.1 connection must be.

use super::server::Body;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Upstream {
    addr: SocketAddr,
    host: hyper::header::HeaderValue,
    idle: Mutex<Vec<SendRequest<Incoming>>>,
    slots: Arc<Semaphore>,
    connect_timeout: Duration,
}

/// Why the backend gave no response.
#[derive(Debug)]
pub enum UpstreamError {
    Connect(std::io::Error),
    Http(hyper::Error),
}

impl Upstream {
    pub fn new(addr: SocketAddr, max_connections: u32, connect_timeout: Duration) -> Upstream {
        let slots = (max_connections as usize).clamp(1, Semaphore::MAX_PERMITS);
        Upstream {
            addr,
            host: hyper::header::HeaderValue::from_str(&addr.to_string())
                .unwrap_or(hyper::header::HeaderValue::from_static("localhost")),
            idle: Mutex::new(Vec::new()),
            slots: Arc::new(Semaphore::new(slots)),
            connect_timeout,
        }
    }

    /// Sends `req` (its URI already origin-form) and returns the response with a body that
    /// keeps the connection, and its slot, until read.
    pub async fn send(
        self: &Arc<Self>,
        mut req: Request<Incoming>,
    ) -> Result<Response<Guarded>, UpstreamError> {
        let slot = match Arc::clone(&self.slots).acquire_owned().await {
            Ok(p) => p,
            Err(_) => {
                return Err(UpstreamError::Connect(std::io::Error::other(
                    "connection pool closed",
                )));
            }
        };
        req.headers_mut()
            .insert(hyper::header::HOST, self.host.clone());
        let mut sender = self.connection().await?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(UpstreamError::Http)?;
        let (parts, body) = resp.into_parts();
        let body = Guarded {
            inner: Some(body),
            done: false,
            sender: Some(sender),
            pool: Arc::clone(self),
            _slot: slot,
        };
        Ok(Response::from_parts(parts, body))
    }

    /// An idle connection that is ready, else a new one.
    async fn connection(&self) -> Result<SendRequest<Incoming>, UpstreamError> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some(mut sender) = idle else { break };
            // Closed by the backend meanwhile: try the next one.
            if sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
        let connect = TcpStream::connect(self.addr);
        let stream = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(UpstreamError::Connect(e)),
            Err(_) => {
                return Err(UpstreamError::Connect(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect timed out",
                )));
            }
        };
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(UpstreamError::Http)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    fn release(&self, sender: SendRequest<Incoming>) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(sender);
    }
}

/// A backend response body holding its connection and slot.
pub struct Guarded {
    inner: Option<Incoming>,
    done: bool,
    sender: Option<SendRequest<Incoming>>,
    pool: Arc<Upstream>,
    _slot: OwnedSemaphorePermit,
}

impl Guarded {
    pub fn boxed(self) -> Body {
        http_body_util::BodyExt::boxed(self)
    }
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(&mut *inner).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => inner.is_end_stream(),
            Poll::Ready(Some(Err(_))) => {
                // A broken body: the connection is not reusable.
                self.sender = None;
                false
            }
            Poll::Pending => false,
        };
        if ended {
            self.done = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |b| b.size_hint())
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let finished = self.done
            || self
                .inner
                .as_ref()
                .is_some_and(hyper::body::Body::is_end_stream);
        if finished && let Some(sender) = self.sender.take() {
            self.pool.release(sender);
        }
    }
}
