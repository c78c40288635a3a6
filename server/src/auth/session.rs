//! The session lifecycle: opening a session, re-issuing its token on a change of privilege,
//! handing the grant to the caller (cookies or tokens), and revoking or ending it.
//!
//! The server enforces both limits on every request (in [`super::extract`]): the idle timeout (no
//! request for `idle_timeout`) and the absolute lifetime. A session in an MFA stage lives at most
//! [`MFA_STAGE_LIFETIME`] and can do nothing but complete MFA.

use axum::http::{header, HeaderMap};
use docket_protocol::auth::{SessionGrant, SessionStage};
use docket_protocol::ids::{DeviceId, SessionId, UserId};
use time::{Duration, OffsetDateTime};

use super::extract::{Authenticated, ClientMeta};
use super::{cookies, token};
use crate::audit::{self, AuditRecord};
use crate::db::Tenant;
use crate::outbox::{Announcement, Control};
use crate::startup::AppState;
use crate::Result;

/// How long a password-only session may take to complete MFA.
pub const MFA_STAGE_LIFETIME: Duration = Duration::minutes(10);

/// Marks one of the tenant actor's sessions revoked (RLS admits only their own), and announces it
/// to the session's open sockets for after the commit; returns whether a live session was revoked.
pub async fn revoke(
    tenant: &mut Tenant,
    session_id: SessionId,
    now: OffsetDateTime,
    reason: &str,
) -> Result<bool> {
    let revoked = sqlx::query!(
        "update session set revoked_at = $2, revoked_reason = $3 where session_id = $1 and revoked_at is null",
        session_id.0,
        now,
        reason
    )
    .execute(tenant.conn())
    .await?;
    let live = revoked.rows_affected() == 1;
    if live {
        tenant.announce(Announcement::Control(Control::SessionEnded { session_id }));
    }
    Ok(live)
}

/// Revokes a session that has run out, audits why, and closes its open sockets.
pub async fn end(app: &AppState, auth: &Authenticated, reason: &'static str) -> Result<()> {
    let mut tenant = auth.tenant(app).await?;
    revoke(&mut tenant, auth.session_id, app.clock.now(), reason).await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.session.expired")
            .target("session", auth.session_id)
            .detail(serde_json::json!({ "reason": reason })),
    )
    .await?;
    tenant.commit().await?;
    Ok(())
}

/// A freshly issued session token and its CSRF token.
#[derive(Debug)]
pub struct Issued {
    pub stage: SessionStage,
    pub token: String,
    pub csrf: String,
    pub expires_at: OffsetDateTime,
}

/// Opens a session for `user_id` on `device_id` at `stage`.
pub async fn open(
    tenant: &mut Tenant,
    user_id: UserId,
    device_id: DeviceId,
    stage: SessionStage,
    now: OffsetDateTime,
    meta: &ClientMeta,
) -> Result<(SessionId, Issued)> {
    let session_id = SessionId::new();
    let issued = Issued {
        stage,
        token: token::new_token(),
        csrf: token::new_token(),
        expires_at: now + MFA_STAGE_LIFETIME,
    };
    sqlx::query!(
        "insert into session (session_id, user_id, device_id, token_hash, csrf_hash, stage, created_at,
                              last_seen_at, expires_at, source_ip, user_agent)
         values ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9::text::inet, $10)",
        session_id.0,
        user_id.0,
        device_id.0,
        token::digest(&issued.token),
        token::digest(&issued.csrf),
        stage.as_str(),
        now,
        issued.expires_at,
        meta.ip.map(|ip| ip.to_string()),
        meta.user_agent,
    )
    .execute(tenant.conn())
    .await?;
    Ok((session_id, issued))
}

/// Moves a session to `stage` under a new token (and CSRF token), so whatever token was seen
/// before the change of privilege is worthless after it.
pub async fn reissue(
    tenant: &mut Tenant,
    auth: &Authenticated,
    stage: SessionStage,
    expires_at: OffsetDateTime,
) -> Result<Issued> {
    let issued = Issued {
        stage,
        token: token::new_token(),
        csrf: token::new_token(),
        expires_at,
    };
    sqlx::query!(
        "update session set token_hash = $2, csrf_hash = $3, stage = $4, expires_at = $5, pending_totp_sealed = null
         where session_id = $1",
        auth.session_id.0,
        token::digest(&issued.token),
        token::digest(&issued.csrf),
        stage.as_str(),
        expires_at,
    )
    .execute(tenant.conn())
    .await?;
    Ok(issued)
}

/// The answer carrying an issued session: cookies for browsers, tokens in the body otherwise.
pub fn grant(
    app: &AppState,
    issued: Issued,
    via_cookie: bool,
    new_device_token: Option<String>,
) -> (HeaderMap, SessionGrant) {
    let mut headers = HeaderMap::new();
    let idle_timeout_seconds = app.config.idle_timeout.whole_seconds().max(0) as u64;
    let body = if via_cookie {
        cookies::set_session(
            &mut headers,
            &issued.token,
            &issued.csrf,
            app.config.cookie_secure,
        );
        if let Some(device) = &new_device_token {
            cookies::set_device(&mut headers, device, app.config.cookie_secure);
        }
        SessionGrant {
            stage: issued.stage,
            token: None,
            device_token: None,
            csrf_token: Some(issued.csrf),
            expires_at: issued.expires_at,
            idle_timeout_seconds,
        }
    } else {
        SessionGrant {
            stage: issued.stage,
            token: Some(issued.token),
            device_token: new_device_token,
            csrf_token: None,
            expires_at: issued.expires_at,
            idle_timeout_seconds,
        }
    };
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    (headers, body)
}
