//! Attacks on the foundation: injection and XSS through the catalogue's parameters,
//! oversized and slow requests, path traversal, panics, and the security headers.

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use securecart::config::HttpLimits;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{TestApp, assert_security_headers, product_links};

const XSS: &str = "\"><svg/onload=alert(1)><script>alert(2)</script>";

/// Percent-encodes every byte, so the payload reaches the server exactly as written.
fn encode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn markup_in_the_search_comes_back_escaped() {
    let app = TestApp::spawn().await;
    app.load_demo().await;

    let (status, html) = app.page(&format!("/products?q={}", encode(XSS))).await;

    assert_eq!(status, 200);
    assert!(!html.contains("<svg/onload"), "raw markup reflected");
    assert!(!html.contains("<script>alert"), "raw script reflected");
    assert!(
        html.contains("&#60;svg/onload=alert(1)&#62;"),
        "the text is shown, escaped"
    );
    assert!(
        html.contains("value=\"&#34;&#62;&#60;svg"),
        "the search box holds the text, escaped"
    );
}

#[tokio::test]
async fn sql_in_the_catalogue_parameters_changes_nothing() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let before = app.product_count().await;
    let payloads = [
        "' OR '1'='1",
        "'; DROP TABLE products; --",
        "1 UNION SELECT sku, name, description, price_minor, stock, image, 1 FROM products--",
        "\\' OR 1=1 --",
        "%' AND 1=(SELECT COUNT(*) FROM sqlite_master) --",
    ];

    for payload in payloads {
        for param in ["q", "category", "sort", "page"] {
            let (status, html) = app
                .page(&format!("/products?{param}={}", encode(payload)))
                .await;
            assert!(
                status == 200 || status == 404,
                "{param}={payload}: {status}"
            );
            if param == "q" {
                assert!(
                    product_links(&html).is_empty(),
                    "{payload} matched products"
                );
            }
        }
        let (status, _) = app.page(&format!("/products/{}", encode(payload))).await;
        assert_eq!(status, 404, "slug {payload}");
    }

    assert_eq!(app.product_count().await, before, "the catalogue is intact");
    assert_eq!(app.page("/").await.0, 200);
}

#[tokio::test]
async fn a_query_that_cannot_be_read_is_a_400_page_not_a_500() {
    let app = TestApp::spawn().await;

    let (status, html) = app.page("/products?page=1&page=2").await;
    assert_eq!(status, 400);
    assert!(html.contains("That request did not make sense"));

    for lossy in [
        "/products?q=%ff%fe",
        "/products?q=%zz",
        "/products?q=%",
        "/products?%00=1",
    ] {
        assert_eq!(app.page(lossy).await.0, 200, "{lossy}");
    }
}

#[tokio::test]
async fn a_path_that_is_not_utf8_is_a_400_page() {
    let app = TestApp::spawn().await;

    let (status, html) = app.page("/products/%ff%fe").await;

    assert_eq!(status, 400);
    assert!(
        html.contains("class=\"site-header\""),
        "the shop's page, not plain text"
    );
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = TestApp::builder().routes(panicking_route()).spawn().await;
    app.load_demo().await;

    for path in [
        "/",
        "/products",
        "/products?q=mug",
        "/products/nope",
        "/cart",
        "/privacy",
        "/static/app.css",
        "/healthz",
        "/readyz",
        "/no/such/page",
        "/test/panic",
    ] {
        let response = app.get(path).await;
        assert_security_headers(&response, path);
    }
    let big = app
        .client
        .post(app.url("/"))
        .body(vec![b'a'; 2 * 1024 * 1024])
        .send()
        .await;
    assert_security_headers(&big.expect("413 response"), "413");
}

#[tokio::test]
async fn a_three_mebibyte_form_is_refused_with_413() {
    let app = TestApp::spawn().await;
    let body = format!("q={}", "a".repeat(3 * 1024 * 1024));

    let response = app
        .client
        .post(app.url("/products"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("response");

    assert_eq!(response.status(), 413);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("That was too much to send")
    );
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_refused_with_413() {
    let app = TestApp::builder().routes(echo_route()).spawn().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b'a'; 64 * 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));

    let token = visitor_token(&app).await;
    let response = app
        .client
        .post(app.url("/test/echo"))
        .header("x-csrf-token", token)
        .body(body)
        .send()
        .await
        .expect("response");

    assert_eq!(response.status(), 413, "no Content-Length, still limited");
}

#[tokio::test]
async fn static_files_cannot_be_used_to_walk_the_file_system() {
    let app = TestApp::spawn().await;

    assert_eq!(app.get("/static/app.css").await.status(), 200);
    for path in [
        "/static/../Cargo.toml",
        "/static/%2e%2e%2fCargo.toml",
        "/static/%252e%252e%252fCargo.toml",
        "/static/..%5cCargo.toml",
        "/static/app.css%00.txt",
        "/static/",
        "/static/main.rs",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn a_panic_becomes_a_500_page_without_detail() {
    let app = TestApp::builder().routes(panicking_route()).spawn().await;

    let (status, html) = app.page("/test/panic").await;

    assert_eq!(status, 500);
    assert!(html.contains("Something went wrong on our side"));
    assert!(!html.contains("secret detail"), "the panic message leaked");
    assert_eq!(app.page("/").await.0, 200, "the server keeps serving");
}

#[tokio::test]
async fn a_client_that_sends_its_headers_slowly_is_cut_off() {
    let app = TestApp::builder()
        .settings(|s| {
            s.limits = HttpLimits {
                header_timeout: Duration::from_secs(1),
                ..HttpLimits::default()
            }
        })
        .spawn()
        .await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: shop\r\n")
        .await
        .expect("partial headers");

    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;

    assert!(read.is_ok(), "the server kept a half-open request for 5 s");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn a_request_that_takes_too_long_gets_408() {
    let app = TestApp::builder()
        .settings(|s| {
            s.limits = HttpLimits {
                request_timeout: Duration::from_secs(1),
                ..HttpLimits::default()
            }
        })
        .routes(echo_route())
        .spawn()
        .await;
    let token = visitor_token(&app).await;
    let head = format!(
        "POST /test/echo HTTP/1.1\r\nHost: shop\r\nCookie: securecart_csrf={token}\r\n\
         X-CSRF-Token: {token}\r\nContent-Length: 100\r\n\r\nonly a little"
    );
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream
        .write_all(head.as_bytes())
        .await
        .expect("partial body");

    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;

    assert!(read.is_ok(), "no answer within 5 s");
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

/// The pre-session CSRF token a visitor's browser holds after opening the login page.
async fn visitor_token(app: &TestApp) -> String {
    let html = app.page("/account/login").await.1;
    crate::support::csrf_field(&html).expect("a CSRF field")
}

fn panicking_route() -> Router<securecart::AppState> {
    Router::new().route("/test/panic", get(explode))
}

async fn explode() -> &'static str {
    panic!("secret detail")
}

fn echo_route() -> Router<securecart::AppState> {
    Router::new().route(
        "/test/echo",
        post(|body: String| async move { body.len().to_string() }),
    )
}
