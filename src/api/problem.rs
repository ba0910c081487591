//! Every API error as `application/problem+json` (RFC 9457).
//!
//! A problem's `type` is stable and names the class of error; clients branch on it,
//! people read `title` and `detail`. Validation problems list each field's message.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::web::form::FieldErrors;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// An error, as the API reports it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the error class, e.g. `/api/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the class, the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// One entry per rejected field, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// The order the problem concerns (a declined payment's order), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_reference: Option<String>,
}

/// What is wrong with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field, as a dotted path into the request (`shipping.postal_code`).
    pub field: String,
    pub message: String,
}

/// The errors handlers return. Each maps to one status and one problem type.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("not allowed")]
    Forbidden,
    #[error("not allowed: {detail}")]
    ForbiddenBecause { kind: &'static str, detail: String },
    #[error("not found")]
    NotFound,
    #[error("conflict: {detail}")]
    Conflict { kind: &'static str, detail: String },
    #[error("body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("invalid fields")]
    Validation(Vec<FieldProblem>),
    #[error("cannot be done: {detail}")]
    Unprocessable { kind: &'static str, detail: String },
    #[error("payment failed")]
    PaymentFailed { detail: String, reference: String },
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::ForbiddenBecause { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) | ApiError::Unprocessable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::PaymentFailed { .. } => StatusCode::PAYMENT_REQUIRED,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// One field's message as a validation error.
    pub fn field(field: &str, message: &str) -> ApiError {
        ApiError::Validation(vec![FieldProblem {
            field: field.to_owned(),
            message: message.to_owned(),
        }])
    }

    pub fn unprocessable(kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::Unprocessable {
            kind,
            detail: detail.into(),
        }
    }

    pub fn forbidden(kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::ForbiddenBecause {
            kind,
            detail: detail.into(),
        }
    }

    pub fn conflict(kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::Conflict {
            kind,
            detail: detail.into(),
        }
    }

    fn problem(&self) -> Problem {
        let status = self.status();
        let mut problem = Problem::generic(status);
        match self {
            ApiError::Malformed(detail) => problem.detail = Some(detail.clone()),
            ApiError::Conflict { kind, detail }
            | ApiError::Unprocessable { kind, detail }
            | ApiError::ForbiddenBecause { kind, detail } => {
                problem.kind = type_uri(kind);
                problem.title = title_of(kind).to_owned();
                problem.detail = Some(detail.clone());
            }
            ApiError::Validation(errors) => problem.errors = errors.clone(),
            ApiError::PaymentFailed { detail, reference } => {
                problem.detail = Some(detail.clone());
                problem.order_reference = Some(reference.clone());
            }
            ApiError::RateLimited { retry_after_secs } => {
                problem.detail = Some(format!("Try again in {retry_after_secs} s."));
            }
            _ => {}
        }
        problem
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::Validation(
            errors
                .0
                .into_iter()
                .map(|(field, message)| FieldProblem {
                    field: field.to_owned(),
                    message,
                })
                .collect(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(err) = &self {
            tracing::error!(error = format!("{err:#}"), "API request failed");
        }
        let mut response = self.problem().into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"securecart\""),
                );
            }
            ApiError::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

impl Problem {
    /// The problem every response of `status` gets when nothing more is known.
    pub fn generic(status: StatusCode) -> Problem {
        let kind = kind_of(status);
        Problem {
            kind: type_uri(kind),
            title: title_of(kind).to_owned(),
            status: status.as_u16(),
            detail: None,
            errors: Vec::new(),
            order_reference: None,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            body,
        )
            .into_response()
    }
}

fn type_uri(kind: &str) -> String {
    format!("/api/problems/{kind}")
}

/// The problem type of a status when the handler gave none.
fn kind_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "malformed-request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        406 => "not-acceptable",
        408 => "request-timeout",
        409 => "conflict",
        402 => "payment-failed",
        413 => "payload-too-large",
        415 => "unsupported-media-type",
        422 => "validation",
        429 => "rate-limited",
        s if s >= 500 => "internal",
        _ => "client-error",
    }
}

fn title_of(kind: &str) -> &'static str {
    match kind {
        "malformed-request" => "The request could not be read",
        "unauthorized" => "A valid access token is required",
        "forbidden" => "You may not do this",
        "not-found" => "Not found",
        "method-not-allowed" => "This method is not allowed here",
        "not-acceptable" => "This representation is not available",
        "request-timeout" => "The request took too long",
        "conflict" => "The request conflicts with the current state",
        "payment-failed" => "The payment did not go through",
        "payload-too-large" => "The request body is too large",
        "unsupported-media-type" => "The body must be application/json",
        "validation" => "Some fields are invalid",
        "rate-limited" => "Too many requests",
        "internal" => "Something went wrong on our side",
        "idempotency-key-reused" => "This Idempotency-Key was used for another request",
        "request-in-progress" => "A request with this Idempotency-Key is in progress",
        "cart-not-ready" => "The cart cannot be checked out as it is",
        "out-of-stock" => "Not enough stock",
        "cart-full" => "The cart holds as many products as it can",
        "checkout-busy" => "Another checkout of this account is in progress",
        "payments-paused" => "Payments from this account are paused",
        "not-verified" => "The email address is not confirmed",
        "reauthentication-required" => "Sign in again with your password to do this",
        "invalid-transition" => "The order cannot move to that status",
        "email-taken" => "The email address belongs to another account",
        "sku-taken" => "Another product has this SKU",
        "refund-refused" => "The payment cannot be refunded",
        "invalid-refund" => "These items cannot be refunded",
        "stock-out-of-range" => "The stock would go out of its range",
        "own-account" => "You cannot do this to your own account",
        _ => "The request cannot be done",
    }
}

/// Middleware for the API: any error response that is not a problem yet (from axum's
/// extractors, the method router, the body limit or the timeout) becomes one, keeping
/// the headers that matter (`Allow`, `Retry-After`).
pub async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    problemify(response)
}

/// The response, or the generic problem of its status when it is a non-problem error.
pub fn problemify(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == CONTENT_TYPE.as_bytes());
    if is_problem {
        return response;
    }
    let mut problem = Problem::generic(status).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = response.headers().get(&name) {
            problem.headers_mut().insert(name, value.clone());
        }
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_class_has_its_own_stable_type() {
        let cases = [
            (ApiError::Malformed("x".into()), 400, "malformed-request"),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (ApiError::Forbidden, 403, "forbidden"),
            (ApiError::NotFound, 404, "not-found"),
            (ApiError::PayloadTooLarge, 413, "payload-too-large"),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported-media-type",
            ),
            (ApiError::field("quantity", "bad"), 422, "validation"),
            (
                ApiError::unprocessable("idempotency-key-reused", "x"),
                422,
                "idempotency-key-reused",
            ),
            (
                ApiError::RateLimited {
                    retry_after_secs: 3,
                },
                429,
                "rate-limited",
            ),
        ];
        for (error, status, kind) in cases {
            let problem = error.problem();
            assert_eq!(problem.status, status);
            assert_eq!(problem.kind, format!("/api/problems/{kind}"));
            assert_ne!(problem.title, "The request cannot be done", "{kind}");
        }
    }
}
