//! The load each configuration gets in `validate` and its checks: how many connections, for how
//! long, at what rate, and the requests they send.

use super::load::RequestTemplate;
use std::time::Duration;

/// The load every configuration gets.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub connections: usize,
    pub duration: Duration,
    pub max_requests: u64,
    /// Total requests per second (open model); `None` runs as fast as the gateway answers.
    pub rate: Option<f64>,
    /// How long a client waits for an answer (its read timeout).
    pub client_timeout: Duration,
}

/// The request every load sends: the sample API's `GET /menu`, one template per active token.
pub fn templates(tokens: &[String]) -> Vec<RequestTemplate> {
    tokens
        .iter()
        .map(|t| RequestTemplate {
            method: "GET".into(),
            path: "/pizzashack/1.0.0/menu".into(),
            headers: vec![("Authorization".into(), format!("Bearer {t}"))],
            body: bytes::Bytes::new(),
        })
        .collect()
}
