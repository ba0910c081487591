//! HTTP plumbing shared by the feature modules: the page layout, pagination, query
//! parsing, static assets, health probes and the request log.

pub mod error_pages;
pub mod form;
pub mod health;
pub mod layout;
pub mod pagination;
pub mod query;
pub mod request_log;
pub mod static_files;

use askama::Template;
use axum::Router;
use axum::response::Html;

use crate::app::AppState;
use crate::error::AppError;

/// Routes that belong to no feature: static assets and the health probes.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(static_files::router())
        .merge(health::router())
}

/// Renders a page template into an HTML response.
pub fn render<T: Template>(page: &T) -> Result<Html<String>, AppError> {
    Ok(Html(page.render()?))
}
