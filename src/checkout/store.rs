//! The checkout's SQL: shipping drafts with their one-time payment token, and the
//! three transactions of placing an order — reserve, then paid or failed.

use anyhow::Context as _;
use subtle::ConstantTimeEq as _;

use crate::cart::contents::CartLine;
use crate::checkout::shipping::Address;
use crate::db::{Db, time::now_ms};
use crate::money::Money;
use crate::orders::status::{Actor, Status};
use crate::orders::store as orders;
use crate::{cart, catalog};

/// The customer's saved shipping details, the hash of the payment form's token and
/// the total that form showed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Draft {
    #[sqlx(flatten)]
    pub address: Address,
    pub token_hash: Option<String>,
    pub token_total_minor: Option<i64>,
}

impl Draft {
    pub fn token_matches(&self, token_hash: &str) -> bool {
        self.token_hash
            .as_deref()
            .is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(token_hash.as_bytes())))
    }
}

pub async fn load_draft(db: &Db, user_id: i64) -> anyhow::Result<Option<Draft>> {
    sqlx::query_as(
        "SELECT ship_name AS name, ship_line1 AS line1, ship_line2 AS line2, ship_city AS city, \
                ship_postal_code AS postal_code, ship_country AS country, token_hash, \
                token_total_minor \
         FROM checkout_drafts WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db.pool())
    .await
    .context("loading the checkout draft")
}

/// The shipping details of the customer's latest order, to fill in the next checkout.
pub async fn last_address(db: &Db, user_id: i64) -> anyhow::Result<Option<Address>> {
    sqlx::query_as(
        "SELECT ship_name AS name, ship_line1 AS line1, ship_line2 AS line2, ship_city AS city, \
                ship_postal_code AS postal_code, ship_country AS country \
         FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(db.pool())
    .await
    .context("loading the last shipping address")
}

/// Saves the shipping step; any payment form shown before it stops working.
pub async fn save_draft(db: &Db, user_id: i64, address: &Address) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO checkout_drafts (user_id, ship_name, ship_line1, ship_line2, ship_city, \
                ship_postal_code, ship_country, token_hash, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8) \
         ON CONFLICT (user_id) DO UPDATE SET ship_name = excluded.ship_name, \
                ship_line1 = excluded.ship_line1, ship_line2 = excluded.ship_line2, \
                ship_city = excluded.ship_city, ship_postal_code = excluded.ship_postal_code, \
                ship_country = excluded.ship_country, token_hash = NULL, token_total_minor = NULL, \
                updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(&address.name)
    .bind(&address.line1)
    .bind(&address.line2)
    .bind(&address.city)
    .bind(&address.postal_code)
    .bind(&address.country)
    .bind(now_ms())
    .execute(db.pool())
    .await
    .context("saving the checkout draft")?;
    Ok(())
}

/// Gives the draft a new payment-form token (its hash) for a form showing `total`; the
/// previous token stops working.
pub async fn set_token(
    db: &Db,
    user_id: i64,
    token_hash: &str,
    total: Money,
) -> anyhow::Result<bool> {
    let updated = sqlx::query(
        "UPDATE checkout_drafts SET token_hash = $1, token_total_minor = $2, updated_at = $3 \
         WHERE user_id = $4",
    )
    .bind(token_hash)
    .bind(total.minor())
    .bind(now_ms())
    .bind(user_id)
    .execute(db.pool())
    .await
    .context("issuing a checkout token")?
    .rows_affected();
    Ok(updated == 1)
}

/// How many of `user_id`'s charges were declined since `since_ms`.
pub async fn declines_since(db: &Db, user_id: i64, since_ms: i64) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id \
         WHERE o.user_id = $1 AND p.outcome = 'declined' AND p.created_at > $2",
    )
    .bind(user_id)
    .bind(since_ms)
    .fetch_one(db.pool())
    .await
    .context("counting declined payments")
}

/// An order about to be written: everything priced and checked already.
#[derive(Debug)]
pub struct NewOrder<'a> {
    pub reference: String,
    pub user_id: i64,
    pub email: &'a str,
    pub currency: &'a str,
    pub lines: &'a [CartLine],
    pub subtotal: Money,
    pub shipping: Money,
    pub total: Money,
    pub item_count: i64,
    pub token_hash: &'a str,
    pub address: &'a Address,
}

/// Why an order could not be reserved.
#[derive(Debug)]
pub enum ReserveError {
    /// An order with this checkout token exists already: a double submit.
    TokenUsed,
    /// A product's price, availability or stock changed since the cart was read.
    CartChanged,
    Database(anyhow::Error),
}

/// Writes the order as awaiting payment and takes its stock, in one transaction. Each
/// line takes stock with one conditional update that also checks the price and that
/// the product is on sale, so concurrent buyers cannot oversell and a price changed
/// since the cart was read is never charged.
pub async fn reserve(db: &Db, order: &NewOrder<'_>) -> Result<i64, ReserveError> {
    let failed = |context: &'static str| {
        move |e: sqlx::Error| ReserveError::Database(anyhow::Error::new(e).context(context))
    };
    let mut tx = db
        .pool()
        .begin()
        .await
        .map_err(failed("starting an order"))?;
    let now = now_ms();

    // The order first: a write, so SQLite takes the write lock before anything is read,
    // and the unique token makes a second submit fail here.
    let inserted = sqlx::query_scalar(
        "INSERT INTO orders (reference, user_id, email, status, currency, item_count, \
                subtotal_minor, shipping_minor, total_minor, checkout_token_hash, ship_name, \
                ship_line1, ship_line2, ship_city, ship_postal_code, ship_country, created_at, \
                updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) \
         RETURNING id",
    )
    .bind(&order.reference)
    .bind(order.user_id)
    .bind(order.email)
    .bind(Status::PendingPayment.as_str())
    .bind(order.currency)
    .bind(order.item_count)
    .bind(order.subtotal.minor())
    .bind(order.shipping.minor())
    .bind(order.total.minor())
    .bind(order.token_hash)
    .bind(&order.address.name)
    .bind(&order.address.line1)
    .bind(&order.address.line2)
    .bind(&order.address.city)
    .bind(&order.address.postal_code)
    .bind(&order.address.country)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let order_id: i64 = match inserted {
        Ok(id) => id,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(ReserveError::TokenUsed);
        }
        Err(e) => return Err(failed("writing an order")(e)),
    };

    // Lines in product order, so concurrent orders lock rows in the same order.
    let mut lines: Vec<&CartLine> = order.lines.iter().collect();
    lines.sort_by_key(|l| l.product_id);
    for line in lines {
        let taken = sqlx::query(
            "UPDATE products SET stock = stock - $1, updated_at = $2 \
             WHERE id = $3 AND active = 1 AND price_minor = $4 AND stock >= $1",
        )
        .bind(line.quantity)
        .bind(now)
        .bind(line.product_id)
        .bind(line.price_minor)
        .execute(&mut *tx)
        .await
        .map_err(failed("taking stock"))?
        .rows_affected();
        if taken != 1 {
            return Err(ReserveError::CartChanged);
        }

        let line_total = line.line_total().ok_or(ReserveError::CartChanged)?;
        sqlx::query(
            "INSERT INTO order_lines (order_id, product_id, sku, name, unit_price_minor, \
                    quantity, line_total_minor) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(order_id)
        .bind(line.product_id)
        .bind(&line.sku)
        .bind(&line.name)
        .bind(line.price_minor)
        .bind(line.quantity)
        .bind(line_total.minor())
        .execute(&mut *tx)
        .await
        .map_err(failed("writing an order line"))?;
    }

    orders::record_event(
        &mut tx,
        order_id,
        Status::PendingPayment,
        Actor::Customer(order.user_id),
        "Order placed",
    )
    .await
    .map_err(ReserveError::Database)?;
    tx.commit().await.map_err(failed("committing an order"))?;
    Ok(order_id)
}

/// One call to the gateway for an order, as the payment record keeps it: the card is
/// reduced to its brand and last four digits.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub order_id: i64,
    pub amount: Money,
    pub currency: &'a str,
    pub card_brand: &'static str,
    pub card_last4: String,
}

/// Records a successful charge: the payment, the move to Paid, the emptied cart and
/// a spent checkout token, in one transaction.
pub async fn mark_paid(
    db: &Db,
    attempt: &Attempt<'_>,
    user_id: i64,
    gateway_reference: &str,
) -> anyhow::Result<()> {
    let mut tx = db
        .pool()
        .begin()
        .await
        .context("starting to record a payment")?;
    insert_payment(&mut tx, attempt, "succeeded", Some(gateway_reference), "").await?;
    orders::move_status(
        &mut tx,
        attempt.order_id,
        Status::PendingPayment,
        Status::Paid,
        Actor::System,
        "Payment received",
    )
    .await?;
    cart::store::clear(&mut tx, user_id).await?;
    sqlx::query(
        "UPDATE checkout_drafts SET token_hash = NULL, token_total_minor = NULL WHERE user_id = $1",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await
    .context("spending the checkout token")?;
    tx.commit().await.context("committing a payment")?;
    Ok(())
}

/// Records a declined (`outcome` "declined") or failed ("failed") charge and puts the
/// order's stock back, in one transaction. The order ends as Payment failed; the cart
/// is kept for another try.
pub async fn mark_failed(
    db: &Db,
    attempt: &Attempt<'_>,
    lines: &[CartLine],
    outcome: &'static str,
    failure: &str,
) -> anyhow::Result<()> {
    let mut tx = db
        .pool()
        .begin()
        .await
        .context("starting to record a failed payment")?;
    insert_payment(&mut tx, attempt, outcome, None, failure).await?;

    let mut lines: Vec<&CartLine> = lines.iter().collect();
    lines.sort_by_key(|l| l.product_id);
    for line in lines {
        catalog::store::restock(&mut tx, line.product_id, line.quantity).await?;
    }
    orders::move_status(
        &mut tx,
        attempt.order_id,
        Status::PendingPayment,
        Status::PaymentFailed,
        Actor::System,
        &format!("Payment failed: {failure}"),
    )
    .await?;
    tx.commit().await.context("committing a failed payment")?;
    Ok(())
}

async fn insert_payment(
    conn: &mut sqlx::AnyConnection,
    attempt: &Attempt<'_>,
    outcome: &str,
    gateway_reference: Option<&str>,
    failure: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO payments (order_id, kind, outcome, amount_minor, currency, \
                gateway_reference, card_brand, card_last4, failure, created_at) \
         VALUES ($1, 'charge', $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(attempt.order_id)
    .bind(outcome)
    .bind(attempt.amount.minor())
    .bind(attempt.currency)
    .bind(gateway_reference)
    .bind(attempt.card_brand)
    .bind(&attempt.card_last4)
    .bind(failure)
    .bind(now_ms())
    .execute(conn)
    .await
    .context("recording a payment")?;
    Ok(())
}
