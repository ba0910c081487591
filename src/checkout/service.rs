//! Placing an order (F-05, S-11): reserve stock and write the order in one
//! transaction, charge the card outside any transaction, then record the outcome.
//! A checkout token names the attempt, so a double submit finds the first order
//! instead of making a second, and the gateway's idempotency key (the order's
//! reference) means a retried charge is charged once.

use crate::app::AppState;
use crate::cart::contents::Cart;
use crate::cart::{self, store::CartOwner};
use crate::checkout::payment::{CardDetails, ChargeRequest, PaymentError};
use crate::checkout::store::{self, Attempt, Draft, NewOrder, ReserveError};
use crate::db::time::now_ms;
use crate::money::Money;
use crate::orders::reference::new_reference;
use crate::orders::store as orders;
use crate::security::session::{SessionUser, digest};

/// How an attempt to place an order ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Paid; the order's reference.
    Paid(String),
    /// The token's order exists already (a double submit or a refresh).
    AlreadyPlaced(String),
    /// The gateway declined or failed; the stock is back and the message says why.
    PaymentFailed(&'static str),
    /// The cart is empty, cannot be bought as it is, or changed under the customer.
    CartChanged,
    /// The total differs from what the payment page showed: a price changed.
    PriceChanged,
    /// The payment form is out of date, or the shipping step is missing.
    Expired,
    /// Too many cards were declined lately: payments from the account are paused.
    Throttled,
}

/// Declined cards per customer per [`DECLINE_WINDOW_MS`] before payments pause: a real
/// customer mistypes once or twice; a card tester tries dozens.
pub const MAX_DECLINES: i64 = 5;
pub const DECLINE_WINDOW_MS: i64 = 60 * 60 * 1000;

const GATEWAY_DOWN: &str = "We could not reach our payment provider, so your card was not \
     charged. Please try again in a few minutes.";
const GATEWAY_REFUSED: &str = "The payment could not be processed and your card was not \
     charged. Please try another card.";

/// Places the order of `user`'s cart, paying with `card`, for the payment form that
/// carried `token`.
pub async fn place_order(
    state: &AppState,
    user: &SessionUser,
    token: &str,
    card: CardDetails,
) -> anyhow::Result<Placement> {
    let token_hash = digest(token);
    let (draft, cart, total) = match check_attempt(state, user, &token_hash).await? {
        Ok(checked) => checked,
        Err(
            placement @ (Placement::Expired | Placement::CartChanged | Placement::PriceChanged),
        ) => {
            // A parallel submit of this same form may have placed and paid the order
            // (spending the token, emptying the cart) since the first look: then this
            // one shows that order too.
            let placed = orders::reference_for_token(&state.db, user.id, &token_hash).await?;
            return Ok(placed.map_or(placement, Placement::AlreadyPlaced));
        }
        Err(placement) => return Ok(placement),
    };

    let currency = state.settings.currency.code();
    let order = NewOrder {
        reference: new_reference(),
        user_id: user.id,
        email: &user.email,
        currency,
        lines: &cart.lines,
        subtotal: total.subtotal,
        shipping: total.shipping,
        total: total.total,
        item_count: cart.item_count(),
        token_hash: &token_hash,
        address: &draft.address,
    };
    let order_id = match store::reserve(&state.db, &order).await {
        Ok(id) => id,
        Err(ReserveError::TokenUsed) => {
            // A parallel submit of the same form won the race; show its order.
            let first = orders::reference_for_token(&state.db, user.id, &token_hash).await?;
            return Ok(first.map_or(Placement::Expired, Placement::AlreadyPlaced));
        }
        Err(ReserveError::CartChanged) => return Ok(Placement::CartChanged),
        Err(ReserveError::Database(err)) => return Err(err),
    };

    settle(state, user, &order, order_id, card).await
}

/// The amounts of an order about to be placed.
struct Totals {
    subtotal: Money,
    shipping: Money,
    total: Money,
}

/// Everything that must hold before stock is taken: the form is the current one and
/// not yet used, the account may pay, and the cart can be bought at the total shown.
async fn check_attempt(
    state: &AppState,
    user: &SessionUser,
    token_hash: &str,
) -> anyhow::Result<Result<(Draft, Cart, Totals), Placement>> {
    if let Some(reference) = orders::reference_for_token(&state.db, user.id, token_hash).await? {
        tracing::info!(
            event = "checkout.repeat_submit",
            user.id = user.id,
            order.reference = reference.as_str(),
            "checkout submitted again"
        );
        return Ok(Err(Placement::AlreadyPlaced(reference)));
    }
    let Some(draft) = store::load_draft(&state.db, user.id).await? else {
        return Ok(Err(Placement::Expired));
    };
    if !draft.token_matches(token_hash) {
        return Ok(Err(Placement::Expired));
    }

    let since = now_ms() - DECLINE_WINDOW_MS;
    if store::declines_since(&state.db, user.id, since).await? >= MAX_DECLINES {
        tracing::warn!(
            event = "security.payment_throttled",
            user.id = user.id,
            "payments paused after repeated declines"
        );
        return Ok(Err(Placement::Throttled));
    }

    let cart = cart::store::load(&state.db, &CartOwner::User(user.id)).await?;
    let Some(subtotal) = cart.subtotal().filter(|_| cart.can_check_out()) else {
        return Ok(Err(Placement::CartChanged));
    };
    let shipping = Money::ZERO;
    let total = subtotal
        .checked_add(shipping)
        .ok_or_else(|| anyhow::anyhow!("order total overflows"))?;
    if draft.token_total_minor != Some(total.minor()) {
        return Ok(Err(Placement::PriceChanged));
    }
    let totals = Totals {
        subtotal,
        shipping,
        total,
    };
    Ok(Ok((draft, cart, totals)))
}

/// Charges the card for a reserved order and records the answer: paid, or failed
/// with the stock put back.
async fn settle(
    state: &AppState,
    user: &SessionUser,
    order: &NewOrder<'_>,
    order_id: i64,
    card: CardDetails,
) -> anyhow::Result<Placement> {
    let attempt = Attempt {
        order_id,
        amount: order.total,
        currency: order.currency,
        card_brand: card.brand().name(),
        card_last4: card.last4(),
    };
    let request = ChargeRequest {
        amount: order.total,
        currency: order.currency.to_owned(),
        card,
        idempotency_key: order.reference.clone(),
    };
    let reference = order.reference.as_str();

    match state.gateway.charge(request).await {
        Ok(charge) => {
            store::mark_paid(&state.db, &attempt, user.id, &charge.reference)
                .await
                .inspect_err(|_| {
                    // The money moved but the shop could not record it: say so loudly.
                    tracing::error!(
                        event = "payment.unrecorded",
                        order.reference = reference,
                        "a successful charge was not recorded"
                    );
                })?;
            tracing::info!(
                event = "order.paid",
                user.id = user.id,
                order.reference = reference,
                total_minor = order.total.minor(),
                "order paid"
            );
            send_confirmation(state, user, order);
            Ok(Placement::Paid(order.reference.clone()))
        }
        Err(err) => {
            let (outcome, message) = match err {
                PaymentError::Declined(reason) => ("declined", reason.message()),
                PaymentError::Unavailable => ("failed", GATEWAY_DOWN),
                PaymentError::Rejected(_) => ("failed", GATEWAY_REFUSED),
            };
            store::mark_failed(&state.db, &attempt, order.lines, outcome, message).await?;
            tracing::info!(
                event = "payment.refused",
                user.id = user.id,
                order.reference = reference,
                payment.outcome = outcome,
                error = %err,
                "payment did not go through"
            );
            Ok(Placement::PaymentFailed(message))
        }
    }
}

/// The confirmation email: what was bought, the total and where it goes. No card data.
fn send_confirmation(state: &AppState, user: &SessionUser, order: &NewOrder<'_>) {
    let currency = &state.settings.currency;
    let mut body = format!(
        "Thank you for your order.\n\nOrder {reference}\n\n",
        reference = order.reference
    );
    for line in order.lines {
        let total = line.line_total().unwrap_or(Money::ZERO);
        body.push_str(&format!(
            "{quantity} × {name}  {total}\n",
            quantity = line.quantity,
            name = line.name,
            total = currency.format(&total)
        ));
    }
    let address = order.address;
    body.push_str(&format!(
        "\nTotal paid: {total}\n\n\
         Delivery to:\n{name}\n{line1}\n{line2}{postal} {city}\n{country}\n\n\
         Follow your order at {url}/orders/{reference}\n",
        total = currency.format(&order.total),
        name = address.name,
        line1 = address.line1,
        line2 = match address.line2.as_str() {
            "" => String::new(),
            line2 => format!("{line2}\n"),
        },
        postal = address.postal_code,
        city = address.city,
        country = address.country_name(),
        url = state.settings.public_url,
        reference = order.reference,
    ));
    state.mailer.send_later(
        "order.confirmation",
        &user.email,
        &format!("Your SecureCart order {}", order.reference),
        body,
    );
}
