//! The embedded backend: answers every request with a fixed body after a fixed delay, like a
//! service behind the gateway whose speed the test controls.

use super::server::{Body, full};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

pub struct Backend {
    body: Bytes,
    delay: Duration,
}

impl Backend {
    pub fn new(payload: usize, delay: Duration) -> Backend {
        Backend {
            body: payload_of(payload),
            delay,
        }
    }

    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, Infallible> {
        // The request body is not needed; dropping it lets hyper discard it.
        drop(req);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let mut resp = Response::new(full(self.body.clone()));
        resp.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        Ok(resp)
    }
}

/// A JSON document of exactly `size` bytes (`{"d":"xxx…"}`), or plain filler below 8 bytes.
fn payload_of(size: usize) -> Bytes {
    const FRAME: usize = r#"{"d":""}"#.len();
    if size < FRAME {
        return Bytes::from(vec![b'x'; size]);
    }
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(br#"{"d":""#);
    body.resize(size - 2, b'x');
    body.extend_from_slice(br#""}"#);
    Bytes::from(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_has_the_exact_size_and_is_json() {
        for size in [0, 3, 8, 9, 1024, 65536] {
            let p = payload_of(size);
            assert_eq!(p.len(), size);
            if size >= 8 {
                assert!(serde_json::from_slice::<serde_json::Value>(&p).is_ok());
            }
        }
    }
}
