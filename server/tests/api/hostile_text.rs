//! Text a person supplies is checked at the edge: NUL and other control characters are refused
//! with `invalid_input` naming the field, on every route that stores text, and never reach
//! Postgres (which would refuse them with a 500).

use docket_protocol::integrations::ServiceScope;
use futures_util::SinkExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::channels::{next_json, raw_socket};
use crate::helpers::{code, new_document, pdf, spawn_app};

const NUL: &str = "a\u{0}b";

fn refused(status: StatusCode, body: &Value, field: &str) {
    assert_eq!(
        (status, code(body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        "{body}"
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(field) && message.contains("U+0000"),
        "the message names {field}: {message}"
    );
}

#[tokio::test]
async fn nul_bytes_in_rest_bodies_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let f = &app.firm;
    let partner = app.signed_in(&f.partner).await;

    let (status, body) = partner
        .post("/api/v1/clients", json!({ "kind": "private", "name": NUL }))
        .await;
    refused(status, &body, "name");

    let path = format!("/api/v1/matters/{}/milestones", f.matter_a1);
    let (status, body) = partner.post(&path, json!({ "title": NUL })).await;
    refused(status, &body, "title");

    let (_, timeline) = partner.get(&path).await;
    let id = timeline["milestones"][0]["milestone_id"]
        .as_str()
        .expect("id");
    let (status, body) = partner
        .send(
            Method::PATCH,
            &format!("{path}/{id}"),
            Some(json!({ "note": NUL })),
        )
        .await;
    refused(status, &body, "note");

    let (status, body) = partner
        .post(
            &format!("/api/v1/clients/{}/users", f.client_a),
            json!({ "email": "new@client-a.test", "display_name": "Tab\tis fine but \u{7} is not", "role": "member" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("U+0007"));

    // Text that is merely unusual is kept, normalised: CRLF to LF, decomposed accents composed.
    let (status, body) = partner
        .post(
            &path,
            json!({ "title": "Caf\u{65}\u{301} lease\r\nreview" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, timeline) = partner.get(&path).await;
    assert!(
        timeline["milestones"]
            .as_array()
            .expect("milestones")
            .iter()
            .any(|m| m["title"] == "Caf\u{e9} lease\nreview"),
        "{timeline}"
    );
}

#[tokio::test]
async fn nul_bytes_in_upload_names_and_dms_ids_are_refused() {
    let app = spawn_app().await;
    let f = &app.firm;
    let partner = app.bearer(&f.partner).await;
    let (status, body) = new_document(
        &partner,
        f.matter_a1,
        "contracts",
        "lease%00.pdf",
        pdf("nul"),
    )
    .await;
    refused(status, &body, "filename");

    let (_, dms) = app.service_account("DMS", &[ServiceScope::Dms]).await;
    let response = partner
        .raw()
        .put(format!(
            "{}/api/v1/matters/{}/dms/ext%00id/versions/1?filename=a.pdf&category=contracts&title=A",
            partner.base(),
            f.matter_a1
        ))
        .bearer_auth(dms)
        .body(pdf("dms"))
        .send()
        .await
        .expect("dms push");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    refused(status, &body, "external_id");
}

#[tokio::test]
async fn a_nul_byte_in_a_socket_message_is_an_invalid_input_frame_not_an_internal_error() {
    let app = spawn_app().await;
    let f = &app.firm;
    // The SDK refuses such text itself, before it is sent.
    let (_, channel) = app.sdk(&f.gc).await;
    assert!(matches!(
        channel.send(f.matter_a1, NUL).await,
        Err(docket_client::Error::InvalidText(_))
    ));
    // Written raw, the server answers with an error frame and keeps the connection.
    let token = app.bearer(&f.gc).await.bearer.expect("token");
    let mut socket = raw_socket(&app, &token).await;
    assert_eq!(next_json(&mut socket).await["type"], "hello");
    let frame = |text: &str| {
        json!({ "type": "send", "matter_id": f.matter_a1, "client_msg_id": uuid::Uuid::now_v7(), "text": text })
            .to_string()
    };
    socket
        .send(Message::Text(frame(NUL).into()))
        .await
        .expect("write");
    let error = next_json(&mut socket).await;
    assert_eq!(
        (error["type"].as_str(), error["code"].as_str()),
        (Some("error"), Some("invalid_input")),
        "{error}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("U+0000"),
        "{error}"
    );
    socket
        .send(Message::Text(frame("after the refusal").into()))
        .await
        .expect("write");
    let ack = next_json(&mut socket).await;
    assert_eq!(ack["type"], "ack", "{ack}");
}
