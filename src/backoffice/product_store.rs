//! The back office's product SQL: listing with filters, and the changes staff make —
//! each written in one transaction with its audit entry.

use anyhow::Context as _;
use serde_json::json;

use crate::backoffice::audit::{self, Actor, NewEntry};
use crate::catalog::fields::Sku;
use crate::catalog::slug::slugify;
use crate::catalog::store::{ensure_category, free_product_slug};
use crate::db::{Db, like_escape, time::now_ms};
use crate::money::Money;

/// A product as the back office shows and edits it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffProduct {
    pub id: i64,
    pub sku: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub price_minor: i64,
    pub stock: i64,
    pub active: i64,
    pub image: Option<String>,
    pub category_name: Option<String>,
}

impl StaffProduct {
    pub fn price(&self) -> Money {
        Money::from_minor(self.price_minor)
    }

    pub fn is_active(&self) -> bool {
        self.active == 1
    }

    pub fn image_url(&self) -> String {
        match &self.image {
            Some(path) => format!("/media/{path}"),
            None => format!("/media/art/{}.svg", self.slug),
        }
    }
}

const COLUMNS: &str = "p.id, p.sku, p.slug, p.name, p.description, p.price_minor, p.stock, \
     p.active, p.image, c.name AS category_name";

/// Which products the list shows.
#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    /// Part of the name or SKU.
    pub search: Option<String>,
    /// `Some(true)`: on sale only; `Some(false)`: withdrawn only.
    pub active: Option<bool>,
    pub low_stock: bool,
}

fn where_clause(query: &ProductQuery) -> (String, Vec<String>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    if let Some(search) = &query.search {
        values.push(format!("%{}%", like_escape(&search.to_lowercase())));
        let n = values.len();
        conditions.push(format!(
            "(lower(p.name) LIKE ${n} ESCAPE '\\' OR lower(p.sku) LIKE ${n} ESCAPE '\\')"
        ));
    }
    match query.active {
        Some(true) => conditions.push("p.active = 1".to_owned()),
        Some(false) => conditions.push("p.active = 0".to_owned()),
        None => {}
    }
    if query.low_stock {
        conditions.push(format!(
            "p.stock <= {}",
            crate::backoffice::store::LOW_STOCK
        ));
    }
    let clause = match conditions.is_empty() {
        true => String::new(),
        false => format!("WHERE {}", conditions.join(" AND ")),
    };
    (clause, values)
}

pub async fn count(db: &Db, query: &ProductQuery) -> anyhow::Result<i64> {
    let (clause, values) = where_clause(query);
    let sql = format!("SELECT COUNT(*) FROM products p {clause}");
    let mut q = sqlx::query_scalar(&sql);
    for value in &values {
        q = q.bind(value);
    }
    q.fetch_one(db.pool()).await.context("counting products")
}

pub async fn list(
    db: &Db,
    query: &ProductQuery,
    limit: i64,
    offset: i64,
) -> anyhow::Result<Vec<StaffProduct>> {
    let (clause, values) = where_clause(query);
    let n = values.len();
    let sql = format!(
        "SELECT {COLUMNS} FROM products p LEFT JOIN categories c ON c.id = p.category_id \
         {clause} ORDER BY p.name, p.id LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut q = sqlx::query_as(&sql);
    for value in &values {
        q = q.bind(value);
    }
    q.bind(limit)
        .bind(offset)
        .fetch_all(db.pool())
        .await
        .context("listing products for staff")
}

pub async fn find(db: &Db, id: i64) -> anyhow::Result<Option<StaffProduct>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM products p LEFT JOIN categories c ON c.id = p.category_id \
         WHERE p.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await
    .context("loading a product for staff")
}

/// Every category's name, for the form's list.
pub async fn category_names(db: &Db) -> anyhow::Result<Vec<String>> {
    sqlx::query_scalar("SELECT name FROM categories ORDER BY name")
        .fetch_all(db.pool())
        .await
        .context("listing categories")
}

/// The editable fields of a product, checked.
#[derive(Debug, Clone)]
pub struct ProductFields {
    pub name: String,
    pub description: String,
    pub price: Money,
    /// Empty for none; created when new.
    pub category: String,
}

pub async fn sku_taken(db: &Db, sku: &Sku) -> anyhow::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE sku = $1")
        .bind(sku.as_str())
        .fetch_optional(db.pool())
        .await
        .context("looking up a SKU")?;
    Ok(found.is_some())
}

/// Creates a product (on sale, with `stock`) and returns its id; `None` when its SKU is
/// taken, also by a create that won a race with this one.
pub async fn create(
    db: &Db,
    actor: &Actor,
    sku: &Sku,
    fields: &ProductFields,
    stock: i64,
) -> anyhow::Result<Option<i64>> {
    let now = now_ms();
    let mut tx = db.pool().begin().await.context("starting a new product")?;
    // The row first, under a provisional slug: a write, so SQLite takes the write lock
    // before anything is read, and a create racing this one with the same SKU finds
    // it taken (the caller checked the SKU, but not inside this transaction).
    let provisional = format!("~{}", crate::security::session::new_secret());
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO products (sku, slug, name, description, price_minor, stock, active, \
                created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(sku.as_str())
    .bind(&provisional)
    .bind(&fields.name)
    .bind(&fields.description)
    .bind(fields.price.minor())
    .bind(stock)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await
    .context("adding a product")?;
    let Some(id) = id else {
        return Ok(None);
    };
    let category_id = match fields.category.as_str() {
        "" => None,
        name => Some(ensure_category(&mut tx, name, now).await?.0),
    };
    let slug = free_product_slug(&mut tx, &slugify(&fields.name), sku).await?;
    sqlx::query("UPDATE products SET slug = $1, category_id = $2 WHERE id = $3")
        .bind(&slug)
        .bind(category_id)
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("naming a new product")?;
    audit::record(
        &mut tx,
        actor,
        &NewEntry {
            action: "product.create",
            target: &format!("product {}", sku.as_str()),
            before: json!({}),
            after: fields_json(fields, Some(stock)),
        },
    )
    .await?;
    tx.commit().await.context("committing a new product")?;
    Ok(Some(id))
}

fn fields_json(fields: &ProductFields, stock: Option<i64>) -> serde_json::Value {
    let mut value = json!({
        "name": fields.name,
        "description": fields.description,
        "price_minor": fields.price.minor(),
        "category": fields.category,
    });
    if let Some(stock) = stock {
        value["stock"] = json!(stock);
    }
    value
}

/// Saves new field values (not the stock: that changes only by adjustment).
pub async fn update(
    db: &Db,
    actor: &Actor,
    product: &StaffProduct,
    fields: &ProductFields,
) -> anyhow::Result<()> {
    let now = now_ms();
    let mut tx = db
        .pool()
        .begin()
        .await
        .context("starting a product change")?;
    let category_id = match fields.category.as_str() {
        "" => None,
        name => Some(ensure_category(&mut tx, name, now).await?.0),
    };
    sqlx::query(
        "UPDATE products SET name = $1, description = $2, price_minor = $3, category_id = $4, \
                updated_at = $5 WHERE id = $6",
    )
    .bind(&fields.name)
    .bind(&fields.description)
    .bind(fields.price.minor())
    .bind(category_id)
    .bind(now)
    .bind(product.id)
    .execute(&mut *tx)
    .await
    .context("changing a product")?;
    let before = ProductFields {
        name: product.name.clone(),
        description: product.description.clone(),
        price: product.price(),
        category: product.category_name.clone().unwrap_or_default(),
    };
    audit::record(
        &mut tx,
        actor,
        &NewEntry {
            action: "product.update",
            target: &format!("product {}", product.sku),
            before: fields_json(&before, None),
            after: fields_json(fields, None),
        },
    )
    .await?;
    tx.commit().await.context("committing a product change")?;
    Ok(())
}

/// Puts a product on sale or withdraws it.
pub async fn set_active(
    db: &Db,
    actor: &Actor,
    product: &StaffProduct,
    active: bool,
) -> anyhow::Result<()> {
    let mut tx = db
        .pool()
        .begin()
        .await
        .context("starting a product change")?;
    sqlx::query("UPDATE products SET active = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(active))
        .bind(now_ms())
        .bind(product.id)
        .execute(&mut *tx)
        .await
        .context("changing whether a product is on sale")?;
    audit::record(
        &mut tx,
        actor,
        &NewEntry {
            action: if active {
                "product.reactivate"
            } else {
                "product.deactivate"
            },
            target: &format!("product {}", product.sku),
            before: json!({ "active": product.is_active() }),
            after: json!({ "active": active }),
        },
    )
    .await?;
    tx.commit().await.context("committing a product change")?;
    Ok(())
}

/// Gives a product a newly stored image.
pub async fn set_image(
    db: &Db,
    actor: &Actor,
    product: &StaffProduct,
    path: &str,
) -> anyhow::Result<()> {
    let mut tx = db
        .pool()
        .begin()
        .await
        .context("starting an image change")?;
    sqlx::query("UPDATE products SET image = $1, updated_at = $2 WHERE id = $3")
        .bind(path)
        .bind(now_ms())
        .bind(product.id)
        .execute(&mut *tx)
        .await
        .context("changing a product's image")?;
    audit::record(
        &mut tx,
        actor,
        &NewEntry {
            action: "product.image",
            target: &format!("product {}", product.sku),
            before: json!({ "image": product.image }),
            after: json!({ "image": path }),
        },
    )
    .await?;
    tx.commit().await.context("committing an image change")?;
    Ok(())
}

/// Changes the stock by `delta` for `reason`. `Ok(None)` when the stock would go
/// below zero (it may have changed since the form was shown); else the new stock.
pub async fn adjust_stock(
    db: &Db,
    actor: &Actor,
    product: &StaffProduct,
    delta: i64,
    reason: &str,
) -> anyhow::Result<Option<i64>> {
    let now = now_ms();
    let mut tx = db
        .pool()
        .begin()
        .await
        .context("starting a stock adjustment")?;
    // One conditional update, like checkout's: concurrent orders cannot be oversold.
    let stock: Option<i64> = sqlx::query_scalar(
        "UPDATE products SET stock = stock + $1, updated_at = $2 \
         WHERE id = $3 AND stock + $1 >= 0 AND stock + $1 <= $4 RETURNING stock",
    )
    .bind(delta)
    .bind(now)
    .bind(product.id)
    .bind(crate::catalog::fields::MAX_STOCK)
    .fetch_optional(&mut *tx)
    .await
    .context("adjusting stock")?;
    let Some(stock) = stock else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO stock_adjustments (product_id, delta, stock_after, reason, actor_user_id, \
                created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(product.id)
    .bind(delta)
    .bind(stock)
    .bind(reason)
    .bind(actor.user_id)
    .bind(now)
    .execute(&mut *tx)
    .await
    .context("recording a stock adjustment")?;
    audit::record(
        &mut tx,
        actor,
        &NewEntry {
            action: "product.stock",
            target: &format!("product {}", product.sku),
            before: json!({ "stock": stock - delta }),
            after: json!({ "stock": stock, "reason": reason }),
        },
    )
    .await?;
    tx.commit().await.context("committing a stock adjustment")?;
    Ok(Some(stock))
}

/// A stock adjustment, for the product's history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Adjustment {
    pub delta: i64,
    pub stock_after: i64,
    pub reason: String,
    pub created_at: i64,
}

impl Adjustment {
    pub fn at(&self) -> String {
        crate::db::time::display_ms(self.created_at)
    }
}

pub async fn adjustments(db: &Db, product_id: i64) -> anyhow::Result<Vec<Adjustment>> {
    sqlx::query_as(
        "SELECT delta, stock_after, reason, created_at FROM stock_adjustments \
         WHERE product_id = $1 ORDER BY id DESC LIMIT 20",
    )
    .bind(product_id)
    .fetch_all(db.pool())
    .await
    .context("loading stock adjustments")
}
