//! Cross-site request forgery defence for the HTML side.
//!
//! Every unsafe request (POST, PUT, PATCH, DELETE) outside the bearer-token API must
//! carry a token bound to the session, as the form field `csrf_token` or the header
//! `X-CSRF-Token`, and, when the browser sends an `Origin` (or failing that a
//! `Referer`), it must be our own; `Origin: null` is refused. A visitor without a
//! session (on the login or registration form) gets a token in a cookie of its own,
//! which the form must echo. Refusals are 403 pages and a `security.csrf_refused` event.

use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use subtle::ConstantTimeEq as _;

use crate::app::AppState;
use crate::error::AppError;
use crate::security::client_addr::{ClientAddr, Transport};
use crate::security::session::{self, CurrentSession};

pub const FORM_FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

/// The pre-session cookie's name.
fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-securecart_csrf"
    } else {
        "securecart_csrf"
    }
}

/// A token minted during this request, to be sent as the pre-session cookie.
#[derive(Clone, Default)]
struct Minted(Arc<Mutex<Option<String>>>);

/// The CSRF token a page's forms must carry.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl FromRequestParts<AppState> for CsrfToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, AppError> {
        if let Some(CurrentSession(Some(session))) = parts.extensions.get::<CurrentSession>() {
            return Ok(CsrfToken(session.csrf_token.clone()));
        }
        let name = cookie_name(Transport::from_extensions(&parts.extensions).secure_cookies);
        if let Some(existing) = session::read_cookie(&parts.headers, name).filter(|t| t.len() == 43)
        {
            return Ok(CsrfToken(existing));
        }
        let minted = parts
            .extensions
            .get::<Minted>()
            .cloned()
            .unwrap_or_default();
        let mut slot = minted
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("CSRF slot poisoned"))?;
        let token = slot.get_or_insert_with(session::new_secret).clone();
        Ok(CsrfToken(token))
    }
}

/// Middleware: refuses unsafe requests without a valid token and a same-origin source.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let secure = Transport::from_extensions(request.extensions()).secure_cookies;
    let request = if is_unsafe(request.method()) && !request.uri().path().starts_with("/api/") {
        match check(&state, request).await {
            Ok(request) => request,
            Err(refusal) => return refusal,
        }
    } else {
        request
    };

    let minted = Minted::default();
    let mut request = request;
    request.extensions_mut().insert(minted.clone());
    let mut response = next.run(request).await;

    let token = minted.0.lock().ok().and_then(|mut slot| slot.take());
    if let Some(token) = token {
        let cookie = session::set_cookie(cookie_name(secure), Some(&token), secure);
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Checks origin and token; returns the request (its body restored) or the refusal.
async fn check(state: &AppState, request: Request) -> Result<Request, Response> {
    let client = ClientAddr::from_extensions(request.extensions());
    let authority = request.uri().authority().map(|a| a.as_str());
    if let Err(reason) = same_origin(request.headers(), authority, &state.settings.public_url) {
        return Err(refuse(reason, client));
    }

    let expected = match request.extensions().get::<CurrentSession>() {
        Some(CurrentSession(Some(session))) => Some(session.csrf_token.clone()),
        _ => session::read_cookie(
            request.headers(),
            cookie_name(Transport::from_extensions(request.extensions()).secure_cookies),
        ),
    };
    let Some(expected) = expected else {
        return Err(refuse("no session and no CSRF cookie", client));
    };

    let header_token = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (request, provided) = match header_token {
        Some(token) => (request, Some(token)),
        None => form_token(request, state.settings.limits.body_limit).await?,
    };
    match provided {
        Some(provided) if bool::from(provided.as_bytes().ct_eq(expected.as_bytes())) => Ok(request),
        Some(_) => Err(refuse("token mismatch", client)),
        None => Err(refuse("token missing", client)),
    }
}

/// Reads `csrf_token` from a urlencoded or multipart form, putting the body back for
/// the handler.
async fn form_token(request: Request, limit: usize) -> Result<(Request, Option<String>), Response> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let boundary = content_type
        .starts_with("multipart/form-data")
        .then(|| multer::parse_boundary(&content_type).ok())
        .flatten();
    if !is_form && boundary.is_none() {
        return Ok((request, None));
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, limit)
        .await
        .map_err(|_| AppError::PayloadTooLarge.into_response())?;
    let token = match boundary {
        Some(boundary) => multipart_token(bytes.clone(), boundary).await,
        None => form_urlencoded::parse(&bytes)
            .find(|(name, _)| name == FORM_FIELD)
            .map(|(_, value)| value.into_owned()),
    };
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

/// The `csrf_token` field of a multipart body. The forms put it first, so only the
/// fields before it are read.
async fn multipart_token(bytes: axum::body::Bytes, boundary: String) -> Option<String> {
    let stream =
        futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(FORM_FIELD) {
            return field.text().await.ok();
        }
    }
    None
}

/// `Ok` when neither `Origin` nor `Referer` names another site. Ours is the public
/// URL's origin, or the origin whose host is the request's own: its `Host` header, or
/// under HTTP/2 (which has no `Host`) the `:authority` that hyper puts in the URI.
fn same_origin(
    headers: &HeaderMap,
    authority: Option<&str>,
    public_url: &str,
) -> Result<(), &'static str> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(authority)
        .unwrap_or("");
    let public_origin = origin_of(public_url);
    let ours = |url: &str| match origin_of(url) {
        Some((scheme, authority)) => {
            Some((scheme, authority)) == public_origin
                || (matches!(scheme, "http" | "https")
                    && !host.is_empty()
                    && authority.eq_ignore_ascii_case(host))
        }
        None => false,
    };

    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| "unreadable Origin")?;
        if origin == "null" {
            return Err("Origin is null");
        }
        return if ours(origin) {
            Ok(())
        } else {
            Err("foreign Origin")
        };
    }
    if let Some(referer) = headers.get(header::REFERER) {
        let referer = referer.to_str().map_err(|_| "unreadable Referer")?;
        return if ours(referer) {
            Ok(())
        } else {
            Err("foreign Referer")
        };
    }
    Ok(())
}

/// The scheme and authority of a URL: `("https", "shop.example:8443")`.
fn origin_of(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    (!authority.is_empty()).then_some((scheme, authority))
}

fn refuse(reason: &'static str, client: ClientAddr) -> Response {
    tracing::warn!(event = "security.csrf_refused", reason, client.addr = %client.0, "CSRF check refused a request");
    crate::error::error_page(
        StatusCode::FORBIDDEN,
        Some("Your form had expired or did not come from this shop. Go back, reload the page and try again.".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn our_own_origin_passes_and_others_are_refused() {
        let public = "http://shop.example";
        let cases: [(&[(&'static str, &'static str)], bool); 7] = [
            (&[("origin", "http://shop.example")], true),
            (&[], true),
            (&[("referer", "http://shop.example/cart")], true),
            (&[("origin", "null")], false),
            (&[("origin", "http://evil.example")], false),
            (&[("origin", "http://shop.example.evil.example")], false),
            (&[("referer", "http://evil.example/x")], false),
        ];
        for (extra, allowed) in cases {
            let mut pairs = vec![("host", "shop.example")];
            pairs.extend_from_slice(extra);
            let verdict = same_origin(&headers(&pairs), None, public);
            assert_eq!(verdict.is_ok(), allowed, "{extra:?}: {verdict:?}");
        }
    }

    #[test]
    fn under_http2_the_authority_stands_in_for_host() {
        let origin = headers(&[("origin", "https://localhost:8443")]);
        let public = "https://127.0.0.1:8443";
        assert!(same_origin(&origin, Some("localhost:8443"), public).is_ok());
        assert!(same_origin(&origin, Some("other.example"), public).is_err());
        assert!(same_origin(&origin, None, public).is_err());
    }
}
