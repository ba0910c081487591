//! Serving the router over HTTP/1.1 and HTTP/2, plain or over TLS, with the
//! protections axum's own `serve` lacks: a deadline for the TLS handshake and the
//! request headers (a slow client is cut off) and a graceful shutdown that lets
//! requests in flight finish.

pub mod redirect;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// Marks a request that arrived over the server's own TLS listener.
#[derive(Debug, Clone, Copy)]
pub struct TlsConnection;

/// How long requests in flight may take to finish once shutdown has begun.
const DRAIN_DEADLINE: Duration = Duration::from_secs(30);

/// Accepts connections on `listener` until `shutdown` completes, then waits for open
/// requests to finish (up to a deadline) and returns.
///
/// With `tls`, every connection is a TLS one, which must finish its handshake within
/// `header_timeout`; the handshake happens in the connection's own task, so a slow one
/// holds up nobody else.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .max_concurrent_streams(256);

    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Running out of file descriptors is temporary; back off briefly.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Keep-alive responses should not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);

        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        match tls.clone() {
            None => {
                tokio::spawn(run_connection(builder, watcher, stream, app, peer, false));
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    let stream =
                        match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(err)) => {
                                tracing::debug!(%peer, error = %err, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    run_connection(builder, watcher, stream, app, peer, true).await;
                });
            }
        }
    }

    tracing::info!("shutting down: no new connections, finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(DRAIN_DEADLINE) => {
            tracing::warn!("shutdown deadline passed with connections still open");
        }
    }
    Ok(())
}

/// Serves one connection until it closes; each request is told the peer's address and
/// whether it came over TLS.
async fn run_connection<IO>(
    builder: Builder<TokioExecutor>,
    watcher: Watcher,
    stream: IO,
    app: Router,
    peer: SocketAddr,
    tls: bool,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let extensions = request.extensions_mut();
        extensions.insert(ConnectInfo::<SocketAddr>(peer));
        if tls {
            extensions.insert(TlsConnection);
        }
        app.clone().oneshot(request.map(Body::new))
    });
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    // Errors here are clients hanging up or timing out; nothing to report.
    let _ = watcher.watch(connection.into_owned()).await;
}

/// Binds the listening socket, with a message that names the address on failure.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))
}

/// Without TLS there is nothing to reload: SIGHUP (`systemctl reload`) is logged and
/// otherwise ignored, instead of ending the process as it would by default.
pub async fn ignore_hangups() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(mut hangup) => {
                while hangup.recv().await.is_some() {
                    tracing::info!("SIGHUP: no TLS certificate to reload");
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot listen for SIGHUP"),
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
