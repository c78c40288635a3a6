//! Paying an invoice inline: the server's amount, one PaymentIntent per press however many
//! clicks, Stripe's signed webhooks (checked against an independent HMAC), each event applied
//! once, and the solicitors' money rules.

use std::process::Command;

use docket_protocol::channel::EventBody;
use docket_protocol::integrations::ServiceScope;
use docket_server::billing::fake_stripe::FakeStripe;
use docket_server::config::{Payments, StripeSettings};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Value};
use time::Duration;

use crate::billing::{bill, issue};
use crate::helpers::{code, next_matching, spawn_app_with, subscribed, Client, TestApp};

const API_KEY: &str = "sk_test_docket_fake";
const WEBHOOK_SECRET: &str = "whsec_docket_test_secret";

/// The app with card payments through a fake Stripe, and the billing system's client.
async fn paying() -> (TestApp, FakeStripe, Client) {
    let fake = FakeStripe::spawn(API_KEY, WEBHOOK_SECRET)
        .await
        .expect("fake Stripe");
    let url = fake.url();
    let app = spawn_app_with(|config| {
        config.payments = Payments::Stripe(StripeSettings {
            secret_key: SecretString::from(API_KEY.to_owned()),
            publishable_key: "pk_test_docket_fake".into(),
            webhook_secret: SecretString::from(WEBHOOK_SECRET.to_owned()),
            api_base: Some(url.clone()),
            stand_in: Some(url),
        });
    })
    .await;
    fake.connect(
        &format!("{}/api/v1/stripe/webhook", app.base),
        app.clock.clone(),
    );
    let (_, token) = app
        .service_account("Billing system", &[ServiceScope::Billing])
        .await;
    let billing = app.service(&token);
    (app, fake, billing)
}

async fn invoice_id(billing: &Client, number: &str, body: Value) -> String {
    let (status, invoice) = issue(billing, number, body).await;
    assert_eq!(status, StatusCode::CREATED, "{invoice}");
    invoice["invoice_id"].as_str().expect("id").to_owned()
}

async fn pay(client: &Client, invoice: &str) -> (StatusCode, Value) {
    client
        .post(&format!("/api/v1/invoices/{invoice}/pay"), json!({}))
        .await
}

async fn invoice(client: &Client, invoice: &str) -> Value {
    let (status, body) = client.get(&format!("/api/v1/invoices/{invoice}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_client_pays_inline_and_only_stripes_webhook_marks_the_invoice_paid() {
    let (app, fake, billing) = paying().await;
    let f = &app.firm;
    let id = invoice_id(&billing, "INV-5001", bill(f.matter_a1, 120_000)).await;
    let (_, mut gc_channel) = app.sdk(&f.gc).await;
    subscribed(&mut gc_channel, f.matter_a1, None).await;
    let (_, mut fee_channel) = app.sdk(&f.fee_earner).await;
    subscribed(&mut fee_channel, f.matter_a1, None).await;
    let gc = app.bearer(&f.gc).await;

    // Whatever the browser sends, the amount is the server's.
    let (status, sheet) = gc
        .post(
            &format!("/api/v1/invoices/{id}/pay"),
            json!({ "amount_minor": 1, "currency": "usd" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sheet}");
    assert_eq!(
        (sheet["amount_minor"].as_i64(), sheet["currency"].as_str()),
        (Some(120_000), Some("GBP"))
    );
    assert_eq!(sheet["test_mode"], true);
    assert_eq!(sheet["stand_in"].as_str(), Some(fake.url().as_str()));
    let intent_id = sheet["payment_intent_id"]
        .as_str()
        .expect("intent")
        .to_owned();
    let intent = fake.intent(&intent_id).expect("created at the fake");
    assert_eq!(
        (intent["amount"].as_i64(), intent["currency"].as_str()),
        (Some(120_000), Some("gbp"))
    );
    assert_eq!(intent["metadata"]["invoice_id"].as_str(), Some(id.as_str()));
    assert_eq!(
        invoice(&gc, &id).await["status"],
        "issued",
        "pressing Pay pays nothing"
    );

    fake.confirm(&intent_id, "pm_card_visa")
        .await
        .expect("confirm");
    let paid = invoice(&gc, &id).await;
    assert_eq!(
        (paid["status"].as_str(), paid["balance_minor"].as_i64()),
        (Some("paid"), Some(0)),
        "{paid}"
    );
    assert_eq!(paid["payments"][0]["method"], "card");
    for channel in [&mut gc_channel, &mut fee_channel] {
        let card = next_matching(channel, "the payment card", |u| {
            matches!(u, docket_client::Update::Event(e) if matches!(e.body, EventBody::Payment { .. }))
        })
        .await;
        let docket_client::Update::Event(event) = card else {
            unreachable!()
        };
        let EventBody::Payment {
            status,
            balance_minor,
            invoice_status,
            ..
        } = event.body
        else {
            unreachable!()
        };
        assert_eq!(
            (status.as_str(), balance_minor, invoice_status.as_str()),
            ("succeeded", 0, "paid")
        );
    }
    let fee = app.bearer(&f.fee_earner).await;
    let (_, alerts) = fee.get("/api/v1/me/alerts").await;
    assert!(alerts.to_string().contains("\"payment\""), "{alerts}");
    let actors: Vec<uuid::Uuid> =
        sqlx::query_scalar("select actor_id from audit_event where action = 'payment.succeeded'")
            .fetch_all(&app.owner)
            .await
            .expect("audit");
    assert_eq!(actors, [docket_server::integrations::PAYMENTS_ACCOUNT.0]);
    let (status, body) = pay(&gc, &id).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "nothing is owed now"
    );
}

#[tokio::test]
async fn concurrent_pay_clicks_by_two_payers_give_one_payment_intent() {
    let (app, fake, billing) = paying().await;
    let f = &app.firm;
    let id = invoice_id(&billing, "INV-5101", bill(f.matter_a1, 48_000)).await;
    let gc = app.bearer(&f.gc).await;
    let finance = app.bearer(&f.finance).await;
    let presses = (0..8).map(|i| {
        let client = if i % 2 == 0 {
            gc.clone()
        } else {
            finance.clone()
        };
        let id = id.clone();
        async move { pay(&client, &id).await }
    });
    let answers = futures_util::future::join_all(presses).await;
    let intents: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(status, sheet)| {
            assert_eq!(*status, StatusCode::OK, "{sheet}");
            sheet["payment_intent_id"]
                .as_str()
                .expect("intent")
                .to_owned()
        })
        .collect();
    assert_eq!(intents.len(), 1, "{intents:?}");
    assert_eq!(fake.intents_created(), 1);
    let attempts: i64 = sqlx::query_scalar("select count(*) from payment_attempt")
        .fetch_one(&app.owner)
        .await
        .expect("attempts");
    assert_eq!(attempts, 1);
}

#[tokio::test]
async fn a_part_payment_leaves_the_right_balance_and_a_refund_reopens_it() {
    let (app, fake, billing) = paying().await;
    let f = &app.firm;
    let id = invoice_id(&billing, "INV-5201", bill(f.matter_a1, 100_000)).await;
    let (status, _) = billing
        .put(
            "/api/v1/billing/payments/BANK-1",
            json!({ "invoice_number": "INV-5201", "amount_minor": 40_000 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let gc = app.bearer(&f.gc).await;
    let (_, sheet) = pay(&gc, &id).await;
    assert_eq!(sheet["amount_minor"], 60_000, "what is left, nothing more");
    fake.confirm(
        sheet["payment_intent_id"].as_str().expect("pi"),
        "pm_card_visa",
    )
    .await
    .expect("confirm");
    assert_eq!(invoice(&gc, &id).await["balance_minor"], 0);

    let status = fake
        .refund(sheet["payment_intent_id"].as_str().expect("pi"), 25_000)
        .await
        .expect("refund");
    assert_eq!(status, StatusCode::OK);
    let reopened = invoice(&gc, &id).await;
    assert_eq!(
        (
            reopened["balance_minor"].as_i64(),
            reopened["status"].as_str()
        ),
        (Some(25_000), Some("part_paid")),
        "{reopened}"
    );
    let card = reopened["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .find(|p| p["method"] == "card")
        .expect("card payment")
        .clone();
    assert_eq!(
        (card["status"].as_str(), card["refunded_minor"].as_i64()),
        (Some("refunded"), Some(25_000))
    );
    let (_, again) = pay(&gc, &id).await;
    assert_eq!(again["amount_minor"], 25_000);
    assert_ne!(
        again["payment_intent_id"], sheet["payment_intent_id"],
        "a new amount, a new PaymentIntent"
    );
    assert_eq!(fake.intents_created(), 2);
}

#[tokio::test]
async fn a_declined_card_says_why_changes_nothing_and_can_be_retried() {
    let (app, fake, billing) = paying().await;
    let f = &app.firm;
    let id = invoice_id(&billing, "INV-5301", bill(f.matter_a1, 9_000)).await;
    let finance = app.bearer(&f.finance).await;
    let (_, sheet) = pay(&finance, &id).await;
    let pi = sheet["payment_intent_id"].as_str().expect("pi").to_owned();
    fake.confirm(&pi, "pm_card_chargeDeclined")
        .await
        .expect("confirm");
    let after = invoice(&finance, &id).await;
    assert_eq!(
        (after["balance_minor"].as_i64(), after["status"].as_str()),
        (Some(9_000), Some("issued"))
    );
    assert_eq!(after["payments"][0]["status"], "failed");
    assert_eq!(
        after["payments"][0]["failure_reason"],
        "Your card was declined."
    );
    let (_, retry) = pay(&finance, &id).await;
    assert_eq!(
        retry["payment_intent_id"].as_str(),
        Some(pi.as_str()),
        "the same attempt"
    );
    fake.confirm(&pi, "pm_card_visa").await.expect("confirm");
    let paid = invoice(&finance, &id).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(
        paid["payments"].as_array().map(Vec::len),
        Some(1),
        "one payment, now succeeded"
    );
}

#[tokio::test]
async fn a_bank_payment_is_processing_until_it_arrives_and_a_dispute_alerts_the_firm() {
    let (app, fake, billing) = paying().await;
    let f = &app.firm;
    let id = invoice_id(&billing, "INV-5401", bill(f.matter_a1, 30_000)).await;
    let gc = app.bearer(&f.gc).await;
    let (_, sheet) = pay(&gc, &id).await;
    let pi = sheet["payment_intent_id"].as_str().expect("pi").to_owned();
    // A declined card first, then a bank payment on the same PaymentIntent: one payment row, now
    // a bank payment on its way.
    fake.confirm(&pi, "pm_card_chargeDeclined")
        .await
        .expect("declined");
    fake.confirm(&pi, "pm_pay_by_bank").await.expect("confirm");
    let waiting = invoice(&gc, &id).await;
    assert_eq!(waiting["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(waiting["payments"][0]["method"], "bank");
    assert_eq!(
        (
            waiting["payments"][0]["status"].as_str(),
            waiting["balance_minor"].as_i64()
        ),
        (Some("processing"), Some(30_000))
    );
    assert_eq!(waiting["payable"], false);
    let (status, body) = pay(&gc, &id).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "one payment on its way is enough"
    );
    fake.settle(&pi).await.expect("settle");
    let paid = invoice(&gc, &id).await;
    assert_eq!(
        (
            paid["status"].as_str(),
            paid["payments"][0]["method"].as_str()
        ),
        (Some("paid"), Some("bank"))
    );
    fake.dispute(&pi).await.expect("dispute");
    let disputed = invoice(&gc, &id).await;
    assert_eq!(disputed["payments"][0]["status"], "disputed");
    let fee = app.bearer(&f.fee_earner).await;
    let (_, alerts) = fee.get("/api/v1/me/alerts").await;
    assert!(alerts.to_string().contains("\"disputed\""), "{alerts}");
}

/// A `Stripe-Signature` computed by Python's `hmac`, not by Docket.
fn python_signature(payload: &str, secret: &str, timestamp: i64) -> String {
    let script = "import hmac, hashlib, sys\n\
                  t, secret, payload = sys.argv[1], sys.argv[2], sys.stdin.read()\n\
                  sig = hmac.new(secret.encode(), (t + '.' + payload).encode(), hashlib.sha256).hexdigest()\n\
                  print('t=%s,v1=%s' % (t, sig), end='')";
    let mut child = Command::new("python3")
        .args(["-c", script, &timestamp.to_string(), secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(payload.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python3 ran");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf-8")
}

async fn post_webhook(app: &TestApp, payload: &str, signature: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/stripe/webhook", app.base))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(payload.to_owned())
        .send()
        .await
        .expect("webhook");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn webhook_signatures_are_verified_like_an_independent_hmac_and_each_event_applies_once() {
    let (app, fake, billing) = paying().await;
    let f = &app.firm;
    let id = invoice_id(&billing, "INV-5501", bill(f.matter_a1, 70_000)).await;
    let gc = app.bearer(&f.gc).await;
    let (_, sheet) = pay(&gc, &id).await;
    let pi = sheet["payment_intent_id"].as_str().expect("pi").to_owned();
    let now = app.clock.now().unix_timestamp();

    // A succeeded event as Stripe would send it, signed by Python.
    let mut intent = fake.intent(&pi).expect("intent");
    intent["status"] = json!("succeeded");
    intent["amount_received"] = json!(70_000);
    let event =
        json!({ "id": "evt_python_1", "object": "event", "type": "payment_intent.succeeded",
                        "created": now, "data": { "object": intent } })
        .to_string();
    let unchanged = || async { invoice(&gc, &id).await["balance_minor"].as_i64() };
    for (signature, why) in [
        (
            python_signature(&event, "whsec_someone_else", now),
            "a wrong secret",
        ),
        (
            python_signature(&event, WEBHOOK_SECRET, now - 301),
            "a replay outside the tolerance",
        ),
        (
            python_signature(&event, WEBHOOK_SECRET, now + 301),
            "a timestamp from the future",
        ),
        (
            python_signature(&(event.clone() + " "), WEBHOOK_SECRET, now),
            "another body",
        ),
        (
            format!("t={now},v1={}", "0".repeat(64)),
            "a forged signature",
        ),
        (String::new(), "no signature"),
    ] {
        let (status, body) = post_webhook(&app, &event, &signature).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_signature"),
            "{why}"
        );
        assert_eq!(unchanged().await, Some(70_000), "{why} changed nothing");
    }
    let good = python_signature(&event, WEBHOOK_SECRET, now);
    let (status, body) = post_webhook(&app, &event, &good).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (StatusCode::OK, Some("applied")),
        "{body}"
    );
    assert_eq!(unchanged().await, Some(0));
    // Stripe delivers it again: applied once.
    let (status, body) = post_webhook(&app, &event, &good).await;
    assert_eq!(
        (status, body["duplicate"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let payments: i64 = sqlx::query_scalar("select count(*) from payment")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(payments, 1);
    let (_, history) = gc
        .get(&format!("/api/v1/matters/{}/events?after=0", f.matter_a1))
        .await;
    let payment_cards = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["body"]["kind"] == "payment")
        .count();
    assert_eq!(payment_cards, 1);

    // An event type Docket does not handle is acknowledged and ignored.
    let status = fake
        .send(
            "customer.created",
            json!({ "id": "cus_1", "object": "customer" }),
        )
        .await
        .expect("send");
    assert_eq!(status, StatusCode::OK);
    let outcome: String =
        sqlx::query_scalar("select outcome from stripe_event where type = 'customer.created'")
            .fetch_one(&app.owner)
            .await
            .expect("recorded");
    assert_eq!(outcome, "ignored");
    // The fake's redelivery is recognised too.
    assert_eq!(fake.redeliver_last().await.expect("again"), StatusCode::OK);
    // The same bytes and signature, captured and sent six minutes later: a replay.
    let (payload, signature) = fake.last_sent().expect("sent");
    app.clock.advance(Duration::minutes(6));
    let (status, body) = post_webhook(&app, &payload, &signature).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_signature")
    );
}

#[tokio::test]
async fn client_money_is_never_taken_by_card_and_people_without_the_scope_cannot_pay() {
    let (app, _fake, billing) = paying().await;
    let f = &app.firm;
    let mut on_account = bill(f.matter_a1, 50_000);
    on_account["kind"] = json!("on_account");
    let on_account = invoice_id(&billing, "OA-1", on_account).await;
    let mut unpaid = bill(f.matter_a1, 50_000);
    unpaid["lines"]
        .as_array_mut()
        .expect("lines")
        .push(json!({ "kind": "disbursement", "description": "Search fees (not yet paid)", "amount_minor": 300, "paid": false }));
    let unpaid = invoice_id(&billing, "INV-5601", unpaid).await;
    let gc = app.bearer(&f.gc).await;
    for id in [&on_account, &unpaid] {
        let (status, body) = pay(&gc, id).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{body}"
        );
        assert_eq!(body["reason"], "client_money", "a stable reason: {body}");
        assert!(
            body["message"]
                .as_str()
                .expect("why")
                .contains("client account"),
            "{body}"
        );
        let shown = invoice(&gc, id).await;
        assert_eq!(shown["payable"], false);
        assert!(shown["not_payable"]
            .as_str()
            .expect("why")
            .contains("client money"));
    }
    let attempts: i64 = sqlx::query_scalar("select count(*) from payment_attempt")
        .fetch_one(&app.owner)
        .await
        .expect("attempts");
    assert_eq!(attempts, 0);

    let bill_id = invoice_id(&billing, "INV-5602", bill(f.matter_a1, 1_000)).await;
    let member = app.bearer(&f.dept_head).await;
    let (status, _) = pay(&member, &bill_id).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a member without the invoices scope"
    );
    let fee = app.bearer(&f.fee_earner).await;
    let (status, _) = pay(&fee, &bill_id).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the firm does not pay its own invoices"
    );
    let other = app.bearer(&f.private_client).await;
    let (status, _) = pay(&other, &bill_id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_stripe_keys_invoices_are_shown_and_pay_says_it_is_not_set_up() {
    let app = crate::helpers::spawn_app().await;
    let (_, token) = app
        .service_account("Billing system", &[ServiceScope::Billing])
        .await;
    let id = invoice_id(
        &app.service(&token),
        "INV-5701",
        bill(app.firm.matter_a1, 1_000),
    )
    .await;
    let gc = app.bearer(&app.firm.gc).await;
    let (status, body) = pay(&gc, &id).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    );
    let (status, body) = post_webhook(&app, "{}", "t=1,v1=00").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
}

/// The text of a PDF as poppler's `pdftotext` reads it: an independent reader.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("docket-pdf-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("doc.pdf");
    std::fs::write(&file, pdf).expect("write");
    let out = Command::new("pdftotext")
        .args(["-layout", file.to_str().expect("path"), "-"])
        .output()
        .expect("pdftotext (poppler-utils; `make test` installs it)");
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

async fn download(client: &Client, path: &str) -> (StatusCode, String, Vec<u8>) {
    let mut request = client.raw().get(format!("{}{path}", client.base()));
    if let Some(token) = &client.bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("download");
    let status = response.status();
    let media = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (
        status,
        media,
        response.bytes().await.expect("body").to_vec(),
    )
}

#[tokio::test]
async fn a_statement_is_a_ledger_with_a_running_balance_as_json_csv_and_pdf_with_receipts() {
    let (app, fake, billing) = paying().await;
    let f = &app.firm;
    invoice_id(&billing, "INV-6001", bill(f.matter_a1, 100_000)).await;
    let second = invoice_id(&billing, "INV-6002", bill(f.matter_a2, 24_000)).await;
    billing
        .post("/api/v1/billing/invoices/INV-6001/credit-notes",
              json!({ "number": "CN-6001", "issued_on": "2026-11-05", "amount_minor": 10_000, "reason": "Fixed fee agreed" }))
        .await;
    billing
        .put(
            "/api/v1/billing/payments/BANK-6001",
            json!({ "invoice_number": "INV-6001", "amount_minor": 50_000 }),
        )
        .await;
    let finance = app.bearer(&f.finance).await;
    let (_, sheet) = pay(&finance, &second).await;
    let pi = sheet["payment_intent_id"].as_str().expect("pi").to_owned();
    fake.confirm(&pi, "pm_card_visa").await.expect("confirm");
    fake.refund(&pi, 4_000).await.expect("refund");

    let (status, lines) = finance
        .get(&format!("/api/v1/clients/{}/statement", f.client_a))
        .await;
    assert_eq!(status, StatusCode::OK, "{lines}");
    let summary: Vec<(String, i64, i64, i64)> = lines
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["entry"].as_str().expect("entry").to_owned(),
                l["debit_minor"].as_i64().expect("debit"),
                l["credit_minor"].as_i64().expect("credit"),
                l["balance_minor"].as_i64().expect("balance"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("invoice".into(), 100_000, 0, 100_000),
            ("invoice".into(), 24_000, 0, 124_000),
            ("credit_note".into(), 0, 10_000, 114_000),
            ("payment".into(), 0, 50_000, 64_000),
            ("payment".into(), 0, 24_000, 40_000),
            ("refund".into(), 4_000, 0, 44_000),
        ]
    );
    let (_, summary) = finance
        .get(&format!("/api/v1/clients/{}/billing", f.client_a))
        .await;
    assert_eq!(
        summary["balance_minor"], 44_000,
        "the statement ends where the balance is"
    );

    let (status, media, csv) = download(
        &finance,
        &format!("/api/v1/clients/{}/statement?format=csv", f.client_a),
    )
    .await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::OK, "text/csv; charset=utf-8")
    );
    let csv = String::from_utf8(csv).expect("utf-8");
    // Python's csv module reads it back to the same figures.
    let out = Command::new("python3")
        .args(["-c", "import csv, sys; rows = list(csv.DictReader(sys.stdin)); print(len(rows), rows[-1]['balance'], rows[2]['description'])"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(csv.as_bytes())?;
            child.wait_with_output()
        })
        .expect("python3");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "6 440.00 Credit note against INV-6001: Fixed fee agreed"
    );

    let (status, media, pdf) = download(
        &finance,
        &format!("/api/v1/matters/{}/statement?format=pdf", f.matter_a1),
    )
    .await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::OK, "application/pdf")
    );
    let text = pdf_text(&pdf);
    assert!(
        text.contains("INV-6001") && !text.contains("INV-6002"),
        "one matter only: {text}"
    );
    assert!(text.contains("Balance owed: \u{a3}400.00"), "{text}");

    let card = rows_of(&finance, &second).await;
    let (status, media, receipt) =
        download(&finance, &format!("/api/v1/payments/{card}/receipt")).await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::OK, "application/pdf")
    );
    let text = pdf_text(&receipt);
    assert!(
        text.contains("\u{a3}240.00") && text.contains("INV-6002") && text.contains("No surcharge"),
        "{text}"
    );
    let other = app.bearer(&f.private_client).await;
    let (status, _, _) = download(&other, &format!("/api/v1/payments/{card}/receipt")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action in ('billing.statement_downloaded', 'billing.receipt_downloaded')",
    )
    .fetch_one(&app.owner)
    .await
    .expect("audit");
    assert_eq!(audited, 4);
}

/// The card payment of an invoice.
async fn rows_of(client: &Client, invoice_id: &str) -> String {
    invoice(client, invoice_id).await["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .find(|p| p["method"] == "card")
        .expect("a card payment")["payment_id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test]
async fn the_command_line_imports_invoices_idempotently_and_all_or_nothing() {
    let (app, _fake, _billing) = paying().await;
    let dir = std::env::temp_dir().join(format!("docket-import-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("invoices.json");
    let invoice = |number: &str, pence: i64| {
        let mut body = bill(app.firm.matter_a1, pence);
        body["number"] = json!(number);
        body.as_object_mut().expect("object").remove("matter_id");
        body["matter"] = json!("A-1");
        body
    };
    let import = || async {
        app.admin(docket_server::admin::AdminCommand::Billing(
            docket_server::admin::BillingCommand::Import { file: file.clone() },
        ))
        .await
    };
    std::fs::write(
        &file,
        json!([invoice("INV-7001", 12_000), invoice("INV-7002", 6_000)]).to_string(),
    )
    .expect("write");
    assert_eq!(
        import().await.expect("import"),
        "INV-7001: issued\nINV-7002: issued"
    );
    assert_eq!(
        import().await.expect("again"),
        "INV-7001: unchanged\nINV-7002: unchanged"
    );
    std::fs::write(
        &file,
        json!([invoice("INV-7003", 1_000), invoice("INV-7002", 9_999)]).to_string(),
    )
    .expect("write");
    let err = import()
        .await
        .expect_err("a changed invoice without an amendment");
    assert!(err.to_string().contains("INV-7002"), "{err}");
    let numbers: Vec<String> = sqlx::query_scalar("select number from invoice order by number")
        .fetch_all(&app.owner)
        .await
        .expect("numbers");
    assert_eq!(
        numbers,
        ["INV-7001", "INV-7002"],
        "nothing of the failed import was kept"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn reconciliation_exports_payments_with_stripes_fee_net_and_payout() {
    let (app, fake, billing) = paying().await;
    let f = &app.firm;
    let card = invoice_id(&billing, "INV-8001", bill(f.matter_a1, 100_000)).await;
    invoice_id(&billing, "INV-8002", bill(f.matter_a2, 30_000)).await;
    billing
        .put(
            "/api/v1/billing/payments/BANK-8002",
            json!({ "invoice_number": "INV-8002", "amount_minor": 30_000 }),
        )
        .await;
    let gc = app.bearer(&f.gc).await;
    let (_, sheet) = pay(&gc, &card).await;
    fake.confirm(
        sheet["payment_intent_id"].as_str().expect("pi"),
        "pm_card_visa",
    )
    .await
    .expect("confirm");
    let payout = fake.pay_out().expect("a payout");
    let today = app.clock.now().date();
    let day = |d: time::Date| docket_server::dates::format_date(d);
    let csv = app
        .admin(docket_server::admin::AdminCommand::Billing(
            docket_server::admin::BillingCommand::Reconcile {
                from: day(today - Duration::days(1)),
                to: day(today),
            },
        ))
        .await
        .expect("reconcile");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    let card_line = lines
        .iter()
        .find(|l| l.contains("INV-8001"))
        .expect("card payment");
    // 1.5% + 20p of £1,000.00 is £15.20.
    assert!(
        card_line.contains(",card,succeeded,1000.00,0.00,15.20,984.80,"),
        "{card_line}"
    );
    assert!(card_line.contains(&payout), "{card_line}");
    let transfer = lines
        .iter()
        .find(|l| l.contains("INV-8002"))
        .expect("transfer");
    assert!(
        transfer.contains(",transfer,succeeded,300.00,0.00,,300.00,,,,BANK-8002"),
        "{transfer}"
    );
    let bad = app
        .admin(docket_server::admin::AdminCommand::Billing(
            docket_server::admin::BillingCommand::Reconcile {
                from: "tomorrow".into(),
                to: day(today),
            },
        ))
        .await;
    assert!(bad.is_err());
}
