//! The application error: what a handler returns when it cannot answer normally.
//!
//! Each variant decides its status code and what the person sees. Internal causes are
//! logged once, here, and never shown: the page says only that something went wrong.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::web::layout::Layout;

/// Every failure a handler can report.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 404: the thing does not exist, or the person may not know that it does.
    #[error("not found")]
    NotFound,
    /// 400: the request could not be understood; the message is safe to show.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 413: the body is larger than the route accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 500: anything unexpected. The cause goes to the log, never to the page.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        AppError::Internal(anyhow::Error::new(err).context("database query"))
    }
}

impl From<askama::Error> for AppError {
    fn from(err: askama::Error) -> Self {
        AppError::Internal(anyhow::Error::new(err).context("rendering a template"))
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            AppError::BadRequest(message) => Some(message.clone()),
            AppError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                None
            }
            _ => None,
        };
        error_page(status, detail)
    }
}

/// The shop's page for an error status, in the shop's layout.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    heading: &'static str,
    explanation: &'static str,
    detail: Option<String>,
}

/// Renders the error page for `status`. `detail` must already be safe to show.
pub fn error_page(status: StatusCode, detail: Option<String>) -> Response {
    let (heading, explanation) = wording(status);
    let page = ErrorPage {
        layout: Layout::minimal(heading),
        status: status.as_u16(),
        heading,
        explanation,
        detail,
    };
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "rendering the error page");
            (status, heading).into_response()
        }
    }
}

fn wording(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => (
            "That request did not make sense",
            "Something in the address or the form could not be read. Check it and try again.",
        ),
        StatusCode::NOT_FOUND => (
            "Page not found",
            "We could not find what you were looking for. It may have moved or no longer exist.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "That action is not available here",
            "This page cannot be used that way. Go back and use the links or forms on the page.",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "That took too long",
            "The request was not completed in time. Please try again.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "That was too much to send",
            "What you sent is larger than we accept. Send less at once and try again.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "That format is not accepted",
            "The form was sent in a format this page does not accept.",
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            "Too many requests",
            "You are going a little fast. Wait a moment and try again.",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            "The shop is briefly unavailable",
            "We are having trouble right now. Please try again in a few minutes.",
        ),
        _ if status.is_client_error() => (
            "That request could not be completed",
            "Something about the request was not right. Go back and try again.",
        ),
        _ => (
            "Something went wrong on our side",
            "We have been told about it. Please try again in a moment.",
        ),
    }
}
