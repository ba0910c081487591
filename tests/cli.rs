//! The operator's commands, run as the real binary on a fresh data folder.

use std::path::PathBuf;
use std::process::{Command, Output};

use securecart::config::Settings;
use securecart::db::Db;
use tempfile::TempDir;

use crate::support::test_database_url;

/// A data folder (and, on PostgreSQL, a schema) for running `securecart` commands.
struct Shop {
    dir: TempDir,
    database_url: Option<String>,
}

impl Shop {
    async fn new() -> Shop {
        Shop {
            dir: tempfile::tempdir().expect("data folder"),
            database_url: test_database_url().await,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_securecart"));
        command
            .args(args)
            .env("SECURECART_DATA_DIR", self.dir.path().join("data"));
        command.env_remove("SECURECART_DATABASE_URL");
        if let Some(url) = &self.database_url {
            command.env("SECURECART_DATABASE_URL", url);
        }
        command.output().expect("running securecart")
    }

    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("writing a test file");
        path
    }

    async fn db(&self) -> Db {
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data folder");
        let settings = Settings::for_tests(&data, self.database_url.as_deref());
        let db = Db::connect(&settings.database_url, 1)
            .await
            .expect("connecting");
        db.migrate().await.expect("migrating");
        db
    }

    async fn scalar(&self, sql: &str) -> i64 {
        let db = self.db().await;
        let value = sqlx::query_scalar(sql)
            .fetch_one(db.pool())
            .await
            .expect("query");
        db.close().await;
        value
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const HEADER: &str = "sku,name,description,price,stock,category\n";

#[tokio::test]
async fn migrate_works_on_a_fresh_data_folder() {
    let shop = Shop::new().await;

    let output = shop.run(&["migrate"]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("up to date"));
    if shop.database_url.is_none() {
        assert!(shop.dir.path().join("data/securecart.db").exists());
    }
    assert!(
        shop.run(&["migrate"]).status.success(),
        "migrating twice is harmless"
    );
}

#[tokio::test]
async fn import_products_creates_products_and_their_categories() {
    let shop = Shop::new().await;
    let csv = shop.file(
        "products.csv",
        &format!("{HEADER}K-1,Oak Board,\"Oiled, solid\",19.99,4,Kitchen\nK-2,Tin Cup,,4.50,0,Kitchen\nO-1,Camp Stool,,29.00,9,Outdoor\n"),
    );

    let output = shop.run(&["import-products", csv.to_str().expect("path")]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("3 products created, 0 updated, 2 categories created"));
    assert_eq!(
        shop.scalar("SELECT price_minor FROM products WHERE sku = 'K-1'")
            .await,
        1999
    );
    assert_eq!(shop.scalar("SELECT COUNT(*) FROM categories").await, 2);
}

#[tokio::test]
async fn importing_an_existing_sku_again_updates_it() {
    let shop = Shop::new().await;
    let first = shop.file(
        "a.csv",
        &format!("{HEADER}K-1,Oak Board,,19.99,4,Kitchen\n"),
    );
    let second = shop.file(
        "b.csv",
        &format!("{HEADER}K-1,Oak Board (large),,24.50,7,kitchen\n"),
    );

    assert!(
        shop.run(&["import-products", first.to_str().expect("path")])
            .status
            .success()
    );
    let output = shop.run(&["import-products", second.to_str().expect("path")]);

    assert!(stdout(&output).contains("0 products created, 1 updated, 0 categories created"));
    assert_eq!(
        shop.scalar("SELECT price_minor FROM products WHERE sku = 'K-1'")
            .await,
        2450
    );
    assert_eq!(
        shop.scalar("SELECT stock FROM products WHERE sku = 'K-1'")
            .await,
        7
    );
    assert_eq!(shop.scalar("SELECT COUNT(*) FROM products").await, 1);
    assert_eq!(
        shop.scalar("SELECT COUNT(*) FROM products WHERE slug = 'oak-board'")
            .await,
        1,
        "a renamed product keeps its address"
    );
}

#[tokio::test]
async fn a_file_with_a_bad_row_is_reported_by_line_and_imports_nothing() {
    let shop = Shop::new().await;
    let csv = shop.file(
        "bad.csv",
        &format!(
            "{HEADER}K-1,Oak Board,,19.99,4,Kitchen\nK-2,Cup,,abc,1,Kitchen\nK-3,Jar,,2.00,-1,Kitchen\nK-4,Tin\nK-1,Again,,1.00,1,\n"
        ),
    );

    let output = shop.run(&["import-products", csv.to_str().expect("path")]);

    assert!(!output.status.success());
    let report = stderr(&output);
    assert!(report.contains("nothing was imported"), "{report}");
    assert!(
        report.contains("line 3: price: enter an amount such as 19.99"),
        "{report}"
    );
    assert!(
        report.contains("line 4: the stock cannot be negative"),
        "{report}"
    );
    assert!(
        report.contains("line 5: expected 6 fields, found 2"),
        "{report}"
    );
    assert!(
        report.contains("line 6: duplicate SKU K-1 (first on line 2)"),
        "{report}"
    );
    assert_eq!(
        shop.scalar("SELECT COUNT(*) FROM products").await,
        0,
        "the valid row was not kept"
    );
}

#[tokio::test]
async fn a_missing_file_or_header_is_a_clear_error() {
    let shop = Shop::new().await;

    let output = shop.run(&["import-products", "/no/such/file.csv"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("opening /no/such/file.csv"));

    let csv = shop.file("header.csv", "sku;name;price\nA;B;1\n");
    let output = shop.run(&["import-products", csv.to_str().expect("path")]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("line 1: unknown column"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn seed_demo_creates_the_requested_catalogue_and_reseeding_updates_it() {
    let shop = Shop::new().await;

    let output = shop.run(&["seed-demo", "--products", "250", "--categories", "5"]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("250 products created"),
        "{}",
        stdout(&output)
    );
    assert_eq!(shop.scalar("SELECT COUNT(*) FROM products").await, 250);
    assert_eq!(shop.scalar("SELECT COUNT(*) FROM categories").await, 5);

    let output = shop.run(&["seed-demo", "--products", "250", "--categories", "5"]);
    assert!(
        stdout(&output).contains("0 products created, 250 updated"),
        "{}",
        stdout(&output)
    );
}

#[tokio::test]
async fn help_documents_every_option_with_its_variable() {
    let shop = Shop::new().await;

    let help = stdout(&shop.run(&["serve", "--help"]));

    for variable in [
        "SECURECART_BIND",
        "SECURECART_DATA_DIR",
        "SECURECART_DATABASE_URL",
        "SECURECART_ENV",
        "SECURECART_DEMO",
        "SECURECART_BODY_LIMIT",
        "SECURECART_HEADER_TIMEOUT_SECS",
        "SECURECART_REQUEST_TIMEOUT_SECS",
        "SECURECART_LOG",
    ] {
        assert!(help.contains(variable), "serve --help lacks {variable}");
    }
    let top = stdout(&shop.run(&["--help"]));
    for command in ["serve", "migrate", "seed-demo", "import-products"] {
        assert!(top.contains(command), "--help lacks {command}");
    }
}

#[tokio::test]
async fn a_bad_setting_is_refused_with_a_message() {
    let shop = Shop::new().await;

    let output = shop.run(&["serve", "--currency", "EURO"]);

    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("not a three-letter currency code"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn serve_logs_routes_not_queries_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;

    let shop = Shop::new().await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_securecart"));
    command
        .args([
            "serve",
            "--demo",
            "--bind",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .env("SECURECART_DATA_DIR", shop.dir.path().join("data"))
        .env_remove("SECURECART_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = &shop.database_url {
        command.env("SECURECART_DATABASE_URL", url);
    }
    let mut child = command.spawn().expect("starting serve");
    let mut banner = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut banner)
        .expect("banner");
    let base = banner
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .expect("the banner names the address")
        .trim_end_matches('/')
        .to_owned();

    let page = reqwest::get(format!("{base}/products?q=private-search-words"))
        .await
        .expect("GET");
    assert_eq!(page.status(), 200);
    let front = reqwest::get(format!("{base}/"))
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(front.contains("/products/"), "the demo shop is served");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(killed.expect("kill").success());
    let output = child.wait_with_output().expect("serve exits");

    assert!(
        output.status.success(),
        "serve exits cleanly on SIGTERM: {:?}",
        output.status
    );
    let log = stderr(&output);
    let line = log
        .lines()
        .find(|line| line.contains("\"http.route\":\"/products\""))
        .unwrap_or_else(|| panic!("no request line for /products in:\n{log}"));
    for field in [
        "\"http.method\":\"GET\"",
        "\"http.status\":200",
        "\"http.scheme\":\"http\"",
        "\"duration_ms\":",
        "\"request_id\"",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
    assert!(
        !log.contains("private-search-words"),
        "the query string reached the log"
    );
}

#[tokio::test]
async fn create_admin_creates_a_verified_admin_or_promotes_an_account() {
    let shop = Shop::new().await;
    let run = |email: &str, password: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_securecart"));
        command
            .args(["create-admin", "--email", email])
            .env("SECURECART_DATA_DIR", shop.dir.path().join("data"))
            .env("SECURECART_PBKDF2_ITERATIONS", "1000")
            .env("SECURECART_ADMIN_PASSWORD", password)
            .env_remove("SECURECART_DATABASE_URL");
        if let Some(url) = &shop.database_url {
            command.env("SECURECART_DATABASE_URL", url);
        }
        command.output().expect("running create-admin")
    };

    let weak = run("boss@example.com", "password1");
    assert!(!weak.status.success());
    assert!(
        stderr(&weak).contains("at least 10 characters"),
        "{}",
        stderr(&weak)
    );

    let created = run("Boss@Example.com", "a long admin passphrase");
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(stdout(&created).contains("created"));
    assert_eq!(
        shop.scalar(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND email_verified_at IS NOT NULL"
        )
        .await,
        1
    );

    let promoted = run("boss@example.com", "another admin passphrase");
    assert!(
        stdout(&promoted).contains("is now an administrator"),
        "{}",
        stdout(&promoted)
    );
    assert_eq!(
        shop.scalar("SELECT COUNT(*) FROM users").await,
        1,
        "one account, whatever the case"
    );
}
