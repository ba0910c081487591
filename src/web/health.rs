//! Liveness and readiness probes for load balancers and orchestrators.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::app::AppState;

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up and answering.
async fn healthz() -> Response {
    probe(StatusCode::OK, "ok")
}

/// The process can serve shoppers: its database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => probe(StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = format!("{err:#}"), "readiness check failed");
            probe(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

fn probe(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(Health { status: text }),
    )
        .into_response()
}
