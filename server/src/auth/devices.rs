//! Devices: recognising the browser or app a user signs in from, and alerting them to a new one.

use docket_protocol::auth::AlertDetail;
use docket_protocol::ids::{DeviceId, UserId};
use time::OffsetDateTime;

use super::{alerts, token, ClientMeta};
use crate::audit::{self, AuditRecord};
use crate::db::Tenant;
use crate::Result;

/// A device the user is signing in from.
#[derive(Debug)]
pub struct Recognised {
    pub device_id: DeviceId,
    /// Set when the device is new: the token it must present next time.
    pub new_token: Option<String>,
}

/// Finds the user's device by the token it presented, or registers a new one. A new device on an
/// account that already has devices raises an alert for the user and an audit row.
pub async fn recognise(
    tenant: &mut Tenant,
    user_id: UserId,
    presented: Option<&str>,
    meta: &ClientMeta,
    now: OffsetDateTime,
) -> Result<Recognised> {
    if let Some(presented) = presented {
        let known = sqlx::query_scalar!(
            "update device set last_seen_at = $3 where user_id = $1 and token_hash = $2 and revoked_at is null
             returning device_id",
            user_id.0,
            token::digest(presented),
            now
        )
        .fetch_optional(tenant.conn())
        .await?;
        if let Some(device_id) = known {
            return Ok(Recognised {
                device_id: device_id.into(),
                new_token: None,
            });
        }
    }
    let device_id = DeviceId::new();
    let new_token = token::new_token();
    let earlier_devices = sqlx::query_scalar!(
        r#"select count(*) as "count!" from device where user_id = $1"#,
        user_id.0
    )
    .fetch_one(tenant.conn())
    .await?;
    sqlx::query!(
        "insert into device (device_id, user_id, token_hash, label, first_seen_at, last_seen_at)
         values ($1, $2, $3, $4, $5, $5)",
        device_id.0,
        user_id.0,
        token::digest(&new_token),
        meta.user_agent,
        now
    )
    .execute(tenant.conn())
    .await?;
    // The very first device is the account being set up, not news to its owner.
    if earlier_devices > 0 {
        let detail = AlertDetail::NewDevice {
            device_id,
            device_label: meta.user_agent.clone(),
            source_ip: meta.ip.map(|ip| ip.to_string()),
        };
        alerts::raise(tenant, user_id, detail, now).await?;
    }
    audit::record(
        tenant,
        AuditRecord::new("auth.device.registered")
            .target("device", device_id)
            .detail(serde_json::json!({ "label": meta.user_agent, "first_device": earlier_devices == 0 })),
    )
    .await?;
    Ok(Recognised {
        device_id,
        new_token: Some(new_token),
    })
}
