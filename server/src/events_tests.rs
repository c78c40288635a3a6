use docket_protocol::billing::{InvoiceStatus, PaymentStatus};
use docket_protocol::channel::{DocumentAction, EventBody};
use docket_protocol::directory::Scope;
use docket_protocol::documents::Category;
use docket_protocol::ids::{DocumentId, InvoiceId, MilestoneId, PaymentId};
use docket_protocol::milestones::MilestoneStatus;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Body, DocumentCard, InvoiceCard, PaymentCard, EDIT_KIND, EDIT_TARGET_KEY};

const DOCUMENT: &str = "0190f3a1-7c2e-7d4b-9a51-3f6c2b8e9d10";
const MILESTONE: &str = "0190f3a1-7c2e-7d4b-9a51-3f6c2b8e9d11";
const INVOICE: &str = "0190f3a1-7c2e-7d4b-9a51-3f6c2b8e9d12";
const PAYMENT: &str = "0190f3a1-7c2e-7d4b-9a51-3f6c2b8e9d13";

fn document_id() -> DocumentId {
    DocumentId(Uuid::parse_str(DOCUMENT).expect("uuid"))
}

fn milestone_id() -> MilestoneId {
    MilestoneId(Uuid::parse_str(MILESTONE).expect("uuid"))
}

fn card(version: u32) -> DocumentCard {
    DocumentCard {
        document_id: document_id(),
        version,
        title: "Completion statement".into(),
        category: Category::Financial,
    }
}

/// Every kind as the server wrote it before bodies were typed (each `json!` copied from its call
/// site, with sample values), and the body it must read as. These rows are in the record forever.
fn stored_today() -> Vec<(&'static str, Value, Body)> {
    vec![
        (
            "message",
            json!({ "text": "The price is 1,000,000", "reply_to": null }),
            Body::Message {
                text: "The price is 1,000,000".into(),
                reply_to: None,
            },
        ),
        (
            "message",
            json!({ "text": "Agreed", "reply_to": 7 }),
            Body::Message {
                text: "Agreed".into(),
                reply_to: Some(7),
            },
        ),
        (
            "edit",
            json!({ "target_seq": 3, "text": "The price is 1,100,000" }),
            Body::Edit {
                target_seq: 3,
                text: "The price is 1,100,000".into(),
            },
        ),
        (
            "delete",
            json!({ "target_seq": 3 }),
            Body::Delete { target_seq: 3 },
        ),
        (
            "document_uploaded",
            json!({ "document_id": DOCUMENT, "version": 1, "title": "Completion statement",
                    "category": Category::Financial.as_str() }),
            Body::DocumentUploaded(card(1)),
        ),
        (
            "document_published",
            json!({ "document_id": DOCUMENT, "version": 2,
                    "title": "Completion statement", "category": "financial" }),
            Body::DocumentPublished(card(2)),
        ),
        (
            "milestone",
            json!({ "milestone_id": MILESTONE, "title": "Contract signed",
                    "status": MilestoneStatus::InProgress.as_str(),
                    "client_action": "Please sign and return the contract" }),
            Body::Milestone {
                milestone_id: milestone_id(),
                title: "Contract signed".into(),
                status: MilestoneStatus::InProgress,
                client_action: Some("Please sign and return the contract".into()),
            },
        ),
        (
            "milestone",
            json!({ "milestone_id": MILESTONE, "title": "Exchange", "status": "done",
                    "client_action": null }),
            Body::Milestone {
                milestone_id: milestone_id(),
                title: "Exchange".into(),
                status: MilestoneStatus::Done,
                client_action: None,
            },
        ),
        (
            "invoice",
            json!({ "invoice_id": INVOICE, "number": "INV-1042", "total_minor": 150000,
                    "amount_due_minor": 150000, "currency": "GBP", "due_on": "2027-01-15" }),
            Body::Invoice(InvoiceCard {
                invoice_id: InvoiceId(Uuid::parse_str(INVOICE).expect("uuid")),
                number: "INV-1042".into(),
                total_minor: 150_000,
                amount_due_minor: 150_000,
                currency: "GBP".into(),
                due_on: "2027-01-15".into(),
            }),
        ),
        (
            "payment",
            json!({ "invoice_id": INVOICE, "invoice_number": "INV-1042", "payment_id": PAYMENT,
                    "status": "failed", "amount_minor": 150000, "balance_minor": 150000,
                    "invoice_status": "issued", "failure_reason": "Your card was declined." }),
            Body::Payment(PaymentCard {
                invoice_id: InvoiceId(Uuid::parse_str(INVOICE).expect("uuid")),
                invoice_number: "INV-1042".into(),
                payment_id: PaymentId(Uuid::parse_str(PAYMENT).expect("uuid")),
                status: PaymentStatus::Failed,
                amount_minor: 150_000,
                balance_minor: 150_000,
                invoice_status: InvoiceStatus::Issued,
                failure_reason: Some("Your card was declined.".into()),
            }),
        ),
        // Never written by this server yet; the form the protocol and the old reader expect.
        (
            "system",
            json!({ "text": "Access granted" }),
            Body::System {
                text: "Access granted".into(),
            },
        ),
    ]
}

#[test]
fn every_stored_form_of_today_parses() {
    for (kind, stored, expected) in stored_today() {
        let body = Body::from_stored(kind, stored.clone())
            .unwrap_or_else(|err| panic!("{kind} {stored} does not parse: {err}"));
        assert_eq!(body, expected, "{kind} {stored}");
    }
}

#[test]
fn bodies_are_stored_exactly_as_before() {
    for (kind, stored, body) in stored_today() {
        assert_eq!(
            body.to_stored().expect("serialises"),
            (kind.to_owned(), stored)
        );
    }
}

#[test]
fn every_body_round_trips_through_the_database_form() {
    for (_, _, body) in stored_today() {
        let (kind, stored) = body.to_stored().expect("serialises");
        assert_eq!(Body::from_stored(&kind, stored).expect("parses"), body);
    }
}

#[test]
fn extra_keys_in_a_stored_body_are_ignored() {
    let stored = json!({ "target_seq": 4, "note": "added by a later version" });
    assert_eq!(
        Body::from_stored("delete", stored).expect("parses"),
        Body::Delete { target_seq: 4 }
    );
}

#[test]
fn unknown_kinds_and_malformed_bodies_are_refused() {
    let refused = [
        ("invoice", json!({ "amount": 100 })),
        ("mls", json!({ "ciphertext": "AAAA" })),
        ("message", json!({ "reply_to": null })),
        ("edit", json!({ "text": "no target" })),
        (
            "document_published",
            json!({ "document_id": DOCUMENT, "version": 1, "title": "t", "category": "memes" }),
        ),
        (
            "document_uploaded",
            json!({ "document_id": "not-a-uuid", "version": 1, "title": "t", "category": "other" }),
        ),
        (
            "milestone",
            json!({ "milestone_id": MILESTONE, "title": "t", "status": "abandoned",
                    "client_action": null }),
        ),
        ("message", json!("just a string")),
    ];
    for (kind, stored) in refused {
        assert!(
            Body::from_stored(kind, stored.clone()).is_err(),
            "{kind} {stored} should not parse"
        );
    }
}

#[test]
fn each_kind_has_its_stored_name_and_scope() {
    let cases = [
        ("message", Scope::Messages),
        ("message", Scope::Messages),
        ("edit", Scope::Messages),
        ("delete", Scope::Messages),
        ("document_uploaded", Scope::Documents),
        ("document_published", Scope::Documents),
        ("milestone", Scope::Milestones),
        ("milestone", Scope::Milestones),
        ("invoice", Scope::Invoices),
        ("payment", Scope::Invoices),
        ("system", Scope::Messages),
    ];
    let bodies = stored_today();
    assert_eq!(bodies.len(), cases.len());
    for ((kind, scope), (_, _, body)) in cases.into_iter().zip(bodies) {
        assert_eq!(body.to_stored().expect("serialises").0, kind);
        assert_eq!(body.scope(), scope, "{kind}");
    }
}

#[test]
fn the_edit_constants_match_the_stored_edit() {
    let (kind, stored) = Body::Edit {
        target_seq: 12,
        text: "x".into(),
    }
    .to_stored()
    .expect("serialises");
    assert_eq!(kind, EDIT_KIND);
    assert_eq!(stored[EDIT_TARGET_KEY], json!(12));
}

#[test]
fn the_wire_form_maps_each_kind() {
    let expected = [
        EventBody::Message {
            text: Some("The price is 1,000,000".into()),
            reply_to: None,
            deleted: false,
        },
        EventBody::Message {
            text: Some("Agreed".into()),
            reply_to: Some(7),
            deleted: false,
        },
        EventBody::Edit {
            target_seq: 3,
            text: Some("The price is 1,100,000".into()),
        },
        EventBody::Delete { target_seq: 3 },
        EventBody::Document {
            document_id: document_id(),
            version: 1,
            title: "Completion statement".into(),
            category: Category::Financial,
            action: DocumentAction::Uploaded,
        },
        EventBody::Document {
            document_id: document_id(),
            version: 2,
            title: "Completion statement".into(),
            category: Category::Financial,
            action: DocumentAction::Published,
        },
        EventBody::Milestone {
            milestone_id: milestone_id(),
            title: "Contract signed".into(),
            status: MilestoneStatus::InProgress,
            client_action: Some("Please sign and return the contract".into()),
        },
        EventBody::Milestone {
            milestone_id: milestone_id(),
            title: "Exchange".into(),
            status: MilestoneStatus::Done,
            client_action: None,
        },
        EventBody::Invoice {
            invoice_id: InvoiceId(Uuid::parse_str(INVOICE).expect("uuid")),
            number: "INV-1042".into(),
            total_minor: 150_000,
            amount_due_minor: 150_000,
            currency: "GBP".into(),
            due_on: "2027-01-15".into(),
        },
        EventBody::Payment {
            invoice_id: InvoiceId(Uuid::parse_str(INVOICE).expect("uuid")),
            invoice_number: "INV-1042".into(),
            payment_id: PaymentId(Uuid::parse_str(PAYMENT).expect("uuid")),
            status: PaymentStatus::Failed,
            amount_minor: 150_000,
            balance_minor: 150_000,
            invoice_status: InvoiceStatus::Issued,
            failure_reason: Some("Your card was declined.".into()),
        },
        EventBody::System {
            text: "Access granted".into(),
        },
    ];
    let bodies = stored_today();
    assert_eq!(bodies.len(), expected.len());
    for ((kind, _, body), wire) in bodies.into_iter().zip(expected) {
        assert_eq!(body.to_wire(false), wire, "{kind}");
    }
}

#[test]
fn a_redacted_message_and_its_edits_lose_their_text() {
    let message = Body::Message {
        text: "The price is 1,000,000".into(),
        reply_to: Some(2),
    };
    assert_eq!(
        message.to_wire(true),
        EventBody::Message {
            text: None,
            reply_to: Some(2),
            deleted: true,
        }
    );
    let edit = Body::Edit {
        target_seq: 3,
        text: "The price is 1,100,000".into(),
    };
    assert_eq!(
        edit.to_wire(true),
        EventBody::Edit {
            target_seq: 3,
            text: None,
        }
    );
}

#[test]
fn only_a_message_may_be_amended() {
    let amendable: Vec<bool> = stored_today()
        .into_iter()
        .map(|(_, _, body)| body.is_message())
        .collect();
    assert_eq!(
        amendable,
        [true, true, false, false, false, false, false, false, false, false, false]
    );
}
