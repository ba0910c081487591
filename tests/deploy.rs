//! Production mode and `check --deploy`, and `serve` over TLS, as the real binary.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use securecart::server::tls;
use tempfile::TempDir;

use crate::support::trusting;

const SECRET: &str = "q8V1nT3kZ0pLr7xY2cB6mW9eH4aJ5sDfG0t";

/// `securecart` with a data folder of its own and none of the caller's configuration.
fn securecart(dir: &TempDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_securecart"));
    for (name, _) in std::env::vars() {
        if name.starts_with("SECURECART_") || name.starts_with("PG") {
            command.env_remove(name);
        }
    }
    command
        .env("SECURECART_DATA_DIR", dir.path().join("data"))
        .env("SECURECART_LOG", "warn");
    command
}

/// A configuration that production accepts: behind a local proxy, real secret,
/// SMTP over TLS, the full password cost.
fn sound(command: &mut Command) -> &mut Command {
    command
        .env("SECURECART_BIND", "127.0.0.1:0")
        .env("SECURECART_TRUSTED_PROXIES", "127.0.0.1/32,::1/128")
        .env("SECURECART_PUBLIC_URL", "https://shop.example")
        .env("SECURECART_SECRET_KEY", SECRET)
        .env("SECURECART_SMTP_URL", "smtps://shop:pw@mail.example")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(command: &mut Command) -> Output {
    command.output().expect("running securecart")
}

#[test]
fn production_refuses_to_start_and_names_every_problem_with_its_fix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(securecart(&dir)
        .args(["serve", "--demo"])
        .env("SECURECART_ENV", "production")
        .env("SECURECART_BIND", "0.0.0.0:0")
        .env("SECURECART_PBKDF2_ITERATIONS", "1000")
        .env("SECURECART_DATABASE_URL", "postgres://shop@db.example/shop"));

    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    for id in [
        "plain-http",
        "public-url",
        "secret-missing",
        "database-plaintext",
        "mail-outbox",
        "pbkdf2-cost",
        "demo",
    ] {
        assert!(
            stderr.contains(&format!("error [{id}]: ")),
            "{id} in {stderr}"
        );
    }
    assert_eq!(stderr.matches("    fix: ").count(), 7, "{stderr}");
    assert!(stderr.contains("7 errors, 0 warnings."), "{stderr}");
    assert!(stdout_is_silent(&output), "it never started serving");
    assert!(
        !dir.path().join("data").exists(),
        "nothing was written before the refusal"
    );
}

#[test]
fn production_refuses_a_short_or_development_secret_and_the_self_signed_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let short = run(sound(&mut securecart(&dir))
        .args(["serve"])
        .env("SECURECART_ENV", "production")
        .env("SECURECART_SECRET_KEY", "too-short"));
    assert_eq!(short.status.code(), Some(1));
    assert!(text(&short.stderr).contains("error [secret-short]"));

    // The secret development generated, copied into production's configuration.
    let dev = run(securecart(&dir).args(["check"]));
    assert!(dev.status.success(), "{}", text(&dev.stdout));
    let generated = std::fs::read_to_string(dir.path().join("data/secret.key")).expect("key");
    let copied = run(sound(&mut securecart(&dir))
        .args(["serve"])
        .env("SECURECART_ENV", "production")
        .env("SECURECART_SECRET_KEY", generated.trim()));
    assert_eq!(copied.status.code(), Some(1));
    assert!(text(&copied.stderr).contains("error [secret-development]"));

    let self_signed = run(sound(&mut securecart(&dir))
        .args(["serve", "--self-signed"])
        .env("SECURECART_ENV", "production"));
    assert_eq!(self_signed.status.code(), Some(1));
    assert!(text(&self_signed.stderr).contains("error [self-signed]"));
}

#[test]
fn production_refuses_mail_in_clear_and_an_untrusted_local_proxy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(sound(&mut securecart(&dir))
        .args(["serve"])
        .env("SECURECART_ENV", "production")
        .env("SECURECART_SMTP_URL", "smtp://shop:pw@mail.example")
        .env_remove("SECURECART_TRUSTED_PROXIES"));
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("error [mail-plaintext]"), "{stderr}");
    assert!(stderr.contains("error [proxy-untrusted]"), "{stderr}");
    assert!(!stderr.contains("pw@"), "the SMTP password is not repeated");
}

#[test]
fn check_deploy_exits_non_zero_on_errors_and_zero_on_warnings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = run(securecart(&dir).args(["check", "--deploy"]));
    assert_eq!(bad.status.code(), Some(1));
    let report = text(&bad.stdout);
    assert!(report.contains("error [secret-missing]"), "{report}");
    assert!(report.contains("error [proxy-untrusted]"), "{report}");

    let warned = run(sound(&mut securecart(&dir))
        .args(["check", "--deploy"])
        .env("SECURECART_HSTS_MAX_AGE", "0"));
    let report = text(&warned.stdout);
    assert!(warned.status.success(), "{report}");
    assert!(report.contains("warning [hsts-off]"), "{report}");
    assert!(report.contains("0 errors, 1 warning."), "{report}");
    assert!(report.contains("The configuration is valid."), "{report}");

    let malformed = run(sound(&mut securecart(&dir))
        .args(["check"])
        .env("SECURECART_CURRENCY", "euros"));
    assert_eq!(malformed.status.code(), Some(1));
    assert!(text(&malformed.stdout).starts_with("error [config]: "));
}

#[test]
fn production_starts_with_a_sound_configuration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(
        sound(&mut securecart(&dir))
            .args(["serve"])
            .env("SECURECART_ENV", "production"),
    );
    let addr = server.line_after("SecureCart is serving at http://");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let response = runtime.block_on(async {
        crate::support::new_client()
            .get(format!("http://{addr}healthz"))
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .expect("GET")
    });
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("strict-transport-security"));
    server.stop();
}

#[test]
fn serve_self_signed_makes_a_certificate_once_and_redirects_plain_http() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(securecart(&dir).args([
        "serve",
        "--self-signed",
        "--bind",
        "127.0.0.1:0",
        "--http-redirect-bind",
        "127.0.0.1:0",
    ]));
    let https = server.line_after("SecureCart is serving at https://");
    let printed =
        server.line_after("TLS self-signed development certificate, SHA-256 fingerprint ");
    let redirects = server.line_after("Redirecting plain HTTP from http://");

    let files = tls::TlsFiles {
        cert: dir.path().join("data/tls/self-signed.crt"),
        key: dir.path().join("data/tls/self-signed.key"),
    };
    assert_eq!(printed, tls::load(&files).expect("certificate").fingerprint);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let plain = crate::support::new_client();
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let response = plain
                .request(method.clone(), format!("http://{redirects}cart?step=2"))
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 308, "{method}");
            let port = https
                .trim_end_matches('/')
                .rsplit(':')
                .next()
                .expect("port");
            assert_eq!(
                response.headers()["location"],
                format!("https://127.0.0.1:{port}/cart?step=2").as_str()
            );
            assert!(!response.headers().contains_key("set-cookie"));
        }
        let secure = trusting(&files).build().expect("client");
        let home = secure
            .get(format!("https://{https}"))
            .send()
            .await
            .expect("GET over HTTPS");
        assert_eq!(home.status(), 200);
        assert!(home.headers().contains_key("strict-transport-security"));
    });
    server.stop();

    // A second start reuses the certificate.
    let mut again =
        Server::start(securecart(&dir).args(["serve", "--self-signed", "--bind", "127.0.0.1:0"]));
    assert_eq!(
        again.line_after("TLS self-signed development certificate, SHA-256 fingerprint "),
        printed
    );
    again.stop();
}

#[cfg(unix)]
#[test]
fn sighup_reloads_the_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = tls::self_signed(&dir.path().join("a")).expect("first");
    let second = tls::self_signed(&dir.path().join("b")).expect("second");
    let served = tls::TlsFiles {
        cert: dir.path().join("shop.crt"),
        key: dir.path().join("shop.key"),
    };
    let copy = |from: &tls::TlsFiles| {
        std::fs::copy(&from.key, &served.key).expect("key");
        std::fs::copy(&from.cert, &served.cert).expect("cert");
    };
    copy(&first);
    let mut server = Server::start(securecart(&dir).args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--tls-cert",
        served.cert.to_str().expect("utf-8"),
        "--tls-key",
        served.key.to_str().expect("utf-8"),
    ]));
    let addr = server.line_after("SecureCart is serving at https://");
    let fingerprint = |files: &tls::TlsFiles| tls::load(files).expect("loads").fingerprint;
    assert_eq!(
        server.line_after("TLS certificate, SHA-256 fingerprint "),
        fingerprint(&first)
    );

    copy(&second);
    let status = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());

    // The files are polled every 30 s; within 5 s only the signal can have done it.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let served_now = |roots: &tls::TlsFiles| {
        let client = trusting(roots).build().expect("client");
        runtime.block_on(async {
            client
                .get(format!("https://{addr}healthz"))
                .send()
                .await
                .is_ok()
        })
    };
    let mut renewed = false;
    for _ in 0..50 {
        if served_now(&second) {
            renewed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(renewed, "after SIGHUP the second certificate is served");
    assert!(!served_now(&first), "and the first is not");
    server.stop();
}

fn stdout_is_silent(output: &Output) -> bool {
    !text(&output.stdout).contains("serving at")
}

/// A `securecart serve` running in the background, killed when dropped.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn start(command: &mut Command) -> Server {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting securecart");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The rest of the first line of output that starts with `prefix`, up to a space,
    /// in whatever order the lines came.
    fn line_after(&mut self, prefix: &str) -> String {
        let rest = |line: &String| {
            line.strip_prefix(prefix)
                .map(|rest| rest.split(' ').next().unwrap_or("").to_owned())
        };
        if let Some(found) = self.seen.iter().find_map(rest) {
            return found;
        }
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no line starting {prefix:?} in {:?}", self.seen));
            let found = rest(&line);
            self.seen.push(line);
            if let Some(found) = found {
                return found;
            }
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
