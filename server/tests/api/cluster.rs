//! Several `docket serve` processes sharing Postgres and Redis: conversation across nodes, a Redis
//! restart mid-conversation, and a node killed with SIGKILL. In every case no acknowledged message
//! is lost and none is delivered twice.

use std::time::Duration;

use docket_client::{Channel, Update};

use crate::helpers::{message_text, next_matching, send_in_background, spawn_app_with, subscribed};
use crate::nodes::{channel, token, Node, PrivateRedis};

/// Reads events until `count` messages have arrived; returns their seqs in delivery order.
async fn collect(channel: &mut Channel, count: usize, within: Duration) -> Vec<u64> {
    let mut seqs = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while seqs.len() < count {
        match tokio::time::timeout_at(deadline, channel.next()).await {
            Ok(Some(Update::Event(event))) => seqs.push(event.seq),
            Ok(Some(_)) => {}
            Ok(None) => panic!("channel stopped after {} events", seqs.len()),
            Err(_) => panic!("only {} of {count} events arrived: {seqs:?}", seqs.len()),
        }
    }
    seqs
}

#[tokio::test]
async fn clients_on_different_nodes_converse() {
    let redis = PrivateRedis::start().await;
    let app = spawn_app_with(|c| c.redis_url = Some(redis.url().into())).await;
    let f = &app.firm;
    let (a, b) = (
        Node::start(&app, &redis.url()).await,
        Node::start(&app, &redis.url()).await,
    );
    let mut client = channel(&[&a], &token(&app, &f.dept_head).await).await;
    let mut solicitor = channel(&[&b], &token(&app, &f.fee_earner).await).await;
    subscribed(&mut client, f.matter_a1, None).await;
    subscribed(&mut solicitor, f.matter_a1, None).await;

    client
        .send(f.matter_a1, "sent on node A")
        .await
        .expect("ack");
    let got = next_matching(&mut solicitor, "the message on node B", |u| {
        matches!(u, Update::Event(_))
    })
    .await;
    assert_eq!(message_text(&got).as_deref(), Some("sent on node A"));
    solicitor
        .send(f.matter_a1, "answered on node B")
        .await
        .expect("ack");
    let got = next_matching(
        &mut client,
        "the answer on node A",
        |u| matches!(u, Update::Event(e) if e.seq == 2),
    )
    .await;
    assert_eq!(message_text(&got).as_deref(), Some("answered on node B"));
    // Typing crosses nodes too (ephemeral, through Redis only).
    client.typing(f.matter_a1);
    next_matching(&mut solicitor, "typing across nodes", |u| {
        matches!(u, Update::Typing { .. })
    })
    .await;
}

#[tokio::test]
async fn a_redis_restart_mid_conversation_loses_no_acknowledged_message() {
    let mut redis = PrivateRedis::start().await;
    let app = spawn_app_with(|c| c.redis_url = Some(redis.url().into())).await;
    let f = &app.firm;
    let (a, b) = (
        Node::start(&app, &redis.url()).await,
        Node::start(&app, &redis.url()).await,
    );
    let mut sender = channel(&[&a], &token(&app, &f.fee_earner).await).await;
    let mut reader = channel(&[&b], &token(&app, &f.gc).await).await;
    subscribed(&mut sender, f.matter_a1, None).await;
    subscribed(&mut reader, f.matter_a1, Some(0)).await;

    // A send caught by a failure is re-sent under the same id: acknowledged once.
    let sending = send_in_background(sender, f.matter_a1, 80, Duration::from_millis(15));
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.down().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.up().await;
    let acked = sending.await.expect("sender");
    let seen = collect(&mut reader, acked.len(), Duration::from_secs(20)).await;
    assert_eq!(seen, acked, "every acknowledged message, once, in order");
    assert_eq!(acked, (1..=80).collect::<Vec<u64>>());
}

#[tokio::test]
async fn a_node_killed_with_sigkill_loses_nothing_its_clients_resume_elsewhere() {
    let redis = PrivateRedis::start().await;
    let app = spawn_app_with(|c| c.redis_url = Some(redis.url().into())).await;
    let f = &app.firm;
    let (mut a, b) = (
        Node::start(&app, &redis.url()).await,
        Node::start(&app, &redis.url()).await,
    );
    // Both start on A and know B as the next address.
    let mut sender = channel(&[&a, &b], &token(&app, &f.fee_earner).await).await;
    let mut reader = channel(&[&a, &b], &token(&app, &f.dept_head).await).await;
    subscribed(&mut sender, f.matter_a1, None).await;
    subscribed(&mut reader, f.matter_a1, Some(0)).await;

    // A send caught by a failure is re-sent under the same id: acknowledged once.
    let sending = send_in_background(sender, f.matter_a1, 60, Duration::from_millis(10));
    tokio::time::sleep(Duration::from_millis(250)).await;
    a.kill().await;
    let acked = sending.await.expect("sender");
    let seen = collect(&mut reader, acked.len(), Duration::from_secs(20)).await;
    assert_eq!(seen, acked, "every acknowledged message, once, in order");
    assert_eq!(acked, (1..=60).collect::<Vec<u64>>());
}
