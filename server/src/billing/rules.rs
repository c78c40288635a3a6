//! The money rules, as pure functions: what a valid invoice is, what status its amounts give it,
//! and whether the portal may take a card payment for it.
//!
//! Solicitors' money (SRA Accounts Rules 2019): a card payment through the firm's Stripe account
//! lands in its business account, so it may settle only a delivered bill for fees, VAT and
//! disbursements the firm has already paid. Money on account of costs and money for unpaid
//! disbursements is client money and must go to the client account; Docket refuses to take it
//! and says why. No surcharge is ever added: the amount is what the invoice says is owed.

use docket_protocol::billing::{InvoiceKind, InvoiceStatus, LineKind, NewInvoice};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::Date;

use crate::dates::required_date;
use crate::{Error, Result};

/// The most lines one invoice may have.
const MAX_LINES: usize = 500;
/// The largest amount accepted anywhere: ten million pounds, far above any real bill and far
/// below where sums could overflow.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000;

/// An invoice as validated and normalised: what is stored and what its hash covers.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub matter_id: uuid::Uuid,
    pub kind: InvoiceKind,
    #[serde(serialize_with = "date")]
    pub issued_on: Date,
    #[serde(serialize_with = "date")]
    pub due_on: Date,
    pub lines: Vec<CheckedLine>,
    #[serde(skip)]
    pub total_minor: i64,
    #[serde(skip)]
    pub client_money_minor: i64,
}

/// One line, normalised.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedLine {
    pub kind: LineKind,
    pub description: String,
    pub amount_minor: i64,
    pub paid: bool,
}

fn date<S: serde::Serializer>(date: &Date, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&crate::dates::format_date(*date))
}

/// Validates an invoice number (the firm's own): 1 to 64 visible characters.
pub fn number(value: &str) -> Result<String> {
    let number = value.trim();
    if number.is_empty()
        || number.chars().count() > 64
        || number
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() && c != ' ')
    {
        return Err(Error::InvalidInput(
            "An invoice or credit note number is 1 to 64 characters.".into(),
        ));
    }
    Ok(number.to_owned())
}

/// An amount: whole pence, more than zero (or at least zero where `zero_ok`), within bounds.
pub fn amount(value: i64, field: &str, zero_ok: bool) -> Result<i64> {
    if value < i64::from(!zero_ok) || value > MAX_AMOUNT_MINOR {
        return Err(Error::InvalidInput(format!(
            "{field} is in pence, {} to {MAX_AMOUNT_MINOR}.",
            i64::from(!zero_ok)
        )));
    }
    Ok(value)
}

/// Text of 1 to 500 characters.
pub fn text(value: &str, field: &str) -> Result<String> {
    let text = value.trim();
    if text.is_empty() || text.chars().count() > 500 {
        return Err(Error::InvalidInput(format!(
            "{field} is 1 to 500 characters."
        )));
    }
    Ok(text.to_owned())
}

/// Validates and normalises an imported invoice.
pub fn check(req: &NewInvoice) -> Result<Checked> {
    if req.currency.as_deref().is_some_and(|c| c != "GBP") {
        return Err(Error::InvalidInput("Invoices are in GBP only.".into()));
    }
    let issued_on = required_date(&req.issued_on, "issued_on")?;
    let due_on = required_date(&req.due_on, "due_on")?;
    if due_on < issued_on {
        return Err(Error::InvalidInput(
            "due_on cannot be before issued_on.".into(),
        ));
    }
    if req.lines.is_empty() || req.lines.len() > MAX_LINES {
        return Err(Error::InvalidInput(format!(
            "An invoice has 1 to {MAX_LINES} lines."
        )));
    }
    let mut lines = Vec::with_capacity(req.lines.len());
    let (mut total, mut client_money) = (0i64, 0i64);
    for (i, line) in req.lines.iter().enumerate() {
        let field = format!("lines[{i}]");
        let amount_minor = amount(line.amount_minor, &format!("{field}.amount_minor"), true)?;
        if line.paid.is_some() && line.kind != LineKind::Disbursement {
            return Err(Error::InvalidInput(format!(
                "{field}.paid is for disbursements only."
            )));
        }
        let paid = line.paid.unwrap_or(true);
        total += amount_minor;
        if line.kind == LineKind::Disbursement && !paid {
            client_money += amount_minor;
        }
        lines.push(CheckedLine {
            kind: line.kind,
            description: text(&line.description, &format!("{field}.description"))?,
            amount_minor,
            paid,
        });
    }
    if total <= 0 || total > MAX_AMOUNT_MINOR {
        return Err(Error::InvalidInput(format!(
            "An invoice's total is 1 to {MAX_AMOUNT_MINOR} pence."
        )));
    }
    if req.kind == InvoiceKind::OnAccount {
        client_money = total;
    }
    Ok(Checked {
        matter_id: req.matter_id.0,
        kind: req.kind,
        issued_on,
        due_on,
        lines,
        total_minor: total,
        client_money_minor: client_money,
    })
}

impl Checked {
    /// The canonical body (what the hash covers and the revision keeps).
    pub fn canonical(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// SHA-256 of the canonical body: the same invoice again has the same hash.
    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.canonical().to_string().as_bytes()).to_vec()
    }
}

/// The status an invoice's amounts give it.
pub fn status(total: i64, credited: i64, paid: i64, void: bool) -> InvoiceStatus {
    let balance = total - credited - paid;
    if void {
        InvoiceStatus::Void
    } else if balance <= 0 {
        InvoiceStatus::Paid
    } else if paid > 0 || credited > 0 {
        InvoiceStatus::PartPaid
    } else {
        InvoiceStatus::Issued
    }
}

/// What decides whether an invoice can be paid by card now.
#[derive(Debug, Clone, Copy)]
pub struct InvoiceFacts {
    pub kind: InvoiceKind,
    pub status: InvoiceStatus,
    pub balance_minor: i64,
    pub client_money_minor: i64,
    /// A payment is on its way (a bank payment still processing).
    pub processing: bool,
}

/// Why the portal will not take a card payment for this invoice now, in words for the payer;
/// `None` when it will.
pub fn why_not_payable(facts: &InvoiceFacts) -> Option<&'static str> {
    if facts.status == InvoiceStatus::Void {
        return Some("This invoice has been cancelled; nothing is owed on it.");
    }
    if facts.balance_minor <= 0 {
        return Some("Nothing is owed on this invoice.");
    }
    if facts.kind == InvoiceKind::OnAccount {
        return Some(
            "This is a request for money on account, which is client money: solicitors must hold it in \
             their client account, so it cannot be paid by card here. Please pay by bank transfer to the \
             client account shown on the request.",
        );
    }
    if facts.client_money_minor > 0 {
        return Some(
            "This bill includes disbursements the firm has not yet paid, which is client money: it cannot \
             be taken by card into the firm's business account. Please pay by bank transfer to the client \
             account shown on the bill.",
        );
    }
    if facts.processing {
        return Some("A payment of this invoice is on its way; wait for it before paying again.");
    }
    None
}

#[cfg(test)]
mod tests {
    use docket_protocol::billing::NewInvoiceLine;
    use docket_protocol::ids::MatterId;
    use docket_protocol::text::Text;

    use super::*;

    fn line(kind: LineKind, pence: i64, paid: Option<bool>) -> NewInvoiceLine {
        NewInvoiceLine {
            kind,
            description: Text::new("Work").expect("text"),
            amount_minor: pence,
            paid,
        }
    }

    fn invoice(kind: InvoiceKind, lines: Vec<NewInvoiceLine>) -> NewInvoice {
        NewInvoice {
            matter_id: MatterId::new(),
            kind,
            issued_on: "2026-11-02".into(),
            due_on: "2026-12-02".into(),
            currency: None,
            lines,
            amendment: None,
        }
    }

    #[test]
    fn totals_and_client_money_follow_the_lines() {
        let checked = check(&invoice(
            InvoiceKind::Bill,
            vec![
                line(LineKind::Fee, 100_000, None),
                line(LineKind::Vat, 20_000, None),
                line(LineKind::Disbursement, 5_000, Some(true)),
                line(LineKind::Disbursement, 3_000, Some(false)),
            ],
        ))
        .expect("valid");
        assert_eq!(
            (checked.total_minor, checked.client_money_minor),
            (128_000, 3_000)
        );
        let on_account = check(&invoice(
            InvoiceKind::OnAccount,
            vec![line(LineKind::Fee, 50_000, None)],
        ))
        .expect("valid");
        assert_eq!(on_account.client_money_minor, 50_000);
    }

    #[test]
    fn bad_invoices_are_refused() {
        for bad in [
            invoice(InvoiceKind::Bill, vec![]),
            invoice(InvoiceKind::Bill, vec![line(LineKind::Fee, -1, None)]),
            invoice(InvoiceKind::Bill, vec![line(LineKind::Fee, 0, None)]),
            invoice(
                InvoiceKind::Bill,
                vec![line(LineKind::Fee, MAX_AMOUNT_MINOR + 1, None)],
            ),
            invoice(
                InvoiceKind::Bill,
                vec![line(LineKind::Fee, 10, Some(false))],
            ),
            NewInvoice {
                currency: Some("EUR".into()),
                ..invoice(InvoiceKind::Bill, vec![line(LineKind::Fee, 10, None)])
            },
            NewInvoice {
                due_on: "2026-10-01".into(),
                ..invoice(InvoiceKind::Bill, vec![line(LineKind::Fee, 10, None)])
            },
        ] {
            assert!(check(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_same_body_hashes_alike_and_an_amendment_reason_is_not_part_of_it() {
        let a = invoice(InvoiceKind::Bill, vec![line(LineKind::Fee, 10, None)]);
        let mut b = a.clone();
        b.amendment = Some(docket_protocol::billing::Amendment {
            reason: Text::new("typo").expect("text"),
        });
        assert_eq!(check(&a).expect("a").hash(), check(&b).expect("b").hash());
        b.lines[0].amount_minor = 11;
        assert_ne!(check(&a).expect("a").hash(), check(&b).expect("b").hash());
    }

    #[test]
    fn status_follows_the_amounts() {
        assert_eq!(status(100, 0, 0, false), InvoiceStatus::Issued);
        assert_eq!(status(100, 0, 40, false), InvoiceStatus::PartPaid);
        assert_eq!(status(100, 60, 40, false), InvoiceStatus::Paid);
        assert_eq!(status(100, 0, 0, true), InvoiceStatus::Void);
    }

    #[test]
    fn client_money_is_never_taken_by_card() {
        let facts = InvoiceFacts {
            kind: InvoiceKind::Bill,
            status: InvoiceStatus::Issued,
            balance_minor: 100,
            client_money_minor: 0,
            processing: false,
        };
        assert_eq!(why_not_payable(&facts), None);
        for not in [
            InvoiceFacts {
                kind: InvoiceKind::OnAccount,
                ..facts
            },
            InvoiceFacts {
                client_money_minor: 1,
                ..facts
            },
            InvoiceFacts {
                balance_minor: 0,
                ..facts
            },
            InvoiceFacts {
                status: InvoiceStatus::Void,
                ..facts
            },
            InvoiceFacts {
                processing: true,
                ..facts
            },
        ] {
            assert!(why_not_payable(&not).is_some(), "{not:?}");
        }
    }
}
