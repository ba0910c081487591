//! Sales analytics (F-10): revenue and orders per day, average order value, orders by
//! status, top products, new and returning customers and refunds, for a period of
//! whole UTC days, as a page with charts and as CSV.
//!
//! What counts:
//! - **Sold** orders are those in [`SOLD`]: paid and not undone. Revenue, orders per
//!   day, average order value, top products and customers count only these, by the
//!   day the order was placed, with the order's status as it is now. A refunded or
//!   cancelled order is not revenue, so revenue is money the shop keeps.
//! - **Refunds** are the succeeded `refund` payments made in the period (cancelling a
//!   paid order refunds it too), by the day of the refund. They are reported beside
//!   revenue, not taken from it: their orders are already out of revenue.
//! - **Orders by status** counts every order placed in the period, whatever happened
//!   to it.
//! - A customer is **new** when their first sold order ever falls in the period, and
//!   **returning** when they also had one before it.

pub mod chart;
pub mod export;
pub mod pages;
pub mod range;
pub mod store;

use anyhow::Context as _;

use crate::db::Db;
use crate::money::Money;
use crate::orders::status::Status;
use range::{DateRange, Day};
use store::{Figures, ProductRow};

/// Statuses of orders that were paid and are not undone: the shop's sales.
pub const SOLD: [Status; 4] = [
    Status::Paid,
    Status::Processing,
    Status::Shipped,
    Status::Delivered,
];

/// How many products each top list names.
pub const TOP: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFigures {
    pub day: Day,
    pub orders: i64,
    pub revenue: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFigures {
    pub status: Status,
    pub orders: i64,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFigures {
    pub sku: String,
    pub name: String,
    pub units: i64,
    pub revenue: Money,
}

/// The figures for one period, every day of it present.
#[derive(Debug, Clone)]
pub struct Report {
    pub range: DateRange,
    pub days: Vec<DayFigures>,
    pub orders: i64,
    pub revenue: Money,
    /// Revenue over sold orders, rounded half up to a minor unit; none without orders.
    pub average_order: Option<Money>,
    pub by_status: Vec<StatusFigures>,
    pub top_by_revenue: Vec<ProductFigures>,
    pub top_by_units: Vec<ProductFigures>,
    pub new_customers: i64,
    pub returning_customers: i64,
    pub refunds: i64,
    pub refunded: Money,
}

pub async fn report(db: &Db, range: &DateRange) -> anyhow::Result<Report> {
    let figures = store::figures(db, range).await?;
    Report::from_figures(*range, figures)
}

fn add(total: i64, more: i64) -> anyhow::Result<i64> {
    total
        .checked_add(more)
        .context("a sales total is too large to add up")
}

impl Report {
    /// Puts the database's counts together: days without orders become zeros, and the
    /// sold statuses' rows add up to each day's figures.
    pub fn from_figures(range: DateRange, figures: Figures) -> anyhow::Result<Report> {
        let mut days: Vec<DayFigures> = range
            .each_day()
            .map(|day| DayFigures {
                day,
                orders: 0,
                revenue: Money::ZERO,
            })
            .collect();
        let mut by_status: Vec<StatusFigures> = Status::ALL
            .into_iter()
            .map(|status| StatusFigures {
                status,
                orders: 0,
                amount: Money::ZERO,
            })
            .collect();

        for row in &figures.by_day_and_status {
            let Some(status) = Status::parse(&row.status) else {
                continue;
            };
            if let Some(entry) = by_status.iter_mut().find(|s| s.status == status) {
                entry.orders = add(entry.orders, row.orders)?;
                entry.amount = Money::from_minor(add(entry.amount.minor(), row.amount_minor)?);
            }
            let index = usize::try_from(row.day - range.first().0).ok();
            if let Some(day) = index.and_then(|i| days.get_mut(i))
                && SOLD.contains(&status)
            {
                day.orders = add(day.orders, row.orders)?;
                day.revenue = Money::from_minor(add(day.revenue.minor(), row.amount_minor)?);
            }
        }

        let mut orders = 0;
        let mut revenue = 0;
        for day in &days {
            orders = add(orders, day.orders)?;
            revenue = add(revenue, day.revenue.minor())?;
        }
        let average_order =
            (orders > 0).then(|| Money::from_minor((revenue + orders / 2) / orders));

        let (top_by_revenue, top_by_units) = top_products(figures.products);
        Ok(Report {
            range,
            days,
            orders,
            revenue: Money::from_minor(revenue),
            average_order,
            by_status,
            top_by_revenue,
            top_by_units,
            new_customers: figures.customers - figures.returning_customers,
            returning_customers: figures.returning_customers,
            refunds: figures.refunds,
            refunded: Money::from_minor(figures.refunded_minor),
        })
    }

    pub fn customers(&self) -> i64 {
        self.new_customers + self.returning_customers
    }
}

/// The [`TOP`] products by revenue and by units sold. Ties go to the other measure,
/// then to the item number, so the lists do not change between two loads.
fn top_products(rows: Vec<ProductRow>) -> (Vec<ProductFigures>, Vec<ProductFigures>) {
    let mut products: Vec<ProductFigures> = rows
        .into_iter()
        .map(|row| ProductFigures {
            sku: row.sku,
            name: row.name,
            units: row.units,
            revenue: Money::from_minor(row.revenue_minor),
        })
        .collect();

    products.sort_by(|a, b| {
        (b.revenue, b.units)
            .cmp(&(a.revenue, a.units))
            .then_with(|| a.sku.cmp(&b.sku))
    });
    let by_revenue = products.iter().take(TOP).cloned().collect();
    products.sort_by(|a, b| {
        (b.units, b.revenue)
            .cmp(&(a.units, a.revenue))
            .then_with(|| a.sku.cmp(&b.sku))
    });
    products.truncate(TOP);
    (by_revenue, products)
}

#[cfg(test)]
mod tests {
    use super::store::DayStatusRow;
    use super::*;

    fn row(day: i64, status: &str, orders: i64, amount_minor: i64) -> DayStatusRow {
        DayStatusRow {
            day,
            status: status.into(),
            orders,
            amount_minor,
        }
    }

    fn product(sku: &str, units: i64, revenue_minor: i64) -> ProductRow {
        ProductRow {
            sku: sku.into(),
            name: format!("Product {sku}"),
            units,
            revenue_minor,
        }
    }

    #[test]
    fn days_without_orders_are_zero_and_only_sold_orders_are_revenue() {
        let range = DateRange::ending(Day(100));
        let figures = Figures {
            by_day_and_status: vec![
                row(71, "paid", 2, 3_000),
                row(71, "delivered", 1, 1_001),
                row(71, "refunded", 5, 9_999),
                row(100, "payment_failed", 1, 700),
                row(100, "shipped", 1, 500),
            ],
            ..Figures::default()
        };
        let report = Report::from_figures(range, figures).expect("report");

        assert_eq!(report.days.len(), 30);
        assert_eq!(
            report.days[0],
            DayFigures {
                day: Day(71),
                orders: 3,
                revenue: Money::from_minor(4_001)
            }
        );
        assert_eq!(report.days[1].orders, 0);
        assert_eq!(report.days[29].revenue, Money::from_minor(500));
        assert_eq!(
            (report.orders, report.revenue),
            (4, Money::from_minor(4_501))
        );
        assert_eq!(report.average_order, Some(Money::from_minor(1_125)));
        let refunded = report
            .by_status
            .iter()
            .find(|s| s.status == Status::Refunded);
        assert_eq!(
            refunded.map(|s| (s.orders, s.amount.minor())),
            Some((5, 9_999))
        );
        assert_eq!(report.by_status.len(), Status::ALL.len());
    }

    #[test]
    fn the_average_order_rounds_half_up_and_is_absent_without_orders() {
        let range = DateRange::ending(Day(10));
        let figures = |amount| Figures {
            by_day_and_status: vec![row(10, "paid", 2, amount)],
            ..Figures::default()
        };
        let average = |amount| {
            Report::from_figures(range, figures(amount))
                .expect("report")
                .average_order
        };
        assert_eq!(average(1_001), Some(Money::from_minor(501)));
        assert_eq!(average(1_002), Some(Money::from_minor(501)));
        let empty = Report::from_figures(range, Figures::default()).expect("report");
        assert_eq!((empty.orders, empty.average_order), (0, None));
    }

    #[test]
    fn top_lists_rank_by_revenue_and_by_units_and_break_ties_by_item_number() {
        let mut rows: Vec<ProductRow> = (0..12)
            .map(|n| product(&format!("S{n:02}"), 1, 100))
            .collect();
        rows.push(product("BIG", 1, 50_000));
        rows.push(product("MANY", 40, 4_000));
        let (by_revenue, by_units) = top_products(rows);

        assert_eq!(by_revenue.len(), TOP);
        assert_eq!(by_revenue[0].sku, "BIG");
        assert_eq!(by_revenue[1].sku, "MANY");
        assert_eq!(by_revenue[2].sku, "S00");
        assert_eq!(by_units[0].sku, "MANY");
        assert_eq!(by_units[1].sku, "BIG");
        assert_eq!(by_units.len(), TOP);
    }
}
