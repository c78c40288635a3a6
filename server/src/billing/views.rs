//! What clients, finance users and the firm see of billing: a matter's or a whole client's balance,
//! invoices, payments, planned bills and (where shown) time entries, and one invoice.
//!
//! Everything here needs the invoices scope on each matter included: a member without it is
//! refused (`forbidden`) on a matter they otherwise see, and another client's matter or invoice is
//! `not_found`, like every foreign id.

use axum::extract::State;
use docket_protocol::billing::{BillingSummary, Invoice};
use docket_protocol::directory::Scope;
use docket_protocol::ids::{ClientId, InvoiceId, MatterId};

use super::rows;
use crate::access::{self, authorize, query_matters, Action, Resource};
use crate::auth::Signed;
use crate::db::Tenant;
use crate::error::{Json, Path};
use crate::startup::AppState;
use crate::{Error, Result};

type ErrorResponses = docket_protocol::error::ErrorBody;

/// The matters whose billing the viewer may see: one matter, or every matter of a client.
pub(super) async fn billed_matters(
    tenant: &mut Tenant,
    signed: &Signed,
    scope: BillingScope,
) -> Result<Vec<MatterId>> {
    match scope {
        BillingScope::Matter(matter_id) => {
            access::matter(
                tenant,
                &signed.actor,
                matter_id,
                Action::ViewScope(Scope::Invoices),
            )
            .await?;
            Ok(vec![matter_id])
        }
        BillingScope::Client(client_id) => {
            authorize(
                &signed.actor,
                Action::ViewClient,
                Resource::Client(client_id),
            )?;
            let mut ids = Vec::new();
            for row in query_matters(tenant, signed.user.user_id, None).await? {
                if row.client_id != client_id.0 {
                    continue;
                }
                let facts = row.facts()?;
                let view = Action::ViewScope(Scope::Invoices);
                if authorize(&signed.actor, view, Resource::Matter(&facts)).is_ok() {
                    ids.push(MatterId(row.matter_id));
                }
            }
            if ids.is_empty() && signed.actor.firm_role().is_none() {
                // A client user who sees none of their client's invoices: finance and client
                // admins see all of them, so this is a member without the invoices scope.
                return Err(Error::Forbidden);
            }
            Ok(ids)
        }
    }
}

/// Whose billing: one matter's or one client's.
#[derive(Debug, Clone, Copy)]
pub(super) enum BillingScope {
    Matter(MatterId),
    Client(ClientId),
}

/// The billing summary of `matters`, as the viewer may see it.
pub(super) async fn summary(
    tenant: &mut Tenant,
    signed: &Signed,
    matters: &[MatterId],
    today: time::Date,
) -> Result<BillingSummary> {
    let invoices = rows::invoices(tenant, Some(matters), None).await?;
    let payments = rows::payments_of(tenant, Some(matters), None, None).await?;
    let schedule = rows::schedule(tenant, matters).await?;
    let shown = rows::shows_time_entries(tenant, matters).await?;
    let time_entries = if signed.actor.is_firm_side() || shown.values().any(|s| *s) {
        Some(rows::time_entries(tenant, matters).await?)
    } else {
        None
    };
    let balance_minor = invoices.iter().map(|i| i.balance_minor).sum();
    let overdue_minor = invoices
        .iter()
        .filter(|i| rows::overdue(i, today))
        .map(|i| i.balance_minor)
        .sum();
    Ok(BillingSummary {
        currency: "GBP".into(),
        balance_minor,
        overdue_minor,
        invoices,
        payments,
        schedule,
        time_entries,
    })
}

/// A matter's billing: balance, invoices, payments with receipts, planned bills, and time entries
/// where the practice area shows them to clients.
#[utoipa::path(get, path = "/api/v1/matters/{matter_id}/billing", tag = "billing",
    params(("matter_id" = MatterId, Path)),
    responses((status = 200, body = BillingSummary), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn matter_billing(
    State(app): State<AppState>,
    signed: Signed,
    Path(matter_id): Path<MatterId>,
) -> Result<Json<BillingSummary>> {
    let mut tenant = signed.tenant(&app).await?;
    let matters = billed_matters(&mut tenant, &signed, BillingScope::Matter(matter_id)).await?;
    let summary = summary(&mut tenant, &signed, &matters, app.clock.now().date()).await?;
    tenant.commit().await?;
    Ok(Json(summary))
}

/// A client's billing across every matter whose invoices the viewer may see (the client's
/// Account & billing page).
#[utoipa::path(get, path = "/api/v1/clients/{client_id}/billing", tag = "billing",
    params(("client_id" = ClientId, Path)),
    responses((status = 200, body = BillingSummary), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, client_id = %client_id))]
pub async fn client_billing(
    State(app): State<AppState>,
    signed: Signed,
    Path(client_id): Path<ClientId>,
) -> Result<Json<BillingSummary>> {
    let mut tenant = signed.tenant(&app).await?;
    let matters = billed_matters(&mut tenant, &signed, BillingScope::Client(client_id)).await?;
    let summary = summary(&mut tenant, &signed, &matters, app.clock.now().date()).await?;
    tenant.commit().await?;
    Ok(Json(summary))
}

/// One invoice with its lines, credit notes and payments.
#[utoipa::path(get, path = "/api/v1/invoices/{invoice_id}", tag = "billing",
    params(("invoice_id" = InvoiceId, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, invoice_id = %invoice_id))]
pub async fn get_invoice(
    State(app): State<AppState>,
    signed: Signed,
    Path(invoice_id): Path<InvoiceId>,
) -> Result<Json<Invoice>> {
    let mut tenant = signed.tenant(&app).await?;
    let invoice = visible_invoice(&mut tenant, &signed, invoice_id).await?;
    tenant.commit().await?;
    Ok(Json(invoice))
}

/// An invoice the viewer may see (the database and the policy both), else `NotFound`.
pub(super) async fn visible_invoice(
    tenant: &mut Tenant,
    signed: &Signed,
    invoice_id: InvoiceId,
) -> Result<Invoice> {
    let invoice = rows::invoices(tenant, None, Some(&[invoice_id]))
        .await?
        .pop()
        .ok_or(Error::NotFound)?;
    access::matter(
        tenant,
        &signed.actor,
        invoice.matter_id,
        Action::ViewScope(Scope::Invoices),
    )
    .await
    .map_err(|e| match e {
        Error::Forbidden => Error::NotFound,
        e => e,
    })?;
    Ok(invoice)
}
