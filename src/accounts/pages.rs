//! The accounts' pages. Each handler extracts, calls a rule in `service`, renders.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::accounts::email_address::EmailAddress;
use crate::accounts::extract::{CurrentUser, safe_next};
use crate::accounts::service::{self, FieldErrors, LoginOutcome};
use crate::accounts::store;
use crate::app::AppState;
use crate::backoffice::audit;
use crate::backoffice::extract::{ADMIN, STAFF};
use crate::cart;
use crate::error::AppError;
use crate::security::client_addr::{ClientAddr, Transport};
use crate::security::csrf::CsrfToken;
use crate::security::password::Password;
use crate::security::session::{self, CurrentSession};
use crate::web::layout::Layout;
use crate::web::query::Query;
use crate::web::render;

/// A page that says one thing, with an optional link onward.
#[derive(Template)]
#[template(path = "accounts/message.html")]
struct MessagePage {
    layout: Layout,
    heading: &'static str,
    message: &'static str,
    link: Option<(&'static str, &'static str)>,
}

async fn message(
    state: &AppState,
    session: &CurrentSession,
    status: StatusCode,
    heading: &'static str,
    message: &'static str,
    link: Option<(&'static str, &'static str)>,
) -> Result<Response, AppError> {
    let layout = Layout::load(state, session, heading).await?;
    Ok((
        status,
        render(&MessagePage {
            layout,
            heading,
            message,
            link,
        })?,
    )
        .into_response())
}

// ---- registration ----

#[derive(Template)]
#[template(path = "accounts/register.html")]
struct RegisterPage {
    layout: Layout,
    csrf_token: String,
    email: String,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegisterForm {
    email: String,
    password: Password,
    password_confirm: Password,
}

pub async fn register_form(
    State(state): State<AppState>,
    session: CurrentSession,
    csrf: CsrfToken,
) -> Result<Response, AppError> {
    let layout = Layout::load(&state, &session, "Create an account").await?;
    let page = RegisterPage {
        layout,
        csrf_token: csrf.0,
        email: String::new(),
        errors: FieldErrors::default(),
    };
    Ok(render(&page)?.into_response())
}

pub async fn register(
    State(state): State<AppState>,
    session: CurrentSession,
    csrf: CsrfToken,
    Form(form): Form<RegisterForm>,
) -> Result<Response, AppError> {
    match service::register(&state, &form.email, &form.password, &form.password_confirm).await {
        Ok(()) => {
            message(&state, &session, StatusCode::OK, "Check your inbox",
                "We have sent a message to the address you gave. Open the link in it to confirm your address, then sign in.",
                Some(("/account/login", "Sign in"))).await
        }
        Err(errors) => {
            let layout = Layout::load(&state, &session, "Create an account").await?;
            let page = RegisterPage { layout, csrf_token: csrf.0, email: form.email.trim().to_owned(), errors };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

// ---- verification ----

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenParams {
    token: String,
}

#[derive(Template)]
#[template(path = "accounts/verify.html")]
struct VerifyPage {
    layout: Layout,
    csrf_token: String,
    token: String,
}

/// Shows a button rather than verifying at once, so that a mail scanner opening the
/// link does not use it up.
pub async fn verify_form(
    State(state): State<AppState>,
    session: CurrentSession,
    csrf: CsrfToken,
    Query(params): Query<TokenParams>,
) -> Result<Response, AppError> {
    let layout = Layout::load(&state, &session, "Confirm your email address").await?;
    Ok(render(&VerifyPage {
        layout,
        csrf_token: csrf.0,
        token: params.token,
    })?
    .into_response())
}

pub async fn verify(
    State(state): State<AppState>,
    session: CurrentSession,
    Form(form): Form<TokenParams>,
) -> Result<Response, AppError> {
    if service::verify_email(&state, &form.token).await? {
        message(
            &state,
            &session,
            StatusCode::OK,
            "Your email address is confirmed",
            "Thank you. Your account is ready for checkout.",
            Some(("/products", "Continue shopping")),
        )
        .await
    } else {
        message(&state, &session, StatusCode::BAD_REQUEST, "This link no longer works",
            "The link has expired or was already used. Sign in and ask for a new one from your account page.",
            Some(("/account", "Your account"))).await
    }
}

pub async fn resend_verification(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response, AppError> {
    if !current.user.is_verified() {
        let email = EmailAddress::parse(&current.user.email).map_err(anyhow::Error::msg)?;
        service::send_verification(&state, current.user.id, &email).await?;
    }
    Ok(Redirect::to("/account?notice=verification-sent").into_response())
}

// ---- login and logout ----

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    layout: Layout,
    csrf_token: String,
    email: String,
    next: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginParams {
    next: Option<String>,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: Password,
    next: Option<String>,
}

const LOGIN_REFUSED: &str = "The email or password is not right. Check them and try again.";

pub async fn login_form(
    State(state): State<AppState>,
    session: CurrentSession,
    csrf: CsrfToken,
    Query(params): Query<LoginParams>,
) -> Result<Response, AppError> {
    let notice = match params.notice.as_deref() {
        Some("password-reset") => Some("Your password has been changed. Sign in with the new one."),
        Some("signed-out") => Some("You have signed out."),
        _ => None,
    };
    let layout = Layout::load(&state, &session, "Sign in").await?;
    let next = safe_next(params.next.as_deref()).unwrap_or("").to_owned();
    let page = LoginPage {
        layout,
        csrf_token: csrf.0,
        email: String::new(),
        next,
        error: None,
        notice,
    };
    Ok(render(&page)?.into_response())
}

pub async fn login(
    State(state): State<AppState>,
    session: CurrentSession,
    csrf: CsrfToken,
    client: ClientAddr,
    transport: Transport,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let ip = client.0.to_string();
    let (status, error) = match service::login(&state, &form.email, &form.password, &ip).await? {
        LoginOutcome::Success {
            user_id,
            email,
            role,
        } => {
            // A new id at login: whoever knew the visitor's cookie does not get in. The
            // visitor's cart joins the account's first.
            if let Some(old) = &session.0 {
                if old.user.is_none() {
                    let merged =
                        cart::store::merge_visitor_cart(&state.db, &old.id_hash, user_id).await?;
                    if merged > 0 {
                        tracing::info!(
                            event = "cart.merged",
                            user.id = user_id,
                            cart.lines = merged,
                            "visitor's cart joined the account's"
                        );
                    }
                }
                session::destroy(&state.db, &old.id_hash).await?;
            }
            let secret = session::create(&state.db, Some(user_id), &ip).await?;
            if role == STAFF || role == ADMIN {
                let actor = audit::Actor {
                    user_id,
                    email,
                    ip: ip.clone(),
                };
                let entry = audit::NewEntry {
                    action: "backoffice.login",
                    target: &format!("user {user_id}"),
                    before: serde_json::json!({}),
                    after: serde_json::json!({ "role": role }),
                };
                audit::record_alone(&state.db, &actor, &entry).await?;
            }
            let secure = transport.secure_cookies;
            let cookie = session::set_cookie(session::cookie_name(secure), Some(&secret), secure);
            let to = safe_next(form.next.as_deref()).unwrap_or("/account");
            return Ok(([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response());
        }
        LoginOutcome::Refused => (StatusCode::OK, LOGIN_REFUSED),
        LoginOutcome::Throttled => (
            StatusCode::TOO_MANY_REQUESTS,
            "There have been too many failed sign-ins from your network. Wait 15 minutes and try again.",
        ),
    };

    let layout = Layout::load(&state, &session, "Sign in").await?;
    let next = safe_next(form.next.as_deref()).unwrap_or("").to_owned();
    let page = LoginPage {
        layout,
        csrf_token: csrf.0,
        email: form.email.trim().to_owned(),
        next,
        error: Some(error),
        notice: None,
    };
    let mut response = (status, render(&page)?).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("900"));
    }
    Ok(response)
}

pub async fn logout(
    State(state): State<AppState>,
    session: CurrentSession,
    transport: Transport,
) -> Result<Response, AppError> {
    if let Some(current) = &session.0 {
        session::destroy(&state.db, &current.id_hash).await?;
        if let Some(user) = &current.user {
            tracing::info!(event = "account.logout", user.id = user.id, "logout");
        }
    }
    let secure = transport.secure_cookies;
    let cookie = session::set_cookie(session::cookie_name(secure), None, secure);
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/account/login?notice=signed-out"),
    )
        .into_response())
}

// ---- password reset ----

#[derive(Template)]
#[template(path = "accounts/reset_request.html")]
struct ResetRequestPage {
    layout: Layout,
    csrf_token: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetRequestForm {
    email: String,
}

pub async fn reset_form(
    State(state): State<AppState>,
    session: CurrentSession,
    csrf: CsrfToken,
) -> Result<Response, AppError> {
    let layout = Layout::load(&state, &session, "Reset your password").await?;
    Ok(render(&ResetRequestPage {
        layout,
        csrf_token: csrf.0,
    })?
    .into_response())
}

pub async fn reset_request(
    State(state): State<AppState>,
    session: CurrentSession,
    Form(form): Form<ResetRequestForm>,
) -> Result<Response, AppError> {
    service::request_reset(&state, &form.email).await?;
    message(&state, &session, StatusCode::OK, "Check your inbox",
        "If an account exists for that address, we have sent it a link to choose a new password. The link works for one hour.",
        None).await
}

#[derive(Template)]
#[template(path = "accounts/reset_confirm.html")]
struct ResetConfirmPage {
    layout: Layout,
    csrf_token: String,
    token: String,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetConfirmForm {
    token: String,
    password: Password,
    password_confirm: Password,
}

const DEAD_RESET_LINK: &str =
    "The link has expired or was already used. You can ask for a new one.";

pub async fn reset_confirm_form(
    State(state): State<AppState>,
    session: CurrentSession,
    csrf: CsrfToken,
    Query(params): Query<TokenParams>,
) -> Result<Response, AppError> {
    if !service::reset_token_is_valid(&state, &params.token).await? {
        return message(
            &state,
            &session,
            StatusCode::BAD_REQUEST,
            "This link no longer works",
            DEAD_RESET_LINK,
            Some(("/account/password-reset", "Ask for a new link")),
        )
        .await;
    }
    let layout = Layout::load(&state, &session, "Choose a new password").await?;
    let page = ResetConfirmPage {
        layout,
        csrf_token: csrf.0,
        token: params.token,
        errors: FieldErrors::default(),
    };
    Ok(render(&page)?.into_response())
}

pub async fn reset_confirm(
    State(state): State<AppState>,
    session: CurrentSession,
    csrf: CsrfToken,
    Form(form): Form<ResetConfirmForm>,
) -> Result<Response, AppError> {
    match service::reset_password(&state, &form.token, &form.password, &form.password_confirm)
        .await?
    {
        Ok(()) => Ok(Redirect::to("/account/login?notice=password-reset").into_response()),
        Err(errors) if errors.get("form").is_some() => {
            message(
                &state,
                &session,
                StatusCode::BAD_REQUEST,
                "This link no longer works",
                DEAD_RESET_LINK,
                Some(("/account/password-reset", "Ask for a new link")),
            )
            .await
        }
        Err(errors) => {
            let layout = Layout::load(&state, &session, "Choose a new password").await?;
            let page = ResetConfirmPage {
                layout,
                csrf_token: csrf.0,
                token: form.token,
                errors,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

// ---- the account page ----

#[derive(Template)]
#[template(path = "accounts/account.html")]
struct AccountPage {
    layout: Layout,
    csrf_token: String,
    profile: store::Profile,
    notice: Option<&'static str>,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AccountParams {
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChangePasswordForm {
    current_password: Password,
    password: Password,
    password_confirm: Password,
}

async fn account_page(
    state: &AppState,
    session: &CurrentSession,
    current: &CurrentUser,
    notice: Option<&'static str>,
    errors: FieldErrors,
) -> Result<AccountPage, AppError> {
    let profile = store::profile(&state.db, current.user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let layout = Layout::load(state, session, "Your account").await?;
    let csrf_token = session
        .0
        .as_ref()
        .map(|s| s.csrf_token.clone())
        .unwrap_or_default();
    Ok(AccountPage {
        layout,
        csrf_token,
        profile,
        notice,
        errors,
    })
}

pub async fn account(
    State(state): State<AppState>,
    session: CurrentSession,
    current: CurrentUser,
    Query(params): Query<AccountParams>,
) -> Result<Response, AppError> {
    let notice = match params.notice.as_deref() {
        Some("password-changed") => {
            Some("Your password has been changed. Other devices have been signed out.")
        }
        Some("verification-sent") => Some("We have sent you a new confirmation link."),
        Some("verify-first") => {
            Some("Please confirm your email address first: open the link we emailed you.")
        }
        _ => None,
    };
    let page = account_page(&state, &session, &current, notice, FieldErrors::default()).await?;
    Ok(render(&page)?.into_response())
}

pub async fn change_password(
    State(state): State<AppState>,
    session: CurrentSession,
    current: CurrentUser,
    Form(form): Form<ChangePasswordForm>,
) -> Result<Response, AppError> {
    let outcome = service::change_password(
        &state,
        current.user.id,
        &current.session_id_hash,
        &form.current_password,
        &form.password,
        &form.password_confirm,
    )
    .await?;
    match outcome {
        Ok(()) => Ok(Redirect::to("/account?notice=password-changed").into_response()),
        Err(errors) => {
            let page = account_page(&state, &session, &current, None, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}
