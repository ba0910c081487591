//! The demo catalogue, and generated catalogues of any size for load tests.
//!
//! The demo catalogue is a CSV embedded in the binary, loaded through the same import
//! as an operator's file. It is loaded once per database: a marker in `app_meta`
//! records that it was, so restarts do not duplicate it, and products that were there
//! before do not stop it.

use anyhow::Context as _;

use crate::catalog::fields::Sku;
use crate::catalog::import::{self, ProductRow};
use crate::catalog::slug::slugify;
use crate::catalog::store::{self, ImportSummary};
use crate::db::Db;
use crate::money::Money;

const DEMO_CSV: &str = include_str!("demo_catalog.csv");
const DEMO_MARKER: &str = "demo_catalog_loaded";

/// Loads the demo catalogue unless this database already has it. Returns what it
/// added, or `None` when it had been loaded before.
pub async fn load_demo_catalog(db: &Db) -> anyhow::Result<Option<ImportSummary>> {
    if store::meta(db, DEMO_MARKER).await?.is_some() {
        return Ok(None);
    }
    let rows = import::parse_csv(DEMO_CSV.as_bytes()).map_err(|errors| {
        let first = errors.first().map(ToString::to_string).unwrap_or_default();
        anyhow::anyhow!("the embedded demo catalogue is invalid: {first}")
    })?;

    let summary = store::upsert_products(db, &rows, |_| None).await?;
    // A second server starting at the same moment loads the same rows, which the
    // upsert makes harmless; only one of them records the marker.
    store::set_meta_once(db, DEMO_MARKER, &crate::db::time::now_ms().to_string()).await?;
    Ok(Some(summary))
}

/// Words the generated catalogue combines into product names.
const ADJECTIVES: [&str; 16] = [
    "Classic", "Compact", "Everyday", "Handmade", "Heritage", "Light", "Modern", "Natural",
    "Nordic", "Pocket", "Quiet", "Rustic", "Simple", "Sturdy", "Travel", "Warm",
];
const MATERIALS: [&str; 12] = [
    "Oak", "Walnut", "Linen", "Wool", "Ceramic", "Steel", "Brass", "Cotton", "Leather", "Bamboo",
    "Glass", "Cork",
];
const NOUNS: [&str; 20] = [
    "Bowl", "Lamp", "Mug", "Tray", "Basket", "Blanket", "Notebook", "Bottle", "Board", "Vase",
    "Stool", "Jar", "Shelf", "Pouch", "Clock", "Kettle", "Planter", "Cushion", "Frame", "Speaker",
];
const DEPARTMENTS: [&str; 12] = [
    "Kitchen", "Living", "Office", "Garden", "Bath", "Travel", "Kids", "Outdoor", "Audio",
    "Lighting", "Storage", "Textiles",
];

/// Rows written per transaction when seeding, so progress can be shown.
pub const SEED_BATCH: usize = 2_000;

/// Generated product number `n` (from 1) of a catalogue with `categories` categories.
/// The same `n` always gives the same product, so re-seeding updates in place.
pub fn seed_row(n: u32, categories: u32) -> anyhow::Result<ProductRow> {
    let i = n as usize;
    let name = format!(
        "{} {} {}",
        ADJECTIVES[i % ADJECTIVES.len()],
        MATERIALS[(i / ADJECTIVES.len()) % MATERIALS.len()],
        NOUNS[(i * 7) % NOUNS.len()],
    );
    let category_index = (n % categories.max(1)) as usize;
    let category = match DEPARTMENTS.get(category_index) {
        Some(name) if categories as usize <= DEPARTMENTS.len() => (*name).to_owned(),
        _ => format!(
            "{} {}",
            DEPARTMENTS[category_index % DEPARTMENTS.len()],
            category_index + 1
        ),
    };
    let price = 450 + i64::from(n.wrapping_mul(2_654_435_761) % 30_000);
    Ok(ProductRow {
        line: u64::from(n),
        sku: Sku::parse(&format!("SEED-{n:06}")).map_err(anyhow::Error::msg)?,
        description: format!(
            "{name}, generated for load tests. Made to last and easy to care for."
        ),
        name,
        price: Money::from_minor(price - price % 10),
        stock: i64::from(n % 97),
        category,
    })
}

/// Creates or updates `count` generated products over `categories` categories,
/// calling `progress` with the number written so far after each batch.
pub async fn seed(
    db: &Db,
    count: u32,
    categories: u32,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<ImportSummary> {
    let mut total = ImportSummary::default();
    let mut batch = Vec::with_capacity(SEED_BATCH);
    for n in 1..=count {
        batch.push(seed_row(n, categories)?);
        if batch.len() == SEED_BATCH || n == count {
            let summary = store::upsert_products(db, &batch, |row| {
                Some(slugify(&format!("{} {}", row.name, row.sku.as_str())))
            })
            .await
            .context("writing generated products")?;
            total.created += summary.created;
            total.updated += summary.updated;
            total.categories_created += summary.categories_created;
            progress(u64::from(n));
            batch.clear();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_demo_catalogue_is_valid_and_large_enough() {
        let rows = import::parse_csv(DEMO_CSV.as_bytes()).expect("valid demo catalogue");
        assert!(rows.len() >= 24, "{}", rows.len());
        let mut categories: Vec<&str> = rows.iter().map(|r| r.category.as_str()).collect();
        categories.sort_unstable();
        categories.dedup();
        assert!(categories.len() >= 4, "{categories:?}");
    }

    #[test]
    fn generated_rows_are_stable_and_valid() {
        let a = seed_row(42, 5).expect("row");
        assert_eq!(a, seed_row(42, 5).expect("row"));
        assert_eq!(a.sku.as_str(), "SEED-000042");
        assert!(a.price > Money::ZERO);
        assert_eq!(seed_row(3, 30).expect("row").category, "Garden 4");
    }
}
