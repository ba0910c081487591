//! The report as CSV: one table with fixed columns, so a spreadsheet or a script reads
//! it without knowing its sections. Each row names its `section`; the columns a
//! section does not use are empty.
//!
//! | section | key | sku, name | count | units | amount |
//! | --- | --- | --- | --- | --- | --- |
//! | `summary` | the figure's name | `name` holds text figures | orders, customers, refunds | | money |
//! | `day` | `YYYY-MM-DD` | | sold orders | | revenue |
//! | `status` | stored status | `name` is its label | orders | | their totals |
//! | `top_by_revenue`, `top_by_units` | rank | the product | | units | revenue |
//!
//! Amounts are decimal text in the shop's currency (`summary,currency`).

use std::borrow::Cow;

use anyhow::Context as _;

use super::Report;
use crate::money::{Currency, Money};

pub const HEADER: [&str; 7] = ["section", "key", "sku", "name", "count", "units", "amount"];

/// Text a spreadsheet would run as a formula gets a leading `'`, so a product named
/// `=HYPERLINK(…)` stays text when staff open the export.
pub fn spreadsheet_safe(text: &str) -> Cow<'_, str> {
    match text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => Cow::Owned(format!("'{text}")),
        false => Cow::Borrowed(text),
    }
}

/// The download's file name, which names the period.
pub fn file_name(report: &Report) -> String {
    format!(
        "securecart-analytics-{}-{}.csv",
        report.range.first().iso(),
        report.range.last().iso()
    )
}

/// One row of the table, with its columns in [`HEADER`]'s order.
#[derive(Default)]
struct Row<'a> {
    section: &'a str,
    key: String,
    sku: &'a str,
    name: &'a str,
    count: Option<i64>,
    units: Option<i64>,
    amount: Option<Money>,
}

impl Row<'_> {
    fn fields(&self) -> [String; 7] {
        let number = |n: Option<i64>| n.map_or_else(String::new, |n| n.to_string());
        [
            self.section.to_owned(),
            self.key.clone(),
            spreadsheet_safe(self.sku).into_owned(),
            spreadsheet_safe(self.name).into_owned(),
            number(self.count),
            number(self.units),
            self.amount.map_or_else(String::new, |a| a.to_string()),
        ]
    }
}

pub fn to_csv(report: &Report, currency: &Currency) -> anyhow::Result<Vec<u8>> {
    let period = format!(
        "{} to {}",
        report.range.first().iso(),
        report.range.last().iso()
    );
    let summary = |key: &str| Row {
        section: "summary",
        key: key.to_owned(),
        ..Row::default()
    };
    let mut rows = vec![
        Row {
            name: &period,
            ..summary("period")
        },
        Row {
            name: currency.code(),
            ..summary("currency")
        },
        Row {
            count: Some(report.orders),
            amount: Some(report.revenue),
            ..summary("revenue")
        },
        Row {
            amount: report.average_order,
            ..summary("average_order_value")
        },
        Row {
            count: Some(report.new_customers),
            ..summary("new_customers")
        },
        Row {
            count: Some(report.returning_customers),
            ..summary("returning_customers")
        },
        Row {
            count: Some(report.refunds),
            amount: Some(report.refunded),
            ..summary("refunds")
        },
    ];
    rows.extend(report.days.iter().map(|day| Row {
        section: "day",
        key: day.day.iso(),
        count: Some(day.orders),
        amount: Some(day.revenue),
        ..Row::default()
    }));
    rows.extend(report.by_status.iter().map(|s| Row {
        section: "status",
        key: s.status.as_str().to_owned(),
        name: s.status.label(),
        count: Some(s.orders),
        amount: Some(s.amount),
        ..Row::default()
    }));
    for (section, products) in [
        ("top_by_revenue", &report.top_by_revenue),
        ("top_by_units", &report.top_by_units),
    ] {
        rows.extend(products.iter().enumerate().map(|(rank, p)| Row {
            section,
            key: (rank + 1).to_string(),
            sku: &p.sku,
            name: &p.name,
            units: Some(p.units),
            amount: Some(p.revenue),
            ..Row::default()
        }));
    }

    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(HEADER)
        .context("writing the CSV header")?;
    for row in &rows {
        writer
            .write_record(row.fields())
            .context("writing a CSV row")?;
    }
    writer.into_inner().context("finishing the CSV")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_a_spreadsheet_would_run_as_a_formula_is_quoted() {
        for text in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(text), format!("'{text}"), "{text:?}");
        }
        for text in ["Oak Mug", "", "1+1", "a=b", " =1"] {
            assert_eq!(spreadsheet_safe(text), text, "{text:?}");
        }
    }
}
