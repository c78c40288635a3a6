//! Service accounts: the credentials the firm's own systems (its billing or practice-management
//! system, its DMS) use on their integration endpoints, instead of a person's session.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::UserId;
use crate::text::Text;

/// What a service account may do. Each scope opens its integration endpoints and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ServiceScope {
    /// The billing or practice-management system: invoices, credit notes, time entries and
    /// billing schedules.
    Billing,
    /// The document-management system: pushes document versions into matters.
    Dms,
    /// Card payments: Stripe's webhooks, authenticated by their signature. Built in: no account
    /// can be created with it.
    Payments,
}

crate::directory::wire_names!(ServiceScope { Billing => "billing", Dms => "dms", Payments => "payments" });

/// `POST /api/v1/service-accounts` (firm admins).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewServiceAccountRequest {
    /// How audit rows and cards name it, e.g. "Billing system".
    pub name: Text,
    pub scopes: Vec<ServiceScope>,
    /// When the token stops working (RFC 3339); none for no expiry.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(optional = nullable, type = "string"))]
    pub expires_at: Option<OffsetDateTime>,
}

/// A service account as the firm's admins see it. The token is never shown again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServiceAccount {
    pub service_id: UserId,
    pub name: String,
    pub scopes: Vec<ServiceScope>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(optional = nullable, type = "string"))]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(optional = nullable, type = "string"))]
    pub revoked_at: Option<OffsetDateTime>,
    /// To the nearest minute or so: the token's use is written back at most that often.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(optional = nullable, type = "string"))]
    pub last_used_at: Option<OffsetDateTime>,
}

/// The answer to creating a service account: the account and its bearer token, shown this once.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewServiceAccount {
    pub account: ServiceAccount,
    /// `Authorization: Bearer <token>` on the integration endpoints. Stored only as a digest.
    pub token: String,
}
