//! Gives bare error responses the shop's error page.
//!
//! Layers and extractors outside our handlers (the body limit, the timeout, axum's
//! method router) answer with plain text; people should see the same page as for
//! every other error. Responses that already carry HTML or JSON pass unchanged. Under
//! `/api/` every error becomes a problem document instead.

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use crate::api::problem::problemify;
use crate::error::error_page;

pub async fn dress_bare_errors(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if is_api {
        // The API speaks problem documents, also for paths it does not have.
        return problemify(response);
    }
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let bare = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !bare {
        return response;
    }

    let mut page = error_page(status, None);
    if let Some(allow) = response.headers().get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    page
}
