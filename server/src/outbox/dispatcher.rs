//! The dispatcher every serving node runs: it claims rows the fast path left behind, delivers
//! them, and retries or dead-letters the ones whose delivery fails.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::{Announcement, Deliver, DeliveryError, Handled};
use crate::config::OutboxSettings;
use crate::Result;

/// Rows claimed per transaction.
const BATCH: i64 = 64;

/// How long one delivery may take before it counts as failed (and its row's lock is released).
pub(super) const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest wait between two attempts.
const MAX_BACKOFF_MS: u64 = 5 * 60 * 1000;

/// Rows a deliveries lane claims per transaction: few, so that its workers share a burst.
const DELIVERIES_BATCH: i64 = 8;

/// Rows the expand lane claims per transaction: many, read back together (see [`merged`]).
const EXPAND_BATCH: i64 = 512;

/// Which rows a dispatcher takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Every consumer (one dispatcher doing everything, as the tests drive it).
    All,
    /// The live layer and security e-mail.
    Live,
    /// Channel events to turn into notices: one worker per node, taking every waiting row at
    /// once, so a busy matter's many small batches are read back as one range.
    Expand,
    /// Notifications to deliver, which wait on push services and mail relays: several workers per
    /// node take them side by side (`skip locked` keeps them apart).
    Deliveries,
}

impl Lane {
    fn consumers(self) -> &'static [&'static str] {
        match self {
            Self::All => &["live", "email", "notify", "notification"],
            Self::Live => &["live", "email"],
            Self::Expand => &["notify"],
            Self::Deliveries => &["notification"],
        }
    }

    fn batch(self) -> i64 {
        match self {
            Self::Deliveries => DELIVERIES_BATCH,
            Self::Expand => EXPAND_BATCH,
            Self::All | Self::Live => BATCH,
        }
    }
}

/// Claims and delivers due rows of `lane` until the process ends: every `poll_ms`, and at once
/// again while full batches keep coming.
pub(super) async fn run(
    pool: sqlx::PgPool,
    deliver: Arc<dyn Deliver>,
    settings: OutboxSettings,
    lane: Lane,
) {
    let poll = Duration::from_millis(settings.poll_ms);
    loop {
        tokio::time::sleep(poll).await;
        loop {
            match dispatch_lane(&pool, &*deliver, &settings, lane).await {
                Ok(claimed) if claimed as i64 == lane.batch() => continue,
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "outbox dispatch failed; retrying");
                    break;
                }
            }
        }
    }
}

/// What became of one claimed row.
enum Outcome {
    Delivered,
    Later { delay_ms: u64 },
    Retry { error: String, delay_ms: u64 },
    Dead { error: String },
}

/// The outcome of a failed attempt: retried with back-off, or dead after the last.
fn failure(error: String, attempts: i32, settings: &OutboxSettings) -> Outcome {
    if attempts >= settings.max_attempts {
        Outcome::Dead { error }
    } else {
        Outcome::Retry {
            error,
            delay_ms: backoff_ms(settings.retry_base_ms, attempts),
        }
    }
}

/// One round: claims up to a batch of due rows (skipping rows another node holds), delivers each,
/// and records the outcomes, all in one transaction, so a row is delivered by one dispatcher at a
/// time. Returns how many rows it claimed.
pub async fn dispatch_once(
    pool: &sqlx::PgPool,
    deliver: &dyn Deliver,
    settings: &OutboxSettings,
) -> Result<usize> {
    dispatch_lane(pool, deliver, settings, Lane::All).await
}

/// [`dispatch_once`] for the rows of one lane.
pub async fn dispatch_lane(
    pool: &sqlx::PgPool,
    deliver: &dyn Deliver,
    settings: &OutboxSettings,
    lane: Lane,
) -> Result<usize> {
    let mut tx = crate::db::channel_transaction(pool).await?;
    let rows = sqlx::query!(
        "select outbox_id, announcement, attempts from outbox
         where dead_at is null and next_attempt_at <= clock_timestamp() and consumer = any($2)
         order by next_attempt_at
         limit $1
         for update skip locked",
        lane.batch(),
        lane.consumers() as &[&str],
    )
    .fetch_all(&mut *tx)
    .await?;
    let claimed = rows.len();
    let mut delivered = Vec::new();
    let mut failed: Vec<(Uuid, String, Option<u64>)> = Vec::new();
    let mut later: Vec<(Uuid, i64)> = Vec::new();
    let mut outcomes: Vec<(Uuid, Outcome)> = Vec::with_capacity(claimed);
    // Channel events to read back are merged: a busy matter's many small batches become one
    // range, read and counted once (see `merged`).
    let mut to_expand: Vec<(Uuid, i32, Vec<crate::notify::expand::SeqRange>)> = Vec::new();
    for row in rows {
        let attempts = row.attempts + 1;
        match serde_json::from_value::<Announcement>(row.announcement) {
            Ok(Announcement::Notices { ranges }) => {
                to_expand.push((row.outbox_id, attempts, ranges))
            }
            Ok(announcement) => {
                let outcome = if announcement.in_transaction() {
                    in_savepoint(&mut tx, deliver, &announcement, attempts, settings).await?
                } else {
                    match deliver_within(deliver, &announcement).await {
                        Ok(()) => Outcome::Delivered,
                        Err(DeliveryError(error)) => failure(error, attempts, settings),
                    }
                };
                outcomes.push((row.outbox_id, outcome));
            }
            // No retry can help: another version wrote it. Keep it for an operator.
            Err(err) => outcomes.push((
                row.outbox_id,
                Outcome::Dead {
                    error: format!(
                        "this version cannot read the announcement ({:?} error)",
                        err.classify()
                    ),
                },
            )),
        }
    }
    if !to_expand.is_empty() {
        let ranges = merged(
            to_expand
                .iter()
                .flat_map(|(_, _, r)| r.iter().cloned())
                .collect(),
        );
        let most = to_expand.iter().map(|(_, a, _)| *a).max().unwrap_or(1);
        let outcome = in_savepoint(
            &mut tx,
            deliver,
            &Announcement::Notices { ranges },
            most,
            settings,
        )
        .await?;
        for (outbox_id, attempts, _) in to_expand {
            let each = match &outcome {
                Outcome::Delivered => Outcome::Delivered,
                Outcome::Later { delay_ms } => Outcome::Later {
                    delay_ms: *delay_ms,
                },
                Outcome::Retry { error, .. } | Outcome::Dead { error } => {
                    failure(error.clone(), attempts, settings)
                }
            };
            outcomes.push((outbox_id, each));
        }
    }
    for (outbox_id, outcome) in outcomes {
        match outcome {
            Outcome::Delivered => delivered.push(outbox_id),
            Outcome::Later { delay_ms } => later.push((outbox_id, delay_ms as i64)),
            Outcome::Retry { error, delay_ms } => {
                tracing::warn!(%outbox_id, %error, delay_ms, "outbox delivery failed; will retry");
                failed.push((outbox_id, error, Some(delay_ms)));
            }
            Outcome::Dead { error } => {
                tracing::error!(%outbox_id, %error, "outbox delivery dead-lettered; see `docket admin outbox list`");
                failed.push((outbox_id, error, None));
            }
        }
    }
    if !delivered.is_empty() {
        sqlx::query!("delete from outbox where outbox_id = any($1)", &delivered)
            .execute(&mut *tx)
            .await?;
    }
    if !later.is_empty() {
        let (ids, delays): (Vec<Uuid>, Vec<i64>) = later.into_iter().unzip();
        sqlx::query!(
            "update outbox o set next_attempt_at = clock_timestamp() + make_interval(secs => f.d / 1000.0)
             from unnest($1::uuid[], $2::bigint[]) as f(i, d)
             where o.outbox_id = f.i",
            &ids,
            &delays,
        )
        .execute(&mut *tx)
        .await?;
    }
    if !failed.is_empty() {
        let ids: Vec<Uuid> = failed.iter().map(|f| f.0).collect();
        let errors: Vec<String> = failed.iter().map(|f| f.1.clone()).collect();
        // A null delay means dead.
        let delays: Vec<Option<i64>> = failed.iter().map(|f| f.2.map(|d| d as i64)).collect();
        sqlx::query!(
            "update outbox o set attempts = o.attempts + 1, last_error = f.e,
                 next_attempt_at = case when f.d is null then o.next_attempt_at
                                        else clock_timestamp() + make_interval(secs => f.d / 1000.0) end,
                 dead_at = case when f.d is null then clock_timestamp() end
             from unnest($1::uuid[], $2::text[], $3::bigint[]) as f(i, e, d)
             where o.outbox_id = f.i",
            &ids,
            &errors,
            &delays as &[Option<i64>],
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(claimed)
}

/// Delivers an announcement whose consumer works in the database, in a savepoint of the claiming
/// transaction: its writes stay if it succeeded (wholly or in part), and go if it failed.
async fn in_savepoint(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    deliver: &dyn Deliver,
    announcement: &Announcement,
    attempts: i32,
    settings: &OutboxSettings,
) -> Result<Outcome> {
    let mut savepoint = sqlx::Acquire::begin(&mut **tx).await?;
    let result = match deliver.deliver_in(&mut savepoint, announcement) {
        Some(work) => Some(tokio::time::timeout(DELIVERY_TIMEOUT, work).await),
        None => None,
    };
    Ok(match result {
        Some(Ok(Ok(handled))) => {
            savepoint.commit().await?;
            match handled {
                Handled::Done => Outcome::Delivered,
                Handled::Later(wait) => Outcome::Later {
                    delay_ms: wait.as_millis() as u64,
                },
                Handled::Partial(error) => failure(error, attempts, settings),
            }
        }
        Some(Ok(Err(err))) => {
            savepoint.rollback().await?;
            failure(format!("{err:#}"), attempts, settings)
        }
        Some(Err(_)) => {
            savepoint.rollback().await?;
            failure("delivery timed out".into(), attempts, settings)
        }
        None => {
            savepoint.rollback().await?;
            Outcome::Dead {
                error: "no consumer on this node takes it".into(),
            }
        }
    })
}

/// Ranges of channel events with those that continue one another joined: `[1, 3]` and `[4, 9]`
/// of one matter become `[1, 9]`. Ranges with a gap between them stay apart (the gap's row may
/// be another dispatcher's), so no event is read back twice.
fn merged(
    mut ranges: Vec<crate::notify::expand::SeqRange>,
) -> Vec<crate::notify::expand::SeqRange> {
    ranges.sort_by_key(|r| (r.matter_id, r.first_seq));
    let mut out: Vec<crate::notify::expand::SeqRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match out.last_mut() {
            Some(last)
                if last.matter_id == range.matter_id && range.first_seq == last.last_seq + 1 =>
            {
                last.last_seq = range.last_seq;
            }
            _ => out.push(range),
        }
    }
    out
}

/// Delivers, failing after [`DELIVERY_TIMEOUT`].
pub(super) async fn deliver_within(
    deliver: &dyn Deliver,
    announcement: &Announcement,
) -> std::result::Result<(), DeliveryError> {
    tokio::time::timeout(DELIVERY_TIMEOUT, deliver.deliver(announcement))
        .await
        .unwrap_or_else(|_| Err(DeliveryError("delivery timed out".into())))
}

/// The wait before attempt `attempts + 1`: the base, doubled for each earlier failure, capped.
fn backoff_ms(base_ms: u64, attempts: i32) -> u64 {
    let doublings = (attempts.max(1) - 1).min(32) as u32;
    base_ms
        .saturating_mul(1u64 << doublings)
        .min(MAX_BACKOFF_MS)
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn contiguous_ranges_of_a_matter_merge_and_gaps_stay() {
        use crate::notify::expand::SeqRange;
        use docket_protocol::ids::MatterId;
        let (a, b) = (
            MatterId(uuid::Uuid::from_u128(1)),
            MatterId(uuid::Uuid::from_u128(2)),
        );
        let r = |matter_id, first_seq, last_seq| SeqRange {
            matter_id,
            first_seq,
            last_seq,
        };
        assert_eq!(
            super::merged(vec![
                r(a, 4, 9),
                r(b, 1, 1),
                r(a, 1, 3),
                r(a, 11, 12),
                r(b, 2, 5)
            ]),
            vec![r(a, 1, 9), r(a, 11, 12), r(b, 1, 5)]
        );
    }

    #[test]
    fn the_back_off_doubles_then_caps() {
        assert_eq!(backoff_ms(1_000, 1), 1_000);
        assert_eq!(backoff_ms(1_000, 2), 2_000);
        assert_eq!(backoff_ms(1_000, 4), 8_000);
        assert_eq!(backoff_ms(1_000, 30), 300_000);
        assert_eq!(backoff_ms(u64::MAX, 3), 300_000);
    }
}
