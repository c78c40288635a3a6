//! Creating, listing and revoking service accounts: firm admins through the API (creating one
//! also needs a fresh second factor) and the practice manager through `docket admin service`,
//! both through the functions here, so validation and audit rows are the same.

use axum::extract::State;
use axum::http::StatusCode;
use docket_protocol::ids::UserId;
use docket_protocol::integrations::{
    NewServiceAccount, NewServiceAccountRequest, ServiceAccount, ServiceScope,
};
use serde_json::json;
use time::OffsetDateTime;

use super::extract::TOKEN_PREFIX;
use crate::access::{authorize, Action, Resource};
use crate::audit::{self, AuditRecord};
use crate::auth::{token, Signed};
use crate::db::Tenant;
use crate::error::{Json, Path};
use crate::startup::AppState;
use crate::{Error, Result};

type ErrorResponses = docket_protocol::error::ErrorBody;

/// The built-in account Stripe's webhooks act as (created by the migration that introduced
/// service accounts).
pub const PAYMENTS_ACCOUNT: UserId = UserId(uuid::uuid!("00000000-0000-7000-8000-00000000057e"));

/// Creates a service account and its token; the token is in the answer and nowhere else.
pub async fn create(
    tenant: &mut Tenant,
    req: &NewServiceAccountRequest,
    now: OffsetDateTime,
) -> Result<NewServiceAccount> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::InvalidInput(
            "A service account's name is 1 to 200 characters.".into(),
        ));
    }
    let mut scopes = req.scopes.clone();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(Error::InvalidInput(
            "A service account needs at least one scope: billing, dms.".into(),
        ));
    }
    if scopes.contains(&ServiceScope::Payments) {
        return Err(Error::InvalidInput(
            "The payments scope is built in (Stripe's webhooks); a new account may have billing and dms."
                .into(),
        ));
    }
    if req.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::InvalidInput(
            "expires_at must be in the future.".into(),
        ));
    }
    let service_id = UserId::new();
    let token = format!("{TOKEN_PREFIX}{}", token::new_token());
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    sqlx::query!(
        "insert into user_account (user_id, email, display_name, kind, status)
         values ($1, $2, $3, 'service', 'active')",
        service_id.0,
        format!("service-{service_id}@service.docket.invalid"),
        name,
    )
    .execute(tenant.conn())
    .await?;
    sqlx::query!(
        "insert into service_credential (user_id, scopes, token_hash, created_by, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
        service_id.0,
        &names as &[&str],
        token::digest(&token),
        tenant.ctx().person().map(|p| p.0),
        now,
        req.expires_at,
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        tenant,
        AuditRecord::new("service_account.created")
            .target("user", service_id)
            .detail(
                json!({ "name": name, "scopes": names, "expires_at": req.expires_at.map(rfc3339) }),
            ),
    )
    .await?;
    let account = one(tenant, service_id).await?;
    Ok(NewServiceAccount { account, token })
}

/// Every service account, the built-in one included, newest first.
pub async fn list(tenant: &mut Tenant) -> Result<Vec<ServiceAccount>> {
    accounts(tenant, None).await
}

/// Revokes a service account's credential at once (its next call is refused). Revoking a revoked
/// account changes nothing; the built-in payments account cannot be revoked (remove the webhook
/// secret instead).
pub async fn revoke(
    tenant: &mut Tenant,
    service_id: UserId,
    now: OffsetDateTime,
) -> Result<ServiceAccount> {
    let account = one(tenant, service_id).await?;
    if service_id == PAYMENTS_ACCOUNT {
        return Err(Error::InvalidInput(
            "The payments account is built in; unset DOCKET_STRIPE_WEBHOOK_SECRET to stop card payments."
                .into(),
        ));
    }
    if account.revoked_at.is_some() {
        return Ok(account);
    }
    sqlx::query!(
        "update service_credential set revoked_at = $2, revoked_by = $3 where user_id = $1",
        service_id.0,
        now,
        tenant.ctx().person().map(|p| p.0),
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        tenant,
        AuditRecord::new("service_account.revoked")
            .target("user", service_id)
            .detail(json!({ "name": account.name })),
    )
    .await?;
    one(tenant, service_id).await
}

async fn one(tenant: &mut Tenant, service_id: UserId) -> Result<ServiceAccount> {
    accounts(tenant, Some(service_id))
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

async fn accounts(tenant: &mut Tenant, only: Option<UserId>) -> Result<Vec<ServiceAccount>> {
    let rows = sqlx::query!(
        r#"select u.user_id, u.display_name, c.scopes, c.created_at, c.expires_at, c.revoked_at,
                  c.last_used_at
           from service_credential c join user_account u using (user_id)
           where $1::uuid is null or c.user_id = $1
           order by c.created_at desc, u.user_id"#,
        only.map(|s| s.0),
    )
    .fetch_all(tenant.conn())
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(ServiceAccount {
                service_id: r.user_id.into(),
                name: r.display_name,
                scopes: r
                    .scopes
                    .iter()
                    .map(|s| s.parse())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e: docket_protocol::directory::UnknownName| {
                        Error::Internal(e.into())
                    })?,
                created_at: r.created_at,
                expires_at: r.expires_at,
                revoked_at: r.revoked_at,
                last_used_at: r.last_used_at,
            })
        })
        .collect()
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The firm's service accounts (firm admins).
#[utoipa::path(get, path = "/api/v1/service-accounts", tag = "integrations",
    responses((status = 200, body = Vec<ServiceAccount>), (status = 403, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn list_accounts(
    State(app): State<AppState>,
    signed: Signed,
) -> Result<Json<Vec<ServiceAccount>>> {
    authorize(&signed.actor, Action::AdministerFirm, Resource::Firm)?;
    let mut tenant = signed.tenant(&app).await?;
    let accounts = list(&mut tenant).await?;
    tenant.commit().await?;
    Ok(Json(accounts))
}

/// Creates a service account for one of the firm's systems (firm admins, re-authenticated within
/// the last five minutes). The token is shown in this answer only.
#[utoipa::path(post, path = "/api/v1/service-accounts", tag = "integrations",
    request_body = NewServiceAccountRequest,
    responses((status = 201, body = NewServiceAccount), (status = 403, description = "forbidden, reauthentication_required", body = ErrorResponses),
              (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn create_account(
    State(app): State<AppState>,
    signed: Signed,
    Json(req): Json<NewServiceAccountRequest>,
) -> Result<(StatusCode, Json<NewServiceAccount>)> {
    authorize(&signed.actor, Action::AdministerFirm, Resource::Firm)?;
    let now = app.clock.now();
    crate::auth::require_recent_reauth(&signed, now)?;
    let mut tenant = signed.tenant(&app).await?;
    let created = create(&mut tenant, &req, now).await?;
    tenant.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes a service account (firm admins): its token is refused from the next call on.
#[utoipa::path(delete, path = "/api/v1/service-accounts/{service_id}", tag = "integrations",
    params(("service_id" = UserId, Path)),
    responses((status = 200, body = ServiceAccount), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, service_id = %service_id))]
pub async fn revoke_account(
    State(app): State<AppState>,
    signed: Signed,
    Path(service_id): Path<UserId>,
) -> Result<Json<ServiceAccount>> {
    authorize(&signed.actor, Action::AdministerFirm, Resource::Firm)?;
    let mut tenant = signed.tenant(&app).await?;
    let account = revoke(&mut tenant, service_id, app.clock.now()).await?;
    tenant.commit().await?;
    Ok(Json(account))
}
