//! `POST /api/v1/invoices/{invoice_id}/pay`: a client user presses Pay. The server decides the
//! amount (what is owed now), checks the money rules, and returns what Stripe's Payment Element
//! needs. The press is a persisted payment attempt whose id is Stripe's idempotency key, so double
//! clicks, retries and two people of the client pressing at once all get one PaymentIntent. The
//! browser then confirms with Stripe; only Stripe's webhook records the payment.

use axum::extract::State;
use docket_protocol::billing::PaymentSheet;
use docket_protocol::ids::InvoiceId;
use serde_json::json;
use uuid::Uuid;

use super::rules::{self, InvoiceFacts};
use super::stripe::NewIntent;
use super::views::visible_invoice;
use crate::access::{self, Action};
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::error::{Json, Path};
use crate::startup::AppState;
use crate::{Error, Result};

type ErrorResponses = docket_protocol::error::ErrorBody;

/// Starts (or resumes) paying an invoice by card.
#[utoipa::path(post, path = "/api/v1/invoices/{invoice_id}/pay", tag = "billing",
    params(("invoice_id" = InvoiceId, Path)),
    responses((status = 200, body = PaymentSheet),
              (status = 403, description = "forbidden: not a payer of this client; or client money, with reason `client_money` and the explanation", body = ErrorResponses),
              (status = 404, body = ErrorResponses),
              (status = 409, description = "nothing is owed, or a payment is on its way", body = ErrorResponses),
              (status = 503, description = "card payments are not set up, or Stripe is unreachable", body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, invoice_id = %invoice_id))]
pub async fn pay(
    State(app): State<AppState>,
    signed: Signed,
    Path(invoice_id): Path<InvoiceId>,
) -> Result<Json<PaymentSheet>> {
    let mut tenant = signed.tenant(&app).await?;
    let invoice = visible_invoice(&mut tenant, &signed, invoice_id).await?;
    access::matter(
        &mut tenant,
        &signed.actor,
        invoice.matter_id,
        Action::PayInvoice,
    )
    .await?;
    let Some(gateway) = app.payments.as_ref() else {
        return Err(Error::Unavailable(
            "Card payments are not set up in this portal; please pay as the invoice says.",
        ));
    };
    // One Pay at a time per invoice: a second press waits here, then finds the first's attempt.
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('docket.pay:' || $1::uuid::text, 0))",
        invoice_id.0
    )
    .execute(tenant.conn())
    .await?;
    let now = sqlx::query!(
        r#"select i.kind, i.status, i.balance_minor, i.client_money_minor,
                  exists (select 1 from payment p where p.invoice_id = i.invoice_id
                          and p.status = 'processing') as "processing!"
           from invoice i where i.invoice_id = $1"#,
        invoice_id.0
    )
    .fetch_one(tenant.conn())
    .await?;
    let parse = |e: docket_protocol::directory::UnknownName| Error::Internal(e.into());
    let facts = InvoiceFacts {
        kind: now.kind.parse().map_err(parse)?,
        status: now.status.parse().map_err(parse)?,
        balance_minor: now.balance_minor,
        client_money_minor: now.client_money_minor,
        processing: now.processing,
    };
    if let Some(why) = rules::why_not_payable(&facts) {
        return Err(if facts.client_money_minor > 0 {
            Error::ClientMoney(why)
        } else {
            Error::Conflict(why.to_owned())
        });
    }
    let amount = facts.balance_minor;
    let existing = sqlx::query_scalar!(
        "select attempt_id from payment_attempt
         where invoice_id = $1 and amount_minor = $2 and state = 'open'",
        invoice_id.0,
        amount
    )
    .fetch_optional(tenant.conn())
    .await?;
    let attempt_id = match existing {
        Some(id) => id,
        None => {
            // What is owed changed since an earlier press: that attempt is for another amount.
            sqlx::query!(
                "update payment_attempt set state = 'superseded' where invoice_id = $1 and state = 'open'",
                invoice_id.0
            )
            .execute(tenant.conn())
            .await?;
            let id = Uuid::now_v7();
            sqlx::query!(
                "insert into payment_attempt (attempt_id, invoice_id, matter_id, amount_minor, created_by, created_at)
                 values ($1, $2, $3, $4, $5, $6)",
                id,
                invoice_id.0,
                invoice.matter_id.0,
                amount,
                signed.user.user_id.0,
                app.clock.now(),
            )
            .execute(tenant.conn())
            .await?;
            audit::record(
                &mut tenant,
                AuditRecord::new("invoice.payment_started")
                    .matter(invoice.matter_id)
                    .target("invoice", invoice_id)
                    .detail(json!({ "number": invoice.number, "amount_minor": amount,
                                    "attempt": id })),
            )
            .await?;
            id
        }
    };
    // The attempt is committed before Stripe is called, so a retry after a failure here finds it.
    tenant.commit().await?;
    let intent = gateway
        .create_intent(&NewIntent {
            attempt_id,
            amount_minor: amount,
            invoice_id,
            invoice_number: &invoice.number,
            matter_id: invoice.matter_id,
        })
        .await?;
    let mut tenant = signed.tenant(&app).await?;
    sqlx::query!(
        "update payment_attempt set payment_intent_id = $2 where attempt_id = $1 and payment_intent_id is null",
        attempt_id,
        intent.id,
    )
    .execute(tenant.conn())
    .await?;
    tenant.commit().await?;
    Ok(Json(PaymentSheet {
        invoice_id,
        payment_intent_id: intent.id,
        client_secret: intent.client_secret,
        amount_minor: intent.amount_minor,
        currency: "GBP".into(),
        publishable_key: gateway.publishable_key().to_owned(),
        test_mode: gateway.test_mode(),
        stand_in: app.config.payments.stand_in().map(str::to_owned),
    }))
}
