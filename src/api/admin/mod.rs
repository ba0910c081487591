//! The back office over the API: products and orders for staff, users for
//! administrators. The same rules and audit entries as the HTML back office: the
//! handlers read and check the request, then call the back office's own functions.
//!
//! Recent passwords: the HTML back office asks for the password again before
//! refunds, cancellations, role changes and deactivations when the last one was typed
//! more than [`REAUTH_AFTER_MS`] ago. The API has no such step: an access token is at
//! most 15 minutes old ([`ACCESS_TTL_SECS`]), so a valid token stands in for a recent
//! sign-in. Refreshing mints new access tokens without a password, so this is weaker
//! than the HTML rule for a caller who holds a refresh token.
//!
//! [`REAUTH_AFTER_MS`]: crate::backoffice::extract::REAUTH_AFTER_MS
//! [`ACCESS_TTL_SECS`]: crate::api::auth::jwt::ACCESS_TTL_SECS

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
