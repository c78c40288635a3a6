//! Changing what an invoice owes: the invoice row locked, its amounts and status set in the same
//! transaction as whatever changed them, and the cards and alert that announce it.

use docket_protocol::auth::AlertDetail;
use docket_protocol::billing::{InvoiceKind, InvoiceStatus, PaymentStatus};
use docket_protocol::ids::{InvoiceId, MatterId, PaymentId, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use super::rules;
use crate::auth::alerts;
use crate::channels::store::{self as channel_store, NewEvent};
use crate::db::Tenant;
use crate::events::{Body, InvoiceCard, PaymentCard};
use crate::{Error, Result};

/// An invoice locked (`for update`) for a change of its amounts.
#[derive(Debug, Clone)]
pub struct Locked {
    pub invoice_id: InvoiceId,
    pub matter_id: MatterId,
    pub number: String,
    pub kind: InvoiceKind,
    pub due_on: time::Date,
    pub total_minor: i64,
    pub client_money_minor: i64,
    pub credited_minor: i64,
    pub paid_minor: i64,
    pub balance_minor: i64,
    pub status: InvoiceStatus,
    pub body_hash: Vec<u8>,
    pub revision: i32,
    pub responsible: UserId,
}

/// Locks the invoice numbered `number`, if the actor may change it.
pub async fn lock_by_number(tenant: &mut Tenant, number: &str) -> Result<Option<Locked>> {
    lock(tenant, None, Some(number)).await
}

/// Locks invoice `id`, if the actor may change it.
pub async fn lock_by_id(tenant: &mut Tenant, id: InvoiceId) -> Result<Option<Locked>> {
    lock(tenant, Some(id.0), None).await
}

async fn lock(
    tenant: &mut Tenant,
    id: Option<Uuid>,
    number: Option<&str>,
) -> Result<Option<Locked>> {
    let row = sqlx::query!(
        r#"select i.invoice_id, i.matter_id, i.number, i.kind, i.due_on, i.total_minor,
                  i.client_money_minor, i.credited_minor, i.paid_minor, i.balance_minor, i.status,
                  i.body_hash, i.revision, m.responsible_fee_earner_id
           from invoice i join matter m using (matter_id)
           where ($1::uuid is null or i.invoice_id = $1) and ($2::text is null or i.number = $2)
           for update of i"#,
        id,
        number,
    )
    .fetch_optional(tenant.conn())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let parse = |e: docket_protocol::directory::UnknownName| Error::Internal(e.into());
    Ok(Some(Locked {
        invoice_id: r.invoice_id.into(),
        matter_id: r.matter_id.into(),
        number: r.number,
        kind: r.kind.parse().map_err(parse)?,
        due_on: r.due_on,
        total_minor: r.total_minor,
        client_money_minor: r.client_money_minor,
        credited_minor: r.credited_minor,
        paid_minor: r.paid_minor,
        balance_minor: r.balance_minor,
        status: r.status.parse().map_err(parse)?,
        body_hash: r.body_hash,
        revision: r.revision,
        responsible: r.responsible_fee_earner_id.into(),
    }))
}

/// Sets the invoice's credited and paid amounts, and with them its balance and status.
pub async fn set_amounts(
    tenant: &mut Tenant,
    invoice: &mut Locked,
    credited_minor: i64,
    paid_minor: i64,
) -> Result<()> {
    let balance = invoice.total_minor - credited_minor - paid_minor;
    if balance < 0 {
        return Err(Error::Conflict(format!(
            "That would leave invoice {} overpaid.",
            invoice.number
        )));
    }
    let status = rules::status(invoice.total_minor, credited_minor, paid_minor, false);
    sqlx::query!(
        "update invoice set credited_minor = $2, paid_minor = $3, balance_minor = $4, status = $5
         where invoice_id = $1",
        invoice.invoice_id.0,
        credited_minor,
        paid_minor,
        balance,
        status.as_str(),
    )
    .execute(tenant.conn())
    .await?;
    invoice.credited_minor = credited_minor;
    invoice.paid_minor = paid_minor;
    invoice.balance_minor = balance;
    invoice.status = status;
    Ok(())
}

/// Posts an invoice card: the invoice as it now stands, with Pay while something is owed.
/// Supersedes the invoice's open payment attempt, if any: the next Pay press makes a new
/// PaymentIntent for what is owed then, and never finds this one again.
pub async fn supersede_open_attempts(tenant: &mut Tenant, invoice_id: InvoiceId) -> Result<()> {
    sqlx::query!(
        "update payment_attempt set state = 'superseded' where invoice_id = $1 and state = 'open'",
        invoice_id.0
    )
    .execute(tenant.conn())
    .await?;
    Ok(())
}

pub async fn invoice_card(tenant: &mut Tenant, invoice: &Locked, at: OffsetDateTime) -> Result<()> {
    let card = Body::Invoice(InvoiceCard {
        invoice_id: invoice.invoice_id,
        number: invoice.number.clone(),
        total_minor: invoice.total_minor,
        amount_due_minor: invoice.balance_minor,
        currency: "GBP".into(),
        due_on: crate::dates::format_date(invoice.due_on),
    });
    post(tenant, invoice.matter_id, card, at).await
}

/// What happened to one payment, for its card and alert.
#[derive(Debug, Clone)]
pub struct PaymentNews {
    pub payment_id: PaymentId,
    pub status: PaymentStatus,
    pub amount_minor: i64,
    pub failure_reason: Option<String>,
}

/// Posts a payment card on the matter and alerts the responsible fee earner.
pub async fn announce_payment(
    tenant: &mut Tenant,
    invoice: &Locked,
    news: &PaymentNews,
    at: OffsetDateTime,
) -> Result<()> {
    let card = Body::Payment(PaymentCard {
        invoice_id: invoice.invoice_id,
        invoice_number: invoice.number.clone(),
        payment_id: news.payment_id,
        status: news.status,
        amount_minor: news.amount_minor,
        balance_minor: invoice.balance_minor,
        invoice_status: invoice.status,
        failure_reason: news.failure_reason.clone(),
    });
    post(tenant, invoice.matter_id, card, at).await?;
    alerts::raise(
        tenant,
        invoice.responsible,
        AlertDetail::Payment {
            matter_id: invoice.matter_id,
            invoice_id: invoice.invoice_id,
            invoice_number: invoice.number.clone(),
            status: news.status,
            amount_minor: news.amount_minor,
        },
        at,
    )
    .await?;
    Ok(())
}

async fn post(
    tenant: &mut Tenant,
    matter_id: MatterId,
    body: Body,
    at: OffsetDateTime,
) -> Result<()> {
    let author = tenant.ctx().actor.ok_or_else(|| {
        Error::Internal(anyhow::anyhow!("a billing card needs an acting account"))
    })?;
    let event = NewEvent {
        matter_id,
        author_id: author,
        device_id: None,
        client_msg_id: Uuid::now_v7(),
        body,
    };
    channel_store::append(tenant, &event, at).await?;
    Ok(())
}
