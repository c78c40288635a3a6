//! Group commit: concurrent sends are batched into one transaction, and each is acknowledged
//! only after that transaction commits. The batch's one outbox row (its events in every matter)
//! commits with it, so its events reach the other nodes even if this one dies before publishing
//! them.
//!
//! One transaction per message tops out near the disk's fsync rate; a batch pays one fsync for
//! many messages. Each shard task takes whatever is queued (up to a batch), writes it in one
//! transaction, publishes the events and answers every sender. While a batch commits, the next
//! one gathers. Matters are spread over shards by id, so one matter's sends stay in one shard.
//!
//! The batch transaction has no single actor: the insert policy checks each row's author against
//! the matter's access (see the channel migration), so the database still refuses a row whose
//! author may not post there.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

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

/// Handle to the writer shards.
#[derive(Clone, Debug)]
pub struct Writer {
    shards: Vec<mpsc::Sender<Request>>,
}

impl Writer {
    /// Starts `shards` writer tasks, each batching up to `max_batch` sends.
    pub fn spawn(
        pool: PgPool,
        clock: Clock,
        hub: Hub,
        outbox: Outbox,
        shards: usize,
        max_batch: usize,
    ) -> Self {
        let shards = (0..shards.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                let shard = Shard {
                    pool: pool.clone(),
                    clock: clock.clone(),
                    hub: hub.clone(),
                    outbox: outbox.clone(),
                };
                tokio::spawn(shard.run(rx, max_batch.max(1)));
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
    async fn run(self, mut rx: mpsc::Receiver<Request>, max_batch: usize) {
        let mut batch = Vec::with_capacity(max_batch);
        while let Some(first) = rx.recv().await {
            batch.push(first);
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
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

/// Writes a batch in one transaction: recognises resends, allocates `seq`s per matter in batch
/// order, inserts the rest and one outbox row for them all, commits.
async fn commit(
    pool: &PgPool,
    clock: &Clock,
    outbox: &Outbox,
    events: &[&NewEvent],
) -> Result<Committed> {
    let key = |e: &NewEvent| -> Key { (e.matter_id.0, e.author_id.0, e.client_msg_id) };
    let mut tx = crate::db::channel_transaction(pool).await?;
    let mut known: HashMap<Key, u64> = store::find_sent(&mut tx, events)
        .await?
        .into_iter()
        .map(|(m, a, c, seq)| ((m, a, c), seq))
        .collect();

    // Fresh events in batch order; a repeat within the batch is a resend of the first.
    let mut fresh: Vec<&NewEvent> = Vec::new();
    let mut first_index: HashMap<Key, usize> = HashMap::new();
    for event in events {
        if !known.contains_key(&key(event)) && !first_index.contains_key(&key(event)) {
            first_index.insert(key(event), fresh.len());
            fresh.push(event);
        }
    }
    let mut counts: Vec<(Uuid, i32)> = Vec::new();
    for event in &fresh {
        match counts.iter_mut().find(|(m, _)| *m == event.matter_id.0) {
            Some((_, n)) => *n += 1,
            None => counts.push((event.matter_id.0, 1)),
        }
    }
    let mut stored = Vec::new();
    let mut pending = None;
    if !fresh.is_empty() {
        let (matters, ns): (Vec<Uuid>, Vec<i32>) = counts.iter().copied().unzip();
        let lasts: HashMap<Uuid, u64> = store::allocate(&mut tx, &matters, &ns)
            .await?
            .into_iter()
            .collect();
        let mut next: HashMap<Uuid, u64> = counts
            .iter()
            .map(|(m, n)| (*m, lasts[m] - *n as u64 + 1))
            .collect();
        let mut numbered = Vec::with_capacity(fresh.len());
        for event in &fresh {
            let seq = next.get_mut(&event.matter_id.0).expect("allocated");
            numbered.push((*seq, *event));
            known.insert(key(event), *seq);
            *seq += 1;
        }
        stored = store::insert(&mut tx, &numbered, clock.now())
            .await
            .map_err(refused_by_policy)?;
        let events = counts
            .iter()
            .map(|(m, n)| Announcement::Events {
                matter_id: MatterId(*m),
                first_seq: lasts[m] - *n as u64 + 1,
                last_seq: lasts[m],
                frames: Vec::new(),
            })
            .collect();
        let row = Pending::new(Announcement::Several { all: events });
        outbox.write(&mut tx, std::slice::from_ref(&row)).await?;
        pending = Some(row);
    }
    tx.commit().await?;
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
