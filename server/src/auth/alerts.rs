//! Alerts for one user — a sign-in from a new device, a locked second factor, a client's upload —
//! stored in `user_alert` in the caller's transaction and listed by `GET /api/v1/me/alerts`, and
//! announced on the transaction, so the user's open sockets receive it once it commits.

use docket_protocol::auth::{Alert, AlertDetail};
use docket_protocol::ids::{AlertId, UserId};
use time::OffsetDateTime;

use crate::db::Tenant;
use crate::notify::{self, Detail};
use crate::outbox::Announcement;
use crate::Result;

/// Stores an alert for `user`, announces it for after the commit, and returns it.
pub async fn raise(
    tenant: &mut Tenant,
    user: UserId,
    detail: AlertDetail,
    at: OffsetDateTime,
) -> Result<Alert> {
    let alert = Alert {
        alert_id: AlertId::new(),
        created_at: at,
        read: false,
        detail,
    };
    sqlx::query!(
        "insert into user_alert (alert_id, user_id, kind, body, created_at) values ($1, $2, $3, $4, $5)",
        alert.alert_id.0,
        user.0,
        kind(&alert.detail),
        serde_json::to_value(&alert.detail).map_err(anyhow::Error::from)?,
        at
    )
    .execute(tenant.conn())
    .await?;
    tenant.announce(Announcement::Alert {
        user_id: user,
        alert: alert.clone(),
    });
    // Security alerts reach the account's other channels too: push to every other device (and
    // e-mail, which the new-device path sends itself), never only the device it is about.
    match &alert.detail {
        AlertDetail::NewDevice {
            device_id,
            device_label,
            ..
        } => {
            let label: String = device_label.chars().take(80).collect();
            let detail = Detail {
                event: Some("new_device".into()),
                device_label: Some(label),
                ..Detail::default()
            };
            notify::raise_security(tenant.conn(), user, detail, Some(*device_id)).await?;
        }
        AlertDetail::MfaLocked { .. } => {
            let detail = Detail {
                event: Some("mfa_locked".into()),
                ..Detail::default()
            };
            notify::raise_security(tenant.conn(), user, detail, None).await?;
        }
        _ => {}
    }
    Ok(alert)
}

/// The stored kind (`user_alert_kind_check`), which is also the detail's wire tag.
fn kind(detail: &AlertDetail) -> &'static str {
    match detail {
        AlertDetail::NewDevice { .. } => "new_device",
        AlertDetail::ClientUpload { .. } => "client_upload",
        AlertDetail::MfaLocked { .. } => "mfa_locked",
        AlertDetail::Payment { .. } => "payment",
        AlertDetail::Notice { .. } => "notice",
        AlertDetail::Escalation { .. } => "escalation",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_kind_is_the_wire_tag() {
        let details = [
            AlertDetail::NewDevice {
                device_id: docket_protocol::ids::DeviceId::new(),
                device_label: "Firefox".into(),
                source_ip: None,
            },
            AlertDetail::MfaLocked { source_ip: None },
        ];
        for detail in details {
            let wire = serde_json::to_value(&detail).expect("json");
            assert_eq!(wire["kind"], kind(&detail));
        }
    }
}
