//! Checkout (F-05): shipping details, then card payment, then the order. The order is
//! placed by [`service::place_order`]; [`payment`] holds the gateway trait and the
//! dummy gateway of the test cards.

mod pages;
pub mod payment;
pub mod service;
pub mod shipping;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/checkout",
            get(pages::shipping_form).post(pages::place_order),
        )
        .route("/checkout/shipping", post(pages::save_shipping))
        .route("/checkout/payment", get(pages::payment_form))
}
