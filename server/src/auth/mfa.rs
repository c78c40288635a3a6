//! The second factor: TOTP enrolment (mandatory on first sign-in), verification, recovery codes,
//! re-authentication before sensitive changes, and resetting MFA.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use docket_protocol::auth::{
    MfaCode, MfaEnrolled, MfaEnrolment, MfaVerifyRequest, ReauthenticateRequest, SessionGrant,
    SessionStage,
};
use rand::Rng;
use secrecy::SecretString;
use time::{Duration, OffsetDateTime};

use super::session::{self, Authenticated, MFA_STAGE_LIFETIME};
use super::{password, throttle, token, totp, Signed};
use crate::audit::{self, AuditRecord};
use crate::channels::Control;
use crate::db::Tenant;
use crate::error::Json;
use crate::keyring::Purpose;
use crate::startup::AppState;
use crate::{Error, Result};

/// How recent a re-authentication must be for a sensitive change.
pub const REAUTH_VALIDITY: Duration = Duration::minutes(5);
const RECOVERY_CODES: usize = 10;
/// Recovery codes use an alphabet without look-alikes (no 0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

type ErrorResponses = docket_protocol::error::ErrorBody;

/// Starts TOTP enrolment: a new secret, held on the session until confirmed.
#[utoipa::path(
    post, path = "/api/v1/auth/mfa/enrolment", tag = "auth",
    responses((status = 200, body = MfaEnrolment), (status = 409, body = ErrorResponses))
)]
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
    check_throttle(&app, &auth, now).await?;
    let mut tenant = auth.tenant(&app).await?;
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
        drop(tenant);
        return Err(failed(&app, &auth, now).await);
    };
    sqlx::query!(
        "update user_account set totp_secret_sealed = $2, totp_enrolled_at = $3, totp_last_step = $4 where user_id = $1",
        auth.user.user_id.0,
        sealed,
        now,
        step
    )
    .execute(tenant.conn())
    .await?;
    let recovery_codes = replace_recovery_codes(&mut tenant, &auth).await?;
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
    check_throttle(&app, &auth, now).await?;
    let mut tenant = auth.tenant(&app).await?;
    let method = match (req.code.as_deref(), req.recovery_code.as_deref()) {
        (Some(code), None) => check_totp(&app, &mut tenant, &auth, code, now)
            .await?
            .then_some("totp"),
        (None, Some(code)) => use_recovery_code(&mut tenant, &auth, code, now)
            .await?
            .then_some("recovery_code"),
        _ => {
            return Err(Error::InvalidInput(
                "Send either a code or a recovery code.".into(),
            ))
        }
    };
    let Some(method) = method else {
        drop(tenant);
        return Err(failed(&app, &auth, now).await);
    };
    throttle::clear(tenant.conn(), &throttle::account_key(&auth.user.email)).await?;
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
pub async fn reauthenticate(
    State(app): State<AppState>,
    signed: Signed,
    Json(req): Json<ReauthenticateRequest>,
) -> Result<axum::http::StatusCode> {
    let now = app.clock.now();
    check_throttle(&app, &signed, now).await?;
    let mut tenant = signed.tenant(&app).await?;
    let stored = sqlx::query_scalar!(
        "select password_hash from user_account where user_id = $1",
        signed.user.user_id.0
    )
    .fetch_one(tenant.conn())
    .await?;
    let password_ok = password::verify(SecretString::from(req.password), stored).await?;
    let code_ok = password_ok && check_totp(&app, &mut tenant, &signed, &req.code, now).await?;
    if !code_ok {
        drop(tenant);
        return Err(match failed(&app, &signed, now).await {
            Error::InvalidMfaCode => Error::InvalidCredentials,
            other => other,
        });
    }
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
pub async fn reset(State(app): State<AppState>, signed: Signed) -> Result<Response> {
    let now = app.clock.now();
    require_recent_reauth(&signed, now)?;
    let mut tenant = signed.tenant(&app).await?;
    let user_id = signed.user.user_id.0;
    sqlx::query!(
        "update user_account set totp_secret_sealed = null, totp_enrolled_at = null, totp_last_step = null where user_id = $1",
        user_id
    )
    .execute(tenant.conn())
    .await?;
    sqlx::query!("delete from recovery_code where user_id = $1", user_id)
        .execute(tenant.conn())
        .await?;
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
    tenant.commit().await?;
    app.channels
        .hub
        .control(Control::UserChanged {
            user_id: signed.user.user_id,
        })
        .await;
    let (headers, body) = session::grant(&app, issued, signed.via_cookie, None);
    Ok((headers, axum::Json(body)).into_response())
}

/// Replaces the recovery codes (the old ones stop working). Needs a recent re-authentication.
#[utoipa::path(
    post, path = "/api/v1/me/mfa/recovery-codes", tag = "account",
    responses((status = 200, body = Vec<String>), (status = 403, description = "reauthentication_required", body = ErrorResponses))
)]
pub async fn regenerate_recovery_codes(
    State(app): State<AppState>,
    signed: Signed,
) -> Result<Json<Vec<String>>> {
    require_recent_reauth(&signed, app.clock.now())?;
    let mut tenant = signed.tenant(&app).await?;
    let codes = replace_recovery_codes(&mut tenant, &signed).await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.mfa.recovery_codes_replaced").target("user", signed.user.user_id),
    )
    .await?;
    tenant.commit().await?;
    Ok(Json(codes))
}

fn require_recent_reauth(auth: &Authenticated, now: OffsetDateTime) -> Result<()> {
    match auth.reauthenticated_at {
        Some(at) if now - at <= REAUTH_VALIDITY => Ok(()),
        _ => Err(Error::ReauthenticationRequired),
    }
}

async fn check_throttle(app: &AppState, auth: &Authenticated, now: OffsetDateTime) -> Result<()> {
    throttle::check(
        &mut *app.pool.acquire().await?,
        &[throttle::account_key(&auth.user.email)],
        now,
    )
    .await
}

/// Records a failed code (throttle and audit, committed on their own) and returns the error.
async fn failed(app: &AppState, auth: &Authenticated, now: OffsetDateTime) -> Error {
    let result: Result<()> = async {
        let mut tenant = auth.tenant(app).await?;
        throttle::record_failure(
            tenant.conn(),
            &throttle::account_key(&auth.user.email),
            throttle::ACCOUNT_LIMIT,
            now,
        )
        .await?;
        audit::record(
            &mut tenant,
            AuditRecord::new("auth.mfa.failed").target("session", auth.session_id),
        )
        .await?;
        tenant.commit().await
    }
    .await;
    match result {
        Ok(()) => Error::InvalidMfaCode,
        Err(err) => err,
    }
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
        "select totp_secret_sealed, totp_last_step from user_account where user_id = $1",
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
        "update user_account set totp_last_step = $2
         where user_id = $1 and (totp_last_step is null or totp_last_step < $2)",
        auth.user.user_id.0,
        step
    )
    .execute(tenant.conn())
    .await?;
    Ok(consumed.rows_affected() == 1)
}

async fn use_recovery_code(
    tenant: &mut Tenant,
    auth: &Authenticated,
    code: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    let used = sqlx::query!(
        "update recovery_code set used_at = $3 where user_id = $1 and code_hash = $2 and used_at is null",
        auth.user.user_id.0,
        token::digest(&normalize_recovery_code(code)),
        now
    )
    .execute(tenant.conn())
    .await?;
    Ok(used.rows_affected() == 1)
}

async fn replace_recovery_codes(tenant: &mut Tenant, auth: &Authenticated) -> Result<Vec<String>> {
    let user_id = auth.user.user_id.0;
    sqlx::query!("delete from recovery_code where user_id = $1", user_id)
        .execute(tenant.conn())
        .await?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .map(|c| token::digest(&normalize_recovery_code(c)))
        .collect();
    sqlx::query!(
        "insert into recovery_code (user_id, code_hash) select $1, unnest($2::bytea[])",
        user_id,
        &hashes
    )
    .execute(tenant.conn())
    .await?;
    Ok(codes)
}

/// Twelve characters from a 31-letter alphabet (about 59 bits), shown as `xxxx-xxxx-xxxx`.
fn new_recovery_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..12)
        .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_grouped_and_normalise() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 14);
        assert_eq!(
            normalize_recovery_code(&code.to_uppercase()),
            code.replace('-', "")
        );
    }
}
