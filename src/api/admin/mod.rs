//! The back office over the API: products and orders for staff, users for
//! administrators. The same rules and audit entries as the HTML back office: the
//! handlers read and check the request, then call the back office's own functions.
//!
//! Recent passwords: the HTML back office asks for the password again before
//! refunds, cancellations, role changes and deactivations when the last one was typed
//! more than [`REAUTH_AFTER_MS`] ago. The API asks the same of the sign-in behind the
//! token: each access token carries `auth_time`, the moment its family's password was
//! typed, unchanged by refreshes; when that is too old these actions answer 403
//! `reauthentication-required`, and a fresh `POST /api/v1/auth/token` allows them.
//!
//! [`REAUTH_AFTER_MS`]: crate::backoffice::extract::REAUTH_AFTER_MS

mod orders;
mod products;
mod users;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::problem::ApiError;
use crate::app::AppState;
use crate::web::query::non_empty;

/// The longest search text the back office reads, as on its pages.
const MAX_SEARCH_LEN: usize = 100;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(products::list_products, products::create_product))
        .routes(routes!(products::show_product, products::update_product))
        .routes(routes!(products::set_active))
        .routes(routes!(products::adjust_stock))
        .routes(routes!(orders::list_orders))
        .routes(routes!(orders::show_order))
        .routes(routes!(orders::move_order))
        .routes(routes!(orders::refund_items))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::show_user, users::update_user))
        .routes(routes!(users::unlock_user))
        .routes(routes!(users::end_sessions))
}

/// A search parameter: trimmed, `None` when empty, a 422 when too long.
fn search(name: &str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    match non_empty(value) {
        Some(v) if v.chars().count() > MAX_SEARCH_LEN => Err(ApiError::field(
            name,
            &format!("Use at most {MAX_SEARCH_LEN} characters."),
        )),
        v => Ok(v.map(str::to_owned)),
    }
}
