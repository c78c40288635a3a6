//! Real-time matter channels over the SDK: conversation, access, resume, idempotency, edits and
//! deletions, ephemeral signals, and hostile frames.

use std::time::Duration;

use docket_client::protocol::channel::EventBody;
use docket_client::protocol::error::ErrorCode;
use docket_client::Update;
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::helpers::{
    message_text, next_matching, revoked, send_in_background, spawn_app, spawn_app_with,
    subscribed, TestApp,
};

fn is_event(update: &Update) -> bool {
    matches!(update, Update::Event(_))
}

#[tokio::test]
async fn two_users_converse_and_an_outsider_is_refused() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (_, mut solicitor) = app.sdk(&f.fee_earner).await;
    let (_, mut client) = app.sdk(&f.dept_head).await;
    subscribed(&mut solicitor, f.matter_a1, Some(0)).await;
    subscribed(&mut client, f.matter_a1, Some(0)).await;

    let sent = client
        .send(f.matter_a1, "Is the lease ready to sign?")
        .await
        .expect("acknowledged");
    assert_eq!((sent.seq, sent.duplicate), (1, false));
    let received = next_matching(&mut solicitor, "the client's message", is_event).await;
    assert_eq!(
        message_text(&received).as_deref(),
        Some("Is the lease ready to sign?")
    );
    let Update::Event(event) = &received else {
        unreachable!()
    };
    assert_eq!(event.author_id, Some(f.dept_head.user_id));

    let reply = solicitor
        .send_with_id(
            f.matter_a1,
            Uuid::now_v7(),
            "Yes, I will send it today.",
            Some(1),
        )
        .await
        .expect("ack");
    assert_eq!(reply.seq, 2);
    let received = next_matching(
        &mut client,
        "the reply",
        |u| matches!(u, Update::Event(e) if e.seq == 2),
    )
    .await;
    let Update::Event(event) = received else {
        unreachable!()
    };
    assert_eq!(
        event.body,
        EventBody::Message {
            text: Some("Yes, I will send it today.".into()),
            reply_to: Some(1),
            deleted: false
        }
    );

    // Someone without a grant sees nothing and is refused, like for a matter that does not exist.
    let (_, mut outsider) = app.sdk(&f.private_client).await;
    outsider.subscribe(f.matter_a1, Some(0));
    let refused = next_matching(&mut outsider, "refusal", |u| {
        matches!(u, Update::Error { .. })
    })
    .await;
    assert!(
        matches!(
            refused,
            Update::Error {
                code: ErrorCode::Forbidden,
                ..
            }
        ),
        "{refused:?}"
    );
    let (_, mut other_fee_earner) = app.sdk(&f.other_fee_earner).await;
    other_fee_earner.subscribe(f.matter_a1, None);
    let refused = next_matching(&mut other_fee_earner, "refusal", |u| {
        matches!(u, Update::Error { .. })
    })
    .await;
    assert!(matches!(
        refused,
        Update::Error {
            code: ErrorCode::Forbidden,
            ..
        }
    ));
    // Sending without a subscription is refused too.
    let err = outsider
        .send(f.matter_a1, "let me in")
        .await
        .expect_err("refused");
    assert!(err.to_string().starts_with("forbidden"), "{err}");
}

#[tokio::test]
async fn revoking_a_grant_stops_delivery_to_an_open_socket() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (_, mut solicitor) = app.sdk(&f.fee_earner).await;
    let (_, mut client) = app.sdk(&f.dept_head).await;
    subscribed(&mut solicitor, f.matter_a1, None).await;
    subscribed(&mut client, f.matter_a1, None).await;
    solicitor.send(f.matter_a1, "before").await.expect("ack");
    next_matching(&mut client, "before", is_event).await;

    let firm = app.signed_in(&f.fee_earner).await;
    let (status, _) = firm
        .delete(&format!(
            "/api/v1/matters/{}/grants/{}",
            f.matter_a1, f.dept_head.user_id
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    revoked(&mut client, f.matter_a1).await;

    solicitor
        .send(f.matter_a1, "after the revocation")
        .await
        .expect("ack");
    let late = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            match client.next().await {
                Some(Update::Event(e)) => return Some(e),
                Some(_) => continue,
                None => return None,
            }
        }
    })
    .await;
    assert!(late.is_err(), "an event reached a revoked user: {late:?}");
}

#[tokio::test]
async fn resume_after_a_disconnect_has_no_gap_and_no_duplicate_while_sending_continues() {
    let app = spawn_app_with(|c| {
        // The send bucket follows the server's (manual) clock, which stands still here.
        c.channels.send_rate_per_second = 1_000;
        c.channels.send_burst = 1_000;
    })
    .await;
    let f = &app.firm;
    let (_, sender) = app.sdk(&f.fee_earner).await;
    let (_, mut reader) = app.sdk(&f.gc).await;
    subscribed(&mut reader, f.matter_a1, Some(0)).await;
    let mut sender_channel = sender;
    subscribed(&mut sender_channel, f.matter_a1, None).await;

    let writer = send_in_background(sender_channel, f.matter_a1, 60, Duration::from_millis(5));
    // Sever every socket mid-stream, twice: the SDK reconnects and resumes from its last seq.
    let mut seen = Vec::new();
    for round in 0..2 {
        while seen.len() < 15 * (round + 1) {
            if let Update::Event(e) = next_matching(&mut reader, "events", is_event).await {
                seen.push(e.seq);
            }
        }
        app.state.channels.hub.drain(Duration::from_secs(5)).await;
    }
    let acked = writer.await.expect("writer");
    while seen.len() < acked.len() {
        if let Update::Event(e) = next_matching(&mut reader, "the rest", is_event).await {
            seen.push(e.seq);
        }
    }
    assert_eq!(
        seen,
        (1..=60).collect::<Vec<u64>>(),
        "every event once, in order"
    );
    assert_eq!(acked, seen);
}

#[tokio::test]
async fn a_resend_with_the_same_id_is_stored_once() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (client, mut channel) = app.sdk(&f.gc).await;
    subscribed(&mut channel, f.matter_a2, None).await;
    let id = Uuid::now_v7();
    let first = channel
        .send_with_id(f.matter_a2, id, "Please call me", None)
        .await
        .expect("ack");
    let again = channel
        .send_with_id(f.matter_a2, id, "Please call me", None)
        .await
        .expect("ack");
    assert_eq!((first.seq, first.duplicate), (1, false));
    assert_eq!((again.seq, again.duplicate), (1, true));
    // Concurrent duplicates (they may share a batch) are still one row.
    let (a, b) = tokio::join!(
        channel.send_with_id(f.matter_a2, Uuid::nil(), "x", None),
        channel.send_with_id(f.matter_a2, Uuid::nil(), "x", None)
    );
    assert_eq!(a.expect("ack").seq, b.expect("ack").seq);
    let page = client.history(f.matter_a2, 0, 100).await.expect("history");
    assert_eq!(page.events.len(), 2);
    assert_eq!(page.head_seq, 2);

    // A resend sharing a batch with new sends: the unique index refuses the batch, it is written
    // again with the resend looked up, and the new sends still get the next seqs, with no gap.
    let (resent, new_a, new_b) = tokio::join!(
        channel.send_with_id(f.matter_a2, id, "Please call me", None),
        channel.send_with_id(f.matter_a2, Uuid::now_v7(), "new one", None),
        channel.send_with_id(f.matter_a2, Uuid::now_v7(), "new two", None)
    );
    let resent = resent.expect("ack");
    assert_eq!((resent.seq, resent.duplicate), (1, true));
    let mut fresh = [new_a.expect("ack"), new_b.expect("ack")];
    fresh.sort_by_key(|ack| ack.seq);
    assert_eq!(
        fresh
            .iter()
            .map(|a| (a.seq, a.duplicate))
            .collect::<Vec<_>>(),
        [(3, false), (4, false)]
    );
    let page = client.history(f.matter_a2, 0, 100).await.expect("history");
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[tokio::test]
async fn edits_and_deletions_keep_the_original_in_the_record_and_the_audit_trail() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (client, mut author) = app.sdk(&f.dept_head).await;
    let (_, mut solicitor) = app.sdk(&f.fee_earner).await;
    subscribed(&mut author, f.matter_a1, None).await;
    subscribed(&mut solicitor, f.matter_a1, None).await;
    let original = author
        .send(f.matter_a1, "The price is 1,000,000")
        .await
        .expect("ack");
    let edit = author
        .edit(f.matter_a1, original.seq, "The price is 1,100,000")
        .await
        .expect("ack");
    let seen = next_matching(
        &mut solicitor,
        "the edit",
        |u| matches!(u, Update::Event(e) if e.seq == edit.seq),
    )
    .await;
    assert!(
        matches!(seen, Update::Event(e) if e.body == EventBody::Edit { target_seq: original.seq, text: Some("The price is 1,100,000".into()) })
    );

    // Only the author may change a message.
    let err = solicitor
        .edit(f.matter_a1, original.seq, "hijacked")
        .await
        .expect_err("refused");
    assert!(err.to_string().starts_with("forbidden"), "{err}");

    let deletion = author.delete(f.matter_a1, original.seq).await.expect("ack");
    next_matching(&mut solicitor, "the deletion", |u| matches!(u, Update::Event(e) if e.body == EventBody::Delete { target_seq: original.seq })).await;
    let err = author
        .edit(f.matter_a1, original.seq, "again")
        .await
        .expect_err("a deleted message cannot be edited");
    assert!(err.to_string().starts_with("not_found"), "{err}");

    // Clients now see a tombstone, and the edit loses its text too...
    let page = client.history(f.matter_a1, 0, 10).await.expect("history");
    assert_eq!(
        page.events[0].body,
        EventBody::Message {
            text: None,
            reply_to: None,
            deleted: true
        }
    );
    assert_eq!(
        page.events[1].body,
        EventBody::Edit {
            target_seq: original.seq,
            text: None
        }
    );
    assert_eq!(page.events[2].seq, deletion.seq);
    // ...while the record keeps every version, and the audit trail says who did what.
    let bodies: Vec<Value> =
        sqlx::query_scalar("select body from channel_event where matter_id = $1 order by seq")
            .bind(f.matter_a1.0)
            .fetch_all(&app.owner)
            .await
            .expect("record");
    assert_eq!(bodies[0]["text"], "The price is 1,000,000");
    assert_eq!(bodies[1]["text"], "The price is 1,100,000");
    let audit: Vec<(String, Option<Uuid>)> = sqlx::query_as(
        "select action, actor_id from audit_event where action like 'channel.%' order by seq",
    )
    .fetch_all(&app.owner)
    .await
    .expect("audit");
    assert_eq!(
        audit,
        vec![
            (
                "channel.message.edited".to_owned(),
                Some(f.dept_head.user_id.0)
            ),
            (
                "channel.message.deleted".to_owned(),
                Some(f.dept_head.user_id.0)
            ),
        ]
    );
}

#[tokio::test]
async fn typing_presence_and_read_positions_reach_the_right_people() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (_, mut solicitor) = app.sdk(&f.fee_earner).await;
    let (_, mut client) = app.sdk(&f.dept_head).await;
    subscribed(&mut solicitor, f.matter_a1, None).await;
    subscribed(&mut client, f.matter_a1, None).await;
    next_matching(
        &mut solicitor,
        "the client coming online",
        |u| matches!(u, Update::Presence { user_id, .. } if *user_id == f.dept_head.user_id),
    )
    .await;

    client.typing(f.matter_a1);
    next_matching(
        &mut solicitor,
        "typing",
        |u| matches!(u, Update::Typing { user_id, .. } if *user_id == f.dept_head.user_id),
    )
    .await;

    let sent = solicitor
        .send(f.matter_a1, "Please review the draft")
        .await
        .expect("ack");
    client.read(f.matter_a1, sent.seq);
    // The firm sees that the client has read...
    let read = next_matching(&mut solicitor, "the client's read position", |u| {
        matches!(u, Update::Read { .. })
    })
    .await;
    assert_eq!(
        read,
        Update::Read {
            matter_id: f.matter_a1,
            user_id: f.dept_head.user_id,
            seq: sent.seq
        }
    );
    // ...and a later subscriber is told where everyone stands.
    let (_, mut later) = app.sdk(&f.partner).await;
    later.subscribe(f.matter_a1, None);
    let Update::Subscribed {
        reads, presence, ..
    } = next_matching(&mut later, "subscribed", |u| {
        matches!(u, Update::Subscribed { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(
        reads
            .iter()
            .any(|r| r.user_id == f.dept_head.user_id && r.seq == sent.seq),
        "{reads:?}"
    );
    assert!(
        presence.iter().any(|p| p.user_id == f.dept_head.user_id),
        "{presence:?}"
    );

    // Clients are not shown the firm's read positions by default.
    solicitor.read(f.matter_a1, sent.seq);
    client.typing(f.matter_a1); // a marker that arrives after the (suppressed) read would
    let next = next_matching(&mut client, "anything but presence", |u| {
        !matches!(u, Update::Presence { .. } | Update::Event(_))
    })
    .await;
    assert!(
        !matches!(next, Update::Read { .. }),
        "a client saw the firm's read position"
    );
}

#[tokio::test]
async fn sign_out_and_idle_timeout_close_open_sockets() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (client, mut channel) = app.sdk(&f.gc).await;
    subscribed(&mut channel, f.matter_a1, None).await;
    client.sign_out().await.expect("signed out");
    next_matching(&mut channel, "the session ending", |u| {
        *u == Update::SessionEnded
    })
    .await;

    let (_, mut idle) = app.sdk(&f.gc).await;
    subscribed(&mut idle, f.matter_a1, None).await;
    app.clock.advance(time::Duration::minutes(16));
    next_matching(&mut idle, "the idle timeout", |u| {
        *u == Update::SessionEnded
    })
    .await;
}

#[tokio::test]
async fn sends_beyond_the_rate_limit_get_error_frames_not_a_disconnect() {
    let app = spawn_app_with(|c| {
        c.channels.send_rate_per_second = 1;
        c.channels.send_burst = 3;
    })
    .await;
    let f = &app.firm;
    let (_, mut channel) = app.sdk(&f.gc).await;
    subscribed(&mut channel, f.matter_a1, None).await;
    let mut limited = 0;
    for i in 0..6 {
        match channel.send(f.matter_a1, &format!("burst {i}")).await {
            Ok(_) => {}
            Err(err) if err.to_string().starts_with("rate_limited") => limited += 1,
            Err(err) => panic!("{err}"),
        }
    }
    assert!(limited >= 2, "{limited}");
    app.clock.advance(time::Duration::milliseconds(1100)); // refills one token (server clock)
    channel
        .send(f.matter_a1, "after a pause")
        .await
        .expect("still connected and allowed");
}

/// The upgrade request for the channel socket with a bearer token.
fn ws_request(
    app: &TestApp,
    token: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = format!("{}/api/v1/ws", app.base.replace("http", "ws"))
        .into_client_request()
        .expect("request");
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        "docket.v1".parse().expect("header"),
    );
    headers.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    request
}

/// A raw socket, for frames the SDK would never send.
pub async fn raw_socket(
    app: &TestApp,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let request = ws_request(app, token);
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("upgrade");
    assert_eq!(response.headers()["sec-websocket-protocol"], "docket.v1");
    socket
}

pub async fn next_json<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    socket: &mut tokio_tungstenite::WebSocketStream<S>,
) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame")
            .expect("open")
            .expect("ok");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("JSON");
        }
    }
}

#[tokio::test]
async fn malformed_oversized_and_unknown_frames_get_error_frames_and_change_nothing() {
    let app = spawn_app().await;
    let f = &app.firm;
    let token = app.bearer(&f.gc).await.bearer.expect("token");
    let mut socket = raw_socket(&app, &token).await;
    assert_eq!(next_json(&mut socket).await["type"], "hello");

    let big = json!({ "type": "send", "matter_id": f.matter_a1, "client_msg_id": Uuid::now_v7(), "text": "x".repeat(20_000) }).to_string();
    let long_text = json!({ "type": "send", "matter_id": f.matter_a1, "client_msg_id": Uuid::now_v7(), "text": "y".repeat(9_000) }).to_string();
    let cases: Vec<(Message, &str)> = vec![
        (Message::Text("this is not json".into()), "malformed_json"),
        (
            Message::Text(r#"{"type":"launch_missiles"}"#.into()),
            "invalid_input",
        ),
        (
            Message::Text(r#"{"type":"subscribe"}"#.into()),
            "invalid_input",
        ),
        (Message::Text(big.into()), "payload_too_large"),
        (Message::Binary(vec![1, 2, 3].into()), "invalid_input"),
    ];
    for (message, expected) in cases {
        socket.send(message).await.expect("sent");
        let answer = next_json(&mut socket).await;
        assert_eq!(
            (answer["type"].as_str(), answer["code"].as_str()),
            (Some("error"), Some(expected)),
            "{answer}"
        );
    }
    // Still connected and working: subscribe, then a message that is too long is refused.
    socket
        .send(Message::Text(
            json!({ "type": "subscribe", "matter_id": f.matter_a1 })
                .to_string()
                .into(),
        ))
        .await
        .expect("sent");
    loop {
        if next_json(&mut socket).await["type"] == "subscribed" {
            break;
        }
    }
    socket
        .send(Message::Text(long_text.into()))
        .await
        .expect("sent");
    let mut answer = next_json(&mut socket).await;
    while answer["type"] == "presence" {
        answer = next_json(&mut socket).await;
    }
    assert_eq!(answer["code"], "invalid_input", "{answer}");
    let stored: i64 = sqlx::query_scalar("select count(*) from channel_event")
        .fetch_one(&app.owner)
        .await
        .expect("count");
    assert_eq!(stored, 0, "nothing was written");
}

#[tokio::test]
async fn the_upgrade_demands_the_subprotocol_a_same_origin_cookie_and_respects_caps() {
    let app = spawn_app_with(|c| c.channels.max_sockets_per_user = 2).await;
    let f = &app.firm;
    let browser = app.signed_in(&f.gc).await;
    let upgrade = |origin: &'static str, protocol: bool| {
        let mut request = browser
            .raw()
            .get(format!("{}/api/v1/ws", app.base))
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("origin", origin);
        if protocol {
            request = request.header("sec-websocket-protocol", "docket.v1");
        }
        request.send()
    };
    assert_eq!(
        upgrade("http://127.0.0.1:8080", false)
            .await
            .expect("response")
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        upgrade("https://evil.example", true)
            .await
            .expect("response")
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        upgrade("http://127.0.0.1:8080", true)
            .await
            .expect("response")
            .status(),
        StatusCode::SWITCHING_PROTOCOLS
    );

    // A third socket for the same user is over the cap of two.
    let token = app.bearer(&f.finance).await.bearer.expect("token");
    let _one = raw_socket(&app, &token).await;
    let _two = raw_socket(&app, &token).await;
    let request = ws_request(&app, &token);
    let refused = tokio_tungstenite::connect_async(request)
        .await
        .expect_err("over the cap");
    assert!(refused.to_string().contains("429"), "{refused}");
}

#[tokio::test]
async fn history_is_paginated_and_scoped() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (gc, mut channel) = app.sdk(&f.gc).await;
    subscribed(&mut channel, f.matter_a1, None).await;
    for i in 0..5 {
        channel
            .send(f.matter_a1, &format!("note {i}"))
            .await
            .expect("ack");
    }
    let first = gc.history(f.matter_a1, 0, 2).await.expect("page");
    assert_eq!(
        first.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(first.more);
    let last = gc.history(f.matter_a1, 4, 2).await.expect("page");
    assert_eq!(
        last.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![5]
    );
    assert!(!last.more);

    // Finance sees the matter but not its messages; another client sees nothing at all.
    let finance = app.signed_in(&f.finance).await;
    let (status, page) = finance
        .get(&format!("/api/v1/matters/{}/events", f.matter_a1))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["events"], json!([]));
    let outsider = app.signed_in(&f.private_client).await;
    assert_eq!(
        outsider
            .get(&format!("/api/v1/matters/{}/events", f.matter_a1))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_with_a_resumable_code() {
    let app = spawn_app_with(|c| {
        c.channels.outbound_queue = 8;
        c.channels.send_rate_per_second = 100_000;
        c.channels.send_burst = 100_000;
    })
    .await;
    let f = &app.firm;
    // A reader with a tiny receive window that subscribes and then stops reading.
    let token = app.bearer(&f.gc).await.bearer.expect("token");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let stream = socket
        .connect(
            app.base
                .trim_start_matches("http://")
                .parse()
                .expect("addr"),
        )
        .await
        .expect("connect");
    let request = ws_request(&app, &token);
    let (mut lazy, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .expect("upgrade");
    lazy.send(Message::Text(
        json!({ "type": "subscribe", "matter_id": f.matter_a1 })
            .to_string()
            .into(),
    ))
    .await
    .expect("sent");
    loop {
        if next_json(&mut lazy).await["type"] == "subscribed" {
            break;
        }
    }

    let (_, mut sender) = app.sdk(&f.fee_earner).await;
    subscribed(&mut sender, f.matter_a1, None).await;
    let big = "z".repeat(7_900);
    for _ in 0..4 {
        let sends: Vec<_> = (0..100).map(|_| sender.send(f.matter_a1, &big)).collect();
        for sent in futures_util::future::join_all(sends).await {
            sent.expect("the sender is not held back by the slow reader");
        }
    }
    // Reading now drains what the network held, then the close frame with the resumable code.
    let code = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(message) = lazy.next().await {
            if let Ok(Message::Close(frame)) = message {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    })
    .await
    .expect("closed in time");
    assert_eq!(
        code,
        Some(docket_client::protocol::channel::close::SLOW_CONSUMER)
    );
}

#[tokio::test]
async fn stored_events_keep_their_form_and_one_this_server_cannot_read_shows_as_unknown() {
    let app = spawn_app().await;
    let f = &app.firm;
    let (client, mut author) = app.sdk(&f.dept_head).await;
    subscribed(&mut author, f.matter_a1, None).await;
    let before = author.send(f.matter_a1, "Before").await.expect("ack");
    // The record keeps the form bodies have always had (it is never migrated).
    let stored: (String, String, Value) = sqlx::query_as(
        "select kind, scope, body from channel_event where matter_id = $1 and seq = $2",
    )
    .bind(f.matter_a1.0)
    .bind(before.seq as i64)
    .fetch_one(&app.owner)
    .await
    .expect("record");
    assert_eq!(
        stored,
        (
            "message".into(),
            "messages".into(),
            json!({ "text": "Before", "reply_to": null })
        )
    );

    // Rows this server cannot read: a kind it does not know, and a message without its text.
    sqlx::query(
        "insert into channel_event (matter_id, seq, kind, scope, author_id, body) values
             ($1, $2, 'mls', 'messages', $3, '{\"ciphertext\": \"AAAA\"}'),
             ($1, $2 + 1, 'message', 'messages', $3, '{\"reply_to\": null}')",
    )
    .bind(f.matter_a1.0)
    .bind(before.seq as i64 + 1)
    .bind(f.dept_head.user_id.0)
    .execute(&app.owner)
    .await
    .expect("insert");
    sqlx::query("update channel_head set last_seq = $2 where matter_id = $1")
        .bind(f.matter_a1.0)
        .bind(before.seq as i64 + 2)
        .execute(&app.owner)
        .await
        .expect("head");
    let after = author.send(f.matter_a1, "After").await.expect("ack");
    assert_eq!(after.seq, before.seq + 3);

    // Live: the room fills the gap from Postgres and delivers them as unknown, in order.
    for seq in [before.seq + 1, before.seq + 2] {
        let seen = next_matching(
            &mut author,
            "the unreadable event",
            |u| matches!(u, Update::Event(e) if e.seq == seq),
        )
        .await;
        assert!(
            matches!(seen, Update::Event(e) if e.body == EventBody::Unknown),
            "{seq}"
        );
    }
    let seen = next_matching(
        &mut author,
        "the next message",
        |u| matches!(u, Update::Event(e) if e.seq == after.seq),
    )
    .await;
    assert_eq!(message_text(&seen).as_deref(), Some("After"));

    // History: the same, and the readable events around them are untouched.
    let page = client.history(f.matter_a1, 0, 10).await.expect("history");
    let bodies: Vec<_> = page
        .events
        .iter()
        .map(|e| (e.seq, e.body.clone()))
        .collect();
    let message = |text: &str| EventBody::Message {
        text: Some(text.into()),
        reply_to: None,
        deleted: false,
    };
    assert_eq!(
        bodies,
        vec![
            (before.seq, message("Before")),
            (before.seq + 1, EventBody::Unknown),
            (before.seq + 2, EventBody::Unknown),
            (after.seq, message("After")),
        ]
    );

    // A message the server cannot read is not one its author can amend.
    let err = author
        .edit(f.matter_a1, before.seq + 2, "Rewritten")
        .await
        .expect_err("refused");
    assert!(err.to_string().starts_with("not_found"), "{err}");
}
