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
    let filter = EnvFilter::try_new(quiet_libraries(filter))
        .unwrap_or_else(|_| EnvFilter::new(quiet_libraries("info")));
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

/// `filter` with rustls held to errors unless the filter names it itself: rustls warns
/// about what clients send (an IP address as SNI, say), and a client must not be able
/// to write a log line per handshake. Failed handshakes are logged by the server at
/// debug level instead.
fn quiet_libraries(filter: &str) -> String {
    if filter.contains("rustls") {
        filter.to_owned()
    } else {
        format!("{filter},rustls=error")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_is_held_to_errors_unless_asked_for() {
        assert_eq!(quiet_libraries("info"), "info,rustls=error");
        assert_eq!(quiet_libraries("rustls=debug"), "rustls=debug");
        for filter in ["info", "warn,securecart=debug", ""] {
            assert!(
                EnvFilter::try_new(quiet_libraries(filter)).is_ok(),
                "{filter:?}"
            );
        }
    }
}
