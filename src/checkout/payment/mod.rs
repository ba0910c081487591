//! Payments: the [`PaymentGateway`] trait the shop charges and refunds through, the
//! card details it passes on, and [`dummy::DummyGateway`], which behaves like a real
//! gateway's test mode.
//!
//! Card data exists only in memory on its way to the gateway. [`CardDetails`] cannot
//! be printed, serialised or stored; what the shop keeps of a payment is a
//! [`Charge`]: the card's brand, its last four digits and the gateway's reference.

pub mod card;
pub mod dummy;

use futures_util::future::BoxFuture;

pub use card::{CardBrand, CardDetails, CardError};

use crate::money::Money;

/// What the shop asks a gateway to charge.
#[derive(Debug)]
pub struct ChargeRequest {
    pub amount: Money,
    /// ISO 4217 code of the shop's currency.
    pub currency: String,
    pub card: CardDetails,
    /// The same key always names the same charge: a retry after a timeout, a double
    /// click or a parallel second request charges once.
    pub idempotency_key: String,
}

/// A successful charge: all the shop keeps of the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub reference: String,
    pub brand: CardBrand,
    pub last4: String,
    pub amount: Money,
}

/// A successful refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub reference: String,
    pub amount: Money,
}

/// Why a card was declined, in words a shopper understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineReason {
    Declined,
    InsufficientFunds,
}

impl DeclineReason {
    pub fn message(&self) -> &'static str {
        match self {
            DeclineReason::Declined => "Your card was declined. Please use another card.",
            DeclineReason::InsufficientFunds => {
                "Your card was declined: insufficient funds. Please use another card."
            }
        }
    }
}

/// How a gateway call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The card was refused; the money did not move.
    #[error("card declined: {0:?}")]
    Declined(DeclineReason),
    /// The gateway could not be reached or failed; the money did not move.
    #[error("the payment gateway is unavailable")]
    Unavailable,
    /// The request itself was wrong (an unknown charge, a refund above what was paid).
    #[error("the gateway refused the request: {0}")]
    Rejected(&'static str),
}

/// A payment provider. Calls may take long and must never run inside a database
/// transaction; the caller compensates (releases stock) when one fails.
pub trait PaymentGateway: Send + Sync + 'static {
    /// Authorises and captures `request.amount` in one step.
    fn charge(&self, request: ChargeRequest) -> BoxFuture<'_, Result<Charge, PaymentError>>;

    /// Returns `amount` (at most what is left of the charge) to the card.
    fn refund<'a>(
        &'a self,
        charge_reference: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<Refund, PaymentError>>;
}
