//! The accounts' SQL: users, one-time email tokens and per-address failure counts.

use std::time::Duration;

use anyhow::Context as _;

use crate::db::{Db, time::now_ms};
use crate::security::session::{digest, new_secret};

/// What login needs to know about an account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub password_hash: String,
    pub is_active: i64,
    pub failed_logins: i64,
    pub lockouts: i64,
    pub locked_until: Option<i64>,
}

/// The profile page's view of an account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Profile {
    pub email: String,
    pub role: String,
    pub email_verified_at: Option<i64>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

const CREDENTIALS: &str = "SELECT id, email, role, password_hash, is_active, failed_logins, \
                           lockouts, locked_until FROM users";

pub async fn credentials_by_key(db: &Db, key: &str) -> anyhow::Result<Option<Credentials>> {
    sqlx::query_as(&format!("{CREDENTIALS} WHERE email_key = $1"))
        .bind(key)
        .fetch_optional(db.pool())
        .await
        .context("loading credentials")
}

pub async fn credentials_by_id(db: &Db, id: i64) -> anyhow::Result<Option<Credentials>> {
    sqlx::query_as(&format!("{CREDENTIALS} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await
        .context("loading credentials")
}

pub async fn profile(db: &Db, id: i64) -> anyhow::Result<Option<Profile>> {
    sqlx::query_as(
        "SELECT email, role, email_verified_at, created_at, last_login_at FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await
    .context("loading a profile")
}

/// Creates an account; `None` when the email is taken.
pub async fn insert_user(
    db: &Db,
    email: &str,
    key: &str,
    password_hash: &str,
    role: &str,
    verified: bool,
) -> anyhow::Result<Option<i64>> {
    let now = now_ms();
    sqlx::query_scalar(
        "INSERT INTO users (email, email_key, password_hash, role, email_verified_at, \
         security_stamp, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (email_key) DO NOTHING RETURNING id",
    )
    .bind(email)
    .bind(key)
    .bind(password_hash)
    .bind(role)
    .bind(verified.then_some(now))
    .bind(new_secret())
    .bind(now)
    .fetch_optional(db.pool())
    .await
    .context("creating a user")
}

/// Makes an account an admin, verified and active.
pub async fn promote_to_admin(db: &Db, id: i64, password_hash: &str) -> anyhow::Result<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE users SET role = 'admin', is_active = 1, password_hash = $1, \
         email_verified_at = COALESCE(email_verified_at, $2), security_stamp = $3, \
         failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $4",
    )
    .bind(password_hash)
    .bind(now)
    .bind(new_secret())
    .bind(id)
    .execute(db.pool())
    .await
    .context("promoting a user")?;
    Ok(())
}

/// Stores a new password hash. `new_stamp` also invalidates the user's tokens; a mere
/// re-hash at a higher cost keeps them.
pub async fn set_password(
    db: &Db,
    id: i64,
    password_hash: &str,
    new_stamp: bool,
) -> anyhow::Result<()> {
    let query = if new_stamp {
        sqlx::query(
            "UPDATE users SET password_hash = $1, updated_at = $2, security_stamp = $3 WHERE id = $4",
        )
        .bind(password_hash)
        .bind(now_ms())
        .bind(new_secret())
    } else {
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(now_ms())
    };
    query
        .bind(id)
        .execute(db.pool())
        .await
        .context("storing a password")?;
    Ok(())
}

/// Counts a failed login and returns how many there now are in a row. One statement,
/// so concurrent guesses are all counted.
pub async fn record_failure(db: &Db, id: i64) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
    )
    .bind(id)
    .fetch_one(db.pool())
    .await
    .context("counting a failed login")
}

/// Locks an account until `until` and starts a new count of failures.
pub async fn lock(db: &Db, id: i64, until: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE users SET failed_logins = 0, lockouts = lockouts + 1, locked_until = $1 WHERE id = $2",
    )
    .bind(until)
    .bind(id)
    .execute(db.pool())
    .await
    .context("locking an account")?;
    Ok(())
}

/// Clears the failure count and any lockout.
pub async fn unlock(db: &Db, id: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE users SET failed_logins = 0, lockouts = 0, locked_until = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(db.pool())
    .await
    .context("unlocking an account")?;
    Ok(())
}

pub async fn record_success(db: &Db, id: i64, ip: &str) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE users SET failed_logins = 0, lockouts = 0, locked_until = NULL, \
         last_login_at = $1, last_login_ip = $2 WHERE id = $3",
    )
    .bind(now_ms())
    .bind(ip)
    .bind(id)
    .execute(db.pool())
    .await
    .context("recording a login")?;
    Ok(())
}

pub async fn mark_verified(db: &Db, id: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2",
    )
    .bind(now_ms())
    .bind(id)
    .execute(db.pool())
    .await
    .context("verifying an email")?;
    Ok(())
}

/// What an email token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Verify,
    Reset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
        }
    }
}

/// Issues a one-time token, stored hashed; earlier unused tokens of the same purpose
/// stop working.
pub async fn create_token(
    db: &Db,
    user_id: i64,
    purpose: Purpose,
    ttl: Duration,
) -> anyhow::Result<String> {
    let secret = new_secret();
    let now = now_ms();
    let mut tx = db.pool().begin().await.context("starting a token")?;
    sqlx::query("DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
        .bind(user_id)
        .bind(purpose.as_str())
        .execute(&mut *tx)
        .await
        .context("retiring old tokens")?;
    sqlx::query(
        "INSERT INTO email_tokens (token_hash, user_id, purpose, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(digest(&secret))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(now + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2))
    .bind(now)
    .execute(&mut *tx)
    .await
    .context("storing a token")?;
    tx.commit().await.context("committing a token")?;
    Ok(secret)
}

/// The user a currently valid token belongs to, without using the token.
pub async fn token_user(db: &Db, secret: &str, purpose: Purpose) -> anyhow::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT user_id FROM email_tokens WHERE token_hash = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(digest(secret))
    .bind(purpose.as_str())
    .bind(now_ms())
    .fetch_optional(db.pool())
    .await
    .context("checking a token")
}

/// Uses a token: one statement, so two requests cannot both succeed.
pub async fn consume_token(db: &Db, secret: &str, purpose: Purpose) -> anyhow::Result<Option<i64>> {
    let now = now_ms();
    sqlx::query_scalar(
        "UPDATE email_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 \
         AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
    )
    .bind(now)
    .bind(digest(secret))
    .bind(purpose.as_str())
    .fetch_optional(db.pool())
    .await
    .context("using a token")
}

/// Failed logins from `address` in the current window.
pub async fn address_failures(db: &Db, address: &str, window: Duration) -> anyhow::Result<i64> {
    let since = now_ms() - i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 2);
    let failures: Option<i64> = sqlx::query_scalar(
        "SELECT failures FROM address_failures WHERE address = $1 AND window_start > $2",
    )
    .bind(address)
    .bind(since)
    .fetch_optional(db.pool())
    .await
    .context("reading address failures")?;
    Ok(failures.unwrap_or(0))
}

/// Counts one failure for `address`, starting a new window when the last has passed.
pub async fn record_address_failure(
    db: &Db,
    address: &str,
    window: Duration,
) -> anyhow::Result<()> {
    let now = now_ms();
    let since = now - i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 2);
    sqlx::query(
        "INSERT INTO address_failures (address, window_start, failures) VALUES ($1, $2, 1) \
         ON CONFLICT (address) DO UPDATE SET \
           failures = CASE WHEN address_failures.window_start > $3 \
                           THEN address_failures.failures + 1 ELSE 1 END, \
           window_start = CASE WHEN address_failures.window_start > $3 \
                               THEN address_failures.window_start ELSE $2 END",
    )
    .bind(address)
    .bind(now)
    .bind(since)
    .execute(db.pool())
    .await
    .context("counting an address failure")?;
    Ok(())
}

/// Deletes used and expired tokens and old failure windows.
pub async fn purge(db: &Db, window: Duration) -> anyhow::Result<()> {
    let now = now_ms();
    sqlx::query("DELETE FROM email_tokens WHERE expires_at < $1 OR used_at IS NOT NULL")
        .bind(now)
        .execute(db.pool())
        .await
        .context("purging tokens")?;
    sqlx::query("DELETE FROM address_failures WHERE window_start < $1")
        .bind(now - i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 2))
        .execute(db.pool())
        .await
        .context("purging failure windows")?;
    Ok(())
}
