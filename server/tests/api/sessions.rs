//! Sessions and devices: timeouts enforced by the server (time moved, never slept), token rotation,
//! CSRF, new-device alerts, listing and revoking.

use reqwest::StatusCode;
use serde_json::json;
use time::Duration;

use crate::helpers::{code, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn idle_sessions_end_after_the_idle_timeout() {
    let app = spawn_app().await;
    let client = app.signed_in(&app.firm.gc).await;
    // Activity keeps the session alive well past one idle period...
    for _ in 0..3 {
        app.clock.advance(Duration::minutes(14));
        assert_eq!(client.get("/api/v1/matters").await.0, StatusCode::OK);
    }
    // ...but fifteen quiet minutes end it, for good.
    app.clock.advance(Duration::minutes(15));
    let (status, body) = client.get("/api/v1/matters").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "session_expired")
    );
    assert_eq!(
        code(&client.get("/api/v1/matters").await.1),
        "unauthenticated"
    );
    let reason: String = sqlx::query_scalar(
        "select revoked_reason from session where user_id = $1 and revoked_at is not null",
    )
    .bind(app.firm.gc.user_id.0)
    .fetch_one(&app.owner)
    .await
    .expect("revoked session");
    assert_eq!(reason, "idle_timeout");
}

#[tokio::test]
async fn the_idle_timeout_is_configurable() {
    let app = spawn_app_with(|c| c.idle_timeout = Duration::minutes(5)).await;
    let client = app.signed_in(&app.firm.gc).await;
    app.clock.advance(Duration::minutes(5));
    assert_eq!(
        code(&client.get("/api/v1/matters").await.1),
        "session_expired"
    );
}

#[tokio::test]
async fn sessions_end_at_their_absolute_lifetime_however_active() {
    let app = spawn_app().await;
    let client = app.signed_in(&app.firm.partner).await;
    let (_, session) = client.get("/api/v1/auth/session").await;
    let expires_at = time::OffsetDateTime::parse(
        session["expires_at"].as_str().expect("time"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc3339");
    let hours = (expires_at - app.clock.now()).whole_minutes();
    assert!((11 * 60..=12 * 60).contains(&hours), "{hours} minutes left");
    for _ in 0..(12 * 60 / 10) {
        app.clock.advance(Duration::minutes(10));
        if app.clock.now() >= expires_at {
            break;
        }
        assert_eq!(client.get("/api/v1/matters").await.0, StatusCode::OK);
    }
    assert_eq!(
        code(&client.get("/api/v1/matters").await.1),
        "session_expired"
    );
}

#[tokio::test]
async fn password_only_sessions_expire_quickly_and_tokens_rotate_after_mfa() {
    let app = spawn_app().await;
    let user = &app.firm.gc;
    // Bearer delivery shows the token, so rotation is visible.
    let client = app.browser();
    let (_, body) = client
        .post(
            "/api/v1/auth/sign-in",
            json!({ "email": user.email, "password": PASSWORD, "token_delivery": "bearer" }),
        )
        .await;
    let pre_mfa_token = body["token"].as_str().expect("token").to_owned();
    let mut sdk = app.browser();
    sdk.bearer = Some(pre_mfa_token.clone());
    let (status, body) = sdk
        .post(
            "/api/v1/auth/mfa/verify",
            json!({ "code": app.fresh_code(&user.totp_secret) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_token = body["token"].as_str().expect("token").to_owned();
    assert_ne!(new_token, pre_mfa_token);
    assert_eq!(
        code(&sdk.get("/api/v1/matters").await.1),
        "unauthenticated",
        "the pre-MFA token is dead"
    );
    sdk.bearer = Some(new_token);
    assert_eq!(sdk.get("/api/v1/matters").await.0, StatusCode::OK);

    // A session left at the password step lapses after ten minutes.
    let mut pending = app.browser();
    pending.sign_in(&user.email, PASSWORD).await;
    app.clock.advance(Duration::minutes(11));
    let (status, body) = pending
        .post(
            "/api/v1/auth/mfa/verify",
            json!({ "code": app.fresh_code(&user.totp_secret) }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "session_expired")
    );
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_on_unsafe_requests() {
    let app = spawn_app().await;
    let mut client = app.signed_in(&app.firm.fee_earner).await;
    let csrf = client.csrf.take();
    let path = format!(
        "/api/v1/matters/{}/grants/{}",
        app.firm.matter_a2, app.firm.dept_head.user_id
    );
    let (status, body) = client.put(&path, json!({ "scopes": ["documents"] })).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "csrf_failed")
    );
    client.csrf = Some("forged".into());
    assert_eq!(
        code(
            &client
                .put(&path, json!({ "scopes": ["documents"] }))
                .await
                .1
        ),
        "csrf_failed"
    );
    client.csrf = csrf;
    assert_eq!(
        client
            .put(&path, json!({ "scopes": ["documents"] }))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_new_device_raises_an_alert_and_an_audit_row() {
    let app = spawn_app().await;
    let user = &app.firm.dept_head;
    // First device: the account being set up, no alert. Same device again: still none.
    let mut laptop = app.browser();
    app.complete_sign_in(&mut laptop, user).await;
    app.complete_sign_in(&mut laptop, user).await;
    let (_, alerts) = laptop.get("/api/v1/me/alerts").await;
    assert_eq!(alerts.as_array().expect("list").len(), 0, "{alerts}");
    let (_, devices) = laptop.get("/api/v1/me/devices").await;
    assert_eq!(devices.as_array().expect("list").len(), 1);

    // A different browser (no device cookie): alert.
    let phone = app.signed_in(user).await;
    let (_, alerts) = phone.get("/api/v1/me/alerts").await;
    let alerts = alerts.as_array().expect("list");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["detail"]["kind"], "new_device");
    assert_eq!(alerts[0]["detail"]["source_ip"], "127.0.0.1");
    let registered: i64 = sqlx::query_scalar("select count(*) from audit_event where action = 'auth.device.registered' and actor_id = $1")
        .bind(user.user_id.0)
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(registered, 2);
}

#[tokio::test]
async fn users_list_and_revoke_their_sessions_and_devices() {
    let app = spawn_app().await;
    let user = &app.firm.private_client;
    let laptop = app.signed_in(user).await;
    let phone = app.signed_in(user).await;
    let (_, sessions) = laptop.get("/api/v1/me/sessions").await;
    let sessions = sessions.as_array().expect("list").clone();
    assert_eq!(sessions.len(), 2);
    let phone_session = sessions
        .iter()
        .find(|s| s["current"] == false)
        .expect("the other session");

    let (status, _) = laptop
        .delete(&format!(
            "/api/v1/me/sessions/{}",
            phone_session["session_id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        code(&phone.get("/api/v1/matters").await.1),
        "unauthenticated"
    );

    // Revoking a device ends every session on it, including the caller's own.
    let phone2 = app.signed_in(user).await;
    let (_, devices) = laptop.get("/api/v1/me/devices").await;
    let other_device = devices
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["current"] == false)
        .expect("phone")
        .clone();
    let (status, _) = laptop
        .delete(&format!(
            "/api/v1/me/devices/{}",
            other_device["device_id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        code(&phone2.get("/api/v1/matters").await.1),
        "unauthenticated"
    );
    assert_eq!(laptop.get("/api/v1/matters").await.0, StatusCode::OK);

    let actions: Vec<String> =
        sqlx::query_scalar("select action from audit_event where actor_id = $1")
            .bind(user.user_id.0)
            .fetch_all(&app.owner)
            .await
            .expect("audit");
    assert!(
        actions.contains(&"auth.session.revoked".to_owned())
            && actions.contains(&"auth.device.revoked".to_owned())
    );
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = spawn_app().await;
    let client = app.signed_in(&app.firm.finance).await;
    let (status, _) = client.post("/api/v1/auth/sign-out", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        code(&client.get("/api/v1/auth/session").await.1),
        "unauthenticated"
    );
}

#[tokio::test]
async fn bearer_clients_work_without_cookies_or_csrf() {
    let app = spawn_app().await;
    let sdk = app.bearer(&app.firm.fee_earner).await;
    let path = format!(
        "/api/v1/matters/{}/grants/{}",
        app.firm.matter_a2, app.firm.dept_head.user_id
    );
    let (status, body) = sdk.put(&path, json!({ "scopes": ["milestones"] })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn an_alert_is_marked_read_by_its_owner_only_and_dismissing_it_is_audited_not_silent() {
    let app = crate::helpers::spawn_app().await;
    let f = &app.firm;
    app.signed_in(&f.gc).await;
    let second = app.signed_in(&f.gc).await;
    let (_, alerts) = second.get("/api/v1/me/alerts").await;
    let alert = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["detail"]["kind"] == "new_device")
        .expect("the new-device alert")
        .clone();
    assert_eq!(alert["read"], false);
    let id = alert["alert_id"].as_str().expect("id");
    let path = format!("/api/v1/me/alerts/{id}/read");
    let other = app.bearer(&f.private_client).await;
    let (status, _) = other.post(&path, serde_json::json!({})).await;
    assert_eq!(
        status,
        reqwest::StatusCode::NOT_FOUND,
        "another user's alert"
    );
    let (status, body) = second.post(&path, serde_json::json!({})).await;
    assert_eq!(status, reqwest::StatusCode::NO_CONTENT, "{body}");
    let (_, alerts) = second.get("/api/v1/me/alerts").await;
    assert!(alerts
        .as_array()
        .expect("alerts")
        .iter()
        .any(|a| a["alert_id"] == id && a["read"] == true));
    let kinds: Vec<String> = sqlx::query_scalar(
        "select detail::jsonb ->> 'kind' from audit_event where action = 'auth.alert.read'",
    )
    .fetch_all(&app.owner)
    .await
    .expect("audit");
    assert_eq!(kinds, ["new_device"]);
    // The owner was told by e-mail all the same.
    let told = async {
        while !app
            .mailer
            .sent()
            .iter()
            .any(|m| m.to == f.gc.email && m.subject.starts_with("New sign-in"))
        {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), told)
        .await
        .expect("the e-mail went out");
}
