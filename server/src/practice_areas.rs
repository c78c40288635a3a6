//! Practice areas: the firm's areas of work, each with its portal switch (the phased rollout),
//! the detail level clients see, and whether time entries are shown. A new area starts with the
//! default milestone template of its detail level ([`crate::milestones::templates`]).

use axum::extract::State;
use axum::routing::{get, patch};
use axum::Router;
use docket_protocol::directory::{DetailLevel, PracticeArea, UpdatePracticeAreaRequest};
use docket_protocol::ids::PracticeAreaId;
use serde_json::json;
use sqlx::PgConnection;

use crate::access::{authorize, Action, Resource};
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::db::Tenant;
use crate::error::{Json, Path};
use crate::startup::AppState;
use crate::{Error, Result};

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/practice-areas", get(list_practice_areas))
        .route(
            "/practice-areas/{practice_area_id}",
            patch(update_practice_area),
        )
}

/// Sets whether clients see the time entries of an area's matters (firm admins), audited.
#[utoipa::path(patch, path = "/api/v1/practice-areas/{practice_area_id}", tag = "directory",
    params(("practice_area_id" = PracticeAreaId, Path)), request_body = UpdatePracticeAreaRequest,
    responses((status = 200, body = PracticeArea), (status = 403, body = docket_protocol::error::ErrorBody),
              (status = 404, body = docket_protocol::error::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, practice_area_id = %practice_area_id))]
pub async fn update_practice_area(
    State(app): State<AppState>,
    signed: Signed,
    Path(practice_area_id): Path<PracticeAreaId>,
    Json(req): Json<UpdatePracticeAreaRequest>,
) -> Result<Json<PracticeArea>> {
    authorize(&signed.actor, Action::AdministerFirm, Resource::Firm)?;
    let mut tenant = signed.tenant(&app).await?;
    set_show_time_entries(&mut tenant, practice_area_id, req.show_time_entries).await?;
    tenant.commit().await?;
    areas(&app.pool, Some(practice_area_id))
        .await?
        .pop()
        .map(Json)
        .ok_or(Error::NotFound)
}

/// Sets whether clients see time entries in an area, audited (API and command line alike).
pub async fn set_show_time_entries(
    tenant: &mut Tenant,
    practice_area_id: PracticeAreaId,
    show: bool,
) -> Result<()> {
    // A person goes through the definer function, which checks they are a firm admin; the command
    // line (the system actor) updates directly, which only the owner connection may do.
    let found = if tenant.ctx().person().is_some() {
        sqlx::query_scalar!(
            r#"select practice_area_show_time_entries($1, $2) as "found!""#,
            practice_area_id.0,
            show
        )
        .fetch_one(tenant.conn())
        .await?
    } else {
        sqlx::query!(
            "update practice_area set show_time_entries = $2 where practice_area_id = $1",
            practice_area_id.0,
            show
        )
        .execute(tenant.conn())
        .await?
        .rows_affected()
            > 0
    };
    if !found {
        return Err(Error::NotFound);
    }
    audit::record(
        tenant,
        AuditRecord::new("practice_area.time_entries_shown")
            .target("practice_area", practice_area_id)
            .detail(json!({ "show_time_entries": show })),
    )
    .await?;
    Ok(())
}

/// The firm's practice areas (firm users only).
#[utoipa::path(get, path = "/api/v1/practice-areas", tag = "directory",
    responses((status = 200, body = Vec<PracticeArea>), (status = 403, body = docket_protocol::error::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn list_practice_areas(
    State(app): State<AppState>,
    signed: Signed,
) -> Result<Json<Vec<PracticeArea>>> {
    if signed.actor.firm_role().is_none() {
        return Err(Error::Forbidden);
    }
    areas(&app.pool, None).await.map(Json)
}

async fn areas(pool: &sqlx::PgPool, only: Option<PracticeAreaId>) -> Result<Vec<PracticeArea>> {
    let rows = sqlx::query!(
        "select practice_area_id, name, portal_enabled, detail_level, show_time_entries from practice_area
         where $1::uuid is null or practice_area_id = $1 order by name",
        only.map(|p| p.0)
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(PracticeArea {
                practice_area_id: r.practice_area_id.into(),
                name: r.name,
                portal_enabled: r.portal_enabled,
                detail_level: r.detail_level.parse().map_err(
                    |e: docket_protocol::directory::UnknownName| Error::Internal(e.into()),
                )?,
                show_time_entries: r.show_time_entries,
            })
        })
        .collect()
}

/// Creates a practice area (owner connection: admin command line and demo).
pub async fn insert(
    conn: &mut PgConnection,
    name: &str,
    portal_enabled: bool,
    detail_level: DetailLevel,
) -> Result<PracticeAreaId> {
    let id = PracticeAreaId::new();
    sqlx::query!(
        "insert into practice_area (practice_area_id, name, portal_enabled, detail_level) values ($1, $2, $3, $4)",
        id.0,
        name.trim(),
        portal_enabled,
        detail_level.as_str()
    )
    .execute(&mut *conn)
    .await
    .map_err(Error::on_constraint("practice_area_name_key", "A practice area with that name already exists."))?;
    crate::milestones::templates::seed_default(conn, id, detail_level).await?;
    Ok(id)
}

/// Switches the portal on or off for a practice area (owner connection).
pub async fn set_portal_enabled(conn: &mut PgConnection, name: &str, enabled: bool) -> Result<()> {
    let updated = sqlx::query!(
        "update practice_area set portal_enabled = $2 where name = $1",
        name,
        enabled
    )
    .execute(conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}
