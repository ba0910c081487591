//! Categories in the back office (F-07): the list with product counts, a new
//! category, and renaming one (its address, the slug, stays).

use anyhow::Context as _;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::backoffice::audit::{self, NewEntry};
use crate::backoffice::extract::Staff;
use crate::backoffice::layout::{AdminLayout, Section};
use crate::catalog::fields;
use crate::catalog::store::ensure_category;
use crate::db::{Db, time::now_ms};
use crate::error::AppError;
use crate::web::render;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CategoryRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub products: i64,
}

async fn list_rows(db: &Db) -> anyhow::Result<Vec<CategoryRow>> {
    sqlx::query_as(
        "SELECT c.id, c.slug, c.name, \
                (SELECT COUNT(*) FROM products p WHERE p.category_id = c.id) AS products \
         FROM categories c ORDER BY c.name",
    )
    .fetch_all(db.pool())
    .await
    .context("listing categories")
}

#[derive(Template)]
#[template(path = "backoffice/categories.html")]
struct CategoriesPage {
    layout: AdminLayout,
    categories: Vec<CategoryRow>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    staff: &Staff,
    error: Option<String>,
) -> Result<Response, AppError> {
    let status = match error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let page = CategoriesPage {
        layout: AdminLayout::new(state, staff, "Categories", Section::Products),
        categories: list_rows(&state.db).await?,
        error,
    };
    Ok((status, render(&page)?).into_response())
}

pub async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    page(&state, &staff, None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NameForm {
    name: String,
}

fn check_name(text: &str) -> Result<String, String> {
    match fields::parse_text(text, "category name", 100, true) {
        Ok(name) if name.contains(['\n', '\t']) => Err("Keep the name on one line.".into()),
        Ok(name) => Ok(name),
        Err(message) => Err(format!("{}.", capitalise(&message))),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<NameForm>,
) -> Result<Response, AppError> {
    let name = match check_name(&form.name) {
        Ok(name) => name,
        Err(message) => return page(&state, &staff, Some(message)).await,
    };
    let mut tx = state
        .db
        .pool()
        .begin()
        .await
        .context("starting a category")?;
    let (id, created) = ensure_category(&mut tx, &name, now_ms()).await?;
    if !created {
        return page(
            &state,
            &staff,
            Some("A category with this name exists already.".into()),
        )
        .await;
    }
    audit::record(
        &mut tx,
        &staff.actor(),
        &NewEntry {
            action: "category.create",
            target: &format!("category {id}"),
            before: json!({}),
            after: json!({ "name": name }),
        },
    )
    .await?;
    tx.commit().await.context("committing a category")?;
    Ok(Redirect::to("/admin/categories").into_response())
}

pub async fn rename(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<NameForm>,
) -> Result<Response, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let old: Option<String> = sqlx::query_scalar("SELECT name FROM categories WHERE id = $1")
        .bind(id)
        .fetch_optional(state.db.pool())
        .await?;
    let old = old.ok_or(AppError::NotFound)?;
    let name = match check_name(&form.name) {
        Ok(name) => name,
        Err(message) => return page(&state, &staff, Some(message)).await,
    };

    let mut tx = state.db.pool().begin().await.context("starting a rename")?;
    let renamed = sqlx::query(
        "UPDATE categories SET name = $1 WHERE id = $2 \
         AND NOT EXISTS (SELECT 1 FROM categories WHERE lower(name) = lower($1) AND id <> $2)",
    )
    .bind(&name)
    .bind(id)
    .execute(&mut *tx)
    .await
    .context("renaming a category")?
    .rows_affected();
    if renamed == 0 {
        return page(
            &state,
            &staff,
            Some("A category with this name exists already.".into()),
        )
        .await;
    }
    audit::record(
        &mut tx,
        &staff.actor(),
        &NewEntry {
            action: "category.rename",
            target: &format!("category {id}"),
            before: json!({ "name": old }),
            after: json!({ "name": name }),
        },
    )
    .await?;
    tx.commit().await.context("committing a rename")?;
    Ok(Redirect::to("/admin/categories").into_response())
}
