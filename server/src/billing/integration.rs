//! The billing system's endpoints (its service account, scope `billing`): it issues invoices and
//! credit notes, records payments it received, and keeps time entries and planned bills current.
//! Every write is idempotent on the billing system's own number or id.

use axum::extract::State;
use axum::http::StatusCode;
use docket_protocol::billing::{
    Invoice, NewCreditNote, NewInvoice, NewScheduleItem, NewTimeEntry, NewTransfer, Payment,
    VoidInvoice,
};
use docket_protocol::ids::InvoiceId;

use super::record::{self, Outcome};
use super::rows;
use crate::db::Tenant;
use crate::documents::financial;
use crate::error::{Json, Path};
use crate::integrations::Service;
use crate::startup::AppState;
use crate::{Error, Result};

type ErrorResponses = docket_protocol::error::ErrorBody;

fn status(outcome: Outcome) -> StatusCode {
    match outcome {
        Outcome::Created => StatusCode::CREATED,
        Outcome::Changed | Outcome::Unchanged => StatusCode::OK,
    }
}

async fn invoice(tenant: &mut Tenant, id: InvoiceId) -> Result<Invoice> {
    rows::invoices(tenant, None, Some(&[id]))
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

/// Answers a write with the invoice as it now stands, and commits.
async fn answer(
    mut tenant: Tenant,
    (outcome, id): (Outcome, InvoiceId),
) -> Result<(StatusCode, Json<Invoice>)> {
    let invoice = invoice(&mut tenant, id).await?;
    tenant.commit().await?;
    Ok((status(outcome), Json(invoice)))
}

/// Issues invoice `number` (201), or recognises the same again (200, nothing changes), or amends
/// it when the body carries an `amendment` (200, a new revision, audited). A different body
/// without one is `409 conflict`. Posts an invoice card to the matter's channel.
#[utoipa::path(put, path = "/api/v1/billing/invoices/{number}", tag = "billing",
    params(("number" = String, Path, description = "The firm's invoice number")),
    request_body = NewInvoice, security(("service_token" = [])),
    responses((status = 200, body = Invoice), (status = 201, body = Invoice),
              (status = 401, body = ErrorResponses), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 409, body = ErrorResponses),
              (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(service_id = %service.service_id))]
pub async fn put_invoice(
    State(app): State<AppState>,
    service: Service,
    Path(number): Path<String>,
    Json(req): Json<NewInvoice>,
) -> Result<(StatusCode, Json<Invoice>)> {
    let mut tenant = service.tenant(&app).await?;
    let written = record::issue_invoice(
        &mut tenant,
        Some(&service.actor),
        &number,
        &req,
        app.clock.now(),
    )
    .await?;
    answer(tenant, written).await
}

/// Voids invoice `number` (200): it owes nothing from now on, and a card says so. `409` once
/// anything has been paid on it: that needs a credit note.
#[utoipa::path(post, path = "/api/v1/billing/invoices/{number}/void", tag = "billing",
    params(("number" = String, Path, description = "The invoice's number")),
    request_body = VoidInvoice, security(("service_token" = [])),
    responses((status = 200, body = Invoice),
              (status = 401, body = ErrorResponses), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 409, body = ErrorResponses),
              (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(service_id = %service.service_id))]
pub async fn void_invoice(
    State(app): State<AppState>,
    service: Service,
    Path(number): Path<String>,
    Json(req): Json<VoidInvoice>,
) -> Result<Json<Invoice>> {
    let mut tenant = service.tenant(&app).await?;
    let (_, id) = record::void_invoice(
        &mut tenant,
        Some(&service.actor),
        &number,
        &req.reason,
        app.clock.now(),
    )
    .await?;
    let (_, invoice) = answer(tenant, (Outcome::Changed, id)).await?;
    Ok(invoice)
}

/// Records credit note `number` against invoice `invoice_number` (201), or recognises it (200).
#[utoipa::path(post, path = "/api/v1/billing/invoices/{number}/credit-notes", tag = "billing",
    params(("number" = String, Path, description = "The invoice's number")),
    request_body = NewCreditNote, security(("service_token" = [])),
    responses((status = 200, body = Invoice), (status = 201, body = Invoice),
              (status = 401, body = ErrorResponses), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 409, body = ErrorResponses),
              (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(service_id = %service.service_id))]
pub async fn post_credit_note(
    State(app): State<AppState>,
    service: Service,
    Path(number): Path<String>,
    Json(req): Json<NewCreditNote>,
) -> Result<(StatusCode, Json<Invoice>)> {
    let mut tenant = service.tenant(&app).await?;
    let written = record::credit(
        &mut tenant,
        Some(&service.actor),
        &number,
        &req,
        app.clock.now(),
    )
    .await?;
    answer(tenant, written).await
}

/// Records a payment received by other means, e.g. a bank transfer (201), or recognises it (200).
/// It reduces the invoice, posts a payment card and alerts the responsible fee earner.
#[utoipa::path(put, path = "/api/v1/billing/payments/{external_id}", tag = "billing",
    params(("external_id" = String, Path, description = "The billing system's id of the payment")),
    request_body = NewTransfer, security(("service_token" = [])),
    responses((status = 200, body = Payment), (status = 201, body = Payment),
              (status = 401, body = ErrorResponses), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 409, body = ErrorResponses),
              (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(service_id = %service.service_id))]
pub async fn put_transfer(
    State(app): State<AppState>,
    service: Service,
    Path(external_id): Path<String>,
    Json(req): Json<NewTransfer>,
) -> Result<(StatusCode, Json<Payment>)> {
    let mut tenant = service.tenant(&app).await?;
    let (outcome, id) = record::record_transfer(
        &mut tenant,
        Some(&service.actor),
        &external_id,
        &req,
        app.clock.now(),
    )
    .await?;
    let payment = rows::payments_of(&mut tenant, None, None, Some(&[id.0]))
        .await?
        .pop()
        .ok_or(Error::NotFound)?;
    tenant.commit().await?;
    Ok((status(outcome), Json(payment)))
}

/// Records or replaces time entry `external_id` (201 new, 200 otherwise).
#[utoipa::path(put, path = "/api/v1/billing/time-entries/{external_id}", tag = "billing",
    params(("external_id" = String, Path, description = "The billing system's id of the entry")),
    request_body = NewTimeEntry, security(("service_token" = [])),
    responses((status = 200), (status = 201), (status = 401, body = ErrorResponses),
              (status = 403, body = ErrorResponses), (status = 404, body = ErrorResponses),
              (status = 409, body = ErrorResponses), (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(service_id = %service.service_id))]
pub async fn put_time_entry(
    State(app): State<AppState>,
    service: Service,
    Path(external_id): Path<String>,
    Json(req): Json<NewTimeEntry>,
) -> Result<StatusCode> {
    let mut tenant = service.tenant(&app).await?;
    let outcome = record::time_entry(
        &mut tenant,
        Some(&service.actor),
        &external_id,
        &req,
        app.clock.now(),
    )
    .await?;
    tenant.commit().await?;
    Ok(status(outcome))
}

/// Records or replaces planned bill `external_id` (201 new, 200 otherwise).
#[utoipa::path(put, path = "/api/v1/billing/schedule/{external_id}", tag = "billing",
    params(("external_id" = String, Path, description = "The billing system's id of the planned bill")),
    request_body = NewScheduleItem, security(("service_token" = [])),
    responses((status = 200), (status = 201), (status = 401, body = ErrorResponses),
              (status = 403, body = ErrorResponses), (status = 404, body = ErrorResponses),
              (status = 409, body = ErrorResponses), (status = 422, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(service_id = %service.service_id))]
pub async fn put_schedule_item(
    State(app): State<AppState>,
    service: Service,
    Path(external_id): Path<String>,
    Json(req): Json<NewScheduleItem>,
) -> Result<StatusCode> {
    let mut tenant = service.tenant(&app).await?;
    let outcome = record::schedule_item(
        &mut tenant,
        Some(&service.actor),
        &external_id,
        &req,
        app.clock.now(),
    )
    .await?;
    tenant.commit().await?;
    Ok(status(outcome))
}

/// Attaches invoice `number`'s PDF (the raw request body): the bill becomes a `financial`
/// document of the matter, published to those with the invoices scope, stored through the vault;
/// a different PDF later becomes its next version, the same one again changes nothing (200).
#[utoipa::path(put, path = "/api/v1/billing/invoices/{number}/pdf", tag = "billing",
    params(("number" = String, Path, description = "The invoice's number")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The bill as a PDF (checked by its content)"),
    security(("service_token" = [])),
    responses((status = 200, body = Invoice), (status = 201, body = Invoice),
              (status = 401, body = ErrorResponses), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 413, body = ErrorResponses),
              (status = 422, description = "file_refused (not a PDF, or malware), invalid_input", body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(service_id = %service.service_id))]
pub async fn put_invoice_pdf(
    State(app): State<AppState>,
    service: Service,
    Path(number): Path<String>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<Invoice>)> {
    let number = super::rules::number(&number)?;
    let mut tenant = service.tenant(&app).await?;
    let invoice = super::ledger::lock_by_number(&mut tenant, &number)
        .await?
        .ok_or(Error::NotFound)?;
    crate::access::matter(
        &mut tenant,
        &service.actor,
        invoice.matter_id,
        crate::access::Action::IssueInvoices,
    )
    .await?;
    tenant.commit().await?;
    let pdf = financial::ingest_pdf(&app, &service.ctx, invoice.matter_id, body).await?;
    let written = async {
        let mut tenant = service.tenant(&app).await?;
        let invoice = super::ledger::lock_by_number(&mut tenant, &number)
            .await?
            .ok_or(Error::NotFound)?;
        let existing = sqlx::query_scalar!(
            "select document_id from invoice where invoice_id = $1",
            invoice.invoice_id.0
        )
        .fetch_one(tenant.conn())
        .await?;
        let title = format!("Invoice {number}");
        let recorded = financial::record_pdf(
            &mut tenant,
            invoice.matter_id,
            existing,
            &title,
            &pdf,
            service.service_id,
            app.clock.now(),
        )
        .await?;
        if let Some((document_id, _)) = recorded {
            sqlx::query!(
                "update invoice set document_id = $2 where invoice_id = $1",
                invoice.invoice_id.0,
                document_id
            )
            .execute(tenant.conn())
            .await?;
        }
        let invoice = self::invoice(&mut tenant, invoice.invoice_id).await?;
        tenant.commit().await?;
        Ok::<_, Error>((recorded, existing.is_none(), invoice))
    }
    .await;
    match written {
        Ok((Some(_), first, invoice)) => Ok((
            if first {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            Json(invoice),
        )),
        Ok((None, _, invoice)) => {
            financial::discard_pdf(&app, &pdf).await;
            Ok((StatusCode::OK, Json(invoice)))
        }
        Err(err) => {
            financial::discard_pdf(&app, &pdf).await;
            Err(err)
        }
    }
}
