//! The channel log in Postgres: reading pages (as a user, through RLS, or for node-level
//! delivery), appending batches, and read positions.

use anyhow::Context;
use docket_protocol::channel::{Event, EventBody, ServerFrame};
use docket_protocol::directory::Scope;
use docket_protocol::ids::{MatterId, UserId};
use serde_json::Value;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Tenant;
use crate::events::{self, Body};
use crate::outbox::{Announcement, EventFrame};
use crate::{Error, Result};

/// One row of `channel_event`, read back.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub matter_id: Uuid,
    pub seq: i64,
    /// The scope a user needs to see it.
    pub scope: Scope,
    pub author_id: Option<Uuid>,
    pub client_msg_id: Option<Uuid>,
    /// What happened; none for a kind this server does not know or a body it cannot read (logged
    /// when read; clients see an unknown event and move past it).
    pub body: Option<Body>,
    pub created_at: OffsetDateTime,
    pub redacted_at: Option<OffsetDateTime>,
}

impl StoredEvent {
    /// The event as clients see it: a deleted message and its edits lose their text.
    pub fn to_event(&self) -> Event {
        let body = self.body.as_ref().map_or(EventBody::Unknown, |body| {
            body.to_wire(self.redacted_at.is_some())
        });
        Event {
            matter_id: self.matter_id.into(),
            seq: self.seq as u64,
            at: self.created_at,
            author_id: self.author_id.map(UserId),
            client_msg_id: self.client_msg_id,
            devices: None,
            body,
        }
    }
}

impl StoredEvent {
    /// The event as the socket frame, serialised once for every socket and node.
    pub fn frame(&self) -> Result<EventFrame> {
        let frame = serde_json::to_string(&ServerFrame::Event {
            event: self.to_event(),
        })
        .map_err(|e| Error::Internal(e.into()))?;
        Ok(EventFrame {
            seq: self.seq as u64,
            scope: self.scope,
            frame,
        })
    }
}

/// A `channel_event` row as selected, before its scope and body are read.
struct EventRow {
    matter_id: Uuid,
    seq: i64,
    kind: String,
    scope: String,
    author_id: Option<Uuid>,
    client_msg_id: Option<Uuid>,
    body: Value,
    created_at: OffsetDateTime,
    redacted_at: Option<OffsetDateTime>,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = Error;

    /// Reads the scope (which the table's check constraint keeps to the known ones) and the body.
    /// An unreadable body is logged by its kind and place only: the error may quote the content.
    fn try_from(row: EventRow) -> Result<Self> {
        let scope = row.scope.parse::<Scope>().context("channel_event.scope")?;
        let body = match Body::from_stored(&row.kind, row.body) {
            Ok(body) => Some(body),
            Err(err) => {
                tracing::warn!(matter_id = %row.matter_id, seq = row.seq, kind = %row.kind,
                    error_class = ?err.classify(), "unreadable channel event body; clients see an unknown event");
                None
            }
        };
        Ok(Self {
            matter_id: row.matter_id,
            seq: row.seq,
            scope,
            author_id: row.author_id,
            client_msg_id: row.client_msg_id,
            body,
            created_at: row.created_at,
            redacted_at: row.redacted_at,
        })
    }
}

fn read_rows(rows: Vec<EventRow>) -> Result<Vec<StoredEvent>> {
    rows.into_iter().map(StoredEvent::try_from).collect()
}

/// What a new event carries, before it has a `seq`. Its kind and scope follow from the body.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub matter_id: MatterId,
    pub author_id: UserId,
    pub device_id: Option<Uuid>,
    pub client_msg_id: Uuid,
    pub body: Body,
}

impl NewEvent {
    /// A chat message.
    pub fn message(
        matter_id: MatterId,
        author_id: UserId,
        device_id: Option<Uuid>,
        client_msg_id: Uuid,
        text: &str,
        reply_to: Option<u64>,
    ) -> Self {
        Self {
            matter_id,
            author_id,
            device_id,
            client_msg_id,
            body: Body::Message {
                text: text.to_owned(),
                reply_to,
            },
        }
    }
}

/// Events of a matter after `after`, oldest first, as the tenant's actor may see them (RLS).
pub async fn page(
    conn: &mut PgConnection,
    matter_id: MatterId,
    after: u64,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    let rows = sqlx::query_as!(
        EventRow,
        "select matter_id, seq, kind, scope, author_id, client_msg_id, body, created_at, redacted_at
         from channel_event where matter_id = $1 and seq > $2 order by seq limit $3",
        matter_id.0,
        after as i64,
        limit
    )
    .fetch_all(conn)
    .await?;
    read_rows(rows)
}

/// Events of a matter after `after` for node-level delivery, in a [`crate::db::channel_transaction`].
pub async fn delivery_page(
    conn: &mut PgConnection,
    matter_id: MatterId,
    after: u64,
    limit: i32,
) -> Result<Vec<StoredEvent>> {
    let rows = sqlx::query_as!(
        EventRow,
        r#"select matter_id as "matter_id!", seq as "seq!", kind as "kind!", scope as "scope!", author_id,
                  client_msg_id, body as "body!", created_at as "created_at!", redacted_at
           from channel_delivery_events($1, $2, $3)"#,
        matter_id.0,
        after as i64,
        limit
    )
    .fetch_all(conn)
    .await?;
    read_rows(rows)
}

/// A matter's last `seq`, in a [`crate::db::channel_transaction`].
pub async fn last_seq(conn: &mut PgConnection, matter_id: MatterId) -> Result<u64> {
    let seq = sqlx::query_scalar!(r#"select channel_last_seq($1) as "seq!""#, matter_id.0)
        .fetch_one(conn)
        .await?;
    Ok(seq as u64)
}

/// The `seq`s already stored for these sends, keyed by (matter, author, client_msg_id), in a
/// [`crate::db::channel_transaction`].
pub async fn find_sent(
    conn: &mut PgConnection,
    sends: &[&NewEvent],
) -> Result<Vec<(Uuid, Uuid, Uuid, u64)>> {
    let rows = sqlx::query!(
        r#"select matter_id as "matter_id!", author_id as "author_id!", client_msg_id as "client_msg_id!", seq as "seq!"
           from channel_find_sent($1, $2, $3)"#,
        &sends.iter().map(|s| s.matter_id.0).collect::<Vec<_>>(),
        &sends.iter().map(|s| s.author_id.0).collect::<Vec<_>>(),
        &sends.iter().map(|s| s.client_msg_id).collect::<Vec<_>>(),
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.matter_id, r.author_id, r.client_msg_id, r.seq as u64))
        .collect())
}

/// A batch of events numbered and stored: each matter's new last `seq`, and the events as
/// stored, in the order given.
#[derive(Debug)]
pub struct Numbered {
    pub last_seqs: Vec<(Uuid, u64)>,
    pub stored: Vec<StoredEvent>,
}

/// The channel writer's batch, in one round trip (`channel_write`, which runs as
/// `docket_channel`): reserves consecutive `seq`s for `events` (per matter, in the order given),
/// inserts them, and writes the batch's outbox row `outbox_id` (due for the dispatchers after
/// `grace_ms`). Only a connection acting as `docket_channel` may call it (the writer's pool,
/// [`crate::db::writer_pool`]); with no transaction open, the call is its own transaction and
/// commits when it returns.
///
/// Nothing checks for resends first: the unique index on (matter, author, `client_msg_id`)
/// refuses one (`23505`), and the caller then looks them up ([`find_sent`]) and writes the rest.
pub async fn write_batch(
    conn: &mut PgConnection,
    events: &[&NewEvent],
    at: OffsetDateTime,
    outbox_id: Uuid,
    grace_ms: u64,
) -> Result<Numbered> {
    // Per matter: how many seqs it needs; per event: how far before its matter's new last seq it
    // falls.
    let mut counts: Vec<(Uuid, i32)> = Vec::new();
    let mut back = Vec::with_capacity(events.len());
    for event in events.iter().rev() {
        match counts.iter_mut().find(|(m, _)| *m == event.matter_id.0) {
            Some((_, n)) => {
                back.push(i64::from(*n));
                *n += 1;
            }
            None => {
                back.push(0);
                counts.push((event.matter_id.0, 1));
            }
        }
    }
    back.reverse();
    let (matters, ns): (Vec<Uuid>, Vec<i32>) = counts.iter().copied().unzip();
    let (kinds, bodies): (Vec<String>, Vec<Value>) = events
        .iter()
        .map(|e| e.body.to_stored())
        .collect::<serde_json::Result<Vec<_>>>()
        .context("serialising a channel event body")?
        .into_iter()
        .unzip();
    let devices: Vec<Option<Uuid>> = events.iter().map(|e| e.device_id).collect();
    let rows = sqlx::query!(
        r#"select matter_id as "matter_id!", last_seq as "last_seq!"
           from channel_write($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"#,
        &matters,
        &ns,
        &events.iter().map(|e| e.matter_id.0).collect::<Vec<_>>(),
        &back,
        &kinds,
        &events
            .iter()
            .map(|e| e.body.scope().as_str().to_owned())
            .collect::<Vec<_>>(),
        &events.iter().map(|e| e.author_id.0).collect::<Vec<_>>(),
        &devices as &[Option<Uuid>],
        &events.iter().map(|e| e.client_msg_id).collect::<Vec<_>>(),
        &bodies,
        at,
        outbox_id,
        i64::try_from(grace_ms).unwrap_or(i64::MAX),
    )
    .fetch_all(conn)
    .await
    .map_err(|err| match &err {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("P0002") => Error::NotFound,
        _ => err.into(),
    })?;
    // Every matter must have been allocated, or its events were not inserted.
    if rows.len() != matters.len() {
        return Err(Error::NotFound);
    }
    let last_seqs: Vec<(Uuid, u64)> = rows
        .into_iter()
        .map(|r| (r.matter_id, r.last_seq as u64))
        .collect();
    let last_of = |m: Uuid| {
        last_seqs
            .iter()
            .find(|(id, _)| *id == m)
            .map_or(0, |(_, last)| *last)
    };
    let stored = events
        .iter()
        .zip(&back)
        .map(|(e, back)| stored_as(e, last_of(e.matter_id.0) as i64 - back, at))
        .collect();
    Ok(Numbered { last_seqs, stored })
}

/// A new event as it was stored under `seq`.
fn stored_as(event: &NewEvent, seq: i64, at: OffsetDateTime) -> StoredEvent {
    StoredEvent {
        matter_id: event.matter_id.0,
        seq,
        scope: event.body.scope(),
        author_id: Some(event.author_id.0),
        client_msg_id: Some(event.client_msg_id),
        body: Some(event.body.clone()),
        created_at: at,
        redacted_at: None,
    }
}

/// Appends one event in the caller's tenant transaction (a document or milestone card, an edit or
/// a withdrawal), under the matter's next `seq`, as the actor (the database checks the actor may
/// see the matter and holds the event's scope), and announces it for after the commit. Returns
/// its `seq`.
pub async fn append(tenant: &mut Tenant, event: &NewEvent, at: OffsetDateTime) -> Result<u64> {
    let seq = sqlx::query_scalar!("select channel_next_seq($1)", event.matter_id.0)
        .fetch_one(tenant.conn())
        .await?
        .ok_or(Error::NotFound)?;
    let seq = seq as u64;
    let stored = insert(tenant.conn(), &[(seq, event)], at).await?;
    let frames = stored
        .iter()
        .map(StoredEvent::frame)
        .collect::<Result<Vec<_>>>()?;
    tenant.announce(Announcement::Events {
        matter_id: event.matter_id,
        first_seq: seq,
        last_seq: seq,
        frames,
    });
    // And for the notifier, which reads it back once committed.
    tenant.announce(Announcement::Notices {
        ranges: vec![crate::notify::expand::SeqRange {
            matter_id: event.matter_id,
            first_seq: seq,
            last_seq: seq,
        }],
    });
    Ok(seq)
}

/// A matter's last `seq`, as the tenant's actor may see it (0 for a matter they cannot see).
pub async fn head(conn: &mut PgConnection, matter_id: MatterId) -> Result<u64> {
    let seq = sqlx::query_scalar!(
        "select last_seq from channel_head where matter_id = $1",
        matter_id.0
    )
    .fetch_optional(conn)
    .await?;
    Ok(seq.unwrap_or(0) as u64)
}

/// The `seq` of one of the actor's own sends, if already stored (a resend), as RLS shows it.
pub async fn find_own_sent(conn: &mut PgConnection, event: &NewEvent) -> Result<Option<u64>> {
    let seq = sqlx::query_scalar!(
        "select seq from channel_event where matter_id = $1 and author_id = $2 and client_msg_id = $3",
        event.matter_id.0,
        event.author_id.0,
        event.client_msg_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(seq.map(|s| s as u64))
}

/// Inserts events under `seq`s the caller reserved, in one statement, and returns them as stored.
async fn insert(
    conn: &mut PgConnection,
    events: &[(u64, &NewEvent)],
    at: OffsetDateTime,
) -> Result<Vec<StoredEvent>> {
    let devices: Vec<Option<Uuid>> = events.iter().map(|(_, e)| e.device_id).collect();
    let (kinds, bodies): (Vec<String>, Vec<Value>) = events
        .iter()
        .map(|(_, e)| e.body.to_stored())
        .collect::<serde_json::Result<Vec<_>>>()
        .context("serialising a channel event body")?
        .into_iter()
        .unzip();
    sqlx::query!(
        r#"insert into channel_event (matter_id, seq, kind, scope, author_id, device_id, client_msg_id, body, created_at)
           select m, s, k, sc, a, d, c, b, $9
           from unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::uuid[], $6::uuid[], $7::uuid[], $8::jsonb[])
               as t(m, s, k, sc, a, d, c, b)"#,
        &events.iter().map(|(_, e)| e.matter_id.0).collect::<Vec<_>>(),
        &events.iter().map(|(seq, _)| *seq as i64).collect::<Vec<_>>(),
        &kinds,
        &events
            .iter()
            .map(|(_, e)| e.body.scope().as_str().to_owned())
            .collect::<Vec<_>>(),
        &events.iter().map(|(_, e)| e.author_id.0).collect::<Vec<_>>(),
        &devices as &[Option<Uuid>],
        &events.iter().map(|(_, e)| e.client_msg_id).collect::<Vec<_>>(),
        &bodies,
        at,
    )
    .execute(conn)
    .await?;
    Ok(events
        .iter()
        .map(|(seq, e)| stored_as(e, *seq as i64, at))
        .collect())
}

/// One event, as the tenant's actor may see it.
pub async fn one(
    conn: &mut PgConnection,
    matter_id: MatterId,
    seq: u64,
) -> Result<Option<StoredEvent>> {
    let row = sqlx::query_as!(
        EventRow,
        "select matter_id, seq, kind, scope, author_id, client_msg_id, body, created_at, redacted_at
         from channel_event where matter_id = $1 and seq = $2",
        matter_id.0,
        seq as i64
    )
    .fetch_optional(conn)
    .await?;
    row.map(StoredEvent::try_from).transpose()
}

/// Marks a deleted message and its edits as redacted (their bodies stay in the record). The edits
/// are found by the stored form [`events`] gives them.
pub async fn redact(
    conn: &mut PgConnection,
    matter_id: MatterId,
    target_seq: u64,
    at: OffsetDateTime,
) -> Result<()> {
    sqlx::query!(
        "update channel_event set redacted_at = $3
         where matter_id = $1 and redacted_at is null
           and (seq = $2 or (kind = $4 and (body ->> $5::text)::bigint = $2))",
        matter_id.0,
        target_seq as i64,
        at,
        events::EDIT_KIND,
        events::EDIT_TARGET_KEY,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the actor's read position forward (never back); returns the position now stored.
pub async fn mark_read(
    conn: &mut PgConnection,
    matter_id: MatterId,
    user_id: UserId,
    seq: u64,
) -> Result<u64> {
    let stored = sqlx::query_scalar!(
        "insert into channel_read (matter_id, user_id, seq) values ($1, $2, $3)
         on conflict (matter_id, user_id) do update set seq = greatest(channel_read.seq, excluded.seq), updated_at = now()
         returning seq",
        matter_id.0,
        user_id.0,
        seq as i64
    )
    .fetch_one(conn)
    .await?;
    Ok(stored as u64)
}
