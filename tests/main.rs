//! SecureCart's integration tests: the real server on port 0, driven over HTTP.
//!
//! Each test gets a fresh SQLite database, or a fresh PostgreSQL schema when
//! `SECURECART_TEST_DATABASE_URL` is set, so the same tests prove both databases.

mod accounts;
mod admin_products;
mod admin_users;
mod analytics;
mod api;
mod api_admin;
mod api_shop;
mod backoffice;
mod card_data;
mod cart;
mod catalog;
mod checkout;
mod cli;
mod csrf;
mod deploy;
mod hardening;
mod https;
mod operations;
mod orders;
mod support;
