//! The client's network address, and whether the request reached us over HTTPS.
//!
//! Rate limits and security events key on the address. It is the socket's peer, unless
//! that peer is one of `SECURECART_TRUSTED_PROXIES`: then it is the right-most address
//! in `X-Forwarded-For` (or the `for=` of RFC 7239's `Forwarded`, whichever
//! `SECURECART_PROXY_HEADERS` names) that is not itself a trusted proxy. The request
//! counts as HTTPS when it came over our own TLS listener, or when a trusted proxy
//! says so in `X-Forwarded-Proto` (or `proto=`). Forwarded headers from anyone else
//! are ignored, so a client can choose neither its address nor its scheme.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::app::AppState;
use crate::config::ProxyHeaders;
use crate::server::TlsConnection;

/// The address of the client that sent the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The address the client layer settled on, or the socket's peer without it.
    pub fn from_extensions(extensions: &Extensions) -> ClientAddr {
        if let Some(addr) = extensions.get::<ClientAddr>() {
            return *addr;
        }
        let ip = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        ClientAddr(ip)
    }

    pub fn from_parts(parts: &Parts) -> ClientAddr {
        ClientAddr::from_extensions(&parts.extensions)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::from_parts(parts))
    }
}

/// How the request travelled, as the client layer decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Transport {
    /// The client used HTTPS (to us, or to a trusted proxy that said so).
    pub https: bool,
    /// Cookies are `Secure` and `__Host-` prefixed: over HTTPS, and always when the
    /// public URL is `https://`.
    pub secure_cookies: bool,
}

impl Transport {
    pub fn from_extensions(extensions: &Extensions) -> Transport {
        extensions.get::<Transport>().copied().unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Transport {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Transport::from_extensions(&parts.extensions))
    }
}

/// Middleware, outermost: decides the client's address and the transport once for
/// every layer after it. A trusted proxy that says the client used plain HTTP, when
/// the shop's public URL is `https://`, gets a 308 to that URL (health checks aside).
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let settings = &state.settings;
    let peer = ClientAddr::from_extensions(request.extensions()).0;
    let tls = request.extensions().get::<TlsConnection>().is_some();
    let seen = resolve(
        peer,
        request.headers(),
        &settings.trusted_proxies,
        settings.https.proxy_headers,
    );
    let https = tls || seen.proto.as_deref() == Some("https");
    let public_https = settings.public_url.starts_with("https://");

    if !https && seen.proto.is_some() && public_https && !is_health_check(request.uri().path()) {
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
        return crate::server::redirect::to_https(&settings.public_url, path);
    }
    let extensions = request.extensions_mut();
    extensions.insert(ClientAddr(seen.client));
    extensions.insert(Transport {
        https,
        secure_cookies: https || settings.sessions.secure_cookies,
    });
    next.run(request).await
}

fn is_health_check(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}

/// What the forwarded headers, read only from a trusted peer, tell about the client.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    client: IpAddr,
    /// The scheme a trusted proxy reported (lower case), if it reported one.
    proto: Option<String>,
}

fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet], which: ProxyHeaders) -> Seen {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let untouched = Seen {
        client: peer,
        proto: None,
    };
    if !is_trusted(&peer) {
        return untouched;
    }
    match which {
        ProxyHeaders::XForwarded => {
            let client = values(headers, "x-forwarded-for")
                .filter_map(|entry| entry.parse::<IpAddr>().ok())
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .find(|ip| !is_trusted(ip))
                .unwrap_or(peer);
            // The right-most value is the one our own proxy wrote.
            let proto = values(headers, "x-forwarded-proto")
                .last()
                .map(|p| p.to_ascii_lowercase());
            Seen { client, proto }
        }
        ProxyHeaders::Forwarded => {
            let hops = values(headers, "forwarded")
                .map(parse_hop)
                .collect::<Vec<_>>();
            // The nearest hop that a trusted proxy did not make describes the client;
            // when every hop is a trusted proxy's, the farthest one does.
            let hop = hops
                .iter()
                .rev()
                .find(|hop| !hop.client.as_ref().is_some_and(is_trusted))
                .or(hops.first());
            match hop {
                Some(hop) => Seen {
                    client: hop.client.unwrap_or(peer),
                    proto: hop.proto.clone(),
                },
                None => untouched,
            }
        }
    }
}

/// The comma-separated entries of every instance of a header, trimmed.
fn values<'a>(headers: &'a HeaderMap, name: &'static str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// One element of a `Forwarded` header (RFC 7239): `for=…;proto=…;by=…`.
#[derive(Debug, Default)]
struct Hop {
    /// `None` for `unknown`, an obfuscated name or anything unreadable.
    client: Option<IpAddr>,
    proto: Option<String>,
}

fn parse_hop(element: &str) -> Hop {
    let mut hop = Hop::default();
    for pair in element.split(';') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "for" => hop.client = node_address(value),
            "proto" => hop.proto = Some(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    hop
}

/// `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let host = node.split_once(':').map_or(node, |(host, _port)| host);
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn forwarded(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(value));
        headers
    }

    fn client(peer: &str, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
        resolve(ip(peer), headers, trusted, ProxyHeaders::XForwarded).client
    }

    #[test]
    fn a_forwarded_header_from_an_untrusted_peer_is_ignored() {
        let mut headers = forwarded("1.2.3.4");
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        headers.insert(
            "forwarded",
            HeaderValue::from_static("for=1.2.3.4;proto=https"),
        );
        for which in [ProxyHeaders::XForwarded, ProxyHeaders::Forwarded] {
            let seen = resolve(ip("203.0.113.9"), &headers, &[], which);
            assert_eq!(
                seen,
                Seen {
                    client: ip("203.0.113.9"),
                    proto: None
                }
            );
        }
    }

    #[test]
    fn only_the_configured_kind_of_header_is_read() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let mut headers = forwarded("198.51.100.7");
        headers.insert(
            "forwarded",
            HeaderValue::from_static("for=6.6.6.6;proto=https"),
        );
        let x = resolve(ip("10.0.0.2"), &headers, &trusted, ProxyHeaders::XForwarded);
        assert_eq!(x.client, ip("198.51.100.7"));
        assert_eq!(x.proto, None);
        let f = resolve(ip("10.0.0.2"), &headers, &trusted, ProxyHeaders::Forwarded);
        assert_eq!(f.client, ip("6.6.6.6"));
        assert_eq!(f.proto.as_deref(), Some("https"));
    }

    #[test]
    fn forwarded_elements_are_read_as_rfc_7239_writes_them() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let mut headers = HeaderMap::new();
        headers.insert(
            "forwarded",
            HeaderValue::from_static(
                "for=6.6.6.6;proto=https, For=\"[2001:db8::7]:4711\";Proto=HTTP;by=10.0.0.1, \
                 for=10.0.0.9;proto=https",
            ),
        );
        let seen = resolve(ip("10.0.0.2"), &headers, &trusted, ProxyHeaders::Forwarded);
        assert_eq!(seen.client, ip("2001:db8::7"));
        assert_eq!(seen.proto.as_deref(), Some("http"), "the client's own hop");

        headers.insert(
            "forwarded",
            HeaderValue::from_static("for=unknown;proto=https"),
        );
        let seen = resolve(ip("10.0.0.2"), &headers, &trusted, ProxyHeaders::Forwarded);
        assert_eq!(seen.client, ip("10.0.0.2"), "an unknown client is the peer");
        assert_eq!(node_address("192.0.2.1:80"), Some(ip("192.0.2.1")));
        assert_eq!(node_address("_hidden"), None);
    }

    #[test]
    fn the_scheme_is_the_one_our_proxy_wrote_last() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1/32".parse().expect("net")];
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https, HTTP"));
        let seen = resolve(
            ip("127.0.0.1"),
            &headers,
            &trusted,
            ProxyHeaders::XForwarded,
        );
        assert_eq!(seen.proto.as_deref(), Some("http"));
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_client_it_saw() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let headers = forwarded("6.6.6.6, 198.51.100.7, 10.0.0.3");
        assert_eq!(client("10.0.0.2", &headers, &trusted), ip("198.51.100.7"));
        assert_eq!(
            client("10.0.0.2", &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            client("10.0.0.2", &forwarded("garbage"), &trusted),
            ip("10.0.0.2")
        );
    }
}
