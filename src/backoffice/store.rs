//! The back office's reads: the dashboard's figures and the order lists. Staff see
//! every customer's orders, so nothing here is scoped to an owner; the routes that
//! use it are behind [`crate::backoffice::extract::Staff`].

use anyhow::Context as _;

use crate::backoffice::analytics::range::Day;
use crate::db::{Db, like_escape, time::now_ms};
use crate::orders::status::Status;
use crate::orders::store::OrderSummary;

#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub orders_today: i64,
    pub revenue_today_minor: i64,
    pub waiting: i64,
    pub locked_accounts: i64,
    pub low_stock: Vec<LowStock>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LowStock {
    pub sku: String,
    pub name: String,
    pub slug: String,
    pub stock: i64,
}

/// Products at or below this stock are listed on the dashboard.
pub const LOW_STOCK: i64 = 5;

pub async fn dashboard(db: &Db) -> anyhow::Result<Dashboard> {
    let now = now_ms();
    let midnight = now - now.rem_euclid(86_400_000);
    // Sold as the analytics count it: paid and not undone.
    let (orders_today, revenue_today_minor): (i64, i64) = sqlx::query_as(&format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(total_minor), 0) AS BIGINT) FROM orders \
         WHERE created_at >= $1 AND status IN {}",
        crate::backoffice::analytics::store::sold_list()
    ))
    .bind(midnight)
    .fetch_one(db.pool())
    .await
    .context("counting today's orders")?;
    let waiting = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE status = 'paid'")
        .fetch_one(db.pool())
        .await
        .context("counting orders to process")?;
    let locked_accounts = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE locked_until > $1")
        .bind(now)
        .fetch_one(db.pool())
        .await
        .context("counting locked accounts")?;
    let low_stock = sqlx::query_as(
        "SELECT sku, name, slug, stock FROM products WHERE active = 1 AND stock <= $1 \
         ORDER BY stock, name LIMIT 10",
    )
    .bind(LOW_STOCK)
    .fetch_all(db.pool())
    .await
    .context("listing low stock")?;
    Ok(Dashboard {
        orders_today,
        revenue_today_minor,
        waiting,
        locked_accounts,
        low_stock,
    })
}

/// Which orders the list shows.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<Status>,
    /// Part of a reference or of the customer's email.
    pub search: Option<String>,
    /// Placed at or after this time (Unix ms).
    pub placed_from: Option<i64>,
    /// Placed before this time (Unix ms).
    pub placed_before: Option<i64>,
}

impl OrderFilter {
    /// Orders placed from the start of `from` to the end of `to` (both days included,
    /// either open), as the list's date fields mean them.
    pub fn placed_between(self, from: Option<Day>, to: Option<Day>) -> OrderFilter {
        OrderFilter {
            placed_from: from.map(Day::start_ms),
            placed_before: to.map(|day| Day(day.0 + 1).start_ms()),
            ..self
        }
    }
}

/// An order in the back office's list: the summary and who placed it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffOrderRow {
    #[sqlx(flatten)]
    pub summary: OrderSummary,
    pub email: String,
}

fn where_clause(filter: &OrderFilter) -> (String, Vec<String>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    if let Some(status) = filter.status {
        values.push(status.as_str().to_owned());
        conditions.push(format!("status = ${}", values.len()));
    }
    if let Some(search) = &filter.search {
        values.push(format!("%{}%", like_escape(&search.to_lowercase())));
        let n = values.len();
        conditions.push(format!(
            "(lower(reference) LIKE ${n} ESCAPE '\\' OR lower(email) LIKE ${n} ESCAPE '\\')"
        ));
    }
    // Times are numbers the code computed from a parsed date, never request text.
    if let Some(from) = filter.placed_from {
        conditions.push(format!("created_at >= {from}"));
    }
    if let Some(before) = filter.placed_before {
        conditions.push(format!("created_at < {before}"));
    }
    let clause = match conditions.is_empty() {
        true => String::new(),
        false => format!("WHERE {}", conditions.join(" AND ")),
    };
    (clause, values)
}

pub async fn count_orders(db: &Db, filter: &OrderFilter) -> anyhow::Result<i64> {
    let (clause, values) = where_clause(filter);
    let sql = format!("SELECT COUNT(*) FROM orders {clause}");
    let mut query = sqlx::query_scalar(&sql);
    for value in &values {
        query = query.bind(value);
    }
    query.fetch_one(db.pool()).await.context("counting orders")
}

/// Orders matching `filter`, newest first.
pub async fn list_orders(
    db: &Db,
    filter: &OrderFilter,
    limit: i64,
    offset: i64,
) -> anyhow::Result<Vec<StaffOrderRow>> {
    let (clause, values) = where_clause(filter);
    let n = values.len();
    let sql = format!(
        "SELECT reference, status, item_count, total_minor, created_at, email FROM orders \
         {clause} ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut query = sqlx::query_as(&sql);
    for value in &values {
        query = query.bind(value);
    }
    query
        .bind(limit)
        .bind(offset)
        .fetch_all(db.pool())
        .await
        .context("listing orders")
}

/// A charge or refund of an order, for the staff's view of its payments.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRow {
    pub kind: String,
    pub outcome: String,
    pub amount_minor: i64,
    pub gateway_reference: Option<String>,
    pub card_brand: String,
    pub card_last4: String,
    pub failure: String,
    pub created_at: i64,
}

impl PaymentRow {
    pub fn amount(&self) -> crate::money::Money {
        crate::money::Money::from_minor(self.amount_minor)
    }

    pub fn at(&self) -> String {
        crate::db::time::display_ms(self.created_at)
    }
}

pub async fn payments(db: &Db, order_id: i64) -> anyhow::Result<Vec<PaymentRow>> {
    sqlx::query_as(
        "SELECT kind, outcome, amount_minor, gateway_reference, card_brand, card_last4, \
                failure, created_at FROM payments WHERE order_id = $1 ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(db.pool())
    .await
    .context("loading an order's payments")
}
