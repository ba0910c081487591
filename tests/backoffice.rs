//! The back office (S-04, S-07, F-08): hidden from everyone but staff, orders moved
//! along the pipeline with refunds and restocking, and the audit log.

use std::process::Command;

use crate::support::shop::{GOOD_CARD, order_reference};
use crate::support::{TestApp, csrf_field, location, new_client};

const PASSWORD: &str = "correct horse battery staple";

/// A browser signed in as a new account with `role`.
async fn signed_in_as(app: &TestApp, email: &str, role: &str) -> reqwest::Client {
    app.account_signed_in(email, role).await.1
}

/// A shop with one paid order of 2 mugs (stock 5 → 3); returns it and the customer.
async fn shop_with_an_order() -> (TestApp, String, reqwest::Client) {
    let app = TestApp::spawn().await;
    app.import("MUG-1,Oak Mug,A sturdy mug,12.50,5,Kitchen")
        .await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "2", &[]).await;
    let placed = app.checkout(&customer, GOOD_CARD).await;
    let reference = order_reference(&location(&placed)).expect("an order");
    (app, reference, customer)
}

/// Posts a status move from the order's back-office page.
async fn move_order(
    app: &TestApp,
    staff: &reqwest::Client,
    reference: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = format!("/admin/orders/{reference}");
    app.submit_with(staff, &page, &format!("{page}/status"), fields)
        .await
}

async fn status_of(app: &TestApp, reference: &str) -> String {
    sqlx::query_scalar("SELECT status FROM orders WHERE reference = $1")
        .bind(reference)
        .fetch_one(app.db.pool())
        .await
        .expect("status")
}

#[tokio::test]
async fn the_back_office_is_a_404_for_visitors_and_customers_and_audit_is_for_admins() {
    let (app, reference, customer) = shop_with_an_order().await;
    let staff = signed_in_as(&app, "staff@example.com", "staff").await;
    let admin = signed_in_as(&app, "admin@example.com", "admin").await;
    let visitor = new_client();
    let order = format!("/admin/orders/{reference}");

    // (path, staff's status, admin's status)
    let pages = [
        ("/admin", 200, 200),
        ("/admin/", 404, 404),
        ("/admin/orders", 200, 200),
        ("/admin/orders?status=paid&q=ada", 200, 200),
        (order.as_str(), 200, 200),
        ("/admin/orders/AAAAAAAAAAAAA", 404, 404),
        ("/admin/audit", 404, 200),
        ("/admin/no-such-page", 404, 404),
        ("/admin/users", 404, 200),
    ];
    let hidden = app.html_with(&customer, "/admin/definitely-not-here").await;
    let hidden_for_visitor = app.html_with(&visitor, "/admin/definitely-not-here").await;
    for (path, for_staff, for_admin) in pages {
        for (who, client, expected) in [
            ("visitor", &visitor, 404),
            ("customer", &customer, 404),
            ("staff", &staff, for_staff),
            ("admin", &admin, for_admin),
        ] {
            let response = client.get(app.url(path)).send().await.expect("GET");
            assert_eq!(response.status(), expected, "GET {path} as {who}");
            let body = response.text().await.expect("body");
            if who == "customer" {
                assert_eq!(
                    body, hidden,
                    "{path}: the same 404 as a path that does not exist"
                );
            }
            if who == "visitor" {
                assert_eq!(body, hidden_for_visitor, "{path}");
            }
        }
    }

    // Posts: a customer's own valid CSRF token gets them no further than the 404.
    let token = csrf_field(&app.html_with(&customer, "/cart").await).expect("token");
    for path in [
        format!("{order}/status"),
        "/admin".to_owned(),
        "/admin/nope".to_owned(),
    ] {
        let response = customer
            .post(app.url(&path))
            .form(&[("csrf_token", token.as_str()), ("to", "processing")])
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 404, "POST {path} as a customer");
    }
    let forged = staff
        .post(app.url(&format!("{order}/status")))
        .form(&[("to", "processing")])
        .send()
        .await
        .expect("POST");
    assert_eq!(forged.status(), 403, "staff forms need the CSRF token too");
    assert_eq!(status_of(&app, &reference).await, "paid", "nothing moved");
}

#[tokio::test]
async fn staff_move_an_order_along_the_pipeline_and_the_customer_sees_it() {
    let (app, reference, customer) = shop_with_an_order().await;
    let staff = signed_in_as(&app, "staff@example.com", "staff").await;

    let skip = move_order(&app, &staff, &reference, &[("to", "delivered")]).await;
    assert_eq!(skip.status(), 422);
    assert!(
        skip.text()
            .await
            .expect("body")
            .contains("cannot become delivered")
    );
    assert_eq!(status_of(&app, &reference).await, "paid");

    for (to, extra) in [
        ("processing", ("note", "")),
        ("shipped", ("tracking", "TRACK-123")),
        ("delivered", ("note", "Left with a neighbour")),
    ] {
        let moved = move_order(&app, &staff, &reference, &[("to", to), extra]).await;
        assert_eq!(moved.status(), 303, "→ {to}");
        assert_eq!(status_of(&app, &reference).await, to);
    }
    let back = move_order(&app, &staff, &reference, &[("to", "processing")]).await;
    assert_eq!(back.status(), 422, "no way back");

    let page = app
        .html_with(&customer, &format!("/orders/{reference}"))
        .await;
    for expected in [
        "Being prepared",
        "Tracking number: TRACK-123",
        "Left with a neighbour",
        "Delivered",
    ] {
        assert!(
            page.contains(expected),
            "the customer's page lacks {expected:?}"
        );
    }
    let mails = app.outbox(2).await;
    assert!(
        mails
            .iter()
            .any(|m| m.contains("on its way") && m.contains("TRACK-123"))
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM order_events WHERE actor_kind = 'staff'")
            .await,
        3
    );
}

#[tokio::test]
async fn cancelling_refunds_the_payment_and_restocks() {
    let (app, reference, customer) = shop_with_an_order().await;
    let staff = signed_in_as(&app, "staff@example.com", "staff").await;
    assert_eq!(app.stock_of("MUG-1").await, 3);

    let cancelled = move_order(
        &app,
        &staff,
        &reference,
        &[("to", "cancelled"), ("note", "Out of glaze")],
    )
    .await;
    assert_eq!(cancelled.status(), 303);
    assert_eq!(status_of(&app, &reference).await, "cancelled");
    assert_eq!(app.stock_of("MUG-1").await, 5, "the mugs are back");
    assert_eq!(
        app.scalar("SELECT amount_minor FROM payments WHERE kind = 'refund'")
            .await,
        2500
    );
    let page = app
        .html_with(&customer, &format!("/orders/{reference}"))
        .await;
    assert!(page.contains("Cancelled") && page.contains("Out of glaze"));
    let mails = app.outbox(2).await;
    assert!(
        mails
            .iter()
            .any(|m| m.contains("cancelled") && m.contains("25.00"))
    );

    let again = move_order(&app, &staff, &reference, &[("to", "refunded")]).await;
    assert_eq!(again.status(), 422, "a cancelled order is closed");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM payments WHERE kind = 'refund'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_refund_restocks_only_when_asked() {
    for (restock, stock_after) in [(false, 3), (true, 5)] {
        let (app, reference, _customer) = shop_with_an_order().await;
        let staff = signed_in_as(&app, "staff@example.com", "staff").await;
        move_order(&app, &staff, &reference, &[("to", "processing")]).await;
        move_order(&app, &staff, &reference, &[("to", "shipped")]).await;

        let mut fields = vec![("to", "refunded")];
        if restock {
            fields.push(("restock", "on"));
        }
        let refunded = move_order(&app, &staff, &reference, &fields).await;
        assert_eq!(refunded.status(), 303);
        assert_eq!(status_of(&app, &reference).await, "refunded");
        assert_eq!(
            app.stock_of("MUG-1").await,
            stock_after,
            "restock: {restock}"
        );
        assert_eq!(
            app.scalar(
                "SELECT CAST(SUM(amount_minor) AS BIGINT) FROM payments WHERE kind = 'refund'"
            )
            .await,
            2500
        );
    }
}

#[tokio::test]
async fn markup_a_customer_typed_is_escaped_in_the_back_office() {
    let app = TestApp::spawn().await;
    app.import("MUG-1,Oak Mug,A sturdy mug,12.50,5,Kitchen")
        .await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "1", &[]).await;
    let mut address: Vec<(&str, &str)> = crate::support::shop::ADDRESS.to_vec();
    address[0] = ("name", "<script>alert(1)</script>");
    app.submit_with(&customer, "/checkout", "/checkout/shipping", &address)
        .await;
    let tokens = app.payment_tokens(&customer).await;
    let placed = app.pay_with_tokens(&customer, &tokens, GOOD_CARD).await;
    let reference = order_reference(&location(&placed)).expect("order");

    let staff = signed_in_as(&app, "staff@example.com", "staff").await;
    let note = "<img src=x onerror=alert(2)>";
    move_order(
        &app,
        &staff,
        &reference,
        &[("to", "processing"), ("note", note)],
    )
    .await;
    let admin = signed_in_as(&app, "admin@example.com", "admin").await;
    for (client, path) in [
        (&staff, format!("/admin/orders/{reference}")),
        (&admin, "/admin/audit".to_owned()),
        (&customer, format!("/orders/{reference}")),
    ] {
        let page = app.html_with(client, &path).await;
        assert!(
            !page.contains("<script>alert(1)") && !page.contains("<img src=x"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn every_staff_action_is_in_an_audit_log_the_database_will_not_change() {
    let (app, reference, _customer) = shop_with_an_order().await;
    let staff = signed_in_as(&app, "staff@example.com", "staff").await;
    move_order(&app, &staff, &reference, &[("to", "processing")]).await;

    let actions: Vec<(String, String)> =
        sqlx::query_as("SELECT action, actor_email FROM audit_log ORDER BY seq")
            .fetch_all(app.db.pool())
            .await
            .expect("entries");
    assert_eq!(
        actions,
        [
            (
                "backoffice.login".to_owned(),
                "staff@example.com".to_owned()
            ),
            ("order.status".to_owned(), "staff@example.com".to_owned()),
        ]
    );
    let after: String = sqlx::query_scalar("SELECT after_value FROM audit_log WHERE seq = 2")
        .fetch_one(app.db.pool())
        .await
        .expect("entry");
    assert!(after.contains("\"status\":\"processing\""), "{after}");

    for sql in [
        "UPDATE audit_log SET actor_email = 'someone@else.example'",
        "DELETE FROM audit_log",
    ] {
        assert!(
            sqlx::query(sql).execute(app.db.pool()).await.is_err(),
            "{sql}"
        );
    }
}

#[tokio::test]
async fn audit_verify_finds_an_entry_changed_behind_the_triggers() {
    let dir = tempfile::tempdir().expect("data folder");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data folder");
    let url = crate::support::test_database_url().await;
    let settings = securecart::config::Settings::for_tests(&data, url.as_deref());
    let db = securecart::db::Db::connect(&settings.database_url, 1)
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    let actor = securecart::backoffice::audit::Actor {
        user_id: 1,
        email: "admin@example.com".into(),
        ip: "127.0.0.1".into(),
    };
    for n in 0..3 {
        let entry = securecart::backoffice::audit::NewEntry {
            action: "product.stock",
            target: &format!("product {n}"),
            before: serde_json::json!({ "stock": 1 }),
            after: serde_json::json!({ "stock": 2 }),
        };
        securecart::backoffice::audit::record_alone(&db, &actor, &entry)
            .await
            .expect("record");
    }
    let verify = || {
        Command::new(env!("CARGO_BIN_EXE_securecart"))
            .args(["audit", "verify"])
            .env("SECURECART_DATA_DIR", &data)
            .env("SECURECART_DATABASE_URL", &settings.database_url)
            .output()
            .expect("running audit verify")
    };

    let intact = verify();
    assert!(intact.status.success());
    assert!(String::from_utf8_lossy(&intact.stdout).contains("intact: 3 entries"));

    let drop = match db.dialect() {
        securecart::db::Dialect::Sqlite => "DROP TRIGGER audit_log_no_update",
        securecart::db::Dialect::Postgres => "DROP TRIGGER audit_log_fixed ON audit_log",
    };
    sqlx::query(drop)
        .execute(db.pool())
        .await
        .expect("dropping the trigger");
    sqlx::query("UPDATE audit_log SET after_value = '{\"stock\":200}' WHERE seq = 2")
        .execute(db.pool())
        .await
        .expect("tampering");

    let broken = verify();
    assert!(!broken.status.success(), "tampering must fail the check");
    let said = String::from_utf8_lossy(&broken.stdout).into_owned();
    assert!(said.contains("broken at entry 2"), "{said}");
}

#[tokio::test]
async fn a_refund_wants_a_recent_password() {
    let (app, reference, _customer) = shop_with_an_order().await;
    let staff = signed_in_as(&app, "staff@example.com", "staff").await;
    app.execute(
        "UPDATE sessions SET created_at = created_at - 1200000 \
         WHERE user_id = (SELECT id FROM users WHERE email = 'staff@example.com')",
    )
    .await;

    let asked = move_order(&app, &staff, &reference, &[("to", "cancelled")]).await;
    assert!(
        location(&asked).starts_with("/admin/confirm?next="),
        "{}",
        location(&asked)
    );
    assert_eq!(status_of(&app, &reference).await, "paid");
    let processing = move_order(&app, &staff, &reference, &[("to", "processing")]).await;
    assert_eq!(
        processing.status(),
        303,
        "moves that move no money need no password"
    );
}

#[tokio::test]
async fn the_dashboard_shows_the_days_security_events_and_figures() {
    let (app, _reference, _customer) = shop_with_an_order().await;
    let hour = securecart::db::time::now_ms() / 3_600_000;
    for (hours_ago, kind, count) in [
        (0, "csrf_refused", 2),
        (5, "csrf_refused", 1),
        (1, "access_denied", 4),
        (30, "account_locked", 9),
    ] {
        sqlx::query("INSERT INTO security_event_counts (hour, kind, count) VALUES ($1, $2, $3)")
            .bind(hour - hours_ago)
            .bind(kind)
            .bind(count)
            .execute(app.db.pool())
            .await
            .expect("a count");
    }

    let staff = signed_in_as(&app, "staff@example.com", "staff").await;
    let dashboard = app.html_with(&staff, "/admin").await;
    let row = |label: &str, count: i64| {
        format!("<th scope=\"row\">{label}</th><td class=\"num\">{count}</td>")
    };
    assert!(dashboard.contains(&row(
        "Requests refused for a missing or wrong CSRF token",
        3
    )));
    assert!(dashboard.contains(&row("Back-office requests refused", 4)));
    assert!(!dashboard.contains("Accounts locked"), "older than a day");
    assert!(dashboard.contains("Orders today") && dashboard.contains("€25.00"));
}

#[tokio::test]
async fn items_are_refunded_line_by_line_until_nothing_is_left() {
    let app = TestApp::spawn().await;
    app.import(
        "MUG-1,Oak Mug,A sturdy mug,12.50,5,Kitchen\n\
         KNIFE-1,Chef Knife,Sharp,89.00,3,Kitchen",
    )
    .await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "2", &[]).await;
    app.add_to_cart(&customer, "chef-knife", "1", &[]).await;
    let placed = app.checkout(&customer, GOOD_CARD).await;
    let reference = order_reference(&location(&placed)).expect("an order");
    let staff = signed_in_as(&app, "staff@example.com", "staff").await;
    let line = |sku: &'static str| {
        let app = &app;
        async move {
            app.scalar(&format!("SELECT id FROM order_lines WHERE sku = '{sku}'"))
                .await
        }
    };
    let (mug, knife) = (line("MUG-1").await, line("KNIFE-1").await);
    let refund = |fields: Vec<(String, String)>| {
        let page = format!("/admin/orders/{reference}");
        let staff = &staff;
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            app.submit_with(staff, &page, &format!("{page}/refund"), &fields)
                .await
        }
    };
    let units = |line: i64, n: &str| (format!("units_{line}"), n.to_owned());

    let first = refund(vec![
        units(mug, "1"),
        units(knife, "0"),
        ("restock".into(), "on".into()),
    ])
    .await;
    assert_eq!(first.status(), 303);
    assert_eq!(
        status_of(&app, &reference).await,
        "paid",
        "a partial refund keeps the status"
    );
    assert_eq!(app.stock_of("MUG-1").await, 4, "the refunded mug is back");

    let too_many = refund(vec![units(mug, "2")]).await;
    assert_eq!(too_many.status(), 422);
    assert!(
        too_many
            .text()
            .await
            .expect("body")
            .contains("Only 1 of Oak Mug can still be refunded.")
    );
    let nothing = refund(vec![units(mug, "0")]).await;
    assert_eq!(nothing.status(), 422);

    let rest = refund(vec![units(mug, "1"), units(knife, "1")]).await;
    assert_eq!(rest.status(), 303);
    assert_eq!(
        status_of(&app, &reference).await,
        "refunded",
        "nothing is left"
    );
    assert_eq!(app.stock_of("MUG-1").await, 4, "no restock this time");
    assert_eq!(app.stock_of("KNIFE-1").await, 2);
    assert_eq!(
        app.scalar("SELECT CAST(SUM(amount_minor) AS BIGINT) FROM payments WHERE kind = 'refund'")
            .await,
        app.scalar("SELECT total_minor FROM orders").await,
        "refunds add up to the order's total"
    );
    let page = app
        .html_with(&customer, &format!("/orders/{reference}"))
        .await;
    assert!(page.contains("Refunded €12.50: 1 × Oak Mug"));
}

#[tokio::test]
async fn cancelling_after_a_partial_refund_pays_back_and_restocks_only_the_rest() {
    let (app, reference, _customer) = shop_with_an_order().await;
    let staff = signed_in_as(&app, "staff@example.com", "staff").await;
    let mug = app.scalar("SELECT id FROM order_lines").await;
    let page = format!("/admin/orders/{reference}");
    let units = format!("units_{mug}");
    app.submit_with(
        &staff,
        &page,
        &format!("{page}/refund"),
        &[(units.as_str(), "1"), ("restock", "on")],
    )
    .await;
    assert_eq!(app.stock_of("MUG-1").await, 4);

    let cancelled = move_order(&app, &staff, &reference, &[("to", "cancelled")]).await;
    assert_eq!(cancelled.status(), 303);
    assert_eq!(app.stock_of("MUG-1").await, 5, "one more back, not two");
    let refunds: Vec<i64> =
        sqlx::query_scalar("SELECT amount_minor FROM payments WHERE kind = 'refund' ORDER BY id")
            .fetch_all(app.db.pool())
            .await
            .expect("refunds");
    assert_eq!(refunds, [1250, 1250]);
}

#[tokio::test]
async fn every_back_office_route_and_method_answers_each_role_as_it_should() {
    let (app, reference, customer) = shop_with_an_order().await;
    let staff = signed_in_as(&app, "staff@example.com", "staff").await;
    let admin = signed_in_as(&app, "admin@example.com", "admin").await;
    let visitor = new_client();
    let product = app.scalar("SELECT id FROM products").await;
    let user = app
        .scalar("SELECT id FROM users WHERE email = 'ada@example.com'")
        .await;
    let order = format!("/admin/orders/{reference}");

    // (method, path, admins only)
    let routes = [
        ("GET", "/admin".to_owned(), false),
        ("GET", "/admin/orders".to_owned(), false),
        ("GET", order.clone(), false),
        ("POST", format!("{order}/status"), false),
        ("POST", format!("{order}/refund"), false),
        ("GET", "/admin/products".to_owned(), false),
        ("POST", "/admin/products".to_owned(), false),
        ("GET", "/admin/products/new".to_owned(), false),
        ("GET", format!("/admin/products/{product}"), false),
        ("POST", format!("/admin/products/{product}"), false),
        ("POST", format!("/admin/products/{product}/active"), false),
        ("POST", format!("/admin/products/{product}/stock"), false),
        ("POST", format!("/admin/products/{product}/image"), false),
        ("GET", "/admin/confirm".to_owned(), false),
        ("POST", "/admin/confirm".to_owned(), false),
        ("GET", "/admin/users".to_owned(), true),
        ("POST", "/admin/users".to_owned(), true),
        ("GET", format!("/admin/users/{user}"), true),
        ("POST", format!("/admin/users/{user}"), true),
        ("GET", "/admin/audit".to_owned(), true),
        ("DELETE", "/admin/orders".to_owned(), false),
        ("PUT", format!("/admin/products/{product}"), false),
    ];
    for (who, client) in [
        ("visitor", &visitor),
        ("customer", &customer),
        ("staff", &staff),
        ("admin", &admin),
    ] {
        // Each browser's own valid token, so CSRF is not what stops it.
        let token = crate::support::csrf_field(&app.html_with(client, "/account/login").await)
            .expect("a token");
        for (method, path, admins_only) in &routes {
            let request = match *method {
                "GET" => client.get(app.url(path)),
                "POST" => client.post(app.url(path)),
                "PUT" => client.put(app.url(path)),
                _ => client.delete(app.url(path)),
            };
            let status = request
                .header("x-csrf-token", &token)
                .form(&[("csrf_token", token.as_str())])
                .send()
                .await
                .expect("request")
                .status()
                .as_u16();
            let hidden = match who {
                "visitor" | "customer" => true,
                "staff" => *admins_only,
                _ => false,
            };
            if hidden {
                assert_eq!(status, 404, "{method} {path} as {who}");
            } else {
                assert_ne!(status, 404, "{method} {path} as {who}");
                assert!(status < 500, "{method} {path} as {who}: {status}");
                if *method == "GET" {
                    assert_eq!(status, 200, "{method} {path} as {who}");
                }
            }
        }
    }
}

#[tokio::test]
async fn the_order_list_filters_by_the_day_an_order_was_placed() {
    let app = TestApp::spawn().await;
    let user = app.customer("ada@example.com", PASSWORD).await;
    // 2026-11-01, 2026-11-15 23:59:59.999 and 2026-11-16 00:00 UTC.
    for (reference, at) in [
        ("NOVEMBER00001", 1_793_491_200_000_i64),
        ("NOVEMBER00015", 1_794_787_199_999),
        ("NOVEMBER00016", 1_794_787_200_000),
    ] {
        sqlx::query(
            "INSERT INTO orders (reference, user_id, email, status, currency, item_count, \
                    subtotal_minor, shipping_minor, total_minor, checkout_token_hash, ship_name, \
                    ship_line1, ship_line2, ship_city, ship_postal_code, ship_country, \
                    created_at, updated_at) \
             VALUES ($1, $2, 'ada@example.com', 'paid', 'EUR', 1, 100, 0, 100, $1, 'A', 'B', '', \
                    'C', '1000', 'NL', $3, $3)",
        )
        .bind(reference)
        .bind(user)
        .bind(at)
        .execute(app.db.pool())
        .await
        .expect("an order");
    }
    let staff = signed_in_as(&app, "staff@example.com", "staff").await;

    let range = app
        .html_with(&staff, "/admin/orders?from=2026-11-02&to=2026-11-15")
        .await;
    assert!(range.contains("NOVEMBER00015"));
    assert!(!range.contains("NOVEMBER00001") && !range.contains("NOVEMBER00016"));
    let from = app.html_with(&staff, "/admin/orders?from=2026-11-16").await;
    assert!(from.contains("NOVEMBER00016") && !from.contains("NOVEMBER00015"));

    let bad = app
        .html_with(&staff, "/admin/orders?from=2026-13-01&to=soon")
        .await;
    assert!(bad.contains("Dates are written as YYYY-MM-DD"));
    assert!(
        bad.contains("NOVEMBER00001") && bad.contains("NOVEMBER00016"),
        "ignored, not a 500"
    );
}
