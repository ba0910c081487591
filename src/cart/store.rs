//! The cart's SQL. A cart belongs to a signed-in user, or to a visitor's session and
//! ends with it; every query names its owner, so no request reaches another's cart.

use anyhow::Context as _;
use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Any, AnyConnection};

use crate::cart::contents::{Cart, CartLine};
use crate::cart::quantity::{Quantity, line_limit};
use crate::db::{Db, time::now_ms};
use crate::security::session::Session;

/// The most different products one cart holds.
pub const MAX_LINES: usize = 50;

/// Whose cart a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartOwner {
    User(i64),
    /// A visitor's session, by its id hash.
    Visitor(String),
}

impl CartOwner {
    pub fn of(session: &Session) -> CartOwner {
        match &session.user {
            Some(user) => CartOwner::User(user.id),
            None => CartOwner::Visitor(session.id_hash.clone()),
        }
    }

    fn column(&self) -> &'static str {
        match self {
            CartOwner::User(_) => "user_id",
            CartOwner::Visitor(_) => "session_id_hash",
        }
    }

    fn bind<'q>(
        &'q self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Query<'q, Any, AnyArguments<'q>> {
        match self {
            CartOwner::User(id) => query.bind(*id),
            CartOwner::Visitor(hash) => query.bind(hash.as_str()),
        }
    }

    fn bind_as<'q, T>(
        &'q self,
        query: QueryAs<'q, Any, T, AnyArguments<'q>>,
    ) -> QueryAs<'q, Any, T, AnyArguments<'q>> {
        match self {
            CartOwner::User(id) => query.bind(*id),
            CartOwner::Visitor(hash) => query.bind(hash.as_str()),
        }
    }

    fn bind_scalar<'q, T>(
        &'q self,
        query: QueryScalar<'q, Any, T, AnyArguments<'q>>,
    ) -> QueryScalar<'q, Any, T, AnyArguments<'q>> {
        match self {
            CartOwner::User(id) => query.bind(*id),
            CartOwner::Visitor(hash) => query.bind(hash.as_str()),
        }
    }
}

const LINE_COLUMNS: &str = "p.id AS product_id, p.slug, p.sku, p.name, p.image, p.price_minor, \
     p.stock, p.active, l.quantity";

/// The owner's cart with current prices and stock, oldest line first.
pub async fn load(db: &Db, owner: &CartOwner) -> anyhow::Result<Cart> {
    let sql = format!(
        "SELECT {LINE_COLUMNS} FROM cart_lines l \
         JOIN carts c ON c.id = l.cart_id JOIN products p ON p.id = l.product_id \
         WHERE c.{} = $1 ORDER BY l.added_at, p.id",
        owner.column()
    );
    let lines: Vec<CartLine> = owner
        .bind_as(sqlx::query_as(&sql))
        .fetch_all(db.pool())
        .await
        .context("loading cart lines")?;
    Ok(Cart { lines })
}

/// How many items the owner's cart holds, for the header.
pub async fn item_count(db: &Db, owner: &CartOwner) -> anyhow::Result<i64> {
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM cart_lines l \
         JOIN carts c ON c.id = l.cart_id WHERE c.{} = $1",
        owner.column()
    );
    owner
        .bind_scalar(sqlx::query_scalar(&sql))
        .fetch_one(db.pool())
        .await
        .context("counting cart items")
}

/// What adding to the cart did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// The line now holds `quantity`.
    Added {
        quantity: i64,
    },
    /// The line holds `quantity`, less than asked: that is all the stock (or the limit).
    Capped {
        quantity: i64,
    },
    /// No such product on sale.
    Unavailable,
    SoldOut,
    /// The cart already holds [`MAX_LINES`] different products.
    Full,
}

/// Adds `quantity` of the product `slug` to the owner's cart, capped by the stock and
/// the per-line limit.
pub async fn add(
    db: &Db,
    owner: &CartOwner,
    slug: &str,
    quantity: Quantity,
) -> anyhow::Result<AddOutcome> {
    let mut tx = db.pool().begin().await.context("starting a cart change")?;
    // The first statement writes, so SQLite takes the write lock before any read.
    let cart_id = ensure_cart(&mut tx, owner).await?;

    let product: Option<(i64, i64, i64)> =
        sqlx::query_as("SELECT id, stock, active FROM products WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&mut *tx)
            .await
            .context("finding the product to add")?;
    let (product_id, stock) = match product {
        Some((id, stock, 1)) => (id, stock),
        _ => return Ok(AddOutcome::Unavailable),
    };
    if stock <= 0 {
        return Ok(AddOutcome::SoldOut);
    }

    let current = line_quantity(&mut tx, cart_id, product_id).await?;
    if current.is_none() && line_count(&mut tx, cart_id).await? >= MAX_LINES as i64 {
        return Ok(AddOutcome::Full);
    }
    let wanted = current.unwrap_or(0) + quantity.get();
    let held = wanted.min(line_limit(stock));
    put_line(&mut tx, cart_id, product_id, held).await?;
    tx.commit().await.context("committing a cart change")?;

    Ok(if held < wanted {
        AddOutcome::Capped { quantity: held }
    } else {
        AddOutcome::Added { quantity: held }
    })
}

/// What changing a line's quantity did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOutcome {
    Updated,
    /// The line holds `quantity`, less than asked: that is all the stock.
    Capped {
        quantity: i64,
    },
    /// The product is sold out; the line is kept, flagged, for the customer to remove.
    SoldOut,
    /// This owner's cart has no line for the product.
    NotInCart,
}

/// Sets the quantity of the owner's line for `product_id`, capped by the stock.
pub async fn set_quantity(
    db: &Db,
    owner: &CartOwner,
    product_id: i64,
    quantity: Quantity,
) -> anyhow::Result<SetOutcome> {
    let stock: Option<i64> = sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
        .bind(product_id)
        .fetch_optional(db.pool())
        .await
        .context("reading stock for a cart line")?;
    let limit = line_limit(stock.unwrap_or(0));
    let held = if limit < 1 {
        quantity.get()
    } else {
        quantity.get().min(limit)
    };

    let sql = format!(
        "UPDATE cart_lines SET quantity = $1 \
         WHERE product_id = $2 AND cart_id = (SELECT id FROM carts WHERE {} = $3)",
        owner.column()
    );
    let query = sqlx::query(&sql).bind(held).bind(product_id);
    let changed = owner
        .bind(query)
        .execute(db.pool())
        .await
        .context("changing a cart line")?
        .rows_affected();

    Ok(match changed {
        0 => SetOutcome::NotInCart,
        _ if limit < 1 => SetOutcome::SoldOut,
        _ if held < quantity.get() => SetOutcome::Capped { quantity: held },
        _ => SetOutcome::Updated,
    })
}

/// Removes the owner's line for `product_id`, if there is one.
pub async fn remove(db: &Db, owner: &CartOwner, product_id: i64) -> anyhow::Result<bool> {
    let sql = format!(
        "DELETE FROM cart_lines WHERE product_id = $1 \
         AND cart_id = (SELECT id FROM carts WHERE {} = $2)",
        owner.column()
    );
    let removed = owner
        .bind(sqlx::query(&sql).bind(product_id))
        .execute(db.pool())
        .await
        .context("removing a cart line")?
        .rows_affected();
    Ok(removed > 0)
}

/// Moves a visitor's cart into `user_id`'s at login: quantities of the same product
/// are added, each capped by the stock and the per-line limit; the visitor's cart is
/// then deleted. Returns how many lines were merged.
pub async fn merge_visitor_cart(
    db: &Db,
    session_id_hash: &str,
    user_id: i64,
) -> anyhow::Result<usize> {
    let visitor = CartOwner::Visitor(session_id_hash.to_owned());
    let lines = load(db, &visitor).await?.lines;
    if lines.is_empty() {
        return Ok(0);
    }

    let mut tx = db.pool().begin().await.context("starting a cart merge")?;
    let cart_id = ensure_cart(&mut tx, &CartOwner::User(user_id)).await?;
    let mut count = line_count(&mut tx, cart_id).await?;
    let mut merged = 0;
    for line in &lines {
        let current = line_quantity(&mut tx, cart_id, line.product_id).await?;
        if current.is_none() && count >= MAX_LINES as i64 {
            continue;
        }
        let held = (current.unwrap_or(0) + line.quantity).min(line_limit(line.stock));
        if held < 1 {
            continue;
        }
        put_line(&mut tx, cart_id, line.product_id, held).await?;
        count += i64::from(current.is_none());
        merged += 1;
    }
    sqlx::query("DELETE FROM carts WHERE session_id_hash = $1")
        .bind(session_id_hash)
        .execute(&mut *tx)
        .await
        .context("deleting the visitor's cart")?;
    tx.commit().await.context("committing a cart merge")?;
    Ok(merged)
}

/// Empties `user_id`'s cart, inside the caller's transaction.
pub async fn clear(conn: &mut AnyConnection, user_id: i64) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM cart_lines WHERE cart_id = (SELECT id FROM carts WHERE user_id = $1)")
        .bind(user_id)
        .execute(conn)
        .await
        .context("emptying the cart")?;
    Ok(())
}

/// The owner's cart id, creating the cart if needed.
async fn ensure_cart(conn: &mut AnyConnection, owner: &CartOwner) -> anyhow::Result<i64> {
    let now = now_ms();
    let column = owner.column();
    let insert = format!(
        "INSERT INTO carts ({column}, created_at, updated_at) VALUES ($1, $2, $2) \
         ON CONFLICT ({column}) DO UPDATE SET updated_at = excluded.updated_at"
    );
    owner
        .bind(sqlx::query(&insert))
        .bind(now)
        .execute(&mut *conn)
        .await
        .context("creating a cart")?;
    let select = format!("SELECT id FROM carts WHERE {column} = $1");
    owner
        .bind_scalar(sqlx::query_scalar(&select))
        .fetch_one(&mut *conn)
        .await
        .context("finding a cart")
}

async fn line_quantity(
    conn: &mut AnyConnection,
    cart_id: i64,
    product_id: i64,
) -> anyhow::Result<Option<i64>> {
    sqlx::query_scalar("SELECT quantity FROM cart_lines WHERE cart_id = $1 AND product_id = $2")
        .bind(cart_id)
        .bind(product_id)
        .fetch_optional(conn)
        .await
        .context("reading a cart line")
}

async fn line_count(conn: &mut AnyConnection, cart_id: i64) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM cart_lines WHERE cart_id = $1")
        .bind(cart_id)
        .fetch_one(conn)
        .await
        .context("counting cart lines")
}

async fn put_line(
    conn: &mut AnyConnection,
    cart_id: i64,
    product_id: i64,
    quantity: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO cart_lines (cart_id, product_id, quantity, added_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = excluded.quantity",
    )
    .bind(cart_id)
    .bind(product_id)
    .bind(quantity)
    .bind(now_ms())
    .execute(conn)
    .await
    .context("writing a cart line")?;
    Ok(())
}
