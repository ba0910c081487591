//! Every customer's orders for staff: the back office's list filters, the status
//! pipeline and refunds of items, through the back office's own moves and audit.
//!
//! Cancelling and refunding move money: like the HTML, they need a password typed in
//! the last 15 minutes (see [`super`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::extract::ApiStaff;
use crate::api::input::{ApiJson, ApiQuery};
use crate::api::orders::Order;
use crate::api::problem::{ApiError, FieldProblem, Problem};
use crate::api::{Paging, amount};
use crate::app::AppState;
use crate::backoffice::analytics::range::{Day, parse_day};
use crate::backoffice::order_moves::{self, MoveRequest, Refusal};
use crate::backoffice::store::{self, OrderFilter, PaymentRow, StaffOrderRow};
use crate::db::time::iso_ms;
use crate::money::Money;
use crate::orders::reference::looks_valid;
use crate::orders::status::Status;
use crate::orders::store::{self as orders, OrderDetail};

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Processing,
    Shipped,
    Delivered,
    Cancelled,
    Refunded,
    PaymentFailed,
}

impl From<OrderStatus> for Status {
    fn from(status: OrderStatus) -> Status {
        match status {
            OrderStatus::PendingPayment => Status::PendingPayment,
            OrderStatus::Paid => Status::Paid,
            OrderStatus::Processing => Status::Processing,
            OrderStatus::Shipped => Status::Shipped,
            OrderStatus::Delivered => Status::Delivered,
            OrderStatus::Cancelled => Status::Cancelled,
            OrderStatus::Refunded => Status::Refunded,
            OrderStatus::PaymentFailed => Status::PaymentFailed,
        }
    }
}

/// An order as staff's list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminOrderSummary {
    pub reference: String,
    pub status: String,
    /// When it was placed, RFC 3339 in UTC.
    pub placed_at: String,
    pub item_count: i64,
    pub total: String,
    /// The email the order was placed with.
    pub email: String,
}

impl From<StaffOrderRow> for AdminOrderSummary {
    fn from(row: StaffOrderRow) -> AdminOrderSummary {
        let order = row.summary;
        AdminOrderSummary {
            total: amount(order.total()),
            placed_at: iso_ms(order.created_at),
            reference: order.reference,
            status: order.status,
            item_count: order.item_count,
            email: row.email,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminOrderList {
    pub items: Vec<AdminOrderSummary>,
    pub page: u32,
    pub per_page: u32,
    /// Orders matching the filter, on every page.
    pub total: u64,
}

/// An order with what staff need to act on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminOrder {
    #[serde(flatten)]
    pub order: Order,
    /// The email the order was placed with.
    pub email: String,
    /// The statuses the pipeline allows next.
    pub next_statuses: Vec<String>,
    /// Lines with units left to refund, while a refund is possible.
    pub refundable: Vec<RefundableItem>,
    /// Charges and refunds, oldest first.
    pub payments: Vec<Payment>,
}

/// An order line with units left to refund. Refunds name it by `line_id`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundableItem {
    pub line_id: i64,
    pub product_id: i64,
    pub name: String,
    /// The price paid for one unit.
    pub unit_price: String,
    /// Units not refunded yet.
    pub remaining: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Payment {
    /// `charge` or `refund`.
    pub kind: String,
    /// `succeeded` or `failed`.
    pub outcome: String,
    pub amount: String,
    pub gateway_reference: Option<String>,
    pub card_brand: String,
    pub card_last4: String,
    /// Why it failed, if it did.
    pub failure: String,
    /// RFC 3339 in UTC.
    pub at: String,
}

impl From<PaymentRow> for Payment {
    fn from(row: PaymentRow) -> Payment {
        Payment {
            amount: amount(row.amount()),
            at: iso_ms(row.created_at),
            kind: row.kind,
            outcome: row.outcome,
            gateway_reference: row.gateway_reference,
            card_brand: row.card_brand,
            card_last4: row.card_last4,
            failure: row.failure,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminOrderQuery {
    #[param(inline)]
    pub status: Option<OrderStatus>,
    /// Part of a reference or of the customer's email.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Placed on or after this day, `YYYY-MM-DD` (UTC, from 1970).
    #[param(max_length = 10, example = "2026-11-01")]
    pub from: Option<String>,
    /// Placed on or before this day, `YYYY-MM-DD` (UTC, from 1970).
    #[param(max_length = 10, example = "2026-11-30")]
    pub to: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u32>,
    /// Orders per page, at most 100 [default: 20].
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

/// A move along the pipeline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusMove {
    pub status: OrderStatus,
    /// Shown to the customer in the order's history.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: String,
    /// For `shipped`: letters, digits, spaces and dashes.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub tracking: String,
    /// For `refunded`: put the units back in stock. A cancellation always does.
    #[serde(default)]
    pub restock: bool,
}

/// Some units of some lines to pay back. The amount is the price paid for them; no
/// amount or price is accepted from the caller.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<RefundItem>,
    /// Put the refunded units back in stock.
    #[serde(default)]
    pub restock: bool,
    /// Shown to the customer in the order's history.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundItem {
    /// A `line_id` from the order's `refundable` list.
    pub line_id: i64,
    #[schema(minimum = 1, maximum = 1000000)]
    pub quantity: i64,
}

/// The most lines one refund names.
const MAX_REFUND_ITEMS: usize = 100;

/// Every customer's orders, newest first, filtered as the back office's list is.
#[utoipa::path(
    get,
    path = "/api/v1/admin/orders",
    tag = "admin",
    security(("bearer" = [])),
    params(AdminOrderQuery),
    responses((status = 200, description = "One page of orders", body = AdminOrderList))
)]
pub async fn list_orders(
    State(state): State<AppState>,
    _staff: ApiStaff,
    ApiQuery(query): ApiQuery<AdminOrderQuery>,
) -> Result<Json<AdminOrderList>, ApiError> {
    let paging = Paging::new(query.page, query.per_page)?;
    let filter = OrderFilter {
        status: query.status.map(Status::from),
        search: super::search("q", query.q.as_deref())?,
        ..OrderFilter::default()
    }
    .placed_between(
        day("from", query.from.as_deref())?,
        day("to", query.to.as_deref())?,
    );

    let total = store::count_orders(&state.db, &filter).await?;
    let rows = store::list_orders(&state.db, &filter, paging.limit(), paging.offset()).await?;
    Ok(Json(AdminOrderList {
        items: rows.into_iter().map(Into::into).collect(),
        page: paging.page,
        per_page: paging.per_page,
        total: total.unsigned_abs(),
    }))
}

/// A date parameter; unreadable is a 422 naming it.
fn day(name: &str, text: Option<&str>) -> Result<Option<Day>, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => parse_day(text)
            .map(Some)
            .ok_or_else(|| ApiError::field(name, "Write the day as YYYY-MM-DD, from 1970 on.")),
    }
}

/// Any customer's order, with its payments and what can be done with it next.
#[utoipa::path(
    get,
    path = "/api/v1/admin/orders/{reference}",
    tag = "admin",
    security(("bearer" = [])),
    params(("reference" = String, Path, description = "The order's reference", max_length = 64)),
    responses(
        (status = 200, description = "The order", body = AdminOrder),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show_order(
    State(state): State<AppState>,
    _staff: ApiStaff,
    Path(reference): Path<String>,
) -> Result<Json<AdminOrder>, ApiError> {
    let order = load(&state, &reference).await?;
    respond(&state, order).await.map(Json)
}

/// Move an order along the pipeline: processing, shipped, delivered, cancelled (the
/// payment is refunded and the stock goes back) or refunded (restocked when asked).
#[utoipa::path(
    post,
    path = "/api/v1/admin/orders/{reference}/status",
    tag = "admin",
    security(("bearer" = [])),
    params(("reference" = String, Path, description = "The order's reference", max_length = 64)),
    request_body = StatusMove,
    responses(
        (status = 200, description = "Moved; the order", body = AdminOrder),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The pipeline does not allow the move (`invalid-transition`), or the payment cannot be refunded (`refund-refused`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn move_order(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    Path(reference): Path<String>,
    ApiJson(request): ApiJson<StatusMove>,
) -> Result<Json<AdminOrder>, ApiError> {
    let order = load(&state, &reference).await?;
    check_text("note", &request.note, "")?;
    check_text("tracking", "", &request.tracking)?;

    let to: Status = request.status.into();
    if matches!(to, Status::Cancelled | Status::Refunded) {
        staff.require_recent_password()?;
    }
    let request = MoveRequest {
        to,
        note: request.note,
        tracking: request.tracking,
        restock: request.restock,
    };
    order_moves::move_order(&state, &staff.actor(), &order, &request)
        .await?
        .map_err(refused)?;
    respond(&state, load(&state, &reference).await?)
        .await
        .map(Json)
}

/// Refund some units of some lines, for the price paid for them. The order becomes
/// refunded when nothing is left.
#[utoipa::path(
    post,
    path = "/api/v1/admin/orders/{reference}/refunds",
    tag = "admin",
    security(("bearer" = [])),
    params(("reference" = String, Path, description = "The order's reference", max_length = 64)),
    request_body = RefundRequest,
    responses(
        (status = 201, description = "Refunded; the order", body = AdminOrder),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The order cannot be refunded (`invalid-transition`), or the payment cannot be (`refund-refused`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or lines and units that are not left to refund (`invalid-refund`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refund_items(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    Path(reference): Path<String>,
    ApiJson(request): ApiJson<RefundRequest>,
) -> Result<(StatusCode, Json<AdminOrder>), ApiError> {
    staff.require_recent_password()?;
    let order = load(&state, &reference).await?;
    let quantities = quantities(&request.items)?;
    check_text("note", &request.note, "")?;

    let actor = staff.actor();
    let note = &request.note;
    order_moves::refund_items(&state, &actor, &order, &quantities, request.restock, note)
        .await?
        .map_err(refused)?;
    let order = respond(&state, load(&state, &reference).await?).await?;
    Ok((StatusCode::CREATED, Json(order)))
}

/// The `(line, units)` pairs of a refund; every quantity at least 1.
fn quantities(items: &[RefundItem]) -> Result<Vec<(i64, i64)>, ApiError> {
    if items.is_empty() || items.len() > MAX_REFUND_ITEMS {
        return Err(ApiError::field(
            "items",
            &format!("Name from 1 to {MAX_REFUND_ITEMS} lines to refund."),
        ));
    }
    let wrong: Vec<FieldProblem> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| item.quantity < 1)
        .map(|(i, _)| FieldProblem {
            field: format!("items[{i}].quantity"),
            message: "Refund at least 1 unit.".to_owned(),
        })
        .collect();
    if !wrong.is_empty() {
        return Err(ApiError::Validation(wrong));
    }
    Ok(items.iter().map(|i| (i.line_id, i.quantity)).collect())
}

/// The back office's rules for a note and a tracking number, as a 422 naming `field`.
fn check_text(field: &str, note: &str, tracking: &str) -> Result<(), ApiError> {
    order_moves::check_fields(note, tracking).map_err(|message| ApiError::field(field, message))
}

/// A refusal as a problem with a stable type.
fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Transition(message) => ApiError::conflict("invalid-transition", message),
        Refusal::Payment(message) => ApiError::conflict("refund-refused", message),
        Refusal::Items(message) => ApiError::unprocessable("invalid-refund", message),
    }
}

async fn load(state: &AppState, reference: &str) -> Result<OrderDetail, ApiError> {
    if !looks_valid(reference) {
        return Err(ApiError::NotFound);
    }
    orders::find_any(&state.db, reference)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The order whole, as staff see it.
async fn respond(state: &AppState, detail: OrderDetail) -> Result<AdminOrder, ApiError> {
    let next_statuses = order_moves::next_statuses(detail.status())
        .into_iter()
        .map(|to| to.as_str().to_owned())
        .collect();
    let refundable = order_moves::open_refunds(&state.db, &detail)
        .await?
        .into_iter()
        .map(|l| RefundableItem {
            unit_price: amount(Money::from_minor(l.unit_price_minor)),
            line_id: l.id,
            product_id: l.product_id,
            name: l.name,
            remaining: l.remaining,
        })
        .collect();
    let payments = store::payments(&state.db, detail.id).await?;
    let lines = orders::lines(&state.db, detail.id).await?;
    let events = orders::events(&state.db, detail.id).await?;
    let email = detail.email.clone();
    let currency = state.settings.currency.code();
    Ok(AdminOrder {
        order: Order::new(detail, lines, events, currency),
        email,
        next_statuses,
        refundable,
        payments: payments.into_iter().map(Into::into).collect(),
    })
}
