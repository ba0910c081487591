//! The OpenAPI 3.1 document: generated from the handlers' annotations and the request
//! and response types they use, then completed with what every operation shares.
//!
//! Middleware and extractors answer some errors for every operation (a bad body, a
//! missing token, the rate limit); [`finish`] lists those on each operation so that
//! the document names every status the server can send.

use serde_json::{Value, json};
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::problem::{FieldProblem, Problem};

/// The name of the bearer scheme operations refer to.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SecureCart API",
        description = "The shop's catalogue, cart, checkout, orders and back office. \
            Authenticate with `POST /api/v1/auth/token` and send the access token as \
            `Authorization: Bearer …`. Errors are `application/problem+json` (RFC 9457).",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(Problem, FieldProblem)),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Tokens"),
        (name = "catalogue", description = "Products and categories, public"),
        (name = "cart", description = "The caller's cart"),
        (name = "checkout", description = "Placing an order"),
        (name = "orders", description = "The caller's orders"),
        (name = "admin", description = "The back office, for staff and administrators"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from /api/v1/auth/token"))
                    .build(),
            ),
        );
    }
}

/// The document's fixed parts, before the routes add theirs.
pub fn base() -> Document {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    // The routes' own paths are absolute.
    doc.servers = None;
    doc
}

/// The document as served: every operation lists the errors middleware and
/// extractors may answer with, as problem documents.
pub fn finish(doc: Document) -> Value {
    let mut value = serde_json::to_value(doc).unwrap_or_else(|_| json!({}));
    if let Some(paths) = value.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for operation in item.values_mut() {
                if let Some(operation) = operation.as_object_mut() {
                    complete_operation(path, operation);
                }
            }
        }
    }
    value
}

fn complete_operation(path: &str, operation: &mut serde_json::Map<String, Value>) {
    let secured = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
        });
    let has_body = operation.contains_key("requestBody");
    let has_params = path.contains('{');
    let admin = path.starts_with("/api/v1/admin/");

    let mut shared: Vec<(&str, &str)> = vec![
        ("400", "The request could not be read"),
        ("422", "Invalid parameters or fields"),
        ("429", "Over the rate limit; see Retry-After"),
    ];
    if secured {
        shared.push(("401", "Missing, invalid, expired or revoked access token"));
    }
    if admin {
        shared.push(("403", "The caller's role may not do this"));
    }
    if has_params || secured {
        shared.push(("404", "No such resource for this caller"));
    }
    if has_body {
        shared.push(("413", "The body is larger than the API accepts"));
        shared.push(("415", "The body is not application/json"));
    }

    let responses = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else {
        return;
    };
    for (status, description) in shared {
        responses
            .entry(status)
            .or_insert_with(|| problem_response(status, description));
    }
}

fn problem_response(status: &str, description: &str) -> Value {
    let mut response = json!({
        "description": description,
        "content": {
            "application/problem+json": {
                "schema": { "$ref": "#/components/schemas/Problem" }
            }
        }
    });
    if status == "429" {
        response["headers"] = json!({
            "Retry-After": {
                "description": "Seconds to wait before trying again",
                "schema": { "type": "integer", "minimum": 1 }
            }
        });
    }
    response
}
