//! The billing system's record: invoices (idempotent on the firm's number, amended only
//! explicitly), credit notes, payments it received by other means, time entries and planned
//! bills. Each is one tenant transaction acting as the billing system's service account (or, from
//! `docket admin billing import`, as the system), with its audit row and, where the client should
//! notice, a card in the matter's channel.

use docket_protocol::billing::{
    InvoiceStatus, NewCreditNote, NewInvoice, NewScheduleItem, NewTimeEntry, NewTransfer,
    PaymentMethod, PaymentStatus,
};
use docket_protocol::ids::{InvoiceId, MatterId, PaymentId};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::ledger::{self, Locked, PaymentNews};
use super::rules::{self, Checked};
use crate::access::{self, Action, Actor};
use crate::audit::{self, AuditRecord};
use crate::dates::required_date;
use crate::db::Tenant;
use crate::{Error, Result};

/// What an idempotent write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It is new (201).
    Created,
    /// It changed something already here (200).
    Changed,
    /// The same again: nothing changed (200).
    Unchanged,
}

/// Checks the actor may issue invoices on `matter_id`. The command line (the system actor on the
/// owner connection) is the firm itself.
async fn may_bill(tenant: &mut Tenant, actor: Option<&Actor>, matter_id: MatterId) -> Result<()> {
    match actor {
        Some(actor) => access::matter(tenant, actor, matter_id, Action::IssueInvoices)
            .await
            .map(drop),
        None => {
            let exists = sqlx::query_scalar!(
                r#"select exists (select 1 from matter where matter_id = $1) as "e!""#,
                matter_id.0
            )
            .fetch_one(tenant.conn())
            .await?;
            exists.then_some(()).ok_or(Error::NotFound)
        }
    }
}

/// Issues invoice `number`, or recognises it again, or amends it (only with `req.amendment`).
pub async fn issue_invoice(
    tenant: &mut Tenant,
    actor: Option<&Actor>,
    number: &str,
    req: &NewInvoice,
    at: OffsetDateTime,
) -> Result<(Outcome, InvoiceId)> {
    let number = rules::number(number)?;
    let checked = rules::check(req)?;
    may_bill(tenant, actor, req.matter_id).await?;
    let hash = checked.hash();
    if let Some(mut existing) = ledger::lock_by_number(tenant, &number).await? {
        if existing.matter_id != req.matter_id {
            return Err(Error::Conflict(format!(
                "Invoice {number} was issued on another matter; an invoice's matter cannot change."
            )));
        }
        if existing.body_hash == hash {
            return Ok((Outcome::Unchanged, existing.invoice_id));
        }
        let Some(amendment) = &req.amendment else {
            return Err(Error::Conflict(format!(
                "Invoice {number} was issued with different contents; send them with an amendment \
                 (and its reason) to change it."
            )));
        };
        amend(tenant, &mut existing, &checked, amendment.reason.trim(), at).await?;
        return Ok((Outcome::Changed, existing.invoice_id));
    }
    let invoice_id = InvoiceId::new();
    let issuer = tenant.ctx().person().map(|a| a.0);
    sqlx::query!(
        "insert into invoice (invoice_id, matter_id, number, kind, issued_on, due_on, total_minor,
             client_money_minor, balance_minor, status, body_hash, issued_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $7, 'issued', $9, $10, $11)",
        invoice_id.0,
        req.matter_id.0,
        number,
        checked.kind.as_str(),
        checked.issued_on,
        checked.due_on,
        checked.total_minor,
        checked.client_money_minor,
        hash,
        issuer,
        at,
    )
    .execute(tenant.conn())
    .await
    .map_err(Error::on_constraint(
        "invoice_number_key",
        "This invoice number was issued twice at the same moment; retry.",
    ))?;
    write_lines(tenant, invoice_id, req.matter_id, &checked).await?;
    write_revision(tenant, invoice_id, req.matter_id, 1, &checked, None, at).await?;
    audit::record(
        tenant,
        AuditRecord::new("invoice.issued")
            .matter(req.matter_id)
            .target("invoice", invoice_id)
            .detail(json!({ "number": number, "kind": checked.kind.as_str(),
                            "total_minor": checked.total_minor,
                            "client_money_minor": checked.client_money_minor })),
    )
    .await?;
    let invoice = ledger::lock_by_id(tenant, invoice_id)
        .await?
        .ok_or(Error::NotFound)?;
    ledger::invoice_card(tenant, &invoice, at).await?;
    Ok((Outcome::Created, invoice_id))
}

async fn amend(
    tenant: &mut Tenant,
    invoice: &mut Locked,
    checked: &Checked,
    reason: &str,
    at: OffsetDateTime,
) -> Result<()> {
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::InvalidInput(
            "An amendment's reason is 1 to 500 characters.".into(),
        ));
    }
    if invoice.status == InvoiceStatus::Void {
        return Err(Error::Conflict(format!(
            "Invoice {} is void and cannot be amended.",
            invoice.number
        )));
    }
    let settled = invoice.credited_minor + invoice.paid_minor;
    if checked.total_minor < settled {
        return Err(Error::Conflict(format!(
            "Invoice {} has {} pence credited or paid already; an amendment cannot take its total below that.",
            invoice.number, settled
        )));
    }
    let before = invoice.total_minor;
    let revision = invoice.revision + 1;
    let status = rules::status(
        checked.total_minor,
        invoice.credited_minor,
        invoice.paid_minor,
        false,
    );
    sqlx::query!(
        "update invoice set kind = $2, issued_on = $3, due_on = $4, total_minor = $5,
             client_money_minor = $6, balance_minor = $5 - credited_minor - paid_minor, status = $7,
             revision = $8, body_hash = $9
         where invoice_id = $1",
        invoice.invoice_id.0,
        checked.kind.as_str(),
        checked.issued_on,
        checked.due_on,
        checked.total_minor,
        checked.client_money_minor,
        status.as_str(),
        revision,
        checked.hash(),
    )
    .execute(tenant.conn())
    .await?;
    sqlx::query!(
        "delete from invoice_line where invoice_id = $1",
        invoice.invoice_id.0
    )
    .execute(tenant.conn())
    .await?;
    write_lines(tenant, invoice.invoice_id, invoice.matter_id, checked).await?;
    write_revision(
        tenant,
        invoice.invoice_id,
        invoice.matter_id,
        revision,
        checked,
        Some(reason),
        at,
    )
    .await?;
    audit::record(
        tenant,
        AuditRecord::new("invoice.amended")
            .matter(invoice.matter_id)
            .target("invoice", invoice.invoice_id)
            .detail(
                json!({ "number": invoice.number, "revision": revision, "reason": reason,
                            "total_minor_before": before, "total_minor": checked.total_minor }),
            ),
    )
    .await?;
    let amended = ledger::lock_by_id(tenant, invoice.invoice_id)
        .await?
        .ok_or(Error::NotFound)?;
    ledger::invoice_card(tenant, &amended, at).await?;
    *invoice = amended;
    Ok(())
}

async fn write_lines(
    tenant: &mut Tenant,
    invoice_id: InvoiceId,
    matter_id: MatterId,
    checked: &Checked,
) -> Result<()> {
    let positions: Vec<i32> = (1..=checked.lines.len() as i32).collect();
    let kinds: Vec<&str> = checked.lines.iter().map(|l| l.kind.as_str()).collect();
    let descriptions: Vec<&str> = checked
        .lines
        .iter()
        .map(|l| l.description.as_str())
        .collect();
    let amounts: Vec<i64> = checked.lines.iter().map(|l| l.amount_minor).collect();
    let paid: Vec<bool> = checked.lines.iter().map(|l| l.paid).collect();
    sqlx::query!(
        "insert into invoice_line (invoice_id, matter_id, position, kind, description, amount_minor, paid)
         select $1, $2, * from unnest($3::int[], $4::text[], $5::text[], $6::bigint[], $7::bool[])",
        invoice_id.0,
        matter_id.0,
        &positions,
        &kinds as &[&str],
        &descriptions as &[&str],
        &amounts,
        &paid,
    )
    .execute(tenant.conn())
    .await?;
    Ok(())
}

async fn write_revision(
    tenant: &mut Tenant,
    invoice_id: InvoiceId,
    matter_id: MatterId,
    revision: i32,
    checked: &Checked,
    reason: Option<&str>,
    at: OffsetDateTime,
) -> Result<()> {
    let by = tenant.ctx().person().map(|a| a.0);
    sqlx::query!(
        "insert into invoice_revision (invoice_id, revision, matter_id, body, reason, created_at, created_by)
         values ($1, $2, $3, $4, $5, $6, $7)",
        invoice_id.0,
        revision,
        matter_id.0,
        checked.canonical(),
        reason,
        at,
        by,
    )
    .execute(tenant.conn())
    .await?;
    Ok(())
}

/// Voids invoice `number`: it owes nothing from now on. Refused once anything has been paid on it
/// (or is on its way): that is a credit note's job. Voiding it again changes nothing.
pub async fn void_invoice(
    tenant: &mut Tenant,
    actor: Option<&Actor>,
    number: &str,
    reason: &str,
    at: OffsetDateTime,
) -> Result<(Outcome, InvoiceId)> {
    let number = rules::number(number)?;
    let reason = rules::text(reason, "reason")?;
    let invoice = ledger::lock_by_number(tenant, &number)
        .await?
        .ok_or(Error::NotFound)?;
    may_bill(tenant, actor, invoice.matter_id).await?;
    if invoice.status == InvoiceStatus::Void {
        return Ok((Outcome::Unchanged, invoice.invoice_id));
    }
    let in_flight = sqlx::query_scalar!(
        r#"select exists (select 1 from payment where invoice_id = $1
                          and status in ('processing', 'succeeded', 'refunded', 'disputed')) as "e!""#,
        invoice.invoice_id.0
    )
    .fetch_one(tenant.conn())
    .await?;
    if invoice.paid_minor > 0 || in_flight {
        return Err(Error::Conflict(format!(
            "Invoice {number} has payments against it; issue a credit note instead of voiding it."
        )));
    }
    sqlx::query!(
        "update invoice set status = 'void', balance_minor = 0, voided_at = $2, void_reason = $3
         where invoice_id = $1",
        invoice.invoice_id.0,
        at,
        reason,
    )
    .execute(tenant.conn())
    .await?;
    ledger::supersede_open_attempts(tenant, invoice.invoice_id).await?;
    audit::record(
        tenant,
        AuditRecord::new("invoice.voided")
            .matter(invoice.matter_id)
            .target("invoice", invoice.invoice_id)
            .detail(json!({ "number": number, "reason": reason,
                            "balance_minor_before": invoice.balance_minor })),
    )
    .await?;
    let voided = ledger::lock_by_id(tenant, invoice.invoice_id)
        .await?
        .ok_or(Error::NotFound)?;
    ledger::invoice_card(tenant, &voided, at).await?;
    Ok((Outcome::Changed, invoice.invoice_id))
}

/// Records credit note `req.number` against invoice `number`; the same note again changes nothing.
pub async fn credit(
    tenant: &mut Tenant,
    actor: Option<&Actor>,
    number: &str,
    req: &NewCreditNote,
    at: OffsetDateTime,
) -> Result<(Outcome, InvoiceId)> {
    let number = rules::number(number)?;
    let note_number = rules::number(&req.number)?;
    let amount = rules::amount(req.amount_minor, "amount_minor", false)?;
    let reason = rules::text(&req.reason, "reason")?;
    let issued_on = required_date(&req.issued_on, "issued_on")?;
    let mut invoice = ledger::lock_by_number(tenant, &number)
        .await?
        .ok_or(Error::NotFound)?;
    may_bill(tenant, actor, invoice.matter_id).await?;
    let existing = sqlx::query!(
        "select invoice_id, amount_minor, reason, issued_on from credit_note where number = $1",
        note_number
    )
    .fetch_optional(tenant.conn())
    .await?;
    if let Some(e) = existing {
        if e.invoice_id == invoice.invoice_id.0
            && e.amount_minor == amount
            && e.reason == reason
            && e.issued_on == issued_on
        {
            return Ok((Outcome::Unchanged, invoice.invoice_id));
        }
        return Err(Error::Conflict(format!(
            "Credit note {note_number} was issued with different contents."
        )));
    }
    if invoice.status == InvoiceStatus::Void {
        return Err(Error::Conflict(format!("Invoice {number} is void.")));
    }
    if amount > invoice.balance_minor {
        return Err(Error::Conflict(format!(
            "Invoice {number} owes {} pence; a credit cannot exceed what is owed.",
            invoice.balance_minor
        )));
    }
    let by = tenant.ctx().person().map(|a| a.0);
    let credit_note_id = Uuid::now_v7();
    sqlx::query!(
        "insert into credit_note (credit_note_id, invoice_id, matter_id, number, issued_on, amount_minor,
             reason, created_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        credit_note_id,
        invoice.invoice_id.0,
        invoice.matter_id.0,
        note_number,
        issued_on,
        amount,
        reason,
        by,
        at,
    )
    .execute(tenant.conn())
    .await
    .map_err(Error::on_constraint(
        "credit_note_number_key",
        "This credit note was issued twice at the same moment; retry.",
    ))?;
    let (credited, paid) = (invoice.credited_minor + amount, invoice.paid_minor);
    ledger::set_amounts(tenant, &mut invoice, credited, paid).await?;
    audit::record(
        tenant,
        AuditRecord::new("invoice.credited")
            .matter(invoice.matter_id)
            .target("invoice", invoice.invoice_id)
            .detail(
                json!({ "number": number, "credit_note": note_number, "amount_minor": amount,
                            "balance_minor": invoice.balance_minor }),
            ),
    )
    .await?;
    ledger::invoice_card(tenant, &invoice, at).await?;
    Ok((Outcome::Created, invoice.invoice_id))
}

/// Records a payment the billing system received by other means (a bank transfer); the same
/// `external_id` again changes nothing.
pub async fn record_transfer(
    tenant: &mut Tenant,
    actor: Option<&Actor>,
    external_id: &str,
    req: &NewTransfer,
    at: OffsetDateTime,
) -> Result<(Outcome, PaymentId)> {
    let external_id = rules::number(external_id)?;
    let number = rules::number(&req.invoice_number)?;
    let amount = rules::amount(req.amount_minor, "amount_minor", false)?;
    let mut invoice = ledger::lock_by_number(tenant, &number)
        .await?
        .ok_or(Error::NotFound)?;
    may_bill(tenant, actor, invoice.matter_id).await?;
    let existing = sqlx::query!(
        "select payment_id, invoice_id, amount_minor from payment where external_id = $1",
        external_id
    )
    .fetch_optional(tenant.conn())
    .await?;
    if let Some(e) = existing {
        if e.invoice_id == invoice.invoice_id.0 && e.amount_minor == amount {
            return Ok((Outcome::Unchanged, e.payment_id.into()));
        }
        return Err(Error::Conflict(format!(
            "Payment {external_id} was recorded with different contents."
        )));
    }
    if invoice.status == InvoiceStatus::Void {
        return Err(Error::Conflict(format!("Invoice {number} is void.")));
    }
    if amount > invoice.balance_minor {
        return Err(Error::Conflict(format!(
            "Invoice {number} owes {} pence; record an overpayment in the billing system, not here.",
            invoice.balance_minor
        )));
    }
    let payment_id = PaymentId::new();
    let by = tenant.ctx().person().map(|a| a.0);
    sqlx::query!(
        "insert into payment (payment_id, invoice_id, matter_id, method, status, amount_minor,
             external_id, created_at, updated_at, recorded_by)
         values ($1, $2, $3, $4, 'succeeded', $5, $6, $7, $7, $8)",
        payment_id.0,
        invoice.invoice_id.0,
        invoice.matter_id.0,
        PaymentMethod::Transfer.as_str(),
        amount,
        external_id,
        at,
        by,
    )
    .execute(tenant.conn())
    .await
    .map_err(Error::on_constraint(
        "payment_external_key",
        "This payment was recorded twice at the same moment; retry.",
    ))?;
    let (credited, paid) = (invoice.credited_minor, invoice.paid_minor + amount);
    ledger::set_amounts(tenant, &mut invoice, credited, paid).await?;
    audit::record(
        tenant,
        AuditRecord::new("payment.recorded")
            .matter(invoice.matter_id)
            .target("payment", payment_id)
            .detail(
                json!({ "invoice": number, "method": "transfer", "amount_minor": amount,
                            "balance_minor": invoice.balance_minor }),
            ),
    )
    .await?;
    let news = PaymentNews {
        payment_id,
        status: PaymentStatus::Succeeded,
        amount_minor: amount,
        failure_reason: None,
    };
    ledger::announce_payment(tenant, &invoice, &news, at).await?;
    Ok((Outcome::Created, payment_id))
}

async fn invoice_id_by_number(tenant: &mut Tenant, number: Option<&str>) -> Result<Option<Uuid>> {
    let Some(number) = number else {
        return Ok(None);
    };
    let number = rules::number(number)?;
    sqlx::query_scalar!("select invoice_id from invoice where number = $1", number)
        .fetch_optional(tenant.conn())
        .await?
        .map(Some)
        .ok_or_else(|| Error::InvalidInput(format!("No invoice {number}.")))
}

/// What an upsert that leaves identical rows alone did. `inserted` is its `returning (xmax = 0)`,
/// absent when it wrote nothing: the same row again, or a row of another matter, which `stored`
/// (the stored row's matter) tells apart.
async fn upserted(
    inserted: Option<bool>,
    stored: impl std::future::Future<Output = sqlx::Result<Uuid>>,
    matter: MatterId,
    what: &str,
) -> Result<Outcome> {
    match inserted {
        Some(true) => Ok(Outcome::Created),
        Some(false) => Ok(Outcome::Changed),
        None if stored.await? == matter.0 => Ok(Outcome::Unchanged),
        None => Err(Error::Conflict(format!(
            "{what} belongs to another matter."
        ))),
    }
}

/// Records (or replaces) time entry `external_id`.
pub async fn time_entry(
    tenant: &mut Tenant,
    actor: Option<&Actor>,
    external_id: &str,
    req: &NewTimeEntry,
    at: OffsetDateTime,
) -> Result<Outcome> {
    let external_id = rules::number(external_id)?;
    let worked_on = required_date(&req.worked_on, "worked_on")?;
    let fee_earner = rules::text(&req.fee_earner, "fee_earner")?;
    let description = rules::text(&req.description, "description")?;
    if req.minutes == 0 || req.minutes > 1440 {
        return Err(Error::InvalidInput("minutes is 1 to 1440.".into()));
    }
    let value = rules::amount(req.value_minor, "value_minor", true)?;
    may_bill(tenant, actor, req.matter_id).await?;
    let invoice_id = invoice_id_by_number(tenant, req.invoice_number.as_deref()).await?;
    let row = sqlx::query!(
        r#"insert into time_entry (time_entry_id, matter_id, invoice_id, external_id, worked_on, fee_earner,
               description, minutes, value_minor, created_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           on conflict (external_id) do update set invoice_id = excluded.invoice_id,
               worked_on = excluded.worked_on, fee_earner = excluded.fee_earner,
               description = excluded.description, minutes = excluded.minutes,
               value_minor = excluded.value_minor
           where time_entry.matter_id = excluded.matter_id
             and (time_entry.invoice_id, time_entry.worked_on, time_entry.fee_earner,
                  time_entry.description, time_entry.minutes, time_entry.value_minor)
                 is distinct from (excluded.invoice_id, excluded.worked_on, excluded.fee_earner,
                  excluded.description, excluded.minutes, excluded.value_minor)
           returning (xmax = 0) as "inserted!""#,
        Uuid::now_v7(),
        req.matter_id.0,
        invoice_id,
        external_id,
        worked_on,
        fee_earner,
        description,
        req.minutes as i32,
        value,
        at,
    )
    .fetch_optional(tenant.conn())
    .await?;
    let stored = async {
        sqlx::query_scalar!(
            "select matter_id from time_entry where external_id = $1",
            external_id
        )
        .fetch_one(tenant.conn())
        .await
    };
    let what = format!("Time entry {external_id}");
    let outcome = upserted(row.map(|r| r.inserted), stored, req.matter_id, &what).await?;
    if outcome == Outcome::Unchanged {
        return Ok(outcome);
    }
    audit::record(
        tenant,
        AuditRecord::new("time_entry.recorded")
            .matter(req.matter_id)
            .target("time_entry", &external_id)
            .detail(json!({ "minutes": req.minutes, "value_minor": value,
                            "changed": outcome == Outcome::Changed })),
    )
    .await?;
    Ok(outcome)
}

/// Records (or replaces) planned bill `external_id`.
pub async fn schedule_item(
    tenant: &mut Tenant,
    actor: Option<&Actor>,
    external_id: &str,
    req: &NewScheduleItem,
    at: OffsetDateTime,
) -> Result<Outcome> {
    let external_id = rules::number(external_id)?;
    let planned_on = required_date(&req.planned_on, "planned_on")?;
    let amount = rules::amount(req.amount_minor, "amount_minor", false)?;
    let description = rules::text(&req.description, "description")?;
    let status = req
        .status
        .unwrap_or(docket_protocol::billing::ScheduleStatus::Planned);
    may_bill(tenant, actor, req.matter_id).await?;
    let invoice_id = invoice_id_by_number(tenant, req.invoice_number.as_deref()).await?;
    let row = sqlx::query!(
        r#"insert into billing_schedule_item (schedule_item_id, matter_id, external_id, planned_on,
               amount_minor, description, kind, status, invoice_id, updated_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           on conflict (external_id) do update set planned_on = excluded.planned_on,
               amount_minor = excluded.amount_minor, description = excluded.description,
               kind = excluded.kind, status = excluded.status, invoice_id = excluded.invoice_id,
               updated_at = excluded.updated_at
           where billing_schedule_item.matter_id = excluded.matter_id
             and (billing_schedule_item.planned_on, billing_schedule_item.amount_minor,
                  billing_schedule_item.description, billing_schedule_item.kind,
                  billing_schedule_item.status, billing_schedule_item.invoice_id)
                 is distinct from (excluded.planned_on, excluded.amount_minor, excluded.description,
                  excluded.kind, excluded.status, excluded.invoice_id)
           returning (xmax = 0) as "inserted!""#,
        Uuid::now_v7(),
        req.matter_id.0,
        external_id,
        planned_on,
        amount,
        description,
        req.kind.as_str(),
        status.as_str(),
        invoice_id,
        at,
    )
    .fetch_optional(tenant.conn())
    .await?;
    let stored = async {
        sqlx::query_scalar!(
            "select matter_id from billing_schedule_item where external_id = $1",
            external_id
        )
        .fetch_one(tenant.conn())
        .await
    };
    let what = format!("Planned bill {external_id}");
    let outcome = upserted(row.map(|r| r.inserted), stored, req.matter_id, &what).await?;
    if outcome == Outcome::Unchanged {
        return Ok(outcome);
    }
    audit::record(
        tenant,
        AuditRecord::new("billing_schedule.recorded")
            .matter(req.matter_id)
            .target("billing_schedule_item", &external_id)
            .detail(
                json!({ "planned_on": req.planned_on, "amount_minor": amount,
                            "status": status.as_str() }),
            ),
    )
    .await?;
    Ok(outcome)
}
