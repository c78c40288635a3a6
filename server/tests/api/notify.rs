//! Notifications beyond the open tab: Web Push to a fake push service, read back by an independent
//! implementation (Python's http_ece and cryptography); e-mail to a real SMTP server; the rules
//! (never the author, never someone looking at the matter, bursts fold); preferences, quiet hours
//! and digests on a moved clock; escalation; and the dispatcher's guarantees.

use std::sync::Arc;
use std::time::Duration;

use docket_server::notify::{self, Detail};
use docket_server::outbox::{dispatcher, Routed};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{code, spawn_app_with, subscribed, Client, TestApp};
use crate::push_fixture::{BrowserKeys, PushService, Recorded};
use crate::smtp_fixture::SmtpSink;

/// An app that pushes to `push` only, folds bursts for `hold_ms`, and polls and ticks quickly.
async fn app_pushing_to(push: &PushService, hold_ms: u64) -> TestApp {
    let allowed = push.allowed();
    spawn_app_with(move |c| {
        c.notify.push_services = vec![allowed];
        c.notify.hold_ms = hold_ms;
        c.notify.tick_ms = 100;
        c.outbox.poll_ms = 50;
        c.mail_from = "Docket <portal@firm.example>".into();
    })
    .await
}

/// Enables push on `client`'s device at `path` of the fake service; returns the browser's keys.
async fn enable_push(client: &Client, push: &PushService, path: &str) -> BrowserKeys {
    let keys = BrowserKeys::generate();
    let (status, body) = client
        .put(
            "/api/v1/me/push-subscription",
            keys.subscription(&format!("{}{path}", push.origin)),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    keys
}

/// The pushes at `path`, opened as the browser, of one kind (security notices about the test's
/// own sign-ins may arrive too).
fn opened_of_kind(keys: &BrowserKeys, requests: &[Recorded], kind: &str) -> Vec<Value> {
    keys.open(requests)
        .into_iter()
        .filter(|p| p["payload"]["kind"] == kind)
        .collect()
}

/// Waits until `count` pushes of `kind` reached `path`; returns them opened.
async fn pushes(
    push: &PushService,
    keys: &BrowserKeys,
    path: &str,
    kind: &str,
    count: usize,
) -> Vec<Value> {
    for _ in 0..200 {
        let opened = opened_of_kind(keys, &push.to(path), kind);
        if opened.len() >= count {
            return opened;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{count} {kind} push(es) did not reach {path}");
}

/// Waits until the notifier has nothing left: no channel events to read, no notification pending.
async fn settled(app: &TestApp) {
    for _ in 0..200 {
        let pending: i64 = sqlx::query_scalar(
            "select (select count(*) from notification where state = 'pending')
                  + (select count(*) from outbox where consumer in ('notify', 'notification') and dead_at is null)",
        )
        .fetch_one(&app.owner)
        .await
        .expect("count");
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("notifications stayed pending");
}

/// The client's department head, on an open channel following matter A-1.
async fn client_on_a1(app: &TestApp) -> docket_client::Channel {
    let (_, mut client) = app.sdk(&app.firm.dept_head).await;
    subscribed(&mut client, app.firm.matter_a1, None).await;
    client
}

/// The fee earner and the department head each with push on at `/fee` and `/dept`, and the
/// department head's channel on A-1.
async fn both_sides_pushed(
    app: &TestApp,
    push: &PushService,
) -> (Client, BrowserKeys, BrowserKeys, docket_client::Channel) {
    let fee = app.bearer(&app.firm.fee_earner).await;
    let fee_keys = enable_push(&fee, push, "/fee").await;
    let client = client_on_a1(app).await;
    let dept = app.bearer(&app.firm.dept_head).await;
    let dept_keys = enable_push(&dept, push, "/dept").await;
    (fee, fee_keys, dept_keys, client)
}

#[tokio::test]
async fn a_client_message_reaches_the_fee_earner_by_push_encrypted_and_naming_only_the_matter() {
    let push = PushService::start().await;
    let app = app_pushing_to(&push, 200).await;
    let (fee, fee_keys, dept_keys, client) = both_sides_pushed(&app, &push).await;
    client
        .send(
            app.firm.matter_a1,
            "The settlement figure is 48,250; keep it quiet",
        )
        .await
        .expect("sent");

    let opened = pushes(&push, &fee_keys, "/fee", "message", 1).await;
    let push_body = &opened[0];
    assert_eq!(
        push_body["payload"]["body"],
        "New message on A-1 \u{2014} Matter A-1"
    );
    assert_eq!(
        push_body["payload"]["url"],
        format!("/matters/{}", app.firm.matter_a1)
    );
    let raw = serde_json::to_string(push_body).expect("json");
    assert!(
        !raw.contains("48,250") && !raw.contains("settlement"),
        "no content leaves: {raw}"
    );
    // VAPID (RFC 8292): the push service's origin, at most a day, who to contact.
    let claims = &push_body["claims"];
    assert_eq!(claims["aud"], push.origin);
    assert_eq!(claims["sub"], "mailto:portal@firm.example");
    let exp = claims["exp"].as_i64().expect("exp");
    let now = app.clock.now().unix_timestamp();
    assert!(exp > now && exp - now <= 24 * 3600, "exp {exp} now {now}");
    let (_, settings) = fee.get("/api/v1/me/notifications").await;
    assert_eq!(push_body["vapid_key"], settings["push"]["vapid_public_key"]);
    // RFC 8030 headers: a burst replaces itself under one topic.
    let request = push.to("/fee").into_iter().last().expect("request");
    assert_eq!(request.headers["urgency"], "high");
    assert_eq!(request.headers["ttl"], "86400");
    let topic = request.headers["topic"].to_str().expect("topic");
    assert!(
        topic.len() <= 32
            && topic
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );

    // Never the author, and client messages tell the firm, not the client's other users.
    settled(&app).await;
    assert!(opened_of_kind(&dept_keys, &push.to("/dept"), "message").is_empty());
    let notified: Vec<Uuid> =
        sqlx::query_scalar("select user_id from notification where kind = 'message'")
            .fetch_all(&app.owner)
            .await
            .expect("rows");
    assert_eq!(notified, vec![app.firm.fee_earner.user_id.0]);
    // And in the app: an alert naming the matter.
    let (_, alerts) = fee.get("/api/v1/me/alerts").await;
    let notice = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["detail"]["kind"] == "notice")
        .expect("a notice alert");
    assert_eq!(notice["detail"]["notice"], "message");
    assert_eq!(notice["detail"]["reference"], "A-1");
}

#[tokio::test]
async fn ten_quick_messages_give_one_coalesced_push_and_a_firm_reply_reaches_the_client() {
    let push = PushService::start().await;
    let app = app_pushing_to(&push, 1_500).await;
    let (_fee, fee_keys, dept_keys, client) = both_sides_pushed(&app, &push).await;
    for i in 0..10 {
        client
            .send(app.firm.matter_a1, &format!("quick message {i}"))
            .await
            .expect("sent");
    }
    let opened = pushes(&push, &fee_keys, "/fee", "message", 1).await;
    settled(&app).await;
    let opened_after = opened_of_kind(&fee_keys, &push.to("/fee"), "message");
    assert_eq!(
        opened_after.len(),
        1,
        "one push for the burst: {opened_after:?}"
    );
    assert_eq!(
        opened[0]["payload"]["body"],
        "10 new messages on A-1 \u{2014} Matter A-1"
    );

    // The firm answers: the client's user with the messages scope is told.
    let (_, fee_channel) = app.sdk(&app.firm.fee_earner).await;
    fee_channel
        .send(app.firm.matter_a1, "Thank you, noted")
        .await
        .expect("sent");
    let to_client = pushes(&push, &dept_keys, "/dept", "message", 1).await;
    assert_eq!(
        to_client[0]["payload"]["body"],
        "New message on A-1 \u{2014} Matter A-1"
    );
}

/// Waits until the server records the fee earner as looking at A-1 (`looking`) or not.
async fn fee_earner_viewing_a1(app: &TestApp, looking: bool) {
    for _ in 0..100 {
        let now = app
            .state
            .channels
            .presence
            .is_viewing(app.firm.fee_earner.user_id, app.firm.matter_a1)
            .await;
        if now == looking {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server never saw the fee earner's viewing become {looking}");
}

#[tokio::test]
async fn someone_looking_at_the_matter_gets_no_notice_until_they_look_away() {
    let push = PushService::start().await;
    let app = app_pushing_to(&push, 300).await;
    let (_, fee_channel) = app.sdk(&app.firm.fee_earner).await;
    let fee = app.bearer(&app.firm.fee_earner).await;
    let fee_keys = enable_push(&fee, &push, "/fee").await;
    let client = client_on_a1(&app).await;

    fee_channel.viewing(Some(app.firm.matter_a1));
    // The frame is on its way before the client writes: wait until the server has it.
    fee_earner_viewing_a1(&app, true).await;
    client
        .send(app.firm.matter_a1, "while you look")
        .await
        .expect("sent");
    settled(&app).await;
    let outcome: String =
        sqlx::query_scalar("select outcome from notification where kind = 'message'")
            .fetch_one(&app.owner)
            .await
            .expect("row");
    assert_eq!(outcome, "viewing");
    assert!(opened_of_kind(&fee_keys, &push.to("/fee"), "message").is_empty());

    fee_channel.viewing(None);
    fee_earner_viewing_a1(&app, false).await;
    client
        .send(app.firm.matter_a1, "now you looked away")
        .await
        .expect("sent");
    pushes(&push, &fee_keys, "/fee", "message", 1).await;
}

#[tokio::test]
async fn a_push_service_that_says_gone_removes_the_subscription_and_refuses_foreign_endpoints() {
    let push = PushService::start().await;
    let app = app_pushing_to(&push, 100).await;
    let fee = app.bearer(&app.firm.fee_earner).await;
    // Not a push service Docket sends to: refused before anything is stored.
    for endpoint in [
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "https://fcm.googleapis.com.attacker.test/x".to_owned(),
        format!("{}/x", push.origin.replace("127.0.0.1", "localhost")),
    ] {
        let keys = BrowserKeys::generate();
        let (status, body) = fee
            .put("/api/v1/me/push-subscription", keys.subscription(&endpoint))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{endpoint}: {body}"
        );
        assert_eq!(code(&body), "invalid_input");
    }
    let (status, body) = fee
        .put(
            "/api/v1/me/push-subscription",
            json!({ "endpoint": format!("{}/fee", push.origin), "keys": { "p256dh": "AAAA", "auth": "AAAA" } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    enable_push(&fee, &push, "/gone/fee").await;
    let (_, settings) = fee.get("/api/v1/me/notifications").await;
    assert_eq!(settings["push"]["subscribed"], true);
    let client = client_on_a1(&app).await;
    client
        .send(app.firm.matter_a1, "hello")
        .await
        .expect("sent");
    push.wait_for("/gone/fee", 1).await;
    settled(&app).await;
    let (_, settings) = fee.get("/api/v1/me/notifications").await;
    assert_eq!(settings["push"]["subscribed"], false, "410 removed it");
}

#[tokio::test]
async fn preferences_are_validated_audited_and_honoured_with_a_digest_and_quiet_hours() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = spawn_app_with(move |c| {
        c.smtp_url = Some(url.into());
        c.notify.hold_ms = 100;
        c.notify.interval_ms = 200;
        c.notify.tick_ms = 100;
        c.outbox.poll_ms = 50;
    })
    .await;
    let fee = app.bearer(&app.firm.fee_earner).await;
    let (status, grid) = fee.get("/api/v1/me/notifications").await;
    assert_eq!(status, StatusCode::OK, "{grid}");
    assert_eq!(grid["quiet_hours_allowed"], true);
    let cell = |grid: &Value, kind: &str, channel: &str| -> Value {
        grid["preferences"]
            .as_array()
            .expect("grid")
            .iter()
            .find(|p| p["kind"] == kind && p["channel"] == channel)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(cell(&grid, "message", "email")["frequency"], "immediate");
    assert_eq!(cell(&grid, "security", "email")["source"], "fixed");
    assert!(
        cell(&grid, "invoice", "email").is_null(),
        "clients' kinds are not a firm user's"
    );

    // What cannot be: security off, a digest by push, a made-up time zone, a client's quiet hours.
    for (body, what) in [
        (
            json!({ "preferences": [{ "kind": "security", "channel": "email", "frequency": "off" }] }),
            "security",
        ),
        (
            json!({ "preferences": [{ "kind": "message", "channel": "push", "frequency": "digest" }] }),
            "digest push",
        ),
        (json!({ "time_zone": "Mars/Olympus_Mons" }), "time zone"),
        (
            json!({ "time_zone": "Europe/London\u{0}" }),
            "a NUL in the time zone",
        ),
        (json!({ "time_zone": "" }), "no time zone"),
        (json!({ "digest_hour": 24 }), "hour"),
        (
            json!({ "quiet_hours": { "start": "25:00", "end": "07:00" } }),
            "quiet hours",
        ),
    ] {
        let (status, body) = fee
            .send(
                reqwest::Method::PATCH,
                "/api/v1/me/notifications",
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
    }
    let gc = app.bearer(&app.firm.gc).await;
    let (status, _) = gc
        .send(
            reqwest::Method::PATCH,
            "/api/v1/me/notifications",
            Some(json!({ "quiet_hours": { "start": "20:00", "end": "07:00" } })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Messages by daily digest at the next hour (UTC), uploads muted by e-mail.
    let now = app.clock.now();
    let digest_hour = (now.hour() + 1) % 24;
    let (status, grid) = fee
        .send(
            reqwest::Method::PATCH,
            "/api/v1/me/notifications",
            Some(json!({
                "time_zone": "UTC",
                "digest_hour": digest_hour,
                "preferences": [
                    { "kind": "message", "channel": "email", "frequency": "digest" },
                    { "kind": "client_upload", "channel": "email", "frequency": "off" },
                ],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{grid}");
    assert_eq!(cell(&grid, "message", "email")["source"], "user");
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'notifications.settings_changed'",
    )
    .fetch_one(&app.owner)
    .await
    .expect("audit");
    assert_eq!(audited, 1, "only the accepted change is audited");

    let client = client_on_a1(&app).await;
    client
        .send(app.firm.matter_a1, "first")
        .await
        .expect("sent");
    client
        .send(app.firm.matter_a1, "second")
        .await
        .expect("sent");
    let dept = app.bearer(&app.firm.dept_head).await;
    let (status, _) = crate::helpers::upload_pdf(&dept, app.firm.matter_a1, "correspondence").await;
    assert_eq!(status, StatusCode::CREATED);
    settled(&app).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let to_fee = |sink: &SmtpSink| -> Vec<Value> {
        sink.received()
            .into_iter()
            .filter(|m| m["rcpt_tos"] == json!([app.firm.fee_earner.email]))
            // The test's own sign-ins from new devices are e-mailed too.
            .filter(|m| {
                !m["subject"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("New sign-in")
            })
            .collect()
    };
    assert!(
        to_fee(&sink).is_empty(),
        "nothing before the digest: {:?}",
        to_fee(&sink)
    );

    // The digest hour comes: one mail with the messages, not the muted upload.
    let minutes_to_go = 60 - i64::from(now.minute()) + 1;
    app.clock.advance(time::Duration::minutes(minutes_to_go));
    for _ in 0..100 {
        if !to_fee(&sink).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mails = to_fee(&sink);
    assert_eq!(mails.len(), 1, "one digest: {mails:?}");
    // An hour passed: sessions timed out.
    let fee = app.bearer(&app.firm.fee_earner).await;
    let client = client_on_a1(&app).await;
    let text = mails[0]["text"].as_str().expect("text");
    assert!(mails[0]["subject"]
        .as_str()
        .expect("subject")
        .starts_with("Your Docket summary: 1 notice"));
    assert!(
        text.contains("2 new messages on A-1 \u{2014} Matter A-1"),
        "{text}"
    );
    assert!(
        !text.contains("first") && !text.contains("second"),
        "no content: {text}"
    );
    assert!(
        !text.to_lowercase().contains("upload"),
        "muted kinds stay out: {text}"
    );

    // Quiet hours now, e-mail immediate: nothing during them, the notice once they end.
    let now = app.clock.now();
    let start = format!("{:02}:00", now.hour());
    let end = format!("{:02}:00", (now.hour() + 2) % 24);
    let (status, body) = fee
        .send(
            reqwest::Method::PATCH,
            "/api/v1/me/notifications",
            Some(json!({
                "quiet_hours": { "start": start, "end": end },
                "preferences": [{ "kind": "message", "channel": "email", "frequency": "immediate" }],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    client
        .send(app.firm.matter_a1, "at night")
        .await
        .expect("sent");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(
        to_fee(&sink).len(),
        1,
        "quiet hours hold it back: {:?}",
        to_fee(&sink)
    );
    app.clock.advance(time::Duration::hours(2));
    for _ in 0..100 {
        if to_fee(&sink).len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mails = to_fee(&sink);
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(
        mails[1]["subject"],
        "New message on A-1 \u{2014} Matter A-1"
    );
}

#[tokio::test]
async fn a_new_device_is_pushed_to_the_owners_other_devices() {
    let push = PushService::start().await;
    let app = app_pushing_to(&push, 100).await;
    let first = app.bearer(&app.firm.gc).await;
    let keys = enable_push(&first, &push, "/gc").await;
    let _second = app.bearer(&app.firm.gc).await;
    let opened = pushes(&push, &keys, "/gc", "security", 1).await;
    let body = opened[0]["payload"]["body"].as_str().expect("body");
    assert!(
        body.starts_with("New sign-in to your account from"),
        "{body}"
    );
    let request = push.to("/gc").into_iter().last().expect("request");
    assert_eq!(request.headers["urgency"], "high");
}

#[tokio::test]
async fn an_unanswered_client_escalates_to_the_fee_earner_then_the_supervising_partner_on_a_moved_clock(
) {
    let app = spawn_app_with(|c| {
        c.notify.tick_ms = 100;
        c.notify.hold_ms = 100;
        c.outbox.poll_ms = 50;
        c.notify.firm_time_zone = "UTC".into();
    })
    .await;
    let partner = app.bearer(&app.firm.partner).await;
    let area: Uuid = sqlx::query_scalar("select practice_area_id from matter where matter_id = $1")
        .bind(app.firm.matter_a1.0)
        .fetch_one(&app.owner)
        .await
        .expect("area");
    let fee = app.bearer(&app.firm.fee_earner).await;
    let (status, _) = fee
        .put(
            &format!("/api/v1/practice-areas/{area}/notifications"),
            json!({ "escalation_working_hours": 30 }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a fee earner does not set the firm's escalation"
    );
    let (status, body) = partner
        .put(
            &format!("/api/v1/practice-areas/{area}/notifications"),
            json!({ "escalation_working_hours": 30, "defaults": [
                { "audience": "client", "kind": "document", "channel": "email", "frequency": "digest" }
            ] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["escalation_working_hours"], 30);
    sqlx::query("update matter set supervising_partner_id = $2 where matter_id = $1")
        .bind(app.firm.matter_a1.0)
        .bind(app.firm.partner.user_id.0)
        .execute(&app.owner)
        .await
        .expect("supervisor");

    let client = client_on_a1(&app).await;
    client
        .send(app.firm.matter_a1, "Any news?")
        .await
        .expect("sent");
    let mut waiting = Value::Null;
    for _ in 0..100 {
        let (_, matter) = fee
            .get(&format!("/api/v1/matters/{}", app.firm.matter_a1))
            .await;
        waiting = matter["awaiting_reply"].clone();
        if !waiting.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(waiting["escalation_level"], 0, "{waiting}");
    let (_, as_client) = app
        .bearer(&app.firm.dept_head)
        .await
        .get(&format!("/api/v1/matters/{}", app.firm.matter_a1))
        .await;
    assert!(
        as_client.get("awaiting_reply").is_none(),
        "the firm's view only: {as_client}"
    );

    let escalations = |app: &TestApp, user: Uuid| {
        let pool = app.owner.clone();
        async move {
            sqlx::query_scalar::<_, Value>(
                "select body from user_alert where user_id = $1 and kind = 'escalation' order by created_at",
            )
            .bind(user)
            .fetch_all(&pool)
            .await
            .expect("alerts")
        }
    };
    // A week holds 42.5 working hours: past 30, short of 60.
    app.clock.advance(time::Duration::days(7));
    let mut fee_alerts = Vec::new();
    for _ in 0..100 {
        fee_alerts = escalations(&app, app.firm.fee_earner.user_id.0).await;
        if !fee_alerts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fee_alerts.len(), 1, "{fee_alerts:?}");
    assert_eq!(fee_alerts[0]["level"], 1);
    assert_eq!(fee_alerts[0]["reference"], "A-1");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(escalations(&app, app.firm.partner.user_id.0)
        .await
        .is_empty());

    app.clock.advance(time::Duration::days(7));
    let mut partner_alerts = Vec::new();
    for _ in 0..100 {
        partner_alerts = escalations(&app, app.firm.partner.user_id.0).await;
        if !partner_alerts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(partner_alerts.len(), 1);
    assert_eq!(partner_alerts[0]["level"], 2);
    // Two weeks passed: sessions timed out.
    let fee = app.bearer(&app.firm.fee_earner).await;
    let (_, matter) = fee
        .get(&format!("/api/v1/matters/{}", app.firm.matter_a1))
        .await;
    assert_eq!(matter["awaiting_reply"]["escalation_level"], 2);

    // The firm answers: the wait ends.
    let (_, fee_channel) = app.sdk(&app.firm.fee_earner).await;
    fee_channel
        .send(app.firm.matter_a1, "On it")
        .await
        .expect("sent");
    for _ in 0..100 {
        let (_, matter) = fee
            .get(&format!("/api/v1/matters/{}", app.firm.matter_a1))
            .await;
        if matter.get("awaiting_reply").is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the firm's answer did not end the wait");
}

/// Raises `count` security notices for the gc (they never fold: one push each).
async fn security_notices(app: &TestApp, count: usize) {
    let mut tx = docket_server::db::channel_transaction(&app.runtime)
        .await
        .expect("tx");
    for i in 0..count {
        let detail = Detail {
            event: Some("new_device".into()),
            device_label: Some(format!("Browser {i}")),
            ..Detail::default()
        };
        notify::raise_security(&mut tx, app.firm.gc.user_id, detail, None)
            .await
            .expect("raised");
    }
    tx.commit().await.expect("commit");
}

fn routed(app: &TestApp) -> Arc<Routed> {
    Arc::new(Routed {
        live: Arc::new(app.state.channels.hub.clone()),
        mailer: app.mailer.clone(),
        notifier: app.state.channels.notifier.clone(),
    })
}

fn topics(requests: &[Recorded]) -> Vec<String> {
    requests
        .iter()
        .map(|r| r.headers["topic"].to_str().expect("topic").to_owned())
        .collect()
}

/// An app whose own dispatchers look only after an hour (the test's do the work), the gc pushed to
/// at `path`, and `count` security notices for the gc waiting.
async fn notices_waiting(push: &PushService, path: &str, count: usize) -> (TestApp, Arc<Routed>) {
    let allowed = push.allowed();
    let app = spawn_app_with(move |c| {
        c.notify.push_services = vec![allowed];
        c.outbox.poll_ms = 3_600_000;
    })
    .await;
    let gc = app.bearer(&app.firm.gc).await;
    enable_push(&gc, push, path).await;
    security_notices(&app, count).await;
    let deliver = routed(&app);
    (app, deliver)
}

async fn pending_notifications(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from notification where state = 'pending'")
        .fetch_one(&app.owner)
        .await
        .expect("count")
}

#[tokio::test]
async fn two_dispatchers_never_push_one_notification_twice() {
    let push = PushService::start().await;
    let (app, deliver) = notices_waiting(&push, "/gc", 60).await;
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (pool, settings, deliver) = (
                app.runtime.clone(),
                app.config.outbox.clone(),
                deliver.clone(),
            );
            tokio::spawn(async move {
                while dispatcher::dispatch_once(&pool, &*deliver, &settings)
                    .await
                    .expect("dispatch")
                    > 0
                {}
            })
        })
        .collect();
    for run in runs {
        run.await.expect("dispatcher");
    }
    let mut seen = topics(&push.to("/gc"));
    let total = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), total, "no notification pushed twice");
    assert!(total >= 60, "every notification pushed: {total}");
}

#[tokio::test]
async fn a_dispatcher_killed_mid_batch_loses_nothing() {
    let push = PushService::start().await;
    // The push service answers slowly at first: the dispatcher is killed while it waits.
    let (app, deliver) = notices_waiting(&push, "/slow/gc", 20).await;
    let (pool, settings) = (app.runtime.clone(), app.config.outbox.clone());
    let doomed = {
        let (pool, settings, deliver) = (pool.clone(), settings.clone(), deliver.clone());
        tokio::spawn(async move { dispatcher::dispatch_once(&pool, &*deliver, &settings).await })
    };
    push.wait_for("/slow/gc", 1).await;
    doomed.abort();
    let _ = doomed.await;
    // Nothing it did counts: every notification is still pending.
    let pending = pending_notifications(&app).await;
    assert!(pending >= 20, "{pending}");
    // Another node's dispatcher delivers them all (the push service is quick again).
    push.set_slow(false);
    let mut pending = i64::MAX;
    for _ in 0..100 {
        dispatcher::dispatch_once(&pool, &*deliver, &settings)
            .await
            .expect("dispatch");
        pending = pending_notifications(&app).await;
        if pending == 0 {
            break;
        }
        // The killed transaction's locks go with its rollback.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pending, 0);
    let mut seen = topics(&push.to("/slow/gc"));
    seen.sort();
    seen.dedup();
    assert!(
        seen.len() >= 20,
        "every notification reached the endpoint: {}",
        seen.len()
    );
}

/// The kinds of the in-app notices `user` has, oldest first.
async fn notices_of(app: &TestApp, user: Uuid) -> Vec<String> {
    sqlx::query_scalar::<_, String>(
        "select body ->> 'notice' from user_alert where user_id = $1 and kind = 'notice' order by created_at",
    )
    .bind(user)
    .fetch_all(&app.owner)
    .await
    .expect("alerts")
}

#[tokio::test]
async fn reviews_published_documents_needed_actions_and_invoices_tell_exactly_who_must_act() {
    let app = spawn_app_with(|c| {
        c.notify.hold_ms = 100;
        c.outbox.poll_ms = 50;
    })
    .await;
    let f = app.firm.clone();
    // A partner submits a version: the responsible fee earner must review it.
    let partner = app.bearer(&f.partner).await;
    let (status, doc) = crate::helpers::upload_pdf(&partner, f.matter_a1, "contracts").await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    let id = doc["document_id"].as_str().expect("id").to_owned();
    let (status, _) = partner
        .post(
            &format!("/api/v1/documents/{id}/versions/1/submit"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The fee earner publishes it: the client's users who see documents on A-1 are told.
    let fee = app.bearer(&f.fee_earner).await;
    let (status, _) = fee
        .post(
            &format!("/api/v1/documents/{id}/versions/1/publish"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The current step asks something of the client; a step months away does not notify.
    let (_, t) = crate::milestones::timeline(&fee, f.matter_a1).await;
    let steps: Vec<String> = t["milestones"]
        .as_array()
        .expect("milestones")
        .iter()
        .map(|m| m["milestone_id"].as_str().expect("id").to_owned())
        .collect();
    let (status, body) = crate::milestones::patch(
        &fee,
        f.matter_a1,
        steps.last().expect("last"),
        json!({ "client_action": "Arrange the deposit" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    settled(&app).await;
    assert!(notices_of(&app, f.gc.user_id.0)
        .await
        .iter()
        .all(|n| n != "client_action"));
    let (status, body) = crate::milestones::patch(
        &fee,
        f.matter_a1,
        &steps[0],
        json!({ "client_action": "Send us your ID" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The billing system issues an invoice: those who see invoices are told.
    let (_, token) = app
        .service_account(
            "Billing system",
            &[docket_protocol::integrations::ServiceScope::Billing],
        )
        .await;
    let (status, body) = crate::billing::issue(
        &app.service(&token),
        "INV-N-1",
        crate::billing::bill(f.matter_a1, 50_000),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    settled(&app).await;

    let fee_notices = notices_of(&app, f.fee_earner.user_id.0).await;
    assert_eq!(
        fee_notices,
        vec!["review"],
        "the reviewer, and nothing of their own doing"
    );
    assert!(
        notices_of(&app, f.partner.user_id.0).await.is_empty(),
        "never the author"
    );
    let mut gc = notices_of(&app, f.gc.user_id.0).await;
    gc.sort();

    assert_eq!(gc, vec!["client_action", "document", "invoice"]);
    let mut dept = notices_of(&app, f.dept_head.user_id.0).await;
    dept.sort();
    assert_eq!(
        dept,
        vec!["document"],
        "no milestones or invoices scope on A-1: {dept:?}"
    );
    assert_eq!(notices_of(&app, f.finance.user_id.0).await, vec!["invoice"]);
    assert!(
        notices_of(&app, f.private_client.user_id.0)
            .await
            .is_empty(),
        "another client"
    );
}

#[tokio::test]
async fn an_invoice_past_its_due_date_tells_those_who_see_invoices_once() {
    let app = spawn_app_with(|c| {
        c.notify.hold_ms = 100;
        c.notify.interval_ms = 100;
        c.notify.tick_ms = 100;
        c.outbox.poll_ms = 50;
    })
    .await;
    let f = app.firm.clone();
    let (_, token) = app
        .service_account(
            "Billing system",
            &[docket_protocol::integrations::ServiceScope::Billing],
        )
        .await;
    let mut bill = crate::billing::bill(f.matter_a1, 50_000);
    let due = app.clock.now().date() + time::Duration::days(3);
    bill["issued_on"] = json!((due - time::Duration::days(30)).to_string());
    bill["due_on"] = json!(due.to_string());
    let (status, body) = crate::billing::issue(&app.service(&token), "INV-O-1", bill).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    settled(&app).await;
    let invoice_notices = |user: Uuid| {
        let pool = app.owner.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from notification where user_id = $1 and kind = 'invoice'
                   and detail ->> 'overdue' = 'true'",
            )
            .bind(user)
            .fetch_one(&pool)
            .await
            .expect("count")
        }
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(invoice_notices(f.gc.user_id.0).await, 0, "not due yet");

    app.clock.advance(time::Duration::days(5));
    for _ in 0..100 {
        if invoice_notices(f.finance.user_id.0).await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A few more ticks change nothing: once.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(invoice_notices(f.gc.user_id.0).await, 1);
    assert_eq!(invoice_notices(f.finance.user_id.0).await, 1);
    assert_eq!(
        invoice_notices(f.dept_head.user_id.0).await,
        0,
        "no invoices scope"
    );
    settled(&app).await;
    let text: String = sqlx::query_scalar(
        "select body ->> 'notice' from user_alert where user_id = $1 and kind = 'notice' order by created_at desc limit 1",
    )
    .bind(f.finance.user_id.0)
    .fetch_one(&app.owner)
    .await
    .expect("alert");
    assert_eq!(text, "invoice");

    // A month on, the notifications themselves are forgotten; the alerts stay the record.
    let alerts_before: i64 = sqlx::query_scalar("select count(*) from user_alert")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    app.clock.advance(time::Duration::days(31));
    let mut left = i64::MAX;
    for _ in 0..100 {
        left = sqlx::query_scalar("select count(*) from notification")
            .fetch_one(&app.owner)
            .await
            .expect("count");
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "settled notifications are forgotten after a month");
    let alerts_after: i64 = sqlx::query_scalar("select count(*) from user_alert")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(alerts_after, alerts_before);
}
