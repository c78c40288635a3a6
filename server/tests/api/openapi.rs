//! The OpenAPI document says what the server does: the refusals every JSON body, path id and
//! session can meet are listed on each operation, and what the spec calls valid the server takes.
//! (`make api-conformance` checks the same at scale with schemathesis against a demo.)

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{code, spawn_app, TestApp};

async fn spec(app: &TestApp) -> Value {
    let (status, spec) = app.browser().get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    spec
}

/// Every operation in the spec, as (method, path, operation).
fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            all.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    all
}

fn statuses(operation: &Value) -> Vec<&str> {
    operation["responses"]
        .as_object()
        .expect("responses")
        .keys()
        .map(String::as_str)
        .collect()
}

fn operation<'a>(spec: &'a Value, method: &str, path: &str) -> &'a Value {
    &spec["paths"][path][method.to_lowercase()]
}

#[tokio::test]
async fn every_operation_lists_the_refusals_its_extractors_can_give() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let public = [
        "/api/v1/auth/sign-in",
        "/api/v1/invitations/accept",
        "/api/v1/stripe/webhook",
    ];
    for (method, path, op) in operations(&spec) {
        let listed = statuses(&op);
        let json_body = op["requestBody"]["content"]
            .get("application/json")
            .is_some();
        if json_body {
            for status in ["400", "413", "415", "422"] {
                assert!(listed.contains(&status), "{method} {path}: no {status}");
            }
        }
        if path.contains('{') {
            assert!(listed.contains(&"404"), "{method} {path}: no 404");
        }
        for parameter in op["parameters"].as_array().into_iter().flatten() {
            let name = parameter["name"].as_str().expect("a name");
            let in_path = path.contains(&format!("{{{name}}}"));
            assert_eq!(
                parameter["in"] == "path",
                in_path,
                "{method} {path}: parameter {name} is in the {}",
                parameter["in"]
            );
        }
        if public.contains(&path.as_str()) {
            assert_eq!(op["security"], json!([{}]), "{method} {path} is public");
            let unauthorized = op["responses"]["401"]["description"].as_str();
            assert!(
                !unauthorized.is_some_and(|d| d.contains("unauthenticated")),
                "{method} {path} needs no session"
            );
        } else {
            assert!(listed.contains(&"401"), "{method} {path}: no 401");
        }
        let service = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("service_token").is_some()));
        if service {
            let forbidden = &op["responses"]["403"]["description"];
            assert!(
                forbidden.as_str().is_some_and(|d| d.contains("forbidden")
                    && !d.contains("csrf_failed")
                    && !d.contains("mfa_required")),
                "{method} {path}: a service endpoint refuses people with forbidden: {forbidden}"
            );
        } else if method != "GET" && !public.contains(&path.as_str()) {
            let forbidden = &op["responses"]["403"]["description"];
            assert!(
                forbidden
                    .as_str()
                    .is_some_and(|d| d.contains("csrf_failed")),
                "{method} {path}: 403 csrf_failed missing"
            );
        }
    }
}

#[tokio::test]
async fn the_conflicts_and_refusals_found_by_fuzzing_are_listed() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    for (method, path, status) in [
        ("POST", "/api/v1/auth/mfa/verify", "409"),
        ("POST", "/api/v1/auth/mfa/enrolment/confirm", "409"),
        ("POST", "/api/v1/clients/{client_id}/users", "422"),
        ("POST", "/api/v1/clients/{client_id}/users", "403"),
        (
            "POST",
            "/api/v1/documents/{document_id}/versions/{number}/send-back",
            "422",
        ),
        ("PUT", "/api/v1/matters/{matter_id}/grants/{user_id}", "422"),
        ("POST", "/api/v1/matters/{matter_id}/documents", "403"),
    ] {
        let op = operation(&spec, method, path);
        assert!(
            statuses(op).contains(&status),
            "{method} {path}: no {status}"
        );
        let body = &op["responses"][status]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(body, "#/components/schemas/ErrorBody", "{method} {path}");
    }
}

#[tokio::test]
async fn upload_file_names_are_required_query_parameters() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    for (method, path) in [
        ("POST", "/api/v1/matters/{matter_id}/documents"),
        ("POST", "/api/v1/documents/{document_id}/versions"),
        (
            "PUT",
            "/api/v1/matters/{matter_id}/dms/{external_id}/versions/{external_version}",
        ),
    ] {
        let parameters = operation(&spec, method, path)["parameters"]
            .as_array()
            .expect("parameters");
        let filename = parameters
            .iter()
            .find(|p| p["name"] == "filename")
            .unwrap_or_else(|| panic!("{path}: no filename"));
        assert_eq!(filename["in"], "query", "{path}");
        assert_eq!(filename["required"], true, "{path}");
    }
    // And the server does refuse an upload without one.
    let fee_earner = app.signed_in(&app.firm.fee_earner).await;
    let response = fee_earner
        .raw()
        .post(format!(
            "{}/api/v1/matters/{}/documents?category=correspondence",
            app.base, app.firm.matter_a1
        ))
        .header("x-csrf-token", fee_earner.csrf.as_deref().expect("csrf"))
        .body("hello")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_milestone_position_is_what_the_spec_calls_an_integer() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let position = &spec["components"]["schemas"]["NewMilestoneRequest"]["properties"]["position"];
    assert!(
        position["type"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("integer"))),
        "{position}"
    );
    assert_eq!(position["minimum"], 1, "{position}");
    assert_eq!(position["maximum"], 2_147_483_647, "{position}");

    // JSON Schema counts 1.0 as an integer, so the server takes it as 1.
    let fee_earner = app.signed_in(&app.firm.fee_earner).await;
    let path = format!("/api/v1/matters/{}/milestones", app.firm.matter_a1);
    let (status, timeline) = fee_earner
        .post(&path, json!({ "title": "First of all", "position": 1.0 }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{timeline}");
    assert_eq!(timeline["milestones"][0]["title"], "First of all");
    // What the spec refuses, the server refuses.
    for refused in [json!(0), json!(1.5), json!(2_147_483_648_u64)] {
        let (status, body) = fee_earner
            .post(&path, json!({ "title": "Nowhere", "position": refused }))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{refused}: {body}"
        );
        assert_eq!(code(&body), "invalid_input");
    }
}

#[tokio::test]
async fn the_shared_refusals_are_what_the_server_answers() {
    let app = spawn_app().await;
    let spec = spec(&app).await;
    let partner = app.signed_in(&app.firm.partner).await;
    let csrf = partner.csrf.clone().expect("csrf");
    let create_client = |content_type: Option<&str>, body: &str, csrf: &str| {
        let mut request = partner
            .raw()
            .post(format!("{}/api/v1/clients", app.base))
            .header("x-csrf-token", csrf)
            .body(body.to_owned());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    let listed = statuses(operation(&spec, "POST", "/api/v1/clients"))
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    for (content_type, body, csrf, expected, expected_code) in [
        (
            Some("application/json"),
            "{\"kind\":",
            csrf.as_str(),
            400,
            "malformed_json",
        ),
        (None, "{}", csrf.as_str(), 415, "invalid_input"),
        (
            Some("application/json"),
            "{\"kind\": \"corporate\"}",
            csrf.as_str(),
            422,
            "invalid_input",
        ),
        // Well-formed JSON whose enum is a number: serde_json calls that a syntax error.
        (
            Some("application/json"),
            "{\"kind\": 3, \"name\": \"Acme\"}",
            csrf.as_str(),
            422,
            "invalid_input",
        ),
        (
            Some("application/json"),
            "{}",
            "not-the-token",
            403,
            "csrf_failed",
        ),
    ] {
        let response = create_client(content_type, body, csrf)
            .await
            .expect("request");
        let status = response.status().as_u16();
        let answer: Value = response.json().await.expect("an error body");
        assert_eq!(status, expected, "{body}: {answer}");
        assert_eq!(code(&answer), expected_code);
        assert!(
            listed.contains(&expected.to_string()),
            "{expected} not in the spec"
        );
    }

    // A session still waiting for its second factor gets the documented 403 elsewhere.
    let mut waiting = app.browser();
    waiting
        .sign_in(&app.firm.partner.email, crate::helpers::PASSWORD)
        .await;
    let (status, body) = waiting.get("/api/v1/matters").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&body), "mfa_required");
    let described = &operation(&spec, "GET", "/api/v1/matters")["responses"]["403"]["description"];
    assert!(described
        .as_str()
        .is_some_and(|d| d.contains("mfa_required")));
    let (status, _) = waiting.get("/api/v1/auth/session").await;
    assert_eq!(status, StatusCode::OK);
    let session = operation(&spec, "GET", "/api/v1/auth/session");
    assert!(
        !statuses(session).contains(&"403"),
        "the session read needs no MFA"
    );
}
