//! What `templates/backoffice/base.html` needs: the staff member, the section for the
//! side navigation, and the token for the page's forms.

use std::borrow::Borrow;

use crate::app::AppState;
use crate::backoffice::extract::Staff;
use crate::money::{Currency, Money};
use crate::web::static_files;

/// The back office's sections, as the side navigation names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Dashboard,
    Orders,
    Products,
    Users,
    Analytics,
    Audit,
}

#[derive(Debug, Clone)]
pub struct AdminLayout {
    pub title: String,
    pub section: Section,
    pub email: String,
    pub is_admin: bool,
    pub csrf_token: String,
    pub currency: Currency,
    pub stylesheet: &'static str,
}

impl AdminLayout {
    pub fn new(
        state: &AppState,
        staff: &Staff,
        title: impl Into<String>,
        section: Section,
    ) -> Self {
        AdminLayout {
            title: title.into(),
            section,
            email: staff.user.email.clone(),
            is_admin: staff.is_admin(),
            csrf_token: staff.csrf_token.clone(),
            currency: state.settings.currency.clone(),
            stylesheet: static_files::stylesheet_href(),
        }
    }

    pub fn price(&self, amount: impl Borrow<Money>) -> String {
        self.currency.format(amount.borrow())
    }

    pub fn is(&self, section: Section) -> bool {
        self.section == section
    }
}
