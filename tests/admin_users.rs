//! Users and roles in the back office (F-09): admins only; deactivation and "sign out
//! everywhere" end live sessions at once; role changes take effect on the next
//! request; sensitive actions want a recent password.

use crate::support::{TestApp, location, new_client};

const PASSWORD: &str = "correct horse battery staple";

async fn account(app: &TestApp, email: &str, role: &str) -> (i64, reqwest::Client) {
    app.account_signed_in(email, role).await
}

async fn change(
    app: &TestApp,
    admin: &reqwest::Client,
    id: i64,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = format!("/admin/users/{id}");
    app.submit_with(admin, &page, &page, fields).await
}

#[tokio::test]
async fn only_admins_reach_users_and_staff_get_the_same_404_as_customers() {
    let app = TestApp::spawn().await;
    let (customer_id, customer) = account(&app, "ada@example.com", "customer").await;
    let (_, staff) = account(&app, "staff@example.com", "staff").await;
    let (_, admin) = account(&app, "admin@example.com", "admin").await;
    let user_page = format!("/admin/users/{customer_id}");
    for path in [
        "/admin/users",
        user_page.as_str(),
        "/admin/users?q=ada&role=customer",
    ] {
        assert_eq!(app.status_with(&admin, path).await, 200, "{path} as admin");
        assert_eq!(app.status_with(&staff, path).await, 404, "{path} as staff");
        assert_eq!(
            app.status_with(&customer, path).await,
            404,
            "{path} as customer"
        );
    }
    let token = crate::support::csrf_field(&app.html_with(&staff, "/admin").await).expect("token");
    let attempt = staff
        .post(app.url(&user_page))
        .form(&[
            ("csrf_token", token.as_str()),
            ("change", "role"),
            ("role", "admin"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(attempt.status(), 404);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {customer_id} AND role = 'customer'"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn an_admin_creates_an_account_whose_owner_chooses_the_password() {
    let app = TestApp::spawn().await;
    let (_, admin) = account(&app, "admin@example.com", "admin").await;
    let created = app
        .submit_with(
            &admin,
            "/admin/users",
            "/admin/users",
            &[("email", "new.staff@example.com"), ("role", "staff")],
        )
        .await;
    assert_eq!(location(&created), "/admin/users?notice=created");
    let link = app
        .link_in_mail(
            "new.staff@example.com",
            "/account/password-reset/confirm",
            1,
        )
        .await;
    assert!(link.contains("token="));

    let duplicate = app
        .submit_with(
            &admin,
            "/admin/users",
            "/admin/users",
            &[("email", "NEW.staff@example.com"), ("role", "staff")],
        )
        .await;
    assert_eq!(duplicate.status(), 422);
    assert!(
        duplicate
            .text()
            .await
            .expect("body")
            .contains("exists already")
    );
    let bad = app
        .submit_with(
            &admin,
            "/admin/users",
            "/admin/users",
            &[("email", "not an email"), ("role", "root")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 2);
}

#[tokio::test]
async fn deactivating_ends_a_live_session_at_once() {
    let app = TestApp::spawn().await;
    let (ada_id, ada) = account(&app, "ada@example.com", "customer").await;
    let (_, admin) = account(&app, "admin@example.com", "admin").await;
    assert_eq!(app.status_with(&ada, "/account").await, 200);

    let done = change(&app, &admin, ada_id, &[("change", "deactivate")]).await;
    assert_eq!(
        location(&done),
        format!("/admin/users/{ada_id}?notice=done")
    );
    let after = ada.get(app.url("/account")).send().await.expect("GET");
    assert!(location(&after).starts_with("/account/login"), "signed out");
    assert_eq!(
        app.login_with(&new_client(), "ada@example.com", PASSWORD)
            .await
            .status(),
        200,
        "cannot sign in"
    );

    change(&app, &admin, ada_id, &[("change", "reactivate")]).await;
    assert_eq!(
        app.login_with(&new_client(), "ada@example.com", PASSWORD)
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn signing_a_user_out_everywhere_ends_each_of_their_sessions() {
    let app = TestApp::spawn().await;
    let (ada_id, phone) = account(&app, "ada@example.com", "customer").await;
    let laptop = new_client();
    app.login_with(&laptop, "ada@example.com", PASSWORD).await;
    let (_, admin) = account(&app, "admin@example.com", "admin").await;

    change(&app, &admin, ada_id, &[("change", "end-sessions")]).await;
    for device in [&phone, &laptop] {
        let response = device.get(app.url("/account")).send().await.expect("GET");
        assert!(location(&response).starts_with("/account/login"));
    }
    assert_eq!(
        app.status_with(&admin, "/admin").await,
        200,
        "the admin's own session stays"
    );
}

#[tokio::test]
async fn a_role_change_takes_effect_on_the_next_request_and_unlock_restores_sign_in() {
    let app = TestApp::spawn().await;
    let (ada_id, ada) = account(&app, "ada@example.com", "customer").await;
    let (admin_id, admin) = account(&app, "admin@example.com", "admin").await;

    assert_eq!(app.status_with(&ada, "/admin").await, 404);
    change(
        &app,
        &admin,
        ada_id,
        &[("change", "role"), ("role", "staff")],
    )
    .await;
    assert_eq!(app.status_with(&ada, "/admin").await, 200);
    change(
        &app,
        &admin,
        ada_id,
        &[("change", "role"), ("role", "customer")],
    )
    .await;
    assert_eq!(app.status_with(&ada, "/admin").await, 404);

    let own = change(
        &app,
        &admin,
        admin_id,
        &[("change", "role"), ("role", "customer")],
    )
    .await;
    assert_eq!(own.status(), 422, "no admin demotes themselves");

    for _ in 0..5 {
        app.login_with(&new_client(), "ada@example.com", "wrong password here")
            .await;
    }
    assert_eq!(
        app.login_with(&new_client(), "ada@example.com", PASSWORD)
            .await
            .status(),
        200,
        "locked"
    );
    change(&app, &admin, ada_id, &[("change", "unlock")]).await;
    assert_eq!(
        app.login_with(&new_client(), "ada@example.com", PASSWORD)
            .await
            .status(),
        303
    );

    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'user.%' ORDER BY seq")
            .fetch_all(app.db.pool())
            .await
            .expect("audit");
    assert_eq!(actions, ["user.role", "user.role", "user.unlock"]);
}

#[tokio::test]
async fn sensitive_actions_ask_for_the_password_after_fifteen_minutes() {
    let app = TestApp::spawn().await;
    let (ada_id, _ada) = account(&app, "ada@example.com", "customer").await;
    let (admin_id, admin) = account(&app, "admin@example.com", "admin").await;
    app.execute(&format!(
        "UPDATE sessions SET created_at = created_at - 1200000, last_seen_at = last_seen_at WHERE user_id = {admin_id}"
    ))
    .await;

    let asked = change(
        &app,
        &admin,
        ada_id,
        &[("change", "role"), ("role", "staff")],
    )
    .await;
    let to = location(&asked);
    assert_eq!(
        to,
        format!("/admin/confirm?next=%2Fadmin%2Fusers%2F{ada_id}")
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {ada_id} AND role = 'customer'"
        ))
        .await,
        1
    );

    let wrong = app
        .submit_with(
            &admin,
            &to,
            "/admin/confirm",
            &[
                ("password", "not my password"),
                ("next", &format!("/admin/users/{ada_id}")),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    let right = app
        .submit_with(
            &admin,
            &to,
            "/admin/confirm",
            &[
                ("password", PASSWORD),
                ("next", &format!("/admin/users/{ada_id}")),
            ],
        )
        .await;
    assert_eq!(location(&right), format!("/admin/users/{ada_id}"));

    let done = change(
        &app,
        &admin,
        ada_id,
        &[("change", "role"), ("role", "staff")],
    )
    .await;
    assert_eq!(
        location(&done),
        format!("/admin/users/{ada_id}?notice=done")
    );
    let evil = app
        .submit_with(
            &admin,
            &to,
            "/admin/confirm",
            &[("password", PASSWORD), ("next", "https://evil.example")],
        )
        .await;
    assert_eq!(location(&evil), "/admin", "next stays on this site");
}
