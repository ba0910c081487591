//! Products for staff: every product, on sale or withdrawn, with the back office's
//! field rules, sale switch and stock adjustments, each audited.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::auth::extract::ApiStaff;
use crate::api::input::{ApiJson, ApiQuery};
use crate::api::problem::{ApiError, Problem};
use crate::api::{Paging, amount};
use crate::app::AppState;
use crate::backoffice::product_rules::{
    FieldsInput, STOCK_OUT_OF_RANGE, check_delta, check_fields, check_reason, sentence,
};
use crate::backoffice::product_store::{self as store, Adjustment, ProductQuery, StaffProduct};
use crate::catalog::fields::{Sku, check_stock};
use crate::db::time::iso_ms;
use crate::web::form::FieldErrors;

/// A product as staff see it, on sale or not.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminProduct {
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
    /// Whether the product is on sale.
    pub active: bool,
    /// The category's name, if the product has one.
    pub category: Option<String>,
    /// Path of the product's image on this server.
    pub image_url: String,
}

impl AdminProduct {
    fn new(product: StaffProduct, currency: &str) -> AdminProduct {
        AdminProduct {
            price: amount(product.price()),
            active: product.is_active(),
            image_url: product.image_url(),
            currency: currency.to_owned(),
            id: product.id,
            sku: product.sku,
            slug: product.slug,
            name: product.name,
            description: product.description,
            stock: product.stock,
            category: product.category_name,
        }
    }
}

/// A product with its latest stock adjustments.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminProductDetail {
    #[serde(flatten)]
    pub product: AdminProduct,
    /// The 20 latest adjustments, newest first.
    pub stock_adjustments: Vec<StockAdjustment>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockAdjustment {
    pub change: i64,
    pub stock_after: i64,
    pub reason: String,
    /// When, RFC 3339 in UTC.
    pub at: String,
}

impl From<Adjustment> for StockAdjustment {
    fn from(adjustment: Adjustment) -> StockAdjustment {
        StockAdjustment {
            change: adjustment.delta,
            stock_after: adjustment.stock_after,
            at: iso_ms(adjustment.created_at),
            reason: adjustment.reason,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminProductList {
    pub items: Vec<AdminProduct>,
    pub page: u32,
    pub per_page: u32,
    /// Products matching the filter, on every page.
    pub total: u64,
}

/// Which products a list shows.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductShow {
    #[default]
    All,
    /// On sale.
    Active,
    /// Withdrawn from sale.
    Inactive,
    /// At or below the dashboard's low-stock mark.
    LowStock,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminProductQuery {
    /// Part of the name or SKU.
    #[param(max_length = 100)]
    pub q: Option<String>,
    #[param(inline)]
    pub show: Option<ProductShow>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u32>,
    /// Products per page, at most 100 [default: 20].
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

/// A new product; it goes on sale at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// Letters, digits, `-`, `_` and `.`; unique.
    #[schema(min_length = 1, max_length = 64, example = "MUG-1")]
    pub sku: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: String,
    /// Major units, up to two decimals, more than 0 and at most 1000000.00.
    #[schema(
        example = "12.25",
        max_length = 32,
        pattern = r"^[0-9]+(\.[0-9]{1,2})?$"
    )]
    pub price: String,
    /// Units in stock [default: 0].
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000)]
    pub stock: i64,
    /// A category's name, created when new; empty for none.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub category: String,
}

/// New values for some of a product's fields; those left out keep theirs. The stock
/// changes only by adjustment, the sale status only through `/active`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductChanges {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    #[schema(
        example = "12.25",
        max_length = 32,
        pattern = r"^[0-9]+(\.[0-9]{1,2})?$"
    )]
    pub price: Option<String>,
    /// Empty removes the category.
    #[schema(max_length = 100)]
    pub category: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductActive {
    /// `true` puts the product on sale, `false` withdraws it.
    pub active: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockChange {
    /// Units to add (positive) or take away (negative); not 0.
    #[schema(minimum = -9999999, maximum = 9999999, example = -3)]
    pub change: i64,
    /// Why, for the product's history.
    #[schema(min_length = 1, max_length = 200, example = "Stocktake")]
    pub reason: String,
}

/// Every product, filtered as the back office's list is, by name.
#[utoipa::path(
    get,
    path = "/api/v1/admin/products",
    tag = "admin",
    security(("bearer" = [])),
    params(AdminProductQuery),
    responses((status = 200, description = "One page of products", body = AdminProductList))
)]
pub async fn list_products(
    State(state): State<AppState>,
    _staff: ApiStaff,
    ApiQuery(query): ApiQuery<AdminProductQuery>,
) -> Result<Json<AdminProductList>, ApiError> {
    let paging = Paging::new(query.page, query.per_page)?;
    let show = query.show.unwrap_or_default();
    let filter = ProductQuery {
        search: super::search("q", query.q.as_deref())?,
        active: match show {
            ProductShow::Active => Some(true),
            ProductShow::Inactive => Some(false),
            ProductShow::All | ProductShow::LowStock => None,
        },
        low_stock: matches!(show, ProductShow::LowStock),
    };

    let total = store::count(&state.db, &filter).await?;
    let products = store::list(&state.db, &filter, paging.limit(), paging.offset()).await?;
    let currency = state.settings.currency.code();
    Ok(Json(AdminProductList {
        items: products
            .into_iter()
            .map(|p| AdminProduct::new(p, currency))
            .collect(),
        page: paging.page,
        per_page: paging.per_page,
        total: total.unsigned_abs(),
    }))
}

/// Create a product, on sale at once.
#[utoipa::path(
    post,
    path = "/api/v1/admin/products",
    tag = "admin",
    security(("bearer" = [])),
    request_body = NewProduct,
    responses(
        (status = 201, description = "Created", body = AdminProduct,
            headers(("Location" = String, description = "The new product's address"))),
        (status = 409, description = "Another product has this SKU (`sku-taken`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_product(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    ApiJson(new): ApiJson<NewProduct>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        Json<AdminProduct>,
    ),
    ApiError,
> {
    let mut errors = FieldErrors::default();
    let sku = Sku::parse(&new.sku)
        .map_err(|e| errors.add("sku", sentence(&e)))
        .ok();
    let stock = check_stock(new.stock)
        .map_err(|e| errors.add("stock", sentence(&e)))
        .ok();
    let input = FieldsInput {
        name: &new.name,
        description: &new.description,
        price: &new.price,
        category: &new.category,
    };
    let fields = check_fields(input, &mut errors);
    let (Some(sku), Some(stock), Some(fields), true) = (sku, stock, fields, errors.is_empty())
    else {
        return Err(errors.into());
    };
    let taken = || ApiError::conflict("sku-taken", "Another product has this SKU.");
    if store::sku_taken(&state.db, &sku).await? {
        return Err(taken());
    }

    let id = store::create(&state.db, &staff.actor(), &sku, &fields, stock)
        .await?
        .ok_or_else(taken)?;
    tracing::info!(
        event = "product.created",
        user.id = staff.user.id,
        product.id = id,
        "product created"
    );
    let product = load(&state, id).await?;
    let location = format!("/api/v1/admin/products/{id}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(respond(&state, product)),
    ))
}

/// One product, on sale or not, with its latest stock adjustments.
#[utoipa::path(
    get,
    path = "/api/v1/admin/products/{id}",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The product", body = AdminProductDetail),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show_product(
    State(state): State<AppState>,
    _staff: ApiStaff,
    Path(id): Path<i64>,
) -> Result<Json<AdminProductDetail>, ApiError> {
    let product = load(&state, id).await?;
    let adjustments = store::adjustments(&state.db, product.id).await?;
    Ok(Json(AdminProductDetail {
        product: AdminProduct::new(product, state.settings.currency.code()),
        stock_adjustments: adjustments.into_iter().map(Into::into).collect(),
    }))
}

/// Change some of a product's fields.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/products/{id}",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The product's id")),
    request_body = ProductChanges,
    responses(
        (status = 200, description = "The changed product", body = AdminProduct),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_product(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    Path(id): Path<i64>,
    ApiJson(changes): ApiJson<ProductChanges>,
) -> Result<Json<AdminProduct>, ApiError> {
    let product = load(&state, id).await?;
    let nothing = changes.name.is_none()
        && changes.description.is_none()
        && changes.price.is_none()
        && changes.category.is_none();
    if nothing {
        return Ok(Json(respond(&state, product)));
    }

    // Fields left out keep their values; the whole product is checked as the form is.
    let price = product.price().to_string();
    let current_category = product.category_name.clone().unwrap_or_default();
    let input = FieldsInput {
        name: changes.name.as_deref().unwrap_or(&product.name),
        description: changes
            .description
            .as_deref()
            .unwrap_or(&product.description),
        price: changes.price.as_deref().unwrap_or(&price),
        category: changes.category.as_deref().unwrap_or(&current_category),
    };
    let mut errors = FieldErrors::default();
    let Some(fields) = check_fields(input, &mut errors) else {
        return Err(errors.into());
    };

    store::update(&state.db, &staff.actor(), &product, &fields).await?;
    Ok(Json(respond(&state, load(&state, id).await?)))
}

/// Put a product on sale or withdraw it.
#[utoipa::path(
    put,
    path = "/api/v1/admin/products/{id}/active",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The product's id")),
    request_body = ProductActive,
    responses(
        (status = 200, description = "The product", body = AdminProduct),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn set_active(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<ProductActive>,
) -> Result<Json<AdminProduct>, ApiError> {
    let product = load(&state, id).await?;
    store::set_active(&state.db, &staff.actor(), &product, request.active).await?;
    Ok(Json(respond(&state, load(&state, id).await?)))
}

/// Add units to the stock or take them away, with a reason.
#[utoipa::path(
    post,
    path = "/api/v1/admin/products/{id}/stock",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The product's id")),
    request_body = StockChange,
    responses(
        (status = 200, description = "The product with its new stock", body = AdminProduct),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stock would go below 0 or above 1000000 (`stock-out-of-range`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn adjust_stock(
    State(state): State<AppState>,
    ApiStaff(staff): ApiStaff,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<StockChange>,
) -> Result<Json<AdminProduct>, ApiError> {
    let product = load(&state, id).await?;
    let mut errors = FieldErrors::default();
    let change = check_delta(request.change)
        .map_err(|e| errors.add("change", e))
        .ok();
    let reason = check_reason(&request.reason)
        .map_err(|e| errors.add("reason", e))
        .ok();
    let (Some(change), Some(reason)) = (change, reason) else {
        return Err(errors.into());
    };

    let adjusted =
        store::adjust_stock(&state.db, &staff.actor(), &product, change, &reason).await?;
    if adjusted.is_none() {
        return Err(ApiError::conflict("stock-out-of-range", STOCK_OUT_OF_RANGE));
    }
    Ok(Json(respond(&state, load(&state, id).await?)))
}

async fn load(state: &AppState, id: i64) -> Result<StaffProduct, ApiError> {
    store::find(&state.db, id).await?.ok_or(ApiError::NotFound)
}

fn respond(state: &AppState, product: StaffProduct) -> AdminProduct {
    AdminProduct::new(product, state.settings.currency.code())
}
