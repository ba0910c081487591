//! The JSON API under `/api/v1` (F-11, S-10) and its OpenAPI document.
//!
//! A sibling of the HTML router: no cookies, no sessions, no CSRF surface. Callers
//! authenticate with bearer tokens ([`auth`]); every error is a problem document
//! ([`problem`]); bodies and queries are read strictly ([`input`]); every request
//! draws on a rate limit ([`limits`]). Handlers call the same rules as the pages do:
//! the cart, checkout, orders and back-office modules. Nothing is implemented twice.

mod admin;
pub mod auth;
mod cart;
mod catalog;
mod checkout;
pub mod input;
pub mod limits;
pub mod openapi;
mod orders;
pub mod problem;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse as _;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::config::Settings;
use crate::web::request_log::remember_route;
use auth::jwt::AccessTokens;
use limits::RateLimits;

/// What the API keeps beside the shop's state: its signing keys and rate limiters.
pub struct ApiState {
    pub tokens: AccessTokens,
    pub limits: RateLimits,
}

impl ApiState {
    pub fn new(settings: &Settings) -> anyhow::Result<ApiState> {
        Ok(ApiState {
            tokens: AccessTokens::new(&settings.secret, &settings.public_url)?,
            limits: RateLimits::new(&settings.api),
        })
    }
}

/// The handlers, with the document generated from their annotations.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(auth::issue_token))
        .routes(routes!(auth::refresh_token))
        .routes(routes!(auth::revoke_token))
        .routes(routes!(catalog::list_products))
        .routes(routes!(catalog::show_product))
        .routes(routes!(catalog::list_categories))
        .routes(routes!(cart::show_cart))
        .routes(routes!(cart::add_item))
        .routes(routes!(cart::update_item, cart::remove_item))
        .routes(routes!(checkout::check_out))
        .routes(routes!(orders::list_orders))
        .routes(routes!(orders::show_order))
        .merge(admin::routes())
}

/// The OpenAPI document, as served at `/api/openapi.json`.
pub fn document() -> serde_json::Value {
    let (_, doc) = routes().split_for_parts();
    openapi::finish(doc)
}

/// The API's routes behind its own middleware. Layers, outermost first: CORS (when
/// configured) → `Cache-Control: no-store` → problem documents for bare errors → rate
/// limit → body limit → route.
pub fn router(state: &AppState) -> Router<AppState> {
    let (api, doc) = routes().split_for_parts();
    let document = serde_json::to_vec_pretty(&openapi::finish(doc)).unwrap_or_default();
    let serve_document = move || {
        let body = document.clone();
        async move {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response()
        }
    };

    let api = api
        .route("/api/openapi.json", axum::routing::get(serve_document))
        .layer(DefaultBodyLimit::max(input::BODY_LIMIT))
        .layer(from_fn(remember_route))
        .layer(from_fn_with_state(state.clone(), limits::layer))
        .layer(from_fn(problem::problem_for_bare_errors))
        // Tokens, carts and orders are nobody's to cache.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    match cors(&state.settings.api.cors_origins) {
        Some(cors) => api.layer(cors),
        None => api,
    }
}

/// CORS for the listed origins only; `None` (no CORS headers at all) without any.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([header::RETRY_AFTER, header::LOCATION])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// A money amount as the API writes it: major units with two decimals, `"12.25"`.
pub fn amount(money: crate::money::Money) -> String {
    money.to_string()
}

/// Which page of a list to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
}

impl Paging {
    pub const MAX_PAGE: u32 = 10_000;
    pub const MAX_PER_PAGE: u32 = 100;
    pub const DEFAULT_PER_PAGE: u32 = 20;

    /// The page asked for; out of range is a 422 naming the parameter.
    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Result<Paging, problem::ApiError> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(Self::DEFAULT_PER_PAGE);
        if !(1..=Self::MAX_PAGE).contains(&page) {
            return Err(problem::ApiError::field(
                "page",
                &format!("Use a page from 1 to {}.", Self::MAX_PAGE),
            ));
        }
        if !(1..=Self::MAX_PER_PAGE).contains(&per_page) {
            return Err(problem::ApiError::field(
                "per_page",
                &format!("Use from 1 to {} per page.", Self::MAX_PER_PAGE),
            ));
        }
        Ok(Paging { page, per_page })
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

/// Forgets expired refresh tokens, day-old idempotency keys and idle rate limit
/// entries. Run every few minutes.
pub async fn purge(state: &AppState) -> anyhow::Result<()> {
    let tokens = auth::refresh::purge_expired(&state.db).await?;
    let keys = checkout::purge_keys(state).await?;
    state.api.limits.purge();
    tracing::debug!(tokens, keys, "purged API data");
    Ok(())
}
