//! The matter channel: WebSocket frames (subprotocol [`SUBPROTOCOL`]) and the event envelope that
//! carries every kind of matter event, plus the REST history page.
//!
//! Delivery semantics (documented for client authors in `protocol/README.md`):
//! - every stored event has a per-matter `seq`, gap-free and assigned when the event is committed;
//! - a [`ClientFrame::Send`] is acknowledged ([`ServerFrame::Ack`]) only after it is durable, and a
//!   resend with the same `client_msg_id` returns the same `seq` (`duplicate: true`);
//! - [`ClientFrame::Subscribe`] with `since = N` replays every event after `N`, then continues live,
//!   with no gap and no duplicate; [`ServerFrame::Subscribed`] marks the end of the replay;
//! - a receiver that sees a `seq` jump fetches the gap (REST history) before applying later events.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::billing::{InvoiceStatus, PaymentStatus};
use crate::documents::Category;
use crate::error::ErrorCode;
use crate::ids::{
    DeviceId, DocumentId, InvoiceId, MatterId, MilestoneId, PaymentId, SessionId, UserId,
};
use crate::milestones::MilestoneStatus;
use crate::text::Text;

/// The WebSocket subprotocol a client must offer.
pub const SUBPROTOCOL: &str = "docket.v1";

/// Largest text frame the server accepts, in bytes. Larger ones are answered with an error frame
/// (`payload_too_large`); frames beyond [`HARD_FRAME_LIMIT_BYTES`] close the connection (1009).
pub const MAX_FRAME_BYTES: usize = 16 * 1024;
/// The transport limit: a frame larger than this cannot even be read.
pub const HARD_FRAME_LIMIT_BYTES: usize = 64 * 1024;
/// Longest message text, in characters.
pub const MAX_MESSAGE_CHARS: usize = 8_000;

/// WebSocket close codes the server uses, beyond the standard ones.
pub mod close {
    /// The session ended (expired, revoked or signed out): sign in again, do not resume blindly.
    pub const SESSION_ENDED: u16 = 4001;
    /// The client read too slowly; reconnect and resume from the last `seq` seen.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// Too many sockets for this user or address.
    pub const TOO_MANY_CONNECTIONS: u16 = 4029;
    /// The server is shutting down (standard 1012): reconnect, to another node if there is one.
    pub const SERVICE_RESTART: u16 = 1012;
    /// The client stopped answering pings (standard 1001).
    pub const GOING_AWAY: u16 = 1001;
    /// The client broke RFC 6455 (standard 1002): an unmasked frame, reserved bits or opcodes, a
    /// control frame over 125 bytes or fragmented, a continuation with nothing to continue, a new
    /// message inside a fragmented one, a 1-byte close payload or a close code no one may send.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text message or close reason that is not valid UTF-8 (standard 1007).
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A frame or message over [`HARD_FRAME_LIMIT_BYTES`](super::HARD_FRAME_LIMIT_BYTES)
    /// (standard 1009).
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The server failed in a way it did not foresee (standard 1011).
    pub const INTERNAL_ERROR: u16 = 1011;
}

/// Online or away, per matter participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PresenceState {
    Online,
    Away,
    Offline,
}

/// Frames a client sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Start receiving a matter's events; with `since`, first replay everything after it.
    Subscribe {
        matter_id: MatterId,
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        since: Option<u64>,
    },
    /// Stop receiving a matter's events.
    Unsubscribe { matter_id: MatterId },
    /// Post a message. `client_msg_id` makes a resend idempotent.
    Send {
        matter_id: MatterId,
        client_msg_id: Uuid,
        text: Text,
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        reply_to: Option<u64>,
    },
    /// Change the text of one's own message; the previous text stays in the record.
    Edit {
        matter_id: MatterId,
        client_msg_id: Uuid,
        target_seq: u64,
        text: Text,
    },
    /// Withdraw one's own message; others see a tombstone, the record keeps the original.
    Delete {
        matter_id: MatterId,
        client_msg_id: Uuid,
        target_seq: u64,
    },
    /// "I have read up to `seq`". Positions only move forward.
    Read { matter_id: MatterId, seq: u64 },
    /// "I am typing" (ephemeral, never stored).
    Typing { matter_id: MatterId },
    /// Online or away, for every subscribed matter.
    Presence { state: PresenceState },
    /// "I am looking at this matter now" (the tab is visible and shows it), or at none. While a
    /// user looks at a matter, its news reaches them on screen and nowhere else: no toast, push
    /// or e-mail. Lapses with the connection.
    Viewing {
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        matter_id: Option<MatterId>,
    },
}

/// Why the server stopped a subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum UnsubscribeReason {
    /// The client asked.
    Requested,
    /// The user's access to the matter was revoked.
    AccessRevoked,
}

/// Someone's presence in a matter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PresenceEntry {
    pub user_id: UserId,
    pub state: PresenceState,
}

/// How far someone has read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReadPosition {
    pub user_id: UserId,
    pub seq: u64,
}

/// Frames the server sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection.
    Hello {
        protocol: String,
        session_id: SessionId,
        user_id: UserId,
        /// The server pings this often; a client that hears nothing for twice as long reconnects.
        heartbeat_seconds: u64,
        max_frame_bytes: u64,
    },
    /// One matter event (replayed or live).
    Event { event: Event },
    /// The replay requested by `subscribe` is complete; live events follow. `head_seq` is the last
    /// event that exists now; `presence` and `reads` are who is here and how far they have read
    /// (read positions of clients are shown to the firm; of the firm to clients only if configured).
    Subscribed {
        matter_id: MatterId,
        head_seq: u64,
        presence: Vec<PresenceEntry>,
        reads: Vec<ReadPosition>,
    },
    /// The subscription ended.
    Unsubscribed {
        matter_id: MatterId,
        reason: UnsubscribeReason,
    },
    /// A send, edit or delete is durable as event `seq`.
    Ack {
        matter_id: MatterId,
        client_msg_id: Uuid,
        seq: u64,
        /// True when this `client_msg_id` had already been stored (a resend).
        duplicate: bool,
    },
    /// A frame was refused; the connection stays open.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        matter_id: Option<MatterId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        client_msg_id: Option<Uuid>,
    },
    /// Someone's presence changed.
    Presence {
        matter_id: MatterId,
        user_id: UserId,
        state: PresenceState,
    },
    /// Someone is typing.
    Typing {
        matter_id: MatterId,
        user_id: UserId,
    },
    /// Someone's read position moved.
    Read {
        matter_id: MatterId,
        user_id: UserId,
        seq: u64,
    },
    /// An alert for this user (e.g. a client uploaded a document on their matter), as it is raised.
    Alert { alert: crate::auth::Alert },
    /// The matters this user may see, or what they may see of them, may have changed (a grant was
    /// given or taken away): reload the matter list.
    MattersChanged,
}

/// The envelope of every matter event. New kinds are added to [`EventBody`]; a client that does
/// not know a kind still advances its `seq` past it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Event {
    pub matter_id: MatterId,
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub at: OffsetDateTime,
    /// Who caused it; none for system events.
    pub author_id: Option<UserId>,
    /// The sender's id for its own frame, so it can match the event to its optimistic copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub client_msg_id: Option<Uuid>,
    /// For per-device delivery (end-to-end encrypted matters): the devices the event is for.
    /// Absent means everyone entitled to see the matter's events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub devices: Option<Vec<DeviceId>>,
    pub body: EventBody,
}

/// What happened. Tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    /// A message. `text` is absent once the author deleted it (`deleted: true`).
    Message {
        text: Option<String>,
        reply_to: Option<u64>,
        deleted: bool,
    },
    /// The author changed message `target_seq` to `text` (absent if later deleted).
    Edit {
        target_seq: u64,
        text: Option<String>,
    },
    /// The author withdrew message `target_seq`.
    Delete { target_seq: u64 },
    /// A notice from the portal itself (e.g. "access granted to …").
    System { text: String },
    /// A document version reached the client's side: the firm published it (a new document or a
    /// new version), or a client uploaded it. Shown as a card; the content is fetched over REST.
    Document {
        document_id: DocumentId,
        version: u32,
        title: String,
        category: Category,
        action: DocumentAction,
    },
    /// A fee earner updated a milestone of the matter's timeline (its status, title or client
    /// action). Only client users with the milestones scope receive it. Shown as a card; the
    /// whole timeline is fetched over REST.
    Milestone {
        milestone_id: MilestoneId,
        title: String,
        status: MilestoneStatus,
        client_action: Option<String>,
    },
    /// The firm issued an invoice on the matter. Only users with the invoices scope receive it.
    /// Shown as a card with Pay while `amount_due_minor` is above zero; the invoice's current
    /// state is fetched over REST, and later `payment` cards for the same invoice supersede the
    /// amount shown here.
    Invoice {
        invoice_id: InvoiceId,
        number: String,
        total_minor: i64,
        amount_due_minor: i64,
        currency: String,
        due_on: String,
    },
    /// Something happened to a payment of an invoice (it is processing, succeeded, failed, was
    /// refunded or disputed), and what the invoice owes after it. Invoices scope only.
    Payment {
        invoice_id: InvoiceId,
        invoice_number: String,
        payment_id: PaymentId,
        status: PaymentStatus,
        amount_minor: i64,
        /// What the invoice owes after this.
        balance_minor: i64,
        invoice_status: InvoiceStatus,
        /// Why it failed, for the payer.
        failure_reason: Option<String>,
    },
    /// A kind this version does not know; skip it.
    #[serde(other)]
    Unknown,
}

/// What happened to a document, in a channel card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DocumentAction {
    Published,
    Uploaded,
}

/// `GET /api/v1/matters/{matter_id}/events`: a page of history, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EventPage {
    pub events: Vec<Event>,
    /// The matter's newest `seq` now.
    pub head_seq: u64,
    /// More events follow the last one on this page.
    pub more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_with_their_tags() {
        let frame: ClientFrame = serde_json::from_str(
            r#"{"type":"send","matter_id":"018f0000-0000-7000-8000-000000000001","client_msg_id":"018f0000-0000-7000-8000-000000000002","text":"hello"}"#,
        )
        .expect("a send frame");
        assert!(matches!(frame, ClientFrame::Send { reply_to: None, .. }));
        let event = Event {
            matter_id: MatterId(Uuid::nil()),
            seq: 7,
            at: OffsetDateTime::UNIX_EPOCH,
            author_id: None,
            client_msg_id: None,
            devices: None,
            body: EventBody::System { text: "hi".into() },
        };
        let json = serde_json::to_value(ServerFrame::Event { event }).expect("json");
        assert_eq!(json["type"], "event");
        assert_eq!(json["event"]["body"]["kind"], "system");
    }

    #[test]
    fn unknown_event_kinds_are_skippable() {
        let body: EventBody =
            serde_json::from_str(r#"{"kind":"invoice_issued","amount":100}"#).expect("tolerated");
        assert_eq!(body, EventBody::Unknown);
    }
}
