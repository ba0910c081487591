//! The back office over the API: staff and administrators only, with the HTML back
//! office's rules and audit entries.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::api::{Answer, ApiCaller, PASSWORD, answer};
use crate::support::shop::GOOD_CARD;

/// A shop with a customer's paid order of 2 mugs at 12.50 (stock 5 → 3), a member of
/// staff and an administrator, each with API tokens.
struct Shop {
    app: TestApp,
    customer: ApiCaller,
    staff: ApiCaller,
    admin: ApiCaller,
    reference: String,
    product: i64,
}

async fn spawn() -> TestApp {
    TestApp::builder()
        .settings(|s| {
            s.api.reads_per_minute = 10_000;
            s.api.writes_per_minute = 10_000;
        })
        .spawn()
        .await
}

async fn shop_with_an_order() -> Shop {
    let app = spawn().await;
    app.import("MUG-1,Oak Mug,A sturdy mug,12.50,5,Kitchen")
        .await;
    let product = app.scalar("SELECT id FROM products").await;
    let customer = app.api_customer("ada@example.com").await;
    let reference = place_order(&app, &customer, product, 2).await;
    let staff = app.api_account("staff@example.com", "staff").await;
    let admin = app.api_account("admin@example.com", "admin").await;
    Shop {
        app,
        customer,
        staff,
        admin,
        reference,
        product,
    }
}

/// Buys `quantity` of `product` through the API and returns the order's reference.
async fn place_order(app: &TestApp, caller: &ApiCaller, product: i64, quantity: i64) -> String {
    let item = json!({ "product_id": product, "quantity": quantity });
    let added = app
        .api(
            Method::POST,
            "/api/v1/cart/items",
            Some(&caller.access),
            Some(&item),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    let body = json!({
        "shipping": {
            "name": "Ada Lovelace", "line1": "Keizersgracht 1", "city": "Amsterdam",
            "postal_code": "1015 CJ", "country": "NL"
        },
        "payment": { "card_number": GOOD_CARD, "expiry": "12/30", "cvc": "123" }
    });
    let response = app
        .client
        .post(app.url("/api/v1/checkout"))
        .bearer_auth(&caller.access)
        .header("idempotency-key", format!("order-{product}-{quantity}"))
        .json(&body)
        .send()
        .await
        .expect("checkout");
    let placed = answer(response).await;
    assert_eq!(placed.status, 201, "{:?}", placed.body);
    placed.body["reference"]
        .as_str()
        .expect("reference")
        .to_owned()
}

async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: &Value) -> Answer {
    app.api(method, path, Some(token), Some(body)).await
}

/// The audit log's actions and actors, oldest first, without the sign-ins.
async fn audit_entries(app: &TestApp) -> Vec<(String, String, String, String)> {
    sqlx::query_as(
        "SELECT action, actor_email, before_value, after_value FROM audit_log \
         WHERE action <> 'api.login' ORDER BY seq",
    )
    .fetch_all(app.db.pool())
    .await
    .expect("audit entries")
}

/// Whether a message holding `text` reaches the outbox within a few seconds.
async fn mail_arrives(app: &TestApp, text: &str) -> bool {
    for _ in 0..100 {
        if app.outbox(0).await.iter().any(|m| m.contains(text)) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    false
}

async fn refunded_minor(app: &TestApp) -> i64 {
    app.scalar(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM payments \
         WHERE kind = 'refund'",
    )
    .await
}

#[tokio::test]
async fn every_admin_route_answers_each_role_as_it_should() {
    let shop = shop_with_an_order().await;
    let app = &shop.app;
    let other = app.api_customer("bob@example.com").await;
    let (product, user, order) = (
        format!("/api/v1/admin/products/{}", shop.product),
        format!("/api/v1/admin/users/{}", other.user_id),
        format!("/api/v1/admin/orders/{}", shop.reference),
    );
    let new_product = json!({ "sku": "NEW-1", "name": "New", "price": "1.00" });
    let new_user = json!({ "email": "new@example.com", "role": "customer" });
    // (method, path, body, admins only)
    let routes: Vec<(Method, String, Option<Value>, bool)> = vec![
        (Method::GET, "/api/v1/admin/products".into(), None, false),
        (
            Method::POST,
            "/api/v1/admin/products".into(),
            Some(new_product),
            false,
        ),
        (Method::GET, product.clone(), None, false),
        (
            Method::PATCH,
            product.clone(),
            Some(json!({ "name": "Oak Mug" })),
            false,
        ),
        (
            Method::PUT,
            format!("{product}/active"),
            Some(json!({ "active": true })),
            false,
        ),
        (
            Method::POST,
            format!("{product}/stock"),
            Some(json!({ "change": 1, "reason": "Found one" })),
            false,
        ),
        (Method::GET, "/api/v1/admin/orders".into(), None, false),
        (Method::GET, order.clone(), None, false),
        (
            Method::POST,
            format!("{order}/status"),
            Some(json!({ "status": "processing" })),
            false,
        ),
        (
            Method::POST,
            format!("{order}/refunds"),
            Some(json!({ "items": [{ "line_id": 0, "quantity": 1 }] })),
            false,
        ),
        (Method::GET, "/api/v1/admin/users".into(), None, true),
        (
            Method::POST,
            "/api/v1/admin/users".into(),
            Some(new_user),
            true,
        ),
        (Method::GET, user.clone(), None, true),
        (Method::PATCH, user.clone(), Some(json!({})), true),
        (Method::POST, format!("{user}/unlock"), None, true),
        (Method::DELETE, format!("{user}/sessions"), None, true),
    ];
    for (method, path, body, admins_only) in &routes {
        let anonymous = app.api(method.clone(), path, None, body.as_ref()).await;
        anonymous.assert_problem(401, "unauthorized");
        assert!(anonymous.headers.contains_key("www-authenticate"), "{path}");
        let customer = app
            .api(
                method.clone(),
                path,
                Some(&shop.customer.access),
                body.as_ref(),
            )
            .await;
        customer.assert_problem(403, "forbidden");

        for (who, caller) in [("staff", &shop.staff), ("admin", &shop.admin)] {
            let got = app
                .api(method.clone(), path, Some(&caller.access), body.as_ref())
                .await;
            if who == "staff" && *admins_only {
                got.assert_problem(403, "forbidden");
            } else {
                assert!(
                    got.status < 500 && got.status != 401 && got.status != 403,
                    "{method} {path} as {who}: {} {:?}",
                    got.status,
                    got.body
                );
            }
        }
    }
}

#[tokio::test]
async fn staff_create_edit_withdraw_and_restock_products_with_audit_entries() {
    let shop = shop_with_an_order().await;
    let (app, token) = (&shop.app, shop.staff.access.as_str());
    let new = json!({
        "sku": "TEA-1", "name": "Green Tea", "description": "Loose leaves",
        "price": "12.25", "stock": 5, "category": "Pantry"
    });
    let created = send(app, Method::POST, "/api/v1/admin/products", token, &new).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_i64().expect("id");
    assert_eq!(
        created.headers["location"],
        format!("/api/v1/admin/products/{id}").as_str()
    );
    assert_eq!(created.body["price"], "12.25");
    assert_eq!(created.body["category"], "Pantry");
    assert_eq!(created.body["active"], true);
    let path = format!("/api/v1/admin/products/{id}");

    let changed = send(
        app,
        Method::PATCH,
        &path,
        token,
        &json!({ "price": "9.5", "name": "Sencha" }),
    )
    .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body["price"], "9.50");
    assert_eq!(changed.body["description"], "Loose leaves", "kept");

    let withdrawn = send(
        app,
        Method::PUT,
        &format!("{path}/active"),
        token,
        &json!({ "active": false }),
    )
    .await;
    assert_eq!(withdrawn.body["active"], false);
    let public = app.api_get(&format!("/api/v1/products/{id}"), None).await;
    assert_eq!(public.status, 404, "withdrawn from the shop");
    let inactive = app
        .api_get("/api/v1/admin/products?show=inactive&q=senc", Some(token))
        .await;
    assert_eq!(inactive.body["total"], 1, "{:?}", inactive.body);
    assert_eq!(inactive.body["items"][0]["id"], id);

    let stock = json!({ "change": -3, "reason": "Broken in the shop" });
    let adjusted = send(app, Method::POST, &format!("{path}/stock"), token, &stock).await;
    assert_eq!(adjusted.status, 200, "{:?}", adjusted.body);
    assert_eq!(adjusted.body["stock"], 2);
    let detail = app.api_get(&path, Some(token)).await;
    assert_eq!(detail.body["stock_adjustments"][0]["change"], -3);
    assert_eq!(
        detail.body["stock_adjustments"][0]["reason"],
        "Broken in the shop"
    );

    let entries = audit_entries(app).await;
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|(action, actor, _, _)| (action.as_str(), actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("product.create", "staff@example.com"),
            ("product.update", "staff@example.com"),
            ("product.deactivate", "staff@example.com"),
            ("product.stock", "staff@example.com"),
        ]
    );
    let (_, _, before, after) = &entries[1];
    assert!(before.contains("\"price_minor\":1225"), "{before}");
    assert!(after.contains("\"price_minor\":950"), "{after}");
    let (_, _, before, after) = &entries[3];
    assert!(before.contains("\"stock\":5"), "{before}");
    assert!(
        after.contains("\"stock\":2") && after.contains("Broken"),
        "{after}"
    );
    let ip: String = sqlx::query_scalar("SELECT ip FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .expect("ip");
    assert_eq!(ip, "127.0.0.1");
}

#[tokio::test]
async fn bad_product_input_is_a_4xx_naming_the_field_and_changes_nothing() {
    let shop = shop_with_an_order().await;
    let (app, token) = (&shop.app, shop.staff.access.as_str());
    let path = format!("/api/v1/admin/products/{}", shop.product);
    let audited = audit_entries(app).await.len();

    // (method, path, body, status, problem type, field)
    let cases: Vec<(Method, String, Value, u16, &str, &str)> = vec![
        (
            Method::PATCH,
            path.clone(),
            json!({ "id": 99 }),
            422,
            "validation",
            "id",
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({ "stock": 1000 }),
            422,
            "validation",
            "stock",
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({ "active": false }),
            422,
            "validation",
            "active",
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({ "price": "12,50" }),
            422,
            "validation",
            "price",
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({ "price": 12.5 }),
            422,
            "validation",
            "price",
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({ "price": "0.00" }),
            422,
            "validation",
            "price",
        ),
        (
            Method::PATCH,
            path.clone(),
            json!({ "name": "two\nlines" }),
            422,
            "validation",
            "name",
        ),
        (
            Method::POST,
            "/api/v1/admin/products".into(),
            json!({ "sku": "MUG-1", "name": "Copy", "price": "1.00" }),
            409,
            "sku-taken",
            "",
        ),
        (
            Method::POST,
            "/api/v1/admin/products".into(),
            json!({ "sku": "A B", "name": "Copy", "price": "1.00", "stock": -1 }),
            422,
            "validation",
            "sku",
        ),
        (
            Method::POST,
            "/api/v1/admin/products".into(),
            json!({ "sku": "X", "name": "X", "price": "1.00", "stock": 1_000_001 }),
            422,
            "validation",
            "stock",
        ),
        (
            Method::POST,
            format!("{path}/stock"),
            json!({ "change": 0, "reason": "none" }),
            422,
            "validation",
            "change",
        ),
        (
            Method::POST,
            format!("{path}/stock"),
            json!({ "change": i64::MAX, "reason": "overflow" }),
            422,
            "validation",
            "change",
        ),
        (
            Method::POST,
            format!("{path}/stock"),
            json!({ "change": 1, "reason": " " }),
            422,
            "validation",
            "reason",
        ),
        (
            Method::POST,
            format!("{path}/stock"),
            json!({ "change": -4, "reason": "More than there is" }),
            409,
            "stock-out-of-range",
            "",
        ),
    ];
    for (method, path, body, status, kind, field) in cases {
        let got = send(app, method.clone(), &path, token, &body).await;
        got.assert_problem(status, kind);
        if !field.is_empty() {
            assert!(
                got.fields().iter().any(|f| f == field),
                "{method} {path} {body}: {:?}",
                got.body
            );
        }
    }
    for missing in ["/api/v1/admin/products/999999", "/api/v1/admin/products/-1"] {
        app.api_get(missing, Some(token))
            .await
            .assert_problem(404, "not-found");
    }
    app.api_get("/api/v1/admin/products/abc", Some(token))
        .await
        .assert_problem(400, "malformed-request");
    let query = app
        .api_get(
            &format!("/api/v1/admin/products?q={}", "x".repeat(101)),
            Some(token),
        )
        .await;
    query.assert_problem(422, "validation");

    assert_eq!(audit_entries(app).await.len(), audited, "nothing written");
    assert_eq!(app.stock_of("MUG-1").await, 3);
    assert_eq!(
        app.scalar("SELECT price_minor FROM products WHERE sku = 'MUG-1'")
            .await,
        1250
    );
}

#[tokio::test]
async fn staff_list_and_read_orders_with_the_back_office_filters() {
    let shop = shop_with_an_order().await;
    let (app, token) = (&shop.app, shop.staff.access.as_str());
    let today = time::OffsetDateTime::now_utc().date();
    let list = |query: String| async move {
        let got = app
            .api_get(&format!("/api/v1/admin/orders{query}"), Some(token))
            .await;
        assert_eq!(got.status, 200, "{query}: {:?}", got.body);
        got.body["total"].as_u64().expect("total")
    };
    assert_eq!(list(String::new()).await, 1);
    assert_eq!(list("?status=paid&q=ADA@".into()).await, 1);
    assert_eq!(list("?status=shipped".into()).await, 0);
    assert_eq!(list(format!("?from={today}&to={today}")).await, 1);
    assert_eq!(
        list(format!("?to={}", today.previous_day().expect("day"))).await,
        0
    );

    for bad in [
        "?from=2026-13-01",
        "?to=soon",
        "?status=lost",
        "?sort=total",
    ] {
        app.api_get(&format!("/api/v1/admin/orders{bad}"), Some(token))
            .await
            .assert_problem(422, "validation");
    }

    let order = app
        .api_get(
            &format!("/api/v1/admin/orders/{}", shop.reference),
            Some(token),
        )
        .await;
    assert_eq!(order.status, 200, "{:?}", order.body);
    assert_eq!(order.body["email"], "ada@example.com");
    assert_eq!(order.body["total"], order.body["payments"][0]["amount"]);
    assert_eq!(order.body["refundable"][0]["remaining"], 2);
    assert_eq!(order.body["refundable"][0]["unit_price"], "12.50");
    assert_eq!(
        order.body["next_statuses"],
        json!(["processing", "cancelled", "refunded"])
    );
    for missing in ["AAAAAAAAAAAAA", "not-a-reference"] {
        app.api_get(&format!("/api/v1/admin/orders/{missing}"), Some(token))
            .await
            .assert_problem(404, "not-found");
    }
}

#[tokio::test]
async fn status_moves_follow_the_pipeline_and_refusals_have_stable_types() {
    let shop = shop_with_an_order().await;
    let (app, token) = (&shop.app, shop.staff.access.as_str());
    let path = format!("/api/v1/admin/orders/{}/status", shop.reference);
    let status = |s: &str| json!({ "status": s });

    let skipped = send(app, Method::POST, &path, token, &status("delivered")).await;
    skipped.assert_problem(409, "invalid-transition");
    let unknown = send(app, Method::POST, &path, token, &status("teleported")).await;
    unknown.assert_problem(422, "validation");
    assert_eq!(unknown.fields(), ["status"]);
    let long_note = json!({ "status": "processing", "note": "n".repeat(501) });
    let refused = send(app, Method::POST, &path, token, &long_note).await;
    refused.assert_problem(422, "validation");
    assert_eq!(refused.fields(), ["note"]);
    let smuggled = json!({ "status": "processing", "refunded_minor": 0 });
    send(app, Method::POST, &path, token, &smuggled)
        .await
        .assert_problem(422, "validation");

    let moved = send(app, Method::POST, &path, token, &status("processing")).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert_eq!(moved.body["status"], "processing");
    let shipped = json!({ "status": "shipped", "note": "On its way", "tracking": "TRK-123" });
    let moved = send(app, Method::POST, &path, token, &shipped).await;
    assert_eq!(moved.body["status"], "shipped");
    let history = moved.body["history"].as_array().expect("history");
    let last_note = history.last().expect("an event")["note"]
        .as_str()
        .expect("note");
    assert!(
        last_note.contains("Tracking number: TRK-123"),
        "{last_note}"
    );

    let customer = app
        .api_get(
            &format!("/api/v1/orders/{}", shop.reference),
            Some(&shop.customer.access),
        )
        .await;
    assert_eq!(customer.body["status"], "shipped");
    let actions: Vec<String> = audit_entries(app)
        .await
        .into_iter()
        .map(|(action, _, _, _)| action)
        .collect();
    assert_eq!(actions, ["order.status", "order.status"]);
}

#[tokio::test]
async fn a_refund_pays_back_no_more_than_was_paid_for_the_units() {
    let shop = shop_with_an_order().await;
    let (app, token) = (&shop.app, shop.staff.access.as_str());
    let order = app
        .api_get(
            &format!("/api/v1/admin/orders/{}", shop.reference),
            Some(token),
        )
        .await;
    let line = order.body["refundable"][0]["line_id"]
        .as_i64()
        .expect("line");
    let path = format!("/api/v1/admin/orders/{}/refunds", shop.reference);

    // A price or amount from the caller is not a field of a refund.
    let priced: [Value; 3] = [
        json!({ "items": [{ "line_id": line, "quantity": 1 }], "amount": "999.00" }),
        json!({ "items": [{ "line_id": line, "quantity": 1, "unit_price": "999.00" }] }),
        json!({ "items": [{ "line_id": line, "quantity": 1 }], "refunded_minor": 99_900 }),
    ];
    for body in &priced {
        send(app, Method::POST, &path, token, body)
            .await
            .assert_problem(422, "validation");
    }
    // Nor can units beyond those bought, asked at once or line by line.
    let too_many: [Value; 4] = [
        json!({ "items": [{ "line_id": line, "quantity": 3 }] }),
        json!({ "items": [{ "line_id": line, "quantity": 2 }, { "line_id": line, "quantity": 2 }] }),
        json!({ "items": [{ "line_id": line + 1000, "quantity": 1 }] }),
        json!({ "items": [{ "line_id": line, "quantity": 1_u64 << 62 }] }),
    ];
    for body in &too_many {
        send(app, Method::POST, &path, token, body)
            .await
            .assert_problem(422, "invalid-refund");
    }
    let zero = json!({ "items": [{ "line_id": line, "quantity": 0 }] });
    let refused = send(app, Method::POST, &path, token, &zero).await;
    refused.assert_problem(422, "validation");
    assert_eq!(refused.fields(), ["items[0].quantity"]);
    send(app, Method::POST, &path, token, &json!({ "items": [] }))
        .await
        .assert_problem(422, "validation");
    assert_eq!(refunded_minor(app).await, 0, "nothing paid back yet");

    let one = json!({ "items": [{ "line_id": line, "quantity": 1 }], "restock": true });
    let refunded = send(app, Method::POST, &path, token, &one).await;
    assert_eq!(refunded.status, 201, "{:?}", refunded.body);
    assert_eq!(refunded.body["status"], "paid", "one unit is left");
    assert_eq!(refunded.body["refundable"][0]["remaining"], 1);
    assert_eq!(
        refunded_minor(app).await,
        1250,
        "the price paid for one unit"
    );
    assert_eq!(app.stock_of("MUG-1").await, 4, "restocked");

    let rest = json!({ "items": [{ "line_id": line, "quantity": 1 }] });
    let refunded = send(app, Method::POST, &path, token, &rest).await;
    assert_eq!(refunded.body["status"], "refunded");
    assert_eq!(
        refunded_minor(app).await,
        2500,
        "all that was paid, no more"
    );
    send(app, Method::POST, &path, token, &rest)
        .await
        .assert_problem(409, "invalid-transition");
    let paid = app.scalar("SELECT total_minor FROM orders").await;
    assert_eq!(refunded_minor(app).await, paid);

    let actions: Vec<String> = audit_entries(app)
        .await
        .into_iter()
        .map(|(action, _, _, _)| action)
        .collect();
    assert_eq!(actions, ["order.refund", "order.refund"]);
}

#[tokio::test]
async fn admins_create_accounts_and_unknown_fields_are_refused() {
    let shop = shop_with_an_order().await;
    let (app, token) = (&shop.app, shop.admin.access.as_str());
    let users = "/api/v1/admin/users";

    let smuggled = [
        json!({ "email": "eve@example.com", "role": "staff", "password": "hunter22" }),
        json!({ "email": "eve@example.com", "role": "root" }),
        json!({ "email": "eve@example.com", "role": "admin", "is_active": true }),
        json!({ "email": "not an email", "role": "staff" }),
    ];
    for body in &smuggled {
        send(app, Method::POST, users, token, body)
            .await
            .assert_problem(422, "validation");
    }
    let customer = format!("{users}/{}", shop.customer.user_id);
    for body in [
        json!({ "id": 1 }),
        json!({ "role": "admin", "security_stamp": "x" }),
        json!({ "is_admin": true }),
    ] {
        send(app, Method::PATCH, &customer, token, &body)
            .await
            .assert_problem(422, "validation");
    }
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(shop.customer.user_id)
        .fetch_one(app.db.pool())
        .await
        .expect("role");
    assert_eq!(role, "customer");

    let new = json!({ "email": "Eve@Example.com", "role": "staff" });
    let created = send(app, Method::POST, users, token, &new).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["email"], "Eve@example.com");
    assert_eq!(created.body["role"], "staff");
    assert_eq!(created.body["email_verified"], false);
    assert!(
        mail_arrives(app, "/account/password-reset/confirm?token=").await,
        "a link to choose a password"
    );
    let again = json!({ "email": "eve@example.com", "role": "customer" });
    send(app, Method::POST, users, token, &again)
        .await
        .assert_problem(409, "email-taken");
    let taken = json!({ "email": "eve@example.com" });
    send(app, Method::PATCH, &customer, token, &taken)
        .await
        .assert_problem(409, "email-taken");

    let found = app
        .api_get(&format!("{users}?q=eve&role=staff"), Some(token))
        .await;
    assert_eq!(found.body["total"], 1, "{:?}", found.body);
    let actions: Vec<String> = audit_entries(app)
        .await
        .into_iter()
        .map(|(action, actor, _, _)| format!("{action} by {actor}"))
        .collect();
    assert_eq!(actions, ["user.create by admin@example.com"]);
}

#[tokio::test]
async fn a_role_change_holds_from_the_users_next_request() {
    let shop = shop_with_an_order().await;
    let app = &shop.app;
    let staff_user = format!("/api/v1/admin/users/{}", shop.staff.user_id);
    app.api_get("/api/v1/admin/users", Some(&shop.staff.access))
        .await
        .assert_problem(403, "forbidden");

    let promote = json!({ "role": "admin" });
    let promoted = send(
        app,
        Method::PATCH,
        &staff_user,
        &shop.admin.access,
        &promote,
    )
    .await;
    assert_eq!(promoted.body["role"], "admin", "{:?}", promoted.body);
    let now_admin = app
        .api_get("/api/v1/admin/users", Some(&shop.staff.access))
        .await;
    assert_eq!(now_admin.status, 200, "the same token, the new role");

    let demote = json!({ "role": "customer" });
    send(app, Method::PATCH, &staff_user, &shop.admin.access, &demote).await;
    app.api_get("/api/v1/admin/products", Some(&shop.staff.access))
        .await
        .assert_problem(403, "forbidden");

    let entries = audit_entries(app).await;
    let roles: Vec<(&str, &str)> = entries
        .iter()
        .map(|(action, _, _, after)| (action.as_str(), after.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("user.role", r#"{"role":"admin"}"#),
            ("user.role", r#"{"role":"customer"}"#)
        ]
    );

    // An admin cannot take away their own role or access; an unchanged value is no change.
    let me = format!("/api/v1/admin/users/{}", shop.admin.user_id);
    for body in [json!({ "role": "staff" }), json!({ "active": false })] {
        send(app, Method::PATCH, &me, &shop.admin.access, &body)
            .await
            .assert_problem(422, "own-account");
    }
    let same = json!({ "role": "admin", "active": true, "email": "admin@example.com" });
    let unchanged = send(app, Method::PATCH, &me, &shop.admin.access, &same).await;
    assert_eq!(unchanged.status, 200, "{:?}", unchanged.body);
    assert_eq!(unchanged.body["email_verified"], true, "still confirmed");
    assert_eq!(audit_entries(app).await.len(), 2, "nothing more recorded");
}

#[tokio::test]
async fn ending_sessions_or_deactivating_kills_a_users_tokens_at_once() {
    let shop = shop_with_an_order().await;
    let app = &shop.app;
    let customer = &shop.customer;
    let user = format!("/api/v1/admin/users/{}", customer.user_id);
    let stamp = || async {
        sqlx::query_scalar::<_, String>("SELECT security_stamp FROM users WHERE id = $1")
            .bind(customer.user_id)
            .fetch_one(app.db.pool())
            .await
            .expect("stamp")
    };
    assert_eq!(
        app.api_get("/api/v1/orders", Some(&customer.access))
            .await
            .status,
        200
    );

    let before = stamp().await;
    let ended = app
        .api(
            Method::DELETE,
            &format!("{user}/sessions"),
            Some(&shop.admin.access),
            None,
        )
        .await;
    assert_eq!(ended.status, 204, "{:?}", ended.body);
    assert_ne!(stamp().await, before, "the security stamp rotated");
    app.api_get("/api/v1/orders", Some(&customer.access))
        .await
        .assert_problem(401, "unauthorized");
    let refresh = json!({ "refresh_token": customer.refresh });
    app.api(Method::POST, "/api/v1/auth/refresh", None, Some(&refresh))
        .await
        .assert_problem(401, "unauthorized");

    let signed_in = app.token_for(&customer.email, PASSWORD).await;
    assert_eq!(signed_in.status, 200, "a new sign-in works");
    let access = signed_in.body["access_token"].as_str().expect("token");
    assert_eq!(
        app.api_get("/api/v1/orders", Some(access)).await.status,
        200
    );

    let off = json!({ "active": false });
    let deactivated = send(app, Method::PATCH, &user, &shop.admin.access, &off).await;
    assert_eq!(deactivated.body["active"], false, "{:?}", deactivated.body);
    app.api_get("/api/v1/orders", Some(access))
        .await
        .assert_problem(401, "unauthorized");
    app.token_for(&customer.email, PASSWORD)
        .await
        .assert_problem(401, "unauthorized");

    let actions: Vec<String> = audit_entries(app)
        .await
        .into_iter()
        .map(|(action, _, _, _)| action)
        .collect();
    assert_eq!(actions, ["user.end_sessions", "user.deactivate"]);
}

#[tokio::test]
async fn the_document_lists_every_admin_operation_as_secured_with_its_problems() {
    let app = spawn().await;
    let document = app.api_get("/api/openapi.json", None).await.body;
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths
        .iter()
        .filter(|(p, _)| p.starts_with("/api/v1/admin/"))
    {
        for (method, operation) in item.as_object().expect("operations") {
            operations += 1;
            let what = format!("{method} {path}");
            assert_eq!(operation["tags"], json!(["admin"]), "{what}");
            assert_eq!(operation["security"], json!([{ "bearer": [] }]), "{what}");
            for status in ["401", "403", "422"] {
                let problem =
                    &operation["responses"][status]["content"]["application/problem+json"];
                assert!(problem.is_object(), "{what} {status}");
            }
        }
    }
    assert_eq!(operations, 16);
}

/// Tokens for `caller` minted by a refresh of a sign-in whose password was typed
/// `minutes_ago`: the refresh keeps that time.
async fn refreshed_after(app: &TestApp, caller: &ApiCaller, minutes_ago: i64) -> String {
    let at = securecart::db::time::now_ms() - minutes_ago * 60_000;
    app.execute(&format!(
        "UPDATE api_refresh_tokens SET authenticated_at = {at} WHERE user_id = {}",
        caller.user_id
    ))
    .await;
    let body = json!({ "refresh_token": caller.refresh });
    let answer = app
        .api(Method::POST, "/api/v1/auth/refresh", None, Some(&body))
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

#[tokio::test]
async fn moving_money_or_roles_needs_a_recently_typed_password_refresh_or_not() {
    let shop = shop_with_an_order().await;
    let app = &shop.app;
    let stale_staff = refreshed_after(app, &shop.staff, 20).await;
    let stale_admin = refreshed_after(app, &shop.admin, 20).await;

    // Reading and everyday moves are fine with an old sign-in.
    let order_path = format!("/api/v1/admin/orders/{}", shop.reference);
    assert_eq!(
        app.api_get(&order_path, Some(&stale_staff)).await.status,
        200
    );
    let line = app.api_get(&order_path, Some(&stale_staff)).await.body["refundable"][0]["line_id"]
        .as_i64()
        .expect("line");

    // Refunds, cancellations and role changes are not.
    let refund = json!({ "items": [{ "line_id": line, "quantity": 1 }] });
    let refunds = format!("{order_path}/refunds");
    send(app, Method::POST, &refunds, &stale_staff, &refund)
        .await
        .assert_problem(403, "reauthentication-required");
    let cancel = json!({ "status": "cancelled", "note": "customer asked" });
    send(
        app,
        Method::POST,
        &format!("{order_path}/status"),
        &stale_staff,
        &cancel,
    )
    .await
    .assert_problem(403, "reauthentication-required");
    let user = format!("/api/v1/admin/users/{}", shop.customer.user_id);
    send(
        app,
        Method::PATCH,
        &user,
        &stale_admin,
        &json!({ "role": "staff" }),
    )
    .await
    .assert_problem(403, "reauthentication-required");
    let refunded: i64 = app.scalar("SELECT COUNT(*) FROM refund_lines").await;
    let role: i64 = app
        .scalar("SELECT COUNT(*) FROM users WHERE role = 'staff'")
        .await;
    assert_eq!((refunded, role), (0, 1), "nothing changed");

    // Signing in again with the password allows it.
    let again = app
        .token_for(&shop.staff.email, crate::support::api::PASSWORD)
        .await;
    let fresh_staff = again.body["access_token"].as_str().expect("token");
    let done = send(app, Method::POST, &refunds, fresh_staff, &refund).await;
    assert_eq!(done.status, 201, "{:?}", done.body);
}

#[tokio::test]
async fn products_created_at_once_with_one_sku_make_one_product_and_no_500() {
    let app = std::sync::Arc::new(spawn().await);
    let staff = app.api_account("staff@example.com", "staff").await;
    let creates = (0..6).map(|i| {
        let app = app.clone();
        let token = staff.access.clone();
        tokio::spawn(async move {
            let body = json!({ "sku": "RACE-1", "name": format!("Racer {i}"), "price": "5.00" });
            send(&app, Method::POST, "/api/v1/admin/products", &token, &body)
                .await
                .status
        })
    });
    let mut statuses: Vec<u16> = futures_util::future::join_all(creates)
        .await
        .into_iter()
        .map(|s| s.expect("task"))
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
    let products: i64 = app.scalar("SELECT COUNT(*) FROM products").await;
    assert_eq!(products, 1);
}
