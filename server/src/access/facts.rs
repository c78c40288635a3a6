//! The facts the policy decides on, loaded from the database, and [`matter`]: the one opening
//! every handler that acts on a matter goes through: load the matter's facts for the actor, then
//! authorise the action on them.
//!
//! The facts come from the same query that lists matters (`crate::matters`), so the list and the
//! policy always read the same row.

use docket_protocol::directory::Scope;
use docket_protocol::ids::{ClientId, MatterId, UserId};

use super::{authorize, Action, Actor, Resource};
use crate::db::Tenant;
use crate::{Error, Result};

/// What the policy needs to know about a matter, relative to the actor.
#[derive(Clone, Debug)]
pub struct MatterFacts {
    pub client_id: ClientId,
    pub responsible_fee_earner_id: UserId,
    /// Whether the actor is on the matter's team.
    pub actor_on_team: bool,
    pub portal_enabled: bool,
    /// The actor's own grant on the matter, if any.
    pub actor_grant: Vec<Scope>,
    /// A closed matter is read-only.
    pub closed: bool,
}

/// One row of the matter query, with the actor-relative facts the policy needs. `crate::matters`
/// turns it into the summary it shows.
pub(crate) struct MatterRow {
    pub(crate) matter_id: uuid::Uuid,
    pub(crate) reference: String,
    pub(crate) title: String,
    pub(crate) client_id: uuid::Uuid,
    pub(crate) client_name: String,
    pub(crate) practice_area: String,
    pub(crate) portal_enabled: bool,
    pub(crate) status: String,
    pub(crate) sensitivity: String,
    pub(crate) opened_at: time::OffsetDateTime,
    pub(crate) responsible_fee_earner_id: uuid::Uuid,
    pub(crate) responsible_name: String,
    pub(crate) on_team: bool,
    pub(crate) grant_scopes: Option<Vec<String>>,
}

impl MatterRow {
    /// The policy facts this row carries.
    pub(crate) fn facts(&self) -> Result<MatterFacts> {
        Ok(MatterFacts {
            client_id: self.client_id.into(),
            responsible_fee_earner_id: self.responsible_fee_earner_id.into(),
            actor_on_team: self.on_team,
            portal_enabled: self.portal_enabled,
            actor_grant: parse_scopes(self.grant_scopes.as_deref().unwrap_or_default())?,
            closed: self.status == "closed",
        })
    }
}

/// Parses scope names stored in the database.
pub fn parse_scopes(names: &[String]) -> Result<Vec<Scope>> {
    names
        .iter()
        .map(|n| {
            n.parse()
                .map_err(|e: docket_protocol::directory::UnknownName| Error::Internal(e.into()))
        })
        .collect()
}

/// Matters visible to the tenant's actor (or, with `only`, those of them).
pub(crate) async fn query_matters(
    tenant: &mut Tenant,
    actor: UserId,
    only: Option<&[MatterId]>,
) -> Result<Vec<MatterRow>> {
    Ok(sqlx::query_as!(
        MatterRow,
        r#"select m.matter_id, m.reference, m.title, m.client_id, c.name as client_name,
                  pa.name as practice_area, pa.portal_enabled, m.status, m.sensitivity, m.opened_at,
                  m.responsible_fee_earner_id, rf.display_name as "responsible_name!",
                  exists (select 1 from matter_team t where t.matter_id = m.matter_id and t.user_id = $1) as "on_team!",
                  (select g.scopes from matter_grant g where g.matter_id = m.matter_id and g.user_id = $1) as grant_scopes
           from matter m
           join client c on c.client_id = m.client_id
           join practice_area pa on pa.practice_area_id = m.practice_area_id
           join person rf on rf.user_id = m.responsible_fee_earner_id
           where $2::uuid[] is null or m.matter_id = any($2)
           order by m.opened_at desc, m.reference"#,
        actor.0,
        only.map(|ids| ids.iter().map(|m| m.0).collect::<Vec<_>>()) as Option<Vec<uuid::Uuid>>
    )
    .fetch_all(tenant.conn())
    .await?)
}

/// The policy facts of one matter for `actor`; `NotFound` if the database does not admit it.
pub async fn facts(tenant: &mut Tenant, actor: &Actor, matter_id: MatterId) -> Result<MatterFacts> {
    let row = query_matters(tenant, actor.user_id(), Some(&[matter_id]))
        .await?
        .pop()
        .ok_or(Error::NotFound)?;
    row.facts()
}

/// The policy facts of several matters for `actor`; matters the database does not admit are absent.
pub async fn facts_of(
    tenant: &mut Tenant,
    actor: &Actor,
    ids: &[MatterId],
) -> Result<Vec<(MatterId, MatterFacts)>> {
    query_matters(tenant, actor.user_id(), Some(ids))
        .await?
        .iter()
        .map(|row| Ok((MatterId(row.matter_id), row.facts()?)))
        .collect()
}

/// Opens a matter for `action`: its facts for `actor` if the policy allows the action, otherwise
/// `NotFound` for a matter the actor may not know exists (missing and invisible alike) and
/// `Forbidden` for one they can see but may not act on.
pub async fn matter(
    tenant: &mut Tenant,
    actor: &Actor,
    matter_id: MatterId,
    action: Action,
) -> Result<MatterFacts> {
    let facts = facts(tenant, actor, matter_id).await?;
    authorize(actor, action, Resource::Matter(&facts))?;
    Ok(facts)
}
