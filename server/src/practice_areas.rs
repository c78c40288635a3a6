//! Practice areas: the firm's areas of work, each with its portal switch (the phased rollout),
//! the detail level clients see, and whether time entries are shown. A new area starts with the
//! default milestone template of its detail level ([`crate::milestones::templates`]).

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use docket_protocol::directory::{DetailLevel, PracticeArea};
use docket_protocol::ids::PracticeAreaId;
use sqlx::PgConnection;

use crate::auth::Signed;
use crate::error::Json;
use crate::startup::AppState;
use crate::{Error, Result};

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new().route("/practice-areas", get(list_practice_areas))
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
    let rows = sqlx::query!(
        "select practice_area_id, name, portal_enabled, detail_level, show_time_entries from practice_area order by name"
    )
    .fetch_all(&app.pool)
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
        .collect::<Result<_>>()
        .map(Json)
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
