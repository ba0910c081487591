//! A gateway in test mode: the test cards of SPEC.md, no network, no real money.
//!
//! Any card that reaches it has passed [`CardDetails::parse`] (Luhn, future expiry,
//! 3–4 digit code) and is approved, except three numbers that decline or fail. Like a
//! real gateway it remembers idempotency keys, so a repeated charge returns the first
//! result instead of charging again, and it refuses refunds above what was charged.

use std::collections::HashMap;
use std::sync::Mutex;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;

use super::{Charge, ChargeRequest, DeclineReason, PaymentError, PaymentGateway, Refund};
use crate::money::Money;

const DECLINED: &str = "4000000000000002";
const INSUFFICIENT_FUNDS: &str = "4000000000009995";
const GATEWAY_ERROR: &str = "4000000000000119";

#[derive(Default)]
struct Ledger {
    /// Results by idempotency key: the same key never charges twice.
    by_key: HashMap<String, Result<Charge, PaymentError>>,
    /// What is left to refund, by charge reference.
    refundable: HashMap<String, Money>,
}

/// The test-mode gateway. Its memory lives as long as the process.
#[derive(Default)]
pub struct DummyGateway {
    ledger: Mutex<Ledger>,
}

impl DummyGateway {
    pub fn new() -> Self {
        DummyGateway::default()
    }

    fn decide(request: &ChargeRequest) -> Result<Charge, PaymentError> {
        match request.card.number() {
            DECLINED => Err(PaymentError::Declined(DeclineReason::Declined)),
            INSUFFICIENT_FUNDS => Err(PaymentError::Declined(DeclineReason::InsufficientFunds)),
            GATEWAY_ERROR => Err(PaymentError::Unavailable),
            _ if request.amount <= Money::ZERO => {
                Err(PaymentError::Rejected("amount must be positive"))
            }
            _ => Ok(Charge {
                reference: format!("dummy_ch_{:016x}", rand::random::<u64>()),
                brand: request.card.brand(),
                last4: request.card.last4(),
                amount: request.amount,
            }),
        }
    }
}

impl PaymentGateway for DummyGateway {
    fn charge(&self, request: ChargeRequest) -> BoxFuture<'_, Result<Charge, PaymentError>> {
        let outcome = (|| {
            let mut ledger = self.ledger.lock().map_err(|_| PaymentError::Unavailable)?;
            if let Some(earlier) = ledger.by_key.get(&request.idempotency_key) {
                return earlier.clone();
            }
            let outcome = DummyGateway::decide(&request);
            // A gateway error is not remembered: the customer may simply try again.
            if outcome != Err(PaymentError::Unavailable) {
                ledger
                    .by_key
                    .insert(request.idempotency_key.clone(), outcome.clone());
            }
            if let Ok(charge) = &outcome {
                ledger
                    .refundable
                    .insert(charge.reference.clone(), charge.amount);
            }
            outcome
        })();
        async move { outcome }.boxed()
    }

    fn refund<'a>(
        &'a self,
        charge_reference: &'a str,
        amount: Money,
    ) -> BoxFuture<'a, Result<Refund, PaymentError>> {
        let outcome = (|| {
            let mut ledger = self.ledger.lock().map_err(|_| PaymentError::Unavailable)?;
            let left = ledger
                .refundable
                .get_mut(charge_reference)
                .ok_or(PaymentError::Rejected("unknown charge"))?;
            if amount <= Money::ZERO || amount > *left {
                return Err(PaymentError::Rejected(
                    "refund above what is left of the charge",
                ));
            }
            *left = Money::from_minor(left.minor() - amount.minor());
            Ok(Refund {
                reference: format!("dummy_re_{:016x}", rand::random::<u64>()),
                amount,
            })
        })();
        async move { outcome }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::payment::{CardBrand, CardDetails};

    fn request(number: &str, key: &str, cents: i64) -> ChargeRequest {
        ChargeRequest {
            amount: Money::from_minor(cents),
            currency: "EUR".into(),
            card: CardDetails::parse(number, "08/29", "123", (2026, 12)).expect("valid test card"),
            idempotency_key: key.into(),
        }
    }

    #[tokio::test]
    async fn an_ordinary_valid_card_is_approved_and_only_brand_and_last_four_come_back() {
        let gateway = DummyGateway::new();
        let charge = gateway
            .charge(request("4242 4242 4242 4242", "k1", 2490))
            .await
            .expect("approved");
        assert_eq!(
            (charge.brand, charge.last4.as_str(), charge.amount),
            (CardBrand::Visa, "4242", Money::from_minor(2490))
        );
        assert!(charge.reference.starts_with("dummy_ch_"));
    }

    #[tokio::test]
    async fn the_test_cards_decline_or_fail_as_the_spec_says() {
        let gateway = DummyGateway::new();
        let declined = gateway
            .charge(request("4000 0000 0000 0002", "a", 100))
            .await;
        assert_eq!(
            declined,
            Err(PaymentError::Declined(DeclineReason::Declined))
        );
        let funds = gateway
            .charge(request("4000 0000 0000 9995", "b", 100))
            .await;
        assert_eq!(
            funds,
            Err(PaymentError::Declined(DeclineReason::InsufficientFunds))
        );
        let error = gateway
            .charge(request("4000 0000 0000 0119", "c", 100))
            .await;
        assert_eq!(error, Err(PaymentError::Unavailable));
        assert_eq!(
            DeclineReason::Declined.message(),
            "Your card was declined. Please use another card."
        );
    }

    #[tokio::test]
    async fn the_same_idempotency_key_charges_once() {
        let gateway = DummyGateway::new();
        let first = gateway
            .charge(request("4242424242424242", "order-1", 500))
            .await
            .expect("approved");
        let again = gateway
            .charge(request("4242424242424242", "order-1", 500))
            .await
            .expect("approved");
        let other = gateway
            .charge(request("4242424242424242", "order-2", 500))
            .await
            .expect("approved");

        assert_eq!(first, again, "a repeat returns the first charge");
        assert_ne!(first.reference, other.reference);
    }

    #[tokio::test]
    async fn refunds_cannot_exceed_the_charge() {
        let gateway = DummyGateway::new();
        let charge = gateway
            .charge(request("4242424242424242", "k", 1000))
            .await
            .expect("approved");

        assert!(
            gateway
                .refund(&charge.reference, Money::from_minor(600))
                .await
                .is_ok()
        );
        let too_much = gateway
            .refund(&charge.reference, Money::from_minor(401))
            .await;
        assert_eq!(
            too_much,
            Err(PaymentError::Rejected(
                "refund above what is left of the charge"
            ))
        );
        assert!(
            gateway
                .refund(&charge.reference, Money::from_minor(400))
                .await
                .is_ok()
        );
        assert!(
            gateway
                .refund("dummy_ch_unknown", Money::from_minor(1))
                .await
                .is_err()
        );
    }
}
