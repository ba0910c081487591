//! The checkout's pages: shipping, then payment, then the POST that places the order.
//! Only verified customers get here; everyone else is sent to sign in or verify.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Redirect, Response};
use serde::Deserialize;

use crate::accounts::extract::VerifiedUser;
use crate::app::AppState;
use crate::cart::contents::Cart;
use crate::cart::{self, store::CartOwner};
use crate::checkout::payment::CardDetails;
use crate::checkout::service::{self, Placement};
use crate::checkout::shipping::{Address, COUNTRIES};
use crate::checkout::store;
use crate::db::time::{now_ms, year_month};
use crate::error::AppError;
use crate::money::Money;
use crate::security::csrf::CsrfToken;
use crate::security::session::{CurrentSession, SessionUser, digest, new_secret};
use crate::web::form::FieldErrors;
use crate::web::layout::Layout;
use crate::web::query::Query;
use crate::web::render;

/// The cart, if it can be checked out; otherwise where to send the customer.
async fn checkout_cart(
    state: &AppState,
    user: &SessionUser,
) -> Result<Result<Cart, Redirect>, AppError> {
    let cart = cart::store::load(&state.db, &CartOwner::User(user.id)).await?;
    Ok(if cart.is_empty() {
        Err(Redirect::to("/cart"))
    } else if !cart.can_check_out() {
        Err(Redirect::to("/cart?notice=fix"))
    } else {
        Ok(cart)
    })
}

#[derive(Template)]
#[template(path = "checkout/shipping.html")]
struct ShippingPage {
    layout: Layout,
    csrf_token: String,
    address: Address,
    errors: FieldErrors,
    countries: &'static [(&'static str, &'static str)],
    cart: Cart,
    subtotal: Money,
}

pub async fn shipping_form(
    State(state): State<AppState>,
    VerifiedUser(current): VerifiedUser,
    session: CurrentSession,
    csrf: CsrfToken,
) -> Result<Response, AppError> {
    let user = &current.user;
    let cart = match checkout_cart(&state, user).await? {
        Ok(cart) => cart,
        Err(redirect) => return Ok(redirect.into_response()),
    };
    let address = match store::load_draft(&state.db, user.id).await? {
        Some(draft) => draft.address,
        None => store::last_address(&state.db, user.id)
            .await?
            .unwrap_or_default(),
    };
    shipping_page(
        &state,
        &session,
        csrf,
        cart,
        address,
        FieldErrors::default(),
    )
    .await
}

async fn shipping_page(
    state: &AppState,
    session: &CurrentSession,
    csrf: CsrfToken,
    cart: Cart,
    address: Address,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ShippingPage {
        layout: Layout::load(state, session, "Shipping").await?,
        csrf_token: csrf.0,
        address,
        errors,
        countries: &COUNTRIES,
        subtotal: cart.subtotal().unwrap_or(Money::ZERO),
        cart,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn save_shipping(
    State(state): State<AppState>,
    VerifiedUser(current): VerifiedUser,
    session: CurrentSession,
    csrf: CsrfToken,
    Form(form): Form<Address>,
) -> Result<Response, AppError> {
    let user = &current.user;
    let cart = match checkout_cart(&state, user).await? {
        Ok(cart) => cart,
        Err(redirect) => return Ok(redirect.into_response()),
    };
    match form.validate() {
        Ok(address) => {
            store::save_draft(&state.db, user.id, &address).await?;
            Ok(Redirect::to("/checkout/payment").into_response())
        }
        Err(errors) => shipping_page(&state, &session, csrf, cart, form, errors).await,
    }
}

#[derive(Template)]
#[template(path = "checkout/payment.html")]
struct PaymentPage {
    layout: Layout,
    csrf_token: String,
    /// The one-time token that names this attempt to pay.
    checkout_token: String,
    address: Address,
    cart: Cart,
    subtotal: Money,
    errors: FieldErrors,
    alert: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PaymentParams {
    notice: Option<String>,
}

const EXPIRED: &str = "This payment page was out of date, so nothing was charged. Please check \
     your order and pay again.";

const THROTTLED: &str = "Several cards were declined in a short time, so for your safety we \
     have paused payments from your account for an hour. Nothing was charged.";

pub async fn payment_form(
    State(state): State<AppState>,
    VerifiedUser(current): VerifiedUser,
    session: CurrentSession,
    csrf: CsrfToken,
    Query(params): Query<PaymentParams>,
) -> Result<Response, AppError> {
    let step = PaymentStep {
        status: StatusCode::OK,
        errors: FieldErrors::default(),
        alert: (params.notice.as_deref() == Some("expired")).then_some(EXPIRED),
    };
    payment_page(&state, &session, csrf, &current.user, step).await
}

/// What the payment step says this time, and with which status.
struct PaymentStep {
    status: StatusCode,
    errors: FieldErrors,
    alert: Option<&'static str>,
}

impl PaymentStep {
    fn refused(status: StatusCode, alert: &'static str) -> PaymentStep {
        PaymentStep {
            status,
            errors: FieldErrors::default(),
            alert: Some(alert),
        }
    }
}

/// The payment step with a fresh one-time token; the previous one stops working.
async fn payment_page(
    state: &AppState,
    session: &CurrentSession,
    csrf: CsrfToken,
    user: &SessionUser,
    step: PaymentStep,
) -> Result<Response, AppError> {
    let cart = match checkout_cart(state, user).await? {
        Ok(cart) => cart,
        Err(redirect) => return Ok(redirect.into_response()),
    };
    let Some(draft) = store::load_draft(&state.db, user.id).await? else {
        return Ok(Redirect::to("/checkout").into_response());
    };
    let subtotal = cart.subtotal().unwrap_or(Money::ZERO);
    let checkout_token = new_secret();
    store::set_token(&state.db, user.id, &digest(&checkout_token), subtotal).await?;

    let page = PaymentPage {
        layout: Layout::load(state, session, "Payment").await?,
        csrf_token: csrf.0,
        checkout_token,
        address: draft.address,
        subtotal,
        cart,
        errors: step.errors,
        alert: step.alert,
    };
    Ok((step.status, render(&page)?).into_response())
}

/// The payment form. Card fields are read once into [`CardDetails`] and never echoed.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct PaymentForm {
    checkout_token: String,
    card_number: String,
    expiry: String,
    cvc: String,
}

pub async fn place_order(
    State(state): State<AppState>,
    VerifiedUser(current): VerifiedUser,
    session: CurrentSession,
    csrf: CsrfToken,
    Form(form): Form<PaymentForm>,
) -> Result<Response, AppError> {
    let user = &current.user;
    let card = match CardDetails::parse(
        &form.card_number,
        &form.expiry,
        &form.cvc,
        year_month(now_ms()),
    ) {
        Ok(card) => card,
        Err(problems) => {
            let mut errors = FieldErrors::default();
            for (field, problem) in problems {
                errors.add(field, problem.to_string());
            }
            let step = PaymentStep {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                alert: None,
            };
            return payment_page(&state, &session, csrf, user, step).await;
        }
    };

    match service::place_order(&state, user, &form.checkout_token, card).await? {
        Placement::Paid(reference) => {
            Ok(Redirect::to(&format!("/orders/{reference}?placed=1")).into_response())
        }
        Placement::AlreadyPlaced(reference) => {
            Ok(Redirect::to(&format!("/orders/{reference}")).into_response())
        }
        Placement::PaymentFailed(message) => {
            let step = PaymentStep::refused(StatusCode::PAYMENT_REQUIRED, message);
            payment_page(&state, &session, csrf, user, step).await
        }
        Placement::CartChanged => Ok(Redirect::to("/cart?notice=fix").into_response()),
        Placement::PriceChanged => Ok(Redirect::to("/cart?notice=price-changed").into_response()),
        Placement::Expired => Ok(Redirect::to("/checkout/payment?notice=expired").into_response()),
        Placement::Throttled => {
            let step = PaymentStep::refused(StatusCode::TOO_MANY_REQUESTS, THROTTLED);
            payment_page(&state, &session, csrf, user, step).await
        }
    }
}
