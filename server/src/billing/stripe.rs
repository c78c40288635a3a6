//! Docket's side of Stripe's API: creating the PaymentIntent for a Pay press, with the payment
//! attempt's id as the idempotency key, through `async-stripe` (decision 0030).

use std::collections::HashMap;

use docket_protocol::ids::{InvoiceId, MatterId};
use secrecy::ExposeSecret;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_core::balance_transaction::ListBalanceTransaction;
use stripe_core::payment_intent::{
    CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
};
use stripe_core::payout::ListPayout;
use stripe_types::{Currency, RangeQueryTs};

use crate::config::StripeSettings;
use crate::{Error, Result};

/// How long one call to Stripe may take before the payer is told to try again.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// The firm's Stripe account, as the server calls it.
#[derive(Clone)]
pub struct Gateway {
    client: Client,
    publishable_key: String,
    test_mode: bool,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("test_mode", &self.test_mode)
            .finish_non_exhaustive()
    }
}

/// What the browser needs of a PaymentIntent.
#[derive(Debug, Clone)]
pub struct Intent {
    pub id: String,
    pub client_secret: String,
    pub amount_minor: i64,
}

/// One PaymentIntent to create.
#[derive(Debug, Clone)]
pub struct NewIntent<'a> {
    /// The payment attempt's id: Stripe's idempotency key.
    pub attempt_id: uuid::Uuid,
    pub amount_minor: i64,
    pub invoice_id: InvoiceId,
    pub invoice_number: &'a str,
    pub matter_id: MatterId,
}

impl Gateway {
    /// A client for the configured account.
    pub fn new(settings: &StripeSettings) -> anyhow::Result<Self> {
        let mut builder = ClientBuilder::new(settings.secret_key.expose_secret()).timeout(TIMEOUT);
        if let Some(base) = &settings.api_base {
            // The client appends `v1/...` to the base as given.
            let base = if base.ends_with('/') {
                base.clone()
            } else {
                format!("{base}/")
            };
            builder = builder.url(base);
        }
        let client = builder
            .build()
            .map_err(|e| anyhow::anyhow!("configuring the Stripe client: {e}"))?;
        Ok(Self {
            client,
            publishable_key: settings.publishable_key.clone(),
            test_mode: !settings.is_live(),
        })
    }

    /// The publishable key, for Stripe.js.
    pub fn publishable_key(&self) -> &str {
        &self.publishable_key
    }

    /// Test keys: nothing real is charged.
    pub fn test_mode(&self) -> bool {
        self.test_mode
    }

    /// Creates (or, for the same attempt, finds again) the PaymentIntent of one Pay press: the
    /// amount the server computed, in GBP, never a surcharge; the payment methods the account
    /// offers (cards, and a bank method where the account enables one).
    pub async fn create_intent(&self, new: &NewIntent<'_>) -> Result<Intent> {
        let key = IdempotencyKey::new(format!("docket-attempt-{}", new.attempt_id))
            .map_err(|e| Error::Internal(anyhow::anyhow!("idempotency key: {e}")))?;
        let metadata = HashMap::from([
            ("invoice_id".to_owned(), new.invoice_id.to_string()),
            ("invoice_number".to_owned(), new.invoice_number.to_owned()),
            ("matter_id".to_owned(), new.matter_id.to_string()),
            ("attempt_id".to_owned(), new.attempt_id.to_string()),
        ]);
        let intent = CreatePaymentIntent::new(new.amount_minor, Currency::GBP)
            .description(format!("Invoice {}", new.invoice_number))
            .metadata(metadata)
            .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods::new(true))
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await
            .map_err(unavailable)?;
        if intent.amount != new.amount_minor {
            return Err(Error::Internal(anyhow::anyhow!(
                "Stripe answered attempt {} with a different amount",
                new.attempt_id
            )));
        }
        let client_secret = intent.client_secret.ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("a PaymentIntent without its client secret"))
        })?;
        Ok(Intent {
            id: intent.id.as_str().to_owned(),
            client_secret,
            amount_minor: intent.amount,
        })
    }
}

/// What became of a charge's money: Stripe's fee, what reached the firm, and the payout that
/// carried it (none while not yet paid out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub fee_minor: i64,
    pub net_minor: i64,
    pub payout_id: Option<String>,
}

/// Pages through a list until it ends (at most `MAX_PAGES`, so a runaway cursor cannot loop).
const MAX_PAGES: usize = 100;

impl Gateway {
    /// The settlement of each of `charges`, from Stripe's balance transactions; payouts made since
    /// `since` (Unix seconds) are matched to the charges they carried.
    pub async fn settlements(
        &self,
        charges: &[String],
        since: i64,
    ) -> Result<HashMap<String, Settlement>> {
        let mut payouts: HashMap<String, String> = HashMap::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut request = ListPayout::new()
                .created(RangeQueryTs::gte(since))
                .limit(100);
            if let Some(cursor) = &after {
                request = request.starting_after(cursor.clone());
            }
            let page = request.send(&self.client).await.map_err(unavailable)?;
            for payout in &page.data {
                let mut txn_after: Option<String> = None;
                for _ in 0..MAX_PAGES {
                    let mut txns = ListBalanceTransaction::new()
                        .payout(payout.id.as_str())
                        .limit(100);
                    if let Some(cursor) = &txn_after {
                        txns = txns.starting_after(cursor.clone());
                    }
                    let txns = txns.send(&self.client).await.map_err(unavailable)?;
                    for txn in &txns.data {
                        if let Some(source) = &txn.source {
                            payouts.insert(source.id().to_string(), payout.id.to_string());
                        }
                    }
                    txn_after = txns.data.last().map(|t| t.id.to_string());
                    if !txns.has_more {
                        break;
                    }
                }
            }
            after = page.data.last().map(|p| p.id.to_string());
            if !page.has_more {
                break;
            }
        }
        let mut out = HashMap::new();
        for charge in charges {
            let txns = ListBalanceTransaction::new()
                .source(charge.clone())
                .send(&self.client)
                .await
                .map_err(unavailable)?;
            if txns.data.is_empty() {
                continue;
            }
            out.insert(
                charge.clone(),
                Settlement {
                    fee_minor: txns.data.iter().map(|t| t.fee).sum(),
                    net_minor: txns.data.iter().map(|t| t.net).sum(),
                    payout_id: payouts.get(charge).cloned(),
                },
            );
        }
        Ok(out)
    }
}

/// Stripe could not be reached or refused the call: nothing was charged, and the payer may retry
/// (the same attempt, so the same PaymentIntent).
fn unavailable(err: stripe::StripeError) -> Error {
    // The error may quote the request; only its kind is logged.
    let kind = match &err {
        stripe::StripeError::Stripe(_, status) => format!("stripe error, status {status}"),
        stripe::StripeError::Timeout => "timeout".to_owned(),
        stripe::StripeError::ClientError(_) => "connection".to_owned(),
        _ => "other".to_owned(),
    };
    tracing::warn!(kind = %kind, "a Stripe call failed");
    Error::Unavailable(
        "The card processor could not be reached; nothing was charged. Please try again.",
    )
}
