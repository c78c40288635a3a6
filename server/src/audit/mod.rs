//! The audit trail: one row per security-relevant act, hash-chained by the database.
//!
//! Features call [`record`] inside the same tenant transaction as the act itself, so an act and its
//! audit row commit or vanish together. The chain is verified by [`chain::verify`]
//! (`docket audit verify`) and one matter's trail is exported by [`export`], mounted by [`router`].

pub mod chain;
pub mod export;

use axum::routing::get;
use axum::Router;
use docket_protocol::ids::{ClientId, MatterId};

use crate::db::Tenant;
use crate::startup::AppState;
use crate::Result;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/matters/{matter_id}/audit",
        get(export::export_matter_audit),
    )
}

/// One act to record. The actor, device and source address come from the tenant transaction.
#[derive(Clone, Debug)]
pub struct AuditRecord {
    action: &'static str,
    matter_id: Option<MatterId>,
    client_id: Option<ClientId>,
    target: Option<String>,
    detail: Option<serde_json::Value>,
}

impl AuditRecord {
    /// An act named by a dotted action, e.g. `auth.sign_in.failed`.
    pub fn new(action: &'static str) -> Self {
        Self {
            action,
            matter_id: None,
            client_id: None,
            target: None,
            detail: None,
        }
    }

    /// The matter the act concerns.
    pub fn matter(mut self, matter_id: MatterId) -> Self {
        self.matter_id = Some(matter_id);
        self
    }

    /// The client the act concerns.
    pub fn client(mut self, client_id: ClientId) -> Self {
        self.client_id = Some(client_id);
        self
    }

    /// What was acted on, as `kind:id`.
    pub fn target(mut self, kind: &str, id: impl std::fmt::Display) -> Self {
        self.target = Some(format!("{kind}:{id}"));
        self
    }

    /// Further facts. Never secrets: the trail is exported to regulators.
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// Appends `record` to the audit trail within `tenant`'s transaction.
pub async fn record(tenant: &mut Tenant, record: AuditRecord) -> Result<()> {
    // No actor column here: the database takes it from the transaction's `docket.actor`
    // (trigger `audit_event_attribute`), so no caller can attribute an act to someone else.
    let ctx = tenant.ctx().clone();
    sqlx::query!(
        "insert into audit_event (device_id, source_ip, matter_id, client_id, action, target, detail)
         values ($1, $2::text::inet, $3, $4, $5, $6, $7)",
        ctx.device.map(|d| d.0),
        ctx.source_ip.map(|ip| ip.to_string()),
        record.matter_id.map(|m| m.0),
        record.client_id.map(|c| c.0),
        record.action,
        record.target,
        record.detail.map(|d| d.to_string()),
    )
    .execute(tenant.conn())
    .await?;
    Ok(())
}
