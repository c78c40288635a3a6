//! The signed-in user's own account: the current session, signing out, and listing and revoking
//! sessions and devices, and alerts.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use docket_protocol::auth::{Alert, AlertDetail, CurrentSession, DeviceInfo, SessionInfo};
use docket_protocol::ids::{AlertId, DeviceId, SessionId};

use super::{cookies, session, Authenticated, Signed};
use crate::audit::{self, AuditRecord};
use crate::error::{Json, Path};
use crate::outbox::{Announcement, Control};
use crate::startup::AppState;
use crate::{Error, Result};

type ErrorResponses = docket_protocol::error::ErrorBody;

/// Who is signed in, at what stage.
#[utoipa::path(get, path = "/api/v1/auth/session", tag = "auth",
    responses((status = 200, body = CurrentSession), (status = 401, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %auth.user.user_id))]
pub async fn current_session(
    State(app): State<AppState>,
    auth: Authenticated,
) -> Json<CurrentSession> {
    Json(CurrentSession {
        session_id: auth.session_id,
        device_id: auth.device_id,
        stage: auth.stage,
        user: auth.user,
        expires_at: auth.expires_at,
        idle_timeout_seconds: app.config.idle_timeout.whole_seconds().max(0) as u64,
    })
}

/// Ends the current session.
#[utoipa::path(post, path = "/api/v1/auth/sign-out", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %auth.user.user_id))]
pub async fn sign_out(
    State(app): State<AppState>,
    auth: Authenticated,
) -> Result<(StatusCode, HeaderMap)> {
    let mut tenant = auth.tenant(&app).await?;
    session::revoke(&mut tenant, auth.session_id, app.clock.now(), "signed_out").await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.signed_out").target("session", auth.session_id),
    )
    .await?;
    tenant.commit().await?;
    let mut headers = HeaderMap::new();
    if auth.via_cookie {
        cookies::clear_session(&mut headers, app.config.cookie_secure);
    }
    Ok((StatusCode::NO_CONTENT, headers))
}

/// The user's live sessions, newest first.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "account",
    responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn list_sessions(
    State(app): State<AppState>,
    signed: Signed,
) -> Result<Json<Vec<SessionInfo>>> {
    let mut tenant = signed.tenant(&app).await?;
    let rows = sqlx::query!(
        r#"select s.session_id, s.device_id, d.label, host(s.source_ip) as source_ip, s.created_at,
                  s.last_seen_at, s.expires_at
           from session s join device d using (device_id)
           where s.revoked_at is null and s.expires_at > $1
           order by s.created_at desc"#,
        app.clock.now()
    )
    .fetch_all(tenant.conn())
    .await?;
    tenant.commit().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| SessionInfo {
                session_id: r.session_id.into(),
                device_id: r.device_id.into(),
                device_label: r.label,
                source_ip: r.source_ip,
                created_at: r.created_at,
                last_seen_at: r.last_seen_at,
                expires_at: r.expires_at,
                current: r.session_id == signed.session_id.0,
            })
            .collect(),
    ))
}

/// Ends one of the user's sessions. Another user's session id is simply not found.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{session_id}", tag = "account",
    params(("session_id" = SessionId, Path)),
    responses((status = 204), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn revoke_session(
    State(app): State<AppState>,
    signed: Signed,
    Path(session_id): Path<SessionId>,
) -> Result<StatusCode> {
    let mut tenant = signed.tenant(&app).await?;
    if !session::revoke(&mut tenant, session_id, app.clock.now(), "revoked_by_user").await? {
        return Err(Error::NotFound);
    }
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.session.revoked").target("session", session_id),
    )
    .await?;
    tenant.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The devices the user has signed in from.
#[utoipa::path(get, path = "/api/v1/me/devices", tag = "account",
    responses((status = 200, body = Vec<DeviceInfo>), (status = 401, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn list_devices(
    State(app): State<AppState>,
    signed: Signed,
) -> Result<Json<Vec<DeviceInfo>>> {
    let mut tenant = signed.tenant(&app).await?;
    let rows = sqlx::query!(
        "select device_id, label, first_seen_at, last_seen_at from device where revoked_at is null order by last_seen_at desc"
    )
    .fetch_all(tenant.conn())
    .await?;
    tenant.commit().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| DeviceInfo {
                device_id: r.device_id.into(),
                label: r.label,
                first_seen_at: r.first_seen_at,
                last_seen_at: r.last_seen_at,
                current: r.device_id == signed.device_id.0,
            })
            .collect(),
    ))
}

/// Forgets a device and ends every session on it.
#[utoipa::path(delete, path = "/api/v1/me/devices/{device_id}", tag = "account",
    params(("device_id" = DeviceId, Path)),
    responses((status = 204), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn revoke_device(
    State(app): State<AppState>,
    signed: Signed,
    Path(device_id): Path<DeviceId>,
) -> Result<StatusCode> {
    let now = app.clock.now();
    let mut tenant = signed.tenant(&app).await?;
    let revoked = sqlx::query!(
        "update device set revoked_at = $2 where device_id = $1 and revoked_at is null",
        device_id.0,
        now
    )
    .execute(tenant.conn())
    .await?;
    if revoked.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    sqlx::query!(
        "update session set revoked_at = $2, revoked_reason = 'device_revoked' where device_id = $1 and revoked_at is null",
        device_id.0,
        now
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.device.revoked").target("device", device_id),
    )
    .await?;
    tenant.announce(Announcement::Control(Control::UserChanged {
        user_id: signed.user.user_id,
    }));
    tenant.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user's alerts, newest first.
#[utoipa::path(get, path = "/api/v1/me/alerts", tag = "account",
    responses((status = 200, body = Vec<Alert>), (status = 401, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn list_alerts(State(app): State<AppState>, signed: Signed) -> Result<Json<Vec<Alert>>> {
    let mut tenant = signed.tenant(&app).await?;
    let rows = sqlx::query!("select alert_id, body, created_at, read_at from user_alert order by created_at desc limit 100")
        .fetch_all(tenant.conn())
        .await?;
    tenant.commit().await?;
    let alerts = rows
        .into_iter()
        .map(|r| {
            Ok(Alert {
                alert_id: r.alert_id.into(),
                created_at: r.created_at,
                read: r.read_at.is_some(),
                detail: serde_json::from_value::<AlertDetail>(r.body)
                    .map_err(anyhow::Error::from)?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Json(alerts))
}

/// Marks one of the user's alerts read. Audited with its kind, so dismissing a security alert (a
/// new device's own session, say) is never silent; the e-mail that went with it is out already.
#[utoipa::path(post, path = "/api/v1/me/alerts/{alert_id}/read", tag = "account",
    params(("alert_id" = AlertId, Path)),
    responses((status = 204), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, alert_id = %alert_id))]
pub async fn mark_alert_read(
    State(app): State<AppState>,
    signed: Signed,
    Path(alert_id): Path<AlertId>,
) -> Result<StatusCode> {
    let mut tenant = signed.tenant(&app).await?;
    let kind = sqlx::query_scalar!(
        "update user_alert set read_at = coalesce(read_at, $2) where alert_id = $1 and user_id = $3
         returning kind",
        alert_id.0,
        app.clock.now(),
        signed.user.user_id.0,
    )
    .fetch_optional(tenant.conn())
    .await?
    .ok_or(Error::NotFound)?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.alert.read")
            .target("alert", alert_id)
            .detail(serde_json::json!({ "kind": kind })),
    )
    .await?;
    tenant.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
