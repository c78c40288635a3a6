//! Isolation is the database's job: deliberately unfiltered queries in a client user's tenant
//! transaction return nothing foreign, and every endpoint that takes an id answers another
//! client's id with the same 404 as a missing one. [`definers`] holds the SQL-level tests of what
//! one server bug could reach: credentials, audit attribution and the definer functions.

mod definers;

use std::collections::BTreeSet;

use docket_protocol::integrations::ServiceScope;
use docket_server::db::{RequestContext, Tenant};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, upload_pdf, TestApp, TestUser};

/// Tables that hold no client or matter data, and so carry no row-level security.
const WITHOUT_RLS: &[&str] = &[
    "_sqlx_migrations",
    "audit_chain_head",
    // Firm configuration, like practice_area: no client or matter data.
    "milestone_template_item",
    "practice_area",
    "practice_area_notification_default",
    // The server's own secrets (the VAPID key), sealed under the key-encryption key.
    "server_secret",
    "sign_in_throttle",
];

/// Every table with client or matter data.
const WITH_RLS: &[&str] = &[
    "audit_event",
    "billing_schedule_item",
    "channel_event",
    "channel_head",
    "channel_read",
    "client",
    "credit_note",
    "device",
    "document",
    "document_version",
    "invitation",
    "invoice",
    "invoice_line",
    "invoice_revision",
    "matter",
    "matter_grant",
    "matter_key",
    "matter_milestone",
    "matter_reply_wait",
    "matter_team",
    "notification",
    "notification_delivery",
    "notification_preference",
    "notification_schedule",
    "outbox",
    "payment",
    "payment_attempt",
    "push_subscription",
    "recovery_code",
    "service_credential",
    "session",
    "stripe_event",
    "time_entry",
    "user_account",
    "user_alert",
    "user_credential",
];

#[tokio::test]
async fn every_table_with_client_data_forces_row_level_security() {
    let app = spawn_app().await;
    let rows: Vec<(String, bool, bool)> = sqlx::query_as(
        "select c.relname::text, c.relrowsecurity, c.relforcerowsecurity from pg_class c
         where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition",
    )
    .fetch_all(&app.owner)
    .await
    .expect("tables");
    let mut with_rls = BTreeSet::new();
    for (table, enabled, forced) in rows {
        if WITHOUT_RLS.contains(&table.as_str()) {
            continue;
        }
        assert!(
            enabled && forced,
            "{table} holds data but does not force row-level security"
        );
        with_rls.insert(table);
    }
    assert_eq!(
        with_rls,
        WITH_RLS.iter().map(|t| t.to_string()).collect(),
        "a new table must be added to the isolation tests"
    );
}

/// Signs everyone in, so that sessions, devices, alerts and audit rows exist for every user.
async fn populate(app: &TestApp) {
    let f = &app.firm;
    for user in [
        &f.gc,
        &f.finance,
        &f.dept_head,
        &f.private_client,
        &f.fee_earner,
        &f.partner,
    ] {
        app.signed_in(user).await;
        app.signed_in(user).await; // a second device, so alerts exist too
    }
    let fee_earner = app.signed_in(&f.fee_earner).await;
    let (status, _) = fee_earner
        .post(
            &format!("/api/v1/clients/{}/users", f.client_b),
            json!({ "email": "second@client-b.test", "display_name": "Second", "role": "member" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = fee_earner
        .post(
            &format!("/api/v1/clients/{}/users", f.client_a),
            json!({ "email": "third@client-a.test", "display_name": "Third", "role": "member" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Documents in both clients' matters: published, and internal (never for clients' eyes).
    let partner = app.bearer(&f.partner).await;
    for matter in [f.matter_a1, f.matter_b1] {
        for publish in [true, false] {
            let (status, doc) = upload_pdf(&partner, matter, "contracts").await;
            assert_eq!(status, StatusCode::CREATED, "{doc}");
            if publish {
                let id = doc["document_id"].as_str().expect("id");
                for step in ["submit", "publish"] {
                    let (status, _) = partner
                        .post(
                            &format!("/api/v1/documents/{id}/versions/1/{step}"),
                            json!({}),
                        )
                        .await;
                    assert_eq!(status, StatusCode::OK);
                }
            }
        }
    }
    // A service account of the firm's, besides the built-in payments one.
    app.service_account(
        "Billing",
        &[docket_protocol::integrations::ServiceScope::Billing],
    )
    .await;
    // Billing in both clients' matters: invoices, credits, payments, time and planned bills.
    let (_, token) = app
        .service_account("Billing system", &[ServiceScope::Billing])
        .await;
    let billing = app.service(&token);
    for (n, matter) in [f.matter_a1, f.matter_a2, f.matter_b1]
        .into_iter()
        .enumerate()
    {
        let number = format!("INV-{n}");
        let (status, body) =
            crate::billing::issue(&billing, &number, crate::billing::bill(matter, 10_000)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, _) = billing
            .post(&format!("/api/v1/billing/invoices/{number}/credit-notes"),
                  json!({ "number": format!("CN-{n}"), "issued_on": "2026-11-03", "amount_minor": 100, "reason": "r" }))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = billing
            .put(
                &format!("/api/v1/billing/payments/P-{n}"),
                json!({ "invoice_number": number, "amount_minor": 100 }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = billing
            .put(&format!("/api/v1/billing/time-entries/T-{n}"), json!({ "matter_id": matter.to_string(),
                "worked_on": "2026-10-01", "fee_earner": "F", "description": "d", "minutes": 6, "value_minor": 100 }))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = billing
            .put(&format!("/api/v1/billing/schedule/S-{n}"), json!({ "matter_id": matter.to_string(),
                "planned_on": "2027-01-01", "amount_minor": 100, "description": "d", "kind": "bill" }))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // Every time entry is shown to clients, so the rule below is tested on real rows.
    sqlx::query("update practice_area set show_time_entries = true")
        .execute(&app.owner)
        .await
        .expect("show");
    // Channel traffic in both clients' matters, with read positions.
    for (user, matter) in [(&f.gc, f.matter_a1), (&f.private_client, f.matter_b1)] {
        let (_, mut channel) = app.sdk(user).await;
        crate::helpers::subscribed(&mut channel, matter, None).await;
        let sent = channel.send(matter, "confidential").await.expect("ack");
        channel.read(matter, sent.seq);
        channel
            .send(matter, "a marker after the read")
            .await
            .expect("ack");
    }
    // Notification settings and a push subscription for a user of each client (the messages
    // above raised notifications and started the firm's reply clocks).
    for user in [&f.gc, &f.private_client] {
        sqlx::query(
            "insert into notification_preference (user_id, kind, channel, frequency)
             values ($1, 'message', 'email', 'digest')",
        )
        .bind(user.user_id.0)
        .execute(&app.owner)
        .await
        .expect("preference");
        sqlx::query("insert into notification_schedule (user_id, digest_hour) values ($1, 7)")
            .bind(user.user_id.0)
            .execute(&app.owner)
            .await
            .expect("schedule");
        sqlx::query(
            "insert into push_subscription (device_id, user_id, endpoint, p256dh, auth)
             select device_id, user_id, 'https://fcm.googleapis.com/fcm/send/isolation',
                    '\\x04'::bytea || decode(repeat('11', 64), 'hex'), decode(repeat('22', 16), 'hex')
             from device where user_id = $1 limit 1",
        )
        .bind(user.user_id.0)
        .execute(&app.owner)
        .await
        .expect("subscription");
    }
}

fn field<'a>(row: &'a Value, name: &str) -> Option<&'a str> {
    row.get(name).and_then(Value::as_str)
}

#[tokio::test]
async fn unfiltered_selects_as_a_client_user_return_no_foreign_row() {
    let app = spawn_app().await;
    populate(&app).await;
    let f = &app.firm;
    let cases: Vec<(&TestUser, Uuid, Vec<Uuid>)> = vec![
        (&f.gc, f.client_a.0, vec![f.matter_a1.0, f.matter_a2.0]),
        (&f.finance, f.client_a.0, vec![f.matter_a1.0, f.matter_a2.0]),
        (&f.dept_head, f.client_a.0, vec![f.matter_a1.0]),
        (&f.private_client, f.client_b.0, vec![f.matter_b1.0]),
    ];
    for (user, own_client, own_matters) in cases {
        let me = user.user_id.0.to_string();
        let own_client = own_client.to_string();
        let own_matters: BTreeSet<String> = own_matters.iter().map(Uuid::to_string).collect();
        for table in WITH_RLS {
            let rows = app.select_as(user, &format!("select * from {table}")).await;
            for row in &rows {
                let foreign = match *table {
                    "client" => field(row, "client_id") != Some(&own_client),
                    // Firm staff are named through `person`, not read from the directory.
                    "user_account" => field(row, "client_id") != Some(&own_client),
                    "document_version" if field(row, "state") != Some("published") => true,
                    "matter"
                    | "matter_team"
                    | "matter_grant"
                    | "matter_key"
                    | "matter_milestone"
                    | "channel_event"
                    | "document"
                    | "document_version"
                    | "channel_head"
                    | "channel_read"
                    | "invoice"
                    | "invoice_line"
                    | "invoice_revision"
                    | "credit_note"
                    | "payment"
                    | "payment_attempt"
                    | "time_entry"
                    | "billing_schedule_item" => {
                        !own_matters.contains(field(row, "matter_id").unwrap_or(""))
                    }
                    "session" | "device" | "recovery_code" | "user_alert" | "invitation"
                    | "user_credential" => field(row, "user_id") != Some(&me),
                    "audit_event" => true, // client users read no part of the trail
                    "outbox" => true,      // no request reads the queue
                    "service_credential" => true, // the firm's systems' credentials
                    "stripe_event" => true, // Stripe's account alone
                    "notification_preference" | "notification_schedule" | "push_subscription" => {
                        field(row, "user_id") != Some(&me)
                    }
                    // The notifier's alone; a client never sees a matter's wait for the firm.
                    "notification" | "notification_delivery" | "matter_reply_wait" => true,
                    other => panic!("no isolation rule for {other}"),
                };
                assert!(
                    !foreign,
                    "{} sees a foreign row in {table}: {row}",
                    user.email
                );
            }
            if *table == "matter" {
                assert_eq!(
                    rows.len(),
                    own_matters.len(),
                    "{} sees exactly their matters",
                    user.email
                );
            }
        }
        // Credentials of other users never leave the database through the runtime role.
        let secrets = app
            .select_as(
                user,
                "select user_id from user_credential where user_id <> docket_actor()",
            )
            .await;
        assert!(
            secrets.is_empty(),
            "{} reads others' credentials",
            user.email
        );
    }
}

#[tokio::test]
async fn a_transaction_without_an_actor_sees_nothing() {
    let app = spawn_app().await;
    populate(&app).await;
    let mut tenant = Tenant::begin(&app.runtime, &app.state.outbox, RequestContext::default())
        .await
        .expect("tenant");
    for table in WITH_RLS {
        let count: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(tenant.conn())
            .await
            .expect("count");
        assert_eq!(
            count, 0,
            "{table} leaks rows to a transaction with no actor"
        );
    }
}

#[tokio::test]
async fn the_runtime_role_cannot_write_what_the_policies_forbid() {
    let app = spawn_app().await;
    let f = &app.firm;
    let mut tenant = Tenant::begin(
        &app.runtime,
        &app.state.outbox,
        RequestContext {
            actor: Some(f.private_client.user_id),
            ..Default::default()
        },
    )
    .await
    .expect("tenant");
    let updated = sqlx::query("update matter set title = 'hijacked' where matter_id = $1")
        .bind(f.matter_a1.0)
        .execute(tenant.conn())
        .await
        .expect("update");
    assert_eq!(updated.rows_affected(), 0);
    let err = sqlx::query(
        "insert into matter_grant (matter_id, user_id, scopes) values ($1, $2, '{messages}')",
    )
    .bind(f.matter_b1.0)
    .bind(f.private_client.user_id.0)
    .execute(tenant.conn())
    .await
    .expect_err("a client cannot grant itself access");
    assert!(
        err.to_string().contains("row-level security")
            || err.to_string().contains("matter's client"),
        "{err}"
    );
}

#[tokio::test]
async fn every_endpoint_that_takes_an_id_answers_a_foreign_id_with_404() {
    let app = spawn_app().await;
    let f = &app.firm;
    // Ids that belong to client A's people.
    let gc = app.signed_in(&f.gc).await;
    let (_, sessions) = gc.get("/api/v1/me/sessions").await;
    let gc_session = sessions[0]["session_id"].as_str().expect("id").to_owned();
    let (_, devices) = gc.get("/api/v1/me/devices").await;
    let gc_device = devices[0]["device_id"].as_str().expect("id").to_owned();

    let milestone: Uuid = sqlx::query_scalar(
        "select milestone_id from matter_milestone where matter_id = $1 order by position limit 1",
    )
    .bind(f.matter_a1.0)
    .fetch_one(&app.owner)
    .await
    .expect("a milestone");

    let (_, token) = app
        .service_account("Billing system", &[ServiceScope::Billing])
        .await;
    let (_, invoice) = crate::billing::issue(
        &app.service(&token),
        "INV-A1",
        crate::billing::bill(f.matter_a1, 5_000),
    )
    .await;
    let invoice = invoice["invoice_id"].as_str().expect("invoice").to_owned();

    let outsider = app.signed_in(&f.private_client).await;
    let unknown = Uuid::now_v7();
    let requests: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (
            reqwest::Method::GET,
            format!("/api/v1/matters/{}", f.matter_a1),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/matters/{}/audit", f.matter_a1),
            None,
        ),
        (
            reqwest::Method::PUT,
            format!(
                "/api/v1/matters/{}/grants/{}",
                f.matter_a1, f.dept_head.user_id
            ),
            Some(json!({ "scopes": ["messages"] })),
        ),
        (
            reqwest::Method::DELETE,
            format!(
                "/api/v1/matters/{}/grants/{}",
                f.matter_a1, f.dept_head.user_id
            ),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/clients/{}", f.client_a),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/clients/{}/users", f.client_a),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/clients/{}/users", f.client_a),
            Some(json!({ "email": "x@y.test", "display_name": "X", "role": "member" })),
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/matters/{}/milestones", f.matter_a1),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/matters/{}/milestones", f.matter_a1),
            Some(json!({ "title": "Mine now" })),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/matters/{}/milestones/{milestone}", f.matter_a1),
            Some(json!({ "status": "done" })),
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/matters/{}/milestones/{milestone}", f.matter_a1),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/matters/{}/billing", f.matter_a1),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/clients/{}/billing", f.client_a),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/invoices/{invoice}"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/invoices/{invoice}/pay"),
            Some(json!({})),
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/me/sessions/{gc_session}"),
            None,
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/me/devices/{gc_device}"),
            None,
        ),
    ];
    let (_, missing_body) = outsider.get(&format!("/api/v1/matters/{unknown}")).await;
    for (method, path, body) in &requests {
        let (status, answer) = outsider.send(method.clone(), path, body.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        assert_eq!(
            answer, missing_body,
            "{method} {path} must look exactly like a missing id"
        );
        // And the same path with a random id is the same 404.
        let random = path
            .replace(&f.matter_a1.to_string(), &unknown.to_string())
            .replace(&f.client_a.to_string(), &unknown.to_string())
            .replace(&invoice, &unknown.to_string());
        assert_eq!(
            outsider.send(method.clone(), &random, body.clone()).await.0,
            StatusCode::NOT_FOUND,
            "{method} {random}"
        );
    }
    // A malformed id is a 404 too, not a parse error that confirms the route.
    assert_eq!(
        outsider.get("/api/v1/matters/not-a-uuid").await.0,
        StatusCode::NOT_FOUND
    );

    // A firm user not on the team is an outsider to the matter as well.
    let other = app.signed_in(&f.other_fee_earner).await;
    for path in [
        format!("/api/v1/matters/{}", f.matter_a1),
        format!("/api/v1/matters/{}/audit", f.matter_a1),
    ] {
        assert_eq!(other.get(&path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    // Nothing was changed by any of it: the GC's session still works.
    assert_eq!(gc.get("/api/v1/matters").await.0, StatusCode::OK);
}
