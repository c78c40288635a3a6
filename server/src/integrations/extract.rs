//! [`Service`]: a request from one of the firm's systems, authenticated by its service account's
//! bearer token.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use docket_protocol::ids::UserId;
use docket_protocol::integrations::ServiceScope;
use time::Duration;

use crate::access::Actor;
use crate::auth::{token, ClientMeta};
use crate::db::{RequestContext, Tenant};
use crate::startup::AppState;
use crate::{Error, Result};

/// What every service token starts with, so a person's endpoint can tell one apart from a session
/// token (and refuse it as such) without a look-up, and so a leaked one is recognisable in a scan.
pub(super) const TOKEN_PREFIX: &str = "dkt_svc_";
/// The last use is written back at most this often.
const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// Whether a bearer token is a service account's.
pub fn is_service_token(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX)
}

/// A request from a service account whose credential is neither revoked nor expired.
#[derive(Clone, Debug)]
pub struct Service {
    pub service_id: UserId,
    pub name: String,
    pub actor: Actor,
    pub ctx: RequestContext,
}

impl Service {
    /// A tenant transaction acting as this service account.
    pub async fn tenant(&self, app: &AppState) -> Result<Tenant> {
        Tenant::begin(&app.pool, &app.outbox, self.ctx.clone()).await
    }
}

impl FromRequestParts<AppState> for Service {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self> {
        let meta = ClientMeta::from_request_parts(parts, app).await?;
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(presented) = presented.filter(|t| is_service_token(t)) else {
            // A person (a session cookie or token) on a machine's endpoint, or nobody at all.
            return Err(
                if presented.is_some() || parts.headers.contains_key(header::COOKIE) {
                    Error::ForbiddenBecause(
                    "This endpoint is for the firm's systems: call it with a service account's token.",
                )
                } else {
                    Error::Unauthenticated
                },
            );
        };
        let row = sqlx::query!(
            r#"select user_id as "user_id!", display_name as "display_name!", scopes as "scopes!",
                      expires_at, revoked_at, status as "status!", last_used_at
               from docket_service_by_token($1)"#,
            token::digest(presented)
        )
        .fetch_optional(&app.pool)
        .await?
        .ok_or(Error::Unauthenticated)?;
        let now = app.clock.now();
        if row.revoked_at.is_some()
            || row.status != "active"
            || row.expires_at.is_some_and(|at| at <= now)
        {
            return Err(Error::Unauthenticated);
        }
        let scopes = row
            .scopes
            .iter()
            .map(|s| s.parse::<ServiceScope>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Internal(e.into()))?;
        let service_id = UserId(row.user_id);
        let service = Self {
            service_id,
            name: row.display_name,
            actor: Actor::Service {
                user_id: service_id,
                scopes,
            },
            ctx: RequestContext {
                actor: Some(service_id),
                source_ip: meta.ip,
                ..Default::default()
            },
        };
        if row.last_used_at.is_none_or(|at| now - at >= TOUCH_INTERVAL) {
            let mut tenant = service.tenant(app).await?;
            sqlx::query!(
                "update service_credential set last_used_at = $2 where user_id = $1",
                row.user_id,
                now
            )
            .execute(tenant.conn())
            .await?;
            tenant.commit().await?;
        }
        Ok(service)
    }
}
