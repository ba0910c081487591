//! What the base layout needs on every page: title, navigation, search box, cart link.

use std::borrow::Borrow;

use crate::app::AppState;
use crate::cart::{self, store::CartOwner};
use crate::catalog::store::{self, CategoryLink};
use crate::error::AppError;
use crate::money::{Currency, Money};
use crate::security::csrf::CsrfToken;
use crate::security::session::{CurrentSession, SessionUser};
use crate::web::static_files;

/// The data `templates/base.html` reads. Every page template has one, as `layout`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    pub categories: Vec<CategoryLink>,
    /// The current search text, shown again in the header's search box.
    pub query: String,
    /// The slug of the category being browsed, highlighted in the navigation.
    pub current_category: Option<String>,
    pub cart_items: i64,
    /// The signed-in user, for the account menu.
    pub user: Option<SessionUser>,
    /// The token the page's forms carry: the session's, for the logout button, or one
    /// set with [`Layout::with_csrf`].
    pub csrf_token: Option<String>,
    pub currency: Currency,
    pub stylesheet: &'static str,
}

impl Layout {
    pub fn new(
        title: impl Into<String>,
        categories: Vec<CategoryLink>,
        currency: Currency,
    ) -> Self {
        Layout {
            title: title.into(),
            categories,
            query: String::new(),
            current_category: None,
            cart_items: 0,
            user: None,
            csrf_token: None,
            currency,
            stylesheet: static_files::stylesheet_href(),
        }
    }

    /// The layout of an ordinary shop page: loads the category navigation.
    pub async fn load(
        state: &AppState,
        session: &CurrentSession,
        title: impl Into<String>,
    ) -> Result<Layout, AppError> {
        let categories = store::categories(&state.db).await?;
        let mut layout = Layout::new(title, categories, state.settings.currency.clone());
        if let Some(session) = &session.0 {
            layout.user = session.user.clone();
            layout.csrf_token = Some(session.csrf_token.clone());
            layout.cart_items = cart::store::item_count(&state.db, &CartOwner::of(session)).await?;
        }
        Ok(layout)
    }

    /// A layout that needs no database, for error pages.
    pub fn minimal(title: impl Into<String>) -> Self {
        Layout::new(title, Vec::new(), Currency::default())
    }

    /// Gives the page's forms a CSRF token even when the visitor has no session yet
    /// (the add-to-cart forms of the catalogue).
    pub fn with_csrf(mut self, token: CsrfToken) -> Self {
        self.csrf_token = Some(token.0);
        self
    }

    pub fn with_query(mut self, query: &str) -> Self {
        self.query = query.to_owned();
        self
    }

    pub fn with_category(mut self, slug: Option<&str>) -> Self {
        self.current_category = slug.map(str::to_owned);
        self
    }

    /// A price as the shopper reads it, e.g. `€19.99`.
    pub fn price(&self, amount: impl Borrow<Money>) -> String {
        self.currency.format(amount.borrow())
    }

    pub fn is_current(&self, slug: &str) -> bool {
        self.current_category.as_deref() == Some(slug)
    }
}
