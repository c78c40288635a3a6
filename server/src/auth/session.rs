//! Sessions: the extractors that authenticate a request, and issuing or re-issuing a token.
//!
//! The server enforces both limits on every request: the idle timeout (no request for
//! `idle_timeout`) and the absolute lifetime. A session in an MFA stage lives at most
//! [`MFA_STAGE_LIFETIME`] and can do nothing but complete MFA.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use docket_protocol::auth::{SessionGrant, SessionStage};
use docket_protocol::directory::{ClientRole, FirmRole, UserKind, UserProfile};
use docket_protocol::ids::{ClientId, DeviceId, SessionId, UserId};
use time::{Duration, OffsetDateTime};

use super::{cookies, token};
use crate::access::Actor;
use crate::audit::{self, AuditRecord};
use crate::channels::Control;
use crate::db::{RequestContext, Tenant};
use crate::startup::AppState;
use crate::{Error, Result};

/// How long a password-only session may take to complete MFA.
pub const MFA_STAGE_LIFETIME: Duration = Duration::minutes(10);
/// Activity is written back at most this often, so reads do not each cost a write.
const TOUCH_INTERVAL: Duration = Duration::seconds(30);
/// The header browsers echo the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Facts about the caller that do not need a session.
#[derive(Clone, Debug)]
pub struct ClientMeta {
    /// The peer address. Behind a proxy this is the proxy (see deploy/README.md).
    pub ip: Option<IpAddr>,
    /// The `User-Agent`, truncated, as the device's label.
    pub user_agent: String,
    /// The `docket_device` cookie, if the browser sent one.
    pub device_cookie: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientMeta {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown client")
            .chars()
            .take(200)
            .collect();
        let device_cookie = cookies::get(&parts.headers, cookies::DEVICE).map(str::to_owned);
        Ok(Self {
            ip,
            user_agent,
            device_cookie,
        })
    }
}

/// A request with a valid session at any stage.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub session_id: SessionId,
    pub device_id: DeviceId,
    pub stage: SessionStage,
    pub user: UserProfile,
    pub actor: Actor,
    /// True when the token came from the cookie (a browser), false for a bearer token.
    pub via_cookie: bool,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub reauthenticated_at: Option<OffsetDateTime>,
    pub ctx: RequestContext,
}

impl Authenticated {
    /// A tenant transaction acting as this session's user.
    pub async fn tenant(&self, app: &AppState) -> Result<Tenant> {
        Tenant::begin(&app.pool, self.ctx.clone()).await
    }
}

/// A request with a fully signed-in (MFA-completed) session.
#[derive(Clone, Debug)]
pub struct Signed(pub Authenticated);

impl std::ops::Deref for Signed {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self> {
        let auth = Authenticated::from_request_parts(parts, app).await?;
        if auth.stage != SessionStage::Active {
            return Err(Error::MfaRequired);
        }
        Ok(Self(auth))
    }
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self> {
        let meta = ClientMeta::from_request_parts(parts, app).await?;
        let (token, via_cookie) = match bearer(&parts.headers) {
            Some(token) => (token, false),
            None => (
                cookies::get(&parts.headers, cookies::SESSION).ok_or(Error::Unauthenticated)?,
                true,
            ),
        };
        let row = sqlx::query!(
            r#"select session_id as "session_id!", user_id as "user_id!", device_id as "device_id!",
                      stage as "stage!", csrf_hash as "csrf_hash!", created_at as "created_at!",
                      last_seen_at as "last_seen_at!", expires_at as "expires_at!", reauthenticated_at,
                      revoked_at, user_status as "user_status!", kind as "kind!", firm_role, client_id,
                      client_role, display_name as "display_name!", email as "email!", device_revoked_at
               from docket_session_by_token($1)"#,
            token::digest(token)
        )
        .fetch_optional(&app.pool)
        .await?
        .ok_or(Error::Unauthenticated)?;
        if row.revoked_at.is_some()
            || row.device_revoked_at.is_some()
            || row.user_status != "active"
        {
            return Err(Error::Unauthenticated);
        }
        let stage: SessionStage = row.stage.parse().map_err(anyhow::Error::from)?;
        let user = profile(
            row.user_id,
            row.email,
            row.display_name,
            &row.kind,
            row.firm_role,
            row.client_id,
            row.client_role,
        )?;
        let actor = actor_of(&user)?;
        let ctx = RequestContext {
            actor: Some(user.user_id),
            session: Some(row.session_id.into()),
            device: Some(row.device_id.into()),
            source_ip: meta.ip,
        };
        let auth = Self {
            session_id: row.session_id.into(),
            device_id: row.device_id.into(),
            stage,
            user,
            actor,
            via_cookie,
            created_at: row.created_at,
            expires_at: row.expires_at,
            reauthenticated_at: row.reauthenticated_at,
            ctx,
        };
        let now = app.clock.now();
        let ended = if now >= row.expires_at {
            Some("absolute_lifetime")
        } else if stage == SessionStage::Active && now - row.last_seen_at >= app.config.idle_timeout
        {
            Some("idle_timeout")
        } else {
            None
        };
        if let Some(reason) = ended {
            end(app, &auth, reason).await?;
            return Err(Error::SessionExpired);
        }
        if via_cookie && !parts.method.is_safe() {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !token::matches(sent, &row.csrf_hash) {
                return Err(Error::CsrfFailed);
            }
        }
        if now - row.last_seen_at >= TOUCH_INTERVAL {
            let mut tenant = auth.tenant(app).await?;
            sqlx::query!(
                "update session set last_seen_at = $2 where session_id = $1",
                row.session_id,
                now
            )
            .execute(tenant.conn())
            .await?;
            tenant.commit().await?;
        }
        Ok(auth)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Marks one of the tenant actor's sessions revoked (RLS admits only their own); returns whether
/// a live session was revoked.
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
    Ok(revoked.rows_affected() == 1)
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
    app.channels
        .hub
        .control(Control::SessionEnded {
            session_id: auth.session_id,
        })
        .await;
    Ok(())
}

/// Builds a [`UserProfile`] from a user row's columns.
pub fn profile(
    user_id: uuid::Uuid,
    email: String,
    display_name: String,
    kind: &str,
    firm_role: Option<String>,
    client_id: Option<uuid::Uuid>,
    client_role: Option<String>,
) -> Result<UserProfile> {
    let parse = |e: docket_protocol::directory::UnknownName| Error::Internal(e.into());
    Ok(UserProfile {
        user_id: user_id.into(),
        email,
        display_name,
        kind: kind.parse().map_err(parse)?,
        firm_role: firm_role
            .map(|r| r.parse::<FirmRole>())
            .transpose()
            .map_err(parse)?,
        client_id: client_id.map(ClientId::from),
        client_role: client_role
            .map(|r| r.parse::<ClientRole>())
            .transpose()
            .map_err(parse)?,
    })
}

/// The policy's view of a user.
pub fn actor_of(user: &UserProfile) -> Result<Actor> {
    match (user.kind, user.firm_role, user.client_id, user.client_role) {
        (UserKind::Firm, Some(role), _, _) => Ok(Actor::Firm {
            user_id: user.user_id,
            role,
        }),
        (UserKind::Client, _, Some(client_id), Some(role)) => Ok(Actor::Client {
            user_id: user.user_id,
            client_id,
            role,
        }),
        _ => Err(anyhow::anyhow!("user {} has an inconsistent role", user.user_id).into()),
    }
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
