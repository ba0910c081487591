//! The back office (F-07 to F-10, S-04, S-07), under `/admin`. It does not exist for
//! anyone but staff: a layer on the whole tree answers everyone else the shop's 404
//! before any route or method is matched, and each handler also states its need with
//! [`extract::Staff`] or [`extract::Admin`]. Staff actions go to the [`audit`] log.

pub mod analytics;
pub mod audit;
mod categories;
pub mod extract;
pub mod layout;
pub mod order_moves;
mod pages;
pub mod product_rules;
pub mod product_store;
mod products;
pub mod store;
pub mod user_store;
pub(crate) mod users;

use axum::Router;
use axum::middleware::from_fn;
use axum::routing::{get, post};

use crate::app::AppState;
use crate::error::AppError;

pub fn router() -> Router<AppState> {
    let admin = Router::new()
        .route("/", get(pages::dashboard))
        .route("/orders", get(pages::orders))
        .route("/orders/{reference}", get(pages::order))
        .route("/orders/{reference}/status", post(pages::move_order))
        .route("/orders/{reference}/refund", post(pages::refund_items))
        .route("/products", get(products::list).post(products::create))
        .route("/products/new", get(products::new_form))
        .route(
            "/products/{id}",
            get(products::edit_form).post(products::update),
        )
        .route("/products/{id}/active", post(products::set_active))
        .route("/products/{id}/stock", post(products::adjust_stock))
        .route("/products/{id}/image", post(products::upload_image))
        .route(
            "/categories",
            get(categories::list).post(categories::create),
        )
        .route("/categories/{id}", post(categories::rename))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::show).post(users::change))
        .route("/confirm", get(users::confirm_form).post(users::confirm))
        .route("/audit", get(pages::audit_log))
        .route("/analytics", get(analytics::pages::page))
        .route("/analytics.csv", get(analytics::pages::csv))
        .fallback(not_found)
        .layer(from_fn(extract::hide_from_non_staff));
    Router::new().nest("/admin", admin)
}

async fn not_found() -> AppError {
    AppError::NotFound
}
