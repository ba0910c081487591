//! The plain-HTTP listener (`SECURECART_HTTP_REDIRECT_BIND`): it answers every request,
//! whatever its method, with a 308 to the same path and query on HTTPS, and serves
//! nothing else. 308 keeps the method and body, so a form posted to `http://` is not
//! silently turned into a GET.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header, uri::Authority};
use axum::response::{IntoResponse as _, Response};

/// Where redirects point.
#[derive(Debug, Clone)]
pub enum Target {
    /// The configured public `https://` origin, used whatever `Host` the client sent.
    Origin(String),
    /// The host the client asked for, on the HTTPS listener's port.
    SameHost { https_port: u16 },
}

/// The redirect listener's whole application.
pub fn router(target: Target) -> Router {
    Router::new().fallback(redirect).with_state(target)
}

async fn redirect(State(target): State<Target>, request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let origin = match &target {
        Target::Origin(origin) => origin.clone(),
        Target::SameHost { https_port } => {
            let Some(host) = requested_host(&request) else {
                return (
                    StatusCode::BAD_REQUEST,
                    "This address needs a Host header.\n",
                )
                    .into_response();
            };
            match https_port {
                443 => format!("https://{host}"),
                port => format!("https://{host}:{port}"),
            }
        }
    };
    to_https(&origin, &path)
}

/// A 308 to `path` (with its query) under the `https://` `origin`; a 400 when the two
/// do not make a header value.
pub fn to_https(origin: &str, path: &str) -> Response {
    let Ok(location) = HeaderValue::from_str(&format!("{origin}{path}")) else {
        return (
            StatusCode::BAD_REQUEST,
            "This address cannot be redirected.\n",
        )
            .into_response();
    };
    let mut response = (
        StatusCode::PERMANENT_REDIRECT,
        "This shop is served over HTTPS only.\n",
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The host name (without its port) from `Host`, or the URI's authority under HTTP/2;
/// `None` unless it is a well-formed authority.
fn requested_host(request: &Request) -> Option<String> {
    let authority = match request.headers().get(header::HOST) {
        Some(value) => value.to_str().ok()?.parse::<Authority>().ok()?,
        None => request.uri().authority()?.clone(),
    };
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host();
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt as _;

    async fn location(target: Target, uri: &str, host: Option<&str>) -> (StatusCode, String) {
        let mut request = Request::builder().method("POST").uri(uri);
        if let Some(host) = host {
            request = request.header(header::HOST, host);
        }
        let response = router(target)
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().expect("text").to_owned())
            .unwrap_or_default();
        (response.status(), location)
    }

    #[tokio::test]
    async fn every_request_goes_to_the_same_path_on_https() {
        let origin = Target::Origin("https://shop.example".to_owned());
        assert_eq!(
            location(origin.clone(), "/cart?x=1", Some("evil.example")).await,
            (
                StatusCode::PERMANENT_REDIRECT,
                "https://shop.example/cart?x=1".to_owned()
            )
        );
        assert_eq!(
            location(origin, "//evil.example/", None).await.1,
            "https://shop.example//evil.example/",
            "a path cannot change the host"
        );

        let same = Target::SameHost { https_port: 8443 };
        assert_eq!(
            location(same.clone(), "/a", Some("Shop.Example:8080"))
                .await
                .1,
            "https://shop.example:8443/a"
        );
        let standard = Target::SameHost { https_port: 443 };
        assert_eq!(
            location(standard, "/", Some("[::1]:80")).await.1,
            "https://[::1]/"
        );
        for bad in ["user@evil.example", "a b", ""] {
            assert_eq!(
                location(same.clone(), "/", Some(bad)).await.0,
                StatusCode::BAD_REQUEST,
                "{bad:?}"
            );
        }
    }
}
