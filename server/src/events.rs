//! What happened on a matter's channel, as the server knows it: the body of a `channel_event` row.
//!
//! Domains build a [`Body`] (a message, an edit, a document, milestone, invoice or payment card) and hand
//! it to the channel store; the channel only stores and delivers it. This module is the one place
//! where a body meets its two outside forms:
//! - the database: the `channel_event.kind` column and the `body` jsonb ([`Body::to_stored`],
//!   [`Body::from_stored`]). Bodies are kept as written, forever (they are the legal record), so
//!   the stored form never changes shape: a new field must be optional, a new card a new kind;
//! - the wire: [`EventBody`] ([`Body::to_wire`]), where a deleted message and its edits lose their
//!   text while the record keeps it.
//!
//! A new kind of card is a new variant here (and in the protocol's [`EventBody`]); nothing in
//! `channels/` changes. Why a server-side enum rather than `EventBody` itself: see
//! `docs/decisions/0022-typed-channel-events.md`.

use docket_protocol::billing::{InvoiceStatus, PaymentStatus};
use docket_protocol::channel::{DocumentAction, EventBody};
use docket_protocol::directory::Scope;
use docket_protocol::documents::Category;
use docket_protocol::ids::{DocumentId, InvoiceId, MilestoneId, PaymentId};
use docket_protocol::milestones::MilestoneStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body of one channel event. The variant's name is the stored `kind` (snake_case) and its
/// fields are the stored `body`, key for key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum Body {
    /// A chat message, optionally replying to an earlier event.
    Message { text: String, reply_to: Option<u64> },
    /// The author changed message `target_seq` to `text`.
    Edit { target_seq: u64, text: String },
    /// The author withdrew message `target_seq`.
    Delete { target_seq: u64 },
    /// A notice from the portal itself.
    System { text: String },
    /// The firm published a document version to the client.
    DocumentPublished(DocumentCard),
    /// A client uploaded a document.
    DocumentUploaded(DocumentCard),
    /// A fee earner changed what the client sees of a milestone.
    Milestone {
        milestone_id: MilestoneId,
        title: String,
        status: MilestoneStatus,
        client_action: Option<String>,
    },
    /// The firm's billing system issued an invoice.
    Invoice(InvoiceCard),
    /// A payment of an invoice changed state (or the billing system recorded one).
    Payment(PaymentCard),
}

/// An invoice card: what the client owes on it as issued. Later payment cards carry the balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceCard {
    pub invoice_id: InvoiceId,
    pub number: String,
    pub total_minor: i64,
    pub amount_due_minor: i64,
    pub currency: String,
    pub due_on: String,
}

/// A payment card: what happened to one payment, and what the invoice owes after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentCard {
    pub invoice_id: InvoiceId,
    pub invoice_number: String,
    pub payment_id: PaymentId,
    pub status: PaymentStatus,
    pub amount_minor: i64,
    pub balance_minor: i64,
    pub invoice_status: InvoiceStatus,
    pub failure_reason: Option<String>,
}

/// A document card: which version reached the client's side. The content is fetched over REST.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentCard {
    pub document_id: DocumentId,
    pub version: u32,
    pub title: String,
    pub category: Category,
}

/// The stored kind of an edit, and the key of its body naming the edited message: the database
/// finds a deleted message's edits by them, to withhold their text too. A test pins both to the
/// serialised [`Body::Edit`].
pub const EDIT_KIND: &str = "edit";
/// See [`EDIT_KIND`].
pub const EDIT_TARGET_KEY: &str = "target_seq";

/// The two columns a body is stored in, as serde's adjacent tagging lays them out.
#[derive(Deserialize)]
struct Columns {
    kind: String,
    body: Value,
}

impl Body {
    /// The scope a user needs to see the event. Notices from the portal go with the conversation.
    pub fn scope(&self) -> Scope {
        match self {
            Self::Message { .. }
            | Self::Edit { .. }
            | Self::Delete { .. }
            | Self::System { .. } => Scope::Messages,
            Self::DocumentPublished(_) | Self::DocumentUploaded(_) => Scope::Documents,
            Self::Milestone { .. } => Scope::Milestones,
            Self::Invoice(_) | Self::Payment(_) => Scope::Invoices,
        }
    }

    /// The `channel_event.kind` and `body` columns for this body.
    pub fn to_stored(&self) -> serde_json::Result<(String, Value)> {
        let columns: Columns = serde_json::from_value(serde_json::to_value(self)?)?;
        Ok((columns.kind, columns.body))
    }

    /// Reads the `kind` and `body` columns back. An error is a kind this server does not know or a
    /// body it cannot read; its message may quote the body, so it must not be logged as is.
    pub fn from_stored(kind: &str, body: Value) -> serde_json::Result<Self> {
        let columns = Map::from_iter([
            ("kind".to_owned(), Value::from(kind)),
            ("body".to_owned(), body),
        ]);
        Self::deserialize(Value::Object(columns))
    }

    /// The body as clients see it. `redacted`: the author deleted the message (or the message
    /// this edit changed), so its text is withheld.
    pub fn to_wire(&self, redacted: bool) -> EventBody {
        let text = |text: &String| (!redacted).then(|| text.clone());
        match self {
            Self::Message {
                text: body,
                reply_to,
            } => EventBody::Message {
                text: text(body),
                reply_to: *reply_to,
                deleted: redacted,
            },
            Self::Edit {
                target_seq,
                text: body,
            } => EventBody::Edit {
                target_seq: *target_seq,
                text: text(body),
            },
            Self::Delete { target_seq } => EventBody::Delete {
                target_seq: *target_seq,
            },
            Self::System { text } => EventBody::System { text: text.clone() },
            Self::DocumentPublished(card) => card.to_wire(DocumentAction::Published),
            Self::DocumentUploaded(card) => card.to_wire(DocumentAction::Uploaded),
            Self::Milestone {
                milestone_id,
                title,
                status,
                client_action,
            } => EventBody::Milestone {
                milestone_id: *milestone_id,
                title: title.clone(),
                status: *status,
                client_action: client_action.clone(),
            },
            Self::Invoice(card) => EventBody::Invoice {
                invoice_id: card.invoice_id,
                number: card.number.clone(),
                total_minor: card.total_minor,
                amount_due_minor: card.amount_due_minor,
                currency: card.currency.clone(),
                due_on: card.due_on.clone(),
            },
            Self::Payment(card) => EventBody::Payment {
                invoice_id: card.invoice_id,
                invoice_number: card.invoice_number.clone(),
                payment_id: card.payment_id,
                status: card.status,
                amount_minor: card.amount_minor,
                balance_minor: card.balance_minor,
                invoice_status: card.invoice_status,
                failure_reason: card.failure_reason.clone(),
            },
        }
    }

    /// Whether this is a chat message (what an edit or a deletion may target).
    pub fn is_message(&self) -> bool {
        matches!(self, Self::Message { .. })
    }
}

impl DocumentCard {
    fn to_wire(&self, action: DocumentAction) -> EventBody {
        EventBody::Document {
            document_id: self.document_id,
            version: self.version,
            title: self.title.clone(),
            category: self.category,
            action,
        }
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
