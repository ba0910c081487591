//! Checkout load generator for `bench/checkout.sh`: many customers buy at once, each
//! going through the whole checkout over HTTP against a running shop, and the run
//! reports paid orders per second and the latency of the order POST.
//!
//! It prepares the shop's database directly (verified customers, ample stock), so
//! point it at the same database the server uses:
//!
//!   checkout_load BASE_URL DATABASE_URL [BUYERS] [SECONDS]

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use securecart::db::Db;

const PASSWORD: &str = "correct horse battery staple";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        bail!("usage: checkout_load BASE_URL DATABASE_URL [BUYERS] [SECONDS]");
    }
    let base = args[1].trim_end_matches('/').to_owned();
    let buyers: usize = args.get(3).map_or(Ok(16), |a| a.parse())?;
    let seconds: u64 = args.get(4).map_or(Ok(20), |a| a.parse())?;

    let db = Db::connect(&args[2], 2).await?;
    let hash = securecart::security::password::hash(PASSWORD, 1_000);
    let run = securecart::db::time::now_ms();
    for n in 0..buyers {
        let email = format!("load{run}-{n}@example.com");
        securecart::accounts::store::insert_user(&db, &email, &email, &hash, "customer", true)
            .await?
            .context("a new load-test customer")?;
    }
    sqlx::query("UPDATE products SET stock = 1000000000")
        .execute(db.pool())
        .await?;
    let slug: String = sqlx::query_scalar("SELECT slug FROM products WHERE active = 1 LIMIT 1")
        .fetch_one(db.pool())
        .await
        .context("the shop has no products: serve it with --demo")?;

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..buyers)
        .map(|n| {
            let email = format!("load{run}-{n}@example.com");
            tokio::spawn(buyer(base.clone(), email, slug.clone(), deadline))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (ms, failed) = task.await??;
        latencies.extend(ms);
        failures += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();

    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    if latencies.is_empty() {
        bail!("no order was placed");
    }
    println!(
        "{buyers} buyers, {elapsed:.1} s: {} orders, {:.1} orders/s; POST /checkout p50 {:.1} ms, p99 {:.1} ms; {failures} failed",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        at(0.50),
        at(0.99),
    );
    Ok(())
}

/// One customer buying one item after another until the deadline. Returns the order
/// POST's latency per paid order, and how many attempts did not end in a paid order.
async fn buyer(
    base: String,
    email: String,
    slug: String,
    deadline: Instant,
) -> anyhow::Result<(Vec<f64>, usize)> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = client
        .get(format!("{base}/account/login"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = field(&login, "csrf_token")?;
    let signed_in = client
        .post(format!("{base}/account/login"))
        .form(&[
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await?;
    if signed_in.status() != 303 {
        bail!("login failed: {}", signed_in.status());
    }
    let product = client
        .get(format!("{base}/products/{slug}"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = field(&product, "csrf_token")?;

    let mut latencies = Vec::new();
    let mut failures = 0;
    while Instant::now() < deadline {
        client
            .post(format!("{base}/cart/add"))
            .form(&[
                ("product", slug.as_str()),
                ("quantity", "1"),
                ("csrf_token", &csrf),
            ])
            .send()
            .await?;
        client
            .post(format!("{base}/checkout/shipping"))
            .form(&[
                ("name", "Load Test"),
                ("line1", "Keizersgracht 1"),
                ("city", "Amsterdam"),
                ("postal_code", "1015 CJ"),
                ("country", "NL"),
                ("csrf_token", &csrf),
            ])
            .send()
            .await?;
        let payment = client
            .get(format!("{base}/checkout/payment"))
            .send()
            .await?
            .text()
            .await?;
        let token = field(&payment, "checkout_token")?;

        let start = Instant::now();
        let placed = client
            .post(format!("{base}/checkout"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("checkout_token", &token),
                ("card_number", "4242424242424242"),
                ("expiry", "12/30"),
                ("cvc", "123"),
            ])
            .send()
            .await?;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let paid = placed
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l.ends_with("?placed=1"));
        if paid {
            latencies.push(ms);
        } else {
            failures += 1;
        }
    }
    Ok((latencies, failures))
}

/// The value of the hidden field `name` on a page.
fn field(html: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).context("field not on the page")? + marker.len();
    let end = html[start..].find('"').context("unterminated field")? + start;
    Ok(html[start..end].to_owned())
}
