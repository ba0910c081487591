//! Reading a query string without ever failing with a 500.
//!
//! Fields are read as text and interpreted by the feature (a page number that does not
//! parse falls back to the first page). Only a query that cannot be read at all, such
//! as one repeating a field, is a 400.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Query parameters deserialised into `T`; a malformed query is a 400 page.
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.uri.query() {
            None | Some("") => Ok(Query(T::default())),
            Some(query) => serde_urlencoded::from_str(query).map(Query).map_err(|_| {
                AppError::BadRequest("The address has a search or filter we could not read.".into())
            }),
        }
    }
}

/// Trims a text parameter and treats an empty one as absent.
pub fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}
