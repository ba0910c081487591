//! Sales analytics (F-10): the page's and the CSV's figures against a hand-computed set
//! of orders, who may see them, and periods that cannot be used.

use securecart::backoffice::analytics::range::parse_day;

use crate::support::shop::{GOOD_CARD, order_reference};
use crate::support::{TestApp, location, new_client};

const PASSWORD: &str = "correct horse battery staple";
const HOUR: i64 = 3_600_000;

/// A browser signed in as a new account with `role`.
async fn signed_in_as(app: &TestApp, email: &str, role: &str) -> reqwest::Client {
    let hash = securecart::security::password::hash(PASSWORD, 1_000);
    securecart::accounts::store::insert_user(&app.db, email, email, &hash, role, true)
        .await
        .expect("insert")
        .expect("a new user");
    let client = new_client();
    assert_eq!(app.login_with(&client, email, PASSWORD).await.status(), 303);
    client
}

/// The first millisecond of `date` (YYYY-MM-DD, UTC).
fn day(date: &str) -> i64 {
    parse_day(date).expect("a test date").start_ms()
}

async fn product_id(app: &TestApp, sku: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM products WHERE sku = '{sku}'"))
        .await
}

/// Writes an order as checkout would have left it: `lines` are (SKU, unit price in
/// minor units, quantity). Returns its id.
async fn insert_order(
    app: &TestApp,
    user_id: Option<i64>,
    status: &str,
    at: i64,
    lines: &[(&str, i64, i64)],
) -> i64 {
    let total: i64 = lines.iter().map(|(_, price, qty)| price * qty).sum();
    let items: i64 = lines.iter().map(|(_, _, qty)| qty).sum();
    let reference = securecart::orders::reference::new_reference();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (reference, user_id, email, status, currency, item_count, \
                subtotal_minor, shipping_minor, total_minor, checkout_token_hash, ship_name, \
                ship_line1, ship_line2, ship_city, ship_postal_code, ship_country, created_at, \
                updated_at) \
         VALUES ($1, $2, 'someone@example.com', $3, 'EUR', $4, $5, 0, $5, $1, 'Ada', \
                 'Street 1', '', 'Town', '1000', 'NL', $6, $6) RETURNING id",
    )
    .bind(&reference)
    .bind(user_id)
    .bind(status)
    .bind(items)
    .bind(total)
    .bind(at)
    .fetch_one(app.db.pool())
    .await
    .expect("inserting an order");
    for (sku, price, qty) in lines {
        let product = product_id(app, sku).await;
        sqlx::query(
            "INSERT INTO order_lines (order_id, product_id, sku, name, unit_price_minor, \
             quantity, line_total_minor) VALUES ($1, $2, $3, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(product)
        .bind(*sku)
        .bind(*price)
        .bind(*qty)
        .bind(price * qty)
        .execute(app.db.pool())
        .await
        .expect("inserting an order line");
    }
    id
}

async fn insert_refund(app: &TestApp, order_id: i64, amount: i64, at: i64, outcome: &str) {
    sqlx::query(
        "INSERT INTO payments (order_id, kind, outcome, amount_minor, currency, card_brand, \
         card_last4, created_at) VALUES ($1, 'refund', $2, $3, 'EUR', 'Visa', '4242', $4)",
    )
    .bind(order_id)
    .bind(outcome)
    .bind(amount)
    .bind(at)
    .execute(app.db.pool())
    .await
    .expect("inserting a refund");
}

const PERIOD: &str = "from=2026-03-01&to=2026-03-07";

/// The orders the figures below are computed from, for the week 1–7 March 2026:
///
/// | order | customer | placed | status | lines | total |
/// | --- | --- | --- | --- | --- | --- |
/// | 1 | ada | 20 Feb | delivered | 1 mug | 12.50 (before: ada returns) |
/// | 2 | ada | 1 Mar 10:00 | paid | 2 mugs, 1 bowl | 55.00 |
/// | 3 | bob | 1 Mar 23:59:59.999 | shipped | 1 bowl, 20 spoons | 50.00 |
/// | 4 | bob | 3 Mar 00:00 | delivered | 4 mugs | 50.00 |
/// | 5 | bob | 4 Mar | refunded | 1 `=SUM(A1)` | 9.99, refunded 5 Mar (and a failed refund) |
/// | 6 | ada | 5 Mar | payment failed | 1 bowl | 30.00 |
/// | 7 | ada | 7 Mar 23:00 | processing | 1 `=SUM(A1)` | 9.99 |
/// | 8 | ada | 8 Mar 00:00 | delivered | 1 mug | 12.50 (after) |
/// | 9 | carol | 6 Mar | cancelled | 2 mugs | 25.00, refunded 6 Mar |
/// | 10 | dave | 25 Feb | refunded | 1 mug | 12.50, refunded 26 Feb (before) |
/// | 11 | dave | 2 Mar | paid | 1 mug | 12.50 (dave is new: order 10 was not a sale) |
/// | 12 | deleted account | 2 Mar | delivered | 1 mug | 12.50 |
async fn shop_with_a_week_of_orders() -> (TestApp, reqwest::Client) {
    let app = TestApp::spawn().await;
    app.import(
        "MUG-1,Oak Mug,A mug,12.50,100,Kitchen\n\
         BOWL-1,Clay Bowl,A bowl,30.00,100,Kitchen\n\
         SPOON-1,Tea Spoon,A spoon,1.00,100,Kitchen\n\
         FX-1,=SUM(A1),A formula,9.99,100,Kitchen",
    )
    .await;
    let ada = app.customer("ada@example.com", PASSWORD).await;
    let bob = app.customer("bob@example.com", PASSWORD).await;
    let carol = app.customer("carol@example.com", PASSWORD).await;
    let dave = app.customer("dave@example.com", PASSWORD).await;
    let (mug, bowl, spoon, fx) = (
        ("MUG-1", 1250),
        ("BOWL-1", 3000),
        ("SPOON-1", 100),
        ("FX-1", 999),
    );
    let line = |(sku, price): (&'static str, i64), qty| (sku, price, qty);

    insert_order(
        &app,
        Some(ada),
        "delivered",
        day("2026-02-20"),
        &[line(mug, 1)],
    )
    .await;
    insert_order(
        &app,
        Some(ada),
        "paid",
        day("2026-03-01") + 10 * HOUR,
        &[line(mug, 2), line(bowl, 1)],
    )
    .await;
    insert_order(
        &app,
        Some(bob),
        "shipped",
        day("2026-03-02") - 1,
        &[line(bowl, 1), line(spoon, 20)],
    )
    .await;
    insert_order(
        &app,
        Some(bob),
        "delivered",
        day("2026-03-03"),
        &[line(mug, 4)],
    )
    .await;
    let refunded = insert_order(
        &app,
        Some(bob),
        "refunded",
        day("2026-03-04"),
        &[line(fx, 1)],
    )
    .await;
    insert_refund(&app, refunded, 999, day("2026-03-05") - 1, "failed").await;
    insert_refund(&app, refunded, 999, day("2026-03-05"), "succeeded").await;
    insert_order(
        &app,
        Some(ada),
        "payment_failed",
        day("2026-03-05"),
        &[line(bowl, 1)],
    )
    .await;
    insert_order(
        &app,
        Some(ada),
        "processing",
        day("2026-03-07") + 23 * HOUR,
        &[line(fx, 1)],
    )
    .await;
    insert_order(
        &app,
        Some(ada),
        "delivered",
        day("2026-03-08"),
        &[line(mug, 1)],
    )
    .await;
    let cancelled = insert_order(
        &app,
        Some(carol),
        "cancelled",
        day("2026-03-06"),
        &[line(mug, 2)],
    )
    .await;
    insert_refund(&app, cancelled, 2500, day("2026-03-06") + HOUR, "succeeded").await;
    let earlier = insert_order(
        &app,
        Some(dave),
        "refunded",
        day("2026-02-25"),
        &[line(mug, 1)],
    )
    .await;
    insert_refund(&app, earlier, 1250, day("2026-02-26"), "succeeded").await;
    insert_order(&app, Some(dave), "paid", day("2026-03-02"), &[line(mug, 1)]).await;
    insert_order(
        &app,
        None,
        "delivered",
        day("2026-03-02") + HOUR,
        &[line(mug, 1)],
    )
    .await;

    let staff = signed_in_as(&app, "staff@example.com", "staff").await;
    (app, staff)
}

/// The part of `html` from `start` to the next `end`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} on the page"));
    let rest = &html[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[tokio::test]
async fn the_page_shows_the_figures_of_the_orders_in_the_period() {
    let (app, staff) = shop_with_a_week_of_orders().await;
    let response = staff
        .get(app.url(&format!("/admin/analytics?{PERIOD}")))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");

    // Orders 2, 3, 4, 7, 11 and 12 are sold: 55 + 50 + 50 + 9.99 + 12.50 + 12.50.
    for (id, expected) in [
        ("revenue", "€189.99"),
        ("orders", "6"),
        ("average-order", "€31.67"),
        ("new-customers", "2"),
        ("returning-customers", "1"),
        ("refunds", "2 · €34.99"),
    ] {
        let shown = between(&html, &format!("id=\"{id}\">"), "<");
        assert_eq!(shown, format!("id=\"{id}\">{expected}"), "{id}");
    }

    let per_day = between(&html, "id=\"per-day\"", "</table>");
    for (date, orders, revenue) in [
        ("2026-03-01", 2, "€105.00"),
        ("2026-03-02", 2, "€25.00"),
        ("2026-03-03", 1, "€50.00"),
        ("2026-03-04", 0, "€0.00"),
        ("2026-03-05", 0, "€0.00"),
        ("2026-03-06", 0, "€0.00"),
        ("2026-03-07", 1, "€9.99"),
    ] {
        let row = format!("<th scope=\"row\">{date}</th><td>{orders}</td><td>{revenue}</td>");
        assert!(per_day.contains(&row), "{row} in {per_day}");
    }
    assert_eq!(
        per_day.matches("<tr>").count(),
        8,
        "a header and seven days"
    );
    assert!(!per_day.contains("2026-02-28") && !per_day.contains("2026-03-08"));

    let by_status = between(&html, "id=\"by-status\"", "</table>");
    for (label, orders, amount) in [
        ("Awaiting payment", 0, "€0.00"),
        ("Paid", 2, "€67.50"),
        ("Being prepared", 1, "€9.99"),
        ("Shipped", 1, "€50.00"),
        ("Delivered", 2, "€62.50"),
        ("Cancelled", 1, "€25.00"),
        ("Refunded", 1, "€9.99"),
        ("Payment failed", 1, "€30.00"),
    ] {
        let row = format!(
            "{label}</span></th><td class=\"num\">{orders}</td><td class=\"num\">{amount}</td>"
        );
        assert!(by_status.contains(&row), "{row}");
    }

    let ranked = |id: &str| -> Vec<(String, String)> {
        between(&html, &format!("id=\"{id}\""), "</table>")
            .split("<tr><td class=\"num\">")
            .skip(1)
            .map(|row| {
                let cells: Vec<&str> = row.split("<td class=\"num\">").collect();
                let name = row.split("</td><td>").nth(1).unwrap_or_default();
                let name = name.split(" <span").next().unwrap_or_default().to_owned();
                let revenue = cells
                    .last()
                    .and_then(|c| c.split('<').next())
                    .unwrap_or_default();
                (
                    name,
                    format!(
                        "{}/{revenue}",
                        cells[1].split('<').next().unwrap_or_default()
                    ),
                )
            })
            .collect()
    };
    let expected = |rows: &[(&str, &str)]| -> Vec<(String, String)> {
        rows.iter()
            .map(|(n, f)| ((*n).to_owned(), (*f).to_owned()))
            .collect()
    };
    assert_eq!(
        ranked("top-revenue"),
        expected(&[
            ("Oak Mug", "8/€100.00"),
            ("Clay Bowl", "2/€60.00"),
            ("Tea Spoon", "20/€20.00"),
            ("=SUM(A1)", "1/€9.99"),
        ])
    );
    assert_eq!(
        ranked("top-units"),
        expected(&[
            ("Tea Spoon", "20/€20.00"),
            ("Oak Mug", "8/€100.00"),
            ("Clay Bowl", "2/€60.00"),
            ("=SUM(A1)", "1/€9.99"),
        ])
    );
}

#[tokio::test]
async fn the_csv_has_the_same_figures_and_guards_against_formulas() {
    let (app, staff) = shop_with_a_week_of_orders().await;
    let response = staff
        .get(app.url(&format!("/admin/analytics.csv?{PERIOD}")))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"securecart-analytics-2026-03-01-2026-03-07.csv\""
    );
    let csv = response.text().await.expect("body");
    let lines: Vec<&str> = csv.lines().collect();

    let expected = [
        "section,key,sku,name,count,units,amount",
        "summary,period,,2026-03-01 to 2026-03-07,,,",
        "summary,currency,,EUR,,,",
        "summary,revenue,,,6,,189.99",
        "summary,average_order_value,,,,,31.67",
        "summary,new_customers,,,2,,",
        "summary,returning_customers,,,1,,",
        "summary,refunds,,,2,,34.99",
        "day,2026-03-01,,,2,,105.00",
        "day,2026-03-02,,,2,,25.00",
        "day,2026-03-03,,,1,,50.00",
        "day,2026-03-04,,,0,,0.00",
        "day,2026-03-05,,,0,,0.00",
        "day,2026-03-06,,,0,,0.00",
        "day,2026-03-07,,,1,,9.99",
        "status,pending_payment,,Awaiting payment,0,,0.00",
        "status,paid,,Paid,2,,67.50",
        "status,processing,,Being prepared,1,,9.99",
        "status,shipped,,Shipped,1,,50.00",
        "status,delivered,,Delivered,2,,62.50",
        "status,cancelled,,Cancelled,1,,25.00",
        "status,refunded,,Refunded,1,,9.99",
        "status,payment_failed,,Payment failed,1,,30.00",
        "top_by_revenue,1,MUG-1,Oak Mug,,8,100.00",
        "top_by_revenue,2,BOWL-1,Clay Bowl,,2,60.00",
        "top_by_revenue,3,SPOON-1,Tea Spoon,,20,20.00",
        "top_by_revenue,4,FX-1,'=SUM(A1),,1,9.99",
        "top_by_units,1,SPOON-1,Tea Spoon,,20,20.00",
        "top_by_units,2,MUG-1,Oak Mug,,8,100.00",
        "top_by_units,3,BOWL-1,Clay Bowl,,2,60.00",
        "top_by_units,4,FX-1,'=SUM(A1),,1,9.99",
    ];
    assert_eq!(lines, expected);
}

#[tokio::test]
async fn product_names_a_spreadsheet_would_run_are_exported_as_text() {
    let app = TestApp::spawn().await;
    app.import(
        "P-1,+Plus,x,1.00,10,\nP-2,-Minus,x,2.00,10,\nP-3,@At,x,3.00,10,\n\
         P-4,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",x,4.00,10,",
    )
    .await;
    let customer = app.customer("ada@example.com", PASSWORD).await;
    insert_order(
        &app,
        Some(customer),
        "paid",
        day("2026-03-01"),
        &[
            ("P-1", 100, 1),
            ("P-2", 200, 1),
            ("P-3", 300, 1),
            ("P-4", 400, 1),
        ],
    )
    .await;
    let staff = signed_in_as(&app, "staff@example.com", "staff").await;

    let csv = app
        .html_with(&staff, "/admin/analytics.csv?from=2026-03-01&to=2026-03-01")
        .await;
    for row in [
        "top_by_revenue,1,P-4,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",,1,4.00",
        "top_by_revenue,2,P-3,'@At,,1,3.00",
        "top_by_revenue,3,P-2,'-Minus,,1,2.00",
        "top_by_revenue,4,P-1,'+Plus,,1,1.00",
    ] {
        assert!(csv.lines().any(|line| line == row), "{row} in\n{csv}");
    }
    let html = app
        .html_with(&staff, "/admin/analytics?from=2026-03-01&to=2026-03-01")
        .await;
    assert!(
        html.contains("@At") && !html.contains("'@At"),
        "the page shows names as they are"
    );
}

#[tokio::test]
async fn analytics_are_a_404_for_visitors_and_customers_and_count_a_real_checkout() {
    let app = TestApp::spawn().await;
    app.import("MUG-1,Oak Mug,A sturdy mug,12.50,5,Kitchen")
        .await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "2", &[]).await;
    let placed = app.checkout(&customer, GOOD_CARD).await;
    assert!(order_reference(&location(&placed)).is_some(), "an order");
    let staff = signed_in_as(&app, "staff@example.com", "staff").await;
    let admin = signed_in_as(&app, "admin@example.com", "admin").await;
    let visitor = new_client();

    for path in [
        "/admin/analytics",
        "/admin/analytics.csv",
        "/admin/analytics?from=2026-01-01",
    ] {
        assert_eq!(
            app.status_with(&visitor, path).await,
            404,
            "{path} for a visitor"
        );
        assert_eq!(
            app.status_with(&customer, path).await,
            404,
            "{path} for a customer"
        );
        assert_eq!(app.status_with(&staff, path).await, 200, "{path} for staff");
        assert_eq!(
            app.status_with(&admin, path).await,
            200,
            "{path} for an admin"
        );
    }

    // The default period ends today, so today's paid order is in it.
    let html = app.html_with(&staff, "/admin/analytics").await;
    assert!(
        html.contains("id=\"revenue\">€25.00<"),
        "the checkout's 25.00"
    );
    assert!(html.contains("id=\"orders\">1<") && html.contains("id=\"new-customers\">1<"));
    assert!(html.contains("aria-current=\"page\">Analytics</a>"));
    let csv = app.html_with(&staff, "/admin/analytics.csv").await;
    assert!(
        csv.lines().any(|l| l == "summary,revenue,,,1,,25.00"),
        "{csv}"
    );
}

#[tokio::test]
async fn the_charts_are_inline_svg_with_a_title_and_a_table_for_screen_readers() {
    let (app, staff) = shop_with_a_week_of_orders().await;
    let response = staff
        .get(app.url(&format!("/admin/analytics?{PERIOD}")))
        .send()
        .await
        .expect("GET");
    crate::support::assert_security_headers(&response, "analytics");
    let html = response.text().await.expect("body");

    assert_eq!(html.matches("<svg ").count(), 2, "revenue and orders");
    assert!(html.contains("role=\"img\" aria-labelledby=\"revenue-chart-title\""));
    assert!(html.contains(
        "<title id=\"revenue-chart-title\">Revenue per day from 2026-03-01 to 2026-03-07</title>"
    ));
    assert_eq!(
        html.matches("class=\"chart__bar\"").count(),
        14,
        "seven days, two charts"
    );
    assert!(
        html.contains("<title>1 Mar: €105.00</title>")
            && html.contains("<title>4 Mar: 0 orders</title>")
    );
    assert!(html.contains("<table class=\"visually-hidden\" id=\"per-day\">"));
    assert!(
        !html.contains("style=") && !html.contains("<script"),
        "nothing the CSP refuses"
    );
}

#[tokio::test]
async fn dates_that_cannot_be_used_show_the_default_period_with_a_message() {
    let app = TestApp::spawn().await;
    let staff = signed_in_as(&app, "staff@example.com", "staff").await;

    for (query, message) in [
        ("from=2026-13-01", "The start date is not a date"),
        ("to=abc", "The end date is not a date"),
        (
            "from=2026-05-02&to=2026-05-01",
            "The start date is after the end date",
        ),
        (
            "from=2016-01-01&to=2026-01-01",
            "at most 366 days, so this one starts on 2025-01-01",
        ),
        ("from=%00&to=9999-99-99", "not a date"),
        ("from=99999999999999999999-01-01", "not a date"),
    ] {
        let response = staff
            .get(app.url(&format!("/admin/analytics?{query}")))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{query}");
        let html = response.text().await.expect("body");
        assert!(html.contains(message), "{query}: {message}");
        let csv = app
            .status_with(&staff, &format!("/admin/analytics.csv?{query}"))
            .await;
        assert_eq!(csv, 200, "{query} as CSV");
    }

    let repeated = app
        .status_with(&staff, "/admin/analytics?from=2026-01-01&from=2026-01-02")
        .await;
    assert_eq!(
        repeated, 400,
        "a query that cannot be read at all, as elsewhere"
    );
    let markup = app
        .html_with(
            &staff,
            "/admin/analytics?from=%3Cscript%3Ealert(1)%3C/script%3E",
        )
        .await;
    assert!(
        !markup.contains("<script>alert(1)"),
        "what was typed is never echoed"
    );
}
