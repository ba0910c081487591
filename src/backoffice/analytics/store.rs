//! The analytics' SQL: a few aggregate queries over a period, run side by side. Each
//! returns small rows (a day and status, a product, two counts); the report is put
//! together from them in [`super::Report`].
//!
//! Every query reads a range of `orders.created_at`, which the `orders_by_time`
//! index (migration 0005) serves on its own, together with the columns the sums need.

use anyhow::Context as _;

use super::range::DateRange;
use crate::db::Db;

/// `('paid', 'processing', …)` for the statuses in [`super::SOLD`], to write into SQL.
/// The names are the code's own constants, never request data.
pub(crate) fn sold_list() -> String {
    let names: Vec<String> = super::SOLD
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("({})", names.join(", "))
}

/// Orders placed on one day with one status, and their total.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DayStatusRow {
    pub day: i64,
    pub status: String,
    pub orders: i64,
    pub amount_minor: i64,
}

/// A product's sales in the period, from the lines of sold orders.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProductRow {
    pub sku: String,
    pub name: String,
    pub units: i64,
    pub revenue_minor: i64,
}

/// Everything the report is made of, as the database counted it.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub by_day_and_status: Vec<DayStatusRow>,
    pub products: Vec<ProductRow>,
    /// Customers with a sold order in the period, and those of them who also had one
    /// before it.
    pub customers: i64,
    pub returning_customers: i64,
    pub refunds: i64,
    pub refunded_minor: i64,
}

pub async fn figures(db: &Db, range: &DateRange) -> anyhow::Result<Figures> {
    let (start, end) = (range.start_ms(), range.end_ms());
    // Independent reads on their own connections: the period's cost is the slowest
    // query, not the sum of them.
    let (by_day_and_status, products, (customers, returning_customers), (refunds, refunded_minor)) =
        tokio::try_join!(
            by_day_and_status(db, start, end),
            products(db, start, end),
            customers(db, start, end),
            refunds(db, start, end),
        )?;
    Ok(Figures {
        by_day_and_status,
        products,
        customers,
        returning_customers,
        refunds,
        refunded_minor,
    })
}

async fn by_day_and_status(db: &Db, start: i64, end: i64) -> anyhow::Result<Vec<DayStatusRow>> {
    sqlx::query_as(
        "SELECT created_at / 86400000 AS day, status, COUNT(*) AS orders, \
                CAST(COALESCE(SUM(total_minor), 0) AS BIGINT) AS amount_minor \
         FROM orders WHERE created_at >= $1 AND created_at < $2 \
         GROUP BY created_at / 86400000, status",
    )
    .bind(start)
    .bind(end)
    .fetch_all(db.pool())
    .await
    .context("counting orders by day and status")
}

/// Every product sold in the period; there are as many rows as products sold, which
/// the catalogue bounds, and the report picks its top lists from them.
async fn products(db: &Db, start: i64, end: i64) -> anyhow::Result<Vec<ProductRow>> {
    let sql = format!(
        "SELECT p.sku, p.name, t.units, t.revenue_minor FROM ( \
             SELECT l.product_id, CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) AS units, \
                    CAST(COALESCE(SUM(l.line_total_minor), 0) AS BIGINT) AS revenue_minor \
             FROM orders o JOIN order_lines l ON l.order_id = o.id \
             WHERE o.created_at >= $1 AND o.created_at < $2 AND o.status IN {} \
             GROUP BY l.product_id \
         ) t JOIN products p ON p.id = t.product_id",
        sold_list()
    );
    sqlx::query_as(&sql)
        .bind(start)
        .bind(end)
        .fetch_all(db.pool())
        .await
        .context("summing sales by product")
}

/// A customer returns if they had a sold order before the period; so a customer
/// is new exactly when their first sold order falls in it. Orders whose account was
/// deleted (`user_id` is NULL) belong to no one and are left out.
async fn customers(db: &Db, start: i64, end: i64) -> anyhow::Result<(i64, i64)> {
    let sold = sold_list();
    let sql = format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN EXISTS ( \
             SELECT 1 FROM orders b WHERE b.user_id = c.user_id AND b.created_at < $1 \
             AND b.status IN {sold}) THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM (SELECT DISTINCT user_id FROM orders WHERE created_at >= $1 AND created_at < $2 \
               AND status IN {sold} AND user_id IS NOT NULL) c"
    );
    sqlx::query_as(&sql)
        .bind(start)
        .bind(end)
        .fetch_one(db.pool())
        .await
        .context("counting new and returning customers")
}

/// Refunds that went through in the period, by the refund's own time: money given
/// back then, whenever the order was placed.
async fn refunds(db: &Db, start: i64, end: i64) -> anyhow::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM payments \
         WHERE kind = 'refund' AND outcome = 'succeeded' AND created_at >= $1 AND created_at < $2",
    )
    .bind(start)
    .bind(end)
    .fetch_one(db.pool())
    .await
    .context("summing refunds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::status::Status;

    #[test]
    fn the_sold_statuses_are_written_as_a_sql_list() {
        assert_eq!(
            sold_list(),
            "('paid', 'processing', 'shipped', 'delivered')"
        );
        assert!(
            super::super::SOLD
                .iter()
                .all(|s| Status::parse(s.as_str()).is_some())
        );
    }
}
