//! What an operator sees and does with the outbox (`docket admin outbox ...`): the rows still
//! pending and those dead-lettered with their reasons, and a replay that makes a row due again.
//! The command line runs as the owner role; rows show their kind and ids, never their content.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Error, Result};

/// One row, as an operator sees it.
#[derive(Debug)]
pub struct Row {
    pub outbox_id: Uuid,
    pub state: &'static str,
    pub consumer: String,
    /// The announcement's kind (`events`, `alert`, `control`, or `several`: a writer's batch).
    pub kind: String,
    pub matter_id: Option<Uuid>,
    pub attempts: i32,
    pub created_at: OffsetDateTime,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub dead_at: Option<OffsetDateTime>,
}

/// Every pending and dead row, oldest first (dead rows first).
pub async fn list(conn: &mut PgConnection) -> Result<Vec<Row>> {
    let rows = sqlx::query!(
        r#"select outbox_id, consumer, announcement ->> 'a' as "kind!", matter_id, attempts,
                  created_at, next_attempt_at, last_error, dead_at
           from outbox order by dead_at is null, created_at"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Row {
            outbox_id: r.outbox_id,
            state: if r.dead_at.is_some() {
                "dead"
            } else {
                "pending"
            },
            consumer: r.consumer,
            kind: r.kind,
            matter_id: r.matter_id,
            attempts: r.attempts,
            created_at: r.created_at,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            dead_at: r.dead_at,
        })
        .collect())
}

/// Makes rows due now with a fresh count of attempts: one row, or every dead row. Returns the
/// ids replayed; an unknown id is not found.
pub async fn replay(conn: &mut PgConnection, which: Option<Uuid>) -> Result<Vec<Uuid>> {
    let ids = sqlx::query_scalar!(
        "update outbox set dead_at = null, attempts = 0, last_error = null,
                next_attempt_at = clock_timestamp()
         where ($1::uuid is null and dead_at is not null) or outbox_id = $1
         returning outbox_id",
        which
    )
    .fetch_all(conn)
    .await?;
    if which.is_some() && ids.is_empty() {
        return Err(Error::NotFound);
    }
    Ok(ids)
}
