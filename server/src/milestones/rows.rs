//! The milestone queries and the checks on what a request may store. Every query runs in the
//! tenant transaction: row-level security decides which milestones the actor sees.

use std::collections::HashMap;

use docket_protocol::directory::{DetailLevel, PersonRef, UnknownName};
use docket_protocol::ids::{MatterId, MilestoneId};
use docket_protocol::milestones::{
    Milestone, MilestoneStatus, Timeline, MAX_NOTE_CHARS, MAX_TITLE_CHARS,
};
use time::Date;
use uuid::Uuid;

use crate::db::Tenant;
use crate::{Error, Result};

/// One row of `matter_milestone`, with the name of whoever last changed it.
pub struct MilestoneRow {
    pub milestone_id: Uuid,
    pub position: i32,
    pub title: String,
    pub note: Option<String>,
    pub status: String,
    pub expected_on: Option<Date>,
    pub completed_on: Option<Date>,
    pub client_action: Option<String>,
    pub client_action_due: bool,
    pub updated_at: time::OffsetDateTime,
    pub updated_by: Option<Uuid>,
    pub updated_by_name: Option<String>,
}

impl MilestoneRow {
    /// The stored status.
    pub fn status(&self) -> Result<MilestoneStatus> {
        self.status
            .parse()
            .map_err(|e: UnknownName| Error::Internal(e.into()))
    }

    fn to_milestone(&self) -> Result<Milestone> {
        Ok(Milestone {
            milestone_id: MilestoneId(self.milestone_id),
            position: self.position as u32,
            title: self.title.clone(),
            note: self.note.clone(),
            status: self.status()?,
            expected_on: self.expected_on.map(format_date),
            completed_on: self.completed_on.map(format_date),
            client_action: self.client_action.clone(),
            client_action_due: self.client_action_due,
            // Settled by `timeline`, which knows the current step.
            action_needed_now: false,
            updated_at: self.updated_at,
            updated_by: match (self.updated_by, &self.updated_by_name) {
                (Some(id), Some(name)) => Some(PersonRef {
                    user_id: id.into(),
                    display_name: name.clone(),
                }),
                _ => None,
            },
        })
    }
}

pub use crate::dates::{format_date, parse_date};

/// A client-facing title, trimmed: 1 to 200 characters.
pub fn title(value: &str) -> Result<String> {
    let title = value.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(Error::InvalidInput(
            "A milestone title is 1 to 200 characters.".into(),
        ));
    }
    Ok(title.to_owned())
}

/// An optional note or client action, trimmed; `None` when empty; at most 1000 characters.
pub fn text(value: Option<&str>, field: &str) -> Result<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > MAX_NOTE_CHARS {
        return Err(Error::InvalidInput(format!(
            "{field} is at most 1000 characters."
        )));
    }
    Ok(Some(value.to_owned()))
}

/// The milestones of a matter the actor may see, in order.
pub async fn milestones(tenant: &mut Tenant, matter_id: MatterId) -> Result<Vec<MilestoneRow>> {
    Ok(sqlx::query_as!(
        MilestoneRow,
        r#"select mm.milestone_id, mm.position, mm.title, mm.note, mm.status, mm.expected_on,
                  mm.completed_on, mm.client_action, mm.client_action_due, mm.updated_at, mm.updated_by,
                  u.display_name as "updated_by_name?"
           from matter_milestone mm left join person u on u.user_id = mm.updated_by
           where mm.matter_id = $1
           order by mm.position"#,
        matter_id.0
    )
    .fetch_all(tenant.conn())
    .await?)
}

/// The detail level of a matter's practice area.
pub async fn detail_level(tenant: &mut Tenant, matter_id: MatterId) -> Result<DetailLevel> {
    let level = sqlx::query_scalar!(
        "select pa.detail_level from matter m join practice_area pa using (practice_area_id)
         where m.matter_id = $1",
        matter_id.0
    )
    .fetch_optional(tenant.conn())
    .await?
    .ok_or(Error::NotFound)?;
    level
        .parse()
        .map_err(|e: UnknownName| Error::Internal(e.into()))
}

/// The timeline of a matter as the actor may see it.
pub async fn timeline(tenant: &mut Tenant, matter_id: MatterId) -> Result<Timeline> {
    let detail_level = detail_level(tenant, matter_id).await?;
    let rows = milestones(tenant, matter_id).await?;
    let mut milestones = rows
        .iter()
        .map(MilestoneRow::to_milestone)
        .collect::<Result<Vec<_>>>()?;
    let current = current(&milestones);
    for m in &mut milestones {
        m.action_needed_now = needed_now(m, current);
    }
    Ok(Timeline {
        matter_id,
        detail_level,
        milestones,
        current,
    })
}

/// Whether a milestone's client action is needed now: an open step that is in progress, is the
/// current one, or whose action the fee earner marked due. A later step's action is coming up.
pub fn needed_now(m: &Milestone, current: Option<MilestoneId>) -> bool {
    let open = matches!(
        m.status,
        MilestoneStatus::Upcoming | MilestoneStatus::InProgress
    );
    m.client_action.is_some()
        && open
        && (m.status == MilestoneStatus::InProgress
            || current == Some(m.milestone_id)
            || m.client_action_due)
}

/// The milestone a matter is at: the first in progress, else the first upcoming.
pub fn current(milestones: &[Milestone]) -> Option<MilestoneId> {
    let first = |status| milestones.iter().find(|m| m.status == status);
    first(MilestoneStatus::InProgress)
        .or_else(|| first(MilestoneStatus::Upcoming))
        .map(|m| m.milestone_id)
}

/// The title of the current milestone of each of `matters` the actor may see milestones of, in
/// one query (the matter list).
pub async fn current_stages(
    tenant: &mut Tenant,
    matters: &[MatterId],
) -> Result<HashMap<MatterId, String>> {
    let rows = sqlx::query!(
        r#"select distinct on (matter_id) matter_id, title
           from matter_milestone
           where matter_id = any($1) and status in ('in_progress', 'upcoming')
           order by matter_id, status <> 'in_progress', position"#,
        &matters.iter().map(|m| m.0).collect::<Vec<_>>()
    )
    .fetch_all(tenant.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (MatterId(r.matter_id), r.title))
        .collect())
}

/// Locks a matter's timeline against concurrent inserts and removals (which shift positions).
/// `no key update`, so documents and events can still reference the matter meanwhile.
pub async fn lock_timeline(tenant: &mut Tenant, matter_id: MatterId) -> Result<()> {
    sqlx::query_scalar!(
        "select matter_id from matter where matter_id = $1 for no key update",
        matter_id.0
    )
    .fetch_optional(tenant.conn())
    .await?
    .ok_or(Error::NotFound)?;
    Ok(())
}
