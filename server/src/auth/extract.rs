//! The extractors that authenticate a request: [`ClientMeta`] (facts that need no session),
//! [`Authenticated`] (a valid session at any stage) and [`Signed`] (a session that has completed
//! MFA, what every other domain's handlers take).
//!
//! The token comes from the `docket_session` cookie (browsers, which must also echo the CSRF token
//! on unsafe methods) or an `Authorization: Bearer` header. The idle timeout and the absolute
//! lifetime are enforced here on every request; a session found past either is ended through
//! [`super::session::end`]. Opening and re-issuing sessions is in [`super::session`].

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use docket_protocol::auth::SessionStage;
use docket_protocol::directory::{ClientRole, FirmRole, UserKind, UserProfile};
use docket_protocol::ids::{ClientId, DeviceId, SessionId};
use time::{Duration, OffsetDateTime};

use super::session::end;
use super::{cookies, token};
use crate::access::Actor;
use crate::db::{RequestContext, Tenant};
use crate::startup::AppState;
use crate::{Error, Result};

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
        Tenant::begin(&app.pool, &app.outbox, self.ctx.clone()).await
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
            Some(token) if crate::integrations::is_service_token(token) => {
                return Err(Error::ForbiddenBecause(
                    "A service account's token is accepted only on its integration endpoints.",
                ))
            }
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
