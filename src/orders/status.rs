//! The order status pipeline: the only moves an order's status may make. The database
//! holds the same table in a trigger (migrations `0003_orders.sql`), so a move the code
//! forgot to check is refused there too.

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Stock is reserved and the gateway is being asked.
    PendingPayment,
    Paid,
    Processing,
    Shipped,
    Delivered,
    Cancelled,
    Refunded,
    /// The card was declined or the gateway failed; the stock went back on the shelf.
    PaymentFailed,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::PendingPayment,
        Status::Paid,
        Status::Processing,
        Status::Shipped,
        Status::Delivered,
        Status::Cancelled,
        Status::Refunded,
        Status::PaymentFailed,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingPayment => "pending_payment",
            Status::Paid => "paid",
            Status::Processing => "processing",
            Status::Shipped => "shipped",
            Status::Delivered => "delivered",
            Status::Cancelled => "cancelled",
            Status::Refunded => "refunded",
            Status::PaymentFailed => "payment_failed",
        }
    }

    pub fn parse(stored: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == stored)
    }

    /// The status in a customer's words.
    pub fn label(self) -> &'static str {
        match self {
            Status::PendingPayment => "Awaiting payment",
            Status::Paid => "Paid",
            Status::Processing => "Being prepared",
            Status::Shipped => "Shipped",
            Status::Delivered => "Delivered",
            Status::Cancelled => "Cancelled",
            Status::Refunded => "Refunded",
            Status::PaymentFailed => "Payment failed",
        }
    }

    /// A CSS modifier for the status badge: good news, news in progress, or bad news.
    pub fn tone(self) -> &'static str {
        match self {
            Status::Paid | Status::Processing | Status::Shipped | Status::Delivered => "good",
            Status::PendingPayment => "neutral",
            Status::Cancelled | Status::Refunded | Status::PaymentFailed => "bad",
        }
    }

    /// Whether the pipeline allows moving from `self` to `next`.
    pub fn can_move_to(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (PendingPayment, Paid | PaymentFailed)
                | (Paid, Processing | Cancelled | Refunded)
                | (Processing, Shipped | Cancelled | Refunded)
                | (Shipped, Delivered | Refunded)
                | (Delivered, Refunded)
        )
    }

    /// Whether no move leads out of this status.
    pub fn is_final(self) -> bool {
        Status::ALL.into_iter().all(|next| !self.can_move_to(next))
    }
}

/// Who moved an order to a status, for its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Customer(i64),
    Staff(i64),
    /// The shop itself, e.g. on the gateway's answer.
    System,
}

impl Actor {
    pub fn kind(self) -> &'static str {
        match self {
            Actor::Customer(_) => "customer",
            Actor::Staff(_) => "staff",
            Actor::System => "system",
        }
    }

    pub fn user_id(self) -> Option<i64> {
        match self {
            Actor::Customer(id) | Actor::Staff(id) => Some(id),
            Actor::System => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_survives_a_round_trip_through_its_stored_name() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("teleported"), None);
    }

    #[test]
    fn a_paid_order_moves_forward_but_never_back_to_unpaid() {
        assert!(Status::PendingPayment.can_move_to(Status::Paid));
        assert!(Status::Paid.can_move_to(Status::Processing));
        assert!(Status::Processing.can_move_to(Status::Shipped));
        assert!(Status::Shipped.can_move_to(Status::Delivered));
        assert!(!Status::Paid.can_move_to(Status::PendingPayment));
        assert!(!Status::Delivered.can_move_to(Status::Shipped));
        assert!(!Status::Paid.can_move_to(Status::Paid));
    }

    #[test]
    fn a_failed_payment_cannot_become_paid_later() {
        assert!(!Status::PaymentFailed.can_move_to(Status::Paid));
        assert!(Status::PaymentFailed.is_final());
        assert!(Status::Cancelled.is_final() && Status::Refunded.is_final());
        assert!(!Status::Shipped.is_final());
    }
}
