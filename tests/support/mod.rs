//! The test harness: a running shop, a client for it, and direct database access.

#![allow(dead_code)]

pub mod api;
pub mod shop;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use securecart::app::{AppState, router_with};
use securecart::catalog::{demo, import, store};
use securecart::checkout::payment::PaymentGateway;
use securecart::config::Settings;
use securecart::db::Db;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running shop with its own database and data folder.
pub struct TestApp {
    pub addr: SocketAddr,
    /// `https` when the shop serves its own TLS, `http` otherwise.
    pub scheme: &'static str,
    /// The development certificate it serves, when it does.
    pub certificate: Option<securecart::server::tls::TlsFiles>,
    pub db: Db,
    pub client: reqwest::Client,
    pub dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::builder().spawn().await
    }

    pub fn builder() -> Builder {
        Builder {
            settings_fn: Box::new(|_| {}),
            extra: Router::new(),
            gateway: None,
            tls: false,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
    }

    /// GETs `path` and returns its status and body.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.expect("response body"))
    }

    pub async fn load_demo(&self) {
        demo::load_demo_catalog(&self.db)
            .await
            .expect("loading the demo catalogue");
    }

    /// Imports products from CSV rows (the header is added).
    pub async fn import(&self, rows: &str) {
        let csv = format!("{}\n{rows}", import::COLUMNS.join(","));
        let rows = import::parse_csv(csv.as_bytes()).expect("valid test CSV");
        store::upsert_products(&self.db, &rows, |_| None)
            .await
            .expect("importing products");
    }

    pub async fn product_count(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(self.db.pool())
            .await
            .expect("counting products")
    }

    pub async fn execute(&self, sql: &str) {
        sqlx::query(sql)
            .execute(self.db.pool())
            .await
            .expect("test SQL");
    }

    /// The status `client` gets for GET `path`.
    pub async fn status_with(&self, client: &reqwest::Client, path: &str) -> u16 {
        client
            .get(self.url(path))
            .send()
            .await
            .expect("GET")
            .status()
            .as_u16()
    }

    /// The body `client` gets for GET `path`.
    pub async fn html_with(&self, client: &reqwest::Client, path: &str) -> String {
        let response = client.get(self.url(path)).send().await.expect("GET");
        response.text().await.expect("body")
    }

    /// GETs `page` with `client`, then POSTs `fields` and the page's CSRF token to
    /// `action`, as a person filling in the form would.
    pub async fn submit_with(
        &self,
        client: &reqwest::Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let html = client
            .get(self.url(page))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body");
        let token = csrf_field(&html).unwrap_or_else(|| panic!("no CSRF field on {page}"));
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        client
            .post(self.url(action))
            .form(&form)
            .send()
            .await
            .expect("POST")
    }

    pub async fn submit(
        &self,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.submit_with(&self.client, page, action, fields).await
    }

    /// Messages in the outbox, oldest first, waiting briefly for ones still being written.
    pub async fn outbox(&self, at_least: usize) -> Vec<String> {
        let dir = self.dir.path().join("outbox");
        for _ in 0..100 {
            let mut names: Vec<_> = std::fs::read_dir(&dir)
                .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
                .unwrap_or_default();
            names.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "eml"));
            if names.len() >= at_least {
                names.sort();
                return names
                    .iter()
                    .map(|p| std::fs::read_to_string(p).expect("message"))
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        panic!("fewer than {at_least} messages reached the outbox");
    }

    /// The path and query of the first link to `prefix` in the newest message to `to`.
    pub async fn link_in_mail(&self, to: &str, prefix: &str, at_least: usize) -> String {
        let messages = self.outbox(at_least).await;
        let message = messages
            .iter()
            .rev()
            .find(|m| m.contains(&format!("To: {to}")))
            .unwrap_or_else(|| panic!("no message to {to}"));
        let unfolded = message.replace("=\r\n", "").replace("=3D", "=");
        let start = unfolded
            .find(prefix)
            .unwrap_or_else(|| panic!("no {prefix} link in {unfolded}"));
        let link: String = unfolded[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        link
    }

    /// Creates a verified customer directly in the database.
    pub async fn customer(&self, email: &str, password: &str) -> i64 {
        let hash = securecart::security::password::hash(password, 1_000);
        let key = email.to_lowercase();
        securecart::accounts::store::insert_user(&self.db, email, &key, &hash, "customer", true)
            .await
            .expect("inserting a user")
            .expect("a new user")
    }

    /// Signs `client` in; returns the login response (a redirect on success).
    pub async fn login_with(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.submit_with(
            client,
            "/account/login",
            "/account/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Stops accepting connections and waits for the server to finish.
    pub async fn shutdown(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(server) => server.await.expect("server task"),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub struct Builder {
    settings_fn: Box<dyn FnOnce(&mut Settings)>,
    extra: Router<AppState>,
    gateway: Option<Arc<dyn PaymentGateway>>,
    tls: bool,
}

impl Builder {
    pub fn settings(mut self, f: impl FnOnce(&mut Settings) + 'static) -> Self {
        self.settings_fn = Box::new(f);
        self
    }

    /// Routes mounted behind the shop's middleware, for handlers the shop lacks.
    pub fn routes(mut self, extra: Router<AppState>) -> Self {
        self.extra = extra;
        self
    }

    /// A payment gateway in place of the dummy one.
    pub fn gateway(mut self, gateway: Arc<dyn PaymentGateway>) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// Serve HTTPS with a development certificate made in the data folder, as
    /// `serve --self-signed` does; the app's client trusts that certificate.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    pub async fn spawn(self) -> TestApp {
        let dir = tempfile::tempdir().expect("temporary data folder");
        let database_url = test_database_url().await;
        let mut settings = Settings::for_tests(dir.path(), database_url.as_deref());
        let certificate = self.tls.then(|| {
            securecart::server::tls::self_signed(dir.path()).expect("development certificate")
        });
        if let Some(files) = &certificate {
            settings.https.tls = Some(files.clone());
            settings.https.self_signed = true;
            settings.sessions.secure_cookies = true;
            settings.public_url = "https://127.0.0.1".to_owned();
        }
        (self.settings_fn)(&mut settings);
        let acceptor = settings.https.tls.as_ref().map(|files| {
            securecart::server::tls::acceptor(files)
                .expect("TLS acceptor")
                .0
        });

        let db = Db::connect(&settings.database_url, settings.db_max_connections)
            .await
            .expect("connecting to the test database");
        db.migrate().await.expect("migrating the test database");

        let header_timeout = settings.limits.header_timeout;
        let mut state = AppState::new(db.clone(), settings).expect("application state");
        if let Some(gateway) = self.gateway {
            state.gateway = gateway;
        }
        let app = router_with(state, self.extra);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(securecart::server::serve(
            listener,
            app,
            header_timeout,
            acceptor,
            async {
                let _ = rx.await;
            },
        ));

        let client = match &certificate {
            Some(files) => trusting(files).build().expect("HTTPS client"),
            None => new_client(),
        };
        TestApp {
            addr,
            scheme: if certificate.is_some() {
                "https"
            } else {
                "http"
            },
            certificate,
            db,
            client,
            dir,
            shutdown: Some(tx),
            server: Some(server),
        }
    }
}

/// A browser of its own: a cookie store, no redirects followed.
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// A browser of its own that trusts the development certificate in `files`.
pub fn trusting(files: &securecart::server::tls::TlsFiles) -> reqwest::ClientBuilder {
    let pem = std::fs::read(&files.cert).expect("certificate file");
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM certificate"))
}

/// The value of the first `csrf_token` field on a page.
pub fn csrf_field(html: &str) -> Option<String> {
    let start = html.find("name=\"csrf_token\" value=\"")? + "name=\"csrf_token\" value=\"".len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The location a redirect points to.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().expect("text").to_owned())
        .unwrap_or_default()
}

/// With `SECURECART_TEST_DATABASE_URL` set, a fresh PostgreSQL schema in that database
/// for this test; otherwise `None`, meaning SQLite in the test's data folder.
pub async fn test_database_url() -> Option<String> {
    let base = std::env::var("SECURECART_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let schema = format!("t_{}", hex(&rand_bytes()));
    let admin = Db::connect(&base, 1)
        .await
        .expect("connecting to the PostgreSQL test server");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(admin.pool())
        .await
        .expect("creating a test schema");
    admin.close().await;

    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!(
        "{base}{separator}options=-c%20search_path%3D{schema}"
    ))
}

fn rand_bytes() -> [u8; 8] {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    (nanos ^ (u64::from(std::process::id()) << 32) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .to_le_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The headers every response must carry, with a value each must contain.
pub const SECURITY_HEADERS: [(&str, &str); 7] = [
    ("content-security-policy", "default-src 'self'"),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("permissions-policy", "camera=()"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
];

/// Asserts that `response` carries every security header.
pub fn assert_security_headers(response: &reqwest::Response, what: &str) {
    for (name, expected) in SECURITY_HEADERS {
        let value = response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("{what}: missing {name}"))
            .to_str()
            .expect("header text");
        assert!(value.contains(expected), "{what}: {name} is {value:?}");
    }
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("text");
    for directive in [
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{what}: CSP lacks {directive}");
    }
    assert!(
        !csp.contains("unsafe-inline"),
        "{what}: CSP allows inline code"
    );
}

/// Every `href="/products/…"` on a page, in order, without repeats.
pub fn product_links(html: &str) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    for part in html.split("href=\"/products/").skip(1) {
        let slug = part.split('"').next().unwrap_or_default().to_owned();
        if !links.contains(&slug) {
            links.push(slug);
        }
    }
    links
}
