//! `POST /api/v1/stripe/webhook`: what Stripe reports of payments. The raw body's signature is
//! verified (HMAC-SHA256 over `{t}.{body}` with the endpoint's secret, constant-time, within a
//! five-minute tolerance) before anything is read; each event id is applied once; each applied
//! event becomes, in one transaction acting as the built-in payments account, a payment row, the
//! invoice's new balance, a payment card, an alert for the responsible fee earner and an audit row
//! (the card and the alert go through the outbox with the commit). The browser never marks
//! anything paid: only this endpoint does.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use docket_protocol::billing::{PaymentMethod, PaymentStatus};
use docket_protocol::ids::{InvoiceId, PaymentId};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use time::OffsetDateTime;

use super::ledger::{self, Locked, PaymentNews};
use crate::audit::{self, AuditRecord};
use crate::auth::ClientMeta;
use crate::db::{RequestContext, Tenant};
use crate::integrations::PAYMENTS_ACCOUNT;
use crate::startup::AppState;
use crate::{Error, Result};

/// How far a signature's timestamp may be from now, either way (Stripe's own default).
pub const TOLERANCE_SECONDS: i64 = 300;
/// The largest event body accepted; Stripe's payment events are a few KiB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The event types Docket applies; every other type is acknowledged and ignored.
pub const HANDLED: [&str; 5] = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.processing",
    "charge.refunded",
    "charge.dispute.created",
];

/// Why a signature was refused (never told to the caller beyond `invalid_signature`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `t=` or no `v1=` in the header.
    Malformed,
    /// Outside the tolerance: a replay, or a badly wrong clock.
    Stale,
    /// No `v1` matches: forged, altered, or signed with another secret.
    Mismatch,
}

/// Verifies a `Stripe-Signature` header for `payload` at `now` (Unix seconds).
pub fn verify(header: &str, payload: &[u8], secret: &[u8], now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) if timestamp.is_none() => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => {
                if let Ok(bytes) = data_encoding::HEXLOWER_PERMISSIVE.decode(value.as_bytes()) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return Err(SignatureError::Malformed);
    };
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    // Each candidate is compared in constant time (`verify_slice`).
    let matched = signatures
        .iter()
        .any(|candidate| mac.clone().verify_slice(candidate).is_ok());
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// A `Stripe-Signature` header for `payload` at `timestamp` (the fake Stripe signs with it).
pub fn sign(payload: &[u8], secret: &[u8], timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!(
        "t={timestamp},v1={}",
        data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
    )
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: Value,
}

/// What the handler did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Ignored,
    Duplicate,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Ignored | Self::Duplicate => "ignored",
        }
    }
}

/// Stripe's webhook. `400 invalid_signature` for a forged, stale or wrongly signed body (nothing
/// read, nothing changed); `200` for everything verified, including types Docket ignores and
/// events it already applied.
#[utoipa::path(post, path = "/api/v1/stripe/webhook", tag = "billing",
    request_body(content = Vec<u8>, content_type = "application/json", description = "A Stripe event, as Stripe signed it"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256>")),
    security(()),
    responses((status = 200, description = "applied, ignored or already applied"),
              (status = 400, description = "invalid_signature, malformed_json", body = docket_protocol::error::ErrorBody),
              (status = 404, description = "card payments are not configured", body = docket_protocol::error::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn stripe_webhook(
    State(app): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Value>)> {
    let Some(settings) = app.config.payments.stripe() else {
        return Err(Error::NotFound);
    };
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let now = app.clock.now().unix_timestamp();
    if let Err(why) = verify(
        header,
        &body,
        settings.webhook_secret.expose_secret().as_bytes(),
        now,
    ) {
        tracing::warn!(reason = ?why, "a Stripe webhook was refused");
        return Err(Error::BadSignature);
    }
    let event: Event = serde_json::from_slice(&body)
        .map_err(|_| Error::MalformedJson("The event is not a Stripe event.".into()))?;
    let started = std::time::Instant::now();
    let outcome = apply(&app, &meta, &event).await?;
    tracing::info!(event_type = %event.kind, outcome = ?outcome,
        elapsed_us = started.elapsed().as_micros() as u64, "Stripe event");
    Ok((
        StatusCode::OK,
        axum::Json(json!({ "received": true, "outcome": outcome.as_str(),
                           "duplicate": outcome == Outcome::Duplicate })),
    ))
}

async fn apply(app: &AppState, meta: &ClientMeta, event: &Event) -> Result<Outcome> {
    let ctx = RequestContext {
        actor: Some(PAYMENTS_ACCOUNT),
        source_ip: meta.ip,
        ..Default::default()
    };
    let mut tenant = Tenant::begin(&app.pool, &app.outbox, ctx).await?;
    let seen = sqlx::query_scalar!(
        r#"select exists (select 1 from stripe_event where event_id = $1) as "seen!""#,
        event.id
    )
    .fetch_one(tenant.conn())
    .await?;
    if seen {
        return Ok(Outcome::Duplicate);
    }
    let at = app.clock.now();
    let outcome = if HANDLED.contains(&event.kind.as_str()) {
        handle(&mut tenant, event, at).await?
    } else {
        Outcome::Ignored
    };
    let recorded = sqlx::query!(
        "insert into stripe_event (event_id, type, received_at, outcome) values ($1, $2, $3, $4)
         on conflict (event_id) do nothing",
        event.id,
        event.kind,
        at,
        outcome.as_str(),
    )
    .execute(tenant.conn())
    .await?;
    if recorded.rows_affected() == 0 {
        // The same event, delivered twice at once: the other delivery applies it.
        return Ok(Outcome::Duplicate);
    }
    tenant.commit().await?;
    Ok(outcome)
}

fn text<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// The id of an expandable field: the string itself, or the object's `id`.
fn id_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(id) => Some(id.clone()),
        Value::Object(object) => object.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// A payment row of one PaymentIntent, locked.
struct Existing {
    payment_id: PaymentId,
    status: PaymentStatus,
    amount_minor: i64,
    refunded_minor: i64,
}

async fn payment_of(tenant: &mut Tenant, intent: &str) -> Result<Option<Existing>> {
    let row = sqlx::query!(
        "select payment_id, status, amount_minor, refunded_minor from payment
         where payment_intent_id = $1 for update",
        intent
    )
    .fetch_optional(tenant.conn())
    .await?;
    row.map(|r| {
        Ok(Existing {
            payment_id: r.payment_id.into(),
            status: r
                .status
                .parse()
                .map_err(|e: docket_protocol::directory::UnknownName| Error::Internal(e.into()))?,
            amount_minor: r.amount_minor,
            refunded_minor: r.refunded_minor,
        })
    })
    .transpose()
}

/// The invoice a PaymentIntent pays, from the metadata Docket set when it created it.
async fn invoice_of(tenant: &mut Tenant, intent: &Value) -> Result<Option<Locked>> {
    let Some(id) = intent
        .get("metadata")
        .and_then(|m| text(m, "invoice_id"))
        .and_then(|id| id.parse::<InvoiceId>().ok())
    else {
        return Ok(None);
    };
    ledger::lock_by_id(tenant, id).await
}

/// The invoice of an existing payment (for charge and dispute events).
async fn invoice_of_payment(tenant: &mut Tenant, intent: &str) -> Result<Option<Locked>> {
    let id = sqlx::query_scalar!(
        "select invoice_id from payment where payment_intent_id = $1",
        intent
    )
    .fetch_optional(tenant.conn())
    .await?;
    match id {
        Some(id) => ledger::lock_by_id(tenant, InvoiceId(id)).await,
        None => Ok(None),
    }
}

async fn handle(tenant: &mut Tenant, event: &Event, at: OffsetDateTime) -> Result<Outcome> {
    let object = &event.data.object;
    match event.kind.as_str() {
        "payment_intent.succeeded"
        | "payment_intent.processing"
        | "payment_intent.payment_failed" => intent_event(tenant, event, object, at).await,
        "charge.refunded" => refunded(tenant, object, at).await,
        "charge.dispute.created" => disputed(tenant, object, at).await,
        _ => Ok(Outcome::Ignored),
    }
}

async fn intent_event(
    tenant: &mut Tenant,
    event: &Event,
    intent: &Value,
    at: OffsetDateTime,
) -> Result<Outcome> {
    let Some(intent_id) = text(intent, "id") else {
        return Ok(Outcome::Ignored);
    };
    let Some(mut invoice) = invoice_of(tenant, intent).await? else {
        tracing::warn!(event_type = %event.kind, "a PaymentIntent that names no invoice of this firm");
        return Ok(Outcome::Ignored);
    };
    let existing = payment_of(tenant, intent_id).await?;
    let status = match event.kind.as_str() {
        "payment_intent.succeeded" => PaymentStatus::Succeeded,
        "payment_intent.processing" => PaymentStatus::Processing,
        _ => PaymentStatus::Failed,
    };
    // Events can arrive out of order: a late `processing` or `failed` never undoes a success, and
    // a success is applied once.
    if let Some(e) = &existing {
        let settled = matches!(
            e.status,
            PaymentStatus::Succeeded | PaymentStatus::Refunded | PaymentStatus::Disputed
        );
        if settled || e.status == status {
            return Ok(Outcome::Ignored);
        }
    }
    let amount = match status {
        PaymentStatus::Succeeded => intent.get("amount_received").and_then(Value::as_i64),
        _ => intent.get("amount").and_then(Value::as_i64),
    }
    .filter(|a| *a > 0)
    .ok_or_else(|| Error::MalformedJson("The PaymentIntent has no amount.".into()))?;
    let failure_reason = (status == PaymentStatus::Failed).then(|| {
        intent
            .get("last_payment_error")
            .and_then(|e| text(e, "message"))
            .unwrap_or("The payment did not go through.")
            .chars()
            .take(300)
            .collect::<String>()
    });
    let charge_id = id_of(intent.get("latest_charge"));
    let method = if status == PaymentStatus::Processing
        || existing
            .as_ref()
            .is_some_and(|e| e.status == PaymentStatus::Processing)
    {
        PaymentMethod::Bank
    } else {
        PaymentMethod::Card
    };
    let payment_id = match &existing {
        Some(e) => {
            sqlx::query!(
                "update payment set status = $2, amount_minor = $3, failure_reason = $4,
                     charge_id = coalesce($5, charge_id), updated_at = $6, method = $7
                 where payment_id = $1",
                e.payment_id.0,
                status.as_str(),
                amount,
                failure_reason,
                charge_id,
                at,
                method.as_str(),
            )
            .execute(tenant.conn())
            .await?;
            e.payment_id
        }
        None => {
            let id = PaymentId::new();
            sqlx::query!(
                "insert into payment (payment_id, invoice_id, matter_id, method, status, amount_minor,
                     failure_reason, payment_intent_id, charge_id, created_at, updated_at, recorded_by)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
                id.0,
                invoice.invoice_id.0,
                invoice.matter_id.0,
                method.as_str(),
                status.as_str(),
                amount,
                failure_reason,
                intent_id,
                charge_id,
                at,
                PAYMENTS_ACCOUNT.0,
            )
            .execute(tenant.conn())
            .await?;
            id
        }
    };
    let mut overpaid = 0;
    if status == PaymentStatus::Succeeded {
        let applied = amount.min(invoice.balance_minor);
        overpaid = amount - applied;
        let (credited, paid) = (invoice.credited_minor, invoice.paid_minor + applied);
        ledger::set_amounts(tenant, &mut invoice, credited, paid).await?;
        ledger::supersede_open_attempts(tenant, invoice.invoice_id).await?;
    }
    audit::record(
        tenant,
        AuditRecord::new(match status {
            PaymentStatus::Succeeded => "payment.succeeded",
            PaymentStatus::Processing => "payment.processing",
            _ => "payment.failed",
        })
        .matter(invoice.matter_id)
        .target("payment", payment_id)
        .detail(json!({ "invoice": invoice.number, "amount_minor": amount,
                        "balance_minor": invoice.balance_minor, "overpaid_minor": overpaid,
                        "stripe_event": event.id, "payment_intent": intent_id })),
    )
    .await?;
    let news = PaymentNews {
        payment_id,
        status,
        amount_minor: amount,
        failure_reason,
    };
    ledger::announce_payment(tenant, &invoice, &news, at).await?;
    Ok(Outcome::Applied)
}

async fn refunded(tenant: &mut Tenant, charge: &Value, at: OffsetDateTime) -> Result<Outcome> {
    let Some(intent_id) = id_of(charge.get("payment_intent")) else {
        return Ok(Outcome::Ignored);
    };
    let Some(mut invoice) = invoice_of_payment(tenant, &intent_id).await? else {
        return Ok(Outcome::Ignored);
    };
    let Some(payment) = payment_of(tenant, &intent_id).await? else {
        return Ok(Outcome::Ignored);
    };
    let refunded_total = charge
        .get("amount_refunded")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .min(payment.amount_minor);
    let delta = refunded_total - payment.refunded_minor;
    if delta <= 0 || payment.status == PaymentStatus::Failed {
        return Ok(Outcome::Ignored);
    }
    sqlx::query!(
        "update payment set status = 'refunded', refunded_minor = $2, updated_at = $3 where payment_id = $1",
        payment.payment_id.0,
        refunded_total,
        at,
    )
    .execute(tenant.conn())
    .await?;
    // The refunded amount is owed again.
    let (credited, paid) = (invoice.credited_minor, (invoice.paid_minor - delta).max(0));
    ledger::set_amounts(tenant, &mut invoice, credited, paid).await?;
    audit::record(
        tenant,
        AuditRecord::new("payment.refunded")
            .matter(invoice.matter_id)
            .target("payment", payment.payment_id)
            .detail(json!({ "invoice": invoice.number, "refunded_minor": delta,
                            "refunded_total_minor": refunded_total,
                            "balance_minor": invoice.balance_minor })),
    )
    .await?;
    let news = PaymentNews {
        payment_id: payment.payment_id,
        status: PaymentStatus::Refunded,
        amount_minor: delta,
        failure_reason: None,
    };
    ledger::announce_payment(tenant, &invoice, &news, at).await?;
    Ok(Outcome::Applied)
}

async fn disputed(tenant: &mut Tenant, dispute: &Value, at: OffsetDateTime) -> Result<Outcome> {
    let Some(intent_id) = id_of(dispute.get("payment_intent")) else {
        return Ok(Outcome::Ignored);
    };
    let Some(invoice) = invoice_of_payment(tenant, &intent_id).await? else {
        return Ok(Outcome::Ignored);
    };
    let Some(payment) = payment_of(tenant, &intent_id).await? else {
        return Ok(Outcome::Ignored);
    };
    if payment.status == PaymentStatus::Disputed {
        return Ok(Outcome::Ignored);
    }
    let amount = dispute
        .get("amount")
        .and_then(Value::as_i64)
        .unwrap_or(payment.amount_minor);
    sqlx::query!(
        "update payment set status = 'disputed', updated_at = $2 where payment_id = $1",
        payment.payment_id.0,
        at,
    )
    .execute(tenant.conn())
    .await?;
    audit::record(
        tenant,
        AuditRecord::new("payment.disputed")
            .matter(invoice.matter_id)
            .target("payment", payment.payment_id)
            .detail(json!({ "invoice": invoice.number, "amount_minor": amount,
                            "reason": text(dispute, "reason") })),
    )
    .await?;
    // The money stays counted until the dispute is decided; the firm is told at once.
    let news = PaymentNews {
        payment_id: payment.payment_id,
        status: PaymentStatus::Disputed,
        amount_minor: amount,
        failure_reason: None,
    };
    ledger::announce_payment(tenant, &invoice, &news, at).await?;
    Ok(Outcome::Applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";

    #[test]
    fn a_signature_verifies_only_for_its_payload_secret_and_time() {
        let payload = br#"{"id":"evt_1"}"#;
        let header = sign(payload, SECRET, 1_000_000);
        assert_eq!(verify(&header, payload, SECRET, 1_000_000), Ok(()));
        assert_eq!(
            verify(&header, payload, SECRET, 1_000_000 + TOLERANCE_SECONDS),
            Ok(())
        );
        assert_eq!(
            verify(&header, payload, SECRET, 1_000_000 + TOLERANCE_SECONDS + 1),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&header, b"{}", SECRET, 1_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, payload, b"whsec_other", 1_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("v1=00", payload, SECRET, 1),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify("t=1", payload, SECRET, 1),
            Err(SignatureError::Malformed)
        );
        // A rotated secret: Stripe sends one v1 per secret; any may match.
        let other = sign(payload, b"whsec_old", 1_000_000);
        let both = format!("{header},{}", other.split_once(',').expect("v1").1);
        assert_eq!(verify(&both, payload, b"whsec_old", 1_000_000), Ok(()));
    }
}
