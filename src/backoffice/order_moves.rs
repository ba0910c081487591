//! Staff moving an order along the pipeline (F-08): processing, shipped (with an
//! optional tracking number), delivered, cancelled (the stock goes back and the
//! payment is refunded) and refunded (with an explicit choice to restock). The
//! gateway is called outside the transaction that records the move, the stock and the
//! audit entry together.

use anyhow::Context as _;
use serde_json::json;

use crate::app::AppState;
use crate::backoffice::audit::{self, NewEntry};
use crate::backoffice::extract::Staff;
use crate::db::time::now_ms;
use crate::money::Money;
use crate::orders::status::{Actor, Status};
use crate::orders::store::{self as orders, OrderDetail};

/// What staff asked for.
#[derive(Debug, Clone)]
pub struct MoveRequest {
    pub to: Status,
    /// Shown to the customer on their order page.
    pub note: String,
    pub tracking: String,
    /// For a refund: put the items back in stock. A cancellation always does.
    pub restock: bool,
}

/// Checks the typed fields; the message is for the form.
pub fn check_fields(note: &str, tracking: &str) -> Result<(), &'static str> {
    if note.chars().count() > 500 {
        return Err("Keep the note to 500 characters.");
    }
    if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err("Remove the special characters from the note.");
    }
    let tracking_ok = tracking.len() <= 64
        && tracking
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ');
    if !tracking_ok {
        return Err("A tracking number has up to 64 letters, digits, spaces and dashes.");
    }
    Ok(())
}

/// The charge an order was paid with.
#[derive(Debug, Clone, sqlx::FromRow)]
struct PaidCharge {
    gateway_reference: Option<String>,
    amount_minor: i64,
    card_brand: String,
    card_last4: String,
    currency: String,
}

/// Moves `order` as `request` says. `Ok(Err(message))` is a refusal to show staff.
pub async fn move_order(
    state: &AppState,
    staff: &Staff,
    order: &OrderDetail,
    request: &MoveRequest,
) -> anyhow::Result<Result<(), String>> {
    let Some(from) = order.status() else {
        anyhow::bail!("order {} has an unknown status", order.reference);
    };
    if !from.can_move_to(request.to) {
        return Ok(Err(format!(
            "An order that is {} cannot become {}.",
            from.label().to_lowercase(),
            request.to.label().to_lowercase()
        )));
    }

    let refund = match request.to {
        Status::Cancelled | Status::Refunded => match refund_charge(state, order).await? {
            Ok(refund) => refund,
            Err(message) => return Ok(Err(message)),
        },
        _ => None,
    };
    let restock =
        request.to == Status::Cancelled || request.to == Status::Refunded && request.restock;

    let mut note = request.note.trim().to_owned();
    if request.to == Status::Shipped && !request.tracking.trim().is_empty() {
        let tracking = format!("Tracking number: {}", request.tracking.trim());
        note = if note.is_empty() {
            tracking
        } else {
            format!("{note}\n{tracking}")
        };
    }

    let lines = match restock {
        true => orders::lines(&state.db, order.id).await?,
        false => Vec::new(),
    };

    let mut tx = state
        .db
        .pool()
        .begin()
        .await
        .context("starting an order move")?;
    if let Some((charge, amount)) = &refund {
        sqlx::query(
            "INSERT INTO payments (order_id, kind, outcome, amount_minor, currency, \
                    gateway_reference, card_brand, card_last4, failure, created_at) \
             VALUES ($1, 'refund', 'succeeded', $2, $3, $4, $5, $6, '', $7)",
        )
        .bind(order.id)
        .bind(amount.minor())
        .bind(&charge.currency)
        .bind(charge.gateway_reference.as_deref())
        .bind(&charge.card_brand)
        .bind(&charge.card_last4)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .context("recording a refund")?;
    }
    for line in &lines {
        sqlx::query("UPDATE products SET stock = stock + $1, updated_at = $2 WHERE id = $3")
            .bind(line.quantity)
            .bind(now_ms())
            .bind(line.product_id)
            .execute(&mut *tx)
            .await
            .context("restocking an order's items")?;
    }
    orders::move_status(
        &mut tx,
        order.id,
        from,
        request.to,
        Actor::Staff(staff.user.id),
        &note,
    )
    .await?;
    let refunded_minor = refund.as_ref().map_or(0, |(_, amount)| amount.minor());
    audit::record(
        &mut tx,
        &staff.actor(),
        &NewEntry {
            action: "order.status",
            target: &format!("order {}", order.reference),
            before: json!({ "status": from.as_str() }),
            after: json!({
                "status": request.to.as_str(),
                "note": note,
                "refunded_minor": refunded_minor,
                "restocked": restock,
            }),
        },
    )
    .await?;
    tx.commit().await.context("committing an order move")?;

    tracing::info!(
        event = "order.moved",
        user.id = staff.user.id,
        order.reference = order.reference.as_str(),
        from = from.as_str(),
        to = request.to.as_str(),
        "order status changed"
    );
    tell_customer(state, order, request.to, &note, refunded_minor);
    Ok(Ok(()))
}

/// Refunds what is left of the order's charge through the gateway. `Ok(None)` when
/// nothing is left to refund.
async fn refund_charge(
    state: &AppState,
    order: &OrderDetail,
) -> anyhow::Result<Result<Option<(PaidCharge, Money)>, String>> {
    let charge: Option<PaidCharge> = sqlx::query_as(
        "SELECT gateway_reference, amount_minor, card_brand, card_last4, currency FROM payments \
         WHERE order_id = $1 AND kind = 'charge' AND outcome = 'succeeded'",
    )
    .bind(order.id)
    .fetch_optional(state.db.pool())
    .await
    .context("finding the order's charge")?;
    let Some(charge) = charge else {
        return Ok(Err("This order has no payment to refund.".to_owned()));
    };
    let refunded: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM payments \
         WHERE order_id = $1 AND kind = 'refund' AND outcome = 'succeeded'",
    )
    .bind(order.id)
    .fetch_one(state.db.pool())
    .await
    .context("adding up the order's refunds")?;
    let left = Money::from_minor(charge.amount_minor - refunded);
    if left <= Money::ZERO {
        return Ok(Ok(None));
    }
    let Some(gateway_reference) = charge.gateway_reference.clone() else {
        return Ok(Err(
            "The payment has no gateway reference to refund.".to_owned()
        ));
    };
    match state.gateway.refund(&gateway_reference, left).await {
        Ok(_) => Ok(Ok(Some((charge, left)))),
        Err(err) => {
            tracing::warn!(
                event = "payment.refund_failed",
                order.reference = order.reference.as_str(),
                error = %err,
                "refund refused"
            );
            Ok(Err(format!(
                "The payment provider refused the refund: {err}."
            )))
        }
    }
}

/// Emails the customer when their order ships, is cancelled or refunded.
fn tell_customer(
    state: &AppState,
    order: &OrderDetail,
    to: Status,
    note: &str,
    refunded_minor: i64,
) {
    let currency = &state.settings.currency;
    let (subject, what) = match to {
        Status::Shipped => ("Your order is on its way", "has been shipped".to_owned()),
        Status::Cancelled => (
            "Your order is cancelled",
            format!(
                "has been cancelled and {} refunded to your card",
                currency.format(&Money::from_minor(refunded_minor))
            ),
        ),
        Status::Refunded => (
            "Your order is refunded",
            format!(
                "has been refunded: {} goes back to your card",
                currency.format(&Money::from_minor(refunded_minor))
            ),
        ),
        _ => return,
    };
    let note = match note {
        "" => String::new(),
        note => format!("{note}\n\n"),
    };
    let body = format!(
        "Your SecureCart order {reference} {what}.\n\n{note}See its history at {url}/orders/{reference}\n",
        reference = order.reference,
        url = state.settings.public_url,
    );
    state.mailer.send_later(
        "order.update",
        &order.email,
        &format!("{subject} ({})", order.reference),
        body,
    );
}
