//! Rate limits for the API (S-10): per client address, and per user when the request
//! carries a valid token. Three budgets: token requests (tight: they guess passwords
//! and mint credentials), reads (generous) and writes.
//!
//! The client address is the one [`client_addr`](crate::security::client_addr)
//! settled on: the socket's peer, or a trusted proxy's `X-Forwarded-For`, never a raw
//! header. Over a budget the answer is 429 with `Retry-After`.

use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::api::auth::extract::bearer;
use crate::api::problem::ApiError;
use crate::app::AppState;
use crate::config::ApiSettings;
use crate::db::time::now_ms;
use crate::security::client_addr::ClientAddr;

/// Whom a budget is counted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Subject {
    Addr(IpAddr),
    User(i64),
}

/// Which budget a request draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Budget {
    Auth,
    Read,
    Write,
}

impl Budget {
    fn of(method: &Method, path: &str) -> Budget {
        if path.starts_with("/api/v1/auth/") {
            Budget::Auth
        } else if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            Budget::Read
        } else {
            Budget::Write
        }
    }

    fn name(self) -> &'static str {
        match self {
            Budget::Auth => "auth",
            Budget::Read => "read",
            Budget::Write => "write",
        }
    }
}

/// The API's limiters, kept in memory (one process; see the README's known limits).
pub struct RateLimits {
    auth: DefaultKeyedRateLimiter<Subject>,
    reads: DefaultKeyedRateLimiter<Subject>,
    writes: DefaultKeyedRateLimiter<Subject>,
    clock: DefaultClock,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl RateLimits {
    pub fn new(settings: &ApiSettings) -> RateLimits {
        RateLimits {
            auth: RateLimiter::keyed(per_minute(settings.auth_per_minute)),
            reads: RateLimiter::keyed(per_minute(settings.reads_per_minute)),
            writes: RateLimiter::keyed(per_minute(settings.writes_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    fn limiter(&self, budget: Budget) -> &DefaultKeyedRateLimiter<Subject> {
        match budget {
            Budget::Auth => &self.auth,
            Budget::Read => &self.reads,
            Budget::Write => &self.writes,
        }
    }

    /// Takes one request from `subject`'s budget; `Err(seconds)` to wait when empty.
    fn take(&self, budget: Budget, subject: Subject) -> Result<(), u64> {
        self.limiter(budget)
            .check_key(&subject)
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(self.clock.now());
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
            })
    }

    /// Forgets subjects whose budgets are full again, so the maps do not grow forever.
    pub fn purge(&self) {
        for limiter in [&self.auth, &self.reads, &self.writes] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Middleware on the API router: one request from the address's budget, and from the
/// user's when a valid token names one.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let budget = Budget::of(request.method(), request.uri().path());
    let addr = ClientAddr::from_extensions(request.extensions()).0;
    let user = bearer_user(&state, &request);

    let mut verdict = state.api.limits.take(budget, Subject::Addr(addr));
    if verdict.is_ok()
        && budget != Budget::Auth
        && let Some(user_id) = user
    {
        verdict = state.api.limits.take(budget, Subject::User(user_id));
    }
    match verdict {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            tracing::warn!(
                event = "security.rate_limited",
                budget = budget.name(),
                client.addr = %addr,
                user.id = user,
                retry_after_secs = wait.max(1),
                "API request over its rate limit"
            );
            ApiError::RateLimited {
                retry_after_secs: wait.max(1),
            }
            .into_response()
        }
    }
}

/// The user a request's token names, if its signature holds. The database is not
/// asked here; the handler's extractor does that.
fn bearer_user(state: &AppState, request: &Request) -> Option<i64> {
    let token = bearer(request.headers())?;
    state
        .api
        .tokens
        .verify(token, now_ms() / 1000)
        .map(|v| v.user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_requests_reads_and_writes_draw_on_their_own_budgets() {
        assert_eq!(
            Budget::of(&Method::POST, "/api/v1/auth/token"),
            Budget::Auth
        );
        assert_eq!(Budget::of(&Method::GET, "/api/v1/products"), Budget::Read);
        assert_eq!(
            Budget::of(&Method::POST, "/api/v1/cart/items"),
            Budget::Write
        );
        assert_eq!(
            Budget::of(&Method::DELETE, "/api/v1/cart/items/1"),
            Budget::Write
        );
    }

    #[test]
    fn an_empty_budget_says_how_long_to_wait() {
        let limits = RateLimits::new(&ApiSettings {
            auth_per_minute: 2,
            ..ApiSettings::default()
        });
        let addr = Subject::Addr(IpAddr::from([192, 0, 2, 1]));
        assert!(limits.take(Budget::Auth, addr).is_ok());
        assert!(limits.take(Budget::Auth, addr).is_ok());
        let wait = limits.take(Budget::Auth, addr).expect_err("third is over");
        assert!((1..=30).contains(&wait), "{wait}");
        // Another address, and another budget, are not affected.
        let other = Subject::Addr(IpAddr::from([192, 0, 2, 2]));
        assert!(limits.take(Budget::Auth, other).is_ok());
        assert!(limits.take(Budget::Read, addr).is_ok());
    }
}
