//! Logging: structured events through `tracing`, as JSON lines or readable text.
//!
//! The policy, which every module follows: one line per request (see
//! [`crate::web::request_log`]); a named event for each security decision; people
//! identified by id, never by email; no passwords, tokens, cookies, card data, query
//! strings or bodies in any field.

use std::io::IsTerminal as _;

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _, fmt};

use crate::config::{LogFormat, RunMode};
use crate::security::events::EventCounter;

/// Installs the global subscriber: the log lines, filtered by `filter`, and the
/// security event counter, which sees every `security.*` event whatever the filter.
pub fn init(filter: &str, format: Option<LogFormat>, mode: RunMode) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let format = format.unwrap_or(match mode {
        RunMode::Production => LogFormat::Json,
        RunMode::Development => LogFormat::Text,
    });
    let ansi = std::io::stderr().is_terminal();
    let lines = match format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Text => fmt::layer()
            .compact()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(EventCounter)
        .init();
}
