//! Orders as a ledger (S-11): what the database itself refuses to change, and the
//! status pipeline held both in code and in a trigger.

use securecart::orders::status::Status;

use crate::support::shop::GOOD_CARD;
use crate::support::{TestApp, location};

async fn paid_order(app: &TestApp) -> reqwest::Client {
    app.import("MUG-1,Oak Mug,A sturdy mug,12.50,5,Kitchen")
        .await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "2", &[]).await;
    let placed = app.checkout(&customer, GOOD_CARD).await;
    assert!(location(&placed).starts_with("/orders/"));
    customer
}

async fn refused(app: &TestApp, sql: &str) -> bool {
    sqlx::query(sql).execute(app.db.pool()).await.is_err()
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_what_an_order_recorded() {
    let app = TestApp::spawn().await;
    paid_order(&app).await;

    for sql in [
        "UPDATE order_lines SET quantity = 1",
        "UPDATE order_lines SET unit_price_minor = 1",
        "UPDATE order_lines SET line_total_minor = 0, unit_price_minor = 0",
        "DELETE FROM order_lines",
        "UPDATE orders SET total_minor = 0, subtotal_minor = 0",
        "UPDATE orders SET item_count = 1",
        "UPDATE orders SET reference = 'AAAAAAAAAAAAA'",
        "DELETE FROM orders",
        "UPDATE payments SET amount_minor = 0",
        "UPDATE payments SET card_last4 = '0000'",
        "DELETE FROM payments",
        "UPDATE order_events SET status = 'delivered'",
        "DELETE FROM order_events",
        "UPDATE orders SET status = 'pending_payment'",
        "UPDATE orders SET status = 'delivered'",
    ] {
        assert!(refused(&app, sql).await, "the database allowed: {sql}");
    }
    assert_eq!(app.scalar("SELECT total_minor FROM orders").await, 2500);
    assert_eq!(
        app.scalar("SELECT CAST(SUM(quantity) AS BIGINT) FROM order_lines")
            .await,
        2
    );

    // What may change: the status, along the pipeline, and the personal details (a
    // deleted account's address is erased, its amounts stay).
    assert!(!refused(&app, "UPDATE orders SET status = 'processing'").await);
    assert!(
        !refused(
            &app,
            "UPDATE orders SET ship_name = 'erased', email = 'erased'"
        )
        .await
    );
}

#[tokio::test]
async fn the_databases_status_pipeline_is_the_codes() {
    let app = TestApp::spawn().await;
    let user = app
        .customer("ada@example.com", "correct horse battery staple")
        .await;

    for (n, from) in Status::ALL.into_iter().enumerate() {
        for (m, to) in Status::ALL.into_iter().enumerate() {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO orders (reference, user_id, email, status, currency, item_count, \
                        subtotal_minor, shipping_minor, total_minor, checkout_token_hash, \
                        ship_name, ship_line1, ship_line2, ship_city, ship_postal_code, \
                        ship_country, created_at, updated_at) \
                 VALUES ($1, $2, 'a@example.com', $3, 'EUR', 1, 100, 0, 100, $1, 'A', 'B', '', \
                        'C', '1000', 'NL', 0, 0) RETURNING id",
            )
            .bind(format!("T{n}{m}"))
            .bind(user)
            .bind(from.as_str())
            .fetch_one(app.db.pool())
            .await
            .expect("an order in any status");

            let moved = sqlx::query("UPDATE orders SET status = $1 WHERE id = $2")
                .bind(to.as_str())
                .bind(id)
                .execute(app.db.pool())
                .await
                .is_ok();
            assert_eq!(
                moved,
                from == to || from.can_move_to(to),
                "{} → {}",
                from.as_str(),
                to.as_str()
            );
        }
    }
}

#[tokio::test]
async fn the_order_page_shows_the_timeline_as_the_status_moves() {
    let app = TestApp::spawn().await;
    let customer = paid_order(&app).await;
    let reference: String = sqlx::query_scalar("SELECT reference FROM orders")
        .fetch_one(app.db.pool())
        .await
        .expect("reference");

    let mut conn = app.db.pool().acquire().await.expect("connection");
    let order_id = app.scalar("SELECT id FROM orders").await;
    securecart::orders::store::move_status(
        &mut conn,
        order_id,
        Status::Paid,
        Status::Processing,
        securecart::orders::status::Actor::Staff(1),
        "",
    )
    .await
    .expect("paid → processing");
    let skip = securecart::orders::store::move_status(
        &mut conn,
        order_id,
        Status::Processing,
        Status::Delivered,
        securecart::orders::status::Actor::Staff(1),
        "",
    )
    .await;
    assert!(skip.is_err(), "the code refuses a skipped step too");
    drop(conn);

    let page = app
        .html_with(&customer, &format!("/orders/{reference}"))
        .await;
    let placed = page.find("Order placed").expect("placed");
    let paid = page.find("Payment received").expect("paid");
    let preparing = page.rfind("Being prepared").expect("processing");
    assert!(placed < paid && paid < preparing, "oldest first");
    assert!(page.contains(r#"<li aria-current="step">Being prepared"#));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM order_events").await, 3);
}
