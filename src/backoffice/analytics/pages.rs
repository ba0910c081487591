//! `/admin/analytics` and its CSV, for staff. Both read the period the same way and
//! show the same [`Report`].

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;

use super::chart::{self, BarChart};
use super::range::{DateRange, Day};
use super::{ProductFigures, Report, export};
use crate::app::AppState;
use crate::backoffice::extract::Staff;
use crate::backoffice::layout::{AdminLayout, Section};
use crate::db::time::now_ms;
use crate::error::AppError;
use crate::money::Money;
use crate::web::query::Query;
use crate::web::render;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    from: Option<String>,
    to: Option<String>,
}

impl Params {
    fn range(&self) -> (DateRange, Option<String>) {
        DateRange::from_params(
            self.from.as_deref(),
            self.to.as_deref(),
            Day::of_ms(now_ms()),
        )
    }
}

#[derive(Template)]
#[template(path = "backoffice/analytics.html")]
struct AnalyticsPage {
    layout: AdminLayout,
    report: Report,
    message: Option<String>,
    charts: [BarChart; 2],
    csv_href: String,
}

impl AnalyticsPage {
    fn average_order(&self) -> String {
        self.report
            .average_order
            .map_or_else(|| "—".to_owned(), |m| self.layout.price(m))
    }

    /// The two top lists with their element id and heading.
    fn top_lists(&self) -> [(&'static str, &'static str, &[ProductFigures]); 2] {
        [
            (
                "top-revenue",
                "Top products by revenue",
                &self.report.top_by_revenue,
            ),
            (
                "top-units",
                "Top products by units",
                &self.report.top_by_units,
            ),
        ]
    }
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<Params>,
) -> Result<Response, AppError> {
    let (range, message) = params.range();

    let report = super::report(&state.db, &range).await?;

    let layout = AdminLayout::new(&state, &staff, "Sales analytics", Section::Analytics);
    let charts = charts(&report, &layout);
    let csv_href = format!(
        "/admin/analytics.csv?from={}&to={}",
        range.first().iso(),
        range.last().iso()
    );
    let page = AnalyticsPage {
        layout,
        report,
        message,
        charts,
        csv_href,
    };
    Ok(render(&page)?.into_response())
}

fn charts(report: &Report, layout: &AdminLayout) -> [BarChart; 2] {
    let revenue: Vec<(String, String, i64)> = report
        .days
        .iter()
        .map(|d| {
            let label = format!("{}: {}", d.day.short(), layout.price(d.revenue));
            (d.day.short(), label, d.revenue.minor())
        })
        .collect();
    let orders: Vec<(String, String, i64)> = report
        .days
        .iter()
        .map(|d| {
            let noun = if d.orders == 1 { "order" } else { "orders" };
            let label = format!("{}: {} {noun}", d.day.short(), d.orders);
            (d.day.short(), label, d.orders)
        })
        .collect();
    let period = format!(
        "from {} to {}",
        report.range.first().iso(),
        report.range.last().iso()
    );
    // Money is scaled in whole units of the currency, so its axis drops the cents that
    // every label would repeat.
    [
        chart::bars(
            "revenue-chart",
            format!("Revenue per day {period}"),
            &revenue,
            100,
            |minor| {
                layout
                    .price(Money::from_minor(minor))
                    .replacen(".00", "", 1)
            },
        ),
        chart::bars(
            "orders-chart",
            format!("Orders per day {period}"),
            &orders,
            1,
            |n| n.to_string(),
        ),
    ]
}

pub async fn csv(
    State(state): State<AppState>,
    _staff: Staff,
    Query(params): Query<Params>,
) -> Result<Response, AppError> {
    let (range, _message) = params.range();

    let report = super::report(&state.db, &range).await?;

    let body = export::to_csv(&report, &state.settings.currency)?;
    let disposition = format!("attachment; filename=\"{}\"", export::file_name(&report));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}
