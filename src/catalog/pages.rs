//! The catalogue's pages: the shop front, the product list and the product page.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse as _, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::cart::quantity::MAX_PER_LINE;
use crate::catalog::slug;
use crate::catalog::store::{self, CategoryLink, ProductCard, ProductDetail, ProductFilter, Sort};
use crate::error::AppError;
use crate::security::csrf::CsrfToken;
use crate::security::session::CurrentSession;
use crate::web::layout::Layout;
use crate::web::pagination::{PageLink, Pagination};
use crate::web::query::{Query, non_empty};
use crate::web::render;

/// Products per page of the list: four rows on a four-column desktop grid.
const PER_PAGE: u32 = 24;
/// How many of the newest products the front page shows.
const FRONT_PAGE_PRODUCTS: i64 = 12;
/// Search text beyond this length is ignored.
const MAX_SEARCH_CHARS: usize = 100;

#[derive(Template)]
#[template(path = "catalog/home.html")]
struct HomePage {
    layout: Layout,
    products: Vec<ProductCard>,
}

pub async fn home(
    State(state): State<AppState>,
    session: CurrentSession,
    csrf: CsrfToken,
) -> Result<Html<String>, AppError> {
    let filter = ProductFilter::default();
    let products = store::list_products(&state.db, &filter, FRONT_PAGE_PRODUCTS, 0).await?;

    render(&HomePage {
        layout: Layout::load(&state, &session, "Welcome")
            .await?
            .with_csrf(csrf),
        products,
    })
}

/// The list's address parameters, all read as text and interpreted leniently.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    category: Option<String>,
    sort: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "catalog/list.html")]
struct ListPage {
    layout: Layout,
    heading: String,
    search: Option<String>,
    category: Option<CategoryLink>,
    sort: Sort,
    sorts: [Sort; 4],
    products: Vec<ProductCard>,
    pagination: Pagination,
    page_links: Vec<PageItem>,
    previous_href: Option<String>,
    next_href: Option<String>,
}

/// One entry in the row of page links; a gap has no number.
struct PageItem {
    number: Option<u32>,
    href: String,
    current: bool,
}

pub async fn list(
    State(state): State<AppState>,
    session: CurrentSession,
    csrf: CsrfToken,
    Query(params): Query<ListParams>,
) -> Result<Html<String>, AppError> {
    let search = non_empty(params.q.as_deref())
        .map(|q| q.chars().take(MAX_SEARCH_CHARS).collect::<String>());
    let category = match non_empty(params.category.as_deref()) {
        None => None,
        Some(slug) if !slug::is_valid(slug) => return Err(AppError::NotFound),
        Some(slug) => Some(
            store::category_by_slug(&state.db, slug)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
    };
    let sort = Sort::parse(params.sort.as_deref());
    let requested_page = params
        .page
        .as_deref()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(1);

    let filter = ProductFilter {
        search: search.clone(),
        category: category.as_ref().map(|c| c.slug.clone()),
        sort,
    };
    let total = store::count_products(&state.db, &filter).await?;
    let pagination = Pagination::new(requested_page, PER_PAGE, total);
    let products =
        store::list_products(&state.db, &filter, pagination.limit(), pagination.offset()).await?;

    let heading = match (&search, &category) {
        (Some(q), _) => format!("Results for “{q}”"),
        (None, Some(c)) => c.name.clone(),
        (None, None) => "All products".to_owned(),
    };
    let href = |page: u32| list_href(&filter, page);
    let layout = Layout::load(&state, &session, heading.clone())
        .await?
        .with_csrf(csrf)
        .with_query(search.as_deref().unwrap_or(""))
        .with_category(filter.category.as_deref());
    render(&ListPage {
        layout,
        heading,
        search,
        category,
        sort,
        sorts: Sort::ALL,
        page_links: pagination
            .links()
            .into_iter()
            .map(|link| match link {
                PageLink::Page(n) => PageItem {
                    number: Some(n),
                    href: href(n),
                    current: n == pagination.page(),
                },
                PageLink::Gap => PageItem {
                    number: None,
                    href: String::new(),
                    current: false,
                },
            })
            .collect(),
        previous_href: pagination.previous().map(href),
        next_href: pagination.next().map(href),
        products,
        pagination,
    })
}

/// The list's address for `page` with the same search, category and sort.
fn list_href(filter: &ProductFilter, page: u32) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(q) = &filter.search {
        query.append_pair("q", q);
    }
    if let Some(category) = &filter.category {
        query.append_pair("category", category);
    }
    if filter.sort != Sort::default() {
        query.append_pair("sort", filter.sort.key());
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    match query.finish() {
        q if q.is_empty() => "/products".to_owned(),
        q => format!("/products?{q}"),
    }
}

#[derive(Template)]
#[template(path = "catalog/product.html")]
struct ProductPage {
    layout: Layout,
    product: ProductDetail,
    /// Why the quantity last posted was refused.
    quantity_error: Option<String>,
    max_per_line: i64,
}

pub async fn product(
    State(state): State<AppState>,
    session: CurrentSession,
    csrf: CsrfToken,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    product_response(&state, &session, csrf, &slug, None).await
}

/// The product page for `slug`; with a quantity error it is the answer (422) to an
/// add-to-cart form whose quantity was refused.
pub async fn product_response(
    state: &AppState,
    session: &CurrentSession,
    csrf: CsrfToken,
    slug: &str,
    quantity_error: Option<String>,
) -> Result<Response, AppError> {
    if !slug::is_valid(slug) {
        return Err(AppError::NotFound);
    }
    let product = store::product_by_slug(&state.db, slug)
        .await?
        .ok_or(AppError::NotFound)?;

    let layout = Layout::load(state, session, product.card.name.clone())
        .await?
        .with_csrf(csrf)
        .with_category(product.category_slug.as_deref());
    let status = match quantity_error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let page = ProductPage {
        layout,
        product,
        quantity_error,
        max_per_line: MAX_PER_LINE,
    };
    Ok((status, render(&page)?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_links_keep_the_search_and_encode_it() {
        let filter = ProductFilter {
            search: Some("oak & ash".into()),
            category: Some("kitchen".into()),
            sort: Sort::PriceHighLow,
        };
        assert_eq!(
            list_href(&filter, 3),
            "/products?q=oak+%26+ash&category=kitchen&sort=price-desc&page=3"
        );
        assert_eq!(list_href(&ProductFilter::default(), 1), "/products");
    }
}
