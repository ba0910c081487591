//! Counting security decisions for the back office's dashboard. Every `security.*`
//! event that any module logs (a refused CSRF token, a locked account, a denied
//! back-office request…) is tallied in memory by [`EventCounter`], a tracing layer,
//! and [`flush`] adds the tallies to the database every minute: one write per kind
//! per minute however many events a flood brings.

use std::collections::BTreeMap;
use std::sync::Mutex;

use anyhow::Context as _;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::db::{Db, time::now_ms};

const HOUR_MS: i64 = 3_600_000;

/// Events seen since the last flush, by kind (the name after `security.`).
static TALLY: Mutex<BTreeMap<String, i64>> = Mutex::new(BTreeMap::new());

/// The tracing layer that counts `security.*` events.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventCounter;

impl<S: Subscriber> Layer<S> for EventCounter {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut name = EventName(None);
        event.record(&mut name);
        if let Some(kind) = name.0.as_deref().and_then(|n| n.strip_prefix("security."))
            && let Ok(mut tally) = TALLY.lock()
        {
            *tally.entry(kind.to_owned()).or_default() += 1;
        }
    }
}

/// Reads the `event` field of an event.
struct EventName(Option<String>);

impl Visit for EventName {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "event" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "event" {
            self.0 = Some(format!("{value:?}").trim_matches('"').to_owned());
        }
    }
}

/// Adds the tallies to this hour's counts. On failure the tallies are put back.
pub async fn flush(db: &Db) -> anyhow::Result<()> {
    let tally = match TALLY.lock() {
        Ok(mut tally) => std::mem::take(&mut *tally),
        Err(_) => return Ok(()),
    };
    if tally.is_empty() {
        return Ok(());
    }
    let hour = now_ms().div_euclid(HOUR_MS);
    let written = async {
        let mut tx = db
            .pool()
            .begin()
            .await
            .context("starting a security count")?;
        for (kind, count) in &tally {
            sqlx::query(
                "INSERT INTO security_event_counts (hour, kind, count) VALUES ($1, $2, $3) \
                 ON CONFLICT (hour, kind) DO UPDATE \
                 SET count = security_event_counts.count + excluded.count",
            )
            .bind(hour)
            .bind(kind)
            .bind(count)
            .execute(&mut *tx)
            .await
            .context("adding to a security count")?;
        }
        tx.commit().await.context("committing security counts")
    }
    .await;
    if written.is_err()
        && let Ok(mut pending) = TALLY.lock()
    {
        for (kind, count) in tally {
            *pending.entry(kind).or_default() += count;
        }
    }
    written
}

/// Each kind's count over the last 24 hours, most frequent first, including what
/// has not been flushed yet.
pub async fn last_day(db: &Db) -> anyhow::Result<Vec<(String, i64)>> {
    let since = now_ms().div_euclid(HOUR_MS) - 23;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, CAST(SUM(count) AS BIGINT) FROM security_event_counts \
         WHERE hour >= $1 GROUP BY kind",
    )
    .bind(since)
    .fetch_all(db.pool())
    .await
    .context("reading security counts")?;
    let mut totals: BTreeMap<String, i64> = rows.into_iter().collect();
    if let Ok(pending) = TALLY.lock() {
        for (kind, count) in pending.iter() {
            *totals.entry(kind.clone()).or_default() += count;
        }
    }
    let mut totals: Vec<(String, i64)> = totals.into_iter().collect();
    totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(totals)
}

/// Deletes counts older than 90 days.
pub async fn purge(db: &Db) -> anyhow::Result<()> {
    let before = now_ms().div_euclid(HOUR_MS) - 90 * 24;
    sqlx::query("DELETE FROM security_event_counts WHERE hour < $1")
        .bind(before)
        .execute(db.pool())
        .await
        .context("purging old security counts")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[test]
    fn security_events_are_tallied_by_kind_and_others_are_not() {
        let subscriber = tracing_subscriber::registry().with(EventCounter);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(event = "security.tally_test", "counted");
            tracing::info!(event = "security.tally_test", user.id = 3, "counted again");
            tracing::info!(event = "order.tally_test", "not a security event");
        });
        let tally = TALLY.lock().expect("tally");
        assert_eq!(tally.get("tally_test"), Some(&2));
        assert!(!tally.keys().any(|k| k.contains("order")));
    }
}
