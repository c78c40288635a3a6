//! Group commit: concurrent sends are batched into one transaction, and each is acknowledged
//! only after that transaction commits. The batch's one outbox row (its events in every matter)
//! commits with it, so its events reach the other nodes even if this one dies before publishing
//! them.
//!
//! One transaction per message tops out near the disk's fsync rate; a batch pays one fsync for
//! many messages. Each shard task takes whatever is queued (up to a batch, after lingering if
//! configured), writes it, publishes the events and answers every sender. While a batch commits,
//! the next one gathers. Matters are spread over shards by id, so one matter's sends stay in one
//! shard.
//!
//! A batch is one call of the database's `channel_write` (decision 0024): one round trip, which
//! commits by itself. Resends are recognised by the unique index refusing them, and only then is
//! the batch written again with its sends looked up first.
//!
//! The batch has no single actor: `channel_write` runs as `docket_channel`, whose insert policy
//! checks each row's author against the matter's access (see the channel migration), so the
//! database still refuses a row whose author may not post there.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use docket_protocol::ids::MatterId;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::hub::Hub;
use super::store::{self, NewEvent, StoredEvent};
use crate::clock::Clock;
use crate::outbox::{Announcement, Outbox, Pending};
use crate::{Error, Result};

/// Sends queued per shard before senders wait (back-pressure).
const QUEUE: usize = 4_096;

/// A stored (or recognised) send.
#[derive(Debug)]
pub struct Appended {
    pub seq: u64,
    /// The `client_msg_id` had been stored before: nothing new was written.
    pub duplicate: bool,
}

struct Request {
    event: NewEvent,
    reply: oneshot::Sender<Result<Appended>>,
}

/// How sends are grouped into transactions.
#[derive(Clone, Copy, Debug)]
pub struct Batching {
    /// Writer tasks; a matter's sends always go to the same one.
    pub shards: usize,
    /// Most sends in one transaction.
    pub max_batch: usize,
    /// How long a batch waits after its first send for more (zero: only what already queued).
    pub linger: Duration,
}

/// Handle to the writer shards.
#[derive(Clone, Debug)]
pub struct Writer {
    shards: Vec<mpsc::Sender<Request>>,
}

impl Writer {
    /// Starts the writer tasks.
    pub fn spawn(pool: PgPool, clock: Clock, hub: Hub, outbox: Outbox, batching: Batching) -> Self {
        let shards = (0..batching.shards.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                let shard = Shard {
                    pool: pool.clone(),
                    clock: clock.clone(),
                    hub: hub.clone(),
                    outbox: outbox.clone(),
                };
                tokio::spawn(shard.run(rx, batching));
                tx
            })
            .collect();
        Self { shards }
    }

    /// Appends one event; resolves once it is durable (or recognised as a resend).
    pub async fn append(&self, event: NewEvent) -> Result<Appended> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        event.matter_id.hash(&mut hasher);
        let shard = &self.shards[(hasher.finish() % self.shards.len() as u64) as usize];
        let (reply, answer) = oneshot::channel();
        shard
            .send(Request { event, reply })
            .await
            .map_err(|_| anyhow::anyhow!("the channel writer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the channel writer dropped a send"))?
    }
}

/// What one writer task works with.
struct Shard {
    pool: PgPool,
    clock: Clock,
    hub: Hub,
    outbox: Outbox,
}

/// A committed batch: each send's outcome, the stored events, and their outbox row (none if every
/// send was a resend).
type Committed = (Vec<Appended>, Vec<StoredEvent>, Option<Pending>);

impl Shard {
    async fn run(self, mut rx: mpsc::Receiver<Request>, batching: Batching) {
        let max_batch = batching.max_batch.max(1);
        let mut batch = Vec::with_capacity(max_batch);
        while let Some(first) = rx.recv().await {
            batch.push(first);
            let until = tokio::time::Instant::now() + batching.linger;
            while batch.len() < max_batch {
                let next = match rx.try_recv() {
                    Ok(request) => Some(request),
                    Err(_) if batching.linger.is_zero() => None,
                    Err(_) => tokio::time::timeout_at(until, rx.recv())
                        .await
                        .ok()
                        .flatten(),
                };
                match next {
                    Some(request) => batch.push(request),
                    None => break,
                }
            }
            let events: Vec<&NewEvent> = batch.iter().map(|r| &r.event).collect();
            match self.commit(&events).await {
                Ok((outcomes, stored, pending)) => {
                    self.publish(&stored, pending).await;
                    for (request, outcome) in batch.drain(..).zip(outcomes) {
                        let _ = request.reply.send(Ok(outcome));
                    }
                }
                // One bad row fails the whole batch: retry each alone so only it fails.
                Err(_) if batch.len() > 1 => {
                    for request in batch.drain(..) {
                        let result = match self.commit(&[&request.event]).await {
                            Ok((mut outcomes, stored, pending)) => {
                                self.publish(&stored, pending).await;
                                outcomes
                                    .pop()
                                    .ok_or_else(|| Error::Internal(anyhow::anyhow!("no outcome")))
                            }
                            Err(err) => Err(err),
                        };
                        let _ = request.reply.send(result);
                    }
                }
                Err(err) => {
                    if let Some(request) = batch.pop() {
                        let _ = request.reply.send(Err(err));
                    }
                }
            }
        }
    }

    /// The fast path: publishes a committed batch and clears its outbox row. If publishing
    /// fails, the row stays for the dispatchers; the senders are acknowledged either way, since
    /// their messages are durable.
    async fn publish(&self, stored: &[StoredEvent], pending: Option<Pending>) {
        if self.hub.publish_events(stored).await.is_ok() {
            if let Some(p) = pending {
                self.outbox.delivered(p.outbox_id);
            }
        }
    }

    async fn commit(&self, events: &[&NewEvent]) -> Result<Committed> {
        commit(&self.pool, &self.clock, &self.outbox, events).await
    }
}

type Key = (Uuid, Uuid, Uuid);

/// A row the insert policy refused (the author lost access since subscribing) is `forbidden`.
fn refused_by_policy(err: Error) -> Error {
    match &err {
        Error::Database(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42501") => {
            Error::Forbidden
        }
        _ => err,
    }
}

/// The unique index on (matter, author, `client_msg_id`) refused a row: the batch holds a resend.
fn is_resend(err: &Error) -> bool {
    matches!(err, Error::Database(sqlx::Error::Database(db)) if db.code().as_deref() == Some("23505"))
}

/// Writes a batch, assuming no send is a resend (the common case, and the cheap one: one round
/// trip, no lookup before the insert). If the unique index says otherwise, nothing was written,
/// and the batch is written again in a transaction that looks its resends up first.
async fn commit(
    pool: &PgPool,
    clock: &Clock,
    outbox: &Outbox,
    events: &[&NewEvent],
) -> Result<Committed> {
    let fast = async {
        let mut conn = pool.acquire().await?;
        write(&mut conn, clock, outbox, events, HashMap::new()).await
    };
    match fast.await {
        Err(err) if is_resend(&err) => {
            let mut tx = crate::db::channel_transaction(pool).await?;
            let known = store::find_sent(&mut tx, events)
                .await?
                .into_iter()
                .map(|(m, a, c, seq)| ((m, a, c), seq))
                .collect();
            let committed = write(&mut tx, clock, outbox, events, known).await?;
            tx.commit().await?;
            Ok(committed)
        }
        other => other,
    }
}

/// Writes the sends not already `known` (stored before, by key) in one call: allocates `seq`s per
/// matter in batch order, inserts, writes one outbox row for them all. Outside a transaction the
/// call commits by itself; inside one, the caller commits.
async fn write(
    conn: &mut sqlx::PgConnection,
    clock: &Clock,
    outbox: &Outbox,
    events: &[&NewEvent],
    mut known: HashMap<Key, u64>,
) -> Result<Committed> {
    let key = |e: &NewEvent| -> Key { (e.matter_id.0, e.author_id.0, e.client_msg_id) };
    // Fresh events in batch order; a repeat within the batch is a resend of the first.
    let mut fresh: Vec<&NewEvent> = Vec::new();
    let mut first_index: HashMap<Key, usize> = HashMap::new();
    for event in events {
        if !known.contains_key(&key(event)) && !first_index.contains_key(&key(event)) {
            first_index.insert(key(event), fresh.len());
            fresh.push(event);
        }
    }
    let mut stored = Vec::new();
    let mut pending = None;
    if !fresh.is_empty() {
        let outbox_id = Uuid::now_v7();
        let numbered = store::write_batch(conn, &fresh, clock.now(), outbox_id, outbox.grace_ms())
            .await
            .map_err(refused_by_policy)?;
        for event in &numbered.stored {
            if let (Some(author), Some(id)) = (event.author_id, event.client_msg_id) {
                known.insert((event.matter_id, author, id), event.seq as u64);
            }
        }
        // What `channel_write` stored in the outbox row, for the fast path to deliver.
        let all = numbered
            .last_seqs
            .iter()
            .map(|(m, last)| {
                let first = numbered
                    .stored
                    .iter()
                    .find(|e| e.matter_id == *m)
                    .map_or(*last, |e| e.seq as u64);
                Announcement::Events {
                    matter_id: MatterId(*m),
                    first_seq: first,
                    last_seq: *last,
                    frames: Vec::new(),
                }
            })
            .collect();
        pending = Some(Pending {
            outbox_id,
            announcement: Announcement::Several { all },
        });
        stored = numbered.stored;
    }
    let mut seen_fresh = std::collections::HashSet::new();
    let outcomes = events
        .iter()
        .map(|e| {
            let seq = known[&key(e)];
            let is_first_fresh = first_index.contains_key(&key(e)) && seen_fresh.insert(key(e));
            Appended {
                seq,
                duplicate: !is_first_fresh,
            }
        })
        .collect();
    Ok((outcomes, stored, pending))
}
