//! The transactional outbox: what a committed change announces reaches open sockets even when the
//! node that committed it dies before publishing; a delivery that keeps failing is retried, then
//! dead-lettered for an operator who can replay it; two dispatchers never deliver one row twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docket_client::Update;
use docket_protocol::ids::{AlertId, UserId};
use docket_server::admin::{AdminCommand, OutboxCommand};
use docket_server::config::OutboxSettings;
use docket_server::outbox::{dispatcher, Announcement, Control, Deliver, DeliveryError, Pending};
use futures_util::future::BoxFuture;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{
    new_document, next_matching, pdf, revoked, spawn_app_with, subscribed, TestApp,
};
use crate::nodes::{channel, token, Node, PrivateRedis};

/// Outbox settings for tests: a short grace and quick polls, so a dispatcher takes over within a
/// second.
const FAST: [(&str, &str); 3] = [
    ("DOCKET_OUTBOX_GRACE_MS", "300"),
    ("DOCKET_OUTBOX_POLL_MS", "100"),
    ("DOCKET_OUTBOX_RETRY_BASE_MS", "200"),
];

fn fast(settings: &mut OutboxSettings) {
    settings.grace_ms = 300;
    settings.poll_ms = 100;
    settings.retry_base_ms = 200;
}

async fn outbox_rows(app: &TestApp) -> Vec<(Uuid, i32, Option<String>, bool)> {
    sqlx::query_as(
        "select outbox_id, attempts, last_error, dead_at is not null from outbox order by created_at",
    )
    .fetch_all(&app.owner)
    .await
    .expect("outbox rows")
}

/// Waits (up to `within`) until the outbox satisfies `done`.
async fn outbox_until(
    app: &TestApp,
    within: Duration,
    what: &str,
    done: impl Fn(&[(Uuid, i32, Option<String>, bool)]) -> bool,
) -> Vec<(Uuid, i32, Option<String>, bool)> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let rows = outbox_rows(app).await;
        if done(&rows) {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The in-process app and its Redis, and node A on a Redis of its own that the test takes away
/// before A commits something: A cannot publish it, and is then killed.
struct Doomed {
    redis: PrivateRedis,
    app: TestApp,
    lost_redis: PrivateRedis,
    a: Node,
}

impl Doomed {
    async fn start() -> Self {
        let redis = PrivateRedis::start().await;
        let url = redis.url();
        let app = spawn_app_with(|c| {
            c.redis_url = Some(url.into());
            fast(&mut c.outbox);
        })
        .await;
        let lost_redis = PrivateRedis::start().await;
        let a = Node::start_with(&app, &lost_redis.url(), &FAST).await;
        Self {
            redis,
            app,
            lost_redis,
            a,
        }
    }
}

/// Collects the alerts that reach `channel` within `window`.
async fn alerts_within(channel: &mut docket_client::Channel, window: Duration) -> Vec<AlertId> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + window;
    while let Ok(Some(update)) = tokio::time::timeout_at(deadline, channel.next()).await {
        if let Update::Alert(alert) = update {
            seen.push(alert.alert_id);
        }
    }
    seen
}

#[tokio::test]
async fn a_message_reaches_another_node_though_its_node_died_before_publishing() {
    let Doomed {
        redis,
        app,
        mut lost_redis,
        mut a,
    } = Doomed::start().await;
    let f = &app.firm;
    let b = Node::start_with(&app, &redis.url(), &FAST).await;
    let mut client = channel(&[&a], &token(&app, &f.dept_head).await).await;
    let mut fee_earner = channel(&[&b], &token(&app, &f.fee_earner).await).await;
    subscribed(&mut client, f.matter_a1, None).await;
    subscribed(&mut fee_earner, f.matter_a1, None).await;

    // Acknowledged (durable) on A, never published: nothing else happens on the matter after it.
    lost_redis.down().await;
    let ack = client
        .send(f.matter_a1, "sent as the node failed")
        .await
        .expect("ack");
    a.kill().await;
    let got = next_matching(
        &mut fee_earner,
        "the message on node B",
        |u| matches!(u, Update::Event(e) if e.seq == ack.seq),
    )
    .await;
    assert_eq!(
        crate::helpers::message_text(&got).as_deref(),
        Some("sent as the node failed")
    );
}

#[tokio::test]
async fn a_client_upload_alerts_the_fee_earner_once_though_its_node_died_before_publishing() {
    let Doomed {
        redis,
        app,
        mut lost_redis,
        mut a,
    } = Doomed::start().await;
    let f = &app.firm;
    // B and C share the working Redis; the fee earner is on B.
    let b = Node::start_with(&app, &redis.url(), &FAST).await;
    let _c = Node::start_with(&app, &redis.url(), &FAST).await;
    let mut fee_earner = channel(&[&b], &token(&app, &f.fee_earner).await).await;

    lost_redis.down().await;
    let client = app.bearer(&f.dept_head).await.at(&a.base);
    let mut uploaded = Vec::new();
    for i in 0..3 {
        let (status, body) = new_document(
            &client,
            f.matter_a1,
            "correspondence",
            &format!("letter-{i}.pdf"),
            pdf(&format!("upload {i}")),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        uploaded.push(body["document_id"].as_str().expect("id").to_owned());
    }
    a.kill().await;

    // Three alerts, each once, though A, B, C and the in-process node all ran dispatchers.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match next_matching(&mut fee_earner, "the upload alerts", |u| {
            matches!(u, Update::Alert(_))
        })
        .await
        {
            Update::Alert(alert) => seen.push(alert.alert_id),
            _ => unreachable!(),
        }
    }
    seen.extend(alerts_within(&mut fee_earner, Duration::from_secs(2)).await);
    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "three uploads, three alerts: {seen:?}");
    assert_eq!(seen.len(), 3, "each alert arrives once: {seen:?}");
    outbox_until(&app, Duration::from_secs(5), "an empty outbox", |rows| {
        rows.is_empty()
    })
    .await;
}

#[tokio::test]
async fn a_revocation_reaches_an_open_socket_though_its_node_died_before_publishing() {
    let Doomed {
        redis,
        app,
        mut lost_redis,
        mut a,
    } = Doomed::start().await;
    let f = &app.firm;
    // B's sockets re-check on their own only hourly: only the announcement can reach them in time.
    let mut slow_recheck = FAST.to_vec();
    slow_recheck.push(("DOCKET_WS_RECHECK_SECONDS", "3600"));
    let b = Node::start_with(&app, &redis.url(), &slow_recheck).await;
    let mut client = channel(&[&b], &token(&app, &f.dept_head).await).await;
    subscribed(&mut client, f.matter_a1, None).await;

    lost_redis.down().await;
    let firm = app.bearer(&f.fee_earner).await.at(&a.base);
    let (status, body) = firm
        .delete(&format!(
            "/api/v1/matters/{}/grants/{}",
            f.matter_a1, f.dept_head.user_id
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    a.kill().await;

    revoked(&mut client, f.matter_a1).await;
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_is_retried_then_dead_lettered_and_an_operator_replays_it() {
    let mut redis = PrivateRedis::start().await;
    let app = spawn_app_with(|c| {
        c.redis_url = Some(redis.url().into());
        fast(&mut c.outbox);
        c.outbox.max_attempts = 3;
    })
    .await;
    let f = &app.firm;

    // With Redis gone, no node can publish: the fast path fails, then each retry.
    redis.down().await;
    let client = app.bearer(&f.dept_head).await;
    let (status, body) = new_document(
        &client,
        f.matter_a1,
        "correspondence",
        "letter.pdf",
        pdf("dead letter"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let rows = outbox_until(&app, Duration::from_secs(15), "dead letters", |rows| {
        !rows.is_empty() && rows.iter().all(|r| r.3)
    })
    .await;
    // The card (events) and the alert, each tried three times.
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (_, attempts, error, _) in &rows {
        assert_eq!(*attempts, 3);
        let error = error.as_deref().expect("a reason");
        assert!(error.contains("Redis"), "{error}");
    }

    redis.up().await;
    let listed = app
        .admin(AdminCommand::Outbox(OutboxCommand::List))
        .await
        .expect("list");
    for (id, ..) in &rows {
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(&format!("dead {id} "))),
            "{listed}"
        );
    }
    assert!(listed.contains("attempts=3"), "{listed}");

    // A node that joins now learns of the upload only through the replay.
    let b = Node::start_with(&app, &redis.url(), &FAST).await;
    let mut fee_earner = channel(&[&b], &token(&app, &f.fee_earner).await).await;
    let replayed = app
        .admin(AdminCommand::Outbox(OutboxCommand::Replay {
            outbox_id: None,
            dead: true,
        }))
        .await
        .expect("replay");
    assert_eq!(replayed, "2 outbox row(s) due again");
    next_matching(&mut fee_earner, "the replayed alert", |u| {
        matches!(u, Update::Alert(_))
    })
    .await;
    outbox_until(&app, Duration::from_secs(5), "an empty outbox", |rows| {
        rows.is_empty()
    })
    .await;
    let err = app
        .admin(AdminCommand::Outbox(OutboxCommand::Replay {
            outbox_id: Some(rows[0].0),
            dead: false,
        }))
        .await
        .expect_err("gone");
    assert!(err.to_string().contains("no such outbox row"), "{err}");
}

/// Counts what it delivers, slowly enough that two dispatchers overlap.
#[derive(Debug, Default)]
struct Counting {
    by_user: Mutex<HashMap<UserId, usize>>,
    delivered: std::sync::atomic::AtomicUsize,
}

impl Deliver for Counting {
    fn deliver<'a>(
        &'a self,
        announcement: &'a Announcement,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(3)).await;
            if let Announcement::Control(Control::UserChanged { user_id }) = announcement {
                *self
                    .by_user
                    .lock()
                    .expect("lock")
                    .entry(*user_id)
                    .or_default() += 1;
            }
            self.delivered
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        })
    }
}

#[tokio::test]
async fn two_dispatchers_never_deliver_one_row_twice() {
    // The app's own dispatcher first looks after an hour: the two below do the work.
    let app = spawn_app_with(|c| {
        c.outbox.grace_ms = 0;
        c.outbox.poll_ms = 3_600_000;
    })
    .await;
    let users: Vec<UserId> = (0..150).map(|_| UserId(Uuid::now_v7())).collect();
    let pending: Vec<Pending> = users
        .iter()
        .map(|user_id| {
            Pending::new(Announcement::Control(Control::UserChanged {
                user_id: *user_id,
            }))
        })
        .collect();
    let mut tx = docket_server::db::channel_transaction(&app.runtime)
        .await
        .expect("tx");
    app.state
        .outbox
        .write(&mut tx, &pending)
        .await
        .expect("written");
    tx.commit().await.expect("commit");

    let settings = app.config.outbox.clone();
    let dispatchers: Vec<Arc<Counting>> = (0..2).map(|_| Arc::default()).collect();
    let runs = dispatchers.iter().map(|deliver| {
        let (pool, settings, deliver) = (app.runtime.clone(), settings.clone(), deliver.clone());
        tokio::spawn(async move {
            while dispatcher::dispatch_once(&pool, &*deliver, &settings)
                .await
                .expect("dispatch")
                > 0
            {}
        })
    });
    for run in runs.collect::<Vec<_>>() {
        run.await.expect("dispatcher");
    }
    let mut total: HashMap<UserId, usize> = HashMap::new();
    for d in &dispatchers {
        assert!(
            d.delivered.load(std::sync::atomic::Ordering::Relaxed) > 0,
            "both dispatchers took rows"
        );
        for (user, n) in d.by_user.lock().expect("lock").iter() {
            *total.entry(*user).or_default() += n;
        }
    }
    assert_eq!(total.len(), users.len(), "every row delivered");
    assert!(
        total.values().all(|n| *n == 1),
        "no row delivered twice: {total:?}"
    );
    assert!(outbox_rows(&app).await.is_empty());
}
