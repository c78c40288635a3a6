//! A stand-in for Stripe, for `docket demo` without keys and for the tests: the part of Stripe's
//! API Docket calls (PaymentIntent create, with Stripe's idempotency semantics, and retrieve), the
//! calls Stripe.js makes from the browser (confirming a PaymentIntent with a test payment method),
//! and signed webhooks to Docket. Its objects are Stripe's own examples
//! (`server/fixtures/stripe/fixtures3.json`, MIT, from Stripe's OpenAPI repository) with the
//! fields of each payment filled in, so the typed client and the webhook handler meet what Stripe
//! actually sends.
//!
//! Test payment methods (as on Stripe's test cards page): `pm_card_visa` succeeds,
//! `pm_card_chargeDeclined` is declined, `pm_pay_by_bank` starts a bank payment that stays
//! `processing` until [`FakeStripe::settle`].
//!
//! It runs on its own loopback port and never moves money; `docket serve` refuses to point the
//! browser at it off one's own machine.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::webhook;
use crate::clock::Clock;

const FIXTURES: &str = include_str!("../../fixtures/stripe/fixtures3.json");

/// A running fake Stripe.
#[derive(Clone, Debug)]
pub struct FakeStripe {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

#[derive(Debug)]
struct Inner {
    api_key: String,
    webhook_secret: String,
    templates: Templates,
    state: Mutex<Ledger>,
    target: Mutex<Option<(String, Clock)>>,
    http: reqwest::Client,
}

#[derive(Debug)]
struct Templates {
    payment_intent: Value,
    charge: Value,
    refund: Value,
    dispute: Value,
    event: Value,
    balance_transaction: Value,
    payout: Value,
}

#[derive(Debug, Default)]
struct Ledger {
    next: u64,
    intents: HashMap<String, Value>,
    charges: HashMap<String, Value>,
    /// Idempotency key -> (the request's parameters, the PaymentIntent it created).
    keys: HashMap<String, (Vec<(String, String)>, String)>,
    created: usize,
    /// Every event sent: (payload, signature header), newest last.
    sent: Vec<(String, String)>,
    /// Balance transactions, oldest first, with the payout that carried each (if any).
    balance: Vec<(Value, Option<String>)>,
    payouts: Vec<Value>,
}

impl Ledger {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!(
            "{prefix}_fake{:06}{}",
            self.next,
            uuid::Uuid::new_v4().simple()
        )
    }
}

fn stripe_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "type": kind, "message": message } })),
    )
        .into_response()
}

impl FakeStripe {
    /// Starts the fake on a free loopback port. `api_key` is the secret key Docket must present;
    /// `webhook_secret` signs the webhooks.
    pub async fn spawn(api_key: &str, webhook_secret: &str) -> anyhow::Result<Self> {
        let fixtures: Value = serde_json::from_str(FIXTURES)?;
        let resource = |name: &str| -> anyhow::Result<Value> {
            fixtures["resources"]
                .get(name)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("the Stripe fixtures have no {name}"))
        };
        let inner = Arc::new(Inner {
            api_key: api_key.to_owned(),
            webhook_secret: webhook_secret.to_owned(),
            templates: Templates {
                payment_intent: resource("payment_intent")?,
                charge: resource("charge")?,
                refund: resource("refund")?,
                dispute: resource("dispute")?,
                event: resource("event")?,
                balance_transaction: resource("balance_transaction")?,
                payout: resource("payout")?,
            },
            state: Mutex::new(Ledger::default()),
            target: Mutex::new(None),
            http: reqwest::Client::new(),
        });
        let router = Router::new()
            .route("/v1/payment_intents", post(create_intent))
            .route("/v1/payment_intents/{id}", get(retrieve_intent))
            .route(
                "/v1/payment_intents/{id}/confirm",
                post(confirm_intent).options(preflight),
            )
            .route("/v1/balance_transactions", get(list_balance))
            .route("/v1/payouts", get(list_payouts))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                tracing::error!(error = %err, "the fake Stripe stopped");
            }
        });
        Ok(Self { inner, addr })
    }

    /// The API's base address (`DOCKET_STRIPE_API_BASE`, and the stand-in's for the browser).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Where to send webhooks, and the clock that dates their signatures.
    pub fn connect(&self, webhook_url: &str, clock: Clock) {
        *self.inner.target.lock().expect("target") = Some((webhook_url.to_owned(), clock));
    }

    /// How many PaymentIntents were created (idempotent replays create none).
    pub fn intents_created(&self) -> usize {
        self.inner.state.lock().expect("state").created
    }

    /// A PaymentIntent as the fake holds it.
    pub fn intent(&self, id: &str) -> Option<Value> {
        self.inner
            .state
            .lock()
            .expect("state")
            .intents
            .get(id)
            .cloned()
    }

    /// The last event sent: its payload and `Stripe-Signature` header.
    pub fn last_sent(&self) -> Option<(String, String)> {
        self.inner.state.lock().expect("state").sent.last().cloned()
    }

    /// Confirms a PaymentIntent with a test payment method, as Stripe.js would, and sends the
    /// webhook that follows. Returns the PaymentIntent.
    pub async fn confirm(&self, id: &str, payment_method: &str) -> anyhow::Result<Value> {
        confirm(&self.inner, id, payment_method).await
    }

    /// A bank payment that was `processing` arrives.
    pub async fn settle(&self, id: &str) -> anyhow::Result<Value> {
        let intent = succeed(&self.inner, id)?;
        self.inner
            .deliver("payment_intent.succeeded", intent.clone())
            .await?;
        Ok(intent)
    }

    /// Refunds `amount` of a PaymentIntent's charge (as the firm would in Stripe's dashboard).
    pub async fn refund(&self, id: &str, amount: i64) -> anyhow::Result<StatusCode> {
        let charge = {
            let mut state = self.inner.state.lock().expect("state");
            let charge_id = state
                .intents
                .get(id)
                .and_then(|pi| pi["latest_charge"].as_str())
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("no charge for {id}"))?;
            let charge = state.charges.get_mut(&charge_id).expect("charge");
            let refunded = charge["amount_refunded"].as_i64().unwrap_or(0) + amount;
            charge["amount_refunded"] = json!(refunded);
            charge["refunded"] = json!(refunded >= charge["amount"].as_i64().unwrap_or(0));
            let mut refund = self.inner.templates.refund.clone();
            refund["id"] = json!(state.id("re"));
            refund["amount"] = json!(amount);
            refund["charge"] = json!(charge_id);
            refund["payment_intent"] = json!(id);
            refund["currency"] = json!("gbp");
            refund["status"] = json!("succeeded");
            let charge = state.charges.get_mut(&charge_id).expect("charge");
            charge["refunds"] = json!({ "object": "list", "data": [refund], "has_more": false });
            charge.clone()
        };
        self.inner.deliver("charge.refunded", charge).await
    }

    /// The payer's bank opens a dispute on a PaymentIntent's charge.
    pub async fn dispute(&self, id: &str) -> anyhow::Result<StatusCode> {
        let dispute = {
            let mut state = self.inner.state.lock().expect("state");
            let intent = state
                .intents
                .get(id)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no PaymentIntent {id}"))?;
            let mut dispute = self.inner.templates.dispute.clone();
            dispute["id"] = json!(state.id("dp"));
            dispute["amount"] = intent["amount_received"].clone();
            dispute["currency"] = json!("gbp");
            dispute["charge"] = intent["latest_charge"].clone();
            dispute["payment_intent"] = json!(id);
            dispute["reason"] = json!("fraudulent");
            dispute["status"] = json!("needs_response");
            dispute
        };
        self.inner.deliver("charge.dispute.created", dispute).await
    }

    /// Pays out everything not yet paid out, as Stripe's automatic payouts do; returns the payout.
    pub fn pay_out(&self) -> Option<String> {
        let mut state = self.inner.state.lock().expect("state");
        let id = state.id("po");
        let mut amount = 0;
        for (txn, payout) in state.balance.iter_mut().filter(|(_, p)| p.is_none()) {
            amount += txn["net"].as_i64().unwrap_or(0);
            *payout = Some(id.clone());
        }
        if amount == 0 {
            return None;
        }
        let mut payout = self.inner.templates.payout.clone();
        payout["id"] = json!(id);
        payout["amount"] = json!(amount);
        payout["currency"] = json!("gbp");
        payout["created"] = json!(self.inner.now());
        payout["arrival_date"] = json!(self.inner.now());
        payout["balance_transaction"] = Value::Null;
        payout["destination"] = Value::Null;
        payout["status"] = json!("paid");
        state.payouts.push(payout);
        Some(id)
    }

    /// Sends an event of any type with `object` (for the types Docket ignores, and for events
    /// made by hand in tests).
    pub async fn send(&self, event_type: &str, object: Value) -> anyhow::Result<StatusCode> {
        self.inner.deliver(event_type, object).await
    }

    /// Sends the last event again, as Stripe does when it did not hear back in time.
    pub async fn redeliver_last(&self) -> anyhow::Result<StatusCode> {
        let (payload, _) = self
            .last_sent()
            .ok_or_else(|| anyhow::anyhow!("nothing was sent"))?;
        self.inner.post(payload).await
    }
}

impl Inner {
    fn authorised(&self, headers: &HeaderMap) -> bool {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        presented == Some(self.api_key.as_str())
    }

    /// Builds, signs and posts an event; returns Docket's answer.
    async fn deliver(&self, event_type: &str, object: Value) -> anyhow::Result<StatusCode> {
        let now = self.now();
        let mut event = self.templates.event.clone();
        event["id"] = json!(self.state.lock().expect("state").id("evt"));
        event["type"] = json!(event_type);
        event["created"] = json!(now);
        event["data"] = json!({ "object": object });
        self.post(event.to_string()).await
    }

    async fn post(&self, payload: String) -> anyhow::Result<StatusCode> {
        let Some((url, _)) = self.target.lock().expect("target").clone() else {
            anyhow::bail!("the fake Stripe has no webhook endpoint yet");
        };
        let signature = webhook::sign(
            payload.as_bytes(),
            self.webhook_secret.as_bytes(),
            self.now(),
        );
        self.state
            .lock()
            .expect("state")
            .sent
            .push((payload.clone(), signature.clone()));
        let answer = self
            .http
            .post(url)
            .header("stripe-signature", signature)
            .header(header::CONTENT_TYPE, "application/json")
            .body(payload)
            .send()
            .await?;
        Ok(answer.status())
    }

    fn now(&self) -> i64 {
        self.target
            .lock()
            .expect("target")
            .as_ref()
            .map(|(_, clock)| clock.now())
            .unwrap_or_else(time::OffsetDateTime::now_utc)
            .unix_timestamp()
    }
}

/// Stripe's answer to a request without the right secret key.
fn unauthorised() -> Response {
    stripe_error(
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        "Invalid API Key provided.",
    )
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    pairs.sort();
    pairs
}

async fn create_intent(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !inner.authorised(&headers) {
        return unauthorised();
    }
    let params = form(&body);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let Some(amount) = get("amount")
        .and_then(|a| a.parse::<i64>().ok())
        .filter(|a| *a > 0)
    else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Missing required param: amount.",
        );
    };
    let Some(currency) = get("currency") else {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Missing required param: currency.",
        );
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut state = inner.state.lock().expect("state");
    if let Some(key) = &key {
        if let Some((seen, id)) = state.keys.get(key) {
            if *seen != params {
                return stripe_error(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                );
            }
            let intent = state.intents[id].clone();
            return axum::Json(intent).into_response();
        }
    }
    let id = state.id("pi");
    let mut intent = inner.templates.payment_intent.clone();
    let metadata: serde_json::Map<String, Value> = params
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[")
                .and_then(|k| k.strip_suffix(']'))
                .map(|k| (k.to_owned(), json!(v)))
        })
        .collect();
    intent["id"] = json!(id);
    intent["amount"] = json!(amount);
    intent["amount_received"] = json!(0);
    intent["currency"] = json!(currency);
    intent["metadata"] = Value::Object(metadata);
    intent["description"] = json!(get("description"));
    intent["client_secret"] = json!(format!("{id}_secret_{}", uuid::Uuid::new_v4().simple()));
    intent["status"] = json!("requires_payment_method");
    intent["livemode"] = json!(false);
    intent["latest_charge"] = Value::Null;
    intent["last_payment_error"] = Value::Null;
    intent["next_action"] = Value::Null;
    intent["canceled_at"] = Value::Null;
    intent["processing"] = Value::Null;
    intent["transfer_data"] = Value::Null;
    intent["payment_method_types"] = json!(["card", "pay_by_bank"]);
    intent["created"] = json!(time::OffsetDateTime::now_utc().unix_timestamp());
    state.intents.insert(id.clone(), intent.clone());
    state.created += 1;
    if let Some(key) = key {
        state.keys.insert(key, (params, id));
    }
    axum::Json(intent).into_response()
}

/// `?source=` or `?payout=`: the balance transactions of a charge or of a payout.
async fn list_balance(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if !inner.authorised(&headers) {
        return unauthorised();
    }
    let state = inner.state.lock().expect("state");
    let data: Vec<Value> = state
        .balance
        .iter()
        .filter(|(txn, payout)| {
            query
                .get("source")
                .is_none_or(|s| txn["source"].as_str() == Some(s.as_str()))
                && query
                    .get("payout")
                    .is_none_or(|p| payout.as_deref() == Some(p.as_str()))
        })
        .map(|(txn, _)| txn.clone())
        .collect();
    axum::Json(json!({ "object": "list", "data": data, "has_more": false, "url": "/v1/balance_transactions" }))
        .into_response()
}

async fn list_payouts(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    if !inner.authorised(&headers) {
        return unauthorised();
    }
    let payouts = inner.state.lock().expect("state").payouts.clone();
    axum::Json(
        json!({ "object": "list", "data": payouts, "has_more": false, "url": "/v1/payouts" }),
    )
    .into_response()
}

async fn retrieve_intent(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !inner.authorised(&headers) {
        return unauthorised();
    }
    match inner.state.lock().expect("state").intents.get(&id) {
        Some(intent) => axum::Json(intent.clone()).into_response(),
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "No such payment_intent.",
        ),
    }
}

/// Stripe.js's call from the browser: authorised by the PaymentIntent's client secret.
async fn confirm_intent(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let params = form(&body);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let secret_ok = inner
        .state
        .lock()
        .expect("state")
        .intents
        .get(&id)
        .is_some_and(|pi| pi["client_secret"].as_str() == get("client_secret").as_deref());
    let mut response = if !secret_ok {
        stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "No such payment_intent.",
        )
    } else {
        let method = get("payment_method").unwrap_or_default();
        match confirm(&inner, &id, &method).await {
            Ok(intent) => axum::Json(intent).into_response(),
            Err(err) => stripe_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &err.to_string(),
            ),
        }
    };
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    response
}

async fn confirm(inner: &Inner, id: &str, payment_method: &str) -> anyhow::Result<Value> {
    let (event_type, intent) = {
        let mut state = inner.state.lock().expect("state");
        let intent = state
            .intents
            .get_mut(id)
            .ok_or_else(|| anyhow::anyhow!("No such payment_intent: {id}"))?;
        if intent["status"] == "succeeded" || intent["status"] == "processing" {
            anyhow::bail!(
                "This PaymentIntent's status is {}; it cannot be confirmed again.",
                intent["status"]
            );
        }
        intent["payment_method"] = json!(payment_method);
        match payment_method {
            "pm_card_visa" => ("payment_intent.succeeded", None),
            "pm_card_chargeDeclined" => {
                intent["status"] = json!("requires_payment_method");
                intent["last_payment_error"] = json!({
                    "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                    "message": "Your card was declined."
                });
                ("payment_intent.payment_failed", Some(intent.clone()))
            }
            "pm_pay_by_bank" => {
                intent["status"] = json!("processing");
                intent["processing"] = json!({ "type": "pay_by_bank" });
                ("payment_intent.processing", Some(intent.clone()))
            }
            other => anyhow::bail!("No such PaymentMethod: '{other}'"),
        }
    };
    let intent = match intent {
        Some(intent) => intent,
        None => succeed(inner, id)?,
    };
    let answer = inner.deliver(event_type, intent.clone()).await?;
    if !answer.is_success() {
        tracing::warn!(status = %answer, "Docket did not accept the fake Stripe's webhook");
    }
    Ok(intent)
}

/// Marks a PaymentIntent succeeded with a charge and its balance transaction (Stripe's UK card fee
/// of 1.5% + 20p).
fn succeed(inner: &Inner, id: &str) -> anyhow::Result<Value> {
    let now = inner.now();
    let mut state = inner.state.lock().expect("state");
    let charge_id = state.id("ch");
    let txn = state.id("txn");
    let intent = state
        .intents
        .get_mut(id)
        .ok_or_else(|| anyhow::anyhow!("No such payment_intent: {id}"))?;
    let amount = intent["amount"].as_i64().unwrap_or(0);
    intent["status"] = json!("succeeded");
    intent["amount_received"] = json!(amount);
    intent["latest_charge"] = json!(charge_id);
    intent["last_payment_error"] = Value::Null;
    let intent = intent.clone();
    let mut charge = inner.templates.charge.clone();
    charge["id"] = json!(charge_id);
    charge["amount"] = json!(amount);
    charge["amount_captured"] = json!(amount);
    charge["amount_refunded"] = json!(0);
    charge["refunded"] = json!(false);
    charge["currency"] = json!("gbp");
    charge["payment_intent"] = json!(id);
    charge["balance_transaction"] = json!(txn);
    charge["status"] = json!("succeeded");
    charge["metadata"] = intent["metadata"].clone();
    let fee = amount * 15 / 1000 + 20;
    let mut txn_object = inner.templates.balance_transaction.clone();
    txn_object["id"] = json!(txn);
    txn_object["amount"] = json!(amount);
    txn_object["fee"] = json!(fee);
    txn_object["fee_details"] = json!([{ "amount": fee, "currency": "gbp", "description": "Stripe processing fees", "type": "stripe_fee", "application": null }]);
    txn_object["net"] = json!(amount - fee);
    txn_object["currency"] = json!("gbp");
    txn_object["source"] = json!(charge_id);
    txn_object["type"] = json!("charge");
    txn_object["reporting_category"] = json!("charge");
    txn_object["created"] = json!(now);
    txn_object["available_on"] = json!(now);
    txn_object["status"] = json!("pending");
    state.charges.insert(charge_id, charge);
    state.balance.push((txn_object, None));
    Ok(intent)
}
