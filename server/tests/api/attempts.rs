//! Every credential has a limit that no success of another kind resets: second-factor codes are
//! counted per account across sessions and per address, a correct password does not clear them,
//! parallel guesses are counted one by one, and the owner is alerted when the lock trips.

use docket_server::auth::totp;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{code, spawn_app, Client, TestApp, PASSWORD};

/// A fresh password step for `email` in a new browser.
async fn password_step(app: &TestApp, email: &str) -> Client {
    let mut client = app.browser();
    client.sign_in(email, PASSWORD).await;
    client
}

async fn wrong_code(client: &Client) -> (StatusCode, String) {
    let (status, body) = client
        .post("/api/v1/auth/mfa/verify", json!({ "code": "000000" }))
        .await;
    (status, code(&body).to_owned())
}

#[tokio::test]
async fn a_correct_password_does_not_reset_second_factor_failures() {
    let app = spawn_app().await;
    let user = &app.firm.finance;
    // Four wrong codes, then the right password again (a new session), then more wrong codes:
    // the count carries over, so the sixth wrong code overall is refused unchecked.
    let first = password_step(&app, &user.email).await;
    for _ in 0..4 {
        assert_eq!(
            wrong_code(&first).await,
            (StatusCode::UNAUTHORIZED, "invalid_mfa_code".into())
        );
    }
    let second = password_step(&app, &user.email).await;
    assert_eq!(
        wrong_code(&second).await,
        (StatusCode::UNAUTHORIZED, "invalid_mfa_code".into())
    );
    assert_eq!(
        wrong_code(&second).await,
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())
    );
    // A third password step does not help either, and even the right code waits out the lock.
    let third = password_step(&app, &user.email).await;
    let (status, body) = third
        .post(
            "/api/v1/auth/mfa/verify",
            json!({ "code": app.fresh_code(&user.totp_secret) }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );

    // The owner is told, once the lock has passed and they sign in: their password is known.
    app.clock.advance(time::Duration::minutes(2));
    let owner = app.signed_in(user).await;
    let (status, alerts) = owner.get("/api/v1/me/alerts").await;
    assert_eq!(status, StatusCode::OK);
    let locked: Vec<_> = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["detail"]["kind"] == "mfa_locked")
        .collect();
    assert_eq!(locked.len(), 1, "{alerts}");
    assert_eq!(locked[0]["detail"]["source_ip"], "127.0.0.1");
}

#[tokio::test]
async fn a_completed_second_factor_clears_only_its_own_account() {
    let app = spawn_app().await;
    let (a, b) = (&app.firm.finance, &app.firm.gc);
    let guesser = password_step(&app, &a.email).await;
    for _ in 0..4 {
        wrong_code(&guesser).await;
    }
    // Another account's successful sign-in from the same address changes nothing for `a`.
    app.signed_in(b).await;
    wrong_code(&guesser).await;
    assert_eq!(
        wrong_code(&guesser).await,
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())
    );
}

#[tokio::test]
async fn parallel_guesses_get_no_more_tries_than_sequential_ones() {
    let app = spawn_app().await;
    let user = &app.firm.dept_head;
    let sessions = [
        password_step(&app, &user.email).await,
        password_step(&app, &user.email).await,
        password_step(&app, &user.email).await,
    ];
    let guesses = sessions
        .iter()
        .flat_map(|s| (0..4).map(move |_| wrong_code(s)));
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(checked, 5, "exactly the limit is checked: {answers:?}");
    assert_eq!(answers.len() - checked, 7);
}

#[tokio::test]
async fn second_factor_failures_count_per_address_across_accounts() {
    let app = spawn_app().await;
    let f = &app.firm;
    // Four wrong codes on each of five accounts (under every account's own limit) reach the
    // address limit of twenty: the next attempt from the address is refused, on any account.
    for user in [
        &f.gc,
        &f.finance,
        &f.dept_head,
        &f.private_client,
        &f.fee_earner,
    ] {
        let client = password_step(&app, &user.email).await;
        for _ in 0..4 {
            assert_eq!(wrong_code(&client).await.0, StatusCode::UNAUTHORIZED);
        }
    }
    let (status, body) = app
        .browser()
        .post(
            "/api/v1/auth/sign-in",
            json!({ "email": f.partner.email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
}

#[tokio::test]
async fn re_authentication_has_its_own_limit_that_signing_in_does_not_reset() {
    let app = spawn_app().await;
    let user = &app.firm.gc;
    let session = app.signed_in(user).await;
    let attempt = |password: &'static str| {
        let code = totp::code_for_step(&user.totp_secret, totp::step_at(app.clock.now()) + 3);
        let session = &session;
        async move {
            let (status, body) = session
                .post(
                    "/api/v1/auth/reauthenticate",
                    json!({ "password": password, "code": code }),
                )
                .await;
            (status, code_of(&body))
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong password").await.0, StatusCode::UNAUTHORIZED);
    }
    // A full sign-in (password and code) elsewhere does not lift the re-authentication lock.
    app.signed_in(user).await;
    assert_eq!(
        attempt(PASSWORD).await,
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())
    );
}

#[tokio::test]
async fn failed_invitation_tokens_count_against_the_address() {
    let app = spawn_app().await;
    let client = app.browser();
    let accept = |token: String| {
        let client = &client;
        async move {
            let (status, body) = client
                .post(
                    "/api/v1/invitations/accept",
                    json!({ "token": token, "password": "a long enough password" }),
                )
                .await;
            (status, code_of(&body))
        }
    };
    for i in 0..20 {
        assert_eq!(
            accept(format!("guess-{i}")).await,
            (StatusCode::GONE, "invitation_invalid".into())
        );
    }
    assert_eq!(
        accept("guess-21".into()).await,
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into())
    );
}

fn code_of(body: &serde_json::Value) -> String {
    code(body).to_owned()
}
