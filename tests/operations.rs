//! Running the shop: health probes, request ids, graceful shutdown, the demo catalogue.

use std::time::Duration;

use axum::Router;
use axum::routing::get;

use crate::support::{TestApp, product_links};

#[tokio::test]
async fn liveness_and_readiness_answer_with_json() {
    let app = TestApp::spawn().await;

    let live = app.get("/healthz").await;
    assert_eq!(live.status(), 200);
    assert_eq!(live.text().await.expect("body"), r#"{"status":"ok"}"#);

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.expect("body"), r#"{"status":"ready"}"#);
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.db.close().await;

    let ready = app.get("/readyz").await;

    assert_eq!(ready.status(), 503);
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "the process itself is alive"
    );
}

#[tokio::test]
async fn every_response_carries_a_fresh_request_id() {
    let app = TestApp::spawn().await;

    let first = app.get("/").await.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    let second = app.get("/nope").await.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_owned();

    assert_eq!(first.len(), 16);
    assert_ne!(first, second);
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let slow = Router::new().route(
        "/test/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(700)).await;
            "finished"
        }),
    );
    let mut app = TestApp::builder().routes(slow).spawn().await;
    let request = app.client.get(app.url("/test/slow")).send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(200)).await;

    app.shutdown().await.expect("clean shutdown");

    let response = in_flight
        .await
        .expect("task")
        .expect("the request was answered");
    assert_eq!(response.text().await.expect("body"), "finished");
    let refused = reqwest::Client::new().get(app.url("/")).send().await;
    assert!(
        refused.is_err(),
        "the server still accepts connections after shutdown"
    );
}

#[tokio::test]
async fn the_demo_catalogue_loads_once_per_database() {
    let app = TestApp::spawn().await;

    app.load_demo().await;
    let after_first = app.product_count().await;
    app.load_demo().await;

    assert!(after_first >= 24, "{after_first}");
    assert_eq!(
        app.product_count().await,
        after_first,
        "a restart duplicates nothing"
    );
    let categories: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM categories")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert!(categories >= 4, "{categories}");
}

#[tokio::test]
async fn products_imported_before_do_not_prevent_the_demo() {
    let app = TestApp::spawn().await;
    app.import("OWN-1,Our Own Mug,,9.00,3,Mugs").await;

    app.load_demo().await;

    assert!(app.product_count().await >= 25);
    let (_, html) = app.page("/products?q=own+mug").await;
    assert_eq!(
        product_links(&html),
        vec!["our-own-mug"],
        "the operator's product is kept"
    );
}

#[tokio::test]
async fn unsupported_methods_get_the_shop_page_for_405() {
    let app = TestApp::spawn().await;

    let html = app.page("/account/login").await.1;
    let token = crate::support::csrf_field(&html).expect("token");
    let response = app
        .client
        .delete(app.url("/products"))
        .header("x-csrf-token", token)
        .send()
        .await
        .expect("response");

    assert_eq!(response.status(), 405);
    assert!(response.headers().contains_key("allow"));
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("That action is not available here")
    );
}

#[tokio::test]
async fn sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout() {
    let app = TestApp::spawn().await;
    if app.db.dialect() != securecart::db::Dialect::Sqlite {
        return;
    }
    let mut conn = app.db.pool().acquire().await.expect("connection");

    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .expect("pragma");
    let keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .expect("pragma");
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await
        .expect("pragma");

    assert_eq!((mode.as_str(), keys, busy), ("wal", 1, 5000));
}

#[tokio::test]
async fn money_is_stored_as_integer_minor_units() {
    let app = TestApp::spawn().await;
    app.import("M-1,Penny Jar,,0.01,1,\nM-2,Dear Jar,,999999.99,1,")
        .await;

    let prices: Vec<i64> = sqlx::query_scalar("SELECT price_minor FROM products ORDER BY sku")
        .fetch_all(app.db.pool())
        .await
        .expect("prices");

    assert_eq!(prices, vec![1, 99_999_999]);
    assert!(
        app.page("/products/dear-jar")
            .await
            .1
            .contains("€999,999.99")
    );
}
