//! The HTTP surface: health, OpenAPI, and bad input answered with stable codes and no side effects.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{code, spawn_app};

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let response = http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn openapi_3_1_is_served_and_lists_the_api() {
    let app = spawn_app().await;
    let (status, spec) = app.browser().get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(spec["openapi"]
        .as_str()
        .expect("version")
        .starts_with("3.1"));
    for path in [
        "/api/v1/auth/sign-in",
        "/api/v1/auth/mfa/verify",
        "/api/v1/matters/{matter_id}",
        "/api/v1/matters/{matter_id}/audit",
        "/api/v1/me/sessions",
        "/api/v1/matters/{matter_id}/documents",
        "/api/v1/documents/{document_id}/versions/{number}/content",
        "/api/v1/documents/{document_id}/versions/{number}/publish",
        "/api/v1/matters/{matter_id}/dms/{external_id}/versions/{external_version}",
        "/api/v1/documents/review-queue",
    ] {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from the spec"
        );
    }
    assert!(spec["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("codes")
        .contains(&json!("not_found")));
}

#[tokio::test]
async fn malformed_json_is_400_with_a_code() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/sign-in", app.base))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(code(&body), "malformed_json");

    let (status, body) = app
        .browser()
        .post("/api/v1/auth/sign-in", json!({ "email": 42 }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );
}

#[tokio::test]
async fn oversized_bodies_are_413_and_nothing_is_written() {
    let app = spawn_app().await;
    let before: i64 = sqlx::query_scalar("select count(*) from audit_event")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    let huge = "x".repeat(200 * 1024);
    let (status, body) = app
        .browser()
        .post(
            "/api/v1/auth/sign-in",
            json!({ "email": "a@b.test", "password": huge }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let after: i64 = sqlx::query_scalar("select count(*) from audit_event")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(before, after);
}

#[tokio::test]
async fn unknown_routes_and_missing_sessions_answer_with_codes() {
    let app = spawn_app().await;
    let client = app.browser();
    let (status, body) = client.get("/api/v1/no-such-thing").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = client.get("/api/v1/matters").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
}

#[tokio::test]
async fn a_failed_request_leaves_nothing_half_written() {
    let app = spawn_app().await;
    let partner = app.signed_in(&app.firm.partner).await;
    let users_before: i64 = sqlx::query_scalar("select count(*) from user_account")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    // The e-mail is taken: the insert fails, and so must the invitation and audit row around it.
    let (status, body) = partner
        .post(
            &format!("/api/v1/clients/{}/users", app.firm.client_a),
            json!({ "email": app.firm.gc.email, "display_name": "Dup", "role": "member" }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "conflict"));
    let users_after: i64 = sqlx::query_scalar("select count(*) from user_account")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(users_before, users_after);
    assert!(
        app.mailer.sent().iter().all(|m| m.to != app.firm.gc.email),
        "no e-mail for a failed invitation"
    );
}
