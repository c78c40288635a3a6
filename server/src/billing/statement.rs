//! Statements and receipts: the ledger of a matter's or a client's invoices, credit notes,
//! payments and refunds with a running balance, as JSON, CSV or PDF; and a receipt per payment.
//! Every download is audited (they are financial records leaving the portal).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use docket_protocol::billing::{Payment, PaymentStatus, StatementEntry, StatementLine};
use docket_protocol::ids::{ClientId, MatterId, PaymentId};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::pdf::{self, pounds, Line};
use super::rows;
use super::views::{billed_matters, BillingScope};
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::dates::format_date;
use crate::db::Tenant;
use crate::error::{Json, Path, Query};
use crate::startup::AppState;
use crate::{Error, Result};

type ErrorResponses = docket_protocol::error::ErrorBody;

/// `?format=`: json (the default), csv or pdf.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// `json`, `csv` or `pdf`.
    #[serde(default)]
    #[param(inline)]
    pub format: Format,
}

/// A statement's file format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    Csv,
    Pdf,
}

/// The ledger of `matters`, oldest first, with the balance after each line.
pub async fn ledger(tenant: &mut Tenant, matters: &[MatterId]) -> Result<Vec<StatementLine>> {
    let invoices = rows::invoices(tenant, Some(matters), None).await?;
    // (date, order within a day, tie-break, line): invoices, then credits, payments, refunds; in
    // number or creation (UUIDv7) order within each.
    let mut entries: Vec<(String, u8, String, StatementLine)> = Vec::new();
    let line =
        |date: String, entry, matter: &str, reference: &str, description: String, debit, credit| {
            StatementLine {
                date,
                entry,
                matter_reference: matter.to_owned(),
                reference: reference.to_owned(),
                description,
                debit_minor: debit,
                credit_minor: credit,
                balance_minor: 0,
            }
        };
    // A void invoice owed nothing, ever: it is not on the statement.
    for invoice in invoices
        .iter()
        .filter(|i| i.status != docket_protocol::billing::InvoiceStatus::Void)
    {
        let m = invoice.matter_reference.as_str();
        let what = match invoice.kind {
            docket_protocol::billing::InvoiceKind::Bill => "Invoice",
            docket_protocol::billing::InvoiceKind::OnAccount => "Request for money on account",
        };
        entries.push((
            invoice.issued_on.clone(),
            0,
            invoice.number.clone(),
            line(
                invoice.issued_on.clone(),
                StatementEntry::Invoice,
                m,
                &invoice.number,
                format!("{what} {}", invoice.number),
                invoice.total_minor,
                0,
            ),
        ));
        for note in &invoice.credit_notes {
            entries.push((
                note.issued_on.clone(),
                1,
                note.number.clone(),
                line(
                    note.issued_on.clone(),
                    StatementEntry::CreditNote,
                    m,
                    &note.number,
                    format!("Credit note against {}: {}", invoice.number, note.reason),
                    0,
                    note.amount_minor,
                ),
            ));
        }
        for payment in &invoice.payments {
            let settled = matches!(
                payment.status,
                PaymentStatus::Succeeded | PaymentStatus::Refunded | PaymentStatus::Disputed
            );
            if !settled {
                continue;
            }
            let paid_on = format_date(payment.created_at.date());
            entries.push((
                paid_on.clone(),
                2,
                payment.payment_id.to_string(),
                line(
                    paid_on,
                    StatementEntry::Payment,
                    m,
                    &invoice.number,
                    format!("Payment by {} - thank you", method_words(payment)),
                    0,
                    payment.amount_minor,
                ),
            ));
            if payment.refunded_minor > 0 {
                let refunded_on = format_date(payment.updated_at.date());
                entries.push((
                    refunded_on.clone(),
                    3,
                    payment.payment_id.to_string(),
                    line(
                        refunded_on,
                        StatementEntry::Refund,
                        m,
                        &invoice.number,
                        "Refund of a payment".to_owned(),
                        payment.refunded_minor,
                        0,
                    ),
                ));
            }
        }
    }
    entries
        .sort_by(|a, b| (a.0.as_str(), a.1, a.2.as_str()).cmp(&(b.0.as_str(), b.1, b.2.as_str())));
    let mut balance = 0;
    Ok(entries
        .into_iter()
        .map(|(_, _, _, mut line)| {
            balance += line.debit_minor - line.credit_minor;
            line.balance_minor = balance;
            line
        })
        .collect())
}

fn method_words(payment: &Payment) -> &'static str {
    match payment.method {
        docket_protocol::billing::PaymentMethod::Card => "card",
        docket_protocol::billing::PaymentMethod::Bank => "bank payment",
        docket_protocol::billing::PaymentMethod::Transfer => "bank transfer",
    }
}

/// The ledger as CSV: amounts in pounds with two decimals, and no cell that a spreadsheet would
/// take for a formula.
pub fn csv(lines: &[StatementLine]) -> String {
    let mut out = String::from("date,entry,matter,reference,description,debit,credit,balance\r\n");
    let money = |minor: i64| {
        if minor == 0 {
            String::new()
        } else {
            format!(
                "{}{}.{:02}",
                if minor < 0 { "-" } else { "" },
                minor.unsigned_abs() / 100,
                minor.unsigned_abs() % 100
            )
        }
    };
    for line in lines {
        let balance = if line.balance_minor == 0 {
            "0.00".to_owned()
        } else {
            money(line.balance_minor)
        };
        let cells = [
            line.date.clone(),
            entry_name(line.entry).to_owned(),
            line.matter_reference.clone(),
            line.reference.clone(),
            line.description.clone(),
            money(line.debit_minor),
            money(line.credit_minor),
            balance,
        ];
        let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

fn entry_name(entry: StatementEntry) -> &'static str {
    match entry {
        StatementEntry::Invoice => "invoice",
        StatementEntry::CreditNote => "credit_note",
        StatementEntry::Payment => "payment",
        StatementEntry::Refund => "refund",
    }
}

/// One CSV cell: quoted when it needs to be, and defused when a spreadsheet would run it.
pub fn csv_cell(value: &str) -> String {
    let defused = match value.chars().next() {
        Some('=' | '+' | '@' | '\t' | '\r') => format!("'{value}"),
        Some('-') if value.parse::<f64>().is_err() => format!("'{value}"),
        _ => value.to_owned(),
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// The ledger as a PDF.
pub fn statement_pdf(
    firm: &str,
    whose: &str,
    lines: &[StatementLine],
    at: OffsetDateTime,
) -> Vec<u8> {
    let mut doc = pdf::Document::new(&format!("Statement of account: {whose}"));
    doc.push(vec![Line::heading(format!(
        "{firm} - statement of account"
    ))]);
    doc.push(vec![Line::new(whose.to_owned()).bold()]);
    doc.push(vec![Line::new(format!("As at {}", format_date(at.date())))]);
    doc.gap();
    let columns = [0.0, 60.0, 115.0, 175.0, 330.0, 390.0, 445.0];
    let header = [
        "Date",
        "Matter",
        "Reference",
        "Description",
        "Debit",
        "Credit",
        "Balance",
    ];
    doc.push(pdf::row(
        &columns
            .iter()
            .zip(header)
            .map(|(x, h)| (*x, h.to_owned()))
            .collect::<Vec<_>>(),
        true,
    ));
    for line in lines {
        let money = |m: i64| if m == 0 { String::new() } else { pounds(m) };
        let description: String = line.description.chars().take(34).collect();
        let cells = [
            line.date.clone(),
            line.matter_reference.clone(),
            line.reference.clone(),
            description,
            money(line.debit_minor),
            money(line.credit_minor),
            pounds(line.balance_minor),
        ];
        doc.push(pdf::row(
            &columns
                .iter()
                .zip(cells)
                .map(|(x, c)| (*x, c))
                .collect::<Vec<_>>(),
            false,
        ));
    }
    doc.gap();
    let owed = lines.last().map_or(0, |l| l.balance_minor);
    doc.push(vec![
        Line::new(format!("Balance owed: {}", pounds(owed))).bold()
    ]);
    doc.push(vec![Line::new(
        "Money on account and unpaid disbursements are paid to the firm's client account, as each bill says.",
    )]);
    doc.render()
}

fn download(bytes: Vec<u8>, media_type: &'static str, filename: &str) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    if let Ok(value) = HeaderValue::try_from(disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn statement(
    app: &AppState,
    signed: &Signed,
    scope: BillingScope,
    format: Format,
) -> Result<Response> {
    let mut tenant = signed.tenant(app).await?;
    let matters = billed_matters(&mut tenant, signed, scope).await?;
    let started = std::time::Instant::now();
    let lines = ledger(&mut tenant, &matters).await?;
    let (whose, record) = match scope {
        BillingScope::Matter(matter_id) => {
            let reference = sqlx::query_scalar!(
                "select reference from matter where matter_id = $1",
                matter_id.0
            )
            .fetch_one(tenant.conn())
            .await?;
            (
                format!("Matter {reference}"),
                AuditRecord::new("billing.statement_downloaded").matter(matter_id),
            )
        }
        BillingScope::Client(client_id) => {
            let name =
                sqlx::query_scalar!("select name from client where client_id = $1", client_id.0)
                    .fetch_one(tenant.conn())
                    .await?;
            (
                name,
                AuditRecord::new("billing.statement_downloaded").client(client_id),
            )
        }
    };
    let format_name = match format {
        Format::Json => "json",
        Format::Csv => "csv",
        Format::Pdf => "pdf",
    };
    audit::record(
        &mut tenant,
        record.detail(json!({ "format": format_name, "lines": lines.len() })),
    )
    .await?;
    tenant.commit().await?;
    let at = app.clock.now();
    let count = lines.len();
    let stem = format!("statement-{}", format_date(at.date()));
    let response = match format {
        Format::Json => Json(lines).into_response(),
        Format::Csv => download(
            csv(&lines).into_bytes(),
            "text/csv; charset=utf-8",
            &format!("{stem}.csv"),
        ),
        Format::Pdf => download(
            statement_pdf(&app.config.firm_name, &whose, &lines, at),
            "application/pdf",
            &format!("{stem}.pdf"),
        ),
    };
    tracing::debug!(
        lines = count,
        elapsed_us = started.elapsed().as_micros() as u64,
        "statement"
    );
    Ok(response)
}

/// A matter's statement of account: JSON lines, or a CSV or PDF download.
#[utoipa::path(get, path = "/api/v1/matters/{matter_id}/statement", tag = "billing",
    params(("matter_id" = MatterId, Path), StatementQuery),
    responses((status = 200, description = "The ledger: JSON by default, CSV or PDF as asked",
                content((Vec<StatementLine> = "application/json"), (String = "text/csv"), (Vec<u8> = "application/pdf"))),
              (status = 403, body = ErrorResponses), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn matter_statement(
    State(app): State<AppState>,
    signed: Signed,
    Path(matter_id): Path<MatterId>,
    Query(query): Query<StatementQuery>,
) -> Result<Response> {
    statement(&app, &signed, BillingScope::Matter(matter_id), query.format).await
}

/// A client's statement of account across the matters whose invoices the viewer may see.
#[utoipa::path(get, path = "/api/v1/clients/{client_id}/statement", tag = "billing",
    params(("client_id" = ClientId, Path), StatementQuery),
    responses((status = 200, description = "The ledger: JSON by default, CSV or PDF as asked",
                content((Vec<StatementLine> = "application/json"), (String = "text/csv"), (Vec<u8> = "application/pdf"))),
              (status = 403, body = ErrorResponses), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, client_id = %client_id))]
pub async fn client_statement(
    State(app): State<AppState>,
    signed: Signed,
    Path(client_id): Path<ClientId>,
    Query(query): Query<StatementQuery>,
) -> Result<Response> {
    statement(&app, &signed, BillingScope::Client(client_id), query.format).await
}

/// A receipt for a payment that went through, as a PDF.
#[utoipa::path(get, path = "/api/v1/payments/{payment_id}/receipt", tag = "billing",
    params(("payment_id" = PaymentId, Path)),
    responses((status = 200, content_type = "application/pdf", description = "The receipt"),
              (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, payment_id = %payment_id))]
pub async fn receipt(
    State(app): State<AppState>,
    signed: Signed,
    Path(payment_id): Path<PaymentId>,
) -> Result<Response> {
    let mut tenant = signed.tenant(&app).await?;
    let payment = rows::payments_of(&mut tenant, None, None, Some(&[payment_id.0]))
        .await?
        .pop()
        .ok_or(Error::NotFound)?;
    let invoice = super::views::visible_invoice(&mut tenant, &signed, payment.invoice_id).await?;
    if !matches!(
        payment.status,
        PaymentStatus::Succeeded | PaymentStatus::Refunded | PaymentStatus::Disputed
    ) {
        return Err(Error::NotFound);
    }
    audit::record(
        &mut tenant,
        AuditRecord::new("billing.receipt_downloaded")
            .matter(invoice.matter_id)
            .target("payment", payment_id),
    )
    .await?;
    tenant.commit().await?;
    let mut doc = pdf::Document::new(&format!("Receipt for {}", invoice.number));
    doc.push(vec![Line::heading(format!(
        "{} - receipt",
        app.config.firm_name
    ))]);
    doc.gap();
    for (label, value) in [
        ("Received", format_date(payment.created_at.date())),
        ("Amount", pounds(payment.amount_minor)),
        ("Paid by", method_words(&payment).to_owned()),
        ("Against invoice", invoice.number.clone()),
        ("Matter", invoice.matter_reference.clone()),
        ("Receipt number", payment.payment_id.to_string()),
        ("Still owed on the invoice", pounds(invoice.balance_minor)),
    ] {
        doc.push(vec![
            Line::new(label).bold(),
            Line {
                x: 200.0,
                ..Line::new(value)
            },
        ]);
    }
    if payment.refunded_minor > 0 {
        doc.push(vec![
            Line::new("Refunded").bold(),
            Line {
                x: 200.0,
                ..Line::new(pounds(payment.refunded_minor))
            },
        ]);
    }
    doc.gap();
    doc.push(vec![Line::new("No surcharge was added to this payment.")]);
    Ok(download(
        doc.render(),
        "application/pdf",
        &format!("receipt-{}.pdf", invoice.number),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("INV-1"), "INV-1");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-12.50"), "-12.50");
        assert_eq!(csv_cell("-cmd"), "'-cmd");
    }
}
