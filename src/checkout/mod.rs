//! Checkout: turning a cart into a paid order. So far this holds the payment side
//! ([`payment`]): the gateway trait and the dummy gateway of the test cards. The pages
//! and the atomic order placement arrive with the cart and checkout issue.

pub mod payment;
