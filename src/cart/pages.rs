//! The cart's pages: the cart itself and the forms that add, change and remove lines.
//! Every form names a product and a quantity, nothing else: prices, totals and owners
//! come from the database and the session, whatever else a request carries.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse as _, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::cart::contents::Cart;
use crate::cart::quantity::{MAX_PER_LINE, Quantity};
use crate::cart::store::{self, AddOutcome, CartOwner, SetOutcome};
use crate::catalog;
use crate::error::AppError;
use crate::money::Money;
use crate::security::client_addr::{ClientAddr, Transport};
use crate::security::csrf::CsrfToken;
use crate::security::session::{self, CurrentSession, Session};
use crate::web::layout::Layout;
use crate::web::query::Query;
use crate::web::render;

#[derive(Template)]
#[template(path = "cart/cart.html")]
struct CartPage {
    layout: Layout,
    cart: Cart,
    subtotal: Money,
    can_check_out: bool,
    notice: Option<Notice>,
    /// A refused quantity: the line's product id and the message beside its field.
    line_error: Option<(i64, String)>,
    max_per_line: i64,
}

/// A message at the top of the cart, named in the address after a change.
#[derive(Debug, Clone, Copy)]
struct Notice {
    text: &'static str,
    good: bool,
}

impl Notice {
    fn from_code(code: &str) -> Option<Notice> {
        let (text, good) = match code {
            "added" => ("Added to your cart.", true),
            "updated" => ("Your cart is updated.", true),
            "removed" => ("Removed from your cart.", true),
            "capped" => (
                "We have fewer in stock than you asked for, so your cart holds all we can \
                 sell you.",
                false,
            ),
            "unavailable" => ("Sorry, that product is no longer available.", false),
            "sold-out" => ("Sorry, that product has just sold out.", false),
            "full" => (
                "Your cart holds as many different products as it can. Remove one to add another.",
                false,
            ),
            "price-changed" => (
                "A price in your cart has changed since you started to check out, so \
                 nothing was charged. Please check your cart.",
                false,
            ),
            "fix" => (
                "Some items in your cart can't be bought as they are. Please change them \
                 before you check out.",
                false,
            ),
            _ => return None,
        };
        Some(Notice { text, good })
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CartParams {
    notice: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    session: CurrentSession,
    Query(params): Query<CartParams>,
) -> Result<Response, AppError> {
    let notice = params.notice.as_deref().and_then(Notice::from_code);
    cart_page(&state, &session, notice, None).await
}

async fn cart_page(
    state: &AppState,
    session: &CurrentSession,
    notice: Option<Notice>,
    line_error: Option<(i64, String)>,
) -> Result<Response, AppError> {
    let cart = match &session.0 {
        Some(current) => store::load(&state.db, &CartOwner::of(current)).await?,
        None => Cart::default(),
    };
    let status = if line_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = CartPage {
        layout: Layout::load(state, session, "Your cart").await?,
        subtotal: cart.subtotal().unwrap_or(Money::ZERO),
        can_check_out: cart.can_check_out(),
        cart,
        notice,
        line_error,
        max_per_line: MAX_PER_LINE,
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddForm {
    /// The product's slug.
    product: String,
    quantity: String,
}

/// Adds to the cart from the product page or a product card. A visitor's first add
/// starts a session to hold the cart.
pub async fn add(
    State(state): State<AppState>,
    session: CurrentSession,
    csrf: CsrfToken,
    client: ClientAddr,
    transport: Transport,
    Form(form): Form<AddForm>,
) -> Result<Response, AppError> {
    let quantity = match Quantity::parse(&form.quantity) {
        Ok(quantity) => quantity,
        Err(err) => {
            return catalog::pages::product_response(
                &state,
                &session,
                csrf,
                &form.product,
                Some(err.to_string()),
            )
            .await;
        }
    };

    let (current, new_cookie) = match session.0 {
        Some(current) => (current, None),
        None => {
            // Only an add that can succeed is worth a session.
            match catalog::store::product_by_slug(&state.db, &form.product).await? {
                None => return Ok(Redirect::to("/cart?notice=unavailable").into_response()),
                Some(p) if p.card.stock <= 0 => {
                    return Ok(Redirect::to("/cart?notice=sold-out").into_response());
                }
                Some(_) => {}
            }
            let (current, cookie) = start_visitor_session(&state, &client, transport).await?;
            (current, Some(cookie))
        }
    };
    let outcome = store::add(&state.db, &CartOwner::of(&current), &form.product, quantity).await?;

    let notice = match outcome {
        AddOutcome::Added { .. } => "added",
        AddOutcome::Capped { .. } => "capped",
        AddOutcome::Unavailable => "unavailable",
        AddOutcome::SoldOut => "sold-out",
        AddOutcome::Full => "full",
    };
    let redirect = Redirect::to(&format!("/cart?notice={notice}"));
    Ok(match new_cookie {
        Some(cookie) => ([(header::SET_COOKIE, cookie)], redirect).into_response(),
        None => redirect.into_response(),
    })
}

/// A session for a visitor's cart, and the cookie that carries it.
async fn start_visitor_session(
    state: &AppState,
    client: &ClientAddr,
    transport: Transport,
) -> Result<(Session, header::HeaderValue), AppError> {
    let secret = session::create(&state.db, None, &client.0.to_string()).await?;
    let settings = &state.settings.sessions;
    let current = session::load(&state.db, &secret, settings)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a new session vanished"))?;
    let secure = transport.secure_cookies;
    let cookie = session::set_cookie(session::cookie_name(secure), Some(&secret), secure);
    Ok((current, cookie))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QuantityForm {
    quantity: String,
}

pub async fn update(
    State(state): State<AppState>,
    session: CurrentSession,
    Path(product): Path<String>,
    Form(form): Form<QuantityForm>,
) -> Result<Response, AppError> {
    let (Some(current), Ok(product_id)) = (&session.0, product.parse::<i64>()) else {
        return Err(AppError::NotFound);
    };
    let quantity = match Quantity::parse(&form.quantity) {
        Ok(quantity) => quantity,
        Err(err) => {
            return cart_page(&state, &session, None, Some((product_id, err.to_string()))).await;
        }
    };

    let outcome =
        store::set_quantity(&state.db, &CartOwner::of(current), product_id, quantity).await?;

    let notice = match outcome {
        SetOutcome::Updated => "updated",
        SetOutcome::Capped { .. } => "capped",
        SetOutcome::SoldOut => "sold-out",
        SetOutcome::NotInCart => return Err(AppError::NotFound),
    };
    Ok(Redirect::to(&format!("/cart?notice={notice}")).into_response())
}

pub async fn remove(
    State(state): State<AppState>,
    session: CurrentSession,
    Path(product): Path<String>,
) -> Result<Response, AppError> {
    let (Some(current), Ok(product_id)) = (&session.0, product.parse::<i64>()) else {
        return Err(AppError::NotFound);
    };
    if !store::remove(&state.db, &CartOwner::of(current), product_id).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/cart?notice=removed").into_response())
}
