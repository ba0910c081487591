//! Accounts: registration with email verification, login and logout, password reset
//! and change, and the profile page.

pub mod email_address;
pub mod extract;
mod pages;
pub mod service;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(pages::account))
        .route("/account/password", post(pages::change_password))
        .route(
            "/account/register",
            get(pages::register_form).post(pages::register),
        )
        .route(
            "/account/verify",
            get(pages::verify_form).post(pages::verify),
        )
        .route("/account/verify/resend", post(pages::resend_verification))
        .route("/account/login", get(pages::login_form).post(pages::login))
        .route("/account/logout", post(pages::logout))
        .route(
            "/account/password-reset",
            get(pages::reset_form).post(pages::reset_request),
        )
        .route(
            "/account/password-reset/confirm",
            get(pages::reset_confirm_form).post(pages::reset_confirm),
        )
}
