//! Milestones: each matter's client-facing timeline, started from its practice area's template
//! ([`templates`]) and kept up to date by the fee earner.
//!
//! Reading needs the milestones scope (firm users on the matter always hold it); changing is for
//! firm users on an open matter. Every change is audited in the same transaction. A change the
//! client should notice (status, title or client action) also appends a `milestone` card to the
//! matter's channel, with scope `milestones`, published to live sockets after the commit; a pure
//! note or date edit, an added or a removed milestone are audited but post no card (the timeline
//! shows them; the channel is kept for what the client must notice).
//!
//! Visibility is decided twice: row-level security on `matter_milestone`, and
//! [`crate::access::authorize`] with [`Action::ViewScope`] before anything is read.

mod rows;
pub mod templates;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::Router;
use docket_protocol::directory::Scope;
use docket_protocol::ids::{MatterId, MilestoneId};
use docket_protocol::milestones::{
    MilestoneStatus, NewMilestoneRequest, Timeline, UpdateMilestoneRequest,
};
use serde_json::json;
use uuid::Uuid;

use crate::access::{self, Action};
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::channels::store::{self as channel_store, NewEvent};
use crate::db::Tenant;
use crate::error::{Json, Path};
use crate::events::Body;
use crate::startup::AppState;
use crate::{Error, Result};

pub use self::rows::current_stages;
use self::rows::MilestoneRow;

type ErrorResponses = docket_protocol::error::ErrorBody;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/matters/{matter_id}/milestones",
            get(get_timeline).post(add_milestone),
        )
        .route(
            "/matters/{matter_id}/milestones/{milestone_id}",
            patch(update_milestone).delete(delete_milestone),
        )
        .merge(templates::router())
}

/// Opens the tenant transaction and checks `action` on the matter.
async fn begin(
    app: &AppState,
    signed: &Signed,
    matter_id: MatterId,
    action: Action,
) -> Result<Tenant> {
    let mut tenant = signed.tenant(app).await?;
    access::matter(&mut tenant, &signed.actor, matter_id, action).await?;
    Ok(tenant)
}

/// A matter's timeline. Client users need the milestones scope: a member without it is refused
/// (`forbidden`: the matter itself is known to them); another client's matter is `not_found`.
#[utoipa::path(get, path = "/api/v1/matters/{matter_id}/milestones", tag = "milestones",
    params(("matter_id" = MatterId, Path)),
    responses((status = 200, body = Timeline), (status = 403, body = ErrorResponses), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn get_timeline(
    State(app): State<AppState>,
    signed: Signed,
    Path(matter_id): Path<MatterId>,
) -> Result<Json<Timeline>> {
    let mut tenant = begin(
        &app,
        &signed,
        matter_id,
        Action::ViewScope(Scope::Milestones),
    )
    .await?;
    let timeline = rows::timeline(&mut tenant, matter_id).await?;
    tenant.commit().await?;
    Ok(Json(timeline))
}

/// Adds a milestone to a matter's timeline (firm users on an open matter), audited.
#[utoipa::path(post, path = "/api/v1/matters/{matter_id}/milestones", tag = "milestones",
    params(("matter_id" = MatterId, Path)), request_body = NewMilestoneRequest,
    responses((status = 201, body = Timeline), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn add_milestone(
    State(app): State<AppState>,
    signed: Signed,
    Path(matter_id): Path<MatterId>,
    Json(req): Json<NewMilestoneRequest>,
) -> Result<(StatusCode, Json<Timeline>)> {
    let title = rows::title(&req.title)?;
    let note = rows::text(req.note.as_deref(), "A note")?;
    let client_action = rows::text(req.client_action.as_deref(), "A client action")?;
    let expected_on = match req.expected_on.as_deref() {
        Some(date) => rows::parse_date(date, "expected_on")?,
        None => None,
    };
    let mut tenant = begin(&app, &signed, matter_id, Action::ManageMilestones).await?;
    rows::lock_timeline(&mut tenant, matter_id).await?;
    let count = rows::milestones(&mut tenant, matter_id).await?.len() as i32;
    let position = req
        .position
        .map_or(count + 1, |p| (p as i32).clamp(1, count + 1));
    sqlx::query!(
        "update matter_milestone set position = position + 1 where matter_id = $1 and position >= $2",
        matter_id.0,
        position
    )
    .execute(tenant.conn())
    .await?;
    let milestone_id = MilestoneId::new();
    sqlx::query!(
        "insert into matter_milestone (milestone_id, matter_id, position, title, note, client_action,
             expected_on, updated_at, updated_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        milestone_id.0,
        matter_id.0,
        position,
        title,
        note,
        client_action,
        expected_on,
        app.clock.now(),
        signed.user.user_id.0,
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("milestone.added")
            .matter(matter_id)
            .target("milestone", milestone_id)
            .detail(json!({ "title": title, "position": position })),
    )
    .await?;
    let timeline = rows::timeline(&mut tenant, matter_id).await?;
    tenant.commit().await?;
    Ok((StatusCode::CREATED, Json(timeline)))
}

/// A milestone of the matter, or `NotFound`.
async fn one(
    tenant: &mut Tenant,
    matter_id: MatterId,
    milestone_id: MilestoneId,
) -> Result<MilestoneRow> {
    rows::milestones(tenant, matter_id)
        .await?
        .into_iter()
        .find(|m| m.milestone_id == milestone_id.0)
        .ok_or(Error::NotFound)
}

/// What a milestone becomes: the stored values with the request's changes applied.
struct Changed {
    title: String,
    note: Option<String>,
    status: MilestoneStatus,
    expected_on: Option<time::Date>,
    completed_on: Option<time::Date>,
    client_action: Option<String>,
    client_action_due: bool,
}

fn apply(row: &MilestoneRow, req: &UpdateMilestoneRequest, today: time::Date) -> Result<Changed> {
    let date = |value: Option<&str>, field, stored| match value {
        Some(value) => rows::parse_date(value, field),
        None => Ok(stored),
    };
    let before = row.status()?;
    let status = req.status.unwrap_or(before);
    let completed_on = match (req.completed_on.as_deref(), status) {
        (Some(value), _) => rows::parse_date(value, "completed_on")?,
        (None, MilestoneStatus::Done) if before != MilestoneStatus::Done => Some(today),
        (None, MilestoneStatus::Upcoming | MilestoneStatus::InProgress) => None,
        (None, _) => row.completed_on,
    };
    Ok(Changed {
        title: match &req.title {
            Some(title) => rows::title(title)?,
            None => row.title.clone(),
        },
        note: match &req.note {
            Some(note) => rows::text(Some(note), "A note")?,
            None => row.note.clone(),
        },
        status,
        expected_on: date(req.expected_on.as_deref(), "expected_on", row.expected_on)?,
        completed_on,
        client_action: match &req.client_action {
            Some(action) => rows::text(Some(action), "A client action")?,
            None => row.client_action.clone(),
        },
        client_action_due: req.client_action_due.unwrap_or(row.client_action_due),
    })
}

/// Changes a milestone (firm users on an open matter), audited; a change of status, title or
/// client action posts a milestone card to the channel, delivered live after the commit.
#[utoipa::path(patch, path = "/api/v1/matters/{matter_id}/milestones/{milestone_id}", tag = "milestones",
    params(("matter_id" = MatterId, Path), ("milestone_id" = MilestoneId, Path)), request_body = UpdateMilestoneRequest,
    responses((status = 200, body = Timeline), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn update_milestone(
    State(app): State<AppState>,
    signed: Signed,
    Path((matter_id, milestone_id)): Path<(MatterId, MilestoneId)>,
    Json(req): Json<UpdateMilestoneRequest>,
) -> Result<Json<Timeline>> {
    let mut tenant = begin(&app, &signed, matter_id, Action::ManageMilestones).await?;
    let row = one(&mut tenant, matter_id, milestone_id).await?;
    let at = app.clock.now();
    let new = apply(&row, &req, at.date())?;
    let before = row.status()?;
    sqlx::query!(
        "update matter_milestone set title = $3, note = $4, status = $5, expected_on = $6,
             completed_on = $7, client_action = $8, updated_at = $9, updated_by = $10,
             client_action_due = $11
         where matter_id = $1 and milestone_id = $2",
        matter_id.0,
        milestone_id.0,
        new.title,
        new.note,
        new.status.as_str(),
        new.expected_on,
        new.completed_on,
        new.client_action,
        at,
        signed.user.user_id.0,
        new.client_action_due,
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("milestone.updated")
            .matter(matter_id)
            .target("milestone", milestone_id)
            .detail(json!({
                "title": new.title, "status": new.status.as_str(), "previous_status": before.as_str(),
                "client_action": new.client_action, "client_action_due": new.client_action_due,
                "expected_on": new.expected_on.map(rows::format_date),
                "completed_on": new.completed_on.map(rows::format_date),
            })),
    )
    .await?;
    // Marking an action due is news to the client: it is now asked of them.
    let noticeable = new.status != before
        || new.title != row.title
        || new.client_action != row.client_action
        || (new.client_action_due && !row.client_action_due);
    if noticeable {
        let event = NewEvent {
            matter_id,
            author_id: signed.user.user_id,
            device_id: None,
            client_msg_id: Uuid::now_v7(),
            body: Body::Milestone {
                milestone_id,
                title: new.title,
                status: new.status,
                client_action: new.client_action,
            },
        };
        channel_store::append(&mut tenant, &event, at).await?;
    }
    let timeline = rows::timeline(&mut tenant, matter_id).await?;
    // A change that asks something of the client now tells the client users who follow the
    // matter's progress.
    let needed_now = timeline
        .milestones
        .iter()
        .any(|m| m.milestone_id == milestone_id && m.action_needed_now);
    if noticeable && needed_now {
        let people = sqlx::query!(
            r#"select user_id as "user_id!", is_firm as "is_firm!", scopes as "scopes!"
               from notify_matter_people($1)"#,
            matter_id.0
        )
        .fetch_all(tenant.conn())
        .await?;
        for person in people
            .iter()
            .filter(|p| !p.is_firm && p.scopes.iter().any(|s| s == "milestones"))
        {
            let notice = crate::notify::Notice::on_matter(
                person.user_id.into(),
                matter_id,
                docket_protocol::notifications::NoticeKind::ClientAction,
            );
            crate::notify::raise(tenant.conn(), &app.config.notify, &notice).await?;
        }
    }
    tenant.commit().await?;
    Ok(Json(timeline))
}

/// Removes a milestone (firm users on an open matter), audited; later ones move up.
#[utoipa::path(delete, path = "/api/v1/matters/{matter_id}/milestones/{milestone_id}", tag = "milestones",
    params(("matter_id" = MatterId, Path), ("milestone_id" = MilestoneId, Path)),
    responses((status = 200, body = Timeline), (status = 403, body = ErrorResponses), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn delete_milestone(
    State(app): State<AppState>,
    signed: Signed,
    Path((matter_id, milestone_id)): Path<(MatterId, MilestoneId)>,
) -> Result<Json<Timeline>> {
    let mut tenant = begin(&app, &signed, matter_id, Action::ManageMilestones).await?;
    rows::lock_timeline(&mut tenant, matter_id).await?;
    let row = one(&mut tenant, matter_id, milestone_id).await?;
    sqlx::query!(
        "delete from matter_milestone where matter_id = $1 and milestone_id = $2",
        matter_id.0,
        milestone_id.0
    )
    .execute(tenant.conn())
    .await?;
    sqlx::query!(
        "update matter_milestone set position = position - 1 where matter_id = $1 and position > $2",
        matter_id.0,
        row.position
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        &mut tenant,
        AuditRecord::new("milestone.removed")
            .matter(matter_id)
            .target("milestone", milestone_id)
            .detail(json!({ "title": row.title, "position": row.position })),
    )
    .await?;
    let timeline = rows::timeline(&mut tenant, matter_id).await?;
    tenant.commit().await?;
    Ok(Json(timeline))
}
