//! The back office over the API: products and orders for staff, users for
//! administrators. The same rules and audit entries as the HTML back office.

use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
