//! Security mechanisms shared by every feature: response headers and the client's
//! address. Later mechanisms (sessions, CSRF, password hashing, rate limits, tokens)
//! live here too, so that each is written and tested once.

pub mod client_addr;
pub mod headers;
