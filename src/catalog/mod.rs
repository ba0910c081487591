//! The catalogue: categories and products, browsing, search and the product page,
//! plus the ways products arrive (CSV import, the demo catalogue, generated seeds).

pub mod art;
pub mod demo;
pub mod fields;
pub mod images;
pub mod import;
pub(crate) mod pages;
pub mod slug;
pub mod store;

use axum::Router;
use axum::routing::get;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/products", get(pages::list))
        .route("/products/{slug}", get(pages::product))
        .route("/media/art/{file}", get(art::serve))
        .route("/media/uploads/{file}", get(images::serve))
}
