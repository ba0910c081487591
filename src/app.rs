//! The shared state and the middleware stack around the feature routers.

use std::any::Any;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use axum::{Router, extract::DefaultBodyLimit};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::api::ApiState;
use crate::checkout::payment::PaymentGateway;
use crate::checkout::payment::dummy::DummyGateway;
use crate::config::Settings;
use crate::db::Db;
use crate::email::Mailer;
use crate::error::{AppError, error_page};
use crate::security::headers::add_security_headers;
use crate::security::password::Hasher;
use crate::security::{client_addr, csrf, session};
use crate::web::error_pages::dress_bare_errors;
use crate::web::request_log::{log_request, remember_route};
use crate::{accounts, api, backoffice, cart, catalog, checkout, orders, site, web};

/// What every handler may use. Cheap to clone: it is a handful of shared handles.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub hasher: Hasher,
    pub mailer: Mailer,
    pub gateway: Arc<dyn PaymentGateway>,
    /// The JSON API's signing keys and rate limiters.
    pub api: Arc<ApiState>,
}

impl AppState {
    pub fn new(db: Db, settings: Settings) -> anyhow::Result<Self> {
        // Half the cores may hash at once; the rest keep serving pages.
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let hasher = Hasher::new(settings.pbkdf2_iterations, (cores / 2).max(1));
        let mailer = Mailer::new(
            settings.smtp_url.as_deref(),
            settings.outbox_dir(),
            &settings.mail_from,
        )?;
        Ok(AppState {
            db,
            api: Arc::new(ApiState::new(&settings)?),
            settings: Arc::new(settings),
            hasher,
            mailer,
            gateway: Arc::new(DummyGateway::new()),
        })
    }
}

/// The whole application: every feature's routes behind the security middleware.
///
/// Layers, outermost first: client address and transport → request log → security
/// headers (HSTS over HTTPS) → error pages → panic guard → request timeout → body
/// limit, then for the shop's pages session → CSRF → router, and for `/api` the API's own stack (see [`api::router`]):
/// no cookies and no CSRF there.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The application with `extra` routes mounted behind the same middleware, for tests
/// that need a handler the shop does not have (one that panics, say).
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let limits = state.settings.limits.clone();

    let routes = Router::new()
        .merge(extra)
        .merge(catalog::router())
        .merge(accounts::router())
        .merge(cart::router())
        .merge(checkout::router())
        .merge(orders::router())
        .merge(backoffice::router())
        .merge(site::router())
        .merge(web::router())
        .fallback(not_found)
        .layer(from_fn(remember_route))
        .layer(from_fn_with_state(state.clone(), csrf::layer))
        .layer(from_fn_with_state(state.clone(), session::layer))
        .merge(api::router(&state))
        .with_state(state.clone());

    routes.layer(
        ServiceBuilder::new()
            .layer(from_fn_with_state(state.clone(), client_addr::layer))
            .layer(from_fn(log_request))
            .layer(from_fn_with_state(state, add_security_headers))
            .layer(from_fn(dress_bare_errors))
            .layer(CatchPanicLayer::custom(panic_page))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                limits.request_timeout,
            ))
            .layer(RequestBodyLimitLayer::new(limits.body_limit))
            .layer(DefaultBodyLimit::max(limits.body_limit)),
    )
}

async fn not_found() -> AppError {
    AppError::NotFound
}

/// A panic in a handler becomes the generic 500 page; the message goes to the log.
fn panic_page(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    tracing::error!(panic = message, "handler panicked");
    error_page(StatusCode::INTERNAL_SERVER_ERROR, None)
}
