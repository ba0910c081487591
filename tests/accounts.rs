//! Accounts over HTTP: registration and verification, login and logout, sessions,
//! lockout and throttling, password reset and change, and enumeration resistance.

use std::time::Duration;

use crate::support::{TestApp, csrf_field, location, new_client};

const PASSWORD: &str = "correct horse battery staple";

async fn register(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> (u16, String) {
    let response = app
        .submit_with(
            client,
            "/account/register",
            "/account/register",
            &[
                ("email", email),
                ("password", password),
                ("password_confirm", password),
            ],
        )
        .await;
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// The page with its one-time CSRF value blanked, for comparing two answers.
fn without_token(html: &str) -> String {
    match csrf_field(html) {
        Some(token) => html.replace(&token, "TOKEN"),
        None => html.to_owned(),
    }
}

/// Asks for a password-reset link for `email`; returns the link and its token.
async fn reset_link(app: &TestApp, email: &str) -> (String, String) {
    let form = [("email", email)];
    app.submit("/account/password-reset", "/account/password-reset", &form)
        .await;
    let link = app
        .link_in_mail(email, "/account/password-reset/confirm?token=", 1)
        .await;
    let token = link.split("token=").nth(1).expect("token").to_owned();
    (link, token)
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("securecart_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn registration_sends_a_link_that_verifies_the_address_once() {
    let app = TestApp::spawn().await;
    let client = new_client();

    let (status, html) = register(&app, &client, "  Jane@Example.COM ", PASSWORD).await;
    assert_eq!(status, 200);
    assert!(html.contains("Check your inbox"));

    let link = app
        .link_in_mail("Jane@example.com", "/account/verify?token=", 1)
        .await;
    let page = app.html_with(&client, &link).await;
    let token = link.split("token=").nth(1).expect("token");
    let verify = |client: reqwest::Client, page: String| {
        let app = &app;
        async move {
            let csrf = csrf_field(&page).expect("csrf");
            client
                .post(app.url("/account/verify"))
                .form(&[("token", token), ("csrf_token", &csrf)])
                .send()
                .await
                .expect("POST")
        }
    };
    let first = verify(client.clone(), page.clone()).await;
    assert_eq!(first.status(), 200);
    assert!(
        first
            .text()
            .await
            .expect("body")
            .contains("Your email address is confirmed")
    );

    let second = verify(client.clone(), page).await;
    assert_eq!(second.status(), 400, "a link works once");

    let verified: Option<i64> = sqlx::query_scalar(
        "SELECT email_verified_at FROM users WHERE email_key = 'jane@example.com'",
    )
    .fetch_one(app.db.pool())
    .await
    .expect("user");
    assert!(verified.is_some());
}

#[tokio::test]
async fn weak_passwords_are_refused_at_registration_with_a_reason() {
    let app = TestApp::spawn().await;
    let client = new_client();
    let cases = [
        ("short1", "at least 10 characters"),
        ("12345678901", "more than digits"),
        ("qwertyuiop", "most common"),
        ("janedoe123", "too similar to your email"),
    ];

    for (password, reason) in cases {
        let (status, html) = register(&app, &client, "janedoe@example.com", password).await;
        assert_eq!(status, 422, "{password}");
        assert!(html.contains(reason), "{password}: no {reason:?}");
        assert!(
            html.contains("value=\"janedoe@example.com\""),
            "the email is kept"
        );
        assert!(
            !html.contains(password),
            "the password is not rendered back"
        );
    }
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(users, 0);
}

#[tokio::test]
async fn registering_a_taken_email_answers_the_same_and_tells_the_owner() {
    let app = TestApp::spawn().await;
    app.customer("owner@example.com", PASSWORD).await;

    let (new_status, new_page) =
        register(&app, &new_client(), "someone@example.com", PASSWORD).await;
    let (old_status, old_page) = register(&app, &new_client(), "OWNER@example.com", PASSWORD).await;

    assert_eq!(new_status, old_status);
    assert_eq!(without_token(&new_page), without_token(&old_page));
    let messages = app.outbox(2).await;
    let to_owner = messages
        .iter()
        .find(|m| m.contains("To: OWNER@example.com"))
        .expect("owner told");
    assert!(to_owner.contains("You already have"));
}

#[tokio::test]
async fn login_starts_a_new_session_and_logout_kills_it() {
    let app = TestApp::spawn().await;
    app.customer("jane@example.com", PASSWORD).await;
    let client = new_client();

    let first = app.login_with(&client, "jane@example.com", PASSWORD).await;
    assert_eq!(first.status(), 303);
    assert_eq!(location(&first), "/account");
    let first_cookie = session_cookie(&first).expect("a session cookie");
    let set_cookie = first.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    assert!(
        !set_cookie.contains("Max-Age") && !set_cookie.contains("Expires"),
        "gone when the browser closes"
    );

    let second = app.login_with(&client, "jane@example.com", PASSWORD).await;
    let second_cookie = session_cookie(&second).expect("a session cookie");
    assert_ne!(first_cookie, second_cookie, "a new id at every login");

    let replay = |cookie: String| {
        let app = &app;
        async move {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client")
                .get(app.url("/account"))
                .header("cookie", cookie)
                .send()
                .await
                .expect("GET")
        }
    };
    assert_eq!(
        replay(first_cookie).await.status(),
        303,
        "the session before login is dead"
    );
    assert_eq!(replay(second_cookie.clone()).await.status(), 200);

    let account = app.html_with(&client, "/account").await;
    let token = csrf_field(&account).expect("logout form token");
    let out = client
        .post(app.url("/account/logout"))
        .form(&[("csrf_token", token)])
        .send()
        .await
        .expect("POST");
    assert_eq!(out.status(), 303);
    assert_eq!(
        replay(second_cookie).await.status(),
        303,
        "the old cookie is dead after logout"
    );
}

#[tokio::test]
async fn pages_that_need_a_login_send_visitors_to_it_and_next_stays_local() {
    let app = TestApp::spawn().await;
    app.customer("jane@example.com", PASSWORD).await;

    let visitor = app.get("/account").await;
    assert_eq!(visitor.status(), 303);
    assert_eq!(location(&visitor), "/account/login?next=%2Faccount");

    for (next, expected) in [
        ("/account", "/account"),
        ("//evil.example", "/account"),
        ("https://evil.example", "/account"),
        ("/\\evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
    ] {
        let client = new_client();
        let response = app
            .submit_with(
                &client,
                &format!(
                    "/account/login?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                ),
                "/account/login",
                &[
                    ("email", "jane@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(location(&response), expected, "next={next}");
    }
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = TestApp::builder()
        .settings(|s| s.sessions.idle = Duration::from_secs(1))
        .spawn()
        .await;
    app.customer("jane@example.com", PASSWORD).await;
    let client = new_client();
    app.login_with(&client, "jane@example.com", PASSWORD).await;
    assert_eq!(app.status_with(&client, "/account").await, 200);

    tokio::time::sleep(Duration::from_millis(1600)).await;

    let response = client.get(app.url("/account")).send().await.expect("GET");
    assert_eq!(response.status(), 303, "logged out after the idle timeout");
}

#[tokio::test]
async fn five_failures_lock_the_account_even_against_the_right_password() {
    let app = TestApp::spawn().await;
    app.customer("jane@example.com", PASSWORD).await;
    let client = new_client();

    let mut refusals = Vec::new();
    for _ in 0..5 {
        let response = app
            .login_with(&client, "jane@example.com", "wrong password!")
            .await;
        assert_eq!(response.status(), 200);
        refusals.push(without_token(&response.text().await.expect("body")));
    }
    let locked = app.login_with(&client, "jane@example.com", PASSWORD).await;

    assert_eq!(locked.status(), 200, "not signed in");
    assert!(session_cookie(&locked).is_none());
    assert_eq!(
        without_token(&locked.text().await.expect("body")),
        refusals[0],
        "the same message as a wrong password"
    );
    let mail = app
        .link_in_mail("jane@example.com", "/account/password-reset", 1)
        .await;
    assert!(
        mail.starts_with("/account/password-reset"),
        "the owner is told"
    );

    app.execute("UPDATE users SET locked_until = 1").await;
    let after = app.login_with(&client, "jane@example.com", PASSWORD).await;
    assert_eq!(
        after.status(),
        303,
        "the right password works after the cool-off"
    );
}

#[tokio::test]
async fn known_and_unknown_emails_get_the_same_answers() {
    let app = TestApp::spawn().await;
    app.customer("jane@example.com", PASSWORD).await;

    let known = app
        .login_with(&new_client(), "jane@example.com", "wrong password!")
        .await;
    let unknown = app
        .login_with(&new_client(), "nobody@example.com", "wrong password!")
        .await;
    assert_eq!(known.status(), unknown.status());
    let known =
        without_token(&known.text().await.expect("body")).replace("jane@example.com", "EMAIL");
    let unknown =
        without_token(&unknown.text().await.expect("body")).replace("nobody@example.com", "EMAIL");
    assert_eq!(known, unknown, "login");

    let reset = |email: &'static str| {
        let app = &app;
        async move {
            let r = app
                .submit_with(
                    &new_client(),
                    "/account/password-reset",
                    "/account/password-reset",
                    &[("email", email)],
                )
                .await;
            (r.status(), without_token(&r.text().await.expect("body")))
        }
    };
    assert_eq!(
        reset("jane@example.com").await,
        reset("nobody@example.com").await,
        "reset"
    );
}

#[tokio::test]
async fn one_address_failing_on_many_accounts_is_throttled_and_forged_headers_do_not_help() {
    let app = TestApp::spawn().await;
    let client = new_client();

    for n in 0..20 {
        let email = format!("user{n}@example.com");
        app.login_with(&client, &email, "wrong password!").await;
    }
    let html = app.html_with(&client, "/account/login").await;
    let token = csrf_field(&html).expect("token");
    let throttled = client
        .post(app.url("/account/login"))
        .header("x-forwarded-for", "198.51.100.77")
        .form(&[
            ("email", "fresh@example.com"),
            ("password", "whatever pass"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .expect("POST");

    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "900");
}

#[tokio::test]
async fn a_password_reset_link_sets_a_new_password_and_ends_every_session() {
    let app = TestApp::spawn().await;
    app.customer("jane@example.com", PASSWORD).await;
    let other_device = new_client();
    app.login_with(&other_device, "jane@example.com", PASSWORD)
        .await;

    let (link, token) = reset_link(&app, "jane@example.com").await;
    let new_password = "a brand new passphrase";
    let done = app
        .submit(
            &link,
            "/account/password-reset/confirm",
            &[
                ("token", &token),
                ("password", new_password),
                ("password_confirm", new_password),
            ],
        )
        .await;

    assert_eq!(done.status(), 303);
    assert_eq!(
        app.status_with(&other_device, "/account").await,
        303,
        "other sessions ended"
    );
    assert_eq!(
        app.login_with(&new_client(), "jane@example.com", PASSWORD)
            .await
            .status(),
        200,
        "old password refused"
    );
    assert_eq!(
        app.login_with(&new_client(), "jane@example.com", new_password)
            .await
            .status(),
        303
    );
    let again = app.get(&link).await;
    assert_eq!(again.status(), 400, "the link works once");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    app.customer("jane@example.com", PASSWORD).await;
    let laptop = new_client();
    let phone = new_client();
    app.login_with(&laptop, "jane@example.com", PASSWORD).await;
    app.login_with(&phone, "jane@example.com", PASSWORD).await;
    let new_password = "another long passphrase";

    let wrong = app
        .submit_with(
            &laptop,
            "/account",
            "/account/password",
            &[
                ("current_password", "not it at all"),
                ("password", new_password),
                ("password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .expect("body")
            .contains("That is not your current password.")
    );

    let changed = app
        .submit_with(
            &laptop,
            "/account",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", new_password),
                ("password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status(), 303);
    assert_eq!(
        app.status_with(&laptop, "/account").await,
        200,
        "this session stays"
    );
    assert_eq!(
        app.status_with(&phone, "/account").await,
        303,
        "the other one ends"
    );
}

#[tokio::test]
async fn the_header_offers_sign_in_to_visitors_and_sign_out_to_customers() {
    let app = TestApp::spawn().await;
    app.customer("jane@example.com", PASSWORD).await;

    let visitor = app.page("/").await.1;
    assert!(visitor.contains("href=\"/account/login\"") && !visitor.contains("Sign out"));
    assert!(
        app.get("/").await.headers().get("set-cookie").is_none(),
        "browsing sets no cookie"
    );

    let client = new_client();
    app.login_with(&client, "jane@example.com", PASSWORD).await;
    let customer = app.html_with(&client, "/").await;
    assert!(customer.contains("action=\"/account/logout\"") && customer.contains("Sign out"));
}

#[tokio::test]
async fn an_unverified_customer_can_sign_in_but_not_reach_checkout_and_can_ask_for_a_new_link() {
    use axum::Router;
    use axum::routing::get;
    use securecart::accounts::extract::VerifiedUser;

    let checkout_like = Router::new().route(
        "/test/verified",
        get(|_: VerifiedUser| async { "checkout" }),
    );
    let app = TestApp::builder().routes(checkout_like).spawn().await;
    let client = new_client();
    register(&app, &client, "new@example.com", PASSWORD).await;
    let _first_link = app
        .link_in_mail("new@example.com", "/account/verify?token=", 1)
        .await;

    let login = app.login_with(&client, "new@example.com", PASSWORD).await;
    assert_eq!(login.status(), 303, "unverified accounts can sign in");
    let gated = client
        .get(app.url("/test/verified"))
        .send()
        .await
        .expect("GET");
    assert_eq!(gated.status(), 303);
    assert_eq!(location(&gated), "/account?notice=verify-first");

    let resend = app
        .submit_with(&client, "/account", "/account/verify/resend", &[])
        .await;
    assert_eq!(location(&resend), "/account?notice=verification-sent");
    let link = app
        .link_in_mail("new@example.com", "/account/verify?token=", 2)
        .await;
    let token = link.split("token=").nth(1).expect("token");
    let page = app.html_with(&client, &link).await;
    let csrf = csrf_field(&page).expect("csrf");
    let verified = client
        .post(app.url("/account/verify"))
        .form(&[("token", token), ("csrf_token", &csrf)])
        .send()
        .await
        .expect("POST");
    assert_eq!(verified.status(), 200);

    let open = client
        .get(app.url("/test/verified"))
        .send()
        .await
        .expect("GET");
    assert_eq!(
        open.text().await.expect("body"),
        "checkout",
        "verified customers pass"
    );
}

#[tokio::test]
async fn an_address_with_a_header_in_it_is_refused_and_no_mail_is_sent() {
    let app = TestApp::spawn().await;

    let (status, html) = register(
        &app,
        &new_client(),
        "jane@example.com\r\nBcc: all@evil.example",
        PASSWORD,
    )
    .await;

    assert_eq!(status, 422);
    assert!(html.contains("Enter a valid email address"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let outbox = app.dir.path().join("outbox");
    let sent = std::fs::read_dir(&outbox).map(|d| d.count()).unwrap_or(0);
    assert_eq!(sent, 0, "nothing reached the outbox");
}

#[tokio::test]
async fn a_login_records_time_and_address_and_rehashes_a_cheaper_hash() {
    let app = TestApp::builder()
        .settings(|s| s.pbkdf2_iterations = 2_000)
        .spawn()
        .await;
    app.customer("jane@example.com", PASSWORD).await;

    let response = app
        .login_with(&new_client(), "jane@example.com", PASSWORD)
        .await;
    assert_eq!(response.status(), 303);

    let (hash, at, ip): (String, Option<i64>, Option<String>) =
        sqlx::query_as("SELECT password_hash, last_login_at, last_login_ip FROM users")
            .fetch_one(app.db.pool())
            .await
            .expect("user");
    assert!(hash.starts_with("pbkdf2_sha256$2000$"), "{hash}");
    assert!(at.is_some());
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        app.login_with(&new_client(), "jane@example.com", PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn browsing_creates_no_session_and_sessions_are_stored_only_hashed() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.customer("jane@example.com", PASSWORD).await;

    for path in [
        "/",
        "/products",
        "/products?q=mug",
        "/cart",
        "/account/login",
    ] {
        app.get(path).await;
    }
    let count = |app: &TestApp| {
        let pool = app.db.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions")
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    };
    assert_eq!(count(&app).await, 0, "browsing wrote no session");

    let login = app
        .login_with(&new_client(), "jane@example.com", PASSWORD)
        .await;
    let cookie = session_cookie(&login).expect("cookie");
    let secret = cookie.split('=').nth(1).expect("value");
    let stored: String = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_one(app.db.pool())
        .await
        .expect("row");
    assert_ne!(stored, secret);
    assert_eq!(stored, securecart::security::session::digest(secret));
}

#[tokio::test]
async fn expired_sessions_are_purged() {
    let app = TestApp::spawn().await;
    app.customer("jane@example.com", PASSWORD).await;
    app.login_with(&new_client(), "jane@example.com", PASSWORD)
        .await;
    app.login_with(&new_client(), "jane@example.com", PASSWORD)
        .await;
    app.execute(
        "UPDATE sessions SET last_seen_at = 0 WHERE id_hash IN (SELECT MIN(id_hash) FROM sessions)",
    )
    .await;

    let settings = securecart::config::SessionSettings::default();
    let purged = securecart::security::session::purge_expired(&app.db, &settings)
        .await
        .expect("purge");

    assert_eq!(purged, 1);
}

#[tokio::test]
async fn many_people_behind_one_address_can_still_sign_in() {
    let app = TestApp::spawn().await;
    for n in 0..25 {
        let email = format!("colleague{n}@example.com");
        app.customer(&email, PASSWORD).await;
        let response = app.login_with(&new_client(), &email, PASSWORD).await;
        assert_eq!(response.status(), 303, "colleague {n}");
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_one_throttled() {
    let app = TestApp::builder()
        .settings(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")])
        .spawn()
        .await;
    let client = new_client();
    let attempt = |forwarded: &'static str| {
        let app = &app;
        let client = client.clone();
        async move {
            let html = app.html_with(&client, "/account/login").await;
            let token = csrf_field(&html).expect("token");
            client
                .post(app.url("/account/login"))
                .header("x-forwarded-for", forwarded)
                .form(&[
                    ("email", "nobody@example.com"),
                    ("password", "wrong password!"),
                    ("csrf_token", &token),
                ])
                .send()
                .await
                .expect("POST")
                .status()
        }
    };

    for _ in 0..20 {
        attempt("203.0.113.5").await;
    }
    assert_eq!(
        attempt("203.0.113.5").await,
        429,
        "the client behind the proxy is throttled"
    );
    assert_eq!(
        attempt("198.51.100.9").await,
        200,
        "another client behind it is not"
    );
}

#[tokio::test]
async fn a_weak_new_password_at_reset_keeps_the_link_and_a_good_one_unlocks_the_account() {
    let app = TestApp::spawn().await;
    app.customer("jane@example.com", PASSWORD).await;
    app.execute("UPDATE users SET locked_until = 99999999999999, lockouts = 3")
        .await;
    let (link, token) = reset_link(&app, "jane@example.com").await;
    let post = |password: &'static str| {
        let (app, link, token) = (&app, link.clone(), token.clone());
        async move {
            app.submit(
                &link,
                "/account/password-reset/confirm",
                &[
                    ("token", &token),
                    ("password", password),
                    ("password_confirm", password),
                ],
            )
            .await
        }
    };

    let weak = post("jane123456").await;
    assert_eq!(weak.status(), 422);
    assert!(
        weak.text()
            .await
            .expect("body")
            .contains("too similar to your email")
    );

    let good = post("a brand new passphrase").await;
    assert_eq!(good.status(), 303, "the link survived the refusal");
    let login = app
        .login_with(&new_client(), "jane@example.com", "a brand new passphrase")
        .await;
    assert_eq!(login.status(), 303, "the reset lifted the lockout");
}

#[tokio::test]
async fn behind_https_cookies_are_secure_and_host_prefixed() {
    let app = TestApp::builder()
        .settings(|s| {
            s.public_url = "https://shop.example".to_owned();
            s.sessions.secure_cookies = true;
        })
        .spawn()
        .await;
    app.customer("jane@example.com", PASSWORD).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    let form = client
        .get(app.url("/account/login"))
        .send()
        .await
        .expect("GET");
    let csrf_cookie = form.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(
        csrf_cookie.starts_with("__Host-securecart_csrf=") && csrf_cookie.contains("Secure"),
        "{csrf_cookie}"
    );
    let token = csrf_field(&form.text().await.expect("body")).expect("token");
    let login = client
        .post(app.url("/account/login"))
        .header("cookie", format!("__Host-securecart_csrf={token}"))
        .form(&[
            ("email", "jane@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .expect("POST");

    assert_eq!(login.status(), 303);
    let session = login.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(
        session.starts_with("__Host-securecart_session="),
        "{session}"
    );
    assert!(
        session.contains("Secure") && session.contains("HttpOnly") && session.contains("Path=/")
    );
    assert!(
        !session.contains("Domain="),
        "__Host- cookies carry no Domain"
    );
}

#[tokio::test]
async fn deactivating_an_account_ends_its_sessions_and_refuses_its_logins() {
    let app = TestApp::spawn().await;
    app.customer("jane@example.com", PASSWORD).await;
    let client = new_client();
    app.login_with(&client, "jane@example.com", PASSWORD).await;
    assert_eq!(app.status_with(&client, "/account").await, 200);

    app.execute("UPDATE users SET is_active = 0").await;

    assert_eq!(app.status_with(&client, "/account").await, 303);
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(sessions, 0, "the session row is gone");
    let again = app
        .login_with(&new_client(), "jane@example.com", PASSWORD)
        .await;
    assert_eq!(again.status(), 200, "an inactive account cannot sign in");
}
