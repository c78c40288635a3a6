//! Per-matter grants: which client users (role member) see which scopes of a matter. Firm users
//! who can see the matter manage them; every change is audited.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::put;
use axum::Router;
use docket_protocol::directory::{Grant, GrantRequest, Scope};
use docket_protocol::ids::{MatterId, UserId};

use super::Action;
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::db::Tenant;
use crate::error::{Json, Path};
use crate::outbox::{Announcement, Control};
use crate::startup::AppState;
use crate::{Error, Result};

type ErrorResponses = docket_protocol::error::ErrorBody;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/matters/{matter_id}/grants/{user_id}",
        put(put_grant).delete(revoke_grant),
    )
}

/// Grants (or changes) a client user's access to a matter.
#[utoipa::path(put, path = "/api/v1/matters/{matter_id}/grants/{user_id}", tag = "access",
    params(("matter_id" = MatterId, Path), ("user_id" = UserId, Path)), request_body = GrantRequest,
    responses((status = 200, body = Grant), (status = 403, body = ErrorResponses), (status = 404, body = ErrorResponses), (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn put_grant(
    State(app): State<AppState>,
    signed: Signed,
    Path((matter_id, user_id)): Path<(MatterId, UserId)>,
    Json(req): Json<GrantRequest>,
) -> Result<Json<Grant>> {
    let mut tenant = signed.tenant(&app).await?;
    let facts = super::matter(&mut tenant, &signed.actor, matter_id, Action::ManageGrants).await?;
    let grant = upsert_grant(&mut tenant, matter_id, facts.client_id, user_id, req.scopes).await?;
    tenant.commit().await?;
    Ok(Json(grant))
}

/// Creates or replaces a grant, audited. Shared with the admin command line.
pub async fn upsert_grant(
    tenant: &mut Tenant,
    matter_id: MatterId,
    client_id: docket_protocol::ids::ClientId,
    user_id: UserId,
    mut scopes: Vec<Scope>,
) -> Result<Grant> {
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(Error::InvalidInput(
            "A grant needs at least one scope; revoke it instead.".into(),
        ));
    }
    // The user must be a member of the matter's own client (the database checks this too).
    let grantee = sqlx::query!(
        "select display_name, client_role from user_account where user_id = $1 and kind = 'client' and client_id = $2",
        user_id.0,
        client_id.0
    )
    .fetch_optional(tenant.conn())
    .await?
    .ok_or(Error::NotFound)?;
    if grantee.client_role.as_deref() != Some("member") {
        return Err(Error::InvalidInput(
            "Client admins and finance users see the client's matters by their role; grants are for members.".into(),
        ));
    }
    let names: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let granted_at = sqlx::query_scalar!(
        "insert into matter_grant (matter_id, user_id, scopes, granted_by) values ($1, $2, $3, $4)
         on conflict (matter_id, user_id) do update set scopes = excluded.scopes, granted_by = excluded.granted_by, granted_at = now()
         returning granted_at",
        matter_id.0,
        user_id.0,
        &names,
        tenant.ctx().person().map(|a| a.0)
    )
    .fetch_one(tenant.conn())
    .await?;
    tenant.announce(Announcement::Control(Control::UserChanged { user_id }));
    audit::record(
        tenant,
        AuditRecord::new("access.grant.changed")
            .matter(matter_id)
            .client(client_id)
            .target("user", user_id)
            .detail(serde_json::json!({ "scopes": names })),
    )
    .await?;
    Ok(Grant {
        user_id,
        display_name: grantee.display_name,
        scopes,
        granted_at,
    })
}

/// Revokes a client user's access to a matter.
#[utoipa::path(delete, path = "/api/v1/matters/{matter_id}/grants/{user_id}", tag = "access",
    params(("matter_id" = MatterId, Path), ("user_id" = UserId, Path)),
    responses((status = 204), (status = 403, body = ErrorResponses), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn revoke_grant(
    State(app): State<AppState>,
    signed: Signed,
    Path((matter_id, user_id)): Path<(MatterId, UserId)>,
) -> Result<StatusCode> {
    let mut tenant = signed.tenant(&app).await?;
    let facts = super::matter(&mut tenant, &signed.actor, matter_id, Action::ManageGrants).await?;
    delete_grant(&mut tenant, matter_id, facts.client_id, user_id).await?;
    tenant.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a grant, audited; `NotFound` if there was none. Shared with the admin command line.
pub async fn delete_grant(
    tenant: &mut Tenant,
    matter_id: MatterId,
    client_id: docket_protocol::ids::ClientId,
    user_id: UserId,
) -> Result<()> {
    let deleted = sqlx::query!(
        "delete from matter_grant where matter_id = $1 and user_id = $2",
        matter_id.0,
        user_id.0
    )
    .execute(tenant.conn())
    .await?;
    if deleted.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    // The user's open sockets drop the matter once this commits.
    tenant.announce(Announcement::Control(Control::UserChanged { user_id }));
    audit::record(
        tenant,
        AuditRecord::new("access.grant.revoked")
            .matter(matter_id)
            .client(client_id)
            .target("user", user_id),
    )
    .await
}
