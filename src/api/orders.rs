//! The caller's orders. Another customer's order is a 404, never a 403: the answer
//! does not tell whether a reference exists.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::extract::ApiUser;
use crate::api::input::ApiQuery;
use crate::api::problem::{ApiError, Problem};
use crate::api::{Paging, amount};
use crate::app::AppState;
use crate::db::time::iso_ms;
use crate::money::Money;
use crate::orders::store::{self, OrderDetail, OrderEvent, OrderLine};

/// An order with its lines, address and history.
#[derive(Debug, Serialize, ToSchema)]
pub struct Order {
    /// The order's public reference (13 characters).
    pub reference: String,
    /// One of pending_payment, paid, processing, shipped, delivered, cancelled,
    /// refunded, payment_failed.
    pub status: String,
    /// When it was placed, RFC 3339 in UTC.
    pub placed_at: String,
    pub item_count: i64,
    pub subtotal: String,
    pub shipping: String,
    pub total: String,
    pub currency: String,
    pub shipping_address: ShippingAddress,
    pub lines: Vec<Line>,
    /// The statuses the order went through, oldest first.
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingAddress {
    pub name: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Line {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    /// The price paid for one unit.
    pub unit_price: String,
    pub quantity: i64,
    pub line_total: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub status: String,
    pub at: String,
    pub note: String,
}

/// An order as a list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderSummary {
    pub reference: String,
    pub status: String,
    pub placed_at: String,
    pub item_count: i64,
    pub total: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub items: Vec<OrderSummary>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

impl Order {
    /// The order as the API shows it, to its owner and to staff alike.
    pub(crate) fn new(
        detail: OrderDetail,
        lines: Vec<OrderLine>,
        events: Vec<OrderEvent>,
        currency: &str,
    ) -> Order {
        let address = detail.address;
        Order {
            reference: detail.reference,
            status: detail.status,
            placed_at: iso_ms(detail.created_at),
            item_count: detail.item_count,
            subtotal: amount(Money::from_minor(detail.subtotal_minor)),
            shipping: amount(Money::from_minor(detail.shipping_minor)),
            total: amount(Money::from_minor(detail.total_minor)),
            currency: currency.to_owned(),
            shipping_address: ShippingAddress {
                name: address.name,
                line1: address.line1,
                line2: address.line2,
                city: address.city,
                postal_code: address.postal_code,
                country: address.country,
            },
            lines: lines
                .into_iter()
                .map(|l| Line {
                    unit_price: amount(l.unit_price()),
                    line_total: amount(l.line_total()),
                    product_id: l.product_id,
                    sku: l.sku,
                    name: l.name,
                    quantity: l.quantity,
                })
                .collect(),
            history: events
                .into_iter()
                .map(|e| HistoryEntry {
                    status: e.status,
                    at: iso_ms(e.created_at),
                    note: e.note,
                })
                .collect(),
        }
    }
}

/// `user_id`'s order with `reference`, whole; `None` if it is not theirs.
pub async fn load(
    state: &AppState,
    user_id: i64,
    reference: &str,
) -> anyhow::Result<Option<Order>> {
    let Some(detail) = store::find_for_user(&state.db, reference, user_id).await? else {
        return Ok(None);
    };
    let lines = store::lines(&state.db, detail.id).await?;
    let events = store::events(&state.db, detail.id).await?;
    Ok(Some(Order::new(
        detail,
        lines,
        events,
        state.settings.currency.code(),
    )))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u32>,
    /// Orders per page, at most 100 [default: 20].
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

/// The caller's orders, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/orders",
    tag = "orders",
    security(("bearer" = [])),
    params(OrderQuery),
    responses((status = 200, description = "One page of orders", body = OrderList))
)]
pub async fn list_orders(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(query): ApiQuery<OrderQuery>,
) -> Result<Json<OrderList>, ApiError> {
    let paging = Paging::new(query.page, query.per_page)?;
    let user_id = caller.user.id;
    let total = store::count_for_user(&state.db, user_id).await?;
    let orders = store::list_for_user(&state.db, user_id, paging.limit(), paging.offset()).await?;
    Ok(Json(OrderList {
        items: orders
            .into_iter()
            .map(|o| OrderSummary {
                total: amount(o.total()),
                placed_at: iso_ms(o.created_at),
                reference: o.reference,
                status: o.status,
                item_count: o.item_count,
            })
            .collect(),
        page: paging.page,
        per_page: paging.per_page,
        total: total.unsigned_abs(),
    }))
}

/// One of the caller's orders.
#[utoipa::path(
    get,
    path = "/api/v1/orders/{reference}",
    tag = "orders",
    security(("bearer" = [])),
    params(("reference" = String, Path, description = "The order's reference", max_length = 64)),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 404, description = "No such order of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show_order(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(reference): Path<String>,
) -> Result<Json<Order>, ApiError> {
    if reference.len() > 64 {
        return Err(ApiError::NotFound);
    }
    load(&state, caller.user.id, &reference)
        .await?
        .ok_or(ApiError::NotFound)
        .map(Json)
}
