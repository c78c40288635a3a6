//! Authentication: passwords, TOTP, sign-in, sessions, devices, invitations and throttling.
//!
//! A request is authenticated by a session token, from the `docket_session` cookie (browsers) or an
//! `Authorization: Bearer` header (SDK, apps). [`Authenticated`] accepts a session at any stage;
//! [`Signed`] only a session that has completed MFA, and is what every other domain's handlers use.

pub(crate) mod account;
pub mod alerts;
mod cookies;
mod devices;
mod extract;
pub mod invitations;
pub(crate) mod mfa;
pub mod password;
mod recovery_codes;
pub mod rekey;
mod session;
pub(crate) mod sign_in;
mod throttle;
pub mod token;
pub mod totp;

use axum::routing::{delete, get, post};
use axum::Router;

pub use extract::{actor_of, profile, Authenticated, ClientMeta, Signed};
pub(crate) use mfa::require_recent_reauth;
pub use session::end as end_session;

use crate::startup::AppState;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/sign-in", post(sign_in::sign_in))
        .route("/auth/sign-out", post(account::sign_out))
        .route("/auth/session", get(account::current_session))
        .route("/auth/mfa/enrolment", post(mfa::start_enrolment))
        .route("/auth/mfa/enrolment/confirm", post(mfa::confirm_enrolment))
        .route("/auth/mfa/verify", post(mfa::verify))
        .route("/auth/reauthenticate", post(mfa::reauthenticate))
        .route("/me/mfa/reset", post(mfa::reset))
        .route(
            "/me/mfa/recovery-codes",
            post(mfa::regenerate_recovery_codes),
        )
        .route("/me/sessions", get(account::list_sessions))
        .route("/me/sessions/{session_id}", delete(account::revoke_session))
        .route("/me/devices", get(account::list_devices))
        .route("/me/devices/{device_id}", delete(account::revoke_device))
        .route("/me/alerts", get(account::list_alerts))
        .route("/me/alerts/{alert_id}/read", post(account::mark_alert_read))
        .route("/invitations/accept", post(invitations::accept))
}

/// Lower-cases and trims an e-mail address; refuses what cannot be one.
pub fn normalize_email(email: &str) -> crate::Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(crate::Error::InvalidInput(
            "That is not a valid e-mail address.".into(),
        ))
    }
}
