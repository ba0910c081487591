//! The audit log (S-07): every staff action with who, when, from where, on what, and
//! the values before and after. Entries are appended in the action's own transaction
//! and chained: each stores the SHA-256 of its content and of the previous entry, so
//! [`verify`] finds an entry altered, removed or inserted behind the database's
//! triggers.

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use sqlx::AnyConnection;

use crate::db::{Db, time::now_ms};

/// Who did it: a staff member's id and email as they were at the time.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: i64,
    pub email: String,
    pub ip: String,
}

/// One action to record. `before` and `after` are JSON objects of the values that
/// changed (empty objects when there is nothing to compare).
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub action: &'a str,
    pub target: &'a str,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// An entry as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub seq: i64,
    pub created_at: i64,
    pub actor_user_id: Option<i64>,
    pub actor_email: String,
    pub ip: String,
    pub action: String,
    pub target: String,
    pub before_value: String,
    pub after_value: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Entry {
    /// The hash this entry's content and predecessor call for.
    fn expected_hash(&self) -> String {
        chain_hash(&[
            &self.seq.to_string(),
            &self.created_at.to_string(),
            &self
                .actor_user_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            &self.actor_email,
            &self.ip,
            &self.action,
            &self.target,
            &self.before_value,
            &self.after_value,
            &self.prev_hash,
        ])
    }

    pub fn at(&self) -> String {
        crate::db::time::display_ms(self.created_at)
    }
}

/// SHA-256 over the fields, each prefixed by its length so that no two different
/// entries hash the same text.
fn chain_hash(fields: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for field in fields {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Appends an entry inside the caller's transaction. The head row is updated first,
/// so concurrent appends wait for each other and the chain never forks.
pub async fn record(
    conn: &mut AnyConnection,
    actor: &Actor,
    entry: &NewEntry<'_>,
) -> anyhow::Result<i64> {
    let (seq, prev_hash): (i64, String) =
        sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, last_hash")
            .fetch_one(&mut *conn)
            .await
            .context("taking the audit log's next number")?;

    let stored = Entry {
        seq,
        created_at: now_ms(),
        actor_user_id: Some(actor.user_id),
        actor_email: actor.email.clone(),
        ip: actor.ip.clone(),
        action: entry.action.to_owned(),
        target: entry.target.to_owned(),
        before_value: entry.before.to_string(),
        after_value: entry.after.to_string(),
        prev_hash,
        hash: String::new(),
    };
    let hash = stored.expected_hash();
    sqlx::query(
        "INSERT INTO audit_log (seq, created_at, actor_user_id, actor_email, ip, action, \
                target, before_value, after_value, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(stored.seq)
    .bind(stored.created_at)
    .bind(stored.actor_user_id)
    .bind(&stored.actor_email)
    .bind(&stored.ip)
    .bind(&stored.action)
    .bind(&stored.target)
    .bind(&stored.before_value)
    .bind(&stored.after_value)
    .bind(&stored.prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await
    .context("writing an audit entry")?;
    sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut *conn)
        .await
        .context("moving the audit log's head")?;
    Ok(seq)
}

/// Records one action in a transaction of its own, for actions that write nothing
/// else (a back-office sign-in, say).
pub async fn record_alone(db: &Db, actor: &Actor, entry: &NewEntry<'_>) -> anyhow::Result<i64> {
    let mut tx = db.pool().begin().await.context("starting an audit entry")?;
    let seq = record(&mut tx, actor, entry).await?;
    tx.commit().await.context("committing an audit entry")?;
    Ok(seq)
}

/// The newest entries, newest first.
pub async fn recent(db: &Db, limit: i64, offset: i64) -> anyhow::Result<Vec<Entry>> {
    sqlx::query_as(
        "SELECT seq, created_at, actor_user_id, actor_email, ip, action, target, before_value, \
                after_value, prev_hash, hash FROM audit_log ORDER BY seq DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(db.pool())
    .await
    .context("reading the audit log")
}

pub async fn count(db: &Db) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(db.pool())
        .await
        .context("counting audit entries")
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry's hash matches its content and links to the one before.
    Intact { entries: i64 },
    /// The first entry that does not, and why.
    Broken { seq: i64, reason: &'static str },
}

/// Walks the whole chain in order, a page at a time.
pub async fn verify(db: &Db) -> anyhow::Result<Verdict> {
    const PAGE: i64 = 1000;
    let mut expected_prev = String::new();
    let mut expected_seq = 1;
    loop {
        let page: Vec<Entry> = sqlx::query_as(
            "SELECT seq, created_at, actor_user_id, actor_email, ip, action, target, \
                    before_value, after_value, prev_hash, hash \
             FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2",
        )
        .bind(expected_seq)
        .bind(PAGE)
        .fetch_all(db.pool())
        .await
        .context("reading the audit log")?;
        let last_page = (page.len() as i64) < PAGE;
        for entry in page {
            if entry.seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    reason: "the entry is missing",
                });
            }
            if entry.prev_hash != expected_prev {
                return Ok(Verdict::Broken {
                    seq: entry.seq,
                    reason: "it does not link to the entry before it",
                });
            }
            if entry.hash != entry.expected_hash() {
                return Ok(Verdict::Broken {
                    seq: entry.seq,
                    reason: "its content does not match its hash",
                });
            }
            expected_prev = entry.hash;
            expected_seq += 1;
        }
        if last_page {
            break;
        }
    }

    let (head_seq, head_hash): (i64, String) =
        sqlx::query_as("SELECT seq, last_hash FROM audit_head WHERE id = 1")
            .fetch_one(db.pool())
            .await
            .context("reading the audit log's head")?;
    if head_seq != expected_seq - 1 || head_hash != expected_prev {
        return Ok(Verdict::Broken {
            seq: expected_seq,
            reason: "entries at the end are missing",
        });
    }
    Ok(Verdict::Intact {
        entries: expected_seq - 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_separates_fields_so_shifted_text_hashes_differently() {
        assert_ne!(chain_hash(&["ab", "c"]), chain_hash(&["a", "bc"]));
        assert_eq!(chain_hash(&["ab", "c"]), chain_hash(&["ab", "c"]));
        assert_eq!(chain_hash(&[]).len(), 64);
    }
}
