//! The JSON API: tokens, catalogue, cart, checkout, orders, errors and rate limits.
