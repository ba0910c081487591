//! The back office's pages. Every handler takes [`Staff`] or [`Admin`], so none can
//! run for anyone else; the router's layer has already hidden the back office from
//! them.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::backoffice::analytics::range::parse_day;
use crate::backoffice::audit::{self, Entry};
use crate::backoffice::extract::{Admin, Staff};
use crate::backoffice::layout::{AdminLayout, Section};
use crate::backoffice::order_moves::{self, MoveRequest, RefundableLine};
use crate::backoffice::store::{self, Dashboard, OrderFilter, PaymentRow, StaffOrderRow};
use crate::error::AppError;
use crate::money::Money;
use crate::orders::reference::looks_valid;
use crate::orders::status::Status;
use crate::orders::store::{self as orders, OrderDetail, OrderEvent, OrderLine};
use crate::web::pagination::Pagination;
use crate::web::query::{Query, non_empty};
use crate::web::render;

const PER_PAGE: u32 = 50;

fn page_number(text: Option<&str>) -> u32 {
    text.and_then(|p| p.trim().parse().ok()).unwrap_or(1)
}

#[derive(Template)]
#[template(path = "backoffice/dashboard.html")]
struct DashboardPage {
    layout: AdminLayout,
    figures: Dashboard,
    recent: Vec<Entry>,
    /// Security events of the last 24 hours by kind.
    security: Vec<(String, i64)>,
}

impl DashboardPage {
    fn event_label(kind: &str) -> &str {
        match kind {
            "csrf_refused" => "Requests refused for a missing or wrong CSRF token",
            "access_denied" => "Back-office requests refused",
            "login_failed" => "Failed sign-ins",
            "account_locked" => "Accounts locked after failed sign-ins",
            "login_locked" => "Sign-ins to a locked account",
            "address_throttled" => "Sign-ins throttled by address",
            "payment_throttled" => "Payments paused after declined cards",
            "upload_refused" => "Uploads refused",
            "reauth_failed" => "Wrong passwords at a confirmation",
            "reauthenticated" => "Passwords confirmed for sensitive actions",
            other => other,
        }
    }

    fn revenue_today(&self) -> Money {
        Money::from_minor(self.figures.revenue_today_minor)
    }
}

pub async fn dashboard(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    let figures = store::dashboard(&state.db).await?;
    let recent = match staff.is_admin() {
        true => audit::recent(&state.db, 10, 0).await?,
        false => Vec::new(),
    };
    let page = DashboardPage {
        layout: AdminLayout::new(&state, &staff, "Dashboard", Section::Dashboard),
        figures,
        recent,
        security: crate::security::events::last_day(&state.db).await?,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "backoffice/orders.html")]
struct OrdersPage {
    layout: AdminLayout,
    orders: Vec<StaffOrderRow>,
    pagination: Pagination,
    statuses: [Status; 8],
    status: Option<Status>,
    search: String,
    from: String,
    to: String,
    /// Set when a date could not be read.
    date_error: bool,
}

impl OrdersPage {
    fn is_selected(&self, status: &Status) -> bool {
        self.status == Some(*status)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct OrdersParams {
    status: Option<String>,
    q: Option<String>,
    /// Placed on or after this day, `YYYY-MM-DD` (UTC).
    from: Option<String>,
    /// Placed on or before this day.
    to: Option<String>,
    page: Option<String>,
}

pub async fn orders(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<OrdersParams>,
) -> Result<Response, AppError> {
    let day = |text: Option<&str>| non_empty(text).map(|t| (t.to_owned(), parse_day(t)));
    let (from, to) = (day(params.from.as_deref()), day(params.to.as_deref()));
    let date_error = [&from, &to].iter().any(|d| matches!(d, Some((_, None))));
    let filter = OrderFilter {
        status: params.status.as_deref().and_then(Status::parse),
        search: non_empty(params.q.as_deref()).map(|q| q.chars().take(100).collect()),
        ..OrderFilter::default()
    }
    .placed_between(
        from.as_ref().and_then(|(_, d)| *d),
        to.as_ref().and_then(|(_, d)| *d),
    );
    let total = store::count_orders(&state.db, &filter).await?;
    let pagination = Pagination::new(
        page_number(params.page.as_deref()),
        PER_PAGE,
        u64::try_from(total).unwrap_or(0),
    );
    let rows =
        store::list_orders(&state.db, &filter, pagination.limit(), pagination.offset()).await?;

    let page = OrdersPage {
        layout: AdminLayout::new(&state, &staff, "Orders", Section::Orders),
        orders: rows,
        pagination,
        statuses: Status::ALL,
        status: filter.status,
        search: filter.search.unwrap_or_default(),
        from: from.map(|(text, _)| text).unwrap_or_default(),
        to: to.map(|(text, _)| text).unwrap_or_default(),
        date_error,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "backoffice/order.html")]
struct OrderPage {
    layout: AdminLayout,
    order: OrderDetail,
    status: Option<Status>,
    lines: Vec<OrderLine>,
    events: Vec<OrderEvent>,
    payments: Vec<PaymentRow>,
    /// The moves the pipeline allows from here, for the forms.
    moves: Vec<Status>,
    /// Lines with units left to refund, when a refund is still possible.
    refundable: Vec<RefundableLine>,
    error: Option<String>,
}

impl OrderPage {
    fn event_label(event: &OrderEvent) -> &'static str {
        Status::parse(&event.status).map_or("Updated", Status::label)
    }

    fn event_at(event: &OrderEvent) -> String {
        crate::db::time::display_ms(event.created_at)
    }
}

pub async fn order(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
) -> Result<Response, AppError> {
    let order = load_order(&state, &reference).await?;
    order_page(&state, &staff, order, None).await
}

async fn load_order(state: &AppState, reference: &str) -> Result<OrderDetail, AppError> {
    if !looks_valid(reference) {
        return Err(AppError::NotFound);
    }
    orders::find_any(&state.db, reference)
        .await?
        .ok_or(AppError::NotFound)
}

async fn order_page(
    state: &AppState,
    staff: &Staff,
    order: OrderDetail,
    error: Option<String>,
) -> Result<Response, AppError> {
    let status = order.status();
    let moves = order_moves::next_statuses(status);
    let refundable = order_moves::open_refunds(&state.db, &order).await?;
    let page = OrderPage {
        refundable,
        layout: AdminLayout::new(
            state,
            staff,
            format!("Order {}", order.reference),
            Section::Orders,
        ),
        lines: orders::lines(&state.db, order.id).await?,
        events: orders::events(&state.db, order.id).await?,
        payments: store::payments(&state.db, order.id).await?,
        order,
        status,
        moves,
        error: error.clone(),
    };
    let code = match error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    Ok((code, render(&page)?).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MoveForm {
    to: String,
    note: String,
    tracking: String,
    restock: Option<String>,
}

pub async fn move_order(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, AppError> {
    let order = load_order(&state, &reference).await?;
    let Some(to) = Status::parse(&form.to) else {
        return order_page(
            &state,
            &staff,
            order,
            Some("Choose what to do with the order.".into()),
        )
        .await;
    };
    if let Err(message) = order_moves::check_fields(&form.note, &form.tracking) {
        return order_page(&state, &staff, order, Some(message.to_owned())).await;
    }

    // Money leaves the shop: ask for the password if the last one is not recent.
    if matches!(to, Status::Cancelled | Status::Refunded) && !staff.recently_authenticated() {
        return Ok(crate::backoffice::users::confirm_redirect(&format!(
            "/admin/orders/{reference}"
        )));
    }

    let request = MoveRequest {
        to,
        note: form.note,
        tracking: form.tracking,
        restock: form.restock.is_some(),
    };
    match order_moves::move_order(&state, &staff.actor(), &order, &request).await? {
        Ok(()) => Ok(Redirect::to(&format!("/admin/orders/{reference}")).into_response()),
        Err(refusal) => order_page(&state, &staff, order, Some(refusal.to_string())).await,
    }
}

#[derive(Template)]
#[template(path = "backoffice/audit.html")]
struct AuditPage {
    layout: AdminLayout,
    entries: Vec<Entry>,
    pagination: Pagination,
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditParams {
    page: Option<String>,
}

pub async fn audit_log(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Query(params): Query<AuditParams>,
) -> Result<Response, AppError> {
    let total = audit::count(&state.db).await?;
    let pagination = Pagination::new(
        page_number(params.page.as_deref()),
        PER_PAGE,
        u64::try_from(total).unwrap_or(0),
    );
    let page = AuditPage {
        layout: AdminLayout::new(&state, &admin, "Audit log", Section::Audit),
        entries: audit::recent(&state.db, pagination.limit(), pagination.offset()).await?,
        pagination,
    };
    Ok(render(&page)?.into_response())
}

/// The item refund form: `units_<line id>` for each line, `restock` and `note`.
pub async fn refund_items(
    State(state): State<AppState>,
    staff: Staff,
    Path(reference): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let order = load_order(&state, &reference).await?;
    if !staff.recently_authenticated() {
        return Ok(crate::backoffice::users::confirm_redirect(&format!(
            "/admin/orders/{reference}"
        )));
    }
    const UNITS: &str = "Enter a whole number of units for each item.";
    let mut quantities = Vec::new();
    let (mut restock, mut note) = (false, String::new());
    for (name, value) in &fields {
        if let Some(line) = name.strip_prefix("units_") {
            match (line.parse::<i64>(), value.trim().parse::<i64>()) {
                (Ok(line), Ok(units)) if units >= 0 => quantities.push((line, units)),
                _ => return order_page(&state, &staff, order, Some(UNITS.to_owned())).await,
            }
        } else if name == "restock" {
            restock = true;
        } else if name == "note" {
            note = value.clone();
        }
    }
    if let Err(message) = order_moves::check_fields(&note, "") {
        return order_page(&state, &staff, order, Some(message.to_owned())).await;
    }
    let actor = staff.actor();
    match order_moves::refund_items(&state, &actor, &order, &quantities, restock, &note).await? {
        Ok(()) => Ok(Redirect::to(&format!("/admin/orders/{reference}")).into_response()),
        Err(refusal) => order_page(&state, &staff, order, Some(refusal.to_string())).await,
    }
}
