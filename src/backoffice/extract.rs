//! Who may use the back office. A handler names [`Staff`] or [`Admin`] among its
//! arguments and cannot run for anyone else; the refusal is the shop's ordinary 404,
//! so the back office does not exist for them (S-07).

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use crate::backoffice::audit;
use crate::error::AppError;
use crate::security::client_addr::ClientAddr;
use crate::security::session::{CurrentSession, SessionUser};

/// The roles, as stored in `users.role`.
pub const STAFF: &str = "staff";
pub const ADMIN: &str = "admin";

/// How long a typed password counts for sensitive actions: 15 minutes.
pub const REAUTH_AFTER_MS: i64 = 15 * 60 * 1000;

/// A signed-in member of staff (or an administrator), with the session's CSRF token
/// for the page's forms.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user: SessionUser,
    pub csrf_token: String,
    pub ip: String,
    pub session_id_hash: String,
    /// When they last typed their password, see [`Staff::recently_authenticated`].
    pub authenticated_at: i64,
}

impl Staff {
    pub fn is_admin(&self) -> bool {
        self.user.role == ADMIN
    }

    /// Whether they typed their password within [`REAUTH_AFTER_MS`]: sensitive actions
    /// (role changes, deactivations, refunds) ask for it again otherwise, so a session
    /// left open on a shared screen cannot do them.
    pub fn recently_authenticated(&self) -> bool {
        crate::db::time::now_ms() - self.authenticated_at <= REAUTH_AFTER_MS
    }

    /// The staff member as the audit log records them.
    pub fn actor(&self) -> audit::Actor {
        audit::Actor {
            user_id: self.user.id,
            email: self.user.email.clone(),
            ip: self.ip.clone(),
        }
    }

    fn from_parts(parts: &Parts) -> Option<Staff> {
        let CurrentSession(Some(session)) = parts.extensions.get::<CurrentSession>()? else {
            return None;
        };
        let user = session.user.as_ref()?;
        is_staff_role(&user.role).then(|| Staff {
            user: user.clone(),
            csrf_token: session.csrf_token.clone(),
            ip: ClientAddr::from_parts(parts).0.to_string(),
            session_id_hash: session.id_hash.clone(),
            authenticated_at: session.authenticated_at,
        })
    }
}

fn is_staff_role(role: &str) -> bool {
    role == STAFF || role == ADMIN
}

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        Staff::from_parts(parts).ok_or_else(|| deny(parts, "not staff"))
    }
}

/// An administrator: users, roles and the audit log.
#[derive(Debug, Clone)]
pub struct Admin(pub Staff);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        match Staff::from_parts(parts) {
            Some(staff) if staff.is_admin() => Ok(Admin(staff)),
            _ => Err(deny(parts, "not an administrator")),
        }
    }
}

/// Logs a refused back-office request and answers the ordinary 404.
fn deny(parts: &Parts, reason: &'static str) -> AppError {
    let user_id = match parts.extensions.get::<CurrentSession>() {
        Some(CurrentSession(Some(session))) => session.user.as_ref().map(|u| u.id),
        _ => None,
    };
    tracing::info!(
        event = "security.access_denied",
        user.id = user_id,
        reason,
        "back office refused"
    );
    AppError::NotFound
}

/// Middleware on the whole back office: anyone who is not staff gets the 404 before
/// routing, so existing paths, unknown paths and wrong methods all look the same.
pub async fn hide_from_non_staff(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if Staff::from_parts(&parts).is_none() {
        return deny(&parts, "not staff").into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}
