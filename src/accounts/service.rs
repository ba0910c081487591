//! The accounts' rules: registration, verification, login with lockout, password reset
//! and change. No HTTP here; the pages call these and render what they return.

use std::time::Duration;

use crate::accounts::email_address::EmailAddress;
use crate::accounts::store::{self, Purpose};
use crate::app::AppState;
use crate::db::time::now_ms;
use crate::security::password::{self, Password, Verified};
use crate::security::session;
pub use crate::web::form::FieldErrors;

/// Failures in a row that lock an account.
pub const MAX_FAILURES: i64 = 5;
/// Failed logins one address may make in [`ADDRESS_WINDOW`] before it must wait.
pub const MAX_ADDRESS_FAILURES: i64 = 20;
pub const ADDRESS_WINDOW: Duration = Duration::from_secs(15 * 60);
const VERIFY_TTL: Duration = Duration::from_secs(24 * 3600);
const RESET_TTL: Duration = Duration::from_secs(3600);

/// How long the `n`-th lockout in a row lasts (counting from 0): 1, 5, 15, then 60 min.
pub fn cool_off(lockouts: i64) -> Duration {
    let minutes = match lockouts {
        i64::MIN..=0 => 1,
        1 => 5,
        2 => 15,
        _ => 60,
    };
    Duration::from_secs(minutes * 60)
}

/// Checks a new password and its confirmation against the rules.
fn check_new_password(errors: &mut FieldErrors, new: &Password, confirm: &Password, email: &str) {
    if let Err(reason) = password::check_rules(new.expose(), email) {
        errors.add("password", reason);
    } else if new.expose() != confirm.expose() {
        errors.add("password_confirm", "The two passwords do not match.");
    }
}

/// Registers an account, or, when the email is taken, tells its owner instead. The
/// answer is the same either way, so the form cannot reveal who has an account.
pub async fn register(
    state: &AppState,
    email: &str,
    new: &Password,
    confirm: &Password,
) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    let email = match EmailAddress::parse(email) {
        Ok(email) => Some(email),
        Err(message) => {
            errors.add("email", message);
            None
        }
    };
    check_new_password(
        &mut errors,
        new,
        confirm,
        email.as_ref().map_or("", |e| e.as_str()),
    );
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };

    let outcome = async {
        // Hashing happens for a taken email too, so both answers cost the same time.
        let hash = state.hasher.hash(new).await?;
        match store::insert_user(
            &state.db,
            email.as_str(),
            &email.key(),
            &hash,
            "customer",
            false,
        )
        .await?
        {
            Some(user_id) => {
                tracing::info!(
                    event = "account.registered",
                    user.id = user_id,
                    "account registered"
                );
                send_verification(state, user_id, &email).await
            }
            None => {
                let body = format!(
                    "Someone, perhaps you, tried to create a SecureCart account with this \
                     address. You already have one.\n\nTo sign in: {url}/account/login\n\
                     Forgot your password? {url}/account/password-reset\n\n\
                     If it was not you, you can ignore this message.\n",
                    url = state.settings.public_url
                );
                state.mailer.send_later(
                    "account.exists",
                    email.as_str(),
                    "You already have a SecureCart account",
                    body,
                );
                Ok(())
            }
        }
    };
    outcome.await.map_err(|err: anyhow::Error| {
        tracing::error!(error = format!("{err:#}"), "registration failed");
        let mut errors = FieldErrors::default();
        errors.add(
            "form",
            "We could not create your account just now. Please try again.",
        );
        errors
    })
}

/// Emails a fresh verification link (valid 24 h).
pub async fn send_verification(
    state: &AppState,
    user_id: i64,
    email: &EmailAddress,
) -> anyhow::Result<()> {
    let token = store::create_token(&state.db, user_id, Purpose::Verify, VERIFY_TTL).await?;
    let body = format!(
        "Welcome to SecureCart.\n\nPlease confirm your email address by opening this link \
         within 24 hours:\n\n{}/account/verify?token={token}\n\n\
         If you did not create an account, you can ignore this message.\n",
        state.settings.public_url
    );
    state.mailer.send_later(
        "account.verify",
        email.as_str(),
        "Confirm your email address",
        body,
    );
    Ok(())
}

/// Uses a verification token; false when it is unknown, used or expired.
pub async fn verify_email(state: &AppState, token: &str) -> anyhow::Result<bool> {
    match store::consume_token(&state.db, token, Purpose::Verify).await? {
        Some(user_id) => {
            store::mark_verified(&state.db, user_id).await?;
            tracing::info!(
                event = "account.verified",
                user.id = user_id,
                "email verified"
            );
            Ok(true)
        }
        None => Ok(false),
    }
}

/// How a login attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The password is right and the account may sign in.
    Success {
        user_id: i64,
        email: String,
        role: String,
    },
    /// Wrong email, wrong password, locked or inactive account: one answer for all.
    Refused,
    /// This address has failed too often; it must wait.
    Throttled,
}

/// Checks a login. Every path verifies one hash, so they all take the same time.
pub async fn login(
    state: &AppState,
    email: &str,
    given: &Password,
    ip: &str,
) -> anyhow::Result<LoginOutcome> {
    if store::address_failures(&state.db, ip, ADDRESS_WINDOW).await? >= MAX_ADDRESS_FAILURES {
        tracing::warn!(
            event = "security.address_throttled",
            client.addr = ip,
            "login throttled"
        );
        return Ok(LoginOutcome::Throttled);
    }

    let account = match EmailAddress::parse(email) {
        Ok(email) => store::credentials_by_key(&state.db, &email.key()).await?,
        Err(_) => None,
    };
    let verified = state
        .hasher
        .verify(given, account.as_ref().map(|a| a.password_hash.as_str()))
        .await?;

    let Some(account) = account else {
        store::record_address_failure(&state.db, ip, ADDRESS_WINDOW).await?;
        tracing::info!(
            event = "security.login_failed",
            reason = "unknown account",
            client.addr = ip,
            "login failed"
        );
        return Ok(LoginOutcome::Refused);
    };
    let now = now_ms();
    if account.locked_until.is_some_and(|until| until > now) {
        store::record_address_failure(&state.db, ip, ADDRESS_WINDOW).await?;
        tracing::warn!(
            event = "security.login_locked",
            user.id = account.id,
            client.addr = ip,
            "login refused: account locked"
        );
        return Ok(LoginOutcome::Refused);
    }

    match verified {
        Verified::Yes { rehash } if account.is_active == 1 => {
            store::record_success(&state.db, account.id, ip).await?;
            if rehash {
                let hash = state.hasher.hash(given).await?;
                store::set_password(&state.db, account.id, &hash, false).await?;
            }
            tracing::info!(
                event = "account.login",
                user.id = account.id,
                client.addr = ip,
                "login"
            );
            Ok(LoginOutcome::Success {
                user_id: account.id,
                email: account.email,
                role: account.role,
            })
        }
        Verified::Yes { .. } => {
            tracing::warn!(
                event = "security.login_inactive",
                user.id = account.id,
                "login refused: inactive"
            );
            Ok(LoginOutcome::Refused)
        }
        Verified::No => {
            store::record_address_failure(&state.db, ip, ADDRESS_WINDOW).await?;
            let failures = store::record_failure(&state.db, account.id).await?;
            if failures >= MAX_FAILURES {
                let cool_off = cool_off(account.lockouts);
                let until = now + i64::try_from(cool_off.as_millis()).unwrap_or(0);
                store::lock(&state.db, account.id, until).await?;
                let minutes = cool_off.as_secs() / 60;
                tracing::warn!(
                    event = "security.account_locked",
                    user.id = account.id,
                    minutes,
                    client.addr = ip,
                    "account locked"
                );
                let body = format!(
                    "Your SecureCart account was locked for {minutes} minute(s) after several \
                     failed sign-in attempts.\n\nIf this was you, wait and try again. If it was \
                     not, someone may be guessing your password: choose a new one at \
                     {}/account/password-reset\n",
                    state.settings.public_url
                );
                state.mailer.send_later(
                    "security.locked",
                    &account.email,
                    "Your account was locked",
                    body,
                );
            } else {
                tracing::info!(
                    event = "security.login_failed",
                    reason = "wrong password",
                    user.id = account.id,
                    client.addr = ip,
                    "login failed"
                );
            }
            Ok(LoginOutcome::Refused)
        }
    }
}

/// Emails a reset link (valid 1 h) when the account exists; silent otherwise.
pub async fn request_reset(state: &AppState, email: &str) -> anyhow::Result<()> {
    let Ok(email) = EmailAddress::parse(email) else {
        return Ok(());
    };
    let Some(account) = store::credentials_by_key(&state.db, &email.key()).await? else {
        return Ok(());
    };
    if account.is_active != 1 {
        return Ok(());
    }
    let token = store::create_token(&state.db, account.id, Purpose::Reset, RESET_TTL).await?;
    let body = format!(
        "Someone asked to reset the password of your SecureCart account.\n\n\
         To choose a new password, open this link within an hour:\n\n\
         {}/account/password-reset/confirm?token={token}\n\n\
         If it was not you, ignore this message: your password stays as it is.\n",
        state.settings.public_url
    );
    state
        .mailer
        .send_later("account.reset", &account.email, "Reset your password", body);
    tracing::info!(
        event = "account.reset_requested",
        user.id = account.id,
        "password reset requested"
    );
    Ok(())
}

pub async fn reset_token_is_valid(state: &AppState, token: &str) -> anyhow::Result<bool> {
    Ok(store::token_user(&state.db, token, Purpose::Reset)
        .await?
        .is_some())
}

/// Sets a new password with a reset token and ends every session of the account.
/// The token is used only once the new password is acceptable.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new: &Password,
    confirm: &Password,
) -> anyhow::Result<Result<(), FieldErrors>> {
    let mut errors = FieldErrors::default();
    let dead_link = || {
        let mut errors = FieldErrors::default();
        errors.add(
            "form",
            "This reset link has expired or was already used. Ask for a new one.",
        );
        errors
    };
    let Some(user_id) = store::token_user(&state.db, token, Purpose::Reset).await? else {
        return Ok(Err(dead_link()));
    };
    let Some(account) = store::credentials_by_id(&state.db, user_id).await? else {
        return Ok(Err(dead_link()));
    };
    check_new_password(&mut errors, new, confirm, &account.email);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    // Using the token is one statement: of two racing submissions, one wins.
    if store::consume_token(&state.db, token, Purpose::Reset).await? != Some(user_id) {
        return Ok(Err(dead_link()));
    }

    let hash = state.hasher.hash(new).await?;
    store::set_password(&state.db, user_id, &hash, true).await?;
    store::mark_verified(&state.db, user_id).await?;
    // Proving ownership of the address also lifts a lockout.
    store::unlock(&state.db, user_id).await?;
    let ended = session::destroy_all_for_user(&state.db, user_id, None).await?;
    tracing::info!(
        event = "account.password_reset",
        user.id = user_id,
        sessions_ended = ended,
        "password reset"
    );
    Ok(Ok(()))
}

/// Changes the password of a signed-in user, ending their other sessions.
pub async fn change_password(
    state: &AppState,
    user_id: i64,
    keep_session: &str,
    current: &Password,
    new: &Password,
    confirm: &Password,
) -> anyhow::Result<Result<(), FieldErrors>> {
    let mut errors = FieldErrors::default();
    let Some(account) = store::credentials_by_id(&state.db, user_id).await? else {
        anyhow::bail!("the signed-in user {user_id} does not exist");
    };
    if state
        .hasher
        .verify(current, Some(&account.password_hash))
        .await?
        == Verified::No
    {
        errors.add("current_password", "That is not your current password.");
        return Ok(Err(errors));
    }
    check_new_password(&mut errors, new, confirm, &account.email);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }

    let hash = state.hasher.hash(new).await?;
    store::set_password(&state.db, user_id, &hash, true).await?;
    let ended = session::destroy_all_for_user(&state.db, user_id, Some(keep_session)).await?;
    tracing::info!(
        event = "account.password_changed",
        user.id = user_id,
        sessions_ended = ended,
        "password changed"
    );
    let body = "The password of your SecureCart account was just changed. If it was not you, \
                reset it at once and contact us.\n"
        .to_owned();
    state.mailer.send_later(
        "account.password_changed",
        &account.email,
        "Your password was changed",
        body,
    );
    Ok(Ok(()))
}

/// Whether `create-admin` made a new account or promoted an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminOutcome {
    Created,
    Promoted,
}

/// Creates a verified administrator, or makes the account with that email one (with
/// the new password, and its other sessions ended).
pub async fn create_admin(
    state: &AppState,
    email: &str,
    given: &Password,
) -> anyhow::Result<AdminOutcome> {
    let email = EmailAddress::parse(email).map_err(anyhow::Error::msg)?;
    password::check_rules(given.expose(), email.as_str()).map_err(anyhow::Error::msg)?;
    let hash = state.hasher.hash(given).await?;

    if let Some(id) = store::insert_user(
        &state.db,
        email.as_str(),
        &email.key(),
        &hash,
        "admin",
        true,
    )
    .await?
    {
        tracing::info!(
            event = "account.admin_created",
            user.id = id,
            "administrator created"
        );
        return Ok(AdminOutcome::Created);
    }
    let account = store::credentials_by_key(&state.db, &email.key())
        .await?
        .ok_or_else(|| anyhow::anyhow!("the account vanished while it was being promoted"))?;
    store::promote_to_admin(&state.db, account.id, &hash).await?;
    session::destroy_all_for_user(&state.db, account.id, None).await?;
    tracing::info!(
        event = "account.admin_promoted",
        user.id = account.id,
        "account made administrator"
    );
    Ok(AdminOutcome::Promoted)
}

/// Deletes expired sessions, spent tokens and old failure windows.
pub async fn purge(state: &AppState) -> anyhow::Result<()> {
    let sessions = session::purge_expired(&state.db, &state.settings.sessions).await?;
    store::purge(&state.db, ADDRESS_WINDOW).await?;
    tracing::debug!(sessions, "purged expired account data");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_lockout_in_a_row_lasts_longer() {
        let minutes: Vec<u64> = (0..6).map(|n| cool_off(n).as_secs() / 60).collect();
        assert_eq!(minutes, vec![1, 5, 15, 60, 60, 60]);
    }
}
