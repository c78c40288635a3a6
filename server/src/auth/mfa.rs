//! The second factor: TOTP enrolment (mandatory on first sign-in), verification, recovery codes,
//! re-authentication before sensitive changes, and resetting MFA.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use docket_protocol::auth::{
    AlertDetail, MfaCode, MfaEnrolled, MfaEnrolment, MfaVerifyRequest, ReauthenticateRequest,
    SessionGrant, SessionStage,
};
use secrecy::SecretString;
use time::{Duration, OffsetDateTime};

use super::session::{self, MFA_STAGE_LIFETIME};
use super::throttle::{Attempt, Key, Recorded};
use super::{alerts, password, recovery_codes, totp, Authenticated, Signed};
use crate::audit::{self, AuditRecord};
use crate::db::Tenant;
use crate::error::Json;
use crate::keyring::Purpose;
use crate::outbox::{Announcement, Control};
use crate::startup::AppState;
use crate::{Error, Result};

/// How recent a re-authentication must be for a sensitive change.
pub const REAUTH_VALIDITY: Duration = Duration::minutes(5);

type ErrorResponses = docket_protocol::error::ErrorBody;

/// Starts TOTP enrolment: a new secret, held on the session until confirmed.
#[utoipa::path(
    post, path = "/api/v1/auth/mfa/enrolment", tag = "auth",
    responses((status = 200, body = MfaEnrolment), (status = 409, body = ErrorResponses))
)]
#[tracing::instrument(skip_all, fields(user_id = %auth.user.user_id))]
pub async fn start_enrolment(
    State(app): State<AppState>,
    auth: Authenticated,
) -> Result<Json<MfaEnrolment>> {
    if auth.stage != SessionStage::MfaEnrolmentRequired {
        return Err(Error::Conflict(
            "This session is not enrolling a second factor.".into(),
        ));
    }
    let secret = totp::new_secret();
    let sealed = app
        .keyring
        .seal(Purpose::TotpSecret, auth.user.user_id.0.as_bytes(), &secret);
    let mut tenant = auth.tenant(&app).await?;
    sqlx::query!(
        "update session set pending_totp_sealed = $2 where session_id = $1",
        auth.session_id.0,
        sealed
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.mfa.enrolment_started").target("user", auth.user.user_id),
    )
    .await?;
    tenant.commit().await?;
    Ok(Json(MfaEnrolment {
        secret: totp::encode_secret(&secret),
        otpauth_uri: totp::otpauth_uri(&app.config.firm_name, &auth.user.email, &secret),
    }))
}

/// Confirms enrolment with a code from the new secret; answers the recovery codes, once.
#[utoipa::path(
    post, path = "/api/v1/auth/mfa/enrolment/confirm", tag = "auth", request_body = MfaCode,
    responses((status = 200, body = MfaEnrolled), (status = 401, description = "invalid_mfa_code", body = ErrorResponses),
              (status = 409, description = "conflict: the session is not enrolling, or enrolment was not started", body = ErrorResponses),
              (status = 429, description = "rate_limited", body = ErrorResponses))
)]
#[tracing::instrument(skip_all, fields(user_id = %auth.user.user_id))]
pub async fn confirm_enrolment(
    State(app): State<AppState>,
    auth: Authenticated,
    Json(req): Json<MfaCode>,
) -> Result<Response> {
    if auth.stage != SessionStage::MfaEnrolmentRequired {
        return Err(Error::Conflict(
            "This session is not enrolling a second factor.".into(),
        ));
    }
    let now = app.clock.now();
    let mut tenant = auth.tenant(&app).await?;
    let attempt = second_factor_attempt(&mut tenant, &auth, now).await?;
    let sealed = sqlx::query_scalar!(
        "select pending_totp_sealed from session where session_id = $1",
        auth.session_id.0
    )
    .fetch_one(tenant.conn())
    .await?
    .ok_or_else(|| Error::Conflict("Start enrolment first.".into()))?;
    let secret = app
        .keyring
        .open(Purpose::TotpSecret, auth.user.user_id.0.as_bytes(), &sealed)?;
    let Some(step) = totp::verify(&secret, &req.code, now, None) else {
        return Err(failed(tenant, &auth, &attempt, now).await);
    };
    attempt.succeeded(tenant.conn()).await?;
    sqlx::query!(
        "update user_credential set totp_secret_sealed = $2, totp_enrolled_at = $3, totp_last_step = $4 where user_id = $1",
        auth.user.user_id.0,
        sealed,
        now,
        step
    )
    .execute(tenant.conn())
    .await?;
    let recovery_codes = recovery_codes::replace(&mut tenant, &auth).await?;
    let issued = session::reissue(
        &mut tenant,
        &auth,
        SessionStage::Active,
        auth.created_at + app.config.absolute_lifetime,
    )
    .await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.mfa.enrolled").target("user", auth.user.user_id),
    )
    .await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.sign_in.succeeded")
            .target("session", auth.session_id)
            .detail(serde_json::json!({ "method": "totp_enrolment" })),
    )
    .await?;
    tenant.commit().await?;
    let (headers, session) = session::grant(&app, issued, auth.via_cookie, None);
    Ok((
        headers,
        axum::Json(MfaEnrolled {
            recovery_codes,
            session,
        }),
    )
        .into_response())
}

/// Completes sign-in with a TOTP code or a one-time recovery code.
#[utoipa::path(
    post, path = "/api/v1/auth/mfa/verify", tag = "auth", request_body = MfaVerifyRequest,
    responses((status = 200, body = SessionGrant), (status = 401, description = "invalid_mfa_code", body = ErrorResponses),
              (status = 409, description = "conflict: the session is not waiting for a code", body = ErrorResponses),
              (status = 422, description = "invalid_input: neither or both of code and recovery_code", body = ErrorResponses),
              (status = 429, description = "rate_limited", body = ErrorResponses))
)]
#[tracing::instrument(skip_all, fields(user_id = %auth.user.user_id))]
pub async fn verify(
    State(app): State<AppState>,
    auth: Authenticated,
    Json(req): Json<MfaVerifyRequest>,
) -> Result<Response> {
    if auth.stage != SessionStage::MfaRequired {
        return Err(Error::Conflict(
            "This session is not waiting for a code.".into(),
        ));
    }
    let now = app.clock.now();
    let mut tenant = auth.tenant(&app).await?;
    let attempt = second_factor_attempt(&mut tenant, &auth, now).await?;
    let method = match (req.code.as_deref(), req.recovery_code.as_deref()) {
        (Some(code), None) => check_totp(&app, &mut tenant, &auth, code, now)
            .await?
            .then_some("totp"),
        (None, Some(code)) => recovery_codes::use_code(&mut tenant, &auth, code, now)
            .await?
            .then_some("recovery_code"),
        _ => {
            return Err(Error::InvalidInput(
                "Send either a code or a recovery code.".into(),
            ))
        }
    };
    let Some(method) = method else {
        return Err(failed(tenant, &auth, &attempt, now).await);
    };
    // Only a completed second factor clears the second-factor count, and only this account's.
    attempt.succeeded(tenant.conn()).await?;
    let issued = session::reissue(
        &mut tenant,
        &auth,
        SessionStage::Active,
        auth.created_at + app.config.absolute_lifetime,
    )
    .await?;
    if method == "recovery_code" {
        audit::record(
            &mut tenant,
            AuditRecord::new("auth.mfa.recovery_code_used").target("user", auth.user.user_id),
        )
        .await?;
    }
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.sign_in.succeeded")
            .target("session", auth.session_id)
            .detail(serde_json::json!({ "method": method })),
    )
    .await?;
    tenant.commit().await?;
    let (headers, body) = session::grant(&app, issued, auth.via_cookie, None);
    Ok((headers, axum::Json(body)).into_response())
}

/// Confirms the user's identity again (password and TOTP) before a sensitive change.
#[utoipa::path(
    post, path = "/api/v1/auth/reauthenticate", tag = "auth", request_body = ReauthenticateRequest,
    responses((status = 204), (status = 401, description = "invalid_credentials", body = ErrorResponses),
              (status = 429, description = "rate_limited", body = ErrorResponses))
)]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn reauthenticate(
    State(app): State<AppState>,
    signed: Signed,
    Json(req): Json<ReauthenticateRequest>,
) -> Result<axum::http::StatusCode> {
    let now = app.clock.now();
    let mut tenant = signed.tenant(&app).await?;
    let keys = Key::reauthentication(signed.user.user_id).with_address(signed.ctx.source_ip);
    let attempt = Attempt::begin(tenant.conn(), keys, now).await?;
    let stored = sqlx::query_scalar!(
        "select password_hash from user_credential where user_id = $1",
        signed.user.user_id.0
    )
    .fetch_one(tenant.conn())
    .await?;
    let password_ok = password::verify(SecretString::from(req.password), stored).await?;
    let code_ok = password_ok && check_totp(&app, &mut tenant, &signed, &req.code, now).await?;
    if !code_ok {
        return Err(match failed(tenant, &signed, &attempt, now).await {
            Error::InvalidMfaCode => Error::InvalidCredentials,
            other => other,
        });
    }
    attempt.succeeded(tenant.conn()).await?;
    sqlx::query!(
        "update session set reauthenticated_at = $2 where session_id = $1",
        signed.session_id.0,
        now
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.reauthenticated").target("session", signed.session_id),
    )
    .await?;
    tenant.commit().await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Removes the user's second factor and recovery codes, signs out their other sessions and puts
/// this one back into enrolment. Needs a recent re-authentication.
#[utoipa::path(
    post, path = "/api/v1/me/mfa/reset", tag = "account",
    responses((status = 200, body = SessionGrant), (status = 403, description = "reauthentication_required", body = ErrorResponses))
)]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn reset(State(app): State<AppState>, signed: Signed) -> Result<Response> {
    let now = app.clock.now();
    require_recent_reauth(&signed, now)?;
    let mut tenant = signed.tenant(&app).await?;
    let user_id = signed.user.user_id.0;
    // The second-factor throttle is left as it is: a reset is no way round a lock.
    sqlx::query!(
        "update user_credential set totp_secret_sealed = null, totp_enrolled_at = null, totp_last_step = null where user_id = $1",
        user_id
    )
    .execute(tenant.conn())
    .await?;
    recovery_codes::remove_all(&mut tenant, &signed).await?;
    sqlx::query!(
        "update session set revoked_at = $3, revoked_reason = 'mfa_reset'
         where user_id = $1 and session_id <> $2 and revoked_at is null",
        user_id,
        signed.session_id.0,
        now
    )
    .execute(tenant.conn())
    .await?;
    let issued = session::reissue(
        &mut tenant,
        &signed,
        SessionStage::MfaEnrolmentRequired,
        now + MFA_STAGE_LIFETIME,
    )
    .await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.mfa.reset").target("user", signed.user.user_id),
    )
    .await?;
    tenant.announce(Announcement::Control(Control::UserChanged {
        user_id: signed.user.user_id,
    }));
    tenant.commit().await?;
    let (headers, body) = session::grant(&app, issued, signed.via_cookie, None);
    Ok((headers, axum::Json(body)).into_response())
}

/// Replaces the recovery codes (the old ones stop working). Needs a recent re-authentication.
#[utoipa::path(
    post, path = "/api/v1/me/mfa/recovery-codes", tag = "account",
    responses((status = 200, body = Vec<String>), (status = 403, description = "reauthentication_required", body = ErrorResponses))
)]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn regenerate_recovery_codes(
    State(app): State<AppState>,
    signed: Signed,
) -> Result<Json<Vec<String>>> {
    require_recent_reauth(&signed, app.clock.now())?;
    let mut tenant = signed.tenant(&app).await?;
    let codes = recovery_codes::replace(&mut tenant, &signed).await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.mfa.recovery_codes_replaced").target("user", signed.user.user_id),
    )
    .await?;
    tenant.commit().await?;
    Ok(Json(codes))
}

pub(crate) fn require_recent_reauth(auth: &Authenticated, now: OffsetDateTime) -> Result<()> {
    match auth.reauthenticated_at {
        Some(at) if now - at <= REAUTH_VALIDITY => Ok(()),
        _ => Err(Error::ReauthenticationRequired),
    }
}

/// Begins a second-factor attempt, counted against the account across all its sessions and
/// against the source address.
async fn second_factor_attempt(
    tenant: &mut Tenant,
    auth: &Authenticated,
    now: OffsetDateTime,
) -> Result<Attempt> {
    let keys = Key::second_factor(auth.user.user_id).with_address(auth.ctx.source_ip);
    Attempt::begin(tenant.conn(), keys, now).await
}

/// Records a failed code against the attempt's keys and audits it, commits (the attempt changed
/// nothing else), and returns the error to answer. When this failure locks the
/// account, its owner is told: someone who has their password is guessing codes.
async fn failed(
    mut tenant: Tenant,
    auth: &Authenticated,
    attempt: &Attempt,
    now: OffsetDateTime,
) -> Error {
    let result: Result<()> = async {
        let recorded = attempt.failed(tenant.conn(), now).await?;
        audit::record(
            &mut tenant,
            AuditRecord::new("auth.mfa.failed").target("session", auth.session_id),
        )
        .await?;
        if recorded == Recorded::LockTripped {
            alert_locked(&mut tenant, auth, now).await?;
        }
        tenant.commit().await
    }
    .await;
    match result {
        Ok(()) => Error::InvalidMfaCode,
        Err(err) => err,
    }
}

/// Raises the security alert for a second-factor lock, and audits the lock.
async fn alert_locked(
    tenant: &mut Tenant,
    auth: &Authenticated,
    now: OffsetDateTime,
) -> Result<()> {
    let detail = AlertDetail::MfaLocked {
        source_ip: auth.ctx.source_ip.map(|ip| ip.to_string()),
    };
    alerts::raise(tenant, auth.user.user_id, detail, now).await?;
    audit::record(
        tenant,
        AuditRecord::new("auth.mfa.locked").target("user", auth.user.user_id),
    )
    .await
}

/// Checks a TOTP code against the user's enrolled secret, consuming its time step.
async fn check_totp(
    app: &AppState,
    tenant: &mut Tenant,
    auth: &Authenticated,
    code: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    let row = sqlx::query!(
        "select totp_secret_sealed, totp_last_step from user_credential where user_id = $1",
        auth.user.user_id.0
    )
    .fetch_one(tenant.conn())
    .await?;
    let Some(sealed) = row.totp_secret_sealed else {
        return Ok(false);
    };
    let secret = app
        .keyring
        .open(Purpose::TotpSecret, auth.user.user_id.0.as_bytes(), &sealed)?;
    let Some(step) = totp::verify(&secret, code, now, row.totp_last_step) else {
        return Ok(false);
    };
    // Conditional on the step still being unused, so two concurrent uses of one code cannot both win.
    let consumed = sqlx::query!(
        "update user_credential set totp_last_step = $2
         where user_id = $1 and (totp_last_step is null or totp_last_step < $2)",
        auth.user.user_id.0,
        step
    )
    .execute(tenant.conn())
    .await?;
    Ok(consumed.rows_affected() == 1)
}
