//! Logging: structured events through `tracing`, as JSON lines or readable text.
//!
//! The policy, which every module follows: one line per request (see
//! [`crate::web::request_log`]); a named event for each security decision; people
//! identified by id, never by email; no passwords, tokens, cookies, card data, query
//! strings or bodies in any field.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, RunMode};

/// Installs the global subscriber. Call once, at start.
pub fn init(filter: &str, format: Option<LogFormat>, mode: RunMode) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let format = format.unwrap_or(match mode {
        RunMode::Production => LogFormat::Json,
        RunMode::Development => LogFormat::Text,
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
        LogFormat::Text => builder.compact().init(),
    }
}
