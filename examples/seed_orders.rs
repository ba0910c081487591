//! Fills a database with many orders quickly, to measure the sales analytics
//! (`bench/analytics.sh`) at the size of a busy shop:
//!
//!   seed_orders DATABASE_URL ORDERS [CUSTOMERS]
//!
//! It migrates the database, loads the demo catalogue if there are no products, adds
//! CUSTOMERS verified customers (300 by default), then ORDERS orders of 1–4 lines over
//! the last 365 days, oldest first as a real shop would write them, with statuses
//! spread over the pipeline, a charge for each paid order and a refund for each
//! cancelled or refunded one. Rows go in as multi-row INSERTs, one transaction per
//! batch. Orders get no status history: the analytics do not read it.

use std::time::Instant;

use anyhow::{Context as _, bail};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use securecart::db::{Db, Dialect};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Arguments as _};

const DAY_MS: i64 = 86_400_000;

/// Orders per transaction.
const BATCH: usize = 10_000;

/// Bound values per multi-row INSERT. sqlx looks up each SQLite parameter's name,
/// and SQLite finds a name by a linear search, so binding costs grow with the square
/// of a statement's parameters; a few hundred is where larger statements stop
/// paying off.
const PARAMS_PER_INSERT: usize = 250;

/// Statuses with their weight out of 100.
const STATUSES: [(&str, u32); 8] = [
    ("delivered", 62),
    ("shipped", 8),
    ("processing", 5),
    ("paid", 5),
    ("refunded", 5),
    ("cancelled", 4),
    ("payment_failed", 8),
    ("pending_payment", 3),
];

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#[derive(Debug)]
struct Product {
    id: i64,
    sku: String,
    name: String,
    price_minor: i64,
}

/// A database value of the two kinds the `Any` driver carries.
enum Value {
    Int(i64),
    Text(String),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        bail!("usage: seed_orders DATABASE_URL ORDERS [CUSTOMERS]");
    }
    let orders: usize = args[2].parse().context("ORDERS must be a number")?;
    let customers: usize = args.get(3).map_or(Ok(300), |a| a.parse())?;
    let started = Instant::now();

    let db = Db::connect(&args[1], 2).await?;
    db.migrate().await?;
    let products = catalogue(&db).await?;
    let users = add_customers(&db, customers).await?;

    let mut rng = StdRng::seed_from_u64(orders as u64);
    let mut next = NextIds::load(&db).await?;
    let now = securecart::db::time::now_ms();
    let first = now - 365 * DAY_MS;
    let mut done = 0;
    while done < orders {
        let count = BATCH.min(orders - done);
        let batch = Batch::generate(
            &mut rng, &mut next, &products, &users, done, orders, first, now,
        );
        batch
            .insert(&db)
            .await
            .context("inserting a batch of orders")?;
        done += count;
        if done % 100_000 < BATCH || done == orders {
            println!("{done} orders, {:.1} s", started.elapsed().as_secs_f64());
        }
    }
    if db.dialect() == Dialect::Postgres {
        // Ids were given explicitly, so the identity sequences must catch up before
        // the shop inserts a row of its own.
        for table in ["orders", "order_lines", "payments"] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 (SELECT MAX(id) FROM {table}))"
            ))
            .execute(db.pool())
            .await
            .with_context(|| format!("moving the {table} id sequence on"))?;
        }
    }
    // Fresh statistics, so the planners see the tables as they now are; on PostgreSQL
    // also the visibility map, without which index-only scans visit the table anyway
    // (autovacuum would get there later in a live shop).
    let settle = match db.dialect() {
        Dialect::Postgres => "VACUUM ANALYZE",
        Dialect::Sqlite => "ANALYZE",
    };
    sqlx::query(settle).execute(db.pool()).await?;
    println!(
        "{orders} orders for {customers} customers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn catalogue(db: &Db) -> anyhow::Result<Vec<Product>> {
    let load = || async {
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT id, sku, name, price_minor FROM products WHERE active = 1 ORDER BY id",
        )
        .fetch_all(db.pool())
        .await?;
        anyhow::Ok(rows)
    };
    let mut rows = load().await?;
    if rows.is_empty() {
        securecart::catalog::demo::load_demo_catalog(db).await?;
        rows = load().await?;
    }
    Ok(rows
        .into_iter()
        .map(|(id, sku, name, price_minor)| Product {
            id,
            sku,
            name,
            price_minor,
        })
        .collect())
}

async fn add_customers(db: &Db, count: usize) -> anyhow::Result<Vec<(i64, String)>> {
    let hash = securecart::security::password::hash("correct horse battery staple", 1_000);
    let run = securecart::db::time::now_ms();
    let mut users = Vec::with_capacity(count);
    for n in 0..count {
        let email = format!("seed{run}-{n}@example.com");
        let id =
            securecart::accounts::store::insert_user(db, &email, &email, &hash, "customer", true)
                .await?
                .context("a new seed customer")?;
        users.push((id, email));
    }
    Ok(users)
}

/// The next free id of each table the seed writes, so rows can name their parents
/// without reading ids back.
struct NextIds {
    order: i64,
    line: i64,
    payment: i64,
}

impl NextIds {
    async fn load(db: &Db) -> anyhow::Result<NextIds> {
        let next = |table: &'static str| async move {
            let max: i64 = sqlx::query_scalar(&format!(
                "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM {table}"
            ))
            .fetch_one(db.pool())
            .await?;
            anyhow::Ok(max + 1)
        };
        Ok(NextIds {
            order: next("orders").await?,
            line: next("order_lines").await?,
            payment: next("payments").await?,
        })
    }
}

/// A reference that is unique because it spells the order's id.
fn reference(id: i64) -> String {
    let mut bits = id as u64;
    (0..13)
        .map(|_| {
            let c = ALPHABET[(bits & 31) as usize] as char;
            bits >>= 5;
            c
        })
        .collect()
}

fn pick_status(rng: &mut StdRng) -> &'static str {
    let mut roll = rng.random_range(0..100);
    for (status, weight) in STATUSES {
        if roll < weight {
            return status;
        }
        roll -= weight;
    }
    "delivered"
}

/// One transaction's rows, each as its columns' values.
struct Batch {
    orders: Vec<Vec<Value>>,
    lines: Vec<Vec<Value>>,
    payments: Vec<Vec<Value>>,
}

const ORDER_COLUMNS: &str = "id, reference, user_id, email, status, currency, item_count, \
     subtotal_minor, shipping_minor, total_minor, checkout_token_hash, ship_name, ship_line1, \
     ship_line2, ship_city, ship_postal_code, ship_country, created_at, updated_at";
const LINE_COLUMNS: &str =
    "id, order_id, product_id, sku, name, unit_price_minor, quantity, line_total_minor";
const PAYMENT_COLUMNS: &str = "id, order_id, kind, outcome, amount_minor, currency, \
     gateway_reference, card_brand, card_last4, failure, created_at";

impl Batch {
    /// Orders `done..done + BATCH` of `total`, placed evenly from `first` to `now`.
    #[allow(clippy::too_many_arguments)]
    fn generate(
        rng: &mut StdRng,
        next: &mut NextIds,
        products: &[Product],
        users: &[(i64, String)],
        done: usize,
        total: usize,
        first: i64,
        now: i64,
    ) -> Batch {
        let count = BATCH.min(total - done);
        let span = now - first;
        let mut batch = Batch {
            orders: Vec::with_capacity(count),
            lines: Vec::with_capacity(count * 3),
            payments: Vec::with_capacity(count),
        };
        for n in done..done + count {
            let id = next.order;
            next.order += 1;
            let at = first + (span as i128 * n as i128 / total.max(1) as i128) as i64;
            let (user_id, email) = &users[rng.random_range(0..users.len())];
            let status = pick_status(rng);

            let mut items = 0;
            let mut total_minor = 0;
            let mut chosen: Vec<usize> = Vec::new();
            for _ in 0..rng.random_range(1..=4) {
                let p = rng.random_range(0..products.len());
                if chosen.contains(&p) {
                    continue;
                }
                chosen.push(p);
                let product = &products[p];
                let quantity: i64 = rng.random_range(1..=3);
                items += quantity;
                total_minor += product.price_minor * quantity;
                batch.lines.push(vec![
                    Value::Int(next.line),
                    Value::Int(id),
                    Value::Int(product.id),
                    Value::Text(product.sku.clone()),
                    Value::Text(product.name.clone()),
                    Value::Int(product.price_minor),
                    Value::Int(quantity),
                    Value::Int(product.price_minor * quantity),
                ]);
                next.line += 1;
            }

            let reference = reference(id);
            batch.orders.push(vec![
                Value::Int(id),
                Value::Text(reference.clone()),
                Value::Int(*user_id),
                Value::Text(email.clone()),
                Value::Text(status.to_owned()),
                Value::Text("EUR".into()),
                Value::Int(items),
                Value::Int(total_minor),
                Value::Int(0),
                Value::Int(total_minor),
                Value::Text(format!("seed-{id}")),
                Value::Text("Seed Customer".into()),
                Value::Text("Keizersgracht 1".into()),
                Value::Text(String::new()),
                Value::Text("Amsterdam".into()),
                Value::Text("1015 CJ".into()),
                Value::Text("NL".into()),
                Value::Int(at),
                Value::Int(at),
            ]);

            let charged = !matches!(status, "pending_payment");
            let outcome = if status == "payment_failed" {
                "declined"
            } else {
                "succeeded"
            };
            if charged {
                batch.payments.push(payment(
                    next,
                    id,
                    "charge",
                    outcome,
                    total_minor,
                    &reference,
                    at,
                ));
            }
            if matches!(status, "refunded" | "cancelled") {
                let refunded_at = (at + rng.random_range(1..=14) * DAY_MS).min(now);
                batch.payments.push(payment(
                    next,
                    id,
                    "refund",
                    "succeeded",
                    total_minor,
                    &reference,
                    refunded_at,
                ));
            }
        }
        batch
    }

    async fn insert(self, db: &Db) -> anyhow::Result<()> {
        let mut tx = db.pool().begin().await?;
        for (table, columns, rows) in [
            ("orders", ORDER_COLUMNS, self.orders),
            ("order_lines", LINE_COLUMNS, self.lines),
            ("payments", PAYMENT_COLUMNS, self.payments),
        ] {
            let columns_per_row = rows.first().map_or(1, Vec::len);
            for chunk in rows.chunks((PARAMS_PER_INSERT / columns_per_row).max(1)) {
                let sql = insert_sql(table, columns, chunk);
                let mut arguments = AnyArguments::default();
                for value in chunk.iter().flatten() {
                    match value {
                        Value::Int(n) => arguments.add(*n),
                        Value::Text(t) => arguments.add(t.clone()),
                    }
                    .map_err(|e| anyhow::anyhow!("binding a value: {e}"))?;
                }
                let query: Query<'_, Any, AnyArguments<'_>> = sqlx::query_with(&sql, arguments);
                query
                    .execute(&mut *tx)
                    .await
                    .with_context(|| format!("inserting into {table}"))?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

fn payment(
    next: &mut NextIds,
    order_id: i64,
    kind: &str,
    outcome: &str,
    amount: i64,
    reference: &str,
    at: i64,
) -> Vec<Value> {
    let id = next.payment;
    next.payment += 1;
    vec![
        Value::Int(id),
        Value::Int(order_id),
        Value::Text(kind.to_owned()),
        Value::Text(outcome.to_owned()),
        Value::Int(amount),
        Value::Text("EUR".into()),
        Value::Text(format!("seed-{kind}-{reference}")),
        Value::Text("Visa".into()),
        Value::Text("4242".into()),
        Value::Text(String::new()),
        Value::Int(at),
    ]
}

/// `INSERT INTO table (columns) VALUES ($1, …), (…)` for `rows`.
fn insert_sql(table: &str, columns: &str, rows: &[Vec<Value>]) -> String {
    let mut sql = format!("INSERT INTO {table} ({columns}) VALUES ");
    let mut n = 0;
    for (r, row) in rows.iter().enumerate() {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..row.len() {
            n += 1;
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    sql
}
