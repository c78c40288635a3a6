//! The audit trail as exported (JSON lines, one [`AuditEntry`] a line).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{ClientId, DeviceId, MatterId, UserId};

/// One row of the audit trail.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditEntry {
    /// Position in the chain, gap-free across the whole trail.
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub occurred_at: OffsetDateTime,
    pub actor_id: Option<UserId>,
    pub device_id: Option<DeviceId>,
    pub source_ip: Option<String>,
    pub matter_id: Option<MatterId>,
    pub client_id: Option<ClientId>,
    /// Dotted action name, e.g. `auth.sign_in.succeeded`.
    pub action: String,
    /// What was acted on, as `kind:id`.
    pub target: Option<String>,
    /// Further facts, as a JSON text.
    pub detail: Option<String>,
    /// Hex SHA-256 of this row's chain link.
    pub row_hash: String,
}
