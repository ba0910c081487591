//! The orders' SQL: reading a customer's orders (always scoped to their owner) and
//! moving an order along the status pipeline with a record of each move.

use anyhow::Context as _;
use sqlx::AnyConnection;

use crate::checkout::shipping::Address;
use crate::db::Db;
use crate::db::time::{display_ms, now_ms};
use crate::money::Money;
use crate::orders::status::{Actor, Status};

/// A line in the order history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderSummary {
    pub reference: String,
    pub status: String,
    pub item_count: i64,
    pub total_minor: i64,
    pub created_at: i64,
}

impl OrderSummary {
    pub fn status(&self) -> Option<Status> {
        Status::parse(&self.status)
    }

    pub fn total(&self) -> Money {
        Money::from_minor(self.total_minor)
    }

    pub fn placed_at(&self) -> String {
        display_ms(self.created_at)
    }
}

/// One order, as its page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderDetail {
    pub id: i64,
    pub reference: String,
    pub user_id: Option<i64>,
    pub status: String,
    pub email: String,
    pub item_count: i64,
    pub subtotal_minor: i64,
    pub shipping_minor: i64,
    pub total_minor: i64,
    pub created_at: i64,
    #[sqlx(flatten)]
    pub address: Address,
}

impl OrderDetail {
    pub fn status(&self) -> Option<Status> {
        Status::parse(&self.status)
    }

    pub fn placed_at(&self) -> String {
        display_ms(self.created_at)
    }

    pub fn subtotal(&self) -> Money {
        Money::from_minor(self.subtotal_minor)
    }

    pub fn shipping(&self) -> Money {
        Money::from_minor(self.shipping_minor)
    }

    pub fn total(&self) -> Money {
        Money::from_minor(self.total_minor)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderLine {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub unit_price_minor: i64,
    pub quantity: i64,
    pub line_total_minor: i64,
}

impl OrderLine {
    pub fn unit_price(&self) -> Money {
        Money::from_minor(self.unit_price_minor)
    }

    pub fn line_total(&self) -> Money {
        Money::from_minor(self.line_total_minor)
    }
}

/// A status the order reached, when and by whose hand.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderEvent {
    pub status: String,
    pub actor_kind: String,
    pub note: String,
    pub created_at: i64,
}

/// The outcome of the latest charge of an order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentSummary {
    pub outcome: String,
    pub card_brand: String,
    pub card_last4: String,
    pub failure: String,
}

pub async fn count_for_user(db: &Db, user_id: i64) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(db.pool())
        .await
        .context("counting a customer's orders")
}

/// A customer's orders, newest first.
pub async fn list_for_user(
    db: &Db,
    user_id: i64,
    limit: i64,
    offset: i64,
) -> anyhow::Result<Vec<OrderSummary>> {
    sqlx::query_as(
        "SELECT reference, status, item_count, total_minor, created_at FROM orders \
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db.pool())
    .await
    .context("listing a customer's orders")
}

const DETAIL_COLUMNS: &str = "id, reference, user_id, status, email, item_count, \
     subtotal_minor, shipping_minor, total_minor, created_at, ship_name AS name, \
     ship_line1 AS line1, ship_line2 AS line2, ship_city AS city, \
     ship_postal_code AS postal_code, ship_country AS country";

/// The order with `reference`, if it belongs to `user_id`.
pub async fn find_for_user(
    db: &Db,
    reference: &str,
    user_id: i64,
) -> anyhow::Result<Option<OrderDetail>> {
    sqlx::query_as(&format!(
        "SELECT {DETAIL_COLUMNS} FROM orders WHERE reference = $1 AND user_id = $2"
    ))
    .bind(reference)
    .bind(user_id)
    .fetch_optional(db.pool())
    .await
    .context("loading an order")
}

/// Any customer's order with `reference`, for the back office.
pub async fn find_any(db: &Db, reference: &str) -> anyhow::Result<Option<OrderDetail>> {
    sqlx::query_as(&format!(
        "SELECT {DETAIL_COLUMNS} FROM orders WHERE reference = $1"
    ))
    .bind(reference)
    .fetch_optional(db.pool())
    .await
    .context("loading an order for staff")
}

/// The reference of `user_id`'s order placed with a checkout token, if any.
pub async fn reference_for_token(
    db: &Db,
    user_id: i64,
    token_hash: &str,
) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT reference FROM orders WHERE checkout_token_hash = $1 AND user_id = $2",
    )
    .bind(token_hash)
    .bind(user_id)
    .fetch_optional(db.pool())
    .await
    .context("finding the order of a checkout token")
}

pub async fn lines(db: &Db, order_id: i64) -> anyhow::Result<Vec<OrderLine>> {
    sqlx::query_as(
        "SELECT product_id, sku, name, unit_price_minor, quantity, line_total_minor \
         FROM order_lines WHERE order_id = $1 ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(db.pool())
    .await
    .context("loading order lines")
}

/// The order's history, oldest first.
pub async fn events(db: &Db, order_id: i64) -> anyhow::Result<Vec<OrderEvent>> {
    sqlx::query_as(
        "SELECT status, actor_kind, note, created_at FROM order_events \
         WHERE order_id = $1 ORDER BY created_at, id",
    )
    .bind(order_id)
    .fetch_all(db.pool())
    .await
    .context("loading an order's history")
}

pub async fn latest_charge(db: &Db, order_id: i64) -> anyhow::Result<Option<PaymentSummary>> {
    sqlx::query_as(
        "SELECT outcome, card_brand, card_last4, failure FROM payments \
         WHERE order_id = $1 AND kind = 'charge' ORDER BY id DESC LIMIT 1",
    )
    .bind(order_id)
    .fetch_optional(db.pool())
    .await
    .context("loading an order's payment")
}

/// Moves order `order_id` from `from` to `to` and records the move, inside the
/// caller's transaction. Fails if the pipeline forbids the move or the order is no
/// longer in `from` (someone else moved it first).
pub async fn move_status(
    conn: &mut AnyConnection,
    order_id: i64,
    from: Status,
    to: Status,
    actor: Actor,
    note: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        from.can_move_to(to),
        "the pipeline does not allow {} → {}",
        from.as_str(),
        to.as_str()
    );
    let now = now_ms();
    let moved =
        sqlx::query("UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
            .bind(to.as_str())
            .bind(now)
            .bind(order_id)
            .bind(from.as_str())
            .execute(&mut *conn)
            .await
            .context("moving an order's status")?
            .rows_affected();
    anyhow::ensure!(
        moved == 1,
        "order {order_id} was no longer {}",
        from.as_str()
    );
    record_event(conn, order_id, to, actor, note).await
}

/// Adds a status to an order's history.
pub async fn record_event(
    conn: &mut AnyConnection,
    order_id: i64,
    status: Status,
    actor: Actor,
    note: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO order_events (order_id, status, actor_kind, actor_user_id, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(order_id)
    .bind(status.as_str())
    .bind(actor.kind())
    .bind(actor.user_id())
    .bind(note)
    .bind(now_ms())
    .execute(conn)
    .await
    .context("recording an order event")?;
    Ok(())
}
