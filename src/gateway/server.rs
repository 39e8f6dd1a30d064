//! The accept loop shared by the gateway and the backend: HTTP/1.1 keep-alive connections,
//! accept errors counted (EMFILE among them) without spinning, and a graceful stop that lets
//! requests in flight finish within a grace period.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Every response body is whole: the gateway buffers backend responses (see `upstream`), so
/// one concrete type serves all and nothing is boxed per response.
pub type Body = Full<Bytes>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
}

/// A JSON error in API-M's shape (`{"code":900901,"message":…}`) with its status.
pub fn fault(status: u16, code: u32, message: &str, description: &str) -> Response<Body> {
    let body = serde_json::json!({
        "code": code,
        "message": message,
        "description": description,
    })
    .to_string();
    let mut resp = Response::new(full(body));
    *resp.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// Connection settings of a listener.
#[derive(Clone, Copy, Debug)]
pub struct ConnOptions {
    /// Largest read buffer per connection (hyper's floor is 8 KiB).
    pub max_buf_size: usize,
    /// A client that sends no complete request head within this is disconnected (`None`: never).
    pub header_read_timeout: Option<Duration>,
}

/// A running listener: its address, its stop signal, its accept-error count.
pub struct Listener {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    pub accept_errors: Arc<AtomicU64>,
}

impl Listener {
    /// Stops accepting, then waits up to `grace` for open requests to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Serves `handler` on `listener` until stopped.
pub fn serve<H, F>(
    listener: TcpListener,
    options: ConnOptions,
    grace: Duration,
    handler: H,
) -> std::io::Result<Listener>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Body>, Infallible>> + Send + 'static,
{
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let accept_errors = Arc::new(AtomicU64::new(0));
    let errors = Arc::clone(&accept_errors);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(options.max_buf_size.max(8192));
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        let conn = http.serve_connection(
                            TokioIo::new(stream),
                            hyper::service::service_fn(handler.clone()),
                        );
                        let conn = graceful.watch(conn);
                        tokio::spawn(async move {
                            let _ = conn.await;
                        });
                    }
                    Err(_) => {
                        // EMFILE and friends: the pending connection stays in the backlog;
                        // retrying at once would spin on the same error.
                        errors.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
                _ = stopped.changed() => break,
            }
        }
        drop(listener);
        let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
    });
    Ok(Listener {
        addr,
        stop,
        task,
        accept_errors,
    })
}
