//! The back office's product pages (F-07): the list, a new product, and one
//! product's page with its fields, sale status and stock adjustments.

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::backoffice::extract::Staff;
use crate::backoffice::layout::{AdminLayout, Section};
use crate::backoffice::product_rules::{
    FieldsInput, STOCK_OUT_OF_RANGE, check_fields, check_reason, parse_delta, sentence,
};
use crate::backoffice::product_store::{
    self as store, Adjustment, ProductFields, ProductQuery, StaffProduct,
};
use crate::catalog::fields::{self, Sku};
use crate::catalog::images;
use crate::error::AppError;
use crate::web::form::FieldErrors;
use crate::web::pagination::Pagination;
use crate::web::query::{Query, non_empty};
use crate::web::render;

const PER_PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "backoffice/products.html")]
struct ListPage {
    layout: AdminLayout,
    products: Vec<StaffProduct>,
    pagination: Pagination,
    search: String,
    show: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    /// `active`, `inactive`, `low` or anything else for all.
    show: Option<String>,
    page: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<ListParams>,
) -> Result<Response, AppError> {
    let show = params.show.unwrap_or_default();
    let query = ProductQuery {
        search: non_empty(params.q.as_deref()).map(|q| q.chars().take(100).collect()),
        active: match show.as_str() {
            "active" => Some(true),
            "inactive" => Some(false),
            _ => None,
        },
        low_stock: show == "low",
    };
    let total = store::count(&state.db, &query).await?;
    let requested = params
        .page
        .as_deref()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(1);
    let pagination = Pagination::new(requested, PER_PAGE, u64::try_from(total).unwrap_or(0));
    let products = store::list(&state.db, &query, pagination.limit(), pagination.offset()).await?;

    let page = ListPage {
        layout: AdminLayout::new(&state, &staff, "Products", Section::Products),
        products,
        pagination,
        search: query.search.unwrap_or_default(),
        show,
    };
    Ok(render(&page)?.into_response())
}

/// The product form as typed; every field is text so nothing is lost on an error.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ProductForm {
    sku: String,
    name: String,
    description: String,
    price: String,
    stock: String,
    category: String,
}

impl ProductForm {
    fn of(product: &StaffProduct) -> ProductForm {
        ProductForm {
            sku: product.sku.clone(),
            name: product.name.clone(),
            description: product.description.clone(),
            price: product.price().to_string(),
            stock: product.stock.to_string(),
            category: product.category_name.clone().unwrap_or_default(),
        }
    }

    /// The checked fields, or a message per field that is wrong.
    fn fields(&self, errors: &mut FieldErrors) -> Option<ProductFields> {
        let input = FieldsInput {
            name: &self.name,
            description: &self.description,
            price: &self.price,
            category: &self.category,
        };
        check_fields(input, errors)
    }
}

#[derive(Template)]
#[template(path = "backoffice/product_form.html")]
struct FormPage {
    layout: AdminLayout,
    /// `None` for a new product.
    product: Option<StaffProduct>,
    form: ProductForm,
    errors: FieldErrors,
    categories: Vec<String>,
    adjustments: Vec<Adjustment>,
    notice: Option<&'static str>,
}

async fn form_page(
    state: &AppState,
    staff: &Staff,
    product: Option<StaffProduct>,
    form: ProductForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
) -> Result<Response, AppError> {
    let adjustments = match &product {
        Some(p) => store::adjustments(&state.db, p.id).await?,
        None => Vec::new(),
    };
    let title = match &product {
        Some(p) => p.name.clone(),
        None => "New product".to_owned(),
    };
    let status = match errors.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let page = FormPage {
        layout: AdminLayout::new(state, staff, title, Section::Products),
        product,
        form,
        errors,
        categories: store::category_names(&state.db).await?,
        adjustments,
        notice,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn new_form(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    let form = ProductForm {
        stock: "0".into(),
        ..ProductForm::default()
    };
    form_page(&state, &staff, None, form, FieldErrors::default(), None).await
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<ProductForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let sku = Sku::parse(&form.sku)
        .map_err(|e| errors.add("sku", sentence(&e)))
        .ok();
    let stock = fields::parse_stock(&form.stock)
        .map_err(|e| errors.add("stock", sentence(&e)))
        .ok();
    let product_fields = form.fields(&mut errors);
    if let Some(sku) = &sku
        && store::sku_taken(&state.db, sku).await?
    {
        errors.add("sku", "Another product has this SKU.");
    }
    let (Some(sku), Some(stock), Some(product_fields), true) =
        (sku, stock, product_fields, errors.is_empty())
    else {
        return form_page(&state, &staff, None, form, errors, None).await;
    };

    let Some(id) = store::create(&state.db, &staff.actor(), &sku, &product_fields, stock).await?
    else {
        errors.add("sku", "Another product has this SKU.");
        return form_page(&state, &staff, None, form, errors, None).await;
    };
    tracing::info!(
        event = "product.created",
        user.id = staff.user.id,
        product.id = id,
        "product created"
    );
    Ok(Redirect::to(&format!("/admin/products/{id}?notice=created")).into_response())
}

async fn load(state: &AppState, id: &str) -> Result<StaffProduct, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    store::find(&state.db, id).await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
pub struct ProductParams {
    notice: Option<String>,
}

fn notice(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "created" => Some("The product is created and on sale."),
        "saved" => Some("Your changes are saved."),
        "stock" => Some("The stock is adjusted."),
        "image" => Some("The new image is in place."),
        "active" => Some("The product is on sale again."),
        "inactive" => Some("The product is withdrawn from sale."),
        _ => None,
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(params): Query<ProductParams>,
) -> Result<Response, AppError> {
    let product = load(&state, &id).await?;
    let form = ProductForm::of(&product);
    let notice = notice(params.notice.as_deref());
    form_page(
        &state,
        &staff,
        Some(product),
        form,
        FieldErrors::default(),
        notice,
    )
    .await
}

pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ProductForm>,
) -> Result<Response, AppError> {
    let product = load(&state, &id).await?;
    let mut errors = FieldErrors::default();
    let Some(product_fields) = form.fields(&mut errors).filter(|_| errors.is_empty()) else {
        let form = ProductForm {
            sku: product.sku.clone(),
            stock: product.stock.to_string(),
            ..form
        };
        return form_page(&state, &staff, Some(product), form, errors, None).await;
    };
    store::update(&state.db, &staff.actor(), &product, &product_fields).await?;
    Ok(Redirect::to(&format!("/admin/products/{}?notice=saved", product.id)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActiveForm {
    active: String,
}

pub async fn set_active(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ActiveForm>,
) -> Result<Response, AppError> {
    let product = load(&state, &id).await?;
    let active = form.active == "1";
    store::set_active(&state.db, &staff.actor(), &product, active).await?;
    let notice = if active { "active" } else { "inactive" };
    Ok(Redirect::to(&format!("/admin/products/{}?notice={notice}", product.id)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StockForm {
    delta: String,
    reason: String,
}

pub async fn adjust_stock(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<StockForm>,
) -> Result<Response, AppError> {
    let product = load(&state, &id).await?;
    let mut errors = FieldErrors::default();
    let delta = parse_delta(&form.delta)
        .map_err(|e| errors.add("delta", e))
        .ok();
    let reason = check_reason(&form.reason)
        .map_err(|e| errors.add("reason", e))
        .ok();
    let (Some(delta), Some(reason)) = (delta, reason) else {
        let page_form = ProductForm::of(&product);
        return form_page(&state, &staff, Some(product), page_form, errors, None).await;
    };

    match store::adjust_stock(&state.db, &staff.actor(), &product, delta, &reason).await? {
        Some(_) => Ok(
            Redirect::to(&format!("/admin/products/{}?notice=stock", product.id)).into_response(),
        ),
        None => {
            errors.add("delta", STOCK_OUT_OF_RANGE);
            let page_form = ProductForm::of(&product);
            form_page(&state, &staff, Some(product), page_form, errors, None).await
        }
    }
}

/// Uploads a product image: the multipart field `image`, re-encoded before it is kept.
pub async fn upload_image(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let product = load(&state, &id).await?;
    let mut upload = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest("The upload could not be read.".into()))?
    {
        if field.name() == Some("image") {
            let bytes = field
                .bytes()
                .await
                .map_err(|_| AppError::BadRequest("The upload could not be read.".into()))?;
            upload = Some(bytes);
        }
    }
    let bytes = upload.unwrap_or_default();

    // Decoding is CPU work: off the async threads.
    let png = tokio::task::spawn_blocking(move || images::reencode(&bytes))
        .await
        .map_err(|e| anyhow::anyhow!("image task failed: {e}"))?;
    let png = match png {
        Ok(png) => png,
        Err(refusal) => {
            tracing::info!(event = "security.upload_refused", user.id = staff.user.id, reason = %refusal, "image refused");
            let mut errors = FieldErrors::default();
            errors.add("image", refusal.to_string());
            let form = ProductForm::of(&product);
            return form_page(&state, &staff, Some(product), form, errors, None).await;
        }
    };
    let path = images::store(&state.settings.uploads_dir(), png).await?;
    store::set_image(&state.db, &staff.actor(), &product, &path).await?;
    Ok(Redirect::to(&format!("/admin/products/{}?notice=image", product.id)).into_response())
}
