//! Practice areas, clients, users, matters and per-matter grants.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{ClientId, InvitationId, MatterId, PracticeAreaId, UserId};
use crate::text::Text;

/// The role of a member of the firm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FirmRole {
    /// Manages the portal; sees every matter.
    Admin,
    /// Sees every matter (supervision).
    Partner,
    /// Sees the matters they are responsible for or on the team of.
    FeeEarner,
    /// Support staff; sees the matters they are on the team of.
    Staff,
}

/// The role of a client user within their client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ClientRole {
    /// Sees every matter of the client (e.g. general counsel).
    ClientAdmin,
    /// Sees only the matters granted to them, in the granted scopes.
    Member,
    /// Sees the invoices of every matter of the client, and nothing else.
    Finance,
}

/// Whether a client is an organisation or a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    Corporate,
    Private,
}

/// What a grant on a matter lets a client user see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Messages,
    Documents,
    Milestones,
    Invoices,
}

/// A matter's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MatterStatus {
    Open,
    Closed,
}

/// How a matter's channel is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// The server stores the channel and can read it; access is enforced by the database, and
    /// documents are encrypted at rest in the vault.
    #[default]
    Standard,
    /// Reserved for end-to-end encrypted channels (MLS), which Docket does not provide yet: the
    /// server and the database refuse it rather than promise what they do not do.
    E2ee,
}

/// How much of a matter's progress clients see.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DetailLevel {
    /// A step-by-step path (e.g. conveyancing).
    Detailed,
    /// A few high-level stages (e.g. advisory work).
    #[default]
    HighLevel,
}

/// Firm user, client user, or one of the firm's systems (a service account, which never signs in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    Firm,
    Client,
    Service,
}

/// A user as shown to themselves and to the firm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserProfile {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub kind: UserKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firm_role: Option<FirmRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_role: Option<ClientRole>,
}

/// A person named on a matter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PersonRef {
    pub user_id: UserId,
    pub display_name: String,
}

/// A practice area and its portal settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PracticeArea {
    pub practice_area_id: PracticeAreaId,
    pub name: String,
    pub portal_enabled: bool,
    pub detail_level: DetailLevel,
    pub show_time_entries: bool,
}

/// `PATCH /api/v1/practice-areas/{practice_area_id}` (firm admins): what clients see of the
/// area's matters.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdatePracticeAreaRequest {
    /// Whether clients with the invoices scope see the time entries of the area's matters.
    pub show_time_entries: bool,
}

/// A client of the firm.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Client {
    pub client_id: ClientId,
    pub kind: ClientKind,
    pub name: String,
}

/// `POST /api/v1/clients`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CreateClientRequest {
    pub kind: ClientKind,
    pub name: Text,
}

/// `POST /api/v1/clients/{client_id}/users`: invite a client user by e-mail.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InviteClientUserRequest {
    pub email: String,
    pub display_name: Text,
    pub role: ClientRole,
}

/// The answer to an invitation: the link itself goes to the invitee by e-mail only.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Invited {
    pub user_id: UserId,
    pub invitation_id: InvitationId,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub expires_at: OffsetDateTime,
}

/// A matter as listed for the viewer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MatterSummary {
    pub matter_id: MatterId,
    pub reference: String,
    pub title: String,
    pub client_id: ClientId,
    pub client_name: String,
    pub practice_area: String,
    pub status: MatterStatus,
    pub sensitivity: Sensitivity,
    pub responsible_fee_earner: PersonRef,
    /// What the viewer may see of this matter.
    pub scopes: Vec<Scope>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub opened_at: OffsetDateTime,
    /// Where the viewer stands in the matter's channel.
    pub activity: MatterActivity,
    /// The title of the matter's current milestone (the first in progress, else the first
    /// upcoming); none without the milestones scope or when there is none.
    pub current_stage: Option<String>,
}

/// The viewer's position in a matter's channel, for the matter list. Counts only events the viewer
/// may see: without the messages scope there is nothing unread and no read position.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MatterActivity {
    /// The seq of the newest event the viewer may see; 0 when there is none.
    pub head_seq: u64,
    /// How far the viewer has read; 0 when they have not.
    pub read_seq: u64,
    /// Messages from others after `read_seq`, not deleted; capped at [`MAX_UNREAD`].
    pub unread: u32,
    /// When the newest event the viewer may see was written.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub last_activity_at: Option<OffsetDateTime>,
}

/// The most unread messages counted per matter ("999+" beyond), so a long-unread matter costs no
/// more than a busy one.
pub const MAX_UNREAD: u32 = 999;

/// A client user's access to a matter.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Grant {
    pub user_id: UserId,
    pub display_name: String,
    pub scopes: Vec<Scope>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub granted_at: OffsetDateTime,
}

/// A matter with the people on it. Firm users see the team and every grant; client users see the
/// team and their own grant only. Everyone sees the participants.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MatterDetail {
    #[serde(flatten)]
    pub summary: MatterSummary,
    pub team: Vec<PersonRef>,
    pub grants: Vec<Grant>,
    /// Who takes part in the channel: the responsible fee earner and team, and the client users who
    /// can see its messages. Names only, for every viewer.
    pub participants: Vec<Participant>,
    /// The client's message the firm has not answered yet, and how far that wait was escalated
    /// (firm users only; absent when nobody waits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub awaiting_reply: Option<AwaitingReply>,
}

/// A client waiting for the firm's answer on a matter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AwaitingReply {
    /// When the first unanswered client message came.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub since: OffsetDateTime,
    /// Its seq in the channel.
    pub since_seq: u64,
    /// 0 waiting; 1 the responsible fee earner was reminded; 2 the supervising partner was told.
    pub escalation_level: u8,
}

/// Someone who takes part in a matter's channel, as shown beside messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Participant {
    pub user_id: UserId,
    pub display_name: String,
    pub kind: UserKind,
}

/// `POST /api/v1/matters`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CreateMatterRequest {
    pub reference: Text,
    pub title: Text,
    pub client_id: ClientId,
    pub practice_area_id: PracticeAreaId,
    pub responsible_fee_earner_id: UserId,
    #[serde(default)]
    pub sensitivity: Sensitivity,
    /// Further firm users on the team.
    #[serde(default)]
    pub team: Vec<UserId>,
}

/// `PUT /api/v1/matters/{matter_id}/grants/{user_id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GrantRequest {
    pub scopes: Vec<Scope>,
}

/// Gives a unit enum `as_str` and `FromStr` using its wire names, which are also the values stored
/// in the database's text columns.
macro_rules! wire_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The wire (and database) name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::directory::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(Self::$variant),)+
                    other => Err($crate::directory::UnknownName(other.to_owned())),
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_names;

/// A name that is not one of an enum's wire names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName(pub String);

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown name {:?}", self.0)
    }
}

impl std::error::Error for UnknownName {}

wire_names!(FirmRole { Admin => "admin", Partner => "partner", FeeEarner => "fee_earner", Staff => "staff" });
wire_names!(ClientRole { ClientAdmin => "client_admin", Member => "member", Finance => "finance" });
wire_names!(ClientKind { Corporate => "corporate", Private => "private" });
wire_names!(Scope { Messages => "messages", Documents => "documents", Milestones => "milestones", Invoices => "invoices" });
wire_names!(MatterStatus { Open => "open", Closed => "closed" });
wire_names!(Sensitivity { Standard => "standard", E2ee => "e2ee" });
wire_names!(DetailLevel { Detailed => "detailed", HighLevel => "high_level" });
wire_names!(UserKind { Firm => "firm", Client => "client", Service => "service" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for scope in [
            Scope::Messages,
            Scope::Documents,
            Scope::Milestones,
            Scope::Invoices,
        ] {
            assert_eq!(
                serde_json::to_string(&scope).expect("json"),
                format!("\"{scope}\"")
            );
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert_eq!(
            serde_json::to_string(&ClientRole::ClientAdmin).expect("json"),
            "\"client_admin\""
        );
        assert!("owner".parse::<FirmRole>().is_err());
    }
}
