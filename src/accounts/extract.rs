//! What a handler states it needs from the person asking.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse as _, Redirect, Response};

use crate::security::session::{CurrentSession, SessionUser};

/// A signed-in user. Visitors are sent to the login page, which brings them back.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: SessionUser,
    /// The session's id hash, to keep it when ending the user's other sessions.
    pub session_id_hash: String,
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        if let Some(CurrentSession(Some(session))) = parts.extensions.get::<CurrentSession>()
            && let Some(user) = &session.user
        {
            return Ok(CurrentUser {
                user: user.clone(),
                session_id_hash: session.id_hash.clone(),
            });
        }
        let here = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        Err(Redirect::to(&format!("/account/login?next={next}")).into_response())
    }
}

/// A signed-in user whose email address is confirmed, as checkout requires. Others
/// are sent to their account page, which explains and offers a new link.
#[derive(Debug, Clone)]
pub struct VerifiedUser(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for VerifiedUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        if current.user.is_verified() {
            Ok(VerifiedUser(current))
        } else {
            Err(Redirect::to("/account?notice=verify-first").into_response())
        }
    }
}

/// `next` when it is a path on this site; anything that could leave it is refused.
pub fn safe_next(next: Option<&str>) -> Option<&str> {
    let next = next?.trim();
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 2000;
    local.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/orders?page=2")), Some("/orders?page=2"));
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\\\evil",
            "javascript:alert(1)",
            "evil.example",
            "/\t/evil.example",
            "",
            " //evil",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(safe_next(None), None);
    }
}
