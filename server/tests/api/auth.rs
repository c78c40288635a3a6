//! Sign-in with mandatory MFA: invitation, enrolment, verification, replay, recovery codes,
//! throttling and uniform errors.

use docket_protocol::auth::{MfaEnrolled, SessionStage};
use docket_server::auth::totp;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{code, spawn_app, PASSWORD};

#[tokio::test]
async fn invited_client_user_sets_password_enrols_totp_and_signs_in() {
    let app = spawn_app().await;
    let fee_earner = app.signed_in(&app.firm.fee_earner).await;

    // A firm user invites a client user by e-mail.
    let (status, body) = fee_earner
        .post(
            &format!("/api/v1/clients/{}/users", app.firm.client_a),
            json!({ "email": "New.Person@Client-A.test", "display_name": "New Person", "role": "member" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = app.invitation_token("new.person@client-a.test");

    // The invitee sets a password; a too-short one is refused and leaves the link usable.
    let mut invitee = app.browser();
    let (status, body) = invitee
        .post(
            "/api/v1/invitations/accept",
            json!({ "token": token, "password": "short" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );
    let new_password = "a long and private passphrase";
    let (status, body) = invitee
        .post(
            "/api/v1/invitations/accept",
            json!({ "token": token, "password": new_password }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = invitee
        .post(
            "/api/v1/invitations/accept",
            json!({ "token": token, "password": new_password }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::GONE, "invitation_invalid"),
        "the link works once"
    );

    // First sign-in: enrolment is required before anything else.
    let grant = invitee
        .sign_in("new.person@client-a.test", new_password)
        .await;
    assert_eq!(grant.stage, SessionStage::MfaEnrolmentRequired);
    let (status, body) = invitee.get("/api/v1/matters").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "mfa_required")
    );
    let (status, body) = invitee.post("/api/v1/auth/mfa/enrolment", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["otpauth_uri"]
        .as_str()
        .expect("uri")
        .starts_with("otpauth://totp/"));
    let secret = data_encoding::BASE32_NOPAD
        .decode(body["secret"].as_str().expect("secret").as_bytes())
        .expect("base32");

    let (status, body) = invitee
        .post(
            "/api/v1/auth/mfa/enrolment/confirm",
            json!({ "code": "000000" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_mfa_code")
    );
    let (status, body) = invitee
        .post(
            "/api/v1/auth/mfa/enrolment/confirm",
            json!({ "code": app.fresh_code(&secret) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let enrolled: MfaEnrolled = serde_json::from_value(body).expect("enrolled");
    assert_eq!(enrolled.recovery_codes.len(), 10);
    assert_eq!(enrolled.session.stage, SessionStage::Active);
    invitee.csrf = enrolled.session.csrf_token.clone();
    let (status, body) = invitee.get("/api/v1/auth/session").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stage"], "active");
    assert_eq!(body["user"]["email"], "new.person@client-a.test");

    // The recovery codes are never shown again, and work once each.
    let mut again = app.browser();
    again
        .sign_in("new.person@client-a.test", new_password)
        .await;
    let recovery = &enrolled.recovery_codes[0];
    let (status, body) = again
        .post(
            "/api/v1/auth/mfa/verify",
            json!({ "recovery_code": recovery.to_uppercase() }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut third = app.browser();
    third
        .sign_in("new.person@client-a.test", new_password)
        .await;
    let (status, body) = third
        .post(
            "/api/v1/auth/mfa/verify",
            json!({ "recovery_code": recovery }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_mfa_code"),
        "a recovery code is single-use"
    );

    let audit: Vec<String> = sqlx::query_scalar("select action from audit_event order by seq")
        .fetch_all(&app.owner)
        .await
        .expect("audit");
    for action in [
        "access.user.invited",
        "auth.invitation.accepted",
        "auth.mfa.enrolled",
        "auth.mfa.recovery_code_used",
        "auth.mfa.failed",
    ] {
        assert!(
            audit.iter().any(|a| a == action),
            "missing audit action {action}"
        );
    }
}

#[tokio::test]
async fn a_used_totp_code_cannot_be_replayed() {
    let app = spawn_app().await;
    let user = &app.firm.gc;
    let code_now = app.fresh_code(&user.totp_secret);
    let mut first = app.browser();
    first.sign_in(&user.email, PASSWORD).await;
    let (status, _) = first
        .post("/api/v1/auth/mfa/verify", json!({ "code": code_now }))
        .await;
    assert_eq!(status, StatusCode::OK);

    // The same code, seconds later, from another browser: refused.
    let mut second = app.browser();
    second.sign_in(&user.email, PASSWORD).await;
    let (status, body) = second
        .post("/api/v1/auth/mfa/verify", json!({ "code": code_now }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_mfa_code")
    );
    // Even the previous step's code (inside the drift window) is now refused.
    let previous = totp::code_for_step(&user.totp_secret, totp::step_at(app.clock.now()) - 1);
    let (status, _) = second
        .post("/api/v1/auth/mfa/verify", json!({ "code": previous }))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The next step's code is fine.
    let (status, _) = second
        .post(
            "/api/v1/auth/mfa/verify",
            json!({ "code": app.fresh_code(&user.totp_secret) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_and_unknown_account_are_indistinguishable() {
    let app = spawn_app().await;
    let client = app.browser();
    let (s1, wrong) = client
        .post(
            "/api/v1/auth/sign-in",
            json!({ "email": app.firm.gc.email, "password": "not the password" }),
        )
        .await;
    let (s2, unknown) = client
        .post(
            "/api/v1/auth/sign-in",
            json!({ "email": "nobody@nowhere.test", "password": "not the password" }),
        )
        .await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(wrong, unknown);
    assert_eq!(code(&wrong), "invalid_credentials");
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_account_with_back_off() {
    let app = spawn_app().await;
    let client = app.browser();
    let attempt = |password: &'static str| {
        client.post(
            "/api/v1/auth/sign-in",
            json!({ "email": app.firm.gc.email, "password": password }),
        )
    };
    for _ in 0..5 {
        let (status, _) = attempt("wrong password!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password is refused, without being checked.
    let response = client
        .raw()
        .post(format!("{}/api/v1/auth/sign-in", app.base))
        .json(&json!({ "email": app.firm.gc.email, "password": PASSWORD }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: i64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(code(&body), "rate_limited");

    // After the lock, one more failure doubles it.
    app.clock.advance(time::Duration::seconds(31));
    assert_eq!(attempt("wrong again!!").await.0, StatusCode::UNAUTHORIZED);
    app.clock.advance(time::Duration::seconds(31));
    assert_eq!(
        attempt(PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "second lock is a minute"
    );
    app.clock.advance(time::Duration::seconds(30));
    assert_eq!(attempt(PASSWORD).await.0, StatusCode::OK);

    // An address that does not exist is throttled the same way, so locking reveals nothing.
    for _ in 0..5 {
        client
            .post(
                "/api/v1/auth/sign-in",
                json!({ "email": "ghost@nowhere.test", "password": "whatever it is" }),
            )
            .await;
    }
    let (status, _) = client
        .post(
            "/api/v1/auth/sign-in",
            json!({ "email": "ghost@nowhere.test", "password": "whatever it is" }),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn failed_mfa_codes_are_throttled() {
    let app = spawn_app().await;
    let mut client = app.browser();
    client.sign_in(&app.firm.finance.email, PASSWORD).await;
    for _ in 0..5 {
        let (status, _) = client
            .post("/api/v1/auth/mfa/verify", json!({ "code": "123456" }))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Even a right code is refused while the lock lasts (the next step's code: no time passes).
    let right = totp::code_for_step(
        &app.firm.finance.totp_secret,
        totp::step_at(app.clock.now()) + 1,
    );
    let (status, body) = client
        .post("/api/v1/auth/mfa/verify", json!({ "code": right }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
}

#[tokio::test]
async fn mfa_reset_needs_recent_reauthentication() {
    let app = spawn_app().await;
    let user = &app.firm.dept_head;
    let mut client = app.signed_in(user).await;
    let other = app.signed_in(user).await;
    let (status, body) = client.post("/api/v1/me/mfa/reset", json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "reauthentication_required")
    );

    let (status, _) = client
        .post(
            "/api/v1/auth/reauthenticate",
            json!({ "password": "wrong password", "code": app.fresh_code(&user.totp_secret) }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = client
        .post(
            "/api/v1/auth/reauthenticate",
            json!({ "password": PASSWORD, "code": app.fresh_code(&user.totp_secret) }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = client.post("/api/v1/me/mfa/reset", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stage"], "mfa_enrolment_required");
    client.csrf = body["csrf_token"].as_str().map(str::to_owned);

    // Other sessions are signed out; this one must enrol again before doing anything.
    assert_eq!(
        code(&other.get("/api/v1/matters").await.1),
        "unauthenticated"
    );
    assert_eq!(code(&client.get("/api/v1/matters").await.1), "mfa_required");
    let (status, _) = client.post("/api/v1/auth/mfa/enrolment", json!({})).await;
    assert_eq!(status, StatusCode::OK);
}
