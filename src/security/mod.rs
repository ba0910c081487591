//! Security mechanisms shared by every feature, each written and tested once: the
//! client's address, response headers, sessions, CSRF and password hashing.

pub mod client_addr;
pub mod csrf;
pub mod events;
pub mod headers;
pub mod password;
pub mod session;
