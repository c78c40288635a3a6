//! `POST /api/v1/auth/sign-in`: the password step. It never says whether an account exists: an
//! unknown address, a wrong password and a not-yet-activated account all answer
//! `invalid_credentials` after the same argon2 work.
//!
//! The whole step is one transaction that holds the account's throttle row (see
//! [`Attempt::begin`]), so parallel guesses at one account are counted one by one. The
//! password hash is readable only by a transaction acting as its own user (`user_credential`'s
//! policy), so the step acts as the claimed user just long enough to read it, and as nobody again
//! to record a failure.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use docket_protocol::auth::{SessionGrant, SessionStage, SignInRequest, TokenDelivery};
use docket_protocol::ids::UserId;
use secrecy::SecretString;

use super::throttle::{Attempt, Key};
use super::{devices, password, session, ClientMeta};
use crate::audit::{self, AuditRecord};
use crate::db::{RequestContext, Tenant};
use crate::error::Json;
use crate::startup::AppState;
use crate::{Error, Result};

/// Sign in with e-mail and password; continue with MFA.
#[utoipa::path(
    post, path = "/api/v1/auth/sign-in", tag = "auth",
    request_body = SignInRequest, security(()),
    responses(
        (status = 200, description = "Password accepted; complete MFA next", body = SessionGrant),
        (status = 401, description = "invalid_credentials", body = docket_protocol::error::ErrorBody),
        (status = 429, description = "rate_limited", body = docket_protocol::error::ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn sign_in(
    State(app): State<AppState>,
    meta: ClientMeta,
    Json(req): Json<SignInRequest>,
) -> Result<Response> {
    let email = super::normalize_email(&req.email).map_err(|_| Error::InvalidCredentials)?;
    let now = app.clock.now();
    let ctx = RequestContext {
        source_ip: meta.ip,
        ..Default::default()
    };
    let mut tenant = Tenant::begin(&app.pool, &app.outbox, ctx).await?;
    let attempt = Attempt::begin(
        tenant.conn(),
        Key::password(&email).with_address(meta.ip),
        now,
    )
    .await?;

    let account = sqlx::query!(
        r#"select user_id as "user_id!", status as "status!", mfa_enrolled as "mfa_enrolled!"
           from docket_sign_in_account($1)"#,
        email
    )
    .fetch_optional(tenant.conn())
    .await?;
    let stored = match &account {
        Some(account) => {
            tenant.act_as(Some(UserId(account.user_id))).await?;
            sqlx::query_scalar!(
                "select password_hash from user_credential where user_id = $1",
                account.user_id
            )
            .fetch_optional(tenant.conn())
            .await?
            .flatten()
        }
        None => None,
    };
    let too_long = req.password.len() > password::MAX_LEN * 4;
    let stored = stored.filter(|_| !too_long);
    let verified = password::verify(SecretString::from(req.password), stored).await?;
    let account = match account {
        Some(account) if verified && account.status == "active" => account,
        _ => {
            tenant.act_as(None).await?;
            attempt.failed(tenant.conn(), now).await?;
            let mut record = AuditRecord::new("auth.sign_in.failed");
            if let Some(account) = &account {
                record = record.target("user", account.user_id);
            }
            audit::record(&mut tenant, record).await?;
            tenant.commit().await?;
            return Err(Error::InvalidCredentials);
        }
    };

    let user_id = UserId(account.user_id);
    // A correct password clears the password count only; second-factor failures stay counted.
    attempt.succeeded(tenant.conn()).await?;
    let via_cookie = req.token_delivery == TokenDelivery::Cookie;
    let presented = if via_cookie {
        meta.device_cookie.as_deref()
    } else {
        req.device_token.as_deref()
    };
    let device = devices::recognise(
        &mut tenant,
        user_id,
        presented,
        &meta,
        now,
        &app.config.firm_name,
    )
    .await?;
    tenant.set_device(device.device_id);
    let stage = if account.mfa_enrolled {
        SessionStage::MfaRequired
    } else {
        SessionStage::MfaEnrolmentRequired
    };
    let (session_id, issued) =
        session::open(&mut tenant, user_id, device.device_id, stage, now, &meta).await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.sign_in.password_accepted").target("session", session_id),
    )
    .await?;
    tenant.commit().await?;
    let (headers, body) = session::grant(&app, issued, via_cookie, device.new_token);
    Ok((headers, axum::Json(body)).into_response())
}
