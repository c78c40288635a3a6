//! Devices: recognising the browser or app a user signs in from, and alerting them to a new one.

use docket_protocol::auth::AlertDetail;
use docket_protocol::ids::{DeviceId, UserId};
use time::OffsetDateTime;

use super::{alerts, token, ClientMeta};
use crate::audit::{self, AuditRecord};
use crate::db::Tenant;
use crate::mail::Email;
use crate::outbox::Announcement;
use crate::Result;

/// The notice to an account's owner that their password was used on a new device. It names the
/// device and address, never a token or a code.
fn new_device_email(to: &str, firm_name: &str, meta: &ClientMeta, at: OffsetDateTime) -> Email {
    let when = at
        .format(time::macros::format_description!(
            "[day] [month repr:long] [year] at [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    let address = meta
        .ip
        .map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string());
    Email {
        to: to.to_owned(),
        subject: format!("New sign-in to your {firm_name} portal account"),
        body: format!(
            "Your password was just used to sign in from a device this account has not used \
             before:\n\n{}\nfrom {address}, on {when}.\n\n\
             If this was you, there is nothing to do.\n\n\
             If it was not, change your password now and tell {firm_name}. Whoever it was still \
             needs your second factor to get in.",
            meta.user_agent
        ),
    }
}

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
    firm_name: &str,
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
        // The alert row is readable by the new device's own session, which may be an intruder's:
        // the owner is told by e-mail too, which no session can take back.
        let to = sqlx::query_scalar!(
            "select email from user_account where user_id = $1",
            user_id.0
        )
        .fetch_one(tenant.conn())
        .await?;
        tenant.announce(Announcement::Email {
            email: new_device_email(&to, firm_name, meta, now),
        });
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
