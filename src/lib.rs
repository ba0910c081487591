//! SecureCart: a web shop whose first promise is security and whose second is speed.
//!
//! The crate is one binary's worth of feature modules. [`app::router`] assembles them
//! behind the security middleware; [`server::serve`] runs that router over HTTP or
//! HTTPS with the timeouts and graceful shutdown a public service needs, and
//! [`deploy::check`] is what production mode demands of the configuration.

pub mod accounts;
pub mod api;
pub mod app;
pub mod backoffice;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod config;
pub mod db;
pub mod deploy;
pub mod email;
pub mod error;
pub mod money;
pub mod orders;
pub mod security;
pub mod server;
pub mod site;
pub mod telemetry;
pub mod web;

pub use app::{AppState, router};
pub use config::Settings;
pub use error::AppError;
