//! Server-side sessions.
//!
//! The cookie holds a random 256-bit id; the database holds only its SHA-256, so a
//! leaked table cannot be replayed as cookies. A session ends after an idle period or
//! an absolute lifetime, whichever comes first, and at logout. Visitors who only browse
//! have no session: one is created at login (and, later, at the first cart add).

use anyhow::Context as _;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::config::SessionSettings;
use crate::db::{Db, time::now_ms};
use crate::security::client_addr::Transport;

/// A session is touched at most this often, so reading pages costs no write per request.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The signed-in person behind a session, read fresh from the database.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub email_verified_at: Option<i64>,
}

impl SessionUser {
    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
}

/// A live session, as the request found it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub csrf_token: String,
    pub user: Option<SessionUser>,
    /// When the user last typed their password: at login, or to confirm it since.
    pub authenticated_at: i64,
}

/// What the session layer found: a live session, or none.
#[derive(Debug, Clone, Default)]
pub struct CurrentSession(pub Option<Session>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CurrentSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CurrentSession>()
            .cloned()
            .unwrap_or_default())
    }
}

/// 32 random bytes as URL-safe text: session ids, CSRF tokens, email tokens.
pub fn new_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The stored form of a secret.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The session cookie's name: `__Host-` prefixed when cookies are `Secure`.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-securecart_session"
    } else {
        "securecart_session"
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, whole site, no Max-Age (the browser
/// forgets it when it closes), Secure when asked. `None` removes the cookie.
pub fn set_cookie(name: &str, value: Option<&str>, secure: bool) -> HeaderValue {
    let mut cookie = Cookie::build((name.to_owned(), value.unwrap_or("").to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure);
    if value.is_none() {
        cookie = cookie.max_age(cookie::time::Duration::ZERO);
    }
    HeaderValue::from_str(&cookie.build().to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// The value of cookie `name` in the request, if any.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_owned()).filter_map(Result::ok))
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// Starts a session for `user_id` and returns the secret for the cookie.
pub async fn create(db: &Db, user_id: Option<i64>, ip: &str) -> anyhow::Result<String> {
    let secret = new_secret();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, ip) \
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(digest(&secret))
    .bind(user_id)
    .bind(new_secret())
    .bind(now)
    .bind(ip)
    .execute(db.pool())
    .await
    .context("creating a session")?;
    Ok(secret)
}

/// The live session for a cookie's secret; expired ones are deleted on sight.
pub async fn load(
    db: &Db,
    secret: &str,
    settings: &SessionSettings,
) -> anyhow::Result<Option<Session>> {
    let id_hash = digest(secret);
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.csrf_token, s.created_at, s.last_seen_at, s.reauthenticated_at, s.user_id, \
                u.email, u.role, u.email_verified_at, u.is_active \
         FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
    )
    .bind(&id_hash)
    .fetch_optional(db.pool())
    .await
    .context("loading a session")?;
    let Some(row) = row else {
        return Ok(None);
    };

    let now = now_ms();
    let idle = i64::try_from(settings.idle.as_millis()).unwrap_or(i64::MAX);
    let absolute = i64::try_from(settings.absolute.as_millis()).unwrap_or(i64::MAX);
    let expired = now - row.last_seen_at > idle || now - row.created_at > absolute;
    // A session of a deactivated (or deleted) account ends with it.
    let orphaned = row.user_id.is_some() && row.is_active != Some(1);
    if expired || orphaned {
        destroy(db, &id_hash).await?;
        return Ok(None);
    }
    if now - row.last_seen_at > TOUCH_EVERY_MS {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(&id_hash)
            .execute(db.pool())
            .await
            .context("touching a session")?;
    }

    let user = match (row.user_id, row.email, row.role) {
        (Some(id), Some(email), Some(role)) => Some(SessionUser {
            id,
            email,
            role,
            email_verified_at: row.email_verified_at,
        }),
        _ => None,
    };
    Ok(Some(Session {
        id_hash,
        csrf_token: row.csrf_token,
        user,
        authenticated_at: row.reauthenticated_at.unwrap_or(0).max(row.created_at),
    }))
}

/// A session joined with its user, if it has one.
#[derive(sqlx::FromRow)]
struct SessionRow {
    csrf_token: String,
    created_at: i64,
    last_seen_at: i64,
    reauthenticated_at: Option<i64>,
    user_id: Option<i64>,
    email: Option<String>,
    role: Option<String>,
    email_verified_at: Option<i64>,
    is_active: Option<i64>,
}

/// Records that the session's user has just confirmed their password.
pub async fn mark_reauthenticated(db: &Db, id_hash: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE sessions SET reauthenticated_at = $1 WHERE id_hash = $2")
        .bind(now_ms())
        .bind(id_hash)
        .execute(db.pool())
        .await
        .context("recording a password confirmation")?;
    Ok(())
}

pub async fn destroy(db: &Db, id_hash: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(db.pool())
        .await
        .context("ending a session")?;
    Ok(())
}

/// Ends every session of `user_id` except `keep` (the id hash of the current one).
pub async fn destroy_all_for_user(
    db: &Db,
    user_id: i64,
    keep: Option<&str>,
) -> anyhow::Result<u64> {
    let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(db.pool())
        .await
        .context("ending a user's sessions")?;
    Ok(result.rows_affected())
}

/// Deletes sessions past their idle or absolute limit.
pub async fn purge_expired(db: &Db, settings: &SessionSettings) -> anyhow::Result<u64> {
    let now = now_ms();
    let idle = i64::try_from(settings.idle.as_millis()).unwrap_or(i64::MAX);
    let absolute = i64::try_from(settings.absolute.as_millis()).unwrap_or(i64::MAX);
    let result = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
        .bind(now.saturating_sub(idle))
        .bind(now.saturating_sub(absolute))
        .execute(db.pool())
        .await
        .context("purging expired sessions")?;
    Ok(result.rows_affected())
}

/// Middleware: finds the request's session, if its cookie names a live one, and puts a
/// [`CurrentSession`] in the request. A cookie for a dead session is cleared.
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let settings = &state.settings.sessions;
    let secure = Transport::from_extensions(request.extensions()).secure_cookies;
    let name = cookie_name(secure);
    let secret = read_cookie(request.headers(), name);

    let session = match &secret {
        None => None,
        Some(secret) => match load(&state.db, secret, settings).await {
            Ok(session) => session,
            Err(err) => return crate::error::AppError::Internal(err).into_response(),
        },
    };
    let stale = secret.is_some() && session.is_none();
    request.extensions_mut().insert(CurrentSession(session));

    let mut response = next.run(request).await;
    if stale && !response.headers().contains_key(header::SET_COOKIE) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(name, None, secure));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_stored_only_as_digests() {
        let a = new_secret();
        assert_eq!(a.len(), 43, "256 bits of base64");
        assert_ne!(a, new_secret());
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), a);
    }

    #[test]
    fn cookies_are_http_only_lax_and_without_max_age() {
        let value = set_cookie("securecart_session", Some("abc"), false);
        let text = value.to_str().expect("text");
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Lax") && text.contains("Path=/")
        );
        assert!(
            !text.contains("Max-Age") && !text.contains("Secure"),
            "{text}"
        );

        let secure = set_cookie("__Host-securecart_session", Some("abc"), true);
        assert!(secure.to_str().expect("text").contains("Secure"));
        let removal = set_cookie("securecart_session", None, false);
        assert!(removal.to_str().expect("text").contains("Max-Age=0"));
    }
}
