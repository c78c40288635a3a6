//! Reading the billing record into its wire form, under the tenant's row-level security: what a
//! viewer is not admitted to is simply absent.

use std::collections::HashMap;

use docket_protocol::billing::{
    CreditNote, Invoice, InvoiceLine, Payment, ScheduleItem, TimeEntry,
};
use docket_protocol::ids::{InvoiceId, MatterId};
use time::Date;
use uuid::Uuid;

use super::rules::{self, InvoiceFacts};
use crate::dates::format_date;
use crate::db::Tenant;
use crate::{Error, Result};

fn parse<T: std::str::FromStr<Err = docket_protocol::directory::UnknownName>>(
    value: &str,
) -> Result<T> {
    value
        .parse()
        .map_err(|e: docket_protocol::directory::UnknownName| Error::Internal(e.into()))
}

/// Invoices of `matters` (or, with `only`, those invoices), newest first, each with its lines,
/// credit notes and payments.
pub async fn invoices(
    tenant: &mut Tenant,
    matters: Option<&[MatterId]>,
    only: Option<&[InvoiceId]>,
) -> Result<Vec<Invoice>> {
    let matter_ids = matters.map(|m| m.iter().map(|m| m.0).collect::<Vec<_>>());
    let invoice_ids = only.map(|i| i.iter().map(|i| i.0).collect::<Vec<_>>());
    let rows = sqlx::query!(
        r#"select i.invoice_id, i.matter_id, m.reference, i.number, i.kind, i.issued_on, i.due_on,
                  i.currency, i.total_minor, i.client_money_minor, i.credited_minor, i.paid_minor,
                  i.balance_minor, i.status, i.revision, i.document_id, i.void_reason,
                  exists (select 1 from payment p where p.invoice_id = i.invoice_id
                          and p.status = 'processing') as "processing!"
           from invoice i join matter m using (matter_id)
           where ($1::uuid[] is null or i.matter_id = any($1))
             and ($2::uuid[] is null or i.invoice_id = any($2))
           order by i.issued_on desc, i.number desc"#,
        matter_ids.as_deref(),
        invoice_ids.as_deref(),
    )
    .fetch_all(tenant.conn())
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.invoice_id).collect();
    let mut lines = lines_of(tenant, &ids).await?;
    let mut credits = credit_notes_of(tenant, &ids).await?;
    let mut payments: HashMap<Uuid, Vec<Payment>> = HashMap::new();
    for payment in payments_of(tenant, None, Some(&ids), None).await? {
        payments
            .entry(payment.invoice_id.0)
            .or_default()
            .push(payment);
    }
    rows.into_iter()
        .map(|r| {
            let status = parse(&r.status)?;
            let kind = parse(&r.kind)?;
            let facts = InvoiceFacts {
                kind,
                status,
                balance_minor: r.balance_minor,
                client_money_minor: r.client_money_minor,
                processing: r.processing,
            };
            let not_payable = rules::why_not_payable(&facts).map(str::to_owned);
            Ok(Invoice {
                invoice_id: r.invoice_id.into(),
                matter_id: r.matter_id.into(),
                matter_reference: r.reference,
                number: r.number,
                kind,
                issued_on: format_date(r.issued_on),
                due_on: format_date(r.due_on),
                currency: r.currency,
                total_minor: r.total_minor,
                credited_minor: r.credited_minor,
                paid_minor: r.paid_minor,
                balance_minor: r.balance_minor,
                status,
                revision: r.revision as u32,
                lines: lines.remove(&r.invoice_id).unwrap_or_default(),
                credit_notes: credits.remove(&r.invoice_id).unwrap_or_default(),
                payments: payments.remove(&r.invoice_id).unwrap_or_default(),
                document_id: r.document_id.map(Into::into),
                payable: not_payable.is_none(),
                not_payable,
                void_reason: r.void_reason,
            })
        })
        .collect()
}

async fn lines_of(tenant: &mut Tenant, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<InvoiceLine>>> {
    let rows = sqlx::query!(
        "select invoice_id, position, kind, description, amount_minor, paid from invoice_line
         where invoice_id = any($1) order by invoice_id, position",
        ids
    )
    .fetch_all(tenant.conn())
    .await?;
    let mut out: HashMap<Uuid, Vec<InvoiceLine>> = HashMap::new();
    for r in rows {
        out.entry(r.invoice_id).or_default().push(InvoiceLine {
            position: r.position as u32,
            kind: parse(&r.kind)?,
            description: r.description,
            amount_minor: r.amount_minor,
            paid: r.paid,
        });
    }
    Ok(out)
}

async fn credit_notes_of(
    tenant: &mut Tenant,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<CreditNote>>> {
    let rows = sqlx::query!(
        "select credit_note_id, invoice_id, number, issued_on, amount_minor, reason from credit_note
         where invoice_id = any($1) order by issued_on, number",
        ids
    )
    .fetch_all(tenant.conn())
    .await?;
    let mut out: HashMap<Uuid, Vec<CreditNote>> = HashMap::new();
    for r in rows {
        out.entry(r.invoice_id).or_default().push(CreditNote {
            credit_note_id: r.credit_note_id.into(),
            number: r.number,
            issued_on: format_date(r.issued_on),
            amount_minor: r.amount_minor,
            reason: r.reason,
        });
    }
    Ok(out)
}

/// Payments of `matters`, of `invoices`, or with ids `only`, newest first.
pub async fn payments_of(
    tenant: &mut Tenant,
    matters: Option<&[MatterId]>,
    invoices: Option<&[Uuid]>,
    only: Option<&[Uuid]>,
) -> Result<Vec<Payment>> {
    let matter_ids = matters.map(|m| m.iter().map(|m| m.0).collect::<Vec<_>>());
    let rows = sqlx::query!(
        r#"select p.payment_id, p.invoice_id, i.number, p.matter_id, p.method, p.status,
                  p.amount_minor, p.refunded_minor, p.failure_reason, p.created_at, p.updated_at
           from payment p join invoice i using (invoice_id)
           where ($1::uuid[] is null or p.matter_id = any($1))
             and ($2::uuid[] is null or p.invoice_id = any($2))
             and ($3::uuid[] is null or p.payment_id = any($3))
           order by p.created_at desc, p.payment_id"#,
        matter_ids.as_deref(),
        invoices,
        only,
    )
    .fetch_all(tenant.conn())
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Payment {
                payment_id: r.payment_id.into(),
                invoice_id: r.invoice_id.into(),
                invoice_number: r.number,
                matter_id: r.matter_id.into(),
                method: parse(&r.method)?,
                status: parse(&r.status)?,
                amount_minor: r.amount_minor,
                refunded_minor: r.refunded_minor,
                failure_reason: r.failure_reason,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
        })
        .collect()
}

/// Planned bills of `matters`, soonest first.
pub async fn schedule(tenant: &mut Tenant, matters: &[MatterId]) -> Result<Vec<ScheduleItem>> {
    let ids: Vec<Uuid> = matters.iter().map(|m| m.0).collect();
    let rows = sqlx::query!(
        "select s.matter_id, s.planned_on, s.amount_minor, s.description, s.kind, s.status, i.number as \"number?\"
         from billing_schedule_item s left join invoice i using (invoice_id)
         where s.matter_id = any($1) order by s.planned_on, s.external_id",
        &ids
    )
    .fetch_all(tenant.conn())
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(ScheduleItem {
                matter_id: r.matter_id.into(),
                planned_on: format_date(r.planned_on),
                amount_minor: r.amount_minor,
                description: r.description,
                kind: parse(&r.kind)?,
                status: parse(&r.status)?,
                invoice_number: r.number,
            })
        })
        .collect()
}

/// Time entries of `matters` the viewer is shown (the database decides), newest first.
pub async fn time_entries(tenant: &mut Tenant, matters: &[MatterId]) -> Result<Vec<TimeEntry>> {
    let ids: Vec<Uuid> = matters.iter().map(|m| m.0).collect();
    let rows = sqlx::query!(
        "select t.time_entry_id, t.matter_id, i.number as \"number?\", t.worked_on, t.fee_earner,
                t.description, t.minutes, t.value_minor
         from time_entry t left join invoice i using (invoice_id)
         where t.matter_id = any($1) order by t.worked_on desc, t.external_id",
        &ids
    )
    .fetch_all(tenant.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TimeEntry {
            time_entry_id: r.time_entry_id.into(),
            matter_id: r.matter_id.into(),
            invoice_number: r.number,
            worked_on: format_date(r.worked_on),
            fee_earner: r.fee_earner,
            description: r.description,
            minutes: r.minutes as u32,
            value_minor: r.value_minor,
        })
        .collect())
}

/// Whether the practice areas of `matters` show time entries to clients, by matter.
pub async fn shows_time_entries(
    tenant: &mut Tenant,
    matters: &[MatterId],
) -> Result<HashMap<MatterId, bool>> {
    let ids: Vec<Uuid> = matters.iter().map(|m| m.0).collect();
    let rows = sqlx::query!(
        "select m.matter_id, pa.show_time_entries from matter m join practice_area pa using (practice_area_id)
         where m.matter_id = any($1)",
        &ids
    )
    .fetch_all(tenant.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (MatterId(r.matter_id), r.show_time_entries))
        .collect())
}

/// Whether an invoice is past its due date on `today` with something still owed.
pub fn overdue(invoice: &Invoice, today: Date) -> bool {
    crate::dates::parse_date(&invoice.due_on, "due_on")
        .ok()
        .flatten()
        .is_some_and(|due| due < today)
        && invoice.balance_minor > 0
}
