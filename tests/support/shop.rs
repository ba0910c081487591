//! Shopping as a person would: fill a cart, go through checkout, read an order.

use super::{TestApp, csrf_field, location, new_client};

/// A valid delivery address for the shipping form.
pub const ADDRESS: [(&str, &str); 6] = [
    ("name", "Ada Lovelace"),
    ("line1", "Keizersgracht 1"),
    ("line2", ""),
    ("city", "Amsterdam"),
    ("postal_code", "1015 CJ"),
    ("country", "NL"),
];

/// A card the dummy gateway approves.
pub const GOOD_CARD: &str = "4242424242424242";

/// The value of the hidden field `name` on a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The order reference in a redirect to `/orders/{reference}`.
pub fn order_reference(location: &str) -> Option<String> {
    let rest = location.strip_prefix("/orders/")?;
    Some(rest.split('?').next().unwrap_or(rest).to_owned())
}

impl TestApp {
    /// A verified customer signed in with a browser of their own.
    pub async fn signed_in_customer(&self, email: &str) -> reqwest::Client {
        self.customer(email, "correct horse battery staple").await;
        let client = new_client();
        let response = self
            .login_with(&client, email, "correct horse battery staple")
            .await;
        assert_eq!(response.status(), 303, "login of {email}");
        client
    }

    /// A new verified account with `role`, signed in with a browser of its own.
    pub async fn account_signed_in(&self, email: &str, role: &str) -> (i64, reqwest::Client) {
        let password = "correct horse battery staple";
        let hash = securecart::security::password::hash(password, 1_000);
        let id =
            securecart::accounts::store::insert_user(&self.db, email, email, &hash, role, true)
                .await
                .expect("inserting a user")
                .expect("a new user");
        let client = new_client();
        let response = self.login_with(&client, email, password).await;
        assert_eq!(response.status(), 303, "login of {email}");
        (id, client)
    }

    /// Posts the add-to-cart form of product `slug` with `quantity` (and `extra` fields).
    pub async fn add_to_cart(
        &self,
        client: &reqwest::Client,
        slug: &str,
        quantity: &str,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut fields = vec![("product", slug), ("quantity", quantity)];
        fields.extend_from_slice(extra);
        self.submit_with(client, &format!("/products/{slug}"), "/cart/add", &fields)
            .await
    }

    /// Fills in the shipping step with [`ADDRESS`]; returns the response.
    pub async fn ship_to_default_address(&self, client: &reqwest::Client) -> reqwest::Response {
        self.submit_with(client, "/checkout", "/checkout/shipping", &ADDRESS)
            .await
    }

    /// The payment page's CSRF and checkout tokens (a fresh pair per visit).
    pub async fn payment_tokens(&self, client: &reqwest::Client) -> (String, String) {
        let html = self.html_with(client, "/checkout/payment").await;
        let csrf = csrf_field(&html).expect("CSRF token on the payment page");
        let token = hidden_field(&html, "checkout_token").expect("checkout token");
        (csrf, token)
    }

    /// Posts the payment form with `card` and the given tokens.
    pub async fn pay_with_tokens(
        &self,
        client: &reqwest::Client,
        (csrf, token): &(String, String),
        card: &str,
    ) -> reqwest::Response {
        client
            .post(self.url("/checkout"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("checkout_token", token.as_str()),
                ("card_number", card),
                ("expiry", "12/30"),
                ("cvc", "123"),
            ])
            .send()
            .await
            .expect("POST /checkout")
    }

    /// Shipping and payment with `card`, from a cart that can be checked out.
    pub async fn checkout(&self, client: &reqwest::Client, card: &str) -> reqwest::Response {
        let shipped = self.ship_to_default_address(client).await;
        assert_eq!(location(&shipped), "/checkout/payment", "shipping accepted");
        let tokens = self.payment_tokens(client).await;
        self.pay_with_tokens(client, &tokens, card).await
    }

    /// A single number from the database.
    pub async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.db.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn stock_of(&self, sku: &str) -> i64 {
        self.scalar(&format!("SELECT stock FROM products WHERE sku = '{sku}'"))
            .await
    }
}
