//! The shopping cart. Carts need sessions, which arrive with accounts; until then the
//! cart page exists so the header's link leads somewhere true: an empty cart.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;

use crate::app::AppState;
use crate::error::AppError;
use crate::security::session::CurrentSession;
use crate::web::layout::Layout;
use crate::web::render;

pub fn router() -> Router<AppState> {
    Router::new().route("/cart", get(cart))
}

#[derive(Template)]
#[template(path = "cart/cart.html")]
struct CartPage {
    layout: Layout,
}

async fn cart(
    State(state): State<AppState>,
    session: CurrentSession,
) -> Result<Html<String>, AppError> {
    render(&CartPage {
        layout: Layout::load(&state, &session, "Your cart").await?,
    })
}
