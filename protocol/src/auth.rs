//! Sign-in, MFA, sessions, devices, invitations and alerts.
//!
//! Sign-in is two steps: the password opens a session in an MFA stage, and only a TOTP (or
//! recovery) code, or enrolment on first sign-in, makes it `active`. Browsers receive the session as
//! an HttpOnly cookie plus a CSRF token to echo in `X-CSRF-Token`; the SDK and mobile apps ask for a
//! bearer token instead.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::billing::PaymentStatus;
use crate::directory::UserProfile;
use crate::ids::{AlertId, DeviceId, DocumentId, InvoiceId, MatterId, SessionId};

/// How the session token is handed over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TokenDelivery {
    /// HttpOnly cookies (session and device) and a CSRF token in the body. For browsers.
    #[default]
    Cookie,
    /// Session and device tokens in the body, for `Authorization: Bearer`. For the SDK and apps.
    Bearer,
}

/// `POST /api/v1/auth/sign-in`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub token_delivery: TokenDelivery,
    /// For bearer clients: the device token returned by an earlier sign-in, so the device is
    /// recognised. Browsers send it as a cookie instead.
    #[serde(default)]
    pub device_token: Option<String>,
}

/// Where a session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SessionStage {
    /// Password accepted; a TOTP or recovery code is needed next.
    MfaRequired,
    /// Password accepted; the user has no second factor yet and must enrol one now.
    MfaEnrolmentRequired,
    /// Fully signed in.
    Active,
}

/// The answer to every step that creates or upgrades a session.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionGrant {
    pub stage: SessionStage,
    /// Bearer delivery only: the session token. Replaced at every change of stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Bearer delivery only, and only when a device was first seen: the device token to send on
    /// later sign-ins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// Cookie delivery only: the value to send in `X-CSRF-Token` on unsafe requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    /// When the session ends at the latest (absolute lifetime).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub expires_at: OffsetDateTime,
    /// Inactivity after which the server ends the session.
    pub idle_timeout_seconds: u64,
}

/// `POST /api/v1/auth/mfa/enrolment`: a new TOTP secret to show as a QR code.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MfaEnrolment {
    /// Base32, for manual entry.
    pub secret: String,
    /// `otpauth://totp/...` URI for a QR code.
    pub otpauth_uri: String,
}

/// A six-digit TOTP code.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MfaCode {
    pub code: String,
}

/// `POST /api/v1/auth/mfa/enrolment/confirm` answer. The recovery codes are shown once only.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MfaEnrolled {
    pub recovery_codes: Vec<String>,
    pub session: SessionGrant,
}

/// `POST /api/v1/auth/mfa/verify`: exactly one of the two.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MfaVerifyRequest {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// `POST /api/v1/auth/reauthenticate`: password and a current TOTP code, before sensitive changes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReauthenticateRequest {
    pub password: String,
    pub code: String,
}

/// `GET /api/v1/auth/session`: who is signed in.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CurrentSession {
    pub session_id: SessionId,
    pub device_id: DeviceId,
    pub stage: SessionStage,
    pub user: UserProfile,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub expires_at: OffsetDateTime,
    pub idle_timeout_seconds: u64,
}

/// One of the user's sessions, in `GET /api/v1/me/sessions`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionInfo {
    pub session_id: SessionId,
    pub device_id: DeviceId,
    pub device_label: String,
    pub source_ip: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub last_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub expires_at: OffsetDateTime,
    /// True for the session making the request.
    pub current: bool,
}

/// One of the user's devices, in `GET /api/v1/me/devices`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeviceInfo {
    pub device_id: DeviceId,
    pub label: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub first_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub last_seen_at: OffsetDateTime,
    pub current: bool,
}

/// What an alert is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertDetail {
    /// A sign-in from a device not seen before for this user.
    NewDevice {
        device_id: DeviceId,
        device_label: String,
        source_ip: Option<String>,
    },
    /// A client user uploaded a document on a matter this fee earner is responsible for.
    ClientUpload {
        matter_id: MatterId,
        document_id: DocumentId,
        title: String,
        uploaded_by: String,
    },
    /// A payment on a matter this fee earner is responsible for succeeded, failed, was refunded
    /// or disputed.
    Payment {
        matter_id: MatterId,
        invoice_id: InvoiceId,
        invoice_number: String,
        status: PaymentStatus,
        amount_minor: i64,
    },
    /// Wrong codes locked the user's second factor or re-authentication: whoever entered them
    /// knew the password (or holds a signed-in session), so the password should be reset.
    MfaLocked { source_ip: Option<String> },
    /// News on a matter (`count` things of one kind since the last notice). Names the matter,
    /// never the content; an end-to-end-encrypted matter by its reference only.
    Notice {
        notice: crate::notifications::NoticeKind,
        matter_id: Option<MatterId>,
        reference: Option<String>,
        title: Option<String>,
        count: u32,
    },
    /// A client has waited for the firm's answer on a matter past the practice area's working
    /// hours: level 1 tells the responsible fee earner again, level 2 the supervising partner.
    Escalation {
        matter_id: MatterId,
        reference: String,
        #[serde(with = "time::serde::rfc3339")]
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        waiting_since: OffsetDateTime,
        level: u8,
    },
}

/// An alert for the user, in `GET /api/v1/me/alerts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Alert {
    pub alert_id: AlertId,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: OffsetDateTime,
    pub read: bool,
    pub detail: AlertDetail,
}

/// `POST /api/v1/invitations/accept`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AcceptInvitationRequest {
    /// The token from the invitation link.
    pub token: String,
    /// The new password: 12 to 256 characters.
    pub password: String,
}

crate::directory::wire_names!(SessionStage {
    MfaRequired => "mfa_required",
    MfaEnrolmentRequired => "mfa_enrolment_required",
    Active => "active",
});
