//! Notifications beyond the open tab: in-app toasts and alerts, Web Push and e-mail, with
//! preferences, quiet hours, digests and escalation (decision 0033).
//!
//! # How a notice travels
//! 1. Something worth telling happens. A change made by a request raises its notices in its own
//!    transaction ([`raise`]); channel events (messages above all, written by the batched channel
//!    writer) leave an outbox row for the [`expand`] consumer, which reads them back once they
//!    committed and raises the notices they call for, exactly once (the source row goes in the
//!    same transaction).
//! 2. [`raise`] folds news into the pending notification of its kind on its matter for its
//!    recipient, or creates one with its own outbox row, due after a short hold (so a burst makes
//!    one notice) and no sooner than a minute after the last one of its kind.
//! 3. When it falls due, a dispatcher claims the row and [`send`] applies the rules at that
//!    moment: still entitled, not looking at the matter now, not in quiet hours (firm users), and
//!    the user's preferences; then it delivers to each channel, recording each delivery in the
//!    same transaction so a retry never repeats one.
//!
//! The rules of who is told: only actionable news; never the author; the other side of the matter
//! (a client's message tells the fee earners on the matter, a firm message the client's users who
//! hold the messages scope); never someone looking at the matter; internal changes never reach
//! clients. A notice names the matter (its reference only when end-to-end encrypted) and never
//! carries content.

pub mod api;
pub mod expand;
pub mod prefs;
pub mod push;
pub mod schedule;
pub mod send;
pub mod text;

use docket_protocol::ids::{DeviceId, MatterId, UserId};
use docket_protocol::notifications::NoticeKind;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::config::NotifySettings;
use crate::Result;

/// What a notice may name besides its matter: for a security notice, the device it is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Detail {
    /// A new device's label ("Firefox on Linux").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_label: Option<String>,
    /// A security notice's kind of event: `new_device` or `mfa_locked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Escalation level (1 fee earner, 2 supervising partner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// Since when a client has waited (escalation).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub since: Option<time::OffsetDateTime>,
    /// Whether an invoice notice is about it falling overdue.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overdue: bool,
}

/// One notice to raise.
#[derive(Clone, Debug)]
pub struct Notice {
    pub user_id: UserId,
    pub matter_id: Option<MatterId>,
    pub kind: NoticeKind,
    /// How many things it tells of.
    pub count: u32,
    pub detail: Detail,
    /// A device not to push to (the new device a security notice is about).
    pub exclude_device: Option<DeviceId>,
}

impl Notice {
    /// One thing of `kind` on `matter` for `user`.
    pub fn on_matter(user_id: UserId, matter_id: MatterId, kind: NoticeKind) -> Self {
        Self {
            user_id,
            matter_id: Some(matter_id),
            kind,
            count: 1,
            detail: Detail::default(),
            exclude_device: None,
        }
    }
}

/// Raises `notice` in the caller's transaction: folded into the pending notification of its kind
/// on its matter for its user, or a new notification with its outbox row. Security notices and
/// escalations never fold and go at once.
pub async fn raise(
    conn: &mut PgConnection,
    settings: &NotifySettings,
    notice: &Notice,
) -> Result<()> {
    let folds = notice.kind != NoticeKind::Security && notice.detail.level.is_none();
    let hold_ms = if folds { settings.hold_ms } else { 0 };
    let interval_ms = if folds { settings.interval_ms } else { 0 };
    sqlx::query_scalar!(
        "select notification_enqueue($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        Uuid::now_v7(),
        Uuid::now_v7(),
        notice.user_id.0,
        notice.matter_id.map(|m| m.0),
        notice.kind.as_str(),
        serde_json::to_value(&notice.detail).map_err(anyhow::Error::from)?,
        notice.count.max(1) as i32,
        folds,
        hold_ms as i64,
        interval_ms as i64,
        notice.exclude_device.map(|d| d.0),
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}

/// Raises a security notice for `user` (never folded, due at once, and not pushed to
/// `exclude_device`, the device it is about).
pub async fn raise_security(
    conn: &mut PgConnection,
    user_id: UserId,
    detail: Detail,
    exclude_device: Option<DeviceId>,
) -> Result<()> {
    let notice = Notice {
        user_id,
        matter_id: None,
        kind: NoticeKind::Security,
        count: 1,
        detail,
        exclude_device,
    };
    raise(conn, &NotifySettings::default(), &notice).await
}

/// `HH:MM` (00:00 to 23:59) as hours and minutes.
pub fn parse_hhmm(text: &str) -> Option<(u8, u8)> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m) = (h.parse::<u8>().ok()?, m.parse::<u8>().ok()?);
    (h < 24 && m < 60).then_some((h, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_parse_strictly() {
        assert_eq!(parse_hhmm("09:00"), Some((9, 0)));
        assert_eq!(parse_hhmm("23:59"), Some((23, 59)));
        for bad in ["24:00", "9:00", "09:60", "0900", "ab:cd", ""] {
            assert_eq!(parse_hhmm(bad), None, "{bad}");
        }
    }
}
