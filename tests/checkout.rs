//! Checkout (F-05, S-05, S-11): the happy path, each test card, stock under
//! concurrency, double submits, and who may see an order.

use crate::support::shop::{GOOD_CARD, order_reference};
use crate::support::{TestApp, location, new_client};

const PRODUCTS: &str = "MUG-1,Oak Mug,A sturdy mug,12.50,5,Kitchen\n\
                        KNIFE-1,Chef Knife,Sharp,89.00,3,Kitchen";

async fn shop() -> TestApp {
    let app = TestApp::spawn().await;
    app.import(PRODUCTS).await;
    app
}

#[tokio::test]
async fn a_verified_customer_checks_out_and_gets_a_paid_order_and_an_email() {
    let app = shop().await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "2", &[]).await;
    app.add_to_cart(&customer, "chef-knife", "1", &[]).await;

    let shipping = app.html_with(&customer, "/checkout").await;
    assert!(shipping.contains("Where should we deliver?") && shipping.contains("€114.00"));

    let placed = app.checkout(&customer, GOOD_CARD).await;
    assert_eq!(placed.status(), 303);
    let to = location(&placed);
    assert!(to.ends_with("?placed=1"), "{to}");
    let reference = order_reference(&to).expect("an order reference");
    assert_eq!(reference.len(), 13);

    let page = app.html_with(&customer, &to).await;
    for expected in [
        "Thank you, your order is placed.",
        "Paid",
        "Oak Mug",
        "€25.00",
        "€114.00",
        "Keizersgracht 1",
        "1015 CJ Amsterdam",
        "Netherlands",
        "Visa ending in 4242",
        "Order placed",
        "Payment received",
    ] {
        assert!(page.contains(expected), "the order page lacks {expected:?}");
    }

    assert_eq!(app.stock_of("MUG-1").await, 3);
    assert_eq!(app.stock_of("KNIFE-1").await, 2);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM cart_lines").await,
        0,
        "the cart is empty"
    );
    assert_eq!(
        app.scalar("SELECT total_minor FROM orders").await,
        11_400,
        "the total is the database's prices"
    );

    let list = app.html_with(&customer, "/orders").await;
    assert!(list.contains(&format!("/orders/{reference}")) && list.contains("€114.00"));

    let mail = app.outbox(1).await.pop().expect("a confirmation");
    assert!(mail.contains("To: ada@example.com"));
    assert!(mail.contains(&reference) && mail.contains("114.00"));
}

#[tokio::test]
async fn shipping_fields_are_checked_one_by_one_and_kept_on_error() {
    let app = shop().await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "1", &[]).await;

    let response = app
        .submit_with(
            &customer,
            "/checkout",
            "/checkout/shipping",
            &[
                ("name", "Ada <b>Lovelace</b>"),
                ("line1", ""),
                ("city", "Amsterdam"),
                ("postal_code", "!"),
                ("country", "XX"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("body");
    assert!(page.contains("Enter the street and house number."));
    assert!(page.contains("Enter the postal code"));
    assert!(page.contains("Choose a country we deliver to."));
    assert!(
        page.contains("value=\"Ada &#60;b&#62;Lovelace&#60;/b&#62;\""),
        "kept, escaped"
    );
    assert!(page.contains("value=\"Amsterdam\""));

    // Straight to payment without a saved address goes back to shipping.
    let payment = customer
        .get(app.url("/checkout/payment"))
        .send()
        .await
        .expect("GET");
    assert_eq!(location(&payment), "/checkout");
}

#[tokio::test]
async fn only_signed_in_verified_customers_reach_checkout() {
    let app = shop().await;
    let visitor = new_client();
    app.add_to_cart(&visitor, "oak-mug", "1", &[]).await;
    let response = visitor.get(app.url("/checkout")).send().await.expect("GET");
    assert_eq!(location(&response), "/account/login?next=%2Fcheckout");

    let unverified = new_client();
    let hash = securecart::security::password::hash("correct horse battery staple", 1_000);
    securecart::accounts::store::insert_user(
        &app.db,
        "new@example.com",
        "new@example.com",
        &hash,
        "customer",
        false,
    )
    .await
    .expect("insert")
    .expect("new user");
    app.login_with(
        &unverified,
        "new@example.com",
        "correct horse battery staple",
    )
    .await;
    let response = unverified
        .get(app.url("/checkout"))
        .send()
        .await
        .expect("GET");
    assert_eq!(location(&response), "/account?notice=verify-first");
    let placed = unverified
        .post(app.url("/checkout"))
        .form(&[("card_number", GOOD_CARD)])
        .send()
        .await
        .expect("POST");
    assert_ne!(
        placed.status(),
        303,
        "no order without a CSRF token, let alone verification"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 0);
}

#[tokio::test]
async fn each_test_card_ends_as_the_spec_says_and_a_refusal_releases_the_stock() {
    let app = shop().await;
    let cases = [
        ("4000000000000002", "Your card was declined.", "declined"),
        ("4000 0000 0000 9995", "insufficient funds", "declined"),
        (
            "4000-0000-0000-0119",
            "could not reach our payment provider",
            "failed",
        ),
    ];
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "chef-knife", "3", &[]).await;

    for (card, message, outcome) in cases {
        let response = app.checkout(&customer, card).await;
        assert_eq!(response.status(), 402, "{card}");
        let page = response.text().await.expect("body");
        assert!(page.contains(message), "{card}: {message:?} missing");
        assert!(
            page.contains("name=\"checkout_token\""),
            "the customer may try again"
        );
        assert_eq!(
            app.stock_of("KNIFE-1").await,
            3,
            "{card}: the stock is back"
        );
        let last_outcome: String =
            sqlx::query_scalar("SELECT outcome FROM payments ORDER BY id DESC LIMIT 1")
                .fetch_one(app.db.pool())
                .await
                .expect("a payment record");
        assert_eq!(last_outcome, outcome, "{card}");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM orders WHERE status = 'payment_failed'")
            .await,
        3
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM cart_lines").await,
        1,
        "the cart is kept"
    );

    // Another card then goes through, with the same cart.
    let paid = app.checkout(&customer, "5555555555554444").await;
    assert_eq!(paid.status(), 303);
    let page = app.html_with(&customer, &location(&paid)).await;
    assert!(page.contains("Mastercard ending in 4444"));
    assert_eq!(app.stock_of("KNIFE-1").await, 0);
}

#[tokio::test]
async fn bad_card_details_get_messages_and_are_never_shown_again() {
    let app = shop().await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "1", &[]).await;
    app.ship_to_default_address(&customer).await;
    let (csrf, token) = app.payment_tokens(&customer).await;

    let response = customer
        .post(app.url("/checkout"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("checkout_token", token.as_str()),
            ("card_number", "4242424242424241"),
            ("expiry", "01/20"),
            ("cvc", "12"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("body");
    assert!(page.contains("This card number is not valid."));
    assert!(page.contains("This card has expired."));
    assert!(page.contains("3 or 4 digit security code"));
    assert!(
        !page.contains("4242424242424241") && !page.contains("01/20"),
        "card data echoed"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 0);
}

#[tokio::test]
async fn twenty_buyers_for_three_knives_make_exactly_three_orders() {
    let app = shop().await;
    let mut buyers = Vec::new();
    for n in 0..20 {
        let client = app
            .signed_in_customer(&format!("buyer{n}@example.com"))
            .await;
        app.add_to_cart(&client, "chef-knife", "1", &[]).await;
        app.ship_to_default_address(&client).await;
        let tokens = app.payment_tokens(&client).await;
        buyers.push((client, tokens));
    }

    let attempts = buyers
        .iter()
        .map(|(client, tokens)| app.pay_with_tokens(client, tokens, GOOD_CARD));
    let responses = futures_util::future::join_all(attempts).await;

    let placed = responses
        .iter()
        .filter(|r| location(r).starts_with("/orders/"))
        .count();
    let refused = responses
        .iter()
        .filter(|r| location(r) == "/cart?notice=fix")
        .count();
    assert_eq!(placed, 3, "one order per knife");
    assert_eq!(refused, 17, "everyone else is told the cart changed");
    assert_eq!(app.stock_of("KNIFE-1").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM orders WHERE status = 'paid'")
            .await,
        3
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM orders").await,
        3,
        "no half-made orders"
    );
}

#[tokio::test]
async fn a_double_submitted_checkout_makes_one_order_charged_once() {
    let app = shop().await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "1", &[]).await;
    app.ship_to_default_address(&customer).await;
    let tokens = app.payment_tokens(&customer).await;

    let clicks = (0..5).map(|_| app.pay_with_tokens(&customer, &tokens, GOOD_CARD));
    let responses = futures_util::future::join_all(clicks).await;
    let references: std::collections::HashSet<String> = responses
        .iter()
        .map(|r| {
            order_reference(&location(r))
                .unwrap_or_else(|| panic!("{} {}", r.status(), location(r)))
        })
        .collect();
    assert_eq!(references.len(), 1, "every click leads to the same order");

    // A refresh of the POST later still finds it.
    let again = app.pay_with_tokens(&customer, &tokens, GOOD_CARD).await;
    assert_eq!(
        order_reference(&location(&again)),
        references.into_iter().next()
    );

    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM payments").await,
        1,
        "charged once"
    );
    assert_eq!(app.stock_of("MUG-1").await, 4);
}

#[tokio::test]
async fn a_made_up_or_stale_checkout_token_places_nothing() {
    let app = shop().await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "1", &[]).await;
    app.ship_to_default_address(&customer).await;
    let stale = app.payment_tokens(&customer).await;
    let _fresh = app.payment_tokens(&customer).await;

    let made_up = (stale.0.clone(), "made-up-token".to_owned());
    for tokens in [&stale, &made_up] {
        let response = app.pay_with_tokens(&customer, tokens, GOOD_CARD).await;
        assert_eq!(location(&response), "/checkout/payment?notice=expired");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 0);
    let page = app
        .html_with(&customer, "/checkout/payment?notice=expired")
        .await;
    assert!(page.contains("nothing was charged"));
}

#[tokio::test]
async fn another_customer_or_a_visitor_gets_404_for_an_order() {
    let app = shop().await;
    let ada = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&ada, "oak-mug", "1", &[]).await;
    let placed = app.checkout(&ada, GOOD_CARD).await;
    let reference = order_reference(&location(&placed)).expect("reference");
    let path = format!("/orders/{reference}");
    assert_eq!(app.status_with(&ada, &path).await, 200);

    let mallory = app.signed_in_customer("mallory@example.com").await;
    assert_eq!(app.status_with(&mallory, &path).await, 404);
    let visitor = new_client().get(app.url(&path)).send().await.expect("GET");
    assert_eq!(visitor.status(), 404);
    let offer = visitor.text().await.expect("body");
    assert!(offer.contains(&format!("/account/login?next=%2Forders%2F{reference}")));
    let unknown = app.html_with(&new_client(), "/orders/ZZZZZZZZZZZZZ").await;
    assert_eq!(
        unknown.replace("ZZZZZZZZZZZZZ", &reference),
        offer,
        "a visitor learns nothing about which orders exist"
    );
    for guess in [
        "/orders/1",
        "/orders/0000000000001",
        "/orders/..%2F..%2Fetc",
    ] {
        assert_eq!(app.status_with(&mallory, guess).await, 404, "{guess}");
    }
    assert!(
        !app.html_with(&mallory, "/orders")
            .await
            .contains(&reference)
    );
    assert_eq!(
        location(
            &new_client()
                .get(app.url("/orders"))
                .send()
                .await
                .expect("GET")
        ),
        "/account/login?next=%2Forders"
    );
}

#[tokio::test]
async fn a_price_change_after_the_payment_page_was_shown_stops_the_payment() {
    let app = shop().await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "1", &[]).await;
    app.ship_to_default_address(&customer).await;
    let tokens = app.payment_tokens(&customer).await;

    app.execute("UPDATE products SET price_minor = 9900 WHERE sku = 'MUG-1'")
        .await;
    let response = app.pay_with_tokens(&customer, &tokens, GOOD_CARD).await;
    assert_eq!(location(&response), "/cart?notice=price-changed");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM orders").await,
        0,
        "nothing charged"
    );

    // Seen and accepted on a fresh payment page, the new price is what is charged.
    let paid = app.checkout(&customer, GOOD_CARD).await;
    assert_eq!(paid.status(), 303);
    assert_eq!(app.scalar("SELECT total_minor FROM orders").await, 9900);
}

/// The dummy gateway, slowed down and counting its charges, so that parallel submits
/// really overlap the payment.
struct SlowGateway {
    inner: securecart::checkout::payment::dummy::DummyGateway,
    charges: std::sync::atomic::AtomicUsize,
}

impl securecart::checkout::payment::PaymentGateway for SlowGateway {
    fn charge(
        &self,
        request: securecart::checkout::payment::ChargeRequest,
    ) -> futures_util::future::BoxFuture<
        '_,
        Result<securecart::checkout::payment::Charge, securecart::checkout::payment::PaymentError>,
    > {
        self.charges
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            self.inner.charge(request).await
        })
    }

    fn refund<'a>(
        &'a self,
        charge_reference: &'a str,
        amount: securecart::money::Money,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<securecart::checkout::payment::Refund, securecart::checkout::payment::PaymentError>,
    > {
        self.inner.refund(charge_reference, amount)
    }
}

#[tokio::test]
async fn parallel_submits_during_a_slow_payment_charge_the_card_once() {
    let gateway = std::sync::Arc::new(SlowGateway {
        inner: securecart::checkout::payment::dummy::DummyGateway::new(),
        charges: std::sync::atomic::AtomicUsize::new(0),
    });
    let app = TestApp::builder().gateway(gateway.clone()).spawn().await;
    app.import(PRODUCTS).await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "1", &[]).await;
    app.ship_to_default_address(&customer).await;
    let tokens = app.payment_tokens(&customer).await;

    let clicks = (0..4).map(|_| app.pay_with_tokens(&customer, &tokens, GOOD_CARD));
    let responses = futures_util::future::join_all(clicks).await;

    assert_eq!(
        gateway.charges.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one call to the gateway"
    );
    let references: std::collections::HashSet<Option<String>> = responses
        .iter()
        .map(|r| order_reference(&location(r)))
        .collect();
    assert_eq!(references.len(), 1, "{references:?}");
    assert!(references.iter().all(Option::is_some));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM orders").await, 1);
}

#[tokio::test]
async fn after_five_declined_cards_payments_pause_for_an_hour() {
    let app = shop().await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "1", &[]).await;
    for _ in 0..5 {
        let declined = app.checkout(&customer, "4000000000000002").await;
        assert_eq!(declined.status(), 402);
    }

    let paused = app.checkout(&customer, GOOD_CARD).await;
    assert_eq!(paused.status(), 429);
    assert!(
        paused
            .text()
            .await
            .expect("body")
            .contains("paused payments")
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM orders").await,
        5,
        "no order for the sixth try"
    );

    // Others are not affected.
    let other = app.signed_in_customer("grace@example.com").await;
    app.add_to_cart(&other, "oak-mug", "1", &[]).await;
    assert_eq!(app.checkout(&other, GOOD_CARD).await.status(), 303);
}

#[tokio::test]
async fn markup_in_an_address_comes_back_encoded_on_every_page() {
    let app = shop().await;
    let customer = app.signed_in_customer("ada@example.com").await;
    app.add_to_cart(&customer, "oak-mug", "1", &[]).await;
    let payload = "\"><svg/onload=1>";
    let mut address: Vec<(&str, &str)> = crate::support::shop::ADDRESS.to_vec();
    address[0] = ("name", payload);
    address[2] = ("line2", "'; DROP TABLE orders; --");
    let saved = app
        .submit_with(&customer, "/checkout", "/checkout/shipping", &address)
        .await;
    assert_eq!(location(&saved), "/checkout/payment");

    let payment = app.html_with(&customer, "/checkout/payment").await;
    let tokens = app.payment_tokens(&customer).await;
    let placed = app.pay_with_tokens(&customer, &tokens, GOOD_CARD).await;
    let order = app.html_with(&customer, &location(&placed)).await;
    for page in [&payment, &order] {
        assert!(!page.contains("<svg/onload=1>"), "markup reached a page");
        assert!(
            page.contains("&#34;&#62;&#60;svg/onload=1&#62;"),
            "the name is shown, encoded"
        );
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM orders").await,
        1,
        "the table is intact"
    );
}
