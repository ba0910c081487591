//! Accounts and roles, for administrators only: staff get 403 like customers. Every
//! change goes through the back office's own [`Change`]s, each with its audit entry.
//!
//! Role changes and deactivations are sensitive: like the HTML, they need a password
//! typed in the last 15 minutes (see [`super`]). Roles
//! are read from the database on every request, so a change holds from the user's
//! next request; deactivating or ending sessions renews the user's security stamp,
//! which ends every access and refresh token issued to them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::accounts::email_address::EmailAddress;
use crate::api::Paging;
use crate::api::auth::extract::{ApiAdmin, ApiUser};
use crate::api::input::{ApiJson, ApiQuery};
use crate::api::problem::{ApiError, Problem};
use crate::app::AppState;
use crate::backoffice::user_store::{self as store, Change, StaffUser};
use crate::backoffice::users::create_account;
use crate::db::time::iso_ms;

/// A role an administrator can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Staff,
    Admin,
}

impl Role {
    /// The stored name, one of the back office's `ROLES`.
    fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }
}

/// An account as administrators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUser {
    pub id: i64,
    pub email: String,
    /// `customer`, `staff` or `admin`.
    pub role: String,
    /// Whether the account may sign in.
    pub active: bool,
    pub email_verified: bool,
    /// Whether sign-in is locked after failed attempts.
    pub locked: bool,
    /// Until when, RFC 3339 in UTC, while locked.
    pub locked_until: Option<String>,
    pub failed_logins: i64,
    pub last_login_at: Option<String>,
    pub created_at: String,
}

impl From<StaffUser> for AdminUser {
    fn from(user: StaffUser) -> AdminUser {
        AdminUser {
            active: user.is_active(),
            locked: user.is_locked(),
            locked_until: user.locked_until.filter(|_| user.is_locked()).map(iso_ms),
            email_verified: user.email_verified_at.is_some(),
            last_login_at: user.last_login_at.map(iso_ms),
            created_at: iso_ms(user.created_at),
            id: user.id,
            email: user.email,
            role: user.role,
            failed_logins: user.failed_logins,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserList {
    pub items: Vec<AdminUser>,
    pub page: u32,
    pub per_page: u32,
    /// Accounts matching the filter, on every page.
    pub total: u64,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminUserQuery {
    /// Part of the email address.
    #[param(max_length = 100)]
    pub q: Option<String>,
    #[param(inline)]
    pub role: Option<Role>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u32>,
    /// Accounts per page, at most 100 [default: 20].
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

/// A new account. Its owner is emailed a link to choose a password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(max_length = 254, example = "jane@example.com")]
    pub email: String,
    pub role: Role,
}

/// Changes to an account; those left out, or equal to the current value, change
/// nothing. A new email is unconfirmed until its owner confirms it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    #[schema(max_length = 254)]
    pub email: Option<String>,
    pub role: Option<Role>,
    /// `false` deactivates the account and ends its sessions and tokens at once.
    pub active: Option<bool>,
}

/// Accounts by email, filtered by part of the address and by role.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users",
    tag = "admin",
    security(("bearer" = [])),
    params(AdminUserQuery),
    responses((status = 200, description = "One page of accounts", body = AdminUserList))
)]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: ApiAdmin,
    ApiQuery(query): ApiQuery<AdminUserQuery>,
) -> Result<Json<AdminUserList>, ApiError> {
    let paging = Paging::new(query.page, query.per_page)?;
    let search = super::search("q", query.q.as_deref())?;
    let role = query.role.map(Role::as_str);

    let total = store::count(&state.db, search.as_deref(), role).await?;
    let users = store::list(
        &state.db,
        search.as_deref(),
        role,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Json(AdminUserList {
        items: users.into_iter().map(Into::into).collect(),
        page: paging.page,
        per_page: paging.per_page,
        total: total.unsigned_abs(),
    }))
}

/// Create an account with a role; its owner chooses the password through the link
/// emailed to them.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users",
    tag = "admin",
    security(("bearer" = [])),
    request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = AdminUser,
            headers(("Location" = String, description = "The new account's address"))),
        (status = 409, description = "An account has this email (`email-taken`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        Json<AdminUser>,
    ),
    ApiError,
> {
    let email = email("email", &new.email)?;

    let created = create_account(&state, &admin.actor(), &email, new.role.as_str()).await?;
    let Some(id) = created else {
        return Err(email_taken());
    };
    let user = load(&state, id).await?;
    let location = format!("/api/v1/admin/users/{id}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(user.into()),
    ))
}

/// One account.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{id}",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account", body = AdminUser),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show_user(
    State(state): State<AppState>,
    _admin: ApiAdmin,
    Path(id): Path<i64>,
) -> Result<Json<AdminUser>, ApiError> {
    load(&state, id).await.map(|user| Json(user.into()))
}

/// Change an account's email, role or whether it is active. An administrator cannot
/// change their own role or deactivate themselves.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/users/{id}",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    request_body = UserChanges,
    responses(
        (status = 200, description = "The changed account", body = AdminUser),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another account has the email (`email-taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a change to the caller's own role or access (`own-account`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_user(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    Path(id): Path<i64>,
    ApiJson(changes): ApiJson<UserChanges>,
) -> Result<Json<AdminUser>, ApiError> {
    let user = load(&state, id).await?;
    let changes = wanted_changes(&user, changes)?;
    for change in &changes {
        refuse_own(&admin, &user, change)?;
    }
    if changes.iter().any(Change::is_sensitive) {
        admin.require_recent_password()?;
    }

    for change in &changes {
        apply(&state, &admin, &user, change).await?;
    }
    load(&state, id).await.map(|user| Json(user.into()))
}

/// Let a locked account sign in again at once.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/unlock",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Unlocked; the account", body = AdminUser),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unlock_user(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    Path(id): Path<i64>,
) -> Result<Json<AdminUser>, ApiError> {
    let user = load(&state, id).await?;
    apply(&state, &admin, &user, &Change::Unlock).await?;
    load(&state, id).await.map(|user| Json(user.into()))
}

/// Sign the account out everywhere: its sessions end and its access and refresh
/// tokens stop working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{id}/sessions",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Signed out everywhere"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn end_sessions(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let user = load(&state, id).await?;
    apply(&state, &admin, &user, &Change::EndSessions).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The changes that differ from `user`'s current values. The email comes first: it is
/// the one change [`store::apply`] can refuse, and then nothing has changed yet.
fn wanted_changes(user: &StaffUser, changes: UserChanges) -> Result<Vec<Change>, ApiError> {
    let mut wanted = Vec::new();
    if let Some(text) = &changes.email {
        let email = email("email", text)?;
        if email.as_str() != user.email {
            wanted.push(Change::Email {
                email: email.as_str().to_owned(),
                key: email.key(),
            });
        }
    }
    if let Some(role) = changes.role.map(Role::as_str)
        && role != user.role
    {
        wanted.push(Change::Role(role.to_owned()));
    }
    if let Some(active) = changes.active
        && active != user.is_active()
    {
        wanted.push(Change::Active(active));
    }
    Ok(wanted)
}

fn refuse_own(admin: &ApiUser, user: &StaffUser, change: &Change) -> Result<(), ApiError> {
    match store::refusal(admin.user.id, user, change) {
        Some(message) => Err(ApiError::unprocessable("own-account", message)),
        None => Ok(()),
    }
}

/// Applies one change with its audit entry.
async fn apply(
    state: &AppState,
    admin: &ApiUser,
    user: &StaffUser,
    change: &Change,
) -> Result<(), ApiError> {
    if !store::apply(&state.db, &admin.actor(), user, change).await? {
        return Err(email_taken());
    }
    tracing::info!(
        event = "admin.user_changed",
        user.id = admin.user.id,
        target.id = user.id,
        change = change_name(change),
        "user changed"
    );
    Ok(())
}

/// The change's name as the HTML form gives it, for the log.
fn change_name(change: &Change) -> &'static str {
    match change {
        Change::Email { .. } => "email",
        Change::Role(_) => "role",
        Change::Active(true) => "reactivate",
        Change::Active(false) => "deactivate",
        Change::Unlock => "unlock",
        Change::EndSessions => "end-sessions",
    }
}

fn email(field: &str, text: &str) -> Result<EmailAddress, ApiError> {
    EmailAddress::parse(text).map_err(|message| ApiError::field(field, &message))
}

fn email_taken() -> ApiError {
    ApiError::conflict("email-taken", "An account with this email exists already.")
}

async fn load(state: &AppState, id: i64) -> Result<StaffUser, ApiError> {
    store::find(&state.db, id).await?.ok_or(ApiError::NotFound)
}
