//! API authentication: issuing, rotating and revoking tokens, and the extractors that
//! check them.

pub mod extract;
pub mod jwt;
pub mod refresh;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::service::{self, LoginOutcome};
use crate::api::input::ApiJson;
use crate::api::problem::{ApiError, Problem};
use crate::app::AppState;
use crate::backoffice::audit;
use crate::backoffice::extract::{ADMIN, STAFF};
use crate::db::time::now_ms;
use crate::security::client_addr::ClientAddr;
use crate::security::password::Password;
use refresh::Rotation;

/// Longest email or password the token endpoint reads; the HTML forms share the limits.
const MAX_CREDENTIAL_LEN: usize = 1024;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub email: String,
    /// Never logged, never stored.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// A pair of tokens: send the access token as `Authorization: Bearer …`; trade the
/// refresh token for a new pair before the access token expires.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// Trade an email and password for tokens. Shares the HTML login's lockout and
/// throttling: wrong credentials, locked and inactive accounts all get the same 401.
#[utoipa::path(
    post,
    path = "/api/v1/auth/token",
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn issue_token(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    if request.email.len() > MAX_CREDENTIAL_LEN || request.password.len() > MAX_CREDENTIAL_LEN {
        return Err(ApiError::Unauthorized);
    }
    let ip = client.0.to_string();
    let password = Password::new(request.password);
    let (user_id, email, role) =
        match service::login(&state, &request.email, &password, &ip).await? {
            LoginOutcome::Success {
                user_id,
                email,
                role,
            } => (user_id, email, role),
            LoginOutcome::Refused => return Err(ApiError::Unauthorized),
            LoginOutcome::Throttled => {
                return Err(ApiError::RateLimited {
                    retry_after_secs: 15 * 60,
                });
            }
        };

    if role == STAFF || role == ADMIN {
        let actor = audit::Actor {
            user_id,
            email,
            ip: ip.clone(),
        };
        let entry = audit::NewEntry {
            action: "api.login",
            target: &format!("user {user_id}"),
            before: serde_json::json!({}),
            after: serde_json::json!({ "role": role }),
        };
        audit::record_alone(&state.db, &actor, &entry).await?;
    }
    let stamp = security_stamp(&state, user_id).await?;
    let authenticated_at = now_ms();
    let refresh_token = refresh::start_family(&state.db, user_id, &stamp, authenticated_at).await?;
    tracing::info!(
        event = "api.token_issued",
        user.id = user_id,
        client.addr = ip.as_str(),
        "API tokens issued"
    );
    respond(&state, user_id, &stamp, refresh_token, authenticated_at).map(Json)
}

/// Trade a refresh token for a new pair. The old refresh token dies; presenting it
/// again revokes every token descended from the same sign-in.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refresh_token(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let ip = client.0.to_string();
    match refresh::rotate(&state.db, &request.refresh_token).await? {
        Rotation::Rotated {
            user_id,
            token,
            authenticated_at,
        } => {
            let stamp = security_stamp(&state, user_id).await?;
            tracing::info!(
                event = "api.token_refreshed",
                user.id = user_id,
                client.addr = ip.as_str(),
                "API tokens refreshed"
            );
            respond(&state, user_id, &stamp, token, authenticated_at).map(Json)
        }
        Rotation::Reused { user_id } => {
            tracing::warn!(
                event = "security.refresh_token_reused",
                user.id = user_id,
                client.addr = ip.as_str(),
                "a spent refresh token was presented: its family is revoked"
            );
            Err(ApiError::Unauthorized)
        }
        Rotation::Refused => {
            tracing::info!(
                event = "security.api_token_refused",
                reason = "refresh token not live",
                client.addr = ip.as_str(),
                "refresh refused"
            );
            Err(ApiError::Unauthorized)
        }
    }
}

/// Log out: revoke a refresh token and every token of its family. Answers 204 for any
/// token, known or not, so that the answer tells nothing.
#[utoipa::path(
    post,
    path = "/api/v1/auth/revoke",
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "Revoked (or never existed)"))
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    if refresh::revoke(&state.db, &request.refresh_token).await? {
        tracing::info!(event = "api.token_revoked", "API refresh token revoked");
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn security_stamp(state: &AppState, user_id: i64) -> anyhow::Result<String> {
    use anyhow::Context as _;
    sqlx::query_scalar("SELECT security_stamp FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(state.db.pool())
        .await
        .context("loading a security stamp")
}

fn respond(
    state: &AppState,
    user_id: i64,
    stamp: &str,
    refresh_token: String,
    authenticated_at: i64,
) -> Result<TokenResponse, ApiError> {
    let access_token =
        state
            .api
            .tokens
            .issue(user_id, stamp, now_ms() / 1000, authenticated_at / 1000)?;
    Ok(TokenResponse {
        access_token,
        refresh_token,
        token_type: "Bearer".to_owned(),
        expires_in: jwt::ACCESS_TTL_SECS,
    })
}
