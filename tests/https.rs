//! HTTPS served by the shop itself, HSTS and Secure cookies, forwarded headers from
//! proxies, certificate reloads and PostgreSQL over TLS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject as _};
use securecart::server::{self, tls};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{TestApp, new_client, test_database_url, trusting};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn the_shop_serves_https_over_http2_and_http11_with_its_generated_certificate() {
    let app = TestApp::builder().tls().spawn().await;
    assert!(app.url("/").starts_with("https://127.0.0.1:"));

    let home = app.get("/").await;
    assert_eq!(home.status(), 200);
    assert_eq!(home.version(), reqwest::Version::HTTP_2, "ALPN chose h2");

    let files = app.certificate.as_ref().expect("certificate");
    let http1 = trusting(files).http1_only().build().expect("client");
    let page = http1.get(app.url("/products")).send().await.expect("GET");
    assert_eq!(page.status(), 200);
    assert_eq!(page.version(), reqwest::Version::HTTP_11);

    // A client that does not trust the certificate gets no page: it is really TLS.
    let stranger = new_client()
        .get(app.url("/"))
        .send()
        .await
        .expect_err("an untrusted certificate");
    assert!(stranger.is_connect(), "{stranger:?}");
    // Plain HTTP on the TLS port is not served either.
    let plain = new_client()
        .get(format!("http://{}/", app.addr))
        .send()
        .await;
    assert!(
        plain.is_err() || plain.is_ok_and(|r| r.status() != 200),
        "plain HTTP on the TLS port"
    );
}

#[tokio::test]
async fn tls_before_1_2_is_refused_and_1_2_is_accepted() {
    let app = TestApp::builder().tls().spawn().await;
    for (name, version) in [
        ("SSL 3.0", 0x0300),
        ("TLS 1.0", 0x0301),
        ("TLS 1.1", 0x0302),
    ] {
        let reply = hello(app.addr, version).await;
        assert_eq!(
            reply.first(),
            Some(&0x15),
            "{name}: an alert record, got {reply:?}"
        );
        assert_eq!(
            reply.get(6),
            Some(&70),
            "{name}: protocol_version, got {reply:?}"
        );
    }
    // The same hand-made hello offering TLS 1.2 gets a ServerHello for TLS 1.2.
    let reply = hello(app.addr, 0x0303).await;
    assert_eq!(reply.first(), Some(&0x16), "a handshake record: {reply:?}");
    assert_eq!(reply.get(5), Some(&2), "ServerHello: {reply:?}");
    assert_eq!(reply.get(9..11), Some(&[3u8, 3][..]), "TLS 1.2: {reply:?}");
}

#[tokio::test]
async fn https_responses_carry_hsts_and_secure_host_cookies() {
    let app = TestApp::builder().tls().spawn().await;
    app.customer("jane@example.com", PASSWORD).await;

    let form = app.get("/account/login").await;
    assert_eq!(
        header(&form, "strict-transport-security"),
        "max-age=31536000; includeSubDomains"
    );
    let cookie = header(&form, "set-cookie");
    assert!(
        cookie.starts_with("__Host-securecart_csrf=") && cookie.contains("; Secure"),
        "{cookie}"
    );

    let login = app
        .login_with(&app.client, "jane@example.com", PASSWORD)
        .await;
    assert_eq!(login.status(), 303);
    let session = header(&login, "set-cookie");
    assert!(
        session.starts_with("__Host-securecart_session=")
            && session.contains("; Secure")
            && session.contains("HttpOnly"),
        "{session}"
    );
    // The browser sends the cookie back over HTTPS: the account page opens.
    assert_eq!(app.status_with(&app.client, "/account").await, 200);
    let api = app.get("/api/v1/products").await;
    assert!(api.headers().contains_key("strict-transport-security"));

    // The same shop over plain HTTP sends neither.
    let plain = TestApp::spawn().await;
    let form = plain.get("/account/login").await;
    assert!(!form.headers().contains_key("strict-transport-security"));
    let cookie = header(&form, "set-cookie");
    assert!(
        cookie.starts_with("securecart_csrf=") && !cookie.contains("Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn a_browser_form_posted_over_http2_passes_the_origin_check() {
    // HTTP/2 has no Host header, so the origin check must read the :authority; a
    // browser's Origin names the address it used, not the configured public URL.
    let app = TestApp::builder().tls().spawn().await;
    app.customer("jane@example.com", PASSWORD).await;
    let form = app.get("/account/login").await;
    assert_eq!(form.version(), reqwest::Version::HTTP_2);
    let html = form.text().await.expect("body");
    let token = crate::support::csrf_field(&html).expect("token");
    let origin = format!("https://{}", app.addr);
    let login = app
        .client
        .post(app.url("/account/login"))
        .header("origin", &origin)
        .form(&[
            ("email", "jane@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(login.version(), reqwest::Version::HTTP_2);
    assert_eq!(login.status(), 303, "our own origin over h2");

    let forged = app
        .client
        .post(app.url("/account/logout"))
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", &token)])
        .send()
        .await
        .expect("POST");
    assert_eq!(forged.status(), 403, "a foreign origin is still refused");
}

#[tokio::test]
async fn hsts_follows_its_settings() {
    let app = TestApp::builder()
        .tls()
        .settings(|s| {
            s.https.hsts = securecart::security::headers::hsts_value(63_072_000, true, true);
        })
        .spawn()
        .await;
    assert_eq!(
        header(&app.get("/").await, "strict-transport-security"),
        "max-age=63072000; includeSubDomains; preload"
    );
    let off = TestApp::builder()
        .tls()
        .settings(|s| s.https.hsts = None)
        .spawn()
        .await;
    assert!(
        !off.get("/")
            .await
            .headers()
            .contains_key("strict-transport-security")
    );
}

#[tokio::test]
async fn forwarded_headers_are_ignored_from_strangers_and_honoured_from_trusted_proxies() {
    let claims = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-for", "198.51.100.7"),
        ("forwarded", "for=198.51.100.7;proto=https"),
    ];
    let stranger = TestApp::spawn().await;
    let response = with_headers(&stranger, "/account/login", &claims).await;
    assert!(
        !response.headers().contains_key("strict-transport-security"),
        "a client cannot claim HTTPS"
    );
    assert!(header(&response, "set-cookie").starts_with("securecart_csrf="));

    let behind = TestApp::builder()
        .settings(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")])
        .spawn()
        .await;
    let response = with_headers(&behind, "/account/login", &claims[..1]).await;
    assert_eq!(
        header(&response, "strict-transport-security"),
        "max-age=31536000; includeSubDomains"
    );
    let cookie = header(&response, "set-cookie");
    assert!(
        cookie.starts_with("__Host-securecart_csrf=") && cookie.contains("Secure"),
        "{cookie}"
    );
    // X-Forwarded-* is the default: a `Forwarded` header alone says nothing.
    let response = with_headers(&behind, "/", &claims[2..]).await;
    assert!(!response.headers().contains_key("strict-transport-security"));

    let rfc = TestApp::builder()
        .settings(|s| {
            s.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
            s.https.proxy_headers = securecart::config::ProxyHeaders::Forwarded;
        })
        .spawn()
        .await;
    let response = with_headers(&rfc, "/", &claims[2..]).await;
    assert!(response.headers().contains_key("strict-transport-security"));
    let response = with_headers(&rfc, "/", &claims[..1]).await;
    assert!(
        !response.headers().contains_key("strict-transport-security"),
        "X-Forwarded-Proto is not read when Forwarded is configured"
    );
}

#[tokio::test]
async fn a_trusted_proxy_reporting_plain_http_gets_a_redirect_to_https() {
    let app = TestApp::builder()
        .settings(|s| {
            s.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
            s.public_url = "https://shop.example".to_owned();
        })
        .spawn()
        .await;
    let response = with_headers(&app, "/cart?from=ad", &[("x-forwarded-proto", "http")]).await;
    assert_eq!(response.status(), 308);
    assert_eq!(
        header(&response, "location"),
        "https://shop.example/cart?from=ad"
    );
    let post = app
        .client
        .post(app.url("/account/login"))
        .header("x-forwarded-proto", "http")
        .send()
        .await
        .expect("POST");
    assert_eq!(post.status(), 308, "308 keeps the method");
    let health = with_headers(&app, "/healthz", &[("x-forwarded-proto", "http")]).await;
    assert_eq!(health.status(), 200, "load balancers probe over HTTP");
    let secure = with_headers(&app, "/cart", &[("x-forwarded-proto", "https")]).await;
    assert_eq!(secure.status(), 200);

    // Said by a stranger, the same header changes nothing.
    let stranger = TestApp::builder()
        .settings(|s| s.public_url = "https://shop.example".to_owned())
        .spawn()
        .await;
    let response = with_headers(&stranger, "/cart", &[("x-forwarded-proto", "http")]).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_dropping_open_connections() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = tls::self_signed(&dir.path().join("a")).expect("first certificate");
    let second = tls::self_signed(&dir.path().join("b")).expect("second certificate");
    let served = tls::TlsFiles {
        cert: dir.path().join("shop.crt"),
        key: dir.path().join("shop.key"),
    };
    copy(&first, &served);

    let (acceptor, store) = tls::acceptor(&served).expect("acceptor");
    tokio::spawn(tls::watch(store.clone(), Duration::from_millis(50)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let app = Router::new().route("/healthz", get(|| async { "ok" }));
    tokio::spawn(server::serve(
        listener,
        app,
        Duration::from_secs(5),
        Some(acceptor),
        std::future::pending(),
    ));

    let (mut open, print) = connect(addr, &[&first, &second]).await;
    assert_eq!(print, fingerprint(&first));
    assert!(request(&mut open).await.starts_with("HTTP/1.1 200"));

    // A broken file is not served: the old certificate stays.
    std::fs::write(&served.cert, "-----BEGIN CERTIFICATE-----\nbroken\n").expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        connect(addr, &[&first, &second]).await.1,
        fingerprint(&first)
    );

    copy(&second, &served);
    let mut renewed = false;
    for _ in 0..100 {
        if connect(addr, &[&first, &second]).await.1 == fingerprint(&second) {
            renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(renewed, "new connections get the renewed certificate");
    assert_eq!(store.fingerprint(), fingerprint(&second));
    assert!(
        request(&mut open).await.starts_with("HTTP/1.1 200"),
        "the connection opened before the renewal still works"
    );
}

#[tokio::test]
async fn postgresql_connections_honour_sslmode() {
    let Some(url) = test_database_url().await else {
        return; // SQLite run: there is no PostgreSQL server to talk TLS to.
    };
    let db = securecart::db::Db::connect(&url, 1)
        .await
        .expect("connecting");
    let ssl: String = sqlx::query_scalar("SELECT current_setting('ssl')")
        .fetch_one(db.pool())
        .await
        .expect("ssl setting");
    db.close().await;
    if ssl != "on" {
        eprintln!("the PostgreSQL test server has ssl=off; sslmode=require cannot be tested");
        return;
    }

    let required = securecart::db::Db::connect(&format!("{url}&sslmode=require"), 1)
        .await
        .expect("sslmode=require connects over TLS");
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(required.pool())
            .await
            .expect("pg_stat_ssl");
    assert!(encrypted, "the session is encrypted");
    required.close().await;

    // verify-full with a CA that did not sign the server's certificate is refused.
    let dir = tempfile::tempdir().expect("temp dir");
    let stranger = tls::self_signed(dir.path()).expect("a CA of our own");
    let verified = format!(
        "{url}&sslmode=verify-full&sslrootcert={}",
        stranger.cert.display()
    );
    assert!(
        securecart::db::Db::connect(&verified, 1).await.is_err(),
        "an unverifiable server certificate is refused"
    );
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("text").to_owned())
        .unwrap_or_default()
}

async fn with_headers(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = new_client().get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("GET")
}

fn copy(from: &tls::TlsFiles, to: &tls::TlsFiles) {
    std::fs::copy(&from.key, &to.key).expect("copy key");
    std::fs::copy(&from.cert, &to.cert).expect("copy certificate");
}

fn fingerprint(files: &tls::TlsFiles) -> String {
    tls::load(files).expect("certificate").fingerprint
}

/// A TLS connection trusting `roots`, and the fingerprint of the certificate served.
async fn connect(
    addr: SocketAddr,
    roots: &[&tls::TlsFiles],
) -> (tokio_rustls::client::TlsStream<TcpStream>, String) {
    let mut store = rustls::RootCertStore::empty();
    for files in roots {
        let der = CertificateDer::from_pem_file(&files.cert).expect("PEM");
        store.add(der).expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(store)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let stream = connector.connect(name, tcp).await.expect("handshake");
    let print = {
        let (_, session) = stream.get_ref();
        let certs = session.peer_certificates().expect("a certificate");
        tls::fingerprint(&certs[0])
    };
    (stream, print)
}

/// One HTTP/1.1 request on an open connection; the start of the answer.
async fn request(stream: &mut tokio_rustls::client::TlsStream<TcpStream>) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let mut buffer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
        .await
        .expect("an answer in time")
        .expect("read");
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

/// Sends a hand-made ClientHello offering only `version` (no supported_versions
/// extension, so no TLS 1.3) and returns the first bytes of the server's answer.
async fn hello(addr: SocketAddr, version: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(version.to_be_bytes());
    body.extend([7u8; 32]); // random
    body.push(0); // no session id
    // ECDHE-ECDSA and ECDHE-RSA with AES-128-GCM, then CBC suites old versions know.
    let suites: [u16; 6] = [0xc02b, 0xc02f, 0xc009, 0xc013, 0x002f, 0x0035];
    body.extend(u16::try_from(suites.len() * 2).expect("len").to_be_bytes());
    for suite in suites {
        body.extend(suite.to_be_bytes());
    }
    body.extend([1, 0]); // compression: null only
    let mut extensions = Vec::new();
    extensions.extend([0, 10, 0, 6, 0, 4, 0, 0x1d, 0, 0x17]); // groups: x25519, P-256
    extensions.extend([0, 11, 0, 2, 1, 0]); // EC point formats: uncompressed
    extensions.extend([0, 13, 0, 8, 0, 6, 4, 3, 8, 4, 4, 1]); // signature algorithms
    extensions.extend([0, 23, 0, 0]); // extended master secret
    extensions.extend([0xff, 0x01, 0, 1, 0]); // renegotiation info
    body.extend(u16::try_from(extensions.len()).expect("len").to_be_bytes());
    body.extend(extensions);

    let mut handshake = vec![1]; // ClientHello
    handshake.extend(&u32::try_from(body.len()).expect("len").to_be_bytes()[1..]);
    handshake.extend(body);
    let mut record = vec![0x16, 3, 1];
    record.extend(u16::try_from(handshake.len()).expect("len").to_be_bytes());
    record.extend(handshake);

    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(&record).await.expect("write");
    let mut reply = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut reply))
        .await
        .expect("an answer in time")
        .unwrap_or(0);
    reply.truncate(n);
    reply
}
