//! The notification settings API: a user's preference grid, time zone, quiet hours and digest
//! hour; this device's Web Push subscription; and the firm's defaults per practice area.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use data_encoding::BASE64URL_NOPAD;
use docket_protocol::directory::FirmRole;
use docket_protocol::ids::PracticeAreaId;
use docket_protocol::notifications::{
    Audience, Frequency, NoticeChannel, NoticeKind, NotificationDefault, NotificationSettings,
    PracticeAreaNotifications, PracticeAreaNotificationsView, Preference, PushState,
    PushSubscriptionRequest, QuietHours, UpdateNotificationSettings,
};
use serde_json::json;
use sqlx::PgConnection;

use super::prefs::{self, Choices};
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::error::{Json, Path};
use crate::startup::AppState;
use crate::{Error, Result};

type ErrorResponses = docket_protocol::error::ErrorBody;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/notifications", get(settings).patch(update_settings))
        .route(
            "/me/push-subscription",
            axum::routing::put(subscribe).delete(unsubscribe),
        )
        .route(
            "/practice-areas/{practice_area_id}/notifications",
            get(area_defaults).put(set_area_defaults),
        )
}

/// The signed-in user's notification settings, and this device's push state.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notifications",
    responses((status = 200, body = NotificationSettings), (status = 401, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn settings(
    State(app): State<AppState>,
    signed: Signed,
) -> Result<Json<NotificationSettings>> {
    let mut tenant = signed.tenant(&app).await?;
    let view = view(tenant.conn(), &app, &signed).await?;
    tenant.commit().await?;
    Ok(Json(view))
}

async fn view(
    conn: &mut PgConnection,
    app: &AppState,
    signed: &Signed,
) -> Result<NotificationSettings> {
    let user = signed.user.user_id.0;
    let is_firm = signed.actor.firm_role().is_some();
    let choices = Choices::load(&mut *conn, user, is_firm, None).await?;
    let preferences = NoticeKind::ALL
        .into_iter()
        .filter(|k| prefs::applies(*k, is_firm))
        .flat_map(|kind| {
            NoticeChannel::ALL
                .into_iter()
                .map(move |channel| (kind, channel))
        })
        .map(|(kind, channel)| {
            let (frequency, source) = choices.resolve(kind, is_firm, channel);
            Preference {
                kind,
                channel,
                frequency,
                source,
            }
        })
        .collect();
    let schedule = sqlx::query!(
        "select time_zone, to_char(quiet_start, 'HH24:MI') as quiet_start,
                to_char(quiet_end, 'HH24:MI') as quiet_end, digest_hour
         from notification_schedule where user_id = $1",
        user
    )
    .fetch_optional(&mut *conn)
    .await?;
    let subscribed = sqlx::query_scalar!(
        r#"select exists (select 1 from push_subscription where device_id = $1) as "exists!""#,
        signed.device_id.0
    )
    .fetch_one(&mut *conn)
    .await?;
    let (time_zone, quiet_hours, digest_hour) = match schedule {
        Some(s) => (
            s.time_zone,
            match (s.quiet_start, s.quiet_end) {
                (Some(start), Some(end)) => Some(QuietHours { start, end }),
                _ => None,
            },
            s.digest_hour as u8,
        ),
        None => ("Europe/London".to_owned(), None, 8),
    };
    Ok(NotificationSettings {
        preferences,
        time_zone,
        quiet_hours,
        quiet_hours_allowed: is_firm,
        digest_hour,
        push: PushState {
            vapid_public_key: app
                .channels
                .notifier
                .pusher
                .vapid()
                .map(|v| v.public_key().to_owned()),
            subscribed,
        },
    })
}

/// Changes the user's notification settings; audited (what changed, never a device's keys).
#[utoipa::path(patch, path = "/api/v1/me/notifications", tag = "notifications",
    request_body = UpdateNotificationSettings,
    responses((status = 200, body = NotificationSettings), (status = 400, body = ErrorResponses),
              (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn update_settings(
    State(app): State<AppState>,
    signed: Signed,
    Json(req): Json<UpdateNotificationSettings>,
) -> Result<Json<NotificationSettings>> {
    let user = signed.user.user_id.0;
    let is_firm = signed.actor.firm_role().is_some();
    let changes = req.preferences.clone().unwrap_or_default();
    if changes.len() > 64 {
        return Err(Error::InvalidInput("At most 64 changes at once.".into()));
    }
    for change in &changes {
        if !change.kind.tunable() || !prefs::applies(change.kind, is_firm) {
            return Err(Error::InvalidInput(format!(
                "Notices of kind {} cannot be changed here.",
                change.kind.as_str()
            )));
        }
        if prefs::fixed(change.kind, change.channel).is_some() {
            return Err(Error::InvalidInput(format!(
                "{} notices always appear {}.",
                change.kind.as_str(),
                change.channel.as_str()
            )));
        }
        if change.frequency == Some(Frequency::Digest) && change.channel != NoticeChannel::Email {
            return Err(Error::InvalidInput(
                "Only e-mail can come as a daily digest.".into(),
            ));
        }
    }
    if req.quiet_hours.is_some() && !is_firm {
        return Err(Error::InvalidInput(
            "Quiet hours are for firm users.".into(),
        ));
    }
    if let Some(q) = &req.quiet_hours {
        match (super::parse_hhmm(&q.start), super::parse_hhmm(&q.end)) {
            (Some(a), Some(b)) if a != b => {}
            _ => {
                return Err(Error::InvalidInput(
                    "Quiet hours are two different times, HH:MM.".into(),
                ))
            }
        }
    }
    if req.digest_hour.is_some_and(|h| h > 23) {
        return Err(Error::InvalidInput("The digest hour is 0 to 23.".into()));
    }

    let mut tenant = signed.tenant(&app).await?;
    if let Some(tz) = &req.time_zone {
        // Names are ASCII letters, digits and `_+-/`; anything else is not worth asking about.
        let plausible = !tz.is_empty()
            && tz.len() <= 64
            && tz
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+-/".contains(c));
        if !plausible {
            return Err(Error::InvalidInput(
                "That is not a time zone (e.g. Europe/London).".into(),
            ));
        }
        let known = sqlx::query_scalar!(
            r#"select exists (select 1 from pg_timezone_names where name = $1) as "known!""#,
            tz
        )
        .fetch_one(tenant.conn())
        .await?;
        if !known {
            return Err(Error::InvalidInput(
                "That is not a time zone (e.g. Europe/London).".into(),
            ));
        }
    }
    for change in &changes {
        match change.frequency {
            Some(f) => sqlx::query!(
                "insert into notification_preference (user_id, kind, channel, frequency, updated_at)
                 values ($1, $2, $3, $4, now())
                 on conflict (user_id, kind, channel) do update set frequency = excluded.frequency,
                     updated_at = excluded.updated_at",
                user,
                change.kind.as_str(),
                change.channel.as_str(),
                f.as_str(),
            )
            .execute(tenant.conn())
            .await?,
            None => sqlx::query!(
                "delete from notification_preference where user_id = $1 and kind = $2 and channel = $3",
                user,
                change.kind.as_str(),
                change.channel.as_str(),
            )
            .execute(tenant.conn())
            .await?,
        };
    }
    let schedule_changes = req.time_zone.is_some()
        || req.quiet_hours.is_some()
        || req.clear_quiet_hours == Some(true)
        || req.digest_hour.is_some();
    if schedule_changes {
        let (start, end) = match (&req.quiet_hours, req.clear_quiet_hours) {
            (Some(q), _) => (Some(q.start.clone()), Some(q.end.clone())),
            _ => (None, None),
        };
        sqlx::query!(
            "insert into notification_schedule (user_id, time_zone, quiet_start, quiet_end, digest_hour)
             values ($1, coalesce($2, 'Europe/London'), $3::text::time, $4::text::time, coalesce($5, 8))
             on conflict (user_id) do update set
                 time_zone = coalesce($2, notification_schedule.time_zone),
                 quiet_start = case when $6 then null when $3 is not null then $3::text::time
                                    else notification_schedule.quiet_start end,
                 quiet_end = case when $6 then null when $4 is not null then $4::text::time
                                  else notification_schedule.quiet_end end,
                 digest_hour = coalesce($5, notification_schedule.digest_hour),
                 updated_at = now()",
            user,
            req.time_zone,
            start,
            end,
            req.digest_hour.map(i32::from),
            req.clear_quiet_hours == Some(true) && req.quiet_hours.is_none(),
        )
        .execute(tenant.conn())
        .await?;
    }
    audit::record(
        &mut tenant,
        AuditRecord::new("notifications.settings_changed").detail(json!({
            "preferences": changes,
            "time_zone": req.time_zone,
            "quiet_hours": req.quiet_hours,
            "clear_quiet_hours": req.clear_quiet_hours,
            "digest_hour": req.digest_hour,
        })),
    )
    .await?;
    let view = view(tenant.conn(), &app, &signed).await?;
    tenant.commit().await?;
    Ok(Json(view))
}

/// Enables Web Push on this device (replacing its earlier subscription); audited.
#[utoipa::path(put, path = "/api/v1/me/push-subscription", tag = "notifications",
    request_body = PushSubscriptionRequest,
    responses((status = 204), (status = 400, body = ErrorResponses), (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn subscribe(
    State(app): State<AppState>,
    signed: Signed,
    Json(req): Json<PushSubscriptionRequest>,
) -> Result<StatusCode> {
    if app.channels.notifier.pusher.vapid().is_none() {
        return Err(Error::Unavailable(
            "Push notifications are not available on this server now.",
        ));
    }
    if req.endpoint.len() > 2048 || !app.channels.notifier.pusher.allows(&req.endpoint) {
        return Err(Error::InvalidInput(
            "That endpoint is not a push service Docket sends to.".into(),
        ));
    }
    let p256dh = BASE64URL_NOPAD
        .decode(req.keys.p256dh.trim_end_matches('=').as_bytes())
        .ok()
        .filter(|k| k.len() == 65 && k[0] == 4)
        .ok_or_else(|| Error::InvalidInput("keys.p256dh is not a P-256 public key.".into()))?;
    let auth = BASE64URL_NOPAD
        .decode(req.keys.auth.trim_end_matches('=').as_bytes())
        .ok()
        .filter(|k| k.len() == 16)
        .ok_or_else(|| Error::InvalidInput("keys.auth is not a 16-byte secret.".into()))?;
    let mut tenant = signed.tenant(&app).await?;
    sqlx::query!(
        "insert into push_subscription (device_id, user_id, endpoint, p256dh, auth)
         values ($1, $2, $3, $4, $5)
         on conflict (device_id) do update set endpoint = excluded.endpoint, p256dh = excluded.p256dh,
             auth = excluded.auth, created_at = now()",
        signed.device_id.0,
        signed.user.user_id.0,
        req.endpoint,
        p256dh,
        auth,
    )
    .execute(tenant.conn())
    .await?;
    let service = url::Url::parse(&req.endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    audit::record(
        &mut tenant,
        AuditRecord::new("notifications.push_enabled")
            .target("device", signed.device_id)
            .detail(json!({ "push_service": service })),
    )
    .await?;
    tenant.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns Web Push off on this device; audited.
#[utoipa::path(delete, path = "/api/v1/me/push-subscription", tag = "notifications",
    responses((status = 204), (status = 401, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn unsubscribe(State(app): State<AppState>, signed: Signed) -> Result<StatusCode> {
    let mut tenant = signed.tenant(&app).await?;
    let removed = sqlx::query!(
        "delete from push_subscription where device_id = $1",
        signed.device_id.0
    )
    .execute(tenant.conn())
    .await?
    .rows_affected();
    if removed > 0 {
        audit::record(
            &mut tenant,
            AuditRecord::new("notifications.push_disabled").target("device", signed.device_id),
        )
        .await?;
    }
    tenant.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A practice area's notification defaults and escalation (firm users).
#[utoipa::path(get, path = "/api/v1/practice-areas/{practice_area_id}/notifications", tag = "notifications",
    params(("practice_area_id" = PracticeAreaId, Path)),
    responses((status = 200, body = PracticeAreaNotificationsView), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn area_defaults(
    State(app): State<AppState>,
    signed: Signed,
    Path(practice_area_id): Path<PracticeAreaId>,
) -> Result<Json<PracticeAreaNotificationsView>> {
    if signed.actor.firm_role().is_none() {
        return Err(Error::Forbidden);
    }
    let mut tenant = signed.tenant(&app).await?;
    let view = area_view(tenant.conn(), practice_area_id).await?;
    tenant.commit().await?;
    Ok(Json(view))
}

async fn area_view(
    conn: &mut PgConnection,
    practice_area_id: PracticeAreaId,
) -> Result<PracticeAreaNotificationsView> {
    let hours = sqlx::query_scalar!(
        "select escalation_working_hours from practice_area where practice_area_id = $1",
        practice_area_id.0
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound)?;
    let defaults = sqlx::query!(
        "select audience, kind, channel, frequency from practice_area_notification_default
         where practice_area_id = $1 order by audience, kind, channel",
        practice_area_id.0
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .filter_map(|r| {
        Some(NotificationDefault {
            audience: if r.audience == "firm" {
                Audience::Firm
            } else {
                Audience::Client
            },
            kind: NoticeKind::parse(&r.kind)?,
            channel: NoticeChannel::parse(&r.channel)?,
            frequency: Frequency::parse(&r.frequency),
        })
    })
    .collect();
    Ok(PracticeAreaNotificationsView {
        practice_area_id,
        defaults,
        escalation_working_hours: hours.map(|h| h as u32),
    })
}

/// Sets a practice area's notification defaults and escalation (firm admins and partners);
/// audited.
#[utoipa::path(put, path = "/api/v1/practice-areas/{practice_area_id}/notifications", tag = "notifications",
    params(("practice_area_id" = PracticeAreaId, Path)), request_body = PracticeAreaNotifications,
    responses((status = 200, body = PracticeAreaNotificationsView), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn set_area_defaults(
    State(app): State<AppState>,
    signed: Signed,
    Path(practice_area_id): Path<PracticeAreaId>,
    Json(req): Json<PracticeAreaNotifications>,
) -> Result<Json<PracticeAreaNotificationsView>> {
    if !matches!(
        signed.actor.firm_role(),
        Some(FirmRole::Admin | FirmRole::Partner)
    ) {
        return Err(Error::Forbidden);
    }
    if req.defaults.len() > 64 {
        return Err(Error::InvalidInput("At most 64 defaults at once.".into()));
    }
    for d in &req.defaults {
        let is_firm = d.audience == Audience::Firm;
        if !d.kind.tunable()
            || !prefs::applies(d.kind, is_firm)
            || prefs::fixed(d.kind, d.channel).is_some()
        {
            return Err(Error::InvalidInput(format!(
                "{} notices to {} users have no default to set on {}.",
                d.kind.as_str(),
                d.audience.as_str(),
                d.channel.as_str()
            )));
        }
        if d.frequency == Some(Frequency::Digest) && d.channel != NoticeChannel::Email {
            return Err(Error::InvalidInput(
                "Only e-mail can come as a daily digest.".into(),
            ));
        }
    }
    if req
        .escalation_working_hours
        .is_some_and(|h| !(1..=400).contains(&h))
    {
        return Err(Error::InvalidInput(
            "Escalation is after 1 to 400 working hours.".into(),
        ));
    }
    let mut tenant = signed.tenant(&app).await?;
    let found = sqlx::query_scalar!(
        r#"select practice_area_set_escalation($1, $2) as "found!""#,
        practice_area_id.0,
        req.escalation_working_hours.map(|h| h as i32),
    )
    .fetch_one(tenant.conn())
    .await?;
    if !found {
        return Err(Error::NotFound);
    }
    for d in &req.defaults {
        sqlx::query!(
            "select practice_area_set_notification_default($1, $2, $3, $4, $5)",
            practice_area_id.0,
            d.audience.as_str(),
            d.kind.as_str(),
            d.channel.as_str(),
            d.frequency.map(Frequency::as_str),
        )
        .execute(tenant.conn())
        .await?;
    }
    audit::record(
        &mut tenant,
        AuditRecord::new("practice_area.notifications_set")
            .target("practice_area", practice_area_id)
            .detail(json!({
                "defaults": req.defaults,
                "escalation_working_hours": req.escalation_working_hours,
            })),
    )
    .await?;
    let view = area_view(tenant.conn(), practice_area_id).await?;
    tenant.commit().await?;
    Ok(Json(view))
}
