//! Reading API requests strictly: JSON bodies and query strings.
//!
//! A body must say `Content-Type: application/json` (else 415), fit the API's body
//! limit (else 413) and be JSON (else 400). JSON of the wrong shape — an unknown
//! field, a missing one, a string where a number belongs — is a 422 naming the field.
//! The request types carry `#[serde(deny_unknown_fields)]`, so `role`, `price` or
//! `user_id` smuggled into a body are refused, not ignored.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize as _;
use serde::de::DeserializeOwned;

use crate::api::problem::{ApiError, FieldProblem};

/// The largest JSON body the API reads. Requests are small; anything bigger is abuse.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body deserialised into `T`.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                    _ => ApiError::Malformed("The request body could not be read.".into()),
                })?;
        parse(&bytes).map(ApiJson)
    }
}

/// `application/json`, with or without parameters such as `charset=utf-8`.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Deserialises a body, telling malformed JSON (400) from JSON of the wrong shape (422).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => shape_error(&path, &inner.to_string()),
            _ => ApiError::Malformed(format!("The body is not valid JSON: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|_| ApiError::Malformed("The body has data after the JSON value.".into()))?;
    Ok(value)
}

/// A 422 for `path`. serde's messages name Rust types and positions; keep the part a
/// client can act on.
fn shape_error(path: &str, message: &str) -> ApiError {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    let field = match path {
        "." | "" => field_named_in(&message).unwrap_or_else(|| "body".to_owned()),
        path => match field_named_in(&message) {
            Some(name) if message.starts_with("missing field") => format!("{path}.{name}"),
            _ => path.to_owned(),
        },
    };
    ApiError::Validation(vec![FieldProblem { field, message }])
}

/// The field in "unknown field `role`, expected …" or "missing field `email`".
fn field_named_in(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_owned())
}

/// Deserialises a whole number, also written as `5.0`: JSON Schema's `integer` says
/// that is the same number. `5.5`, strings and out-of-range values are refused.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    use serde::de::Error as _;

    let value = serde_json::Number::deserialize(deserializer)?;
    if let Some(n) = value.as_i64() {
        return Ok(n);
    }
    match value.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(D::Error::custom(format!(
            "expected a whole number, found {value}"
        ))),
    }
}

/// Query parameters deserialised into `T`. Unknown or malformed parameters are a 422
/// naming the parameter; an absent query is `T::default()`.
#[derive(Debug, Clone, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        if query.is_empty() {
            return Ok(ApiQuery(T::default()));
        }
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                let message = err.into_inner().to_string();
                let field = field_named_in(&message)
                    .filter(|_| path == "." || path.is_empty())
                    .unwrap_or(path);
                ApiError::Validation(vec![FieldProblem { field, message }])
            })
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        product_id: i64,
        quantity: i64,
    }

    fn field_of(error: ApiError) -> (StatusCode, String) {
        let status = error.status();
        match error {
            ApiError::Validation(errors) => (status, errors[0].field.clone()),
            _ => (status, String::new()),
        }
    }

    #[test]
    fn broken_json_is_400_and_the_wrong_shape_is_422_naming_the_field() {
        let cases: [(&str, u16, &str); 7] = [
            ("{", 400, ""),
            ("[1, 2", 400, ""),
            (r#"{"product_id": 1, "quantity": 2} x"#, 400, ""),
            (r#"{"product_id": 1}"#, 422, "quantity"),
            (r#"{"product_id": "1", "quantity": 2}"#, 422, "product_id"),
            (
                r#"{"product_id": 1, "quantity": 2, "price": "0.01"}"#,
                422,
                "price",
            ),
            ("[]", 422, "body"),
        ];
        for (body, status, field) in cases {
            let error = parse::<Item>(body.as_bytes()).expect_err(body);
            let (got_status, got_field) = field_of(error);
            assert_eq!(got_status.as_u16(), status, "{body}");
            assert_eq!(got_field, field, "{body}");
        }
        assert!(parse::<Item>(br#"{"product_id": 1, "quantity": 2}"#).is_ok());
    }

    #[test]
    fn only_json_content_types_are_read() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        for (value, ok) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
            ("application/jsonx", false),
        ] {
            headers.insert(header::CONTENT_TYPE, value.parse().expect("header"));
            assert_eq!(is_json(&headers), ok, "{value}");
        }
    }
}
