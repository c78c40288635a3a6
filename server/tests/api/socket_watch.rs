//! The node's watch over its sockets: one batched re-check per node and interval, socket activity
//! recorded on the session, and control messages reaching every socket they concern at once.

use std::time::Duration;

use docket_client::Update;
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{message_text, next_matching, revoked, spawn_app_with, subscribed, TestApp};

/// How many times the server has called `function` in this test's database so far.
async fn calls(owner: &PgPool, function: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "select coalesce(sum(calls), 0)::bigint from pg_stat_user_functions where funcname = $1",
    )
    .bind(function)
    .fetch_one(owner)
    .await
    .expect("function statistics")
}

/// Waits until the watch has run at least `passes` more re-checks than Postgres had counted
/// (each pass calls `socket_session_states` once). Backends publish their counts within about a
/// second, so a pass under way when this starts may be counted among them, never more than one.
async fn recheck_passes(app: &TestApp, passes: i64) {
    let from = calls(&app.owner, "socket_session_states").await;
    let waited = async {
        while calls(&app.owner, "socket_session_states").await < from + passes {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), waited)
        .await
        .expect("the watch re-checks");
}

#[tokio::test]
async fn idle_sockets_are_rechecked_together_not_one_by_one() {
    let app = spawn_app_with(|c| c.channels.max_sockets_per_user = 100).await;
    let f = &app.firm;
    let mut sockets = Vec::new();
    for user in [&f.gc, &f.dept_head, &f.fee_earner] {
        for _ in 0..8 {
            let (_, mut channel) = app.sdk(user).await;
            subscribed(&mut channel, f.matter_a1, None).await;
            sockets.push(channel);
        }
    }
    // Counted over a window: each pooled backend publishes its counts when it has been idle a
    // while (about a second, sometimes longer), so the window's ends are uncertain by a few passes.
    // The 24 subscriptions' own access checks must be published before the window opens, or a
    // late publication lands inside it (seen on a loaded machine).
    let published = async {
        while calls(&app.owner, "socket_scopes").await < 24 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), published)
        .await
        .expect("the subscriptions' checks are counted");
    recheck_passes(&app, 1).await;
    let before = calls(&app.owner, "socket_session_states").await;
    let scopes_before = calls(&app.owner, "socket_scopes").await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let checks = calls(&app.owner, "socket_session_states").await - before;
    let scope_checks = calls(&app.owner, "socket_scopes").await - scopes_before;
    // Re-checked every second, each pass one call for all 24 sockets: about 6, give or take the
    // publishing delay. One by one, it would be 24 calls a second, about 150 in the window.
    let passes = 2..=20;
    assert!(passes.contains(&checks), "{checks} session checks in 6 s");
    assert!(
        passes.contains(&scope_checks),
        "{scope_checks} access checks in 6 s"
    );
    // Every socket is still open and subscribed: a message reaches all of them.
    let (poster, _) = sockets.split_first_mut().expect("sockets");
    poster
        .send(f.matter_a1, "still subscribed")
        .await
        .expect("sent");
    for channel in &mut sockets {
        next_matching(channel, "the message", |u| {
            message_text(u).as_deref() == Some("still subscribed")
        })
        .await;
    }
}

#[tokio::test]
async fn activity_on_a_socket_keeps_its_session_alive_until_it_stops() {
    let app = spawn_app_with(|_| {}).await;
    let f = &app.firm;
    let (_, mut channel) = app.sdk(&f.gc).await;
    subscribed(&mut channel, f.matter_a1, None).await;

    // Ten idle minutes, then a frame: the watch records it on the session.
    app.clock.advance(time::Duration::minutes(10));
    channel.typing(f.matter_a1);
    let at = app.clock.now();
    let recorded = async {
        loop {
            let seen: time::OffsetDateTime = sqlx::query_scalar(
                "select max(last_seen_at) from session where user_id = $1 and revoked_at is null",
            )
            .bind(f.gc.user_id.0)
            .fetch_one(&app.owner)
            .await
            .expect("session");
            if seen >= at {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), recorded)
        .await
        .expect("socket activity reached the session");

    // Ten more minutes: twenty since sign-in, ten since the frame. The socket stays open.
    app.clock.advance(time::Duration::minutes(10));
    recheck_passes(&app, 3).await;
    channel
        .send(f.matter_a1, "still here")
        .await
        .expect("the socket is still open");

    // Then sixteen quiet minutes: the session ends and the socket is told.
    app.clock.advance(time::Duration::minutes(16));
    next_matching(&mut channel, "the idle timeout", |u| {
        *u == Update::SessionEnded
    })
    .await;
    let reason: Option<String> = sqlx::query_scalar(
        "select revoked_reason from session where user_id = $1 order by last_seen_at desc limit 1",
    )
    .bind(f.gc.user_id.0)
    .fetch_one(&app.owner)
    .await
    .expect("session");
    assert_eq!(reason.as_deref(), Some("idle_timeout"));
}

#[tokio::test]
async fn control_messages_reach_every_socket_they_concern_without_waiting_for_the_interval() {
    // The safety re-check runs hourly here: only the control messages can act in time.
    let app = spawn_app_with(|c| {
        c.channels.recheck_seconds = 3600;
        c.channels.max_sockets_per_user = 100;
    })
    .await;
    let f = &app.firm;
    let mut members = Vec::new();
    for _ in 0..5 {
        let (_, mut channel) = app.sdk(&f.dept_head).await;
        subscribed(&mut channel, f.matter_a1, None).await;
        members.push(channel);
    }
    let (gc, mut gc_channel) = app.sdk(&f.gc).await;
    subscribed(&mut gc_channel, f.matter_a1, None).await;

    let firm = app.bearer(&f.fee_earner).await;
    let (status, body) = firm
        .delete(&format!(
            "/api/v1/matters/{}/grants/{}",
            f.matter_a1, f.dept_head.user_id
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for channel in &mut members {
        revoked(channel, f.matter_a1).await;
    }

    // The general counsel's access did not change: still subscribed, still able to post.
    gc_channel
        .send(f.matter_a1, "unaffected")
        .await
        .expect("still authorised");

    gc.sign_out().await.expect("signed out");
    next_matching(&mut gc_channel, "the session ending", |u| {
        *u == Update::SessionEnded
    })
    .await;
}

#[tokio::test]
async fn every_socket_is_pinged_each_heartbeat_but_not_all_at_once() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;

    let app = spawn_app_with(|c| {
        c.channels.heartbeat_seconds = 1;
        c.channels.max_sockets_per_user = 100;
    })
    .await;
    let token = app.bearer(&app.firm.gc).await.bearer.expect("token");
    let mut sockets = Vec::new();
    for _ in 0..20 {
        sockets.push(crate::channels::raw_socket(&app, &token).await);
    }
    // Each socket's pings over three heartbeats, as offsets from a common start.
    let start = tokio::time::Instant::now();
    let window = Duration::from_millis(3_000);
    let pings = futures_util::future::join_all(sockets.iter_mut().map(|socket| async move {
        let mut seen = Vec::new();
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout_at(start + window, socket.next()).await
        {
            if matches!(message, Message::Ping(_)) {
                seen.push(start.elapsed());
            }
        }
        seen
    }))
    .await;
    for seen in &pings {
        assert!(
            (2..=4).contains(&seen.len()),
            "a socket is pinged once a heartbeat: {seen:?}"
        );
    }
    let firsts: Vec<Duration> = pings.iter().map(|seen| seen[0]).collect();
    let spread = *firsts.iter().max().expect("pings") - *firsts.iter().min().expect("pings");
    // Twenty sockets, consecutive connection ids: one slice each, a twentieth of a heartbeat
    // apart. All at once, they would be pinged within a few milliseconds of each other.
    assert!(
        spread >= Duration::from_millis(400),
        "the node's pings are spread over the heartbeat: first pings at {firsts:?}"
    );
}
