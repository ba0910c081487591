//! The shop's informational pages: privacy and contact.

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
    Router::new()
        .route("/privacy", get(privacy))
        .route("/contact", get(contact))
}

#[derive(Template)]
#[template(path = "site/privacy.html")]
struct PrivacyPage {
    layout: Layout,
}

#[derive(Template)]
#[template(path = "site/contact.html")]
struct ContactPage {
    layout: Layout,
}

async fn privacy(
    State(state): State<AppState>,
    session: CurrentSession,
) -> Result<Html<String>, AppError> {
    render(&PrivacyPage {
        layout: Layout::load(&state, &session, "Privacy").await?,
    })
}

async fn contact(
    State(state): State<AppState>,
    session: CurrentSession,
) -> Result<Html<String>, AppError> {
    render(&ContactPage {
        layout: Layout::load(&state, &session, "Contact").await?,
    })
}
