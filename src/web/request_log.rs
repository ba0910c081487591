//! One structured log line per request.
//!
//! The line names the matched route (`/products/{slug}`), never the raw path or the
//! query string, which may hold what a person typed. Each request gets a random id,
//! returned in `X-Request-Id` so that a support question can be matched to the log.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::security::client_addr::{ClientAddr, Transport};

/// The matched route, carried from inside the router out to the log line.
#[derive(Clone)]
struct Route(MatchedPath);

/// Inner layer, on the router: remembers which route matched.
pub async fn remember_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(Route(route));
    }
    response
}

/// Outer layer: times the request and writes its log line.
pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = new_request_id();
    let method = request.method().clone();
    let (parts, body) = request.into_parts();
    let client = ClientAddr::from_parts(&parts);
    let scheme = if Transport::from_extensions(&parts.extensions).https {
        "https"
    } else {
        "http"
    };
    let request = Request::from_parts(parts, body);

    let span = tracing::info_span!("request", request_id = %request_id);
    let mut response = next.run(request).instrument(span.clone()).await;

    let status = response.status().as_u16();
    let route = response
        .extensions()
        .get::<Route>()
        .map(|r| r.0.as_str().to_owned());
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let _entered = span.enter();
    let route = route.as_deref().unwrap_or("(unmatched)");
    if status >= 500 {
        tracing::warn!(http.method = %method, http.route = route, http.status = status,
            http.scheme = scheme, duration_ms, client.addr = %client.0, "request");
    } else {
        tracing::info!(http.method = %method, http.route = route, http.status = status,
            http.scheme = scheme, duration_ms, client.addr = %client.0, "request");
    }

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn new_request_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
