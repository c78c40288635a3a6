//! Invitations: a firm user invites someone by e-mail; the one-time, expiring link lets them set a
//! password. They then sign in and enrol their second factor.

use axum::extract::State;
use axum::http::StatusCode;
use docket_protocol::auth::AcceptInvitationRequest;
use docket_protocol::ids::{InvitationId, UserId};
use secrecy::SecretString;
use time::OffsetDateTime;

use super::throttle::{Attempt, Key};
use super::{password, token, ClientMeta};
use crate::audit::{self, AuditRecord};
use crate::db::{RequestContext, Tenant};
use crate::error::Json;
use crate::mail::Email;
use crate::startup::AppState;
use crate::{Error, Result};

/// An invitation just created; the token exists only here and in the e-mail.
#[derive(Debug)]
pub struct NewInvitation {
    pub invitation_id: InvitationId,
    pub token: String,
    pub expires_at: OffsetDateTime,
}

/// Creates an invitation for `user_id` (whose row the caller has just inserted).
pub async fn create(
    tenant: &mut Tenant,
    user_id: UserId,
    now: OffsetDateTime,
    ttl: time::Duration,
) -> Result<NewInvitation> {
    let invitation = NewInvitation {
        invitation_id: InvitationId::new(),
        token: token::new_token(),
        expires_at: now + ttl,
    };
    sqlx::query!(
        "insert into invitation (invitation_id, user_id, token_hash, invited_by, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
        invitation.invitation_id.0,
        user_id.0,
        token::digest(&invitation.token),
        tenant.ctx().person().map(|a| a.0),
        now,
        invitation.expires_at
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        tenant,
        AuditRecord::new("access.user.invited").target("user", user_id),
    )
    .await?;
    Ok(invitation)
}

/// The invitation e-mail. The token travels in the URL fragment, which browsers never send to a
/// server, so it cannot end up in an access log or a `Referer`.
pub fn email(
    public_url: &str,
    firm_name: &str,
    to: &str,
    display_name: &str,
    invitation: &NewInvitation,
) -> Email {
    Email {
        to: to.to_owned(),
        subject: format!("Your invitation to the {firm_name} client portal"),
        body: format!(
            "Dear {display_name},\r\n\r\n{firm_name} has invited you to its secure client portal.\r\n\
             Set your password here (the link works once and expires at {}):\r\n\r\n\
             {public_url}/accept-invitation#token={}\r\n\r\n\
             You will then be asked to set up an authenticator app.\r\n",
            invitation.expires_at, invitation.token
        ),
    }
}

/// Sets the password of an invited user.
#[utoipa::path(
    post, path = "/api/v1/invitations/accept", tag = "auth", request_body = AcceptInvitationRequest, security(()),
    responses((status = 204), (status = 410, description = "invitation_invalid", body = docket_protocol::error::ErrorBody),
              (status = 422, body = docket_protocol::error::ErrorBody),
              (status = 429, description = "rate_limited", body = docket_protocol::error::ErrorBody))
)]
#[tracing::instrument(skip_all)]
pub async fn accept(
    State(app): State<AppState>,
    meta: ClientMeta,
    Json(req): Json<AcceptInvitationRequest>,
) -> Result<StatusCode> {
    let now = app.clock.now();
    let digest = token::digest(&req.token);
    // Tokens are 256 random bits, so guessing one is hopeless; still, every failed token counts
    // against the source address like any other failed credential.
    let ctx = RequestContext {
        source_ip: meta.ip,
        ..Default::default()
    };
    let mut tenant = Tenant::begin(&app.pool, &app.outbox, ctx).await?;
    let attempt = Attempt::begin(
        tenant.conn(),
        Key::address(meta.ip).into_iter().collect(),
        now,
    )
    .await?;
    let user_id = sqlx::query_scalar!("select docket_invitation_user($1, $2)", digest, now)
        .fetch_one(tenant.conn())
        .await?;
    let Some(user_id) = user_id else {
        attempt.failed(tenant.conn(), now).await?;
        audit::record(&mut tenant, AuditRecord::new("auth.invitation.failed")).await?;
        tenant.commit().await?;
        return Err(Error::InvitationInvalid);
    };
    tenant.act_as(Some(user_id.into())).await?;
    let email = sqlx::query_scalar!("select email from user_account where user_id = $1", user_id)
        .fetch_one(tenant.conn())
        .await?;
    let password = SecretString::from(req.password);
    password::validate_new(&password, &email)?;
    let hash = password::hash(password).await?;
    // Conditional updates: a link used twice at once is accepted only once.
    let used = sqlx::query!(
        "update invitation set accepted_at = $2 where token_hash = $1 and accepted_at is null",
        digest,
        now
    )
    .execute(tenant.conn())
    .await?;
    if used.rows_affected() != 1 {
        return Err(Error::InvitationInvalid);
    }
    sqlx::query!(
        "update user_account set status = 'active' where user_id = $1 and status = 'invited'",
        user_id
    )
    .execute(tenant.conn())
    .await?;
    sqlx::query!(
        "update user_credential set password_hash = $2 where user_id = $1",
        user_id,
        hash
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("auth.invitation.accepted").target("user", user_id),
    )
    .await?;
    tenant.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
