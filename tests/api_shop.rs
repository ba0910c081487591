//! The shop over the JSON API: the catalogue, the cart, checkout with an
//! Idempotency-Key, and orders, with the same rules as the HTML pages.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::api::ApiCaller;

const PRODUCTS: &str = "MUG-1,Oak Mug,A sturdy mug,12.50,5,Kitchen\n\
                        KNIFE-1,Chef Knife,Sharp,89.00,3,Kitchen\n\
                        TOTE-1,Canvas Tote,Roomy,24.00,0,Travel\n\
                        GONE-1,Old Lamp,Withdrawn,30.00,9,Home";

async fn shop() -> TestApp {
    let app = TestApp::spawn().await;
    app.import(PRODUCTS).await;
    app.execute("UPDATE products SET active = 0 WHERE sku = 'GONE-1'")
        .await;
    app
}

async fn product_id(app: &TestApp, sku: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM products WHERE sku = '{sku}'"))
        .await
}

async fn add(app: &TestApp, caller: &ApiCaller, product_id: i64, quantity: i64) -> Value {
    let answer = app
        .api(
            Method::POST,
            "/api/v1/cart/items",
            Some(&caller.access),
            Some(&json!({ "product_id": product_id, "quantity": quantity })),
        )
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    answer.body
}

fn order_body(card: &str) -> Value {
    json!({
        "shipping": {
            "name": "Ada Lovelace",
            "line1": "Keizersgracht 1",
            "city": "Amsterdam",
            "postal_code": "1015 CJ",
            "country": "NL"
        },
        "payment": { "card_number": card, "expiry": "12/39", "cvc": "123" }
    })
}

async fn check_out(
    app: &TestApp,
    caller: &ApiCaller,
    key: &str,
    body: &Value,
) -> crate::support::api::Answer {
    let response = app
        .client
        .post(app.url("/api/v1/checkout"))
        .bearer_auth(&caller.access)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .expect("checkout");
    crate::support::api::answer(response).await
}

#[tokio::test]
async fn the_catalogue_lists_filters_sorts_and_pages_products_on_sale() {
    let app = shop().await;
    let all = app.api_get("/api/v1/products?sort=price-asc", None).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["total"], 3, "the withdrawn lamp is not listed");
    let items = all.body["items"].as_array().expect("items");
    let prices: Vec<&str> = items.iter().filter_map(|p| p["price"].as_str()).collect();
    assert_eq!(prices, ["12.50", "24.00", "89.00"]);
    let mug = &items[0];
    assert_eq!(mug["sku"], "MUG-1");
    assert_eq!(mug["currency"], "EUR");
    assert_eq!(mug["stock"], 5);
    assert_eq!(mug["category"], "kitchen");
    assert_eq!(mug["image_url"], "/media/art/oak-mug.svg");

    let page = app
        .api_get("/api/v1/products?sort=name&per_page=2&page=2", None)
        .await;
    assert_eq!(page.body["page"], 2);
    assert_eq!(page.body["per_page"], 2);
    assert_eq!(page.body["items"][0]["sku"], "MUG-1", "Canvas, Chef | Oak");

    let found = app.api_get("/api/v1/products?q=KNIFE", None).await;
    assert_eq!(found.body["total"], 1);
    let kitchen = app.api_get("/api/v1/products?category=kitchen", None).await;
    assert_eq!(kitchen.body["total"], 2);
    // Search text is data, never SQL.
    let injected = app
        .api_get("/api/v1/products?q=%27%20OR%201%3D1%20--", None)
        .await;
    assert_eq!(injected.status, 200);
    assert_eq!(injected.body["total"], 0);

    app.api_get("/api/v1/products?sort=cheapest", None)
        .await
        .assert_problem(422, "validation");
    app.api_get("/api/v1/products?page=0", None)
        .await
        .assert_problem(422, "validation");

    let id = product_id(&app, "KNIFE-1").await;
    let knife = app.api_get(&format!("/api/v1/products/{id}"), None).await;
    assert_eq!(knife.body["name"], "Chef Knife");
    let gone = product_id(&app, "GONE-1").await;
    app.api_get(&format!("/api/v1/products/{gone}"), None)
        .await
        .assert_problem(404, "not-found");

    let categories = app.api_get("/api/v1/categories", None).await;
    let names: Vec<&str> = categories.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Kitchen", "Travel"],
        "Home holds only a withdrawn product"
    );
}

#[tokio::test]
async fn the_cart_follows_the_shops_rules() {
    let app = shop().await;
    let ada = app.api_customer("ada@example.com").await;
    let mug = product_id(&app, "MUG-1").await;
    let knife = product_id(&app, "KNIFE-1").await;

    let as_float = app
        .api(
            Method::POST,
            "/api/v1/cart/items",
            Some(&ada.access),
            Some(&json!({ "product_id": mug as f64, "quantity": 1.0 })),
        )
        .await;
    assert_eq!(as_float.status, 201, "JSON Schema's integers include 5.0");
    app.api(
        Method::DELETE,
        &format!("/api/v1/cart/items/{mug}"),
        Some(&ada.access),
        None,
    )
    .await;
    let cart = add(&app, &ada, mug, 2).await;
    assert_eq!(cart["item_count"], 2);
    assert_eq!(cart["subtotal"], "25.00");
    let cart = add(&app, &ada, knife, 50).await;
    let line = cart["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["sku"] == "KNIFE-1")
        .expect("knife line")
        .clone();
    assert_eq!(line["quantity"], 3, "capped by the stock");

    let changed = app
        .api(
            Method::PATCH,
            &format!("/api/v1/cart/items/{mug}"),
            Some(&ada.access),
            Some(&json!({ "quantity": 4 })),
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body["subtotal"], "317.00", "4 × 12.50 + 3 × 89.00");

    for quantity in [
        json!(0),
        json!(-1),
        json!(100),
        json!(1.5),
        json!("2"),
        json!(1e300),
    ] {
        let answer = app
            .api(
                Method::PATCH,
                &format!("/api/v1/cart/items/{mug}"),
                Some(&ada.access),
                Some(&json!({ "quantity": quantity })),
            )
            .await;
        answer.assert_problem(422, "validation");
        assert_eq!(answer.fields(), ["quantity"], "{quantity}");
    }

    let tote = product_id(&app, "TOTE-1").await;
    app.api(
        Method::POST,
        "/api/v1/cart/items",
        Some(&ada.access),
        Some(&json!({ "product_id": tote, "quantity": 1 })),
    )
    .await
    .assert_problem(409, "out-of-stock");
    let gone = product_id(&app, "GONE-1").await;
    let withdrawn = app
        .api(
            Method::POST,
            "/api/v1/cart/items",
            Some(&ada.access),
            Some(&json!({ "product_id": gone, "quantity": 1 })),
        )
        .await;
    withdrawn.assert_problem(404, "not-found");

    let removed = app
        .api(
            Method::DELETE,
            &format!("/api/v1/cart/items/{knife}"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    let cart = app.api_get("/api/v1/cart", Some(&ada.access)).await;
    assert_eq!(cart.body["item_count"], 4);
    assert_eq!(cart.body["can_check_out"], true);
}

#[tokio::test]
async fn a_posted_price_or_owner_is_refused_and_changes_nothing() {
    let app = shop().await;
    let ada = app.api_customer("ada@example.com").await;
    let eve = app.api_customer("eve@example.com").await;
    let mug = product_id(&app, "MUG-1").await;
    for extra in [
        json!({ "product_id": mug, "quantity": 1, "price": "0.01" }),
        json!({ "product_id": mug, "quantity": 1, "user_id": ada.user_id }),
        json!({ "product_id": mug, "quantity": 1, "price_minor": 1 }),
    ] {
        app.api(
            Method::POST,
            "/api/v1/cart/items",
            Some(&eve.access),
            Some(&extra),
        )
        .await
        .assert_problem(422, "validation");
    }
    let lines: i64 = app.scalar("SELECT COUNT(*) FROM cart_lines").await;
    assert_eq!(lines, 0);
    let price: i64 = app
        .scalar("SELECT price_minor FROM products WHERE sku = 'MUG-1'")
        .await;
    assert_eq!(price, 1250);
}

#[tokio::test]
async fn another_customers_cart_line_is_404() {
    let app = shop().await;
    let ada = app.api_customer("ada@example.com").await;
    let eve = app.api_customer("eve@example.com").await;
    let mug = product_id(&app, "MUG-1").await;
    add(&app, &ada, mug, 2).await;

    let path = format!("/api/v1/cart/items/{mug}");
    app.api(
        Method::PATCH,
        &path,
        Some(&eve.access),
        Some(&json!({ "quantity": 5 })),
    )
    .await
    .assert_problem(404, "not-found");
    app.api(Method::DELETE, &path, Some(&eve.access), None)
        .await
        .assert_problem(404, "not-found");
    let cart = app.api_get("/api/v1/cart", Some(&ada.access)).await;
    assert_eq!(
        cart.body["items"][0]["quantity"], 2,
        "Ada's line is untouched"
    );
}

#[tokio::test]
async fn one_cart_per_account_across_the_pages_and_the_api() {
    let app = shop().await;
    let ada = app.api_customer("ada@example.com").await;
    add(&app, &ada, product_id(&app, "MUG-1").await, 3).await;

    let browser = crate::support::new_client();
    let login = app
        .login_with(&browser, "ada@example.com", crate::support::api::PASSWORD)
        .await;
    assert_eq!(login.status(), 303);
    let page = app.html_with(&browser, "/cart").await;
    assert!(
        page.contains("Oak Mug"),
        "the API's line is in the page's cart"
    );
}

#[tokio::test]
async fn checkout_places_one_paid_order_and_a_repeated_key_returns_it() {
    let app = shop().await;
    let ada = app.api_customer("ada@example.com").await;
    add(&app, &ada, product_id(&app, "MUG-1").await, 2).await;

    let body = order_body("4242 4242 4242 4242");
    let placed = check_out(&app, &ada, "order-1", &body).await;
    assert_eq!(placed.status, 201, "{:?}", placed.body);
    assert_eq!(placed.body["status"], "paid");
    assert_eq!(placed.body["total"], "25.00");
    assert_eq!(placed.body["lines"][0]["quantity"], 2);
    assert_eq!(placed.body["shipping_address"]["country"], "NL");
    let reference = placed.body["reference"]
        .as_str()
        .expect("reference")
        .to_owned();

    let again = check_out(&app, &ada, "order-1", &body).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["reference"], reference.as_str());
    assert_eq!(again.headers["idempotent-replayed"], "true");

    let orders: i64 = app.scalar("SELECT COUNT(*) FROM orders").await;
    let charges: i64 = app.scalar("SELECT COUNT(*) FROM payments").await;
    assert_eq!((orders, charges), (1, 1));
    assert_eq!(app.stock_of("MUG-1").await, 3);

    // The same key with another body is refused.
    let other = check_out(&app, &ada, "order-1", &order_body("5555 5555 5555 4444")).await;
    other.assert_problem(422, "idempotency-key-reused");

    // The cart was emptied: a new key finds nothing to buy.
    check_out(&app, &ada, "order-2", &body)
        .await
        .assert_problem(422, "cart-not-ready");

    let mine = app.api_get("/api/v1/orders", Some(&ada.access)).await;
    assert_eq!(mine.body["total"], 1);
    assert_eq!(mine.body["items"][0]["reference"], reference.as_str());
    let one = app
        .api_get(&format!("/api/v1/orders/{reference}"), Some(&ada.access))
        .await;
    assert_eq!(one.body["status"], "paid");
    assert!(
        one.body["history"]
            .as_array()
            .is_some_and(|h| !h.is_empty())
    );
}

#[tokio::test]
async fn the_same_checkout_sent_at_once_makes_one_order_and_one_charge() {
    let app = Arc::new(shop().await);
    let ada = app.api_customer("ada@example.com").await;
    add(&app, &ada, product_id(&app, "MUG-1").await, 1).await;

    let body = order_body("4242424242424242");
    let attempts = (0..8).map(|_| {
        let app = app.clone();
        let ada = ada.clone();
        let body = body.clone();
        tokio::spawn(async move { check_out(&app, &ada, "same-key", &body).await })
    });
    let answers = futures_util::future::join_all(attempts).await;
    let mut references = Vec::new();
    for answer in answers {
        let answer = answer.expect("task");
        assert!(
            [201, 409].contains(&answer.status),
            "{} {:?}",
            answer.status,
            answer.body
        );
        if answer.status == 201 {
            references.push(answer.body["reference"].as_str().expect("ref").to_owned());
        }
    }
    assert!(!references.is_empty());
    references.dedup();
    assert_eq!(references.len(), 1, "every success names the same order");
    let orders: i64 = app.scalar("SELECT COUNT(*) FROM orders").await;
    let charges: i64 = app.scalar("SELECT COUNT(*) FROM payments").await;
    assert_eq!((orders, charges), (1, 1));
    assert_eq!(app.stock_of("MUG-1").await, 4);
}

#[tokio::test]
async fn a_declined_card_is_402_with_the_failed_order_and_the_stock_back() {
    let app = shop().await;
    let ada = app.api_customer("ada@example.com").await;
    add(&app, &ada, product_id(&app, "MUG-1").await, 2).await;

    let declined = check_out(&app, &ada, "try-1", &order_body("4000 0000 0000 0002")).await;
    declined.assert_problem(402, "payment-failed");
    assert_eq!(
        declined.body["detail"],
        "Your card was declined. Please use another card."
    );
    let reference = declined.body["order_reference"]
        .as_str()
        .expect("reference");
    let status: i64 = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM orders WHERE reference = '{reference}' AND status = 'payment_failed'"
        ))
        .await;
    assert_eq!(status, 1);
    assert_eq!(app.stock_of("MUG-1").await, 5);

    // A new key, a good card: the cart was kept.
    let paid = check_out(&app, &ada, "try-2", &order_body("4242424242424242")).await;
    assert_eq!(paid.status, 201, "{:?}", paid.body);
}

#[tokio::test]
async fn checkout_input_is_checked_field_by_field() {
    let app = shop().await;
    let ada = app.api_customer("ada@example.com").await;
    add(&app, &ada, product_id(&app, "MUG-1").await, 1).await;

    let bad = json!({
        "shipping": {
            "name": "",
            "line1": "Keizersgracht 1",
            "city": "Amsterdam",
            "postal_code": "1015 CJ",
            "country": "XX"
        },
        "payment": { "card_number": "4242 4242 4242 4241", "expiry": "01/20", "cvc": "1" }
    });
    let answer = check_out(&app, &ada, "k", &bad).await;
    answer.assert_problem(422, "validation");
    let mut fields = answer.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "payment.card_number",
            "payment.cvc",
            "payment.expiry",
            "shipping.country",
            "shipping.name"
        ]
    );

    // No key: refused before anything happens.
    let response = app
        .client
        .post(app.url("/api/v1/checkout"))
        .bearer_auth(&ada.access)
        .json(&order_body("4242424242424242"))
        .send()
        .await
        .expect("checkout");
    let missing = crate::support::api::answer(response).await;
    missing.assert_problem(422, "validation");
    assert_eq!(missing.fields(), ["Idempotency-Key"]);
    let orders: i64 = app.scalar("SELECT COUNT(*) FROM orders").await;
    assert_eq!(orders, 0);
    // Card data never reaches the database.
    let keys: i64 = app
        .scalar("SELECT COUNT(*) FROM api_idempotency_keys WHERE request_hash LIKE '%4242%'")
        .await;
    assert_eq!(keys, 0);
}

#[tokio::test]
async fn an_unverified_customer_cannot_check_out() {
    let app = shop().await;
    let ada = app.api_customer("ada@example.com").await;
    add(&app, &ada, product_id(&app, "MUG-1").await, 1).await;
    app.execute("UPDATE users SET email_verified_at = NULL")
        .await;
    check_out(&app, &ada, "k", &order_body("4242424242424242"))
        .await
        .assert_problem(422, "not-verified");
}

#[tokio::test]
async fn another_customers_order_is_404() {
    let app = shop().await;
    let ada = app.api_customer("ada@example.com").await;
    let eve = app.api_customer("eve@example.com").await;
    add(&app, &ada, product_id(&app, "MUG-1").await, 1).await;
    let placed = check_out(&app, &ada, "k", &order_body("4242424242424242")).await;
    let reference = placed.body["reference"].as_str().expect("reference");

    app.api_get(&format!("/api/v1/orders/{reference}"), Some(&eve.access))
        .await
        .assert_problem(404, "not-found");
    let theirs = app.api_get("/api/v1/orders", Some(&eve.access)).await;
    assert_eq!(theirs.body["total"], 0);
    app.api_get("/api/v1/orders/NOSUCHORDER00", Some(&ada.access))
        .await
        .assert_problem(404, "not-found");
}
