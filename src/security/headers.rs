//! The security headers every response carries, and HSTS on those sent over HTTPS.
//!
//! The Content-Security-Policy forbids inline script and style and every foreign
//! origin, which is why templates hold no `style=` or `<script>` of their own.
//! `Strict-Transport-Security` goes only on HTTPS responses (browsers ignore it on
//! plain HTTP, and RFC 6797 says not to send it there).

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::security::client_addr::Transport;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self'; \
    style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; \
    object-src 'none'; base-uri 'none'";

const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
    magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()";

const HEADERS: [(HeaderName, &str); 7] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
    (
        HeaderName::from_static("permissions-policy"),
        PERMISSIONS_POLICY,
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    ),
];

/// Middleware: adds the security headers to a response, keeping any a handler set
/// itself (an image, say, may carry a stricter policy of its own), and HSTS when the
/// request came over HTTPS.
pub async fn add_security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let https = Transport::from_extensions(request.extensions()).https;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if https && let Some(hsts) = &state.settings.https.hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    response
}

/// The `Strict-Transport-Security` value: `None` when `max_age` is zero (HSTS off).
pub fn hsts_value(max_age: u64, include_subdomains: bool, preload: bool) -> Option<HeaderValue> {
    if max_age == 0 {
        return None;
    }
    let mut value = format!("max-age={max_age}");
    if include_subdomains {
        value.push_str("; includeSubDomains");
    }
    if preload {
        value.push_str("; preload");
    }
    HeaderValue::from_str(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_says_what_was_configured() {
        let value = |a, s, p| hsts_value(a, s, p).map(|v| v.to_str().expect("text").to_owned());
        assert_eq!(
            value(31_536_000, true, false).as_deref(),
            Some("max-age=31536000; includeSubDomains")
        );
        assert_eq!(
            value(63_072_000, true, true).as_deref(),
            Some("max-age=63072000; includeSubDomains; preload")
        );
        assert_eq!(value(600, false, false).as_deref(), Some("max-age=600"));
        assert_eq!(value(0, true, true), None);
    }
}
