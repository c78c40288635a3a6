//! The transactional outbox: what a committed change must announce, written in the change's own
//! transaction so that an announcement exists exactly when its change committed.
//!
//! # How an announcement travels
//! 1. Domain code records it on the transaction ([`crate::db::Tenant::announce`]; the channel's
//!    batch writer calls [`Outbox::write`] itself). [`crate::db::Tenant::commit`] inserts the
//!    rows in the same transaction.
//! 2. After the commit, the node that wrote it delivers it at once (the fast path,
//!    [`Outbox::after_commit`]) and deletes the row once delivery succeeded.
//! 3. If that node dies or its bus fails first, any node's [`dispatcher`] claims the row once
//!    [`crate::config::OutboxSettings::grace_ms`] has passed (the row's first `next_attempt_at`),
//!    with `for update skip locked` so two dispatchers never hold one row; it delivers and deletes
//!    it. A failure is retried with back-off and, after `max_attempts`, kept as dead with its
//!    reason for an operator (`docket admin outbox`, [`admin`]).
//!
//! Delivery is at least once. The live consumers are idempotent: channel rooms drop a `seq` they
//! have delivered, a node drops an alert id it has delivered, and a control message only makes
//! sockets re-check. E-mail cannot be taken back: it is sent only by a dispatcher holding its row,
//! so a second send needs a node to die between the relay accepting it and the commit.
//!
//! This module knows nothing of sockets or Redis: the real-time layer implements [`Deliver`].
//! So `auth`, `access` and the domains announce through the transaction without importing the
//! channels.

pub mod admin;
pub mod dispatcher;

use std::sync::Arc;
use std::time::Duration;

use docket_protocol::auth::{Alert, AlertDetail};
use docket_protocol::directory::Scope;
use docket_protocol::ids::{MatterId, SessionId, UserId};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::config::OutboxSettings;
use crate::Result;

/// Something a committed change announces. Stored as JSON in `outbox.announcement`; a row whose
/// announcement this version cannot read is dead-lettered, never dropped.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "a", rename_all = "snake_case")]
pub enum Announcement {
    /// Channel events `first_seq..=last_seq` of one matter were committed.
    Events {
        matter_id: MatterId,
        first_seq: u64,
        last_seq: u64,
        /// The events as prepared for sockets, when the writer has them in hand (the fast path);
        /// a dispatcher reads them back from the channel log instead.
        #[serde(skip)]
        frames: Vec<EventFrame>,
    },
    /// An alert for one user's open sockets (already stored in `user_alert`).
    Alert { user_id: UserId, alert: Alert },
    /// Something open sockets must react to.
    Control(Control),
    /// Several announcements in one row, delivered in order: the channel writer's batch (the
    /// events of every matter in it), so a batch costs one outbox row however many matters it
    /// touched.
    Several { all: Vec<Announcement> },
    /// An e-mail to send once the change committed (a security notice). Only a dispatcher sends
    /// it, holding the row, never the fast path: a slow relay cannot make two nodes send it twice,
    /// and a node that dies mid-send leaves it for another (at least once).
    Email { email: crate::mail::Email },
    /// Channel events committed, for the notifier to read back and turn into notices
    /// ([`crate::notify::expand`]). Dispatchers only, in the claiming transaction.
    Notices {
        ranges: Vec<crate::notify::expand::SeqRange>,
    },
    /// One notification falls due ([`crate::notify::send`]). Dispatchers only, in the claiming
    /// transaction; written by `notification_enqueue`.
    Notification { notification_id: Uuid },
}

impl Announcement {
    /// The matter it concerns, if any (the row's `matter_id`, checked by the insert policy).
    pub fn matter_id(&self) -> Option<MatterId> {
        match self {
            Self::Events { matter_id, .. } => Some(*matter_id),
            Self::Alert { alert, .. } => match &alert.detail {
                AlertDetail::ClientUpload { matter_id, .. }
                | AlertDetail::Payment { matter_id, .. } => Some(*matter_id),
                AlertDetail::NewDevice { .. } | AlertDetail::MfaLocked { .. } => None,
                AlertDetail::Notice { matter_id, .. } => *matter_id,
                AlertDetail::Escalation { matter_id, .. } => Some(*matter_id),
            },
            Self::Control(_)
            | Self::Several { .. }
            | Self::Email { .. }
            | Self::Notices { .. }
            | Self::Notification { .. } => None,
        }
    }

    /// The `outbox.consumer` that delivers it.
    pub fn consumer(&self) -> &'static str {
        match self {
            Self::Email { .. } => "email",
            Self::Notices { .. } => "notify",
            Self::Notification { .. } => "notification",
            _ => "live",
        }
    }

    /// Whether its consumer works in the database, in the dispatcher's transaction.
    pub fn in_transaction(&self) -> bool {
        matches!(self, Self::Notices { .. } | Self::Notification { .. })
    }

    /// Whether only a dispatcher delivers it, never the fast path after a commit.
    pub fn dispatched_only(&self) -> bool {
        self.consumer() != "live"
    }
}

/// What became of an announcement delivered inside the claiming transaction.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    /// Delivered: the row goes.
    Done,
    /// Not yet (quiet hours): try again after this long, with no attempt counted.
    Later(std::time::Duration),
    /// Some of it was delivered (and recorded); the rest failed for this reason and is retried.
    Partial(String),
}

/// One committed channel event, serialised once as the socket frame every node and socket sends.
#[derive(Clone, Debug)]
pub struct EventFrame {
    pub seq: u64,
    /// The scope a socket's user needs to receive it.
    pub scope: Scope,
    /// `ServerFrame::Event` as JSON.
    pub frame: String,
}

/// Changes open sockets must react to within seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "c", rename_all = "snake_case")]
pub enum Control {
    /// One session ended (signed out, revoked, expired).
    SessionEnded { session_id: SessionId },
    /// Some or all of a user's sessions ended, or their access changed: re-check everything.
    UserChanged { user_id: UserId },
    /// Something affecting many matters changed (a practice area's portal switch): re-check all.
    PolicyChanged,
}

/// An announcement with its row's id, recorded on a transaction until it commits.
#[derive(Clone, Debug)]
pub struct Pending {
    pub outbox_id: Uuid,
    pub announcement: Announcement,
}

impl Pending {
    pub fn new(announcement: Announcement) -> Self {
        Self {
            outbox_id: Uuid::now_v7(),
            announcement,
        }
    }
}

/// Why a delivery failed: an error message for the log and the dead-letter row, never content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryError(pub String);

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Delivers announcements to this node's sockets and to every other node: implemented by the
/// real-time layer. Must be idempotent (see the module documentation).
pub trait Deliver: Send + Sync + std::fmt::Debug {
    fn deliver<'a>(
        &'a self,
        announcement: &'a Announcement,
    ) -> BoxFuture<'a, std::result::Result<(), DeliveryError>>;

    /// Delivers an announcement whose consumer works in the database, within the dispatcher's
    /// transaction (a savepoint: an error undoes its writes, and the row stays). `None` for the
    /// announcements [`Self::deliver`] takes.
    fn deliver_in<'a>(
        &'a self,
        _conn: &'a mut PgConnection,
        _announcement: &'a Announcement,
    ) -> Option<BoxFuture<'a, Result<Handled>>> {
        None
    }
}

/// Routes each announcement to its consumer: e-mail to the mailer, notices to the notifier, the
/// rest to the live layer.
#[derive(Debug)]
pub struct Routed {
    pub live: Arc<dyn Deliver>,
    pub mailer: crate::mail::Mailer,
    pub notifier: Arc<crate::notify::send::Notifier>,
}

impl Deliver for Routed {
    fn deliver_in<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        announcement: &'a Announcement,
    ) -> Option<BoxFuture<'a, Result<Handled>>> {
        match announcement {
            Announcement::Notices { ranges } => Some(Box::pin(async move {
                crate::notify::expand::expand(conn, &self.notifier.settings, ranges).await?;
                Ok(Handled::Done)
            })),
            Announcement::Notification { notification_id } => {
                Some(Box::pin(self.notifier.send(conn, *notification_id)))
            }
            _ => None,
        }
    }

    fn deliver<'a>(
        &'a self,
        announcement: &'a Announcement,
    ) -> BoxFuture<'a, std::result::Result<(), DeliveryError>> {
        match announcement {
            Announcement::Email { email } => Box::pin(async move {
                // The error names the relay's answer, never the message.
                self.mailer
                    .send(email.clone())
                    .await
                    .map_err(|e| DeliveryError(format!("{e:#}")))
            }),
            other => self.live.deliver(other),
        }
    }
}

/// This node's side of the outbox: the fast path after a commit, and the rows it has delivered.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Outbox(Arc<OutboxInner>);

#[derive(Debug)]
struct OutboxInner {
    pool: PgPool,
    deliver: Arc<dyn Deliver>,
    settings: OutboxSettings,
    /// Rows delivered on the fast path, deleted in batches off the request's path.
    delivered: mpsc::UnboundedSender<Uuid>,
}

impl Outbox {
    /// The node's outbox, delivering through `deliver`. Starts the task that deletes delivered
    /// rows; the dispatcher is started separately by the serving process ([`Self::dispatch`]).
    pub fn new(pool: PgPool, deliver: Arc<dyn Deliver>, settings: OutboxSettings) -> Self {
        let (delivered, rx) = mpsc::unbounded_channel();
        // At most 200 ms, and a quarter of the grace period.
        let linger = Duration::from_millis((settings.grace_ms / 4).min(200));
        tokio::spawn(delete_delivered(pool.clone(), rx, linger));
        Self(Arc::new(OutboxInner {
            pool,
            deliver,
            settings,
            delivered,
        }))
    }

    /// Inserts announcements in the caller's transaction (one statement), due for the dispatchers
    /// once the grace period has passed.
    pub async fn write(&self, conn: &mut PgConnection, pending: &[Pending]) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::with_capacity(pending.len());
        let mut matters: Vec<Option<Uuid>> = Vec::with_capacity(pending.len());
        let mut consumers = Vec::with_capacity(pending.len());
        let mut bodies = Vec::with_capacity(pending.len());
        for p in pending {
            ids.push(p.outbox_id);
            matters.push(p.announcement.matter_id().map(|m| m.0));
            consumers.push(p.announcement.consumer());
            bodies.push(serde_json::to_value(&p.announcement).map_err(anyhow::Error::from)?);
        }
        // Rows with no fast path are due at once; the rest wait out the grace.
        sqlx::query!(
            "insert into outbox (outbox_id, matter_id, consumer, announcement, next_attempt_at)
             select i, m, c, a,
                    clock_timestamp() + make_interval(secs => case when c = 'live' then $5::float8 else 0 end)
             from unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[]) as t(i, m, c, a)",
            &ids,
            &matters as &[Option<Uuid>],
            &consumers as &[&str],
            &bodies,
            self.0.settings.grace_ms as f64 / 1000.0,
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Delivers what a transaction announced, right after its commit. A failure is logged and left
    /// to the dispatchers: the row is still there.
    pub async fn after_commit(&self, pending: Vec<Pending>) {
        for p in pending {
            if p.announcement.dispatched_only() {
                // Left to the dispatchers (see `Announcement::Email`).
                continue;
            }
            match dispatcher::deliver_within(&*self.0.deliver, &p.announcement).await {
                Ok(()) => self.delivered(p.outbox_id),
                Err(err) => tracing::warn!(
                    outbox_id = %p.outbox_id, error = %err,
                    "publishing after commit failed; the outbox dispatcher will retry"
                ),
            }
        }
    }

    /// How long a new row waits before the dispatchers may take it, milliseconds (for a row
    /// written by SQL, as the channel writer's is).
    pub fn grace_ms(&self) -> u64 {
        self.0.settings.grace_ms
    }

    /// Records that a row was delivered (the batch writer's fast path).
    pub fn delivered(&self, outbox_id: Uuid) {
        let _ = self.0.delivered.send(outbox_id);
    }

    /// Runs this node's dispatchers until the process ends: one for the live layer and e-mail,
    /// and `notice_workers` for the notifier's consumers, with a connection each of their own.
    pub async fn dispatch(self, notice_workers: usize) {
        let notice_workers = notice_workers.max(1);
        let notices_pool = crate::db::pool_beside(&self.0.pool, notice_workers + 1);
        let lanes = [
            (dispatcher::Lane::Live, self.0.pool.clone()),
            (dispatcher::Lane::Expand, notices_pool.clone()),
        ]
        .into_iter()
        .chain(std::iter::repeat_n(
            (dispatcher::Lane::Deliveries, notices_pool),
            notice_workers,
        ));
        let runs: Vec<_> = lanes
            .map(|(lane, pool)| {
                tokio::spawn(dispatcher::run(
                    pool,
                    self.0.deliver.clone(),
                    self.0.settings.clone(),
                    lane,
                ))
            })
            .collect();
        // Aborting this future (shutdown) must stop them all.
        struct AbortAll(Vec<tokio::task::JoinHandle<()>>);
        impl Drop for AbortAll {
            fn drop(&mut self) {
                for run in &self.0 {
                    run.abort();
                }
            }
        }
        let _all = AbortAll(runs);
        std::future::pending().await
    }
}

/// Delivered rows cleared per round trip, at most.
const CLEAR_BATCH: usize = 512;

/// Deletes delivered rows, a batch per round trip. A row a dispatcher holds meanwhile waits for
/// its lock and is then already gone.
///
/// It lingers a moment after the first row arrives so that one delete clears many: at a few
/// hundred sends a second, each to a different matter, every batch would otherwise cost a
/// transaction of its own. The linger is a fraction of the grace period, so the dispatchers never
/// see a row only because it was waiting here.
async fn delete_delivered(pool: PgPool, mut rx: mpsc::UnboundedReceiver<Uuid>, linger: Duration) {
    let mut ids = Vec::new();
    while rx.recv_many(&mut ids, CLEAR_BATCH).await > 0 {
        if ids.len() < CLEAR_BATCH {
            tokio::time::sleep(linger).await;
        }
        while ids.len() < CLEAR_BATCH {
            match rx.try_recv() {
                Ok(id) => ids.push(id),
                Err(_) => break,
            }
        }
        let result: Result<()> = async {
            // As docket_channel, like every read of the queue. Losing this commit in a crash only
            // means a second, harmless delivery: no need to wait for the disk. All in the one
            // round trip that opens the transaction.
            let mut tx = pool
                .begin_with(
                    "begin; set local role docket_channel; set local synchronous_commit = off",
                )
                .await?;
            sqlx::query!("delete from outbox where outbox_id = any($1)", &ids)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        if let Err(err) = result {
            // The rows stay; a dispatcher delivers them again, which consumers tolerate.
            tracing::warn!(error = %err, rows = ids.len(), "could not clear delivered outbox rows");
        }
        ids.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_announcements_read_back() {
        let matter_id = MatterId(Uuid::now_v7());
        let cases = [
            Announcement::Events {
                matter_id,
                first_seq: 3,
                last_seq: 4,
                frames: Vec::new(),
            },
            Announcement::Control(Control::SessionEnded {
                session_id: SessionId(Uuid::now_v7()),
            }),
            Announcement::Control(Control::PolicyChanged),
            Announcement::Several {
                all: vec![Announcement::Events {
                    matter_id,
                    first_seq: 5,
                    last_seq: 9,
                    frames: Vec::new(),
                }],
            },
        ];
        for case in cases {
            let json = serde_json::to_value(&case).expect("json");
            let back: Announcement = serde_json::from_value(json.clone()).expect("reads back");
            assert_eq!(serde_json::to_value(&back).expect("json"), json);
        }
        let json = serde_json::to_value(Announcement::Events {
            matter_id,
            first_seq: 1,
            last_seq: 1,
            frames: vec![EventFrame {
                seq: 1,
                scope: Scope::Messages,
                frame: "{}".into(),
            }],
        })
        .expect("json");
        assert!(
            json.get("frames").is_none(),
            "frames stay in memory: the channel log is the record"
        );
    }
}
