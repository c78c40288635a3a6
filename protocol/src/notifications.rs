//! Notifications beyond the open tab: what each user is told, on which channel and how often,
//! their quiet hours, and the Web Push subscription of each device.
//!
//! A notice never carries content: it names its kind, the matter's reference and title (only the
//! reference for an end-to-end-encrypted matter) and how many things happened.

use serde::{Deserialize, Serialize};

use crate::ids::PracticeAreaId;

/// What a notice is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A message from the other side of the matter.
    Message,
    /// The firm published a document to the client.
    Document,
    /// A client uploaded a document for the firm to handle.
    ClientUpload,
    /// A document version waits for my review.
    Review,
    /// A step of the matter needs the client's action now.
    ClientAction,
    /// An invoice was issued or fell overdue.
    Invoice,
    /// A payment was received.
    Payment,
    /// A sign-in from a new device, a locked second factor: always on.
    Security,
}

impl NoticeKind {
    /// Every kind, in the order settings show them.
    pub const ALL: [Self; 8] = [
        Self::Message,
        Self::Document,
        Self::ClientUpload,
        Self::Review,
        Self::ClientAction,
        Self::Invoice,
        Self::Payment,
        Self::Security,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Document => "document",
            Self::ClientUpload => "client_upload",
            Self::Review => "review",
            Self::ClientAction => "client_action",
            Self::Invoice => "invoice",
            Self::Payment => "payment",
            Self::Security => "security",
        }
    }

    /// The kind stored as `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether a user may change how they are told (security notices cannot be turned off).
    pub fn tunable(self) -> bool {
        self != Self::Security
    }
}

/// Where a notice reaches the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NoticeChannel {
    /// A toast in an open Docket tab, and the alerts list on the Account page.
    InApp,
    /// Web Push to every device that enabled notifications.
    Push,
    /// E-mail to the account's address.
    Email,
}

impl NoticeChannel {
    pub const ALL: [Self; 3] = [Self::InApp, Self::Push, Self::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InApp => "in_app",
            Self::Push => "push",
            Self::Email => "email",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// How often a channel tells the user of a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// As it happens (bursts fold into one notice).
    Immediate,
    /// In one e-mail a day, at the user's digest hour (e-mail only).
    Digest,
    Off,
}

impl Frequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Immediate => "immediate",
            Self::Digest => "digest",
            Self::Off => "off",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Immediate, Self::Digest, Self::Off]
            .into_iter()
            .find(|f| f.as_str() == name)
    }
}

/// Where a preference's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PreferenceSource {
    /// The user chose it.
    User,
    /// The firm's default (for the practice area of the user's first matter).
    Firm,
    /// Docket's default.
    BuiltIn,
    /// Fixed: security notices, and channels a kind does not use.
    Fixed,
}

/// One cell of the preference grid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Preference {
    pub kind: NoticeKind,
    pub channel: NoticeChannel,
    pub frequency: Frequency,
    pub source: PreferenceSource,
}

/// Hours in which nothing interrupts a firm user (push and e-mail wait until they end), `HH:MM`
/// in the user's time zone; `start` after `end` runs across midnight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

/// `GET /api/v1/me/notifications`: the grid, the schedule, and this device's push state.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NotificationSettings {
    /// The kinds this user can receive, each with every channel.
    pub preferences: Vec<Preference>,
    /// An IANA time zone name, e.g. `Europe/London`.
    pub time_zone: String,
    /// Firm users only.
    pub quiet_hours: Option<QuietHours>,
    /// Whether this user may set quiet hours (firm users).
    pub quiet_hours_allowed: bool,
    /// The hour (0–23, in `time_zone`) at which the daily digest goes.
    pub digest_hour: u8,
    /// Web Push on the device making the request.
    pub push: PushState,
}

/// Web Push on one device.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PushState {
    /// The server's VAPID public key (RFC 8292), base64url: the browser's
    /// `applicationServerKey`. Absent when this server cannot push now.
    pub vapid_public_key: Option<String>,
    /// Whether this device has a subscription.
    pub subscribed: bool,
}

/// One change to the grid; `frequency` absent returns the cell to the default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PreferenceChange {
    pub kind: NoticeKind,
    pub channel: NoticeChannel,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub frequency: Option<Frequency>,
}

/// `PATCH /api/v1/me/notifications`: what changes; absent fields stay.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateNotificationSettings {
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub preferences: Option<Vec<PreferenceChange>>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub time_zone: Option<String>,
    /// Set quiet hours; see `clear_quiet_hours` to remove them.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub quiet_hours: Option<QuietHours>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub clear_quiet_hours: Option<bool>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub digest_hour: Option<u8>,
}

/// `PUT /api/v1/me/push-subscription`: the browser's `PushSubscription.toJSON()`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PushSubscriptionRequest {
    pub endpoint: String,
    pub keys: PushKeys,
}

/// The browser's keys, base64url: its P-256 public key and its 16-byte secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

/// Who a practice-area default applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Firm,
    Client,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firm => "firm",
            Self::Client => "client",
        }
    }
}

/// One of a practice area's defaults; `frequency` absent removes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NotificationDefault {
    pub audience: Audience,
    pub kind: NoticeKind,
    pub channel: NoticeChannel,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub frequency: Option<Frequency>,
}

/// `PUT /api/v1/practice-areas/{id}/notifications`: the firm's defaults and escalation.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PracticeAreaNotifications {
    #[serde(default)]
    pub defaults: Vec<NotificationDefault>,
    /// Working hours a client message may wait for the firm's answer before the fee earner, then
    /// the supervising partner, is alerted (1–400); absent turns escalation off.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub escalation_working_hours: Option<u32>,
}

/// `GET /api/v1/practice-areas/{id}/notifications`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PracticeAreaNotificationsView {
    pub practice_area_id: PracticeAreaId,
    pub defaults: Vec<NotificationDefault>,
    pub escalation_working_hours: Option<u32>,
}
