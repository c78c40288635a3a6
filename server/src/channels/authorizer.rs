//! The node's batched authoriser: what scopes a user holds on a matter, asked by many sockets at
//! once and answered by Postgres in one transaction per batch.
//!
//! A socket authorises a matter when it subscribes and when it first posts to a matter it does
//! not follow. Asked one by one, each answer was a tenant transaction (four round trips), and ten
//! thousand sockets opening together queued behind one another for the request pool. Asks that
//! arrive while a batch is in Postgres wait for the next one, so the batch grows with the load
//! and a lone ask is answered at once.
//!
//! The answer is the access policy's own SQL statement (`docket_user_matter_scopes`), called
//! through definer functions only the channel role may execute; read positions come only for a
//! pair whose user may read the matter's messages. The node's watch re-checks held pairs with the
//! same [`scopes_of`].

use docket_protocol::channel::ReadPosition;
use docket_protocol::directory::Scope;
use docket_protocol::ids::{MatterId, UserId};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{mpsc, oneshot};

use crate::access::parse_scopes;
use crate::{Error, Result};

/// Asks answered per transaction, at most.
const MAX_BATCH: usize = 512;

/// Asks waiting for a batch before askers wait for room.
const QUEUE: usize = 4_096;

/// A read position on a matter, and whether its reader is a firm user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    pub position: ReadPosition,
    pub reader_is_firm: bool,
}

/// What a user holds on a matter: the scopes (empty: nothing, the matter is not theirs to know),
/// and, when asked for and the scopes include messages, the matter's read positions.
#[derive(Clone, Debug, Default)]
pub struct Grant {
    pub scopes: Vec<Scope>,
    pub reads: Vec<Read>,
}

struct Ask {
    user: UserId,
    matter: MatterId,
    with_reads: bool,
    reply: oneshot::Sender<Result<Grant>>,
}

/// The node's authoriser. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Authorizer {
    asks: mpsc::Sender<Ask>,
}

impl Authorizer {
    /// Starts the batching task on `pool`.
    pub fn spawn(pool: PgPool) -> Self {
        let (asks, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, rx));
        Self { asks }
    }

    /// The scopes `user` holds on `matter` and, with `with_reads`, its read positions.
    pub async fn grant(&self, user: UserId, matter: MatterId, with_reads: bool) -> Result<Grant> {
        let (reply, answer) = oneshot::channel();
        let ask = Ask {
            user,
            matter,
            with_reads,
            reply,
        };
        let stopped = || Error::Internal(anyhow::anyhow!("the authoriser has stopped"));
        self.asks.send(ask).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(pool: PgPool, mut rx: mpsc::Receiver<Ask>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let pairs: Vec<(UserId, MatterId)> = batch.iter().map(|a| (a.user, a.matter)).collect();
        let reads_for: Vec<bool> = batch.iter().map(|a| a.with_reads).collect();
        match answer(&pool, &pairs, &reads_for).await {
            Ok(grants) => {
                for (ask, grant) in batch.drain(..).zip(grants) {
                    let _ = ask.reply.send(Ok(grant));
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, asks = batch.len(), "authorising a batch failed");
                let message = err.to_string();
                for ask in batch.drain(..) {
                    let failed = Error::Internal(anyhow::anyhow!("authorising: {message}"));
                    let _ = ask.reply.send(Err(failed));
                }
            }
        }
    }
}

/// One transaction: the scopes of every pair, then the read positions of those that asked for
/// them and may read messages.
async fn answer(
    pool: &PgPool,
    pairs: &[(UserId, MatterId)],
    reads_for: &[bool],
) -> Result<Vec<Grant>> {
    let mut tx = crate::db::channel_transaction(pool).await?;
    let mut grants: Vec<Grant> = scopes_of(&mut tx, pairs)
        .await?
        .into_iter()
        .map(|scopes| Grant {
            scopes,
            reads: Vec::new(),
        })
        .collect();
    let readers: Vec<usize> = (0..pairs.len())
        .filter(|&i| reads_for[i] && grants[i].scopes.contains(&Scope::Messages))
        .collect();
    if !readers.is_empty() {
        let users: Vec<uuid::Uuid> = readers.iter().map(|&i| pairs[i].0 .0).collect();
        let matters: Vec<uuid::Uuid> = readers.iter().map(|&i| pairs[i].1 .0).collect();
        let rows = sqlx::query!(
            r#"select i as "i!", user_id as "user_id!", seq as "seq!", reader_is_firm as "reader_is_firm!"
               from socket_read_positions($1, $2)"#,
            &users,
            &matters
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            let Some(&at) = usize::try_from(row.i - 1).ok().and_then(|k| readers.get(k)) else {
                continue;
            };
            grants[at].reads.push(Read {
                position: ReadPosition {
                    user_id: UserId(row.user_id),
                    seq: u64::try_from(row.seq).unwrap_or(0),
                },
                reader_is_firm: row.reader_is_firm,
            });
        }
    }
    tx.commit().await?;
    Ok(grants)
}

/// The scopes each (user, matter) pair holds, in the pairs' order: the access policy's single
/// statement, evaluated by Postgres for each pair. Runs inside a `docket_channel` transaction.
pub(crate) async fn scopes_of(
    conn: &mut PgConnection,
    pairs: &[(UserId, MatterId)],
) -> Result<Vec<Vec<Scope>>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let users: Vec<uuid::Uuid> = pairs.iter().map(|p| p.0 .0).collect();
    let matters: Vec<uuid::Uuid> = pairs.iter().map(|p| p.1 .0).collect();
    let rows = sqlx::query!(
        r#"select i as "i!", scopes as "scopes!" from socket_scopes($1, $2)"#,
        &users,
        &matters
    )
    .fetch_all(conn)
    .await?;
    if rows.len() != pairs.len() {
        return Err(Error::Internal(anyhow::anyhow!(
            "socket_scopes answered {} rows for {} pairs",
            rows.len(),
            pairs.len()
        )));
    }
    let mut scopes = vec![Vec::new(); pairs.len()];
    for row in rows {
        let at = usize::try_from(row.i - 1).map_err(|e| Error::Internal(e.into()))?;
        let slot = scopes
            .get_mut(at)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("socket_scopes answered pair {at}")))?;
        let mut held = parse_scopes(&row.scopes)?;
        held.sort();
        held.dedup();
        *slot = held;
    }
    Ok(scopes)
}
