//! Security mechanisms shared by every feature, each written and tested once: the
//! client's address, response headers, sessions, CSRF, password hashing and
//! the server secret.

pub mod client_addr;
pub mod csrf;
pub mod events;
pub mod headers;
pub mod password;
pub mod secret;
pub mod session;
