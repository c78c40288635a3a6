//! Billing: invoices, credit notes, payments, time entries, billing schedules, the client's
//! balance and statement, and paying an invoice inline.
//!
//! Amounts are integer minor units (pence) in GBP, always computed by the server. Dates are
//! `YYYY-MM-DD`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{CreditNoteId, DocumentId, InvoiceId, MatterId, PaymentId, TimeEntryId};
use crate::text::Text;

/// Pence as pounds for people, `£1,234.50` (a minus sign before the `£` when negative).
pub fn pounds(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let (whole, pence) = (minor.unsigned_abs() / 100, minor.unsigned_abs() % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}\u{a3}{grouped}.{pence:02}")
}

/// A delivered bill, or a request for money on account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// A bill for work done: fees, VAT and disbursements.
    Bill,
    /// Money on account of costs: client money, which the firm's business account may not take.
    OnAccount,
}

/// What a line of an invoice is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Fee,
    /// A cost paid to someone else for the client (court fees, searches, counsel).
    Disbursement,
    Vat,
}

/// Where an invoice stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Issued,
    PartPaid,
    Paid,
    Void,
}

/// How a payment was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// By card, in the portal.
    Card,
    /// By a bank payment method, in the portal (where the firm's Stripe account offers one).
    Bank,
    /// Received by other means (a bank transfer) and recorded by the firm's billing system.
    Transfer,
}

/// Where a payment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// On its way (a bank payment can take days); the invoice is not yet reduced.
    Processing,
    Succeeded,
    /// Declined or abandoned; `failure_reason` says why.
    Failed,
    /// Refunded in whole or in part (`refunded_minor`); the refunded amount is owed again.
    Refunded,
    /// The payer's bank disputes it; the firm has been alerted.
    Disputed,
}

/// A planned bill's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// A recurring retainer.
    Retainer,
    /// A stage of phased billing.
    Phase,
    /// Any other planned bill.
    Bill,
}

/// A planned bill's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ScheduleStatus {
    Planned,
    Billed,
    Cancelled,
}

crate::directory::wire_names!(InvoiceKind { Bill => "bill", OnAccount => "on_account" });
crate::directory::wire_names!(LineKind { Fee => "fee", Disbursement => "disbursement", Vat => "vat" });
crate::directory::wire_names!(InvoiceStatus { Issued => "issued", PartPaid => "part_paid", Paid => "paid", Void => "void" });
crate::directory::wire_names!(PaymentMethod { Card => "card", Bank => "bank", Transfer => "transfer" });
crate::directory::wire_names!(PaymentStatus { Processing => "processing", Succeeded => "succeeded", Failed => "failed", Refunded => "refunded", Disputed => "disputed" });
crate::directory::wire_names!(ScheduleKind { Retainer => "retainer", Phase => "phase", Bill => "bill" });
crate::directory::wire_names!(ScheduleStatus { Planned => "planned", Billed => "billed", Cancelled => "cancelled" });

/// One line of an invoice as the billing system sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewInvoiceLine {
    pub kind: LineKind,
    pub description: Text,
    /// Pence, not negative.
    pub amount_minor: i64,
    /// Disbursements only: whether the firm has already paid it. An unpaid disbursement is client
    /// money. Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub paid: Option<bool>,
}

/// An explicit change to an invoice already issued under the same number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Amendment {
    /// Why it changed, for the record.
    pub reason: Text,
}

/// `PUT /api/v1/billing/invoices/{number}` (the billing system's account): issues invoice
/// `number`. The same body again changes nothing; a different body is `409 conflict` unless it
/// carries an `amendment`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewInvoice {
    pub matter_id: MatterId,
    pub kind: InvoiceKind,
    pub issued_on: String,
    pub due_on: String,
    /// `GBP`, the only currency; may be omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub currency: Option<String>,
    pub lines: Vec<NewInvoiceLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub amendment: Option<Amendment>,
}

/// `POST /api/v1/billing/invoices/{number}/void` (the billing system's account): cancels an
/// invoice nothing has been paid on. Voiding it again changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VoidInvoice {
    /// Why, for the record and the client.
    pub reason: Text,
}

/// A line of an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InvoiceLine {
    pub position: u32,
    pub kind: LineKind,
    pub description: String,
    pub amount_minor: i64,
    /// For disbursements: whether the firm has already paid it.
    pub paid: bool,
}

/// `POST /api/v1/billing/invoices/{number}/credit-notes` (the billing system's account).
/// Idempotent on the credit note's number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewCreditNote {
    pub number: Text,
    pub issued_on: String,
    pub amount_minor: i64,
    pub reason: Text,
}

/// A credit against an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CreditNote {
    pub credit_note_id: CreditNoteId,
    pub number: String,
    pub issued_on: String,
    pub amount_minor: i64,
    pub reason: String,
}

/// `PUT /api/v1/billing/payments/{external_id}` (the billing system's account): a payment received
/// by other means, e.g. a bank transfer. Idempotent on the billing system's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewTransfer {
    pub invoice_number: Text,
    pub amount_minor: i64,
}

/// A payment against an invoice, with its receipt when it succeeded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Payment {
    pub payment_id: PaymentId,
    pub invoice_id: InvoiceId,
    pub invoice_number: String,
    pub matter_id: MatterId,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    /// Why it failed, in words for the payer.
    pub failure_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub updated_at: OffsetDateTime,
}

/// An invoice with its lines, credits and payments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Invoice {
    pub invoice_id: InvoiceId,
    pub matter_id: MatterId,
    pub matter_reference: String,
    pub number: String,
    pub kind: InvoiceKind,
    pub issued_on: String,
    pub due_on: String,
    pub currency: String,
    pub total_minor: i64,
    pub credited_minor: i64,
    pub paid_minor: i64,
    /// What is owed now.
    pub balance_minor: i64,
    pub status: InvoiceStatus,
    /// 1 as issued, then one more for each amendment.
    pub revision: u32,
    pub lines: Vec<InvoiceLine>,
    pub credit_notes: Vec<CreditNote>,
    pub payments: Vec<Payment>,
    /// The bill as a PDF, a `financial` document of the matter.
    pub document_id: Option<DocumentId>,
    /// Whether it can be paid by card in the portal now; if not, `not_payable` says why.
    pub payable: bool,
    pub not_payable: Option<String>,
    /// Why the firm cancelled it, when it is void.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub void_reason: Option<String>,
}

/// `PUT /api/v1/billing/time-entries/{external_id}` (the billing system's account).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewTimeEntry {
    pub matter_id: MatterId,
    /// The invoice it was billed on, if it has been.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub invoice_number: Option<Text>,
    pub worked_on: String,
    pub fee_earner: Text,
    pub description: Text,
    pub minutes: u32,
    pub value_minor: i64,
}

/// Time recorded on a matter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TimeEntry {
    pub time_entry_id: TimeEntryId,
    pub matter_id: MatterId,
    pub invoice_number: Option<String>,
    pub worked_on: String,
    pub fee_earner: String,
    pub description: String,
    pub minutes: u32,
    pub value_minor: i64,
}

/// `PUT /api/v1/billing/schedule/{external_id}` (the billing system's account).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewScheduleItem {
    pub matter_id: MatterId,
    pub planned_on: String,
    pub amount_minor: i64,
    pub description: Text,
    pub kind: ScheduleKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub status: Option<ScheduleStatus>,
    /// The invoice that billed it, once it has been.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub invoice_number: Option<Text>,
}

/// A planned bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScheduleItem {
    pub matter_id: MatterId,
    pub planned_on: String,
    pub amount_minor: i64,
    pub description: String,
    pub kind: ScheduleKind,
    pub status: ScheduleStatus,
    pub invoice_number: Option<String>,
}

/// `GET /api/v1/matters/{matter_id}/billing` and `GET /api/v1/clients/{client_id}/billing`: what
/// the client owes, and why, over the matters whose invoices the viewer may see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BillingSummary {
    pub currency: String,
    /// Owed now, over every invoice listed.
    pub balance_minor: i64,
    /// Of that, past its due date.
    pub overdue_minor: i64,
    /// Newest first.
    pub invoices: Vec<Invoice>,
    /// Every payment, newest first.
    pub payments: Vec<Payment>,
    /// Planned bills, soonest first.
    pub schedule: Vec<ScheduleItem>,
    /// Absent where the practice area does not show time entries to clients.
    pub time_entries: Option<Vec<TimeEntry>>,
}

/// What a line of a statement records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StatementEntry {
    Invoice,
    CreditNote,
    Payment,
    Refund,
}

/// One line of a statement: a debit (an invoice, a refund) or a credit (a payment, a credit note),
/// and the balance after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatementLine {
    pub date: String,
    pub entry: StatementEntry,
    pub matter_reference: String,
    /// The invoice's or credit note's number; for a payment, the invoice it paid.
    pub reference: String,
    pub description: String,
    pub debit_minor: i64,
    pub credit_minor: i64,
    pub balance_minor: i64,
}

/// `POST /api/v1/invoices/{invoice_id}/pay`: what the browser needs to confirm the payment with
/// Stripe's Payment Element. The amount is the server's: what is outstanding now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PaymentSheet {
    pub invoice_id: InvoiceId,
    pub payment_intent_id: String,
    /// For Stripe.js only; never logged or stored by the portal.
    pub client_secret: String,
    pub amount_minor: i64,
    pub currency: String,
    pub publishable_key: String,
    /// Test keys, or the offline stand-in: the page must say "test mode".
    pub test_mode: bool,
    /// The offline stand-in for Stripe.js to talk to instead of Stripe (the demo and the tests);
    /// absent with the firm's real account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub stand_in: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pounds_group_thousands() {
        assert_eq!(pounds(0), "\u{a3}0.00");
        assert_eq!(pounds(12_345_678), "\u{a3}123,456.78");
        assert_eq!(pounds(-5), "-\u{a3}0.05");
    }
}
