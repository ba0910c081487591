//! Placing an order through the API: shipping address and card in one request, made
//! safe to retry by an `Idempotency-Key`.
//!
//! The key is bound to the request: its first use records an HMAC of the body, and a
//! later request with the same key and another body is refused (422). From the key
//! the handler derives the checkout token that the HTML flow puts in its payment form,
//! so the same machinery places the order: one order per key, one charge per order,
//! also when the same request arrives twice at once.

use anyhow::Context as _;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::auth::extract::ApiUser;
use crate::api::input::ApiJson;
use crate::api::orders::{self, Order};
use crate::api::problem::{ApiError, FieldProblem, Problem};
use crate::app::AppState;
use crate::cart::{self, store::CartOwner};
use crate::checkout::payment::CardDetails;
use crate::checkout::service::{self, Placement};
use crate::checkout::shipping::{Address, COUNTRIES};
use crate::checkout::store;
use crate::db::time::{now_ms, year_month};
use crate::orders::store as order_store;
use crate::security::session::digest;

/// The header that names one checkout attempt.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 200;

/// How long a key is remembered.
pub const KEY_TTL_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    pub shipping: ShippingInput,
    pub payment: CardInput,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingInput {
    #[schema(example = "Ada Lovelace", min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(example = "Keizersgracht 1", min_length = 1, max_length = 200)]
    pub line1: String,
    #[schema(max_length = 200)]
    pub line2: Option<String>,
    #[schema(example = "Amsterdam", min_length = 1, max_length = 100)]
    pub city: String,
    /// Letters, digits, spaces and hyphens.
    #[schema(example = "1015 CJ", min_length = 2, max_length = 10)]
    pub postal_code: String,
    #[schema(value_type = CountryCode)]
    pub country: String,
}

/// ISO 3166-1 alpha-2 code of a country the shop delivers to, in capitals.
pub struct CountryCode;

impl utoipa::PartialSchema for CountryCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let codes: Vec<&str> = COUNTRIES.iter().map(|(code, _)| *code).collect();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(codes))
            .examples(["NL"])
            .description(Some(
                "ISO 3166-1 alpha-2 code of a country the shop delivers to, in capitals",
            ))
            .into()
    }
}

impl ToSchema for CountryCode {}

/// The card. Never stored, never logged: only the brand and last four digits are kept.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardInput {
    /// Digits, optionally grouped with spaces.
    #[schema(example = "4242 4242 4242 4242", min_length = 1, max_length = 30)]
    pub card_number: String,
    /// MM/YY.
    #[schema(example = "12/30", min_length = 1, max_length = 10)]
    pub expiry: String,
    #[schema(example = "123", min_length = 1, max_length = 10)]
    pub cvc: String,
}

/// Pay for the caller's cart. Send a fresh `Idempotency-Key` per attempt; repeating a
/// request with its key answers with the same order and charges nothing more.
#[utoipa::path(
    post,
    path = "/api/v1/checkout",
    tag = "checkout",
    security(("bearer" = [])),
    params(
        ("Idempotency-Key" = String, Header, description = "A unique value per checkout attempt (1 to 200 visible ASCII characters)", min_length = 1, max_length = 200),
    ),
    request_body = CheckoutRequest,
    responses(
        (status = 201, description = "Paid (or, for a repeated key, the order placed the first time)", body = Order),
        (status = 402, description = "The payment was declined or failed; the order is recorded as payment_failed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another checkout of the account is in progress, or the cart changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn check_out(
    State(state): State<AppState>,
    caller: ApiUser,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CheckoutRequest>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let user = &caller.user;
    if !user.is_verified() {
        return Err(ApiError::unprocessable(
            "not-verified",
            "Confirm your email address before checking out.",
        ));
    }
    let (address, card) = validate(&request)?;

    // The key is ours only with this body.
    let key_hash = digest(&format!("{}:{key}", user.id));
    let body = serde_json::to_vec(&request).context("encoding a checkout request")?;
    let request_hash = state.settings.secret.sign_hex("api.idempotency", &body);
    if !claim_key(&state, user.id, &key_hash, &request_hash).await? {
        return Err(ApiError::unprocessable(
            "idempotency-key-reused",
            "This Idempotency-Key was used for a different request. Use a new key.",
        ));
    }
    let token = state
        .settings
        .secret
        .sign_hex("api.checkout-token", key_hash.as_bytes());
    if let Some(reference) =
        order_store::reference_for_token(&state.db, user.id, &digest(&token)).await?
    {
        return answer(&state, user.id, &reference, true).await;
    }

    // The shipping step and the payment form, as the pages would have left them.
    let cart = cart::store::load(&state.db, &CartOwner::User(user.id)).await?;
    let Some(subtotal) = cart.subtotal().filter(|_| cart.can_check_out()) else {
        return Err(cart_not_ready());
    };
    store::save_draft(&state.db, user.id, &address).await?;
    store::set_token(&state.db, user.id, &digest(&token), subtotal).await?;

    match service::place_order(&state, user, &token, card).await? {
        Placement::Paid(reference) => answer(&state, user.id, &reference, false).await,
        Placement::AlreadyPlaced(reference) => answer(&state, user.id, &reference, true).await,
        Placement::PaymentFailed(_) => {
            let reference = order_store::reference_for_token(&state.db, user.id, &digest(&token))
                .await?
                .context("a failed payment left no order")?;
            answer(&state, user.id, &reference, false).await
        }
        Placement::CartChanged => Err(cart_not_ready()),
        Placement::PriceChanged => Err(ApiError::conflict(
            "cart-changed",
            "A price in the cart changed while the order was placed. Check the cart and \
             try again with a new Idempotency-Key.",
        )),
        Placement::Expired => Err(ApiError::conflict(
            "checkout-busy",
            "Another checkout of this account started meanwhile. Try again.",
        )),
        Placement::Throttled => Err(ApiError::RateLimited {
            retry_after_secs: u64::try_from(service::DECLINE_WINDOW_MS / 1000).unwrap_or(3600),
        }),
    }
}

fn cart_not_ready() -> ApiError {
    ApiError::unprocessable(
        "cart-not-ready",
        "The cart is empty or holds products that cannot be bought as they are. \
         See GET /api/v1/cart.",
    )
}

/// The order as the answer to a checkout: 201 when it is paid (or under way), 402
/// when its payment failed. Replays say so in `Idempotent-Replayed`.
async fn answer(
    state: &AppState,
    user_id: i64,
    reference: &str,
    replayed: bool,
) -> Result<Response, ApiError> {
    let order = orders::load(state, user_id, reference)
        .await?
        .context("a placed order vanished")?;
    let mut response = if order.status == "payment_failed" {
        let detail = order_store::latest_charge(&state.db, reference_id(state, reference).await?)
            .await?
            .map(|p| p.failure)
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| "The payment did not go through.".to_owned());
        ApiError::PaymentFailed {
            detail,
            reference: order.reference,
        }
        .into_response()
    } else {
        (StatusCode::CREATED, Json(order)).into_response()
    };
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

async fn reference_id(state: &AppState, reference: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT id FROM orders WHERE reference = $1")
        .bind(reference)
        .fetch_one(state.db.pool())
        .await
        .context("finding an order's id")
}

/// The `Idempotency-Key` header: present, 1 to 200 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::Validation(vec![FieldProblem {
            field: "Idempotency-Key".to_owned(),
            message: format!(
                "Send an Idempotency-Key header of 1 to {MAX_KEY_LEN} visible ASCII characters."
            ),
        }])
    };
    let value = headers.get(IDEMPOTENCY_KEY).ok_or_else(invalid)?;
    let key = value.to_str().map_err(|_| invalid())?.trim();
    let printable = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_KEY_LEN || !printable {
        return Err(invalid());
    }
    Ok(key.to_owned())
}

/// The longest value of each text field, counted as sent (before spaces are tidied),
/// as the OpenAPI document states them.
fn raw_lengths(request: &CheckoutRequest) -> [(&'static str, &str, usize); 9] {
    let (s, p) = (&request.shipping, &request.payment);
    [
        ("shipping.name", &s.name, 100),
        ("shipping.line1", &s.line1, 200),
        ("shipping.line2", s.line2.as_deref().unwrap_or(""), 200),
        ("shipping.city", &s.city, 100),
        ("shipping.postal_code", &s.postal_code, 10),
        ("shipping.country", &s.country, 2),
        ("payment.card_number", &p.card_number, 30),
        ("payment.expiry", &p.expiry, 10),
        ("payment.cvc", &p.cvc, 10),
    ]
}

/// The address and card, checked; every field's message at once.
fn validate(request: &CheckoutRequest) -> Result<(Address, CardDetails), ApiError> {
    let too_long: Vec<FieldProblem> = raw_lengths(request)
        .into_iter()
        .filter(|(_, value, max)| value.chars().count() > *max)
        .map(|(field, _, max)| FieldProblem {
            field: field.to_owned(),
            message: format!("Use at most {max} characters."),
        })
        .collect();
    if !too_long.is_empty() {
        return Err(ApiError::Validation(too_long));
    }
    let shipping = &request.shipping;
    let address = Address {
        name: shipping.name.clone(),
        line1: shipping.line1.clone(),
        line2: shipping.line2.clone().unwrap_or_default(),
        city: shipping.city.clone(),
        postal_code: shipping.postal_code.clone(),
        country: shipping.country.clone(),
    };
    let mut problems = Vec::new();
    let address = address
        .validate()
        .map_err(|errors| {
            for (field, message) in errors.0 {
                problems.push(FieldProblem {
                    field: format!("shipping.{field}"),
                    message,
                });
            }
        })
        .ok();
    // The document lists the codes in capitals; `nl` is not one of them.
    if shipping.country.bytes().any(|b| b.is_ascii_lowercase())
        && !problems.iter().any(|p| p.field == "shipping.country")
    {
        problems.push(FieldProblem {
            field: "shipping.country".to_owned(),
            message: "Use the country's code in capitals, for example NL.".to_owned(),
        });
    }
    let payment = &request.payment;
    let card = CardDetails::parse(
        &payment.card_number,
        &payment.expiry,
        &payment.cvc,
        year_month(now_ms()),
    )
    .map_err(|errors| {
        for (field, error) in errors {
            problems.push(FieldProblem {
                field: format!("payment.{field}"),
                message: error.to_string(),
            });
        }
    })
    .ok();
    match (address, card) {
        (Some(address), Some(card)) if problems.is_empty() => Ok((address, card)),
        _ => Err(ApiError::Validation(problems)),
    }
}

/// Records the key with the request's hash; `false` if it was recorded before with
/// another request.
async fn claim_key(
    state: &AppState,
    user_id: i64,
    key_hash: &str,
    request_hash: &str,
) -> anyhow::Result<bool> {
    sqlx::query(
        "INSERT INTO api_idempotency_keys (user_id, key_hash, request_hash, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, key_hash) DO NOTHING",
    )
    .bind(user_id)
    .bind(key_hash)
    .bind(request_hash)
    .bind(now_ms())
    .execute(state.db.pool())
    .await
    .context("recording an idempotency key")?;
    let recorded: String = sqlx::query_scalar(
        "SELECT request_hash FROM api_idempotency_keys WHERE user_id = $1 AND key_hash = $2",
    )
    .bind(user_id)
    .bind(key_hash)
    .fetch_one(state.db.pool())
    .await
    .context("reading an idempotency key")?;
    Ok(recorded == request_hash)
}

/// Forgets keys older than a day.
pub async fn purge_keys(state: &AppState) -> anyhow::Result<u64> {
    let purged = sqlx::query("DELETE FROM api_idempotency_keys WHERE created_at < $1")
        .bind(now_ms() - KEY_TTL_MS)
        .execute(state.db.pool())
        .await
        .context("purging idempotency keys")?
        .rows_affected();
    Ok(purged)
}
