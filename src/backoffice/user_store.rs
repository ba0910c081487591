//! The back office's user SQL (F-09, admins only). Each change is one transaction
//! with its audit entry; deactivating or ending sessions deletes the user's sessions
//! in that same transaction, so the user is signed out at once.

use anyhow::Context as _;
use serde_json::json;
use sqlx::AnyConnection;

use crate::backoffice::audit::{self, Actor, NewEntry};
use crate::db::{Db, like_escape, time::now_ms};

/// An account as the users pages show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffUser {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub is_active: i64,
    pub email_verified_at: Option<i64>,
    pub locked_until: Option<i64>,
    pub failed_logins: i64,
    pub last_login_at: Option<i64>,
    pub created_at: i64,
}

impl StaffUser {
    pub fn is_active(&self) -> bool {
        self.is_active == 1
    }

    pub fn is_locked(&self) -> bool {
        self.locked_until.is_some_and(|until| until > now_ms())
    }

    pub fn joined(&self) -> String {
        crate::db::time::display_ms(self.created_at)
    }

    pub fn last_login(&self) -> String {
        self.last_login_at
            .map_or_else(|| "never".to_owned(), crate::db::time::display_ms)
    }
}

const COLUMNS: &str = "id, email, role, is_active, email_verified_at, locked_until, \
     failed_logins, last_login_at, created_at";

/// The roles an admin may give, in the form's order.
pub const ROLES: [&str; 3] = ["customer", "staff", "admin"];

fn where_clause(search: Option<&str>, role: Option<&str>) -> (String, Vec<String>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    if let Some(search) = search {
        values.push(format!("%{}%", like_escape(&search.to_lowercase())));
        conditions.push(format!("email_key LIKE ${} ESCAPE '\\'", values.len()));
    }
    if let Some(role) = role {
        values.push(role.to_owned());
        conditions.push(format!("role = ${}", values.len()));
    }
    let clause = match conditions.is_empty() {
        true => String::new(),
        false => format!("WHERE {}", conditions.join(" AND ")),
    };
    (clause, values)
}

pub async fn count(db: &Db, search: Option<&str>, role: Option<&str>) -> anyhow::Result<i64> {
    let (clause, values) = where_clause(search, role);
    let sql = format!("SELECT COUNT(*) FROM users {clause}");
    let mut q = sqlx::query_scalar(&sql);
    for value in &values {
        q = q.bind(value);
    }
    q.fetch_one(db.pool()).await.context("counting users")
}

pub async fn list(
    db: &Db,
    search: Option<&str>,
    role: Option<&str>,
    limit: i64,
    offset: i64,
) -> anyhow::Result<Vec<StaffUser>> {
    let (clause, values) = where_clause(search, role);
    let n = values.len();
    let sql = format!(
        "SELECT {COLUMNS} FROM users {clause} ORDER BY email_key LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut q = sqlx::query_as(&sql);
    for value in &values {
        q = q.bind(value);
    }
    q.bind(limit)
        .bind(offset)
        .fetch_all(db.pool())
        .await
        .context("listing users")
}

pub async fn find(db: &Db, id: i64) -> anyhow::Result<Option<StaffUser>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await
        .context("loading a user")
}

/// How many live sessions the user has.
pub async fn session_count(db: &Db, id: i64) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await
        .context("counting a user's sessions")
}

/// One change an admin makes to an account.
#[derive(Debug, Clone)]
pub enum Change {
    Email { email: String, key: String },
    Role(String),
    Active(bool),
    Unlock,
    EndSessions,
}

impl Change {
    /// Role changes and deactivations: they take access away, so the back office asks
    /// for a recent password first.
    pub fn is_sensitive(&self) -> bool {
        matches!(self, Change::Role(_) | Change::Active(false))
    }
}

/// Why the admin `actor_id` may not make `change` to `user`, if so: an admin cannot
/// lock themselves out, so their own role and access stay.
pub fn refusal(actor_id: i64, user: &StaffUser, change: &Change) -> Option<&'static str> {
    (user.id == actor_id && change.is_sensitive())
        .then_some("You cannot change your own role or deactivate yourself.")
}

/// Applies `change` to `user` with its audit entry. `Ok(false)` when the new email
/// belongs to another account.
pub async fn apply(
    db: &Db,
    actor: &Actor,
    user: &StaffUser,
    change: &Change,
) -> anyhow::Result<bool> {
    let now = now_ms();
    let mut tx = db.pool().begin().await.context("starting a user change")?;
    let (action, before, after) = match change {
        Change::Email { email, key } => {
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM users WHERE email_key = $1 AND id <> $2")
                    .bind(key)
                    .bind(user.id)
                    .fetch_optional(&mut *tx)
                    .await
                    .context("checking an email")?;
            if taken.is_some() {
                return Ok(false);
            }
            // A new address is unconfirmed until its owner confirms it.
            sqlx::query(
                "UPDATE users SET email = $1, email_key = $2, email_verified_at = NULL, \
                        updated_at = $3 WHERE id = $4",
            )
            .bind(email)
            .bind(key)
            .bind(now)
            .bind(user.id)
            .execute(&mut *tx)
            .await
            .context("changing an email")?;
            (
                "user.email",
                json!({ "email": user.email }),
                json!({ "email": email }),
            )
        }
        Change::Role(role) => {
            sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
                .bind(role)
                .bind(now)
                .bind(user.id)
                .execute(&mut *tx)
                .await
                .context("changing a role")?;
            (
                "user.role",
                json!({ "role": user.role }),
                json!({ "role": role }),
            )
        }
        Change::Active(active) => {
            sqlx::query("UPDATE users SET is_active = $1, updated_at = $2 WHERE id = $3")
                .bind(i64::from(*active))
                .bind(now)
                .bind(user.id)
                .execute(&mut *tx)
                .await
                .context("changing whether a user is active")?;
            if !active {
                end_sessions(&mut tx, user.id).await?;
            }
            let action = if *active {
                "user.reactivate"
            } else {
                "user.deactivate"
            };
            (
                action,
                json!({ "active": user.is_active() }),
                json!({ "active": active }),
            )
        }
        Change::Unlock => {
            sqlx::query(
                "UPDATE users SET failed_logins = 0, lockouts = 0, locked_until = NULL, \
                        updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(user.id)
            .execute(&mut *tx)
            .await
            .context("unlocking a user")?;
            (
                "user.unlock",
                json!({ "locked_until": user.locked_until }),
                json!({}),
            )
        }
        Change::EndSessions => {
            let ended = end_sessions(&mut tx, user.id).await?;
            (
                "user.end_sessions",
                json!({}),
                json!({ "sessions_ended": ended }),
            )
        }
    };
    audit::record(
        &mut tx,
        actor,
        &NewEntry {
            action,
            target: &format!("user {}", user.id),
            before,
            after,
        },
    )
    .await?;
    tx.commit().await.context("committing a user change")?;
    Ok(true)
}

/// Ends the user's sessions and, with a new security stamp, every API token issued
/// to them.
async fn end_sessions(conn: &mut AnyConnection, user_id: i64) -> anyhow::Result<u64> {
    let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .context("ending a user's sessions")?
        .rows_affected();
    sqlx::query("UPDATE users SET security_stamp = $1 WHERE id = $2")
        .bind(crate::security::session::new_secret())
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .context("renewing a user's security stamp")?;
    Ok(ended)
}

/// Creates an account with `role` and an unusable password, audited; the new user
/// sets a password through the reset link the caller sends. `None` if the email is
/// taken.
pub async fn create(
    db: &Db,
    actor: &Actor,
    email: &str,
    key: &str,
    role: &str,
    unusable_hash: &str,
) -> anyhow::Result<Option<i64>> {
    let now = now_ms();
    let mut tx = db.pool().begin().await.context("starting a new user")?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, email_key, password_hash, role, security_stamp, created_at, \
                updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (email_key) DO NOTHING RETURNING id",
    )
    .bind(email)
    .bind(key)
    .bind(unusable_hash)
    .bind(role)
    .bind(crate::security::session::new_secret())
    .bind(now)
    .fetch_optional(&mut *tx)
    .await
    .context("creating a user")?;
    let Some(id) = id else {
        return Ok(None);
    };
    audit::record(
        &mut tx,
        actor,
        &NewEntry {
            action: "user.create",
            target: &format!("user {id}"),
            before: json!({}),
            after: json!({ "email": email, "role": role }),
        },
    )
    .await?;
    tx.commit().await.context("committing a new user")?;
    Ok(Some(id))
}
