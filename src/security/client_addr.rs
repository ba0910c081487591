//! The client's network address.
//!
//! Rate limits and security events key on this value. It is the socket's peer, unless
//! that peer is one of `SECURECART_TRUSTED_PROXIES`: then it is the right-most address
//! in `X-Forwarded-For` that is not itself a trusted proxy. A forwarded header from
//! anyone else is ignored, so a client cannot choose its own address.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::app::AppState;

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

/// Middleware, outermost: decides the client's address once for every layer after it.
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = ClientAddr::from_extensions(request.extensions()).0;
    let addr = resolve(peer, request.headers(), &state.settings.trusted_proxies);
    request.extensions_mut().insert(ClientAddr(addr));
    next.run(request).await
}

fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|entry| entry.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
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

    #[test]
    fn a_forwarded_header_from_an_untrusted_peer_is_ignored() {
        let addr = resolve(ip("203.0.113.9"), &forwarded("1.2.3.4"), &[]);
        assert_eq!(addr, ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_client_it_saw() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let headers = forwarded("6.6.6.6, 198.51.100.7, 10.0.0.3");
        assert_eq!(
            resolve(ip("10.0.0.2"), &headers, &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            resolve(ip("10.0.0.2"), &forwarded("garbage"), &trusted),
            ip("10.0.0.2")
        );
    }
}
