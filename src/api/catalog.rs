//! The public catalogue: products and categories, as the shop's pages list them.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::input::ApiQuery;
use crate::api::problem::{ApiError, Problem};
use crate::api::{Paging, amount};
use crate::app::AppState;
use crate::catalog::store::{self, ProductDetail, ProductFilter, Sort};

/// Longest search text read; longer searches are refused.
const MAX_QUERY_LEN: usize = 200;

/// A product on sale.
#[derive(Debug, Serialize, ToSchema)]
pub struct Product {
    pub id: i64,
    pub sku: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    /// The price in major units, two decimals: `"12.25"`.
    #[schema(example = "12.25")]
    pub price: String,
    /// ISO 4217 code of the shop's currency.
    #[schema(example = "EUR")]
    pub currency: String,
    pub stock: i64,
    /// The category's slug, if the product has one.
    pub category: Option<String>,
    /// Path of the product's image on this server.
    pub image_url: String,
}

impl Product {
    pub fn from_detail(detail: ProductDetail, currency: &str) -> Product {
        Product {
            id: detail.id,
            image_url: detail.card.image_url(),
            price: amount(detail.card.price()),
            currency: currency.to_owned(),
            stock: detail.card.stock.max(0),
            category: detail.category_slug,
            sku: detail.sku,
            slug: detail.card.slug,
            name: detail.card.name,
            description: detail.description,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductList {
    pub items: Vec<Product>,
    pub page: u32,
    pub per_page: u32,
    /// Products matching the filter, on every page.
    pub total: u64,
}

/// The orders products can be listed in.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
pub enum ProductSort {
    #[default]
    #[serde(rename = "newest")]
    Newest,
    #[serde(rename = "price-asc")]
    PriceAsc,
    #[serde(rename = "price-desc")]
    PriceDesc,
    #[serde(rename = "name")]
    Name,
}

impl From<ProductSort> for Sort {
    fn from(sort: ProductSort) -> Sort {
        match sort {
            ProductSort::Newest => Sort::Newest,
            ProductSort::PriceAsc => Sort::PriceLowHigh,
            ProductSort::PriceDesc => Sort::PriceHighLow,
            ProductSort::Name => Sort::Name,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// Words to find in the name or description.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// A category's slug.
    #[param(max_length = 200)]
    pub category: Option<String>,
    #[param(inline)]
    pub sort: Option<ProductSort>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u32>,
    /// Products per page, at most 100 [default: 20].
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

/// Products on sale, filtered and sorted as the shop's list pages do.
#[utoipa::path(
    get,
    path = "/api/v1/products",
    tag = "catalogue",
    params(ProductQuery),
    responses((status = 200, description = "One page of products", body = ProductList))
)]
pub async fn list_products(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ProductQuery>,
) -> Result<Json<ProductList>, ApiError> {
    let paging = Paging::new(query.page, query.per_page)?;
    let search = text_param("q", query.q)?;
    let category = text_param("category", query.category)?;
    let filter = ProductFilter {
        search,
        category,
        sort: query.sort.unwrap_or_default().into(),
    };
    let total = store::count_products(&state.db, &filter).await?;
    let details =
        store::list_product_details(&state.db, &filter, paging.limit(), paging.offset()).await?;
    let currency = state.settings.currency.code();
    Ok(Json(ProductList {
        items: details
            .into_iter()
            .map(|d| Product::from_detail(d, currency))
            .collect(),
        page: paging.page,
        per_page: paging.per_page,
        total,
    }))
}

/// A trimmed text parameter, `None` when empty; too long is a 422.
fn text_param(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    if value
        .as_ref()
        .is_some_and(|v| v.chars().count() > MAX_QUERY_LEN)
    {
        return Err(ApiError::field(
            name,
            &format!("Use at most {MAX_QUERY_LEN} characters."),
        ));
    }
    Ok(value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
}

/// One product on sale. Withdrawn products are 404, as on the shop's pages.
#[utoipa::path(
    get,
    path = "/api/v1/products/{id}",
    tag = "catalogue",
    params(("id" = i64, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 404, description = "No such product on sale", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show_product(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Product>, ApiError> {
    let detail = store::product_by_id(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Product::from_detail(
        detail,
        state.settings.currency.code(),
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Category {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryList {
    pub items: Vec<Category>,
}

/// Categories that hold at least one product on sale, by name.
#[utoipa::path(
    get,
    path = "/api/v1/categories",
    tag = "catalogue",
    responses((status = 200, description = "The categories", body = CategoryList))
)]
pub async fn list_categories(
    State(state): State<AppState>,
) -> Result<Json<CategoryList>, ApiError> {
    let items = store::categories(&state.db)
        .await?
        .into_iter()
        .map(|c| Category {
            slug: c.slug,
            name: c.name,
        })
        .collect();
    Ok(Json(CategoryList { items }))
}
