//! The caller's cart: the same cart as the shop's pages show (one per account), with
//! the same rules: quantities from 1 to 99 capped by the stock, at most 50 products,
//! prices always from the database.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::amount;
use crate::api::auth::extract::ApiUser;
use crate::api::input::{ApiJson, whole_number};
use crate::api::problem::{ApiError, Problem};
use crate::app::AppState;
use crate::cart::contents::{Cart as CartContents, CartLine};
use crate::cart::quantity::Quantity;
use crate::cart::store::{self, AddOutcome, CartOwner, MAX_LINES, SetOutcome};
use crate::catalog::store as catalog;

/// One product in the cart. Its `id` is the product's id.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartItem {
    pub id: i64,
    pub product_id: i64,
    pub sku: String,
    pub slug: String,
    pub name: String,
    /// Today's price of one unit.
    pub price: String,
    pub quantity: i64,
    pub line_total: String,
    /// Units left in stock.
    pub stock: i64,
    /// Why the line cannot be bought as it is (withdrawn, sold out, short), if so.
    pub problem: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cart {
    pub items: Vec<CartItem>,
    pub item_count: i64,
    pub subtotal: String,
    pub currency: String,
    /// Whether every line can be bought as it is.
    pub can_check_out: bool,
}

impl Cart {
    fn new(cart: CartContents, currency: &str) -> Cart {
        let subtotal = cart
            .subtotal()
            .map(amount)
            .unwrap_or_else(|| amount(Default::default()));
        Cart {
            item_count: cart.item_count(),
            can_check_out: cart.can_check_out(),
            subtotal,
            currency: currency.to_owned(),
            items: cart.lines.into_iter().map(CartItem::from).collect(),
        }
    }
}

impl From<CartLine> for CartItem {
    fn from(line: CartLine) -> CartItem {
        CartItem {
            id: line.product_id,
            product_id: line.product_id,
            price: amount(line.price()),
            line_total: amount(line.line_total().unwrap_or_default()),
            problem: line.state().problem(),
            stock: line.stock.max(0),
            quantity: line.quantity,
            sku: line.sku,
            slug: line.slug,
            name: line.name,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    #[serde(deserialize_with = "whole_number")]
    pub product_id: i64,
    /// From 1 to 99; more than the stock is capped to the stock.
    #[schema(minimum = 1, maximum = 99)]
    #[serde(deserialize_with = "whole_number")]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemQuantity {
    #[schema(minimum = 1, maximum = 99)]
    #[serde(deserialize_with = "whole_number")]
    pub quantity: i64,
}

async fn current(state: &AppState, user_id: i64) -> Result<Cart, ApiError> {
    let cart = store::load(&state.db, &CartOwner::User(user_id)).await?;
    Ok(Cart::new(cart, state.settings.currency.code()))
}

/// A product that is not on sale, named in a body: 404, as its own URL would be.
fn no_such_product() -> ApiError {
    ApiError::NotFound
}

fn quantity(value: i64) -> Result<Quantity, ApiError> {
    Quantity::new(value).map_err(|err| ApiError::field("quantity", &err.to_string()))
}

/// The caller's cart.
#[utoipa::path(
    get,
    path = "/api/v1/cart",
    tag = "cart",
    security(("bearer" = [])),
    responses((status = 200, description = "The cart", body = Cart))
)]
pub async fn show_cart(
    State(state): State<AppState>,
    caller: ApiUser,
) -> Result<Json<Cart>, ApiError> {
    current(&state, caller.user.id).await.map(Json)
}

/// Add a product, or more of one already in the cart.
#[utoipa::path(
    post,
    path = "/api/v1/cart/items",
    tag = "cart",
    security(("bearer" = [])),
    request_body = NewItem,
    responses(
        (status = 201, description = "Added (capped by the stock); the cart", body = Cart),
        (status = 404, description = "No such product on sale", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Sold out, or the cart is full", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_item(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(item): ApiJson<NewItem>,
) -> Result<(StatusCode, Json<Cart>), ApiError> {
    let quantity = quantity(item.quantity)?;
    let Some(product) = catalog::product_by_id(&state.db, item.product_id).await? else {
        return Err(no_such_product());
    };
    let owner = CartOwner::User(caller.user.id);
    match store::add(&state.db, &owner, &product.card.slug, quantity).await? {
        AddOutcome::Added { .. } | AddOutcome::Capped { .. } => {}
        AddOutcome::Unavailable => return Err(no_such_product()),
        AddOutcome::SoldOut => {
            return Err(ApiError::conflict(
                "out-of-stock",
                "This product is sold out.",
            ));
        }
        AddOutcome::Full => {
            return Err(ApiError::conflict(
                "cart-full",
                format!("A cart holds at most {MAX_LINES} different products."),
            ));
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(current(&state, caller.user.id).await?),
    ))
}

/// Change the quantity of a product in the cart (capped by the stock).
#[utoipa::path(
    patch,
    path = "/api/v1/cart/items/{id}",
    tag = "cart",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The product's id")),
    request_body = ItemQuantity,
    responses(
        (status = 200, description = "The cart", body = Cart),
        (status = 404, description = "The product is not in the caller's cart", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The product is sold out", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_item(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<i64>,
    ApiJson(change): ApiJson<ItemQuantity>,
) -> Result<Json<Cart>, ApiError> {
    let quantity = quantity(change.quantity)?;
    let owner = CartOwner::User(caller.user.id);
    match store::set_quantity(&state.db, &owner, id, quantity).await? {
        SetOutcome::Updated | SetOutcome::Capped { .. } => {}
        SetOutcome::NotInCart => return Err(ApiError::NotFound),
        SetOutcome::SoldOut => {
            return Err(ApiError::conflict(
                "out-of-stock",
                "This product is sold out; remove it from the cart.",
            ));
        }
    }
    current(&state, caller.user.id).await.map(Json)
}

/// Remove a product from the cart.
#[utoipa::path(
    delete,
    path = "/api/v1/cart/items/{id}",
    tag = "cart",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The product's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "The product is not in the caller's cart", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_item(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let owner = CartOwner::User(caller.user.id);
    if store::remove(&state.db, &owner, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
