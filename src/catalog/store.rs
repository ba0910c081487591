//! The catalogue's SQL. Every value is a bound parameter; the only SQL text that
//! varies is chosen from fixed fragments (the sort order and which filters apply).

use std::collections::HashMap;

use anyhow::Context as _;
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::catalog::fields::Sku;
use crate::catalog::import::ProductRow;
use crate::catalog::slug::slugify;
use crate::db::{Db, like_escape, time::now_ms};
use crate::money::Money;

/// Below this many units, the shop says "only N left".
pub const LOW_STOCK: i64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CategoryLink {
    pub slug: String,
    pub name: String,
}

/// A product as the list and the front page show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductCard {
    pub slug: String,
    pub name: String,
    pub price_minor: i64,
    pub stock: i64,
    pub image: Option<String>,
    pub category_name: Option<String>,
}

/// A product as its own page shows it: the card's fields and the rest.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductDetail {
    pub id: i64,
    pub sku: String,
    pub description: String,
    pub category_slug: Option<String>,
    #[sqlx(flatten)]
    pub card: ProductCard,
}

/// What a shopper is told about availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockState {
    InStock,
    Low(i64),
    SoldOut,
}

impl StockState {
    pub fn of(stock: i64) -> Self {
        match stock {
            s if s <= 0 => StockState::SoldOut,
            s if s <= LOW_STOCK => StockState::Low(s),
            _ => StockState::InStock,
        }
    }

    pub fn label(&self) -> String {
        match self {
            StockState::InStock => "In stock".to_owned(),
            StockState::Low(n) => format!("Only {n} left"),
            StockState::SoldOut => "Out of stock".to_owned(),
        }
    }

    /// The stylesheet's class for this state.
    pub fn class(&self) -> &'static str {
        match self {
            StockState::InStock => "stock stock--in",
            StockState::Low(_) => "stock stock--low",
            StockState::SoldOut => "stock stock--out",
        }
    }
}

impl ProductCard {
    pub fn price(&self) -> Money {
        Money::from_minor(self.price_minor)
    }

    /// The most one add-to-cart may ask for.
    pub fn max_quantity(&self) -> i64 {
        crate::cart::quantity::line_limit(self.stock).max(1)
    }

    pub fn stock_state(&self) -> StockState {
        StockState::of(self.stock)
    }

    /// The uploaded image, or art generated from the product's slug.
    pub fn image_url(&self) -> String {
        match &self.image {
            Some(path) => format!("/media/{path}"),
            None => format!("/media/art/{}.svg", self.slug),
        }
    }
}

/// The orders a list can be sorted in; anything else in the address means the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Newest,
    PriceLowHigh,
    PriceHighLow,
    Name,
}

impl Sort {
    pub const ALL: [Sort; 4] = [
        Sort::Newest,
        Sort::PriceLowHigh,
        Sort::PriceHighLow,
        Sort::Name,
    ];

    pub fn parse(text: Option<&str>) -> Sort {
        Sort::ALL
            .into_iter()
            .find(|s| Some(s.key()) == text)
            .unwrap_or_default()
    }

    /// The value in the address, `?sort=…`.
    pub fn key(&self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::PriceLowHigh => "price-asc",
            Sort::PriceHighLow => "price-desc",
            Sort::Name => "name",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Sort::Newest => "Newest first",
            Sort::PriceLowHigh => "Price: low to high",
            Sort::PriceHighLow => "Price: high to low",
            Sort::Name => "Name: A to Z",
        }
    }

    /// Every order ends with the id, so that pages never repeat or skip a product.
    fn order_by(&self) -> &'static str {
        match self {
            Sort::Newest => "p.created_at DESC, p.id DESC",
            Sort::PriceLowHigh => "p.price_minor ASC, p.id ASC",
            Sort::PriceHighLow => "p.price_minor DESC, p.id DESC",
            Sort::Name => "lower(p.name) ASC, p.id ASC",
        }
    }
}

/// Which active products a list shows.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    pub search: Option<String>,
    pub category: Option<String>,
    pub sort: Sort,
}

impl ProductFilter {
    /// The `WHERE` clause and its bound values, numbered from `$1`.
    fn where_clause(&self) -> (String, Vec<String>) {
        let mut sql = String::from("p.active = 1");
        let mut binds = Vec::new();
        if let Some(category) = &self.category {
            binds.push(category.clone());
            sql.push_str(&format!(" AND c.slug = ${}", binds.len()));
        }
        if let Some(search) = &self.search {
            binds.push(format!("%{}%", like_escape(&search.to_lowercase())));
            let n = binds.len();
            sql.push_str(&format!(
                " AND (lower(p.name) LIKE ${n} ESCAPE '\\' OR lower(p.description) LIKE ${n} ESCAPE '\\')"
            ));
        }
        (sql, binds)
    }
}

/// Categories that hold at least one active product, by name.
pub async fn categories(db: &Db) -> anyhow::Result<Vec<CategoryLink>> {
    sqlx::query_as(
        "SELECT c.slug, c.name FROM categories c \
         WHERE EXISTS (SELECT 1 FROM products p WHERE p.category_id = c.id AND p.active = 1) \
         ORDER BY c.name",
    )
    .fetch_all(db.pool())
    .await
    .context("loading categories")
}

pub async fn category_by_slug(db: &Db, slug: &str) -> anyhow::Result<Option<CategoryLink>> {
    sqlx::query_as("SELECT slug, name FROM categories WHERE slug = $1")
        .bind(slug)
        .fetch_optional(db.pool())
        .await
        .context("loading a category")
}

pub async fn count_products(db: &Db, filter: &ProductFilter) -> anyhow::Result<u64> {
    let (condition, binds) = filter.where_clause();
    let sql = format!(
        "SELECT COUNT(*) FROM products p LEFT JOIN categories c ON c.id = p.category_id \
         WHERE {condition}"
    );
    let mut query = sqlx::query_scalar::<Any, i64>(&sql);
    for value in binds {
        query = query.bind(value);
    }
    let count = query
        .fetch_one(db.pool())
        .await
        .context("counting products")?;
    Ok(count.unsigned_abs())
}

pub async fn list_products(
    db: &Db,
    filter: &ProductFilter,
    limit: i64,
    offset: i64,
) -> anyhow::Result<Vec<ProductCard>> {
    let columns = "p.slug, p.name, p.price_minor, p.stock, p.image, c.name AS category_name";
    list_page(db, filter, columns, limit, offset)
        .await
        .context("listing products")
}

/// Active products with everything the API shows of them, in the filter's order.
pub async fn list_product_details(
    db: &Db,
    filter: &ProductFilter,
    limit: i64,
    offset: i64,
) -> anyhow::Result<Vec<ProductDetail>> {
    list_page(db, filter, DETAIL_COLUMNS, limit, offset)
        .await
        .context("listing product details")
}

/// One page of the filter's products, as rows of `columns`.
async fn list_page<T>(
    db: &Db,
    filter: &ProductFilter,
    columns: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let (condition, binds) = filter.where_clause();
    let sql = format!(
        "SELECT {columns} FROM products p LEFT JOIN categories c ON c.id = p.category_id \
         WHERE {condition} ORDER BY {} LIMIT ${} OFFSET ${}",
        filter.sort.order_by(),
        binds.len() + 1,
        binds.len() + 2,
    );
    let mut query = sqlx::query_as::<Any, T>(&sql);
    for value in binds {
        query = query.bind(value);
    }
    query.bind(limit).bind(offset).fetch_all(db.pool()).await
}

/// An active product by its id.
pub async fn product_by_id(db: &Db, id: i64) -> anyhow::Result<Option<ProductDetail>> {
    sqlx::query_as(&format!(
        "SELECT {DETAIL_COLUMNS} FROM products p LEFT JOIN categories c ON c.id = p.category_id \
         WHERE p.id = $1 AND p.active = 1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await
    .context("loading a product by id")
}

const DETAIL_COLUMNS: &str = "p.id, p.sku, p.slug, p.name, p.description, p.price_minor, \
     p.stock, p.image, c.slug AS category_slug, c.name AS category_name";

/// An active product by its slug; inactive products do not exist for shoppers.
pub async fn product_by_slug(db: &Db, slug: &str) -> anyhow::Result<Option<ProductDetail>> {
    sqlx::query_as(&format!(
        "SELECT {DETAIL_COLUMNS} FROM products p LEFT JOIN categories c ON c.id = p.category_id \
         WHERE p.slug = $1 AND p.active = 1"
    ))
    .bind(slug)
    .fetch_optional(db.pool())
    .await
    .context("loading a product")
}

/// What an import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: u64,
    pub updated: u64,
    pub categories_created: u64,
}

/// Creates or updates `rows` by SKU in one transaction: all of them, or none.
///
/// A new product's slug comes from its name (or from `slug_hint` when given); when
/// another product has it, the SKU is appended. An existing product keeps its slug,
/// so its address does not change when it is renamed.
pub async fn upsert_products(
    db: &Db,
    rows: &[ProductRow],
    slug_hint: impl Fn(&ProductRow) -> Option<String>,
) -> anyhow::Result<ImportSummary> {
    let mut tx = db.pool().begin().await.context("starting the import")?;
    let mut summary = ImportSummary::default();
    let mut category_ids: HashMap<String, i64> = HashMap::new();
    let now = now_ms();

    for row in rows {
        let category_id = match row.category.as_str() {
            "" => None,
            name => Some(match category_ids.get(name) {
                Some(id) => *id,
                None => {
                    let (id, created) = ensure_category(&mut tx, name, now).await?;
                    summary.categories_created += u64::from(created);
                    category_ids.insert(name.to_owned(), id);
                    id
                }
            }),
        };

        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE sku = $1")
            .bind(row.sku.as_str())
            .fetch_optional(&mut *tx)
            .await
            .with_context(|| format!("looking up SKU on line {}", row.line))?;

        if let Some(id) = existing {
            sqlx::query(
                "UPDATE products SET name = $1, description = $2, price_minor = $3, stock = $4, \
                 category_id = $5, updated_at = $6 WHERE id = $7",
            )
            .bind(&row.name)
            .bind(&row.description)
            .bind(row.price.minor())
            .bind(row.stock)
            .bind(category_id)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("updating the product on line {}", row.line))?;
            summary.updated += 1;
        } else {
            let base = slug_hint(row).unwrap_or_else(|| slugify(&row.name));
            let slug = free_product_slug(&mut tx, &base, &row.sku).await?;
            sqlx::query(
                "INSERT INTO products (sku, slug, name, description, price_minor, stock, active, \
                 category_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $8)",
            )
            .bind(row.sku.as_str())
            .bind(&slug)
            .bind(&row.name)
            .bind(&row.description)
            .bind(row.price.minor())
            .bind(row.stock)
            .bind(category_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("adding the product on line {}", row.line))?;
            summary.created += 1;
        }
    }

    tx.commit().await.context("committing the import")?;
    Ok(summary)
}

/// Puts `quantity` units of a product back in stock, inside the caller's transaction
/// (a failed payment, a cancellation, a refund with restocking).
pub async fn restock(
    conn: &mut sqlx::AnyConnection,
    product_id: i64,
    quantity: i64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE products SET stock = stock + $1, updated_at = $2 WHERE id = $3")
        .bind(quantity)
        .bind(now_ms())
        .bind(product_id)
        .execute(conn)
        .await
        .context("putting stock back")?;
    Ok(())
}

/// The id of the category called `name` (compared without case), creating it if
/// needed. Returns whether it was created.
pub(crate) async fn ensure_category(
    tx: &mut Transaction<'static, Any>,
    name: &str,
    now: i64,
) -> anyhow::Result<(i64, bool)> {
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM categories WHERE lower(name) = lower($1)")
            .bind(name)
            .fetch_optional(&mut **tx)
            .await
            .context("looking up a category")?;
    if let Some(id) = existing {
        return Ok((id, false));
    }

    let base = match slugify(name) {
        slug if slug.is_empty() => "category".to_owned(),
        slug => slug,
    };
    let mut slug = base.clone();
    for n in 2.. {
        if !exists(tx, "SELECT 1 FROM categories WHERE slug = $1", &slug).await? {
            break;
        }
        slug = format!("{base}-{n}");
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO categories (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&slug)
    .bind(name)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .context("creating a category")?;
    Ok((id, true))
}

/// A slug no product has yet: `base`, or `base` with the SKU, or with a counter too.
pub(crate) async fn free_product_slug(
    tx: &mut Transaction<'static, Any>,
    base: &str,
    sku: &Sku,
) -> anyhow::Result<String> {
    let sku_slug = slugify(sku.as_str());
    let candidates = [
        base.to_owned(),
        format!("{base}-{sku_slug}").trim_matches('-').to_owned(),
    ];
    for candidate in candidates {
        if !candidate.is_empty()
            && !exists(tx, "SELECT 1 FROM products WHERE slug = $1", &candidate).await?
        {
            return Ok(candidate);
        }
    }
    // Only a product whose slug was deliberately made from another's name and SKU gets
    // here; a counter settles it.
    for n in 2.. {
        let candidate = format!("{base}-{sku_slug}-{n}");
        if !exists(tx, "SELECT 1 FROM products WHERE slug = $1", &candidate).await? {
            return Ok(candidate);
        }
    }
    unreachable!("the counter above only ends by returning")
}

async fn exists(
    tx: &mut Transaction<'static, Any>,
    sql: &str,
    value: &str,
) -> anyhow::Result<bool> {
    let row: Option<AnyRow> = sqlx::query(sql)
        .bind(value)
        .fetch_optional(&mut **tx)
        .await
        .context("checking whether a slug is taken")?;
    Ok(row.is_some())
}

/// Reads a fact about the database from `app_meta`.
pub async fn meta(db: &Db, key: &str) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar("SELECT value FROM app_meta WHERE key = $1")
        .bind(key)
        .fetch_optional(db.pool())
        .await
        .context("reading app_meta")
}

/// Records a fact once; returns false when it was already recorded.
pub async fn set_meta_once(db: &Db, key: &str, value: &str) -> anyhow::Result<bool> {
    let result = sqlx::query(
        "INSERT INTO app_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(value)
    .execute(db.pool())
    .await
    .context("writing app_meta")?;
    Ok(result.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_states_follow_the_low_stock_threshold() {
        assert_eq!(StockState::of(0), StockState::SoldOut);
        assert_eq!(StockState::of(-1), StockState::SoldOut);
        assert_eq!(StockState::of(3).label(), "Only 3 left");
        assert_eq!(StockState::of(LOW_STOCK + 1), StockState::InStock);
    }

    #[test]
    fn an_unknown_sort_falls_back_to_newest() {
        assert_eq!(Sort::parse(Some("price-desc")), Sort::PriceHighLow);
        assert_eq!(
            Sort::parse(Some("price; DROP TABLE products")),
            Sort::Newest
        );
        assert_eq!(Sort::parse(None), Sort::Newest);
    }

    #[test]
    fn filters_bind_values_and_never_splice_them() {
        let filter = ProductFilter {
            search: Some("50%' OR 1=1 --".into()),
            category: Some("kitchen".into()),
            sort: Sort::Name,
        };
        let (sql, binds) = filter.where_clause();
        assert!(!sql.contains("OR 1=1"), "{sql}");
        assert_eq!(
            binds,
            vec!["kitchen".to_owned(), "%50\\%' or 1=1 --%".to_owned()]
        );
    }
}
