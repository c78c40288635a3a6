//! Matters: the unit of isolation. Listing and reading what the actor may see, and opening new
//! matters (firm admins and partners). The list carries each matter's channel activity for the
//! viewer (`activity`) and the title of its current milestone (`current_stage`); the detail names
//! the channel's participants (`participants`).

mod activity;
mod participants;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use docket_protocol::directory::{
    CreateMatterRequest, FirmRole, Grant, MatterActivity, MatterDetail, MatterSummary, PersonRef,
    Scope, Sensitivity,
};
use docket_protocol::ids::MatterId;

use crate::access::{
    authorize, matter_scopes, parse_scopes, query_matters, Action, Actor, MatterRow, Resource,
};
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::db::Tenant;
use crate::error::{Json, Path};
use crate::startup::AppState;
use crate::{milestones, Error, Result};

type ErrorResponses = docket_protocol::error::ErrorBody;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/matters", get(list_matters).post(create_matter))
        .route("/matters/{matter_id}", get(get_matter))
}

impl MatterRow {
    fn summary(
        self,
        scopes: Vec<Scope>,
        activity: MatterActivity,
        current_stage: Option<String>,
    ) -> Result<MatterSummary> {
        let internal = |e: docket_protocol::directory::UnknownName| Error::Internal(e.into());
        Ok(MatterSummary {
            matter_id: self.matter_id.into(),
            reference: self.reference,
            title: self.title,
            client_id: self.client_id.into(),
            client_name: self.client_name,
            practice_area: self.practice_area,
            status: self.status.parse().map_err(internal)?,
            sensitivity: self.sensitivity.parse().map_err(internal)?,
            responsible_fee_earner: PersonRef {
                user_id: self.responsible_fee_earner_id.into(),
                display_name: self.responsible_name,
            },
            opened_at: self.opened_at,
            activity,
            // The database shows milestones only with the scope; the policy must agree.
            current_stage: current_stage.filter(|_| scopes.contains(&Scope::Milestones)),
            scopes,
        })
    }
}

/// The matters the signed-in user may see, with what they may see of each.
#[utoipa::path(get, path = "/api/v1/matters", tag = "matters",
    responses((status = 200, body = Vec<MatterSummary>), (status = 401, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn list_matters(
    State(app): State<AppState>,
    signed: Signed,
) -> Result<Json<Vec<MatterSummary>>> {
    let mut tenant = signed.tenant(&app).await?;
    let rows = query_matters(&mut tenant, signed.user.user_id, None).await?;
    let ids: Vec<MatterId> = rows.iter().map(|r| MatterId(r.matter_id)).collect();
    let mut activity = activity::activity_of(&mut tenant, &ids).await?;
    let mut stages = milestones::current_stages(&mut tenant, &ids).await?;
    tenant.commit().await?;
    let mut matters = Vec::with_capacity(rows.len());
    for row in rows {
        // The database admitted the row; the policy must agree, or the row is withheld.
        let scopes = matter_scopes(&signed.actor, &row.facts()?);
        if scopes.is_empty() {
            tracing::warn!(matter_id = %row.matter_id, "row-level security admitted a matter the policy refuses");
            continue;
        }
        let activity = activity
            .remove(&MatterId(row.matter_id))
            .unwrap_or_default();
        let stage = stages.remove(&MatterId(row.matter_id));
        matters.push(row.summary(scopes, activity, stage)?);
    }
    Ok(Json(matters))
}

/// One matter, with its team, grants, participants and the viewer's activity.
#[utoipa::path(get, path = "/api/v1/matters/{matter_id}", tag = "matters",
    params(("matter_id" = MatterId, Path)),
    responses((status = 200, body = MatterDetail), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn get_matter(
    State(app): State<AppState>,
    signed: Signed,
    Path(matter_id): Path<MatterId>,
) -> Result<Json<MatterDetail>> {
    let mut tenant = signed.tenant(&app).await?;
    let detail = matter_detail(&mut tenant, &signed.actor, matter_id).await?;
    tenant.commit().await?;
    Ok(Json(detail))
}

/// A matter as `actor` may see it.
pub async fn matter_detail(
    tenant: &mut Tenant,
    actor: &Actor,
    matter_id: MatterId,
) -> Result<MatterDetail> {
    let row = query_matters(tenant, actor.user_id(), Some(&[matter_id]))
        .await?
        .pop()
        .ok_or(Error::NotFound)?;
    let facts = row.facts()?;
    authorize(actor, Action::ViewMatter, Resource::Matter(&facts))?;
    let scopes = matter_scopes(actor, &facts);
    let team = sqlx::query!(
        r#"select u.user_id as "user_id!", u.display_name as "display_name!" from matter_team t join person u using (user_id)
           where t.matter_id = $1 order by u.display_name"#,
        matter_id.0
    )
    .fetch_all(tenant.conn())
    .await?
    .into_iter()
    .map(|r| PersonRef {
        user_id: r.user_id.into(),
        display_name: r.display_name,
    })
    .collect();
    // RLS shows a client user only their own grant; firm users see all of them.
    let grants = sqlx::query!(
        "select g.user_id, u.display_name, g.scopes, g.granted_at from matter_grant g join user_account u using (user_id)
         where g.matter_id = $1 order by u.display_name",
        matter_id.0
    )
    .fetch_all(tenant.conn())
    .await?
    .into_iter()
    .map(|r| Ok(Grant { user_id: r.user_id.into(), display_name: r.display_name, scopes: parse_scopes(&r.scopes)?, granted_at: r.granted_at }))
    .collect::<Result<_>>()?;
    let participants = participants::participants(tenant, matter_id).await?;
    let activity = activity::activity_of(tenant, &[matter_id])
        .await?
        .remove(&matter_id)
        .unwrap_or_default();
    let stage = milestones::current_stages(tenant, &[matter_id])
        .await?
        .remove(&matter_id);
    // The database shows the wait to firm users only.
    let awaiting_reply = sqlx::query!(
        "select since, since_seq, level from matter_reply_wait where matter_id = $1",
        matter_id.0
    )
    .fetch_optional(tenant.conn())
    .await?
    .map(|r| docket_protocol::directory::AwaitingReply {
        since: r.since,
        since_seq: r.since_seq as u64,
        escalation_level: r.level as u8,
    });
    Ok(MatterDetail {
        summary: row.summary(scopes, activity, stage)?,
        team,
        grants,
        participants,
        awaiting_reply,
    })
}

/// Opens a matter (firm admins and partners).
#[utoipa::path(post, path = "/api/v1/matters", tag = "matters", request_body = CreateMatterRequest,
    responses((status = 201, body = MatterDetail), (status = 403, body = ErrorResponses), (status = 409, body = ErrorResponses), (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn create_matter(
    State(app): State<AppState>,
    signed: Signed,
    Json(req): Json<CreateMatterRequest>,
) -> Result<(StatusCode, Json<MatterDetail>)> {
    authorize(&signed.actor, Action::CreateMatter, Resource::Firm)?;
    let mut tenant = signed.tenant(&app).await?;
    let matter_id = insert_matter(&mut tenant, &req).await?;
    let detail = matter_detail(&mut tenant, &signed.actor, matter_id).await?;
    tenant.commit().await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

/// Validates and inserts a matter with its team and its timeline (a copy of its practice area's
/// milestone template), audited. Shared with the admin command line and the demo.
pub async fn insert_matter(tenant: &mut Tenant, req: &CreateMatterRequest) -> Result<MatterId> {
    let reference = req.reference.trim();
    let title = req.title.trim();
    if reference.is_empty() || reference.len() > 50 || title.is_empty() || title.len() > 300 {
        return Err(Error::InvalidInput(
            "A matter needs a reference (up to 50 characters) and a title (up to 300).".into(),
        ));
    }
    if req.sensitivity == Sensitivity::E2ee {
        // The channel would be stored where the server can read it: refuse the promise.
        return Err(Error::InvalidInput(
            "End-to-end encrypted matters are not available yet: Docket would store this \
             matter's messages where the server can read them. Open it as standard."
                .into(),
        ));
    }
    let mut firm_users = req.team.clone();
    firm_users.push(req.responsible_fee_earner_id);
    let roles = sqlx::query!(
        r#"select user_id, firm_role as "firm_role!" from user_account
           where user_id = any($1) and kind = 'firm' and status <> 'disabled'"#,
        &firm_users.iter().map(|u| u.0).collect::<Vec<_>>()
    )
    .fetch_all(tenant.conn())
    .await?;
    let responsible_ok = roles.iter().any(|r| {
        r.user_id == req.responsible_fee_earner_id.0
            && matches!(
                r.firm_role.parse(),
                Ok(FirmRole::FeeEarner | FirmRole::Partner)
            )
    });
    if !responsible_ok
        || req
            .team
            .iter()
            .any(|t| !roles.iter().any(|r| r.user_id == t.0))
    {
        return Err(Error::InvalidInput(
            "The responsible fee earner must be a fee earner or partner, and the team firm users."
                .into(),
        ));
    }
    let client_known = sqlx::query_scalar!(
        r#"select exists (select 1 from client where client_id = $1) as "e!""#,
        req.client_id.0
    )
    .fetch_one(tenant.conn())
    .await?;
    let area_known = sqlx::query_scalar!(
        r#"select exists (select 1 from practice_area where practice_area_id = $1) as "e!""#,
        req.practice_area_id.0
    )
    .fetch_one(tenant.conn())
    .await?;
    if !client_known || !area_known {
        return Err(Error::InvalidInput(
            "Unknown client or practice area.".into(),
        ));
    }
    let matter_id = MatterId::new();
    sqlx::query!(
        "insert into matter (matter_id, reference, title, client_id, practice_area_id, responsible_fee_earner_id, sensitivity)
         values ($1, $2, $3, $4, $5, $6, $7)",
        matter_id.0,
        reference,
        title,
        req.client_id.0,
        req.practice_area_id.0,
        req.responsible_fee_earner_id.0,
        req.sensitivity.as_str()
    )
    .execute(tenant.conn())
    .await
    .map_err(Error::on_constraint("matter_reference_key", "A matter with that reference already exists."))?;
    sqlx::query!(
        "insert into matter_team (matter_id, user_id) select $1, unnest($2::uuid[]) on conflict do nothing",
        matter_id.0,
        &req.team.iter().map(|u| u.0).collect::<Vec<_>>()
    )
    .execute(tenant.conn())
    .await?;
    milestones::templates::copy_to_matter(tenant, matter_id, req.practice_area_id).await?;
    audit::record(
        tenant,
        AuditRecord::new("matter.created")
            .matter(matter_id)
            .client(req.client_id)
            .target("matter", matter_id)
            .detail(serde_json::json!({ "reference": reference, "sensitivity": req.sensitivity })),
    )
    .await?;
    Ok(matter_id)
}
