//! Refresh tokens: random, stored only as digests, rotated on every use.
//!
//! Each login starts a family. A refresh spends its token and issues the next one in
//! the same family; presenting a spent token again means it was copied, so the whole
//! family dies and whoever holds the newest token must log in again.

use anyhow::Context as _;

use crate::db::Db;
use crate::db::time::now_ms;
use crate::security::session::{digest, new_secret};

/// How long a refresh token may wait to be used.
pub const REFRESH_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live: here is its successor, for this user.
    Rotated {
        user_id: i64,
        token: String,
        /// When the family's password was typed, ms.
        authenticated_at: i64,
    },
    /// Unknown, expired, revoked, or issued before the user's security stamp changed.
    Refused,
    /// Already spent: the family is revoked.
    Reused { user_id: i64 },
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    family: String,
    user_id: i64,
    security_stamp: String,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    authenticated_at: i64,
    current_stamp: String,
    is_active: i64,
}

/// Starts a family for a login that checked the password at `authenticated_at` and
/// returns its first token.
pub async fn start_family(
    db: &Db,
    user_id: i64,
    security_stamp: &str,
    authenticated_at: i64,
) -> anyhow::Result<String> {
    let family = Family {
        id: &new_secret(),
        user_id,
        stamp: security_stamp,
        authenticated_at,
    };
    insert(db, &family).await
}

/// What every token of a family shares.
struct Family<'a> {
    id: &'a str,
    user_id: i64,
    stamp: &'a str,
    authenticated_at: i64,
}

async fn insert(db: &Db, family: &Family<'_>) -> anyhow::Result<String> {
    let token = new_secret();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO api_refresh_tokens (token_hash, family, user_id, security_stamp, \
                authenticated_at, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(digest(&token))
    .bind(family.id)
    .bind(family.user_id)
    .bind(family.stamp)
    .bind(family.authenticated_at)
    .bind(now)
    .bind(now + REFRESH_TTL_MS)
    .execute(db.pool())
    .await
    .context("storing a refresh token")?;
    Ok(token)
}

/// Spends `token` and issues its successor, or says why not.
pub async fn rotate(db: &Db, token: &str) -> anyhow::Result<Rotation> {
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT t.id, t.family, t.user_id, t.security_stamp, t.expires_at, t.used_at, \
                t.revoked_at, t.authenticated_at, u.security_stamp AS current_stamp, \
                u.is_active \
         FROM api_refresh_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1",
    )
    .bind(digest(token))
    .fetch_optional(db.pool())
    .await
    .context("loading a refresh token")?;
    let Some(row) = row else {
        return Ok(Rotation::Refused);
    };

    let now = now_ms();
    if row.revoked_at.is_some() {
        return Ok(Rotation::Refused);
    }
    if row.used_at.is_some() {
        revoke_family(db, &row.family).await?;
        return Ok(Rotation::Reused {
            user_id: row.user_id,
        });
    }
    if row.expires_at <= now || row.security_stamp != row.current_stamp || row.is_active != 1 {
        return Ok(Rotation::Refused);
    }

    // Spending is one statement: of two racing refreshes with the same token, one
    // wins and the other is a reuse.
    let spent = sqlx::query(
        "UPDATE api_refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL \
         AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(row.id)
    .execute(db.pool())
    .await
    .context("spending a refresh token")?
    .rows_affected();
    if spent != 1 {
        revoke_family(db, &row.family).await?;
        return Ok(Rotation::Reused {
            user_id: row.user_id,
        });
    }
    let family = Family {
        id: &row.family,
        user_id: row.user_id,
        stamp: &row.current_stamp,
        authenticated_at: row.authenticated_at,
    };
    let token = insert(db, &family).await?;
    Ok(Rotation::Rotated {
        user_id: row.user_id,
        token,
        authenticated_at: row.authenticated_at,
    })
}

/// Revokes the family of `token` (logout). `false` when the token is unknown.
pub async fn revoke(db: &Db, token: &str) -> anyhow::Result<bool> {
    let family: Option<String> =
        sqlx::query_scalar("SELECT family FROM api_refresh_tokens WHERE token_hash = $1")
            .bind(digest(token))
            .fetch_optional(db.pool())
            .await
            .context("finding a refresh token")?;
    match family {
        Some(family) => {
            revoke_family(db, &family).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

async fn revoke_family(db: &Db, family: &str) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE api_refresh_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(family)
    .execute(db.pool())
    .await
    .context("revoking a refresh token family")?;
    Ok(())
}

/// Deletes tokens that expired (and so can no longer be reused either).
pub async fn purge_expired(db: &Db) -> anyhow::Result<u64> {
    let purged = sqlx::query("DELETE FROM api_refresh_tokens WHERE expires_at < $1")
        .bind(now_ms())
        .execute(db.pool())
        .await
        .context("purging refresh tokens")?
        .rows_affected();
    Ok(purged)
}
