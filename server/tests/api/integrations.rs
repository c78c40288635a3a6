//! Service accounts: the firm's systems call with tokens of their own, shown once, stored as
//! digests, revocable and expiring, accepted only on their integration endpoints and audited
//! under their names.

use docket_protocol::integrations::ServiceScope;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::Duration;

use crate::helpers::{code, pdf, spawn_app, TestApp, PASSWORD};

async fn push(
    client: &crate::helpers::Client,
    app: &TestApp,
    external: &str,
) -> (StatusCode, Value) {
    crate::helpers::upload(
        client,
        reqwest::Method::PUT,
        &format!(
            "/api/v1/matters/{}/dms/{external}/versions/1?filename=a.pdf&category=contracts&title=A",
            app.firm.matter_a1
        ),
        pdf(external),
    )
    .await
}

#[tokio::test]
async fn an_admin_creates_a_service_account_whose_token_is_shown_once_and_stored_as_a_digest() {
    let app = spawn_app().await;
    let f = &app.firm;
    let request = json!({ "name": "Document management", "scopes": ["dms"] });

    let partner = app.signed_in(&f.partner).await;
    let (status, body) = partner
        .post("/api/v1/service-accounts", request.clone())
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "admins only"
    );

    let admin = app.signed_in(&f.admin).await;
    let (status, body) = admin
        .post("/api/v1/service-accounts", request.clone())
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "reauthentication_required"),
        "minting a firm-wide credential needs a fresh second factor"
    );
    let (status, _) = admin
        .post(
            "/api/v1/auth/reauthenticate",
            json!({ "password": PASSWORD, "code": app.fresh_code(&f.admin.totp_secret) }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for bad in [
        json!({ "name": "", "scopes": ["dms"] }),
        json!({ "name": "X", "scopes": [] }),
        json!({ "name": "X", "scopes": ["payments"] }),
        json!({ "name": "X", "scopes": ["dms"], "expires_at": "2001-01-01T00:00:00Z" }),
    ] {
        let (status, body) = admin.post("/api/v1/service-accounts", bad.clone()).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            "{bad}"
        );
    }
    let (status, created) = admin.post("/api/v1/service-accounts", request).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("dkt_svc_") && token.len() > 40);
    let service_id = created["account"]["service_id"]
        .as_str()
        .expect("id")
        .to_owned();

    let (status, listed) = admin.get("/api/v1/service-accounts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !listed.to_string().contains(&token),
        "the token is never shown again"
    );
    let names: Vec<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect();
    assert!(names.contains(&"Document management") && names.contains(&"Card payments (Stripe)"));

    let stored: Vec<u8> =
        sqlx::query_scalar("select token_hash from service_credential where user_id = $1::uuid")
            .bind(&service_id)
            .fetch_one(&app.owner)
            .await
            .expect("row");
    assert_eq!(stored, Sha256::digest(token.as_bytes()).to_vec());
    let dumped: String = sqlx::query_scalar(
        "select string_agg(to_jsonb(c)::text || to_jsonb(u)::text, '') from service_credential c join user_account u using (user_id)",
    )
    .fetch_one(&app.owner)
    .await
    .expect("dump");
    assert!(
        !dumped.contains(&token),
        "the database holds no usable token"
    );

    let probe = app
        .select_as(
            &f.admin,
            &format!(
                "select user_id from docket_service_by_token(decode('{}', 'hex'))",
                Sha256::digest(token.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
        )
        .await;
    assert!(
        probe.is_empty(),
        "the token look-up answers nothing inside a tenant"
    );

    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where target = 'user:' || $1 order by seq",
    )
    .bind(&service_id)
    .fetch_all(&app.owner)
    .await
    .expect("audit");
    assert_eq!(actions, ["service_account.created"]);
}

#[tokio::test]
async fn a_service_token_works_only_on_its_own_endpoints_and_people_cannot_use_them() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (dms_id, dms_token) = app.service_account("DMS", &[ServiceScope::Dms]).await;
    let (_, billing_token) = app
        .service_account("Billing", &[ServiceScope::Billing])
        .await;
    let dms = app.service(&dms_token);

    let (status, body) = push(&dms, &app, "D-1").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for path in [
        "/api/v1/matters".to_owned(),
        format!("/api/v1/matters/{}", f.matter_a1),
        format!("/api/v1/matters/{}/documents", f.matter_a1),
        format!("/api/v1/matters/{}/events?after=0", f.matter_a1),
        "/api/v1/me/sessions".to_owned(),
        "/api/v1/auth/session".to_owned(),
        "/api/v1/service-accounts".to_owned(),
    ] {
        let (status, body) = dms.get(&path).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{path}"
        );
    }
    let (status, body) = push(&app.service(&billing_token), &app, "D-2").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "the billing system's account does not push documents"
    );
    let partner = app.bearer(&f.partner).await;
    let (status, body) = push(&partner, &app, "D-3").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "{body}"
    );
    let (status, body) = push(&app.browser(), &app, "D-4").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let (status, body) = push(&app.service("dkt_svc_made-up"), &app, "D-5").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );

    // A service account has no password: its address signs nobody in.
    for email in [
        "payments@service.docket.invalid".to_owned(),
        format!("service-{dms_id}@service.docket.invalid"),
    ] {
        let (status, body) = app
            .browser()
            .post(
                "/api/v1/auth/sign-in",
                json!({ "email": email, "password": "" }),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{email}: {body}");
    }

    // Audited under its own name, as the act of its account.
    let actors: Vec<uuid::Uuid> =
        sqlx::query_scalar("select actor_id from audit_event where action = 'document.dms_synced'")
            .fetch_all(&app.owner)
            .await
            .expect("audit");
    assert_eq!(actors, [dms_id.0]);

    // In the database it sees documents, never the conversation.
    let service = crate::helpers::TestUser {
        user_id: dms_id,
        email: String::new(),
        totp_secret: Vec::new(),
    };
    let messages = app
        .select_as(&service, "select seq from channel_event")
        .await;
    assert!(messages.is_empty(), "{messages:?}");
    let docs = app
        .select_as(&service, "select document_id from document")
        .await;
    assert_eq!(docs.len(), 1);
}

#[tokio::test]
async fn a_revoked_or_expired_service_token_is_refused_at_once() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (dms_id, token) = app.service_account("DMS", &[ServiceScope::Dms]).await;
    let dms = app.service(&token);
    assert_eq!(push(&dms, &app, "R-1").await.0, StatusCode::CREATED);

    let admin = app.signed_in(&f.admin).await;
    let (status, revoked) = admin
        .delete(&format!("/api/v1/service-accounts/{dms_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["revoked_at"].is_string());
    let (status, body) = push(&dms, &app, "R-2").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let service = crate::helpers::TestUser {
        user_id: dms_id,
        email: String::new(),
        totp_secret: Vec::new(),
    };
    assert!(
        app.select_as(&service, "select document_id from document")
            .await
            .is_empty(),
        "the database refuses a revoked account too"
    );
    let (status, body) = admin
        .delete("/api/v1/service-accounts/00000000-0000-7000-8000-00000000057e")
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );

    let output = app
        .admin(docket_server::admin::AdminCommand::Service(
            docket_server::admin::ServiceCommand::Create {
                name: crate::helpers::text("Nightly DMS"),
                scopes: vec![ServiceScope::Dms],
                expires_at: Some(app.clock.now() + Duration::hours(1)),
            },
        ))
        .await
        .expect("create");
    let token = output.rsplit(' ').next().expect("token").to_owned();
    let nightly = app.service(&token);
    assert_eq!(push(&nightly, &app, "E-1").await.0, StatusCode::CREATED);
    app.clock.advance(Duration::hours(2));
    let (status, _) = push(&nightly, &app, "E-2").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired");
    let listed = app
        .admin(docket_server::admin::AdminCommand::Service(
            docket_server::admin::ServiceCommand::List,
        ))
        .await
        .expect("list");
    assert!(listed.contains("\"Nightly DMS\" scopes=dms"), "{listed}");
    assert!(!listed.contains(&token));
}
