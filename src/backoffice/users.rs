//! Users and roles (F-09), for administrators only: every handler takes [`Admin`],
//! so staff get the same 404 as customers. Also the password confirmation that
//! sensitive actions ask for when the last one is older than 15 minutes.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Redirect, Response};
use serde::Deserialize;

use crate::accounts::email_address::EmailAddress;
use crate::accounts::extract::safe_next;
use crate::accounts::{service, store as accounts};
use crate::app::AppState;
use crate::backoffice::audit::Actor;
use crate::backoffice::extract::{Admin, Staff};
use crate::backoffice::layout::{AdminLayout, Section};
use crate::backoffice::user_store::{self as store, Change, ROLES, StaffUser};
use crate::error::AppError;
use crate::security::password::{Password, Verified};
use crate::security::session;
use crate::web::form::FieldErrors;
use crate::web::pagination::Pagination;
use crate::web::query::{Query, non_empty};
use crate::web::render;

const PER_PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "backoffice/users.html")]
struct ListPage {
    layout: AdminLayout,
    users: Vec<StaffUser>,
    pagination: Pagination,
    search: String,
    role: String,
    roles: [&'static str; 3],
    errors: FieldErrors,
    new_email: String,
    notice: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    role: Option<String>,
    page: Option<String>,
    notice: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Query(params): Query<ListParams>,
) -> Result<Response, AppError> {
    let notice = (params.notice.as_deref() == Some("created")).then_some(
        "The account is created. Its owner has been emailed a link to choose a password.",
    );
    list_page(
        &state,
        &admin,
        params,
        FieldErrors::default(),
        String::new(),
        notice,
    )
    .await
}

async fn list_page(
    state: &AppState,
    admin: &Staff,
    params: ListParams,
    errors: FieldErrors,
    new_email: String,
    notice: Option<&'static str>,
) -> Result<Response, AppError> {
    let search: Option<String> =
        non_empty(params.q.as_deref()).map(|q| q.chars().take(100).collect());
    let role = params.role.filter(|r| ROLES.contains(&r.as_str()));
    let total = store::count(&state.db, search.as_deref(), role.as_deref()).await?;
    let requested = params
        .page
        .as_deref()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(1);
    let pagination = Pagination::new(requested, PER_PAGE, u64::try_from(total).unwrap_or(0));
    let users = store::list(
        &state.db,
        search.as_deref(),
        role.as_deref(),
        pagination.limit(),
        pagination.offset(),
    )
    .await?;
    let status = match errors.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let page = ListPage {
        layout: AdminLayout::new(state, admin, "Users", Section::Users),
        users,
        pagination,
        search: search.unwrap_or_default(),
        role: role.unwrap_or_default(),
        roles: ROLES,
        errors,
        new_email,
        notice,
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateForm {
    email: String,
    role: String,
}

pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Form(form): Form<CreateForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let email = EmailAddress::parse(&form.email)
        .map_err(|e| errors.add("email", e))
        .ok();
    if !ROLES.contains(&form.role.as_str()) {
        errors.add("role", "Choose a role.");
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return list_page(
            &state,
            &admin,
            ListParams::default(),
            errors,
            form.email,
            None,
        )
        .await;
    };

    let created = create_account(&state, &admin.actor(), &email, &form.role).await?;
    if created.is_none() {
        errors.add("email", "An account with this email exists already.");
        return list_page(
            &state,
            &admin,
            ListParams::default(),
            errors,
            form.email,
            None,
        )
        .await;
    }
    Ok(Redirect::to("/admin/users?notice=created").into_response())
}

/// Creates an account with `role` (one of [`ROLES`]) and an unusable password, and
/// emails its owner a link to choose one. `None` if the email is taken.
pub async fn create_account(
    state: &AppState,
    actor: &Actor,
    email: &EmailAddress,
    role: &str,
) -> anyhow::Result<Option<i64>> {
    let unusable = format!("!{}", session::new_secret());
    let created = store::create(
        &state.db,
        actor,
        email.as_str(),
        &email.key(),
        role,
        &unusable,
    )
    .await?;
    if created.is_some() {
        service::request_reset(state, email.as_str()).await?;
    }
    Ok(created)
}

#[derive(Template)]
#[template(path = "backoffice/user.html")]
struct UserPage {
    layout: AdminLayout,
    user: StaffUser,
    sessions: i64,
    roles: [&'static str; 3],
    is_self: bool,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct UserParams {
    notice: Option<String>,
}

async fn load(state: &AppState, id: &str) -> Result<StaffUser, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    store::find(&state.db, id).await?.ok_or(AppError::NotFound)
}

pub async fn show(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    Query(params): Query<UserParams>,
) -> Result<Response, AppError> {
    let user = load(&state, &id).await?;
    let notice = params.notice.is_some().then_some("Done.");
    user_page(&state, &admin, user, None, notice).await
}

async fn user_page(
    state: &AppState,
    admin: &Staff,
    user: StaffUser,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Result<Response, AppError> {
    let status = match error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let page = UserPage {
        layout: AdminLayout::new(state, admin, user.email.clone(), Section::Users),
        sessions: store::session_count(&state.db, user.id).await?,
        roles: ROLES,
        is_self: user.id == admin.user.id,
        user,
        error,
        notice,
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChangeForm {
    /// `email`, `role`, `deactivate`, `reactivate`, `unlock` or `end-sessions`.
    change: String,
    email: String,
    role: String,
}

pub async fn change(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Result<Response, AppError> {
    let user = load(&state, &id).await?;
    let here = format!("/admin/users/{}", user.id);
    let change = match form.change.as_str() {
        "email" => match EmailAddress::parse(&form.email) {
            Ok(email) => Change::Email {
                email: email.as_str().to_owned(),
                key: email.key(),
            },
            Err(message) => return user_page(&state, &admin, user, Some(message), None).await,
        },
        "role" if ROLES.contains(&form.role.as_str()) => Change::Role(form.role.clone()),
        "deactivate" => Change::Active(false),
        "reactivate" => Change::Active(true),
        "unlock" => Change::Unlock,
        "end-sessions" => Change::EndSessions,
        _ => return user_page(&state, &admin, user, Some("Choose a change.".into()), None).await,
    };

    if change.is_sensitive() && !admin.recently_authenticated() {
        return Ok(confirm_redirect(&here));
    }
    if let Some(message) = store::refusal(admin.user.id, &user, &change) {
        return user_page(&state, &admin, user, Some(message.to_owned()), None).await;
    }

    if !store::apply(&state.db, &admin.actor(), &user, &change).await? {
        let message = "Another account has this email.".to_owned();
        return user_page(&state, &admin, user, Some(message), None).await;
    }
    tracing::info!(
        event = "admin.user_changed",
        user.id = admin.user.id,
        target.id = user.id,
        change = form.change.as_str(),
        "user changed"
    );
    Ok(Redirect::to(&format!("{here}?notice=done")).into_response())
}

/// Where a sensitive action sends someone whose password is older than 15 minutes.
pub fn confirm_redirect(back_to: &str) -> Response {
    let next: String = form_urlencoded::byte_serialize(back_to.as_bytes()).collect();
    Redirect::to(&format!("/admin/confirm?next={next}")).into_response()
}

#[derive(Template)]
#[template(path = "backoffice/confirm.html")]
struct ConfirmPage {
    layout: AdminLayout,
    next: String,
    error: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ConfirmParams {
    next: Option<String>,
}

pub async fn confirm_form(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<ConfirmParams>,
) -> Result<Response, AppError> {
    let page = ConfirmPage {
        layout: AdminLayout::new(&state, &staff, "Confirm your password", Section::Dashboard),
        next: safe_next(params.next.as_deref())
            .unwrap_or("/admin")
            .to_owned(),
        error: None,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfirmForm {
    password: Password,
    next: String,
}

pub async fn confirm(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, AppError> {
    let next = safe_next(Some(&form.next)).unwrap_or("/admin").to_owned();
    let account = accounts::credentials_by_id(&state.db, staff.user.id).await?;
    let verified = state
        .hasher
        .verify(
            &form.password,
            account.as_ref().map(|a| a.password_hash.as_str()),
        )
        .await?;
    if matches!(verified, Verified::Yes { .. }) {
        session::mark_reauthenticated(&state.db, &staff.session_id_hash).await?;
        tracing::info!(
            event = "security.reauthenticated",
            user.id = staff.user.id,
            "password confirmed"
        );
        return Ok(Redirect::to(&next).into_response());
    }

    // A wrong password here counts like a failed login, so a session left open
    // cannot be used to guess the password.
    let failures = accounts::record_failure(&state.db, staff.user.id).await?;
    tracing::warn!(
        event = "security.reauth_failed",
        user.id = staff.user.id,
        failures,
        "password confirmation failed"
    );
    if failures >= service::MAX_FAILURES {
        session::destroy(&state.db, &staff.session_id_hash).await?;
        return Ok(Redirect::to("/account/login").into_response());
    }
    let page = ConfirmPage {
        layout: AdminLayout::new(&state, &staff, "Confirm your password", Section::Dashboard),
        next,
        error: Some("That is not your password. Try again."),
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
}
