//! The JSON API's own machinery: tokens and their forgeries, problem documents for
//! every error class, strict input, rate limits, CORS and the OpenAPI document.

use reqwest::Method;
use securecart::api::auth::jwt::AccessTokens;
use securecart::security::secret::ServerSecret;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::api::{PASSWORD, answer};

const ISSUER: &str = "http://127.0.0.1";

fn now() -> i64 {
    securecart::db::time::now_ms() / 1000
}

/// A shop whose server secret the test knows, to sign tokens as the server would.
async fn shop_with_secret() -> (TestApp, ServerSecret) {
    let secret = ServerSecret::ephemeral();
    let known = secret.clone();
    let app = TestApp::builder()
        .settings(move |s| s.secret = known)
        .spawn()
        .await;
    (app, secret)
}

#[tokio::test]
async fn a_password_buys_a_token_pair_that_opens_the_account() {
    let app = TestApp::spawn().await;
    let caller = app.api_customer("ada@example.com").await;

    let token = app.token_for("ada@example.com", PASSWORD).await;
    assert_eq!(token.status, 200);
    assert_eq!(token.body["token_type"], "Bearer");
    assert_eq!(token.body["expires_in"], 900);
    assert_eq!(
        token.body["access_token"]
            .as_str()
            .map(|t| t.split('.').count()),
        Some(3)
    );
    assert!(
        token.headers.get("set-cookie").is_none(),
        "the API sets no cookies"
    );
    assert_eq!(token.headers["cache-control"], "no-store");

    let cart = app.api_get("/api/v1/cart", Some(&caller.access)).await;
    assert_eq!(cart.status, 200, "{:?}", cart.body);
    assert_eq!(cart.body["item_count"], 0);
}

#[tokio::test]
async fn wrong_credentials_get_one_401_whatever_was_wrong() {
    let app = TestApp::spawn().await;
    app.api_customer("ada@example.com").await;
    for (email, password) in [
        ("ada@example.com", "wrong password here"),
        ("nobody@example.com", PASSWORD),
        ("not an email", PASSWORD),
    ] {
        let answer = app.token_for(email, password).await;
        answer.assert_problem(401, "unauthorized");
        assert!(answer.headers.get("www-authenticate").is_some());
    }
    app.execute("UPDATE users SET is_active = 0").await;
    app.token_for("ada@example.com", PASSWORD)
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn the_token_endpoint_shares_the_login_lockout() {
    let app = TestApp::spawn().await;
    app.api_customer("ada@example.com").await;
    for _ in 0..5 {
        app.token_for("ada@example.com", "wrong password here")
            .await;
    }
    let locked: i64 = app
        .scalar("SELECT COUNT(*) FROM users WHERE locked_until IS NOT NULL")
        .await;
    assert_eq!(
        locked, 1,
        "five failures lock the account, as on the login page"
    );
    app.token_for("ada@example.com", PASSWORD)
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn a_refresh_rotates_the_pair_and_a_reused_refresh_token_kills_the_family() {
    let app = TestApp::spawn().await;
    let first = app.api_customer("ada@example.com").await;

    let refresh = |token: &str| json!({ "refresh_token": token });
    let second = app
        .api(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(&refresh(&first.refresh)),
        )
        .await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    let second_refresh = second.body["refresh_token"].as_str().expect("new refresh");
    let second_access = second.body["access_token"].as_str().expect("new access");
    assert_ne!(second_refresh, first.refresh);
    assert_eq!(
        app.api_get("/api/v1/cart", Some(second_access))
            .await
            .status,
        200
    );

    // The first refresh token was spent: presenting it again is theft or a replay.
    app.api(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(&refresh(&first.refresh)),
    )
    .await
    .assert_problem(401, "unauthorized");
    // ... and the whole family died with it, the newest token too.
    app.api(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(&refresh(second_refresh)),
    )
    .await
    .assert_problem(401, "unauthorized");
    let live: i64 = app
        .scalar("SELECT COUNT(*) FROM api_refresh_tokens WHERE revoked_at IS NULL")
        .await;
    assert_eq!(live, 0);
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_as_digests() {
    let app = TestApp::spawn().await;
    let caller = app.api_customer("ada@example.com").await;
    let stored: i64 = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM api_refresh_tokens WHERE token_hash = '{}'",
            caller.refresh
        ))
        .await;
    assert_eq!(stored, 0, "the token itself is not in the database");
    let digest = securecart::security::session::digest(&caller.refresh);
    let by_digest: i64 = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM api_refresh_tokens WHERE token_hash = '{digest}'"
        ))
        .await;
    assert_eq!(by_digest, 1);
}

#[tokio::test]
async fn revoking_logs_out_and_answers_the_same_for_unknown_tokens() {
    let app = TestApp::spawn().await;
    let caller = app.api_customer("ada@example.com").await;
    let body = json!({ "refresh_token": caller.refresh });
    let revoked = app
        .api(Method::POST, "/api/v1/auth/revoke", None, Some(&body))
        .await;
    assert_eq!(revoked.status, 204);
    app.api(Method::POST, "/api/v1/auth/refresh", None, Some(&body))
        .await
        .assert_problem(401, "unauthorized");

    let unknown = json!({ "refresh_token": "never-issued" });
    let answer = app
        .api(Method::POST, "/api/v1/auth/revoke", None, Some(&unknown))
        .await;
    assert_eq!(answer.status, 204);
}

#[tokio::test]
async fn forged_tokens_are_all_401() {
    let (app, secret) = shop_with_secret().await;
    let caller = app.api_customer("ada@example.com").await;
    app.api_customer("eve@example.com").await;
    let genuine = &caller.access;
    assert_eq!(app.api_get("/api/v1/cart", Some(genuine)).await.status, 200);

    let parts: Vec<&str> = genuine.split('.').collect();
    let b64 = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let unb64 = |s: &str| -> Value {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .expect("base64");
        serde_json::from_slice(&bytes).expect("json")
    };
    let mut claims = unb64(parts[1]);

    let stamp: String = sqlx::query_scalar("SELECT security_stamp FROM users WHERE id = $1")
        .bind(caller.user_id)
        .fetch_one(app.db.pool())
        .await
        .expect("stamp");
    let ours = AccessTokens::new(&secret, ISSUER).expect("keys");
    let theirs = AccessTokens::new(&ServerSecret::ephemeral(), ISSUER).expect("keys");
    let elsewhere = AccessTokens::new(&secret, "http://evil.example").expect("keys");

    let mut forgeries: Vec<(&str, String)> = Vec::new();
    let none_header = b64(&json!({ "alg": "none", "typ": "JWT" }));
    forgeries.push(("alg none", format!("{none_header}.{}.", parts[1])));
    forgeries.push((
        "alg none, signature kept",
        format!("{none_header}.{}.{}", parts[1], parts[2]),
    ));
    let hs512 = b64(&json!({ "alg": "HS512", "typ": "JWT" }));
    forgeries.push(("another alg", format!("{hs512}.{}.{}", parts[1], parts[2])));
    claims["sub"] = json!("2");
    forgeries.push((
        "another subject",
        format!("{}.{}.{}", parts[0], b64(&claims), parts[2]),
    ));
    claims["sub"] = json!(caller.user_id.to_string());
    claims["exp"] = json!(now() + 86_400);
    forgeries.push((
        "longer life",
        format!("{}.{}.{}", parts[0], b64(&claims), parts[2]),
    ));
    forgeries.push((
        "wrong key",
        theirs
            .issue(caller.user_id, &stamp, now(), now())
            .expect("jwt"),
    ));
    forgeries.push((
        "wrong issuer",
        elsewhere
            .issue(caller.user_id, &stamp, now(), now())
            .expect("jwt"),
    ));
    forgeries.push((
        "expired",
        ours.issue(caller.user_id, &stamp, now() - 3600, now() - 3600)
            .expect("jwt"),
    ));
    forgeries.push((
        "old stamp",
        ours.issue(caller.user_id, "old", now(), now())
            .expect("jwt"),
    ));
    forgeries.push(("refresh token as access token", caller.refresh.clone()));
    forgeries.push(("garbage", "a.b.c".to_owned()));
    forgeries.push(("empty", String::new()));

    for (what, token) in &forgeries {
        let answer = app.api_get("/api/v1/cart", Some(token)).await;
        assert_eq!(answer.status, 401, "{what}");
        answer.assert_problem(401, "unauthorized");
    }
    // The server's own key, right stamp and times: accepted, so the above are real tests.
    let made_here = ours
        .issue(caller.user_id, &stamp, now(), now())
        .expect("jwt");
    assert_eq!(
        app.api_get("/api/v1/cart", Some(&made_here)).await.status,
        200
    );

    // Other schemes and a missing header are 401 too.
    let basic = app
        .client
        .get(app.url("/api/v1/cart"))
        .header("authorization", format!("Basic {genuine}"))
        .send()
        .await
        .expect("request");
    assert_eq!(basic.status(), 401);
    app.api_get("/api/v1/cart", None)
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn a_password_change_or_deactivation_kills_tokens_at_once() {
    let app = TestApp::spawn().await;
    let caller = app.api_customer("ada@example.com").await;
    assert_eq!(
        app.api_get("/api/v1/cart", Some(&caller.access))
            .await
            .status,
        200
    );

    let hash = securecart::security::password::hash("a brand new passphrase", 1_000);
    securecart::accounts::store::set_password(&app.db, caller.user_id, &hash, true)
        .await
        .expect("new password");
    app.api_get("/api/v1/cart", Some(&caller.access))
        .await
        .assert_problem(401, "unauthorized");
    let body = json!({ "refresh_token": caller.refresh });
    app.api(Method::POST, "/api/v1/auth/refresh", None, Some(&body))
        .await
        .assert_problem(401, "unauthorized");

    let again = app
        .token_for("ada@example.com", "a brand new passphrase")
        .await;
    let access = again.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(app.api_get("/api/v1/cart", Some(&access)).await.status, 200);
    app.execute("UPDATE users SET is_active = 0").await;
    app.api_get("/api/v1/cart", Some(&access))
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn a_customer_token_is_refused_on_admin_endpoints() {
    let app = TestApp::spawn().await;
    let caller = app.api_customer("ada@example.com").await;
    let doc = app.api_get("/api/openapi.json", None).await.body;
    let paths = doc["paths"].as_object().expect("paths");
    let mut checked = 0;
    for (path, item) in paths
        .iter()
        .filter(|(p, _)| p.starts_with("/api/v1/admin/"))
    {
        let concrete = path
            .replace("{id}", "1")
            .replace("{reference}", "0000000000000");
        for method in item.as_object().expect("operations").keys() {
            let method: Method = method.to_uppercase().parse().expect("method");
            let body = json!({});
            let answer = app
                .api(method.clone(), &concrete, Some(&caller.access), Some(&body))
                .await;
            assert!(
                answer.status == 403,
                "{method} {concrete}: {} {:?}",
                answer.status,
                answer.body
            );
            checked += 1;
        }
    }
    assert!(checked >= 16, "every admin operation was tried: {checked}");
}

#[tokio::test]
async fn every_error_class_is_a_problem_document() {
    let app = TestApp::spawn().await;
    let caller = app.api_customer("ada@example.com").await;
    let url = app.url("/api/v1/cart/items");
    let post = || app.client.post(&url).bearer_auth(&caller.access);

    // 400: not JSON.
    let broken = answer(
        post()
            .header("content-type", "application/json")
            .body("{\"product_id\": ")
            .send()
            .await
            .expect("request"),
    )
    .await;
    broken.assert_problem(400, "malformed-request");

    // 415: not declared as JSON.
    let form = answer(
        post()
            .header("content-type", "application/x-www-form-urlencoded")
            .body("product_id=1&quantity=1")
            .send()
            .await
            .expect("request"),
    )
    .await;
    form.assert_problem(415, "unsupported-media-type");
    let bare = answer(post().body("{}").send().await.expect("request")).await;
    bare.assert_problem(415, "unsupported-media-type");

    // 413: larger than the API reads.
    let huge = format!(
        "{{\"product_id\": 1, \"quantity\": 1, \"x\": \"{}\"}}",
        "a".repeat(70_000)
    );
    let large = answer(
        post()
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .expect("request"),
    )
    .await;
    large.assert_problem(413, "payload-too-large");

    // 422: the wrong shape, naming the field; unknown fields are refused.
    let wrong = app
        .api(
            Method::POST,
            "/api/v1/cart/items",
            Some(&caller.access),
            Some(&json!({ "product_id": "one", "quantity": 1 })),
        )
        .await;
    wrong.assert_problem(422, "validation");
    assert_eq!(wrong.fields(), ["product_id"]);
    let smuggled = app
        .api(
            Method::POST,
            "/api/v1/cart/items",
            Some(&caller.access),
            Some(&json!({ "product_id": 1, "quantity": 1, "price": "0.01" })),
        )
        .await;
    smuggled.assert_problem(422, "validation");
    assert_eq!(smuggled.fields(), ["price"]);

    // 404: an unknown path and an unknown resource.
    app.api_get("/api/v1/nothing-here", None)
        .await
        .assert_problem(404, "not-found");
    app.api_get("/api/v1/products/999999", None)
        .await
        .assert_problem(404, "not-found");
    // 400: a path parameter of the wrong type.
    app.api_get("/api/v1/products/abc", None)
        .await
        .assert_problem(400, "malformed-request");

    // 405: a method the path does not have, with Allow.
    let put = app.api(Method::PUT, "/api/v1/products", None, None).await;
    put.assert_problem(405, "method-not-allowed");
    assert!(put.headers.get("allow").is_some());

    // 401 and 422 on queries.
    app.api_get("/api/v1/orders", None)
        .await
        .assert_problem(401, "unauthorized");
    let query = app.api_get("/api/v1/products?per_page=101", None).await;
    query.assert_problem(422, "validation");
    assert_eq!(query.fields(), ["per_page"]);
    let unknown = app.api_get("/api/v1/products?admin=1", None).await;
    unknown.assert_problem(422, "validation");
    assert_eq!(unknown.fields(), ["admin"]);
}

#[tokio::test]
async fn over_the_limit_the_api_answers_429_with_retry_after() {
    let app = TestApp::builder()
        .settings(|s| {
            s.api.auth_per_minute = 3;
            s.api.reads_per_minute = 5;
        })
        .spawn()
        .await;
    for _ in 0..3 {
        let answer = app.token_for("ada@example.com", "whatever it is").await;
        assert_eq!(answer.status, 401);
    }
    let limited = app.token_for("ada@example.com", "whatever it is").await;
    limited.assert_problem(429, "rate-limited");
    let wait: u64 = limited.headers["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");

    // Reads have their own budget, untouched by the token requests.
    for _ in 0..5 {
        assert_eq!(app.api_get("/api/v1/categories", None).await.status, 200);
    }
    app.api_get("/api/v1/categories", None)
        .await
        .assert_problem(429, "rate-limited");
    // The shop's pages are not the API's budget.
    assert_eq!(app.get("/").await.status(), 200);
}

#[tokio::test]
async fn the_per_user_budget_follows_the_token_not_the_address() {
    let app = TestApp::builder()
        .settings(|s| {
            s.api.writes_per_minute = 4;
            s.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
        })
        .spawn()
        .await;
    let ada = app.api_customer("ada@example.com").await;
    let eve = app.api_customer("eve@example.com").await;
    let write = |token: &str, from: &str| {
        let request = app
            .client
            .delete(app.url("/api/v1/cart/items/999999"))
            .bearer_auth(token)
            .header("x-forwarded-for", from)
            .send();
        async move { answer(request.await.expect("request")).await }
    };
    for _ in 0..4 {
        assert_eq!(write(&ada.access, "192.0.2.1").await.status, 404);
    }
    // Ada moves to another address: her own budget is spent all the same.
    write(&ada.access, "192.0.2.2")
        .await
        .assert_problem(429, "rate-limited");
    // Eve, from that address, still has hers.
    assert_eq!(write(&eve.access, "192.0.2.2").await.status, 404);
    // And the first address is spent for anyone.
    write(&eve.access, "192.0.2.1")
        .await
        .assert_problem(429, "rate-limited");
}

#[tokio::test]
async fn cors_is_off_unless_origins_are_listed() {
    let app = TestApp::spawn().await;
    let preflight = |app: &TestApp, origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/v1/products"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let off = preflight(&app, "https://app.example")
        .await
        .expect("preflight");
    assert!(off.headers().get("access-control-allow-origin").is_none());

    let app = TestApp::builder()
        .settings(|s| s.api.cors_origins = vec!["https://app.example".to_owned()])
        .spawn()
        .await;
    let allowed = preflight(&app, "https://app.example")
        .await
        .expect("preflight");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = preflight(&app, "https://evil.example")
        .await
        .expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_openapi_document_describes_what_the_server_serves() {
    let app = TestApp::spawn().await;
    let doc = app.api_get("/api/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());

    let paths = doc.body["paths"].as_object().expect("paths");
    for expected in [
        "/api/v1/auth/token",
        "/api/v1/auth/refresh",
        "/api/v1/auth/revoke",
        "/api/v1/products",
        "/api/v1/products/{id}",
        "/api/v1/categories",
        "/api/v1/cart",
        "/api/v1/cart/items",
        "/api/v1/cart/items/{id}",
        "/api/v1/checkout",
        "/api/v1/orders",
        "/api/v1/orders/{reference}",
    ] {
        assert!(paths.contains_key(expected), "{expected} is documented");
    }
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("operations") {
            let secured = operation["security"].is_array();
            let public = path.starts_with("/api/v1/auth/")
                || path.starts_with("/api/v1/products")
                || path == "/api/v1/categories";
            assert_eq!(secured, !public, "{method} {path}: security requirement");
            let responses = operation["responses"].as_object().expect("responses");
            assert!(responses.contains_key("429"), "{method} {path}");
            if secured {
                assert!(responses.contains_key("401"), "{method} {path}");
            }
            // Every documented operation exists: without a token it is 401 (secured)
            // or answers as documented, never a 404 for a missing route or a 405.
            let concrete = path
                .replace("{id}", "1")
                .replace("{reference}", "0000000000000");
            let method: Method = method.to_uppercase().parse().expect("method");
            let answer = app.api(method.clone(), &concrete, None, None).await;
            if secured {
                assert_eq!(answer.status, 401, "{method} {concrete}");
            } else {
                assert!(
                    answer.status != 405 && answer.status < 500,
                    "{method} {concrete}: {}",
                    answer.status
                );
            }
        }
    }
}
