//! Practice-area milestone templates: what a new matter's timeline starts from. Firm users read
//! them; firm admins replace them. A new practice area gets the default for its detail level
//! (`docket_default_milestones` in the migration); a new matter gets a copy of its area's.

use axum::extract::State;
use axum::Router;
use docket_protocol::directory::{DetailLevel, FirmRole, UnknownName};
use docket_protocol::ids::{MatterId, PracticeAreaId};
use docket_protocol::milestones::{
    MilestoneTemplate, MilestoneTemplateItem, UpdateMilestoneTemplateRequest, MAX_TEMPLATE_ITEMS,
};
use docket_protocol::text::Text;
use serde_json::json;
use sqlx::PgConnection;

use super::rows;
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::db::Tenant;
use crate::error::{Json, Path};
use crate::startup::AppState;
use crate::{Error, Result};

type ErrorResponses = docket_protocol::error::ErrorBody;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/practice-areas/{practice_area_id}/milestone-template",
        axum::routing::get(get_milestone_template).put(put_milestone_template),
    )
}

/// A practice area's template (firm users).
#[utoipa::path(get, path = "/api/v1/practice-areas/{practice_area_id}/milestone-template", tag = "milestones",
    params(("practice_area_id" = PracticeAreaId, Path)),
    responses((status = 200, body = MilestoneTemplate), (status = 403, body = ErrorResponses), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn get_milestone_template(
    State(app): State<AppState>,
    signed: Signed,
    Path(practice_area_id): Path<PracticeAreaId>,
) -> Result<Json<MilestoneTemplate>> {
    if signed.actor.firm_role().is_none() {
        return Err(Error::Forbidden);
    }
    let mut tenant = signed.tenant(&app).await?;
    let template = template(&mut tenant, practice_area_id).await?;
    tenant.commit().await?;
    Ok(Json(template))
}

/// Replaces a practice area's template (firm admins), audited. Matters already open keep their
/// own timelines; only matters opened from now on start from the new template.
#[utoipa::path(put, path = "/api/v1/practice-areas/{practice_area_id}/milestone-template", tag = "milestones",
    params(("practice_area_id" = PracticeAreaId, Path)), request_body = UpdateMilestoneTemplateRequest,
    responses((status = 200, body = MilestoneTemplate), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn put_milestone_template(
    State(app): State<AppState>,
    signed: Signed,
    Path(practice_area_id): Path<PracticeAreaId>,
    Json(req): Json<UpdateMilestoneTemplateRequest>,
) -> Result<Json<MilestoneTemplate>> {
    if signed.actor.firm_role() != Some(FirmRole::Admin) {
        return Err(Error::Forbidden);
    }
    if req.items.is_empty() || req.items.len() > MAX_TEMPLATE_ITEMS {
        return Err(Error::InvalidInput(
            "A template has 1 to 40 milestones.".into(),
        ));
    }
    let mut titles = Vec::with_capacity(req.items.len());
    let mut notes = Vec::with_capacity(req.items.len());
    let mut actions = Vec::with_capacity(req.items.len());
    for item in &req.items {
        titles.push(rows::title(&item.title)?);
        notes.push(rows::text(item.note.as_deref(), "A note")?);
        actions.push(rows::text(
            item.client_action.as_deref(),
            "A client action",
        )?);
    }
    let mut tenant = signed.tenant(&app).await?;
    // Checks the area exists (404) before anything changes.
    template(&mut tenant, practice_area_id).await?;
    sqlx::query!(
        "delete from milestone_template_item where practice_area_id = $1",
        practice_area_id.0
    )
    .execute(tenant.conn())
    .await?;
    sqlx::query!(
        "insert into milestone_template_item (practice_area_id, position, title, note, client_action)
         select $1, t.n, t.title, t.note, t.action
         from unnest($2::text[], $3::text[], $4::text[]) with ordinality as t(title, note, action, n)",
        practice_area_id.0,
        &titles,
        &notes as &[Option<String>],
        &actions as &[Option<String>],
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("milestone_template.updated")
            .target("practice_area", practice_area_id)
            .detail(json!({ "milestones": titles.len(), "titles": titles })),
    )
    .await?;
    let template = template(&mut tenant, practice_area_id).await?;
    tenant.commit().await?;
    Ok(Json(template))
}

/// A practice area's template; `NotFound` for an unknown area.
async fn template(
    tenant: &mut Tenant,
    practice_area_id: PracticeAreaId,
) -> Result<MilestoneTemplate> {
    let level = sqlx::query_scalar!(
        "select detail_level from practice_area where practice_area_id = $1",
        practice_area_id.0
    )
    .fetch_optional(tenant.conn())
    .await?
    .ok_or(Error::NotFound)?;
    let detail_level: DetailLevel = level
        .parse()
        .map_err(|e: UnknownName| Error::Internal(e.into()))?;
    let items = sqlx::query!(
        "select title, note, client_action from milestone_template_item
         where practice_area_id = $1 order by position",
        practice_area_id.0
    )
    .fetch_all(tenant.conn())
    .await?
    .into_iter()
    .map(|r| {
        // Stored template text was checked on its way in; a failure here is a corrupt row.
        let text = |t: String| Text::new(t).map_err(|e| Error::Internal(e.into()));
        Ok(MilestoneTemplateItem {
            title: text(r.title)?,
            note: r.note.map(text).transpose()?,
            client_action: r.client_action.map(text).transpose()?,
        })
    })
    .collect::<Result<_>>()?;
    Ok(MilestoneTemplate {
        practice_area_id,
        detail_level,
        items,
    })
}

/// Gives a new practice area the default template of its detail level (owner connection, with
/// [`crate::practice_areas::insert`]).
pub async fn seed_default(
    conn: &mut PgConnection,
    practice_area_id: PracticeAreaId,
    detail_level: DetailLevel,
) -> Result<()> {
    sqlx::query!(
        "insert into milestone_template_item (practice_area_id, position, title, note, client_action)
         select $1, d.step, d.title, d.note, d.client_action from docket_default_milestones($2) d",
        practice_area_id.0,
        detail_level.as_str()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Starts a new matter's timeline: a copy of its practice area's template (in the caller's
/// transaction, with [`crate::matters::insert_matter`]).
pub async fn copy_to_matter(
    tenant: &mut Tenant,
    matter_id: MatterId,
    practice_area_id: PracticeAreaId,
) -> Result<()> {
    let items = sqlx::query!(
        "select position, title, note, client_action from milestone_template_item
         where practice_area_id = $1 order by position",
        practice_area_id.0
    )
    .fetch_all(tenant.conn())
    .await?;
    let ids: Vec<uuid::Uuid> = items.iter().map(|_| uuid::Uuid::now_v7()).collect();
    sqlx::query!(
        "insert into matter_milestone (milestone_id, matter_id, position, title, note, client_action)
         select t.id, $1, t.position, t.title, t.note, t.action
         from unnest($2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[]) as t(id, position, title, note, action)",
        matter_id.0,
        &ids,
        &items.iter().map(|i| i.position).collect::<Vec<_>>(),
        &items.iter().map(|i| i.title.clone()).collect::<Vec<_>>(),
        &items.iter().map(|i| i.note.clone()).collect::<Vec<_>>() as &[Option<String>],
        &items.iter().map(|i| i.client_action.clone()).collect::<Vec<_>>() as &[Option<String>],
    )
    .execute(tenant.conn())
    .await?;
    Ok(())
}
