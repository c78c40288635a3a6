//! Billing: the billing system's record (idempotent, amended only explicitly, audited), who sees
//! it, and how credits and payments move the balance.

use docket_protocol::channel::EventBody;
use docket_protocol::integrations::ServiceScope;
use reqwest::StatusCode;
use serde_json::{json, Value};

use docket_server::db::{RequestContext, Tenant};

use crate::helpers::{code, next_matching, spawn_app, subscribed, Client, TestApp};

/// The billing system's client.
pub async fn billing(app: &TestApp) -> Client {
    let (_, token) = app
        .service_account("Billing system", &[ServiceScope::Billing])
        .await;
    app.service(&token)
}

/// A bill of fees and VAT, `pence` in all.
pub fn bill(matter: impl std::fmt::Display, pence: i64) -> Value {
    let vat = pence / 6;
    json!({
        "matter_id": matter.to_string(),
        "kind": "bill",
        "issued_on": "2026-11-02",
        "due_on": "2026-12-02",
        "lines": [
            { "kind": "fee", "description": "Acting on the lease", "amount_minor": pence - vat },
            { "kind": "vat", "description": "VAT at 20%", "amount_minor": vat },
        ],
    })
}

pub async fn issue(billing: &Client, number: &str, body: Value) -> (StatusCode, Value) {
    billing
        .put(&format!("/api/v1/billing/invoices/{number}"), body)
        .await
}

#[tokio::test]
async fn the_billing_system_issues_an_invoice_once_and_amends_it_only_explicitly() {
    let app = spawn_app().await;
    let f = &app.firm;
    let billing = billing(&app).await;

    let (status, first) = issue(&billing, "INV-1001", bill(f.matter_a1, 120_000)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        (
            first["total_minor"].as_i64(),
            first["balance_minor"].as_i64(),
            first["status"].as_str()
        ),
        (Some(120_000), Some(120_000), Some("issued"))
    );
    assert_eq!(first["payable"], true);
    let (status, again) = issue(&billing, "INV-1001", bill(f.matter_a1, 120_000)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["invoice_id"], first["invoice_id"]);
    assert_eq!(again["revision"], 1);

    let (status, body) = issue(&billing, "INV-1001", bill(f.matter_a1, 130_000)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "{body}"
    );
    let (status, body) = issue(&billing, "INV-1001", bill(f.matter_a2, 120_000)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "{body}"
    );

    let mut amended = bill(f.matter_a1, 130_000);
    amended["amendment"] = json!({ "reason": "Search fee omitted" });
    let (status, body) = issue(&billing, "INV-1001", amended.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["revision"].as_u64(), body["balance_minor"].as_i64()),
        (Some(2), Some(130_000))
    );
    let (status, body) = issue(&billing, "INV-1001", amended).await;
    assert_eq!(
        (status, body["revision"].as_u64()),
        (StatusCode::OK, Some(2)),
        "an amendment replayed changes nothing"
    );

    let revisions: Vec<(i32, Option<String>)> =
        sqlx::query_as("select revision, reason from invoice_revision order by revision")
            .fetch_all(&app.owner)
            .await
            .expect("revisions");
    assert_eq!(
        revisions,
        [(1, None), (2, Some("Search fee omitted".into()))]
    );
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where action like 'invoice.%' order by seq",
    )
    .fetch_all(&app.owner)
    .await
    .expect("audit");
    assert_eq!(actions, ["invoice.issued", "invoice.amended"]);

    for (bad, why) in [
        (
            json!({ "matter_id": f.matter_a1.to_string(), "kind": "bill", "issued_on": "2026-11-02",
                 "due_on": "2026-12-02", "lines": [{ "kind": "fee", "description": "x", "amount_minor": -5 }] }),
            "negative",
        ),
        (
            json!({ "matter_id": f.matter_a1.to_string(), "kind": "bill", "issued_on": "2026-11-02",
                 "due_on": "2026-12-02", "currency": "EUR",
                 "lines": [{ "kind": "fee", "description": "x", "amount_minor": 5 }] }),
            "currency",
        ),
        (
            json!({ "matter_id": f.matter_a1.to_string(), "kind": "bill", "issued_on": "2 Nov",
                 "due_on": "2026-12-02", "lines": [{ "kind": "fee", "description": "x", "amount_minor": 5 }] }),
            "date",
        ),
    ] {
        let (status, body) = issue(&billing, "INV-BAD", bad).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            "{why}: {body}"
        );
    }
    let (status, _) = issue(&billing, "INV-1002", bill(uuid::Uuid::now_v7(), 100)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown matter");

    // Only the billing system's account issues invoices.
    let (_, dms) = app.service_account("DMS", &[ServiceScope::Dms]).await;
    let (status, _) = issue(&app.service(&dms), "INV-1003", bill(f.matter_a1, 100)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let partner = app.bearer(&f.partner).await;
    let (status, _) = issue(&partner, "INV-1003", bill(f.matter_a1, 100)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_invoice_card_reaches_only_users_with_the_invoices_scope_and_foreign_ids_are_404() {
    let app = spawn_app().await;
    let f = &app.firm;
    let billing = billing(&app).await;
    let (_, mut gc) = app.sdk(&f.gc).await;
    subscribed(&mut gc, f.matter_a1, None).await;
    let (_, mut member) = app.sdk(&f.dept_head).await;
    subscribed(&mut member, f.matter_a1, None).await;

    let (status, invoice) = issue(&billing, "INV-2001", bill(f.matter_a1, 60_000)).await;
    assert_eq!(status, StatusCode::CREATED);
    let card = next_matching(&mut gc, "the invoice card", |u| {
        matches!(u, docket_client::Update::Event(e) if matches!(e.body, EventBody::Invoice { .. }))
    })
    .await;
    let docket_client::Update::Event(event) = card else {
        unreachable!()
    };
    match event.body {
        EventBody::Invoice {
            number,
            amount_due_minor,
            due_on,
            ..
        } => {
            assert_eq!(
                (number.as_str(), amount_due_minor, due_on.as_str()),
                ("INV-2001", 60_000, "2026-12-02")
            );
        }
        other => panic!("{other:?}"),
    }
    // The member (messages and documents only) never receives it: the next thing they see is the
    // message sent after it.
    let fee = app.bearer(&f.fee_earner).await;
    let (_, mut fee_channel) = app.sdk(&f.fee_earner).await;
    subscribed(&mut fee_channel, f.matter_a1, None).await;
    fee_channel
        .send(f.matter_a1, "after the invoice")
        .await
        .expect("send");
    let next = next_matching(&mut member, "the message", |u| {
        matches!(u, docket_client::Update::Event(_))
    })
    .await;
    assert_eq!(
        crate::helpers::message_text(&next).as_deref(),
        Some("after the invoice"),
        "{next:?}"
    );
    let member_rest = app.bearer(&f.dept_head).await;
    let (_, history) = member_rest
        .get(&format!("/api/v1/matters/{}/events?after=0", f.matter_a1))
        .await;
    assert!(
        !history.to_string().contains("INV-2001"),
        "nor does history: {history}"
    );
    let (status, body) = member_rest
        .get(&format!("/api/v1/matters/{}/billing", f.matter_a1))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, body) = member_rest
        .get(&format!("/api/v1/clients/{}/billing", f.client_a))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let id = invoice["invoice_id"].as_str().expect("id");
    let (status, _) = member_rest.get(&format!("/api/v1/invoices/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Finance sees exactly billing: the invoice, and no messages.
    let finance = app.bearer(&f.finance).await;
    let (status, summary) = finance
        .get(&format!("/api/v1/clients/{}/billing", f.client_a))
        .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["balance_minor"], 60_000);
    assert_eq!(summary["invoices"][0]["number"], "INV-2001");
    let (status, history) = finance
        .get(&format!("/api/v1/matters/{}/events?after=0", f.matter_a1))
        .await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["body"]["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["invoice"],
        "the card, never the conversation: {history}"
    );
    let (status, one) = finance.get(&format!("/api/v1/invoices/{id}")).await;
    assert_eq!(
        (status, one["lines"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(2))
    );

    // Another client: every id is unknown.
    let other = app.bearer(&f.private_client).await;
    for path in [
        format!("/api/v1/invoices/{id}"),
        format!("/api/v1/matters/{}/billing", f.matter_a1),
        format!("/api/v1/clients/{}/billing", f.client_a),
    ] {
        let (status, _) = other.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, theirs) = other
        .get(&format!("/api/v1/clients/{}/billing", f.client_b))
        .await;
    assert_eq!(
        (status, theirs["invoices"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    drop(fee);
}

#[tokio::test]
async fn credits_and_payments_received_move_the_balance_and_alert_the_fee_earner() {
    let app = spawn_app().await;
    let f = &app.firm;
    let billing = billing(&app).await;
    issue(&billing, "INV-3001", bill(f.matter_a1, 120_000)).await;

    let note = json!({ "number": "CN-1", "issued_on": "2026-11-10", "amount_minor": 20_000,
                       "reason": "Goodwill reduction" });
    let (status, body) = billing
        .post(
            "/api/v1/billing/invoices/INV-3001/credit-notes",
            note.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["balance_minor"].as_i64(), body["status"].as_str()),
        (Some(100_000), Some("part_paid"))
    );
    let (status, body) = billing
        .post("/api/v1/billing/invoices/INV-3001/credit-notes", note)
        .await;
    assert_eq!(
        (status, body["balance_minor"].as_i64()),
        (StatusCode::OK, Some(100_000))
    );

    let transfer = json!({ "invoice_number": "INV-3001", "amount_minor": 30_000 });
    let (status, body) = billing
        .put("/api/v1/billing/payments/BANK-77", transfer.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["method"].as_str(), body["status"].as_str()),
        (Some("transfer"), Some("succeeded"))
    );
    let (status, _) = billing
        .put("/api/v1/billing/payments/BANK-77", transfer)
        .await;
    assert_eq!(status, StatusCode::OK, "recorded once");
    let (status, body) = billing
        .put(
            "/api/v1/billing/payments/BANK-78",
            json!({ "invoice_number": "INV-3001", "amount_minor": 70_001 }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "no overpayment"
    );

    let gc = app.bearer(&f.gc).await;
    let (_, summary) = gc
        .get(&format!("/api/v1/matters/{}/billing", f.matter_a1))
        .await;
    assert_eq!(summary["balance_minor"], 70_000, "{summary}");
    assert_eq!(summary["invoices"][0]["status"], "part_paid");
    assert_eq!(summary["payments"][0]["amount_minor"], 30_000);

    let fee = app.bearer(&f.fee_earner).await;
    let (_, alerts) = fee.get("/api/v1/me/alerts").await;
    let payment_alerts: Vec<&Value> = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["detail"]["kind"] == "payment")
        .collect();
    assert_eq!(payment_alerts.len(), 1, "{alerts}");
    assert_eq!(payment_alerts[0]["detail"]["amount_minor"], 30_000);
    let (_, history) = gc
        .get(&format!("/api/v1/matters/{}/events?after=0", f.matter_a1))
        .await;
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["body"]["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["invoice", "invoice", "payment"],
        "issued, credited, paid"
    );
}

#[tokio::test]
async fn time_entries_reach_clients_only_where_the_practice_area_shows_them() {
    let app = spawn_app().await;
    let f = &app.firm;
    let billing = billing(&app).await;
    issue(&billing, "INV-4001", bill(f.matter_a1, 50_000)).await;
    let entry = json!({ "matter_id": f.matter_a1.to_string(), "invoice_number": "INV-4001",
                        "worked_on": "2026-10-20", "fee_earner": "A. Solicitor",
                        "description": "Reviewing the lease", "minutes": 90, "value_minor": 37_500 });
    let (status, _) = billing
        .put("/api/v1/billing/time-entries/T-1", entry.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = billing.put("/api/v1/billing/time-entries/T-1", entry).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = billing
        .put(
            "/api/v1/billing/schedule/S-1",
            json!({ "matter_id": f.matter_a1.to_string(),
            "planned_on": "2027-01-31", "amount_minor": 25_000, "description": "Completion stage",
            "kind": "phase" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let gc = app.bearer(&f.gc).await;
    let path = format!("/api/v1/matters/{}/billing", f.matter_a1);
    let (_, summary) = gc.get(&path).await;
    assert!(summary["time_entries"].is_null(), "{summary}");
    assert_eq!(summary["schedule"][0]["description"], "Completion stage");
    let rows = app.select_as(&f.gc, "select * from time_entry").await;
    assert!(rows.is_empty(), "the database withholds them too");
    let fee = app.bearer(&f.fee_earner).await;
    let (_, firm_view) = fee.get(&path).await;
    assert_eq!(firm_view["time_entries"][0]["minutes"], 90);

    let (_, areas) = fee.get("/api/v1/practice-areas").await;
    let area = areas
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["name"] == "Commercial property")
        .expect("area")["practice_area_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let patch = |client: Client| {
        let area = area.clone();
        async move {
            client
                .send(
                    reqwest::Method::PATCH,
                    &format!("/api/v1/practice-areas/{area}"),
                    Some(json!({ "show_time_entries": true })),
                )
                .await
        }
    };
    let (status, _) = patch(fee.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
    let mut tenant = Tenant::begin(
        &app.runtime,
        &app.state.outbox,
        RequestContext {
            actor: Some(f.fee_earner.user_id),
            ..Default::default()
        },
    )
    .await
    .expect("tenant");
    let refused = sqlx::query("select practice_area_show_time_entries($1::uuid, true)")
        .bind(&area)
        .execute(tenant.conn())
        .await;
    assert!(refused.is_err(), "the database refuses a fee earner too");
    drop(tenant);
    let admin = app.bearer(&f.admin).await;
    let (status, body) = patch(admin).await;
    assert_eq!(
        (status, body["show_time_entries"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{body}"
    );
    let (_, summary) = gc.get(&path).await;
    assert_eq!(
        summary["time_entries"][0]["description"], "Reviewing the lease",
        "{summary}"
    );
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'practice_area.time_entries_shown'",
    )
    .fetch_one(&app.owner)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn an_invoice_pdf_becomes_a_published_financial_document_only_invoice_viewers_see() {
    let dir = std::env::temp_dir().join(format!("docket-bills-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("blob dir");
    let blobs = dir.clone();
    let app = crate::helpers::spawn_app_with(move |config| {
        config.blob_store = Some(format!("file://{}", blobs.display()));
    })
    .await;
    let f = &app.firm;
    let billing = billing(&app).await;
    issue(&billing, "INV-9001", bill(f.matter_a1, 50_000)).await;
    let put_pdf = |bytes: Vec<u8>| {
        let billing = billing.clone();
        async move {
            crate::helpers::upload(
                &billing,
                reqwest::Method::PUT,
                "/api/v1/billing/invoices/INV-9001/pdf",
                bytes,
            )
            .await
        }
    };
    let (status, invoice) = put_pdf(crate::helpers::pdf("bill one")).await;
    assert_eq!(status, StatusCode::CREATED, "{invoice}");
    let document = invoice["document_id"]
        .as_str()
        .expect("document")
        .to_owned();
    let (status, again) = put_pdf(crate::helpers::pdf("bill one")).await;
    assert_eq!(
        (status, again["document_id"].as_str()),
        (StatusCode::OK, Some(document.as_str()))
    );
    let (status, body) = put_pdf(b"plain text, not a bill".to_vec()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "file_refused"),
        "{body}"
    );
    let (status, _) = put_pdf(crate::helpers::pdf("bill one, corrected")).await;
    assert_eq!(status, StatusCode::OK);
    let stored = std::fs::read_dir(&dir)
        .expect("blobs")
        .flat_map(|e| walk(e.expect("entry").path()))
        .count();
    assert_eq!(
        stored, 2,
        "two versions kept; the repeat and the refusal left nothing"
    );

    // Finance sees it (the invoices scope reaches financial documents); another client does not.
    let finance = app.bearer(&f.finance).await;
    let (status, doc) = finance.get(&format!("/api/v1/documents/{document}")).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(
        (
            doc["category"].as_str(),
            doc["versions"].as_array().map(Vec::len)
        ),
        (Some("financial"), Some(2))
    );
    let other = app.bearer(&f.private_client).await;
    let (status, _) = other.get(&format!("/api/v1/documents/{document}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The billing system's account reads only financial documents, never the others.
    let partner = app.bearer(&f.partner).await;
    crate::helpers::upload_pdf(&partner, f.matter_a1, "contracts").await;
    let service_id: uuid::Uuid =
        sqlx::query_scalar("select user_id from service_credential where 'billing' = any(scopes)")
            .fetch_one(&app.owner)
            .await
            .expect("account");
    let account = crate::helpers::TestUser {
        user_id: service_id.into(),
        email: String::new(),
        totp_secret: Vec::new(),
    };
    let seen = app
        .select_as(&account, "select category from document")
        .await;
    assert_eq!(seen, [json!({ "category": "financial" })], "{seen:?}");
    std::fs::remove_dir_all(&dir).ok();
}

fn walk(path: std::path::PathBuf) -> Vec<std::path::PathBuf> {
    if path.is_dir() {
        std::fs::read_dir(&path)
            .expect("dir")
            .flat_map(|e| walk(e.expect("entry").path()))
            .collect()
    } else {
        vec![path]
    }
}

#[tokio::test]
async fn an_unpaid_invoice_can_be_voided_and_then_owes_nothing_but_a_paid_one_needs_a_credit_note()
{
    let app = spawn_app().await;
    let f = &app.firm;
    let billing = billing(&app).await;
    issue(&billing, "INV-9101", bill(f.matter_a1, 20_000)).await;
    issue(&billing, "INV-9102", bill(f.matter_a1, 30_000)).await;
    let void = |number: &'static str| {
        let billing = billing.clone();
        async move {
            billing
                .post(
                    &format!("/api/v1/billing/invoices/{number}/void"),
                    json!({ "reason": "Issued in error" }),
                )
                .await
        }
    };
    let (status, voided) = void("INV-9101").await;
    assert_eq!(status, StatusCode::OK, "{voided}");
    assert_eq!(
        (
            voided["status"].as_str(),
            voided["balance_minor"].as_i64(),
            voided["payable"].as_bool()
        ),
        (Some("void"), Some(0), Some(false))
    );
    assert_eq!(voided["void_reason"], "Issued in error");
    assert_eq!(
        void("INV-9101").await.0,
        StatusCode::OK,
        "again changes nothing"
    );
    billing
        .put(
            "/api/v1/billing/payments/BANK-9102",
            json!({ "invoice_number": "INV-9102", "amount_minor": 100 }),
        )
        .await;
    let (status, body) = void("INV-9102").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "{body}"
    );
    let (status, body) = billing
        .post("/api/v1/billing/invoices/INV-9101/credit-notes",
              json!({ "number": "CN-9101", "issued_on": "2026-11-05", "amount_minor": 1, "reason": "r" }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "a void invoice takes no credit"
    );
    let gc = app.bearer(&f.gc).await;
    let (_, summary) = gc
        .get(&format!("/api/v1/matters/{}/billing", f.matter_a1))
        .await;
    assert_eq!(summary["balance_minor"], 29_900);
    let (_, statement) = gc
        .get(&format!("/api/v1/matters/{}/statement", f.matter_a1))
        .await;
    assert!(!statement.to_string().contains("INV-9101"), "{statement}");
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = 'invoice.voided'")
            .fetch_one(&app.owner)
            .await
            .expect("audit");
    assert_eq!(audited, 1);
}
