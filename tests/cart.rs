//! The cart (F-04): adding, changing and removing lines as a visitor and as a
//! customer, the merge at login, and the attacks on it: odd quantities, tampered
//! prices and other people's carts.

use crate::support::shop::hidden_field;
use crate::support::{TestApp, location, new_client};

const PRODUCTS: &str = "MUG-1,Oak Mug,A sturdy mug,12.50,5,Kitchen\n\
                        KNIFE-1,Chef Knife,Sharp,89.00,3,Kitchen\n\
                        TOTE-1,Canvas Tote,Roomy,24.00,0,Travel";

async fn shop() -> TestApp {
    let app = TestApp::spawn().await;
    app.import(PRODUCTS).await;
    app
}

#[tokio::test]
async fn a_visitor_fills_a_cart_from_the_product_page_and_the_list() {
    let app = shop().await;
    let visitor = new_client();

    let added = app.add_to_cart(&visitor, "oak-mug", "2", &[]).await;
    assert_eq!(added.status(), 303);
    assert_eq!(location(&added), "/cart?notice=added");
    assert!(
        added.headers()["set-cookie"]
            .to_str()
            .expect("text")
            .contains("securecart_session="),
        "the first add starts a session"
    );

    // The list's card form carries the session's token now.
    let list = app.html_with(&visitor, "/products").await;
    let token = crate::support::csrf_field(&list).expect("card forms carry a CSRF token");
    let from_list = visitor
        .post(app.url("/cart/add"))
        .form(&[
            ("product", "chef-knife"),
            ("quantity", "1"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(location(&from_list), "/cart?notice=added");

    let cart = app.html_with(&visitor, "/cart?notice=added").await;
    assert!(cart.contains("Added to your cart."));
    assert!(cart.contains("Oak Mug") && cart.contains("Chef Knife"));
    assert!(cart.contains("€25.00"), "line total of 2 × €12.50");
    assert!(cart.contains("€114.00"), "cart total");
    assert!(
        cart.contains(r#"aria-label="3 items">3<"#),
        "the header counts items"
    );
    assert!(cart.contains(r#"href="/checkout""#));
}

#[tokio::test]
async fn a_line_can_be_changed_and_removed() {
    let app = shop().await;
    let visitor = new_client();
    app.add_to_cart(&visitor, "oak-mug", "1", &[]).await;
    let product_id = app
        .scalar("SELECT id FROM products WHERE sku = 'MUG-1'")
        .await;
    let line = format!("/cart/lines/{product_id}");

    let changed = app
        .submit_with(&visitor, "/cart", &line, &[("quantity", "4")])
        .await;
    assert_eq!(location(&changed), "/cart?notice=updated");
    let cart = app.html_with(&visitor, "/cart").await;
    assert!(cart.contains("€50.00"), "4 × €12.50");

    let removed = app
        .submit_with(&visitor, "/cart", &format!("{line}/remove"), &[])
        .await;
    assert_eq!(location(&removed), "/cart?notice=removed");
    assert!(
        app.html_with(&visitor, "/cart")
            .await
            .contains("Your cart is empty.")
    );
}

#[tokio::test]
async fn odd_quantities_get_a_message_and_change_nothing() {
    let app = shop().await;
    let visitor = new_client();
    app.add_to_cart(&visitor, "oak-mug", "1", &[]).await;
    let product_id = app
        .scalar("SELECT id FROM products WHERE sku = 'MUG-1'")
        .await;

    for odd in [
        "0",
        "-1",
        "1.5",
        "1e3",
        "99999999999999999999",
        "",
        "two",
        "100",
    ] {
        let added = app.add_to_cart(&visitor, "oak-mug", odd, &[]).await;
        assert_eq!(added.status(), 422, "add {odd:?}");
        let page = added.text().await.expect("body");
        assert!(
            page.contains("Enter a whole number from 1 to 99."),
            "add {odd:?}"
        );

        let changed = app
            .submit_with(
                &visitor,
                "/cart",
                &format!("/cart/lines/{product_id}"),
                &[("quantity", odd)],
            )
            .await;
        assert_eq!(changed.status(), 422, "change {odd:?}");
        assert!(
            changed
                .text()
                .await
                .expect("body")
                .contains("Enter a whole number")
        );
    }
    assert_eq!(app.scalar("SELECT quantity FROM cart_lines").await, 1);
}

#[tokio::test]
async fn a_line_holds_no_more_than_the_stock_and_sold_out_products_are_refused() {
    let app = shop().await;
    let visitor = new_client();

    let capped = app.add_to_cart(&visitor, "chef-knife", "5", &[]).await;
    assert_eq!(location(&capped), "/cart?notice=capped");
    assert_eq!(app.scalar("SELECT quantity FROM cart_lines").await, 3);
    let again = app.add_to_cart(&visitor, "chef-knife", "1", &[]).await;
    assert_eq!(location(&again), "/cart?notice=capped");
    assert_eq!(app.scalar("SELECT quantity FROM cart_lines").await, 3);

    // A sold-out product's page has no form; a stale one still posts.
    let sold_out = app
        .submit_with(
            &visitor,
            "/cart",
            "/cart/add",
            &[("product", "canvas-tote"), ("quantity", "1")],
        )
        .await;
    assert_eq!(location(&sold_out), "/cart?notice=sold-out");
    let unknown = app
        .submit_with(
            &visitor,
            "/cart",
            "/cart/add",
            &[("product", "no-such-thing"), ("quantity", "1")],
        )
        .await;
    assert_eq!(location(&unknown), "/cart?notice=unavailable");
    let injected = app
        .submit_with(
            &visitor,
            "/cart",
            "/cart/add",
            &[("product", "x' OR '1'='1"), ("quantity", "1")],
        )
        .await;
    assert_eq!(location(&injected), "/cart?notice=unavailable");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cart_lines").await, 1);
}

#[tokio::test]
async fn prices_totals_and_owners_in_a_request_are_ignored() {
    let app = shop().await;
    let visitor = new_client();
    let someone = app
        .customer("someone@example.com", "correct horse battery staple")
        .await;

    let added = app
        .add_to_cart(
            &visitor,
            "oak-mug",
            "1",
            &[
                ("price", "0.01"),
                ("price_minor", "1"),
                ("total", "0"),
                ("user_id", &someone.to_string()),
            ],
        )
        .await;
    assert_eq!(location(&added), "/cart?notice=added");

    let cart = app.html_with(&visitor, "/cart").await;
    assert!(cart.contains("€12.50") && !cart.contains("€0.01"));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM carts WHERE user_id IS NOT NULL")
            .await,
        0,
        "the line went to the visitor's own cart"
    );
}

#[tokio::test]
async fn the_visitors_cart_joins_the_account_at_login_capped_by_stock() {
    let app = shop().await;
    let password = "correct horse battery staple";
    app.customer("ada@example.com", password).await;

    // Earlier, on another device, the customer put 2 knives in the account's cart.
    let phone = new_client();
    assert_eq!(
        app.login_with(&phone, "ada@example.com", password)
            .await
            .status(),
        303
    );
    app.add_to_cart(&phone, "chef-knife", "2", &[]).await;

    let laptop = new_client();
    app.add_to_cart(&laptop, "chef-knife", "2", &[]).await;
    app.add_to_cart(&laptop, "oak-mug", "1", &[]).await;
    let login = app.login_with(&laptop, "ada@example.com", password).await;
    assert_eq!(login.status(), 303);

    let cart = app.html_with(&laptop, "/cart").await;
    let knives = app
        .scalar(
            "SELECT l.quantity FROM cart_lines l JOIN carts c ON c.id = l.cart_id \
             JOIN products p ON p.id = l.product_id WHERE c.user_id IS NOT NULL AND p.sku = 'KNIFE-1'",
        )
        .await;
    assert_eq!(knives, 3, "2 + 2 knives, capped by the 3 in stock");
    assert!(cart.contains("Oak Mug"));
    assert!(cart.contains(r#"aria-label="4 items">4<"#));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM carts WHERE session_id_hash IS NOT NULL")
            .await,
        0,
        "the visitor's cart is gone"
    );
    let phone_cart = app.html_with(&phone, "/cart").await;
    assert!(
        phone_cart.contains("Oak Mug"),
        "the same account cart on every device"
    );
}

#[tokio::test]
async fn a_withdrawn_or_sold_out_product_is_flagged_and_blocks_checkout() {
    let app = shop().await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "2", &[]).await;
    app.add_to_cart(&customer, "chef-knife", "1", &[]).await;

    app.execute("UPDATE products SET active = 0 WHERE sku = 'MUG-1'")
        .await;
    let cart = app.html_with(&customer, "/cart").await;
    assert!(cart.contains("No longer available"));
    assert!(!cart.contains(r#"href="/checkout""#), "no way to check out");
    let checkout = customer
        .get(app.url("/checkout"))
        .send()
        .await
        .expect("GET");
    assert_eq!(location(&checkout), "/cart?notice=fix");

    app.execute("UPDATE products SET active = 1, stock = 1 WHERE sku = 'MUG-1'")
        .await;
    assert!(
        app.html_with(&customer, "/cart")
            .await
            .contains("Only 1 left")
    );
    app.execute("UPDATE products SET stock = 0 WHERE sku = 'MUG-1'")
        .await;
    assert!(app.html_with(&customer, "/cart").await.contains("Sold out"));
}

#[tokio::test]
async fn nobody_can_change_or_remove_a_line_in_someone_elses_cart() {
    let app = shop().await;
    let ada = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&ada, "oak-mug", "2", &[]).await;
    let product_id = app
        .scalar("SELECT id FROM products WHERE sku = 'MUG-1'")
        .await;

    let mallory = app.signed_in_customer("mallory@example.com").await;
    let line = format!("/cart/lines/{product_id}");
    app.submit_with(&mallory, "/cart", &line, &[("quantity", "1")])
        .await;
    app.submit_with(&mallory, "/cart", &format!("{line}/remove"), &[])
        .await;
    // Forms that name another cart's id are not a thing: the cart is the session's.
    app.submit_with(
        &mallory,
        "/cart",
        &line,
        &[("quantity", "1"), ("cart_id", "1")],
    )
    .await;

    assert_eq!(app.scalar("SELECT COUNT(*) FROM cart_lines").await, 1);
    assert_eq!(app.scalar("SELECT quantity FROM cart_lines").await, 2);
    assert!(
        app.html_with(&mallory, "/cart")
            .await
            .contains("Your cart is empty.")
    );
}

#[tokio::test]
async fn the_cart_forms_need_a_csrf_token() {
    let app = shop().await;
    let visitor = new_client();
    app.add_to_cart(&visitor, "oak-mug", "1", &[]).await;
    let html = app.html_with(&visitor, "/cart").await;
    assert!(hidden_field(&html, "csrf_token").is_some());

    let forged = visitor
        .post(app.url("/cart/add"))
        .form(&[("product", "oak-mug"), ("quantity", "5")])
        .send()
        .await
        .expect("POST");
    assert_eq!(forged.status(), 403);
    assert_eq!(app.scalar("SELECT quantity FROM cart_lines").await, 1);
}

#[tokio::test]
async fn a_visitors_cart_ends_with_the_session() {
    let app = shop().await;
    let visitor = new_client();
    app.add_to_cart(&visitor, "oak-mug", "1", &[]).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cart_lines").await, 1);

    app.execute("DELETE FROM sessions").await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM carts").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM cart_lines").await, 0);
    assert!(
        app.html_with(&visitor, "/cart")
            .await
            .contains("Your cart is empty.")
    );
}

#[tokio::test]
async fn a_visitor_gets_a_session_only_for_an_add_that_can_succeed() {
    let app = shop().await;
    for (product, notice) in [
        ("canvas-tote", "sold-out"),
        ("no-such-thing", "unavailable"),
    ] {
        let visitor = new_client();
        let response = app
            .submit_with(
                &visitor,
                "/products",
                "/cart/add",
                &[("product", product), ("quantity", "1")],
            )
            .await;
        assert_eq!(location(&response), format!("/cart?notice={notice}"));
        let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
        assert!(
            cookies
                .iter()
                .all(|c| !c.to_str().expect("text").contains("securecart_session=")),
            "{product}: {cookies:?}"
        );
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
}
