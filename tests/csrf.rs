//! Cross-site request forgery: every way of forging a state change is refused and
//! changes nothing.

use crate::support::{TestApp, csrf_field, new_client};

const PASSWORD: &str = "correct horse battery staple";
const NEW: &str = "a different passphrase";

/// A signed-in client and its session's CSRF token.
async fn signed_in(app: &TestApp, email: &str) -> (reqwest::Client, String) {
    app.customer(email, PASSWORD).await;
    let client = new_client();
    app.login_with(&client, email, PASSWORD).await;
    let html = app.html_with(&client, "/account").await;
    (client, csrf_field(&html).expect("token"))
}

async fn password_hash(app: &TestApp, email: &str) -> String {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(app.db.pool())
        .await
        .expect("hash")
}

#[tokio::test]
async fn forged_password_changes_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (client, token) = signed_in(&app, "jane@example.com").await;
    let (_, other_token) = signed_in(&app, "mallory@example.com").await;
    let before = password_hash(&app, "jane@example.com").await;
    let fields = [
        ("current_password", PASSWORD),
        ("password", NEW),
        ("password_confirm", NEW),
    ];

    let attempts: Vec<(&str, Option<&str>, Option<&str>)> = vec![
        ("no token", None, None),
        ("short token", Some("abc"), None),
        ("wrong token", Some("x".repeat(43).leak()), None),
        ("another session's token", Some(other_token.as_str()), None),
        (
            "foreign Origin",
            Some(token.as_str()),
            Some("http://evil.example"),
        ),
        ("null Origin", Some(token.as_str()), Some("null")),
    ];
    for (what, csrf, origin) in attempts {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        if let Some(csrf) = csrf {
            form.push(("csrf_token", csrf));
        }
        let mut request = client.post(app.url("/account/password")).form(&form);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.expect("POST");
        assert_eq!(response.status(), 403, "{what}");
        assert!(
            response
                .text()
                .await
                .expect("body")
                .contains("reload the page"),
            "{what}"
        );
    }
    assert_eq!(
        password_hash(&app, "jane@example.com").await,
        before,
        "nothing changed"
    );

    let with_header = |name: &'static str, value: String| {
        client
            .post(app.url("/account/password"))
            .header(name, value)
            .form(&[
                ("csrf_token", token.as_str()),
                ("current_password", PASSWORD),
                ("password", NEW),
                ("password_confirm", NEW),
            ])
            .send()
    };
    let foreign_referer = with_header("referer", "http://evil.example/form".into()).await;
    assert_eq!(foreign_referer.expect("POST").status(), 403);

    let genuine = with_header("origin", format!("http://{}", app.addr))
        .await
        .expect("POST");
    assert_eq!(genuine.status(), 303, "our own form still works");
}

#[tokio::test]
async fn the_token_rotates_at_login() {
    let app = TestApp::spawn().await;
    app.customer("jane@example.com", PASSWORD).await;
    let client = new_client();

    let visitor_token = csrf_field(&app.page("/account/login").await.1).expect("token");
    app.login_with(&client, "jane@example.com", PASSWORD).await;
    let html = app.html_with(&client, "/account").await;
    let session_token = csrf_field(&html).expect("token");

    assert_ne!(visitor_token, session_token);
    let stale = client
        .post(app.url("/account/logout"))
        .form(&[("csrf_token", visitor_token.as_str())])
        .send()
        .await
        .expect("POST");
    assert_eq!(
        stale.status(),
        403,
        "the visitor's token is no good once signed in"
    );
}

#[tokio::test]
async fn a_login_form_posted_without_its_cookie_is_refused() {
    let app = TestApp::spawn().await;
    app.customer("jane@example.com", PASSWORD).await;
    let token = csrf_field(&app.page("/account/login").await.1).expect("token");

    let response = new_client()
        .post(app.url("/account/login"))
        .form(&[
            ("email", "jane@example.com"),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("POST");

    assert_eq!(
        response.status(),
        403,
        "a token without its cookie proves nothing"
    );
}
