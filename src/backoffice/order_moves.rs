//! Staff moving an order along the pipeline (F-08): processing, shipped (with an
//! optional tracking number), delivered, cancelled (the stock goes back and the
//! payment is refunded) and refunded (with an explicit choice to restock). The
//! gateway is called outside the transaction that records the move, the stock and the
//! audit entry together.

use anyhow::Context as _;
use serde_json::json;

use crate::app::AppState;
use crate::backoffice::audit::{self, NewEntry};
use crate::catalog;
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

/// Why a move or refund was refused. Each carries the message to show staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The pipeline does not allow the move from the order's status.
    Transition(String),
    /// The items or units asked for are not the order's, or not left to refund.
    Items(String),
    /// The payment cannot be paid back: none, nothing left, or the gateway refused.
    Payment(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Transition(m) | Refusal::Items(m) | Refusal::Payment(m) => f.write_str(m),
        }
    }
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

/// An order line with what is left of it after earlier refunds.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundableLine {
    pub id: i64,
    pub product_id: i64,
    pub name: String,
    pub unit_price_minor: i64,
    /// Units not refunded yet.
    pub remaining: i64,
}

pub async fn refundable_lines(
    db: &crate::db::Db,
    order_id: i64,
) -> anyhow::Result<Vec<RefundableLine>> {
    sqlx::query_as(
        "SELECT l.id, l.product_id, l.name, l.unit_price_minor, \
                l.quantity - CAST(COALESCE((SELECT SUM(r.quantity) FROM refund_lines r \
                                            WHERE r.order_line_id = l.id), 0) AS BIGINT) \
                    AS remaining \
         FROM order_lines l WHERE l.order_id = $1 ORDER BY l.id",
    )
    .bind(order_id)
    .fetch_all(db.pool())
    .await
    .context("loading what is left to refund")
}

/// The moves the pipeline allows from `status`, for staff to choose from.
pub fn next_statuses(status: Option<Status>) -> Vec<Status> {
    status.map_or_else(Vec::new, |from| {
        Status::ALL
            .into_iter()
            .filter(|to| from.can_move_to(*to))
            .collect()
    })
}

/// Lines with units left to refund, while the order can still be refunded.
pub async fn open_refunds(
    db: &crate::db::Db,
    order: &OrderDetail,
) -> anyhow::Result<Vec<RefundableLine>> {
    if !order
        .status()
        .is_some_and(|s| s.can_move_to(Status::Refunded))
    {
        return Ok(Vec::new());
    }
    let lines = refundable_lines(db, order.id).await?;
    Ok(lines.into_iter().filter(|l| l.remaining > 0).collect())
}

/// Moves `order` as `request` says, by `staff`. `Ok(Err(refusal))` is a refusal to
/// show them. Cancelling or refunding pays back what is left of the charge and covers
/// every unit not refunded yet; a cancellation always restocks them, a refund when asked.
pub async fn move_order(
    state: &AppState,
    staff: &audit::Actor,
    order: &OrderDetail,
    request: &MoveRequest,
) -> anyhow::Result<Result<(), Refusal>> {
    let Some(from) = order.status() else {
        anyhow::bail!("order {} has an unknown status", order.reference);
    };
    if !from.can_move_to(request.to) {
        return Ok(Err(Refusal::Transition(format!(
            "An order that is {} cannot become {}.",
            from.label().to_lowercase(),
            request.to.label().to_lowercase()
        ))));
    }

    let closing = matches!(request.to, Status::Cancelled | Status::Refunded);
    let restock =
        request.to == Status::Cancelled || request.to == Status::Refunded && request.restock;
    let lines: Vec<(RefundableLine, i64)> = match closing {
        true => refundable_lines(&state.db, order.id)
            .await?
            .into_iter()
            .filter(|l| l.remaining > 0)
            .map(|l| {
                let remaining = l.remaining;
                (l, remaining)
            })
            .collect(),
        false => Vec::new(),
    };
    let refund = match closing {
        true => match refund_charge(state, order, None).await? {
            Ok(refund) => refund,
            Err(message) => return Ok(Err(Refusal::Payment(message))),
        },
        false => None,
    };

    let mut note = request.note.trim().to_owned();
    if request.to == Status::Shipped && !request.tracking.trim().is_empty() {
        let tracking = format!("Tracking number: {}", request.tracking.trim());
        note = if note.is_empty() {
            tracking
        } else {
            format!("{note}\n{tracking}")
        };
    }

    let mut tx = state
        .db
        .pool()
        .begin()
        .await
        .context("starting an order move")?;
    if let Some((charge, amount)) = &refund {
        let payment_id = insert_refund(&mut tx, order.id, charge, *amount).await?;
        record_refund_lines(&mut tx, payment_id, &lines, restock).await?;
    } else if restock {
        record_refund_lines(&mut tx, 0, &lines, true).await?;
    }
    orders::move_status(
        &mut tx,
        order.id,
        from,
        request.to,
        Actor::Staff(staff.user_id),
        &note,
    )
    .await?;
    let refunded_minor = refund.as_ref().map_or(0, |(_, amount)| amount.minor());
    audit::record(
        &mut tx,
        staff,
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
        user.id = staff.user_id,
        order.reference = order.reference.as_str(),
        from = from.as_str(),
        to = request.to.as_str(),
        "order status changed"
    );
    tell_customer(state, order, request.to, &note, refunded_minor);
    Ok(Ok(()))
}

/// Refunds some items of an order, by `staff`: `quantities` pairs order line ids with
/// units (a line named twice counts once, with the units added up). The order keeps
/// its status unless nothing is left, when it becomes Refunded.
pub async fn refund_items(
    state: &AppState,
    staff: &audit::Actor,
    order: &OrderDetail,
    quantities: &[(i64, i64)],
    restock: bool,
    note: &str,
) -> anyhow::Result<Result<(), Refusal>> {
    let Some(status) = order.status() else {
        anyhow::bail!("order {} has an unknown status", order.reference);
    };
    if !status.can_move_to(Status::Refunded) {
        return Ok(Err(Refusal::Transition(format!(
            "An order that is {} cannot be refunded.",
            status.label().to_lowercase()
        ))));
    }
    let lines = refundable_lines(&state.db, order.id).await?;
    let chosen = match choose_units(&lines, quantities) {
        Ok(chosen) => chosen,
        Err(message) => return Ok(Err(Refusal::Items(message))),
    };
    let amount = chosen
        .iter()
        .try_fold(Money::ZERO, |sum, (line, units)| {
            sum.checked_add(Money::from_minor(line.unit_price_minor).checked_mul(*units)?)
        })
        .ok_or_else(|| anyhow::anyhow!("refund total overflows"))?;
    let everything = lines.iter().all(|l| {
        l.remaining
            == chosen
                .iter()
                .find(|(c, _)| c.id == l.id)
                .map_or(0, |(_, u)| *u)
    });

    let (charge, amount) = match refund_charge(state, order, Some(amount)).await? {
        Ok(Some(refund)) => refund,
        Ok(None) => {
            return Ok(Err(Refusal::Payment(
                "Nothing is left to refund.".to_owned(),
            )));
        }
        Err(message) => return Ok(Err(Refusal::Payment(message))),
    };
    let items: Vec<String> = chosen
        .iter()
        .map(|(line, units)| format!("{units} × {}", line.name))
        .collect();
    let mut text = format!(
        "Refunded {}: {}",
        state.settings.currency.format(&amount),
        items.join(", ")
    );
    if !note.trim().is_empty() {
        text = format!("{text}\n{}", note.trim());
    }

    let mut tx = state.db.pool().begin().await.context("starting a refund")?;
    let payment_id = insert_refund(&mut tx, order.id, &charge, amount).await?;
    record_refund_lines(&mut tx, payment_id, &chosen, restock).await?;
    match everything {
        true => {
            orders::move_status(
                &mut tx,
                order.id,
                status,
                Status::Refunded,
                Actor::Staff(staff.user_id),
                &text,
            )
            .await?;
        }
        false => {
            orders::record_event(
                &mut tx,
                order.id,
                status,
                Actor::Staff(staff.user_id),
                &text,
            )
            .await?;
        }
    }
    audit::record(
        &mut tx,
        staff,
        &NewEntry {
            action: "order.refund",
            target: &format!("order {}", order.reference),
            before: json!({ "status": status.as_str() }),
            after: json!({
                "refunded_minor": amount.minor(),
                "items": chosen.iter().map(|(l, u)| json!({ "line": l.id, "units": u })).collect::<Vec<_>>(),
                "restocked": restock,
            }),
        },
    )
    .await?;
    tx.commit().await.context("committing a refund")?;
    tell_customer(state, order, Status::Refunded, &text, amount.minor());
    Ok(Ok(()))
}

/// The lines and units `quantities` asks for, each line once and within what is left
/// of it; a message for staff otherwise. Lines asked for with no units are skipped.
fn choose_units(
    lines: &[RefundableLine],
    quantities: &[(i64, i64)],
) -> Result<Vec<(RefundableLine, i64)>, String> {
    let mut chosen: Vec<(RefundableLine, i64)> = Vec::new();
    for (line_id, units) in quantities.iter().copied().filter(|(_, units)| *units > 0) {
        let Some(line) = lines.iter().find(|l| l.id == line_id) else {
            return Err("Choose items of this order.".to_owned());
        };
        let asked = match chosen.iter_mut().find(|(c, _)| c.id == line_id) {
            Some((_, total)) => {
                *total = total.saturating_add(units);
                *total
            }
            None => {
                chosen.push((line.clone(), units));
                units
            }
        };
        if asked > line.remaining {
            return Err(format!(
                "Only {} of {} can still be refunded.",
                line.remaining, line.name
            ));
        }
    }
    if chosen.is_empty() {
        return Err("Choose how many of which items to refund.".to_owned());
    }
    Ok(chosen)
}

async fn insert_refund(
    conn: &mut sqlx::AnyConnection,
    order_id: i64,
    charge: &PaidCharge,
    amount: Money,
) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO payments (order_id, kind, outcome, amount_minor, currency, \
                gateway_reference, card_brand, card_last4, failure, created_at) \
         VALUES ($1, 'refund', 'succeeded', $2, $3, $4, $5, $6, '', $7) RETURNING id",
    )
    .bind(order_id)
    .bind(amount.minor())
    .bind(&charge.currency)
    .bind(charge.gateway_reference.as_deref())
    .bind(&charge.card_brand)
    .bind(&charge.card_last4)
    .bind(now_ms())
    .fetch_one(conn)
    .await
    .context("recording a refund")
}

/// Records which units a refund covered and, when asked, puts them back in stock.
/// `payment_id` 0 means no money moved (an order cancelled with nothing left to pay
/// back): only the stock changes.
async fn record_refund_lines(
    conn: &mut sqlx::AnyConnection,
    payment_id: i64,
    lines: &[(RefundableLine, i64)],
    restock: bool,
) -> anyhow::Result<()> {
    for (line, units) in lines {
        if payment_id != 0 {
            sqlx::query(
                "INSERT INTO refund_lines (payment_id, order_line_id, quantity, restocked) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(payment_id)
            .bind(line.id)
            .bind(*units)
            .bind(i64::from(restock))
            .execute(&mut *conn)
            .await
            .context("recording a refunded line")?;
        }
        if restock {
            catalog::store::restock(&mut *conn, line.product_id, *units).await?;
        }
    }
    Ok(())
}

/// Refunds `amount` (or, with `None`, what is left of the order's charge) through the
/// gateway. `Ok(Ok(None))` when nothing is left to refund.
async fn refund_charge(
    state: &AppState,
    order: &OrderDetail,
    amount: Option<Money>,
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
    let amount = amount.unwrap_or(left);
    if left <= Money::ZERO || amount <= Money::ZERO {
        return Ok(Ok(None));
    }
    if amount > left {
        return Ok(Err("That is more than is left of the payment.".to_owned()));
    }
    let Some(gateway_reference) = charge.gateway_reference.clone() else {
        return Ok(Err(
            "The payment has no gateway reference to refund.".to_owned()
        ));
    };
    match state.gateway.refund(&gateway_reference, amount).await {
        Ok(_) => Ok(Ok(Some((charge, amount)))),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: i64, remaining: i64) -> RefundableLine {
        RefundableLine {
            id,
            product_id: id,
            name: format!("item {id}"),
            unit_price_minor: 100,
            remaining,
        }
    }

    #[test]
    fn a_line_named_twice_cannot_refund_more_than_is_left_of_it() {
        let lines = [line(1, 2), line(2, 1)];
        assert!(choose_units(&lines, &[(1, 2), (1, 2)]).is_err());
        let chosen = choose_units(&lines, &[(1, 1), (2, 1), (1, 1)]).expect("within what is left");
        let units: Vec<(i64, i64)> = chosen.iter().map(|(l, u)| (l.id, *u)).collect();
        assert_eq!(units, [(1, 2), (2, 1)]);
    }

    #[test]
    fn units_of_other_orders_or_none_at_all_are_refused() {
        let lines = [line(1, 2)];
        assert!(choose_units(&lines, &[(9, 1)]).is_err());
        assert!(choose_units(&lines, &[(1, 0)]).is_err());
        assert!(choose_units(&lines, &[]).is_err());
        assert!(choose_units(&lines, &[(1, 3)]).is_err());
    }
}
