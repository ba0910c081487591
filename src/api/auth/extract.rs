//! Who is calling: the bearer token, checked against the database on every request.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::api::auth::jwt::stamp_digest;
use crate::api::problem::ApiError;
use crate::app::AppState;
use crate::backoffice::audit::Actor;
use crate::backoffice::extract::{ADMIN, REAUTH_AFTER_MS, STAFF};
use crate::db::time::now_ms;
use crate::security::client_addr::ClientAddr;
use crate::security::session::SessionUser;

/// A caller with a valid access token for an active account.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub user: SessionUser,
    pub ip: String,
    /// When the password behind the token was typed (Unix ms), carried through every
    /// refresh of the sign-in.
    pub authenticated_at: i64,
}

impl ApiUser {
    /// Whether the password was typed within [`REAUTH_AFTER_MS`], as the back office
    /// asks before moving money or changing who may do what. A refresh does not renew
    /// it: only `POST /api/v1/auth/token` does.
    pub fn recently_authenticated(&self) -> bool {
        now_ms() - self.authenticated_at <= REAUTH_AFTER_MS
    }

    /// `Ok` after a recent password; otherwise a 403 telling the client to sign in again.
    pub fn require_recent_password(&self) -> Result<(), ApiError> {
        if self.recently_authenticated() {
            return Ok(());
        }
        tracing::info!(
            event = "security.reauthentication_required",
            user.id = self.user.id,
            client.addr = self.ip.as_str(),
            "sensitive API action needs a recent password"
        );
        Err(ApiError::forbidden(
            "reauthentication-required",
            "This action needs a password typed in the last 15 minutes: get new tokens \
             from POST /api/v1/auth/token and try again.",
        ))
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user.id,
            email: self.user.email.clone(),
            ip: self.ip.clone(),
        }
    }
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[derive(sqlx::FromRow)]
struct UserRow {
    email: String,
    role: String,
    is_active: i64,
    email_verified_at: Option<i64>,
    security_stamp: String,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = ClientAddr::from_parts(parts).0.to_string();
        let Some(token) = bearer(&parts.headers) else {
            return Err(ApiError::Unauthorized);
        };
        let Some(verified) = state.api.tokens.verify(token, now_ms() / 1000) else {
            tracing::info!(
                event = "security.api_token_refused",
                reason = "invalid",
                client.addr = ip.as_str(),
                "API token refused"
            );
            return Err(ApiError::Unauthorized);
        };
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT email, role, is_active, email_verified_at, security_stamp \
             FROM users WHERE id = $1",
        )
        .bind(verified.user_id)
        .fetch_optional(state.db.pool())
        .await
        .map_err(|err| ApiError::Internal(err.into()))?;
        let current =
            row.filter(|r| r.is_active == 1 && stamp_digest(&r.security_stamp) == verified.stamp);
        let Some(row) = current else {
            tracing::info!(
                event = "security.api_token_refused",
                reason = "revoked",
                user.id = verified.user_id,
                client.addr = ip.as_str(),
                "API token refused"
            );
            return Err(ApiError::Unauthorized);
        };
        Ok(ApiUser {
            user: SessionUser {
                id: verified.user_id,
                email: row.email,
                role: row.role,
                email_verified_at: row.email_verified_at,
            },
            ip,
            authenticated_at: verified.auth_time.saturating_mul(1000),
        })
    }
}

/// A staff member or administrator. Others get 403.
#[derive(Debug, Clone)]
pub struct ApiStaff(pub ApiUser);

impl FromRequestParts<AppState> for ApiStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = ApiUser::from_request_parts(parts, state).await?;
        if caller.user.role == STAFF || caller.user.role == ADMIN {
            Ok(ApiStaff(caller))
        } else {
            Err(deny(&caller, parts, "not staff"))
        }
    }
}

/// An administrator. Others get 403.
#[derive(Debug, Clone)]
pub struct ApiAdmin(pub ApiUser);

impl FromRequestParts<AppState> for ApiAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = ApiUser::from_request_parts(parts, state).await?;
        if caller.user.role == ADMIN {
            Ok(ApiAdmin(caller))
        } else {
            Err(deny(&caller, parts, "not an administrator"))
        }
    }
}

fn deny(caller: &ApiUser, parts: &Parts, reason: &'static str) -> ApiError {
    tracing::warn!(
        event = "security.access_denied",
        reason,
        user.id = caller.user.id,
        http.method = %parts.method,
        http.path = parts.uri.path(),
        client.addr = caller.ip.as_str(),
        "API access denied"
    );
    ApiError::Forbidden
}
