//! Key-encryption-key rotation: a firm replaces its KEK, keeps the old one as a previous key until
//! `docket admin rotate-keys` has re-sealed everything, and loses neither documents nor second
//! factors on the way.

use std::sync::Arc;

use docket_server::admin::AdminCommand;
use docket_server::config::{Config, SecretBox32};
use docket_server::db::{RequestContext, Tenant};
use docket_server::keyring::Keyring;
use docket_server::{vault, Error};
use reqwest::StatusCode;
use secrecy::SecretBox;

use crate::helpers::{code, pdf, spawn_app_with, upload_pdf, Client, TestApp};

const KEK_A: [u8; 32] = [0xA1; 32];
const KEK_B: [u8; 32] = [0xB2; 32];
const KEK_C: [u8; 32] = [0xC3; 32];

fn secret(key: [u8; 32]) -> SecretBox32 {
    Arc::new(SecretBox::new(Box::new(key)))
}

/// Configures `current` as the KEK and `previous` as the keys it replaced.
fn keys(current: [u8; 32], previous: &[[u8; 32]]) -> impl FnOnce(&mut Config) + '_ {
    move |config| {
        config.key_encryption_key = secret(current);
        config.key_is_default = false;
        config.previous_key_encryption_keys = previous.iter().copied().map(secret).collect();
    }
}

fn key_id(key: [u8; 32]) -> String {
    Keyring::new(key).key_id()
}

/// `path` fetched from `app` with `client`'s bearer token: status and body.
async fn download(app: &TestApp, client: &Client, path: &str) -> (StatusCode, Vec<u8>) {
    let response = client
        .raw()
        .get(format!("{}{path}", app.base))
        .bearer_auth(client.bearer.as_deref().expect("a bearer token"))
        .send()
        .await
        .expect("download");
    let status = response.status();
    (status, response.bytes().await.expect("body").to_vec())
}

/// Everything the keyring has sealed, as stored: to see that a second rotation changes nothing.
async fn sealed_rows(app: &TestApp) -> Vec<(String, Option<String>, Option<Vec<u8>>)> {
    sqlx::query_as(
        "select matter_id::text, key_id, wrapped from matter_key
         union all select user_id::text, null, totp_secret_sealed from user_credential
         union all select session_id::text, null, pending_totp_sealed from session
         union all select name, key_id, sealed from server_secret
         order by 1",
    )
    .fetch_all(&app.owner)
    .await
    .expect("sealed rows")
}

#[tokio::test]
async fn a_rotated_key_keeps_documents_and_second_factors_and_the_old_key_can_then_go() {
    // Under KEK A: a fee earner signs in with TOTP and uploads; matter A-2 is shredded unused.
    let app_a = spawn_app_with(keys(KEK_A, &[])).await;
    let firm = app_a.firm.clone();
    let fee = app_a.bearer(&firm.fee_earner).await;
    let (status, doc) = upload_pdf(&fee, firm.matter_a1, "contracts").await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    let path = format!(
        "/api/v1/documents/{}/versions/1/content",
        doc["document_id"].as_str().expect("id")
    );
    let content = pdf("isolation");
    assert_eq!(
        download(&app_a, &fee, &path).await,
        (StatusCode::OK, content.clone())
    );
    let mut conn = app_a.owner.acquire().await.expect("conn");
    vault::destroy_matter_key(&mut conn, firm.matter_a2, app_a.clock.now())
        .await
        .expect("destroy");
    drop(conn);

    // KEK B is current, A kept as a previous key: sign-in and the old document still work, and
    // what is new is sealed under B.
    let app_b = app_a.restarted_with(keys(KEK_B, &[KEK_A])).await;
    let fee = app_b.bearer(&firm.fee_earner).await;
    assert_eq!(
        download(&app_b, &fee, &path).await,
        (StatusCode::OK, content.clone())
    );
    let (status, body) = upload_pdf(&fee, firm.matter_b1, "contracts").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The rotation re-wraps A-1's key, the eight users' secrets and the VAPID key; the tombstone
    // stays.
    let output = app_b.admin(AdminCommand::RotateKeys).await.expect("rotate");
    assert_eq!(
        output,
        "re-wrapped 1 matter keys, re-sealed 8 TOTP secrets and 1 server secrets; \
         the previous keys are no longer needed"
    );
    let stored: Vec<(String, Option<Vec<u8>>)> =
        sqlx::query_as("select key_id, wrapped from matter_key order by matter_id = $1 desc")
            .bind(firm.matter_a2.0)
            .fetch_all(&app_b.owner)
            .await
            .expect("keys");
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0], ("none".into(), None), "A-2 stays destroyed");
    assert!(stored[1..]
        .iter()
        .all(|(id, wrapped)| *id == key_id(KEK_B) && wrapped.is_some()));
    let audited: Vec<String> = sqlx::query_scalar(
        "select detail from audit_event where action = 'keys.rotated' and actor_id = docket_system_actor()",
    )
    .fetch_all(&app_b.owner)
    .await
    .expect("audit");
    let detail: serde_json::Value = serde_json::from_str(&audited[0]).expect("json");
    assert_eq!(
        detail,
        serde_json::json!({ "matter_keys": 1, "totp_secrets": 8, "server_secrets": 1 })
    );

    // A second run finds nothing to do and changes nothing.
    let before = sealed_rows(&app_b).await;
    let output = app_b.admin(AdminCommand::RotateKeys).await.expect("rotate");
    assert!(
        output.starts_with("re-wrapped 0 matter keys, re-sealed 0 TOTP secrets"),
        "{output}"
    );
    assert_eq!(sealed_rows(&app_b).await, before);

    // KEK B alone: A is no longer needed.
    let app_b_only = app_a.restarted_with(keys(KEK_B, &[])).await;
    let fee = app_b_only.bearer(&firm.fee_earner).await;
    assert_eq!(
        download(&app_b_only, &fee, &path).await,
        (StatusCode::OK, content)
    );

    // A key that never sealed anything opens nothing, and says which key it would need.
    let app_c = app_a.restarted_with(keys(KEK_C, &[])).await;
    let (status, body) = download(&app_c, &fee, &path).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(code(&body), "internal");
    let mut tenant = Tenant::begin(
        &app_c.runtime,
        &app_c.state.outbox,
        RequestContext {
            actor: Some(firm.fee_earner.user_id),
            ..Default::default()
        },
    )
    .await
    .expect("tenant");
    let Err(Error::Internal(err)) =
        vault::matter_key(&mut tenant, &app_c.state.keyring, firm.matter_a1).await
    else {
        panic!("a matter key wrapped by another KEK must not open");
    };
    let err = err.to_string();
    assert!(
        err.contains(&format!(
            "wrapped by KEK {}, but the configured KEK is {}",
            key_id(KEK_B),
            key_id(KEK_C)
        )),
        "{err}"
    );
}
