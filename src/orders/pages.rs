//! The customer's order pages. Every lookup names the signed-in customer as owner, so
//! another customer's order, or any order for a visitor, is a 404 like a missing one.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;

use crate::accounts::extract::CurrentUser;
use crate::app::AppState;
use crate::db::time::{display_ms, iso_ms};
use crate::error::AppError;
use crate::orders::reference::looks_valid;
use crate::orders::status::Status;
use crate::orders::store::{self, OrderDetail, OrderLine, OrderSummary, PaymentSummary};
use crate::security::session::CurrentSession;
use crate::web::layout::Layout;
use crate::web::pagination::Pagination;
use crate::web::query::Query;
use crate::web::render;

const PER_PAGE: u32 = 20;

#[derive(Template)]
#[template(path = "orders/list.html")]
struct ListPage {
    layout: Layout,
    orders: Vec<OrderSummary>,
    pagination: Pagination,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    page: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
    session: CurrentSession,
    Query(params): Query<ListParams>,
) -> Result<Response, AppError> {
    let user_id = current.user.id;
    let requested = params
        .page
        .as_deref()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(1);
    let total = store::count_for_user(&state.db, user_id).await?;
    let pagination = Pagination::new(requested, PER_PAGE, u64::try_from(total).unwrap_or(0));
    let orders =
        store::list_for_user(&state.db, user_id, pagination.limit(), pagination.offset()).await?;

    let page = ListPage {
        layout: Layout::load(&state, &session, "Your orders").await?,
        orders,
        pagination,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "orders/order.html")]
struct OrderPage {
    layout: Layout,
    order: OrderDetail,
    status: Option<Status>,
    lines: Vec<OrderLine>,
    timeline: Vec<TimelineEntry>,
    payment: Option<PaymentSummary>,
    /// Just placed: the page is the checkout's confirmation step.
    placed: bool,
}

/// One status in the timeline, ready to show: its note, or failing that the status.
struct TimelineEntry {
    text: String,
    at: String,
    at_iso: String,
    current: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct OrderParams {
    placed: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    session: CurrentSession,
    Path(reference): Path<String>,
    Query(params): Query<OrderParams>,
) -> Result<Response, AppError> {
    let Some(user) = session.0.as_ref().and_then(|s| s.user.as_ref()) else {
        return sign_in_first(&state, &session, &reference).await;
    };
    if !looks_valid(&reference) {
        return Err(AppError::NotFound);
    }
    let order = store::find_for_user(&state.db, &reference, user.id)
        .await?
        .ok_or(AppError::NotFound)?;

    let lines = store::lines(&state.db, order.id).await?;
    let payment = store::latest_charge(&state.db, order.id).await?;
    let events = store::events(&state.db, order.id).await?;
    let last = events.len().saturating_sub(1);
    let timeline = events
        .into_iter()
        .enumerate()
        .map(|(i, event)| TimelineEntry {
            text: match event.note.as_str() {
                "" => Status::parse(&event.status)
                    .map_or("Updated", Status::label)
                    .to_owned(),
                _ => event.note,
            },
            at: display_ms(event.created_at),
            at_iso: iso_ms(event.created_at),
            current: i == last,
        })
        .collect();
    let status = order.status();
    let placed = params.placed.is_some() && status == Some(Status::Paid);

    let title = format!("Order {}", order.reference);
    let page = OrderPage {
        layout: Layout::load(&state, &session, title).await?,
        order,
        status,
        lines,
        timeline,
        payment,
        placed,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "orders/sign_in.html")]
struct SignInPage {
    layout: Layout,
    next: String,
}

/// A visitor following an order link (from the confirmation email, say) is offered
/// to sign in, with a 404 like anyone else's: the page is the same for every
/// reference, so it tells nothing about which orders exist.
async fn sign_in_first(
    state: &AppState,
    session: &CurrentSession,
    reference: &str,
) -> Result<Response, AppError> {
    let here = format!("/orders/{reference}");
    let page = SignInPage {
        layout: Layout::load(state, session, "Sign in to see this order").await?,
        next: form_urlencoded::byte_serialize(here.as_bytes()).collect(),
    };
    Ok((StatusCode::NOT_FOUND, render(&page)?).into_response())
}
