//! Orders (F-06): a customer's order history and one order with its status timeline.
//! [`status`] is the pipeline every status change goes through.

mod pages;
pub mod reference;
pub mod status;
pub mod store;

use axum::Router;
use axum::routing::get;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", get(pages::list))
        .route("/orders/{reference}", get(pages::show))
}
