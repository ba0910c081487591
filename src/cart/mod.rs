//! The shopping cart (F-04): a visitor's cart lives with their session and joins the
//! account's cart at login; a signed-in customer's cart is kept with the account.
//! Prices are read from the database every time the cart is shown or bought.

pub mod contents;
mod pages;
pub mod quantity;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cart", get(pages::show))
        .route("/cart/add", post(pages::add))
        .route("/cart/lines/{product}", post(pages::update))
        .route("/cart/lines/{product}/remove", post(pages::remove))
}
