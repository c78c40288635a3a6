//! What the clock makes due: daily digests, escalations of an unanswered client, and invoices
//! falling overdue. Every node ticks; one at a time does the work (a transaction-scoped advisory
//! lock), reading "now" from the server's [`Clock`], so tests move time instead of sleeping.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use docket_protocol::ids::{MatterId, UserId};
use docket_protocol::notifications::NoticeKind;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::send::Notifier;
use super::text::{self, MatterName};
use super::{raise, Detail, Notice};
use crate::mail::Email;
use crate::Result;

/// The advisory lock key of the clock's work (an arbitrary constant: "docket notify").
const LOCK_KEY: i64 = 0x646f_636b_6e6f_7479;

/// Users whose digests one tick sends, at most.
const DIGESTS_PER_TICK: i32 = 200;

/// Runs the clock's work every `tick_ms` until the process ends.
pub async fn run(pool: PgPool, notifier: Arc<Notifier>) {
    let tick = Duration::from_millis(notifier.settings.tick_ms);
    loop {
        tokio::time::sleep(tick).await;
        if let Err(err) = tick_once(&pool, &notifier).await {
            tracing::warn!(error = %err, "notification clock work failed; retrying next tick");
        }
    }
}

/// One tick: escalations, overdue invoices and old notifications under the lock, then the
/// digests that are due. Returns whether this node did the locked work.
pub async fn tick_once(pool: &PgPool, notifier: &Notifier) -> Result<bool> {
    let now = notifier.clock.now();
    let mut tx = crate::db::channel_transaction(pool).await?;
    let locked = sqlx::query_scalar!("select pg_try_advisory_xact_lock($1)", LOCK_KEY)
        .fetch_one(&mut *tx)
        .await?
        .unwrap_or(false);
    if locked {
        escalate(&mut tx, notifier, now).await?;
        overdue(&mut tx, notifier, now).await?;
        forget_settled(&mut tx, now).await?;
    }
    tx.commit().await?;
    // Each user's digest in a transaction of its own: one relay failure must not resend the
    // digests already sent. Nodes never send one twice: the entries are claimed `skip locked`
    // and marked in the transaction that sends them.
    let due = {
        let mut tx = crate::db::channel_transaction(pool).await?;
        let due = sqlx::query!(
            r#"select user_id as "user_id!", email as "email!", cutoff as "cutoff!"
               from notify_digests_due($1, $2)"#,
            now,
            DIGESTS_PER_TICK
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        due
    };
    for user in due {
        let mut tx = crate::db::channel_transaction(pool).await?;
        digest(
            &mut tx,
            notifier,
            now,
            user.user_id,
            user.email,
            user.cutoff,
        )
        .await?;
        tx.commit().await?;
    }
    Ok(locked)
}

/// How long settled notifications (and their delivery records) are kept: the alerts list and
/// the audit trail are the record, these only steer delivery.
const KEEP_SETTLED_DAYS: i64 = 30;

/// Deletes settled notifications older than [`KEEP_SETTLED_DAYS`], a batch per tick, except
/// those whose digest entry still waits.
async fn forget_settled(conn: &mut sqlx::PgConnection, now: OffsetDateTime) -> Result<()> {
    sqlx::query!(
        "delete from notification where notification_id in (
             select n.notification_id from notification n
             where n.state <> 'pending' and n.settled_at < $1
               and not exists (select 1 from notification_delivery d
                               where d.notification_id = n.notification_id and d.delivered_at is null)
             limit 5000)",
        now - time::Duration::days(KEEP_SETTLED_DAYS),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A client waiting past the practice area's working hours: the responsible fee earner is told
/// again (level 1), then the supervising partner (level 2; the fee earner again if the matter
/// names none).
async fn escalate(
    conn: &mut sqlx::PgConnection,
    notifier: &Notifier,
    now: OffsetDateTime,
) -> Result<()> {
    let s = &notifier.settings;
    let (start, end) = (
        super::parse_hhmm(&s.working_day_start).unwrap_or((9, 0)),
        super::parse_hhmm(&s.working_day_end).unwrap_or((17, 30)),
    );
    let due = sqlx::query!(
        r#"select matter_id as "matter_id!", level as "level!", since as "since!",
                  responsible as "responsible!", partner
           from notify_escalations_due($1, $2, make_time($3, $4, 0), make_time($5, $6, 0))"#,
        now,
        s.firm_time_zone,
        start.0 as i32,
        start.1 as i32,
        end.0 as i32,
        end.1 as i32,
    )
    .fetch_all(&mut *conn)
    .await?;
    for wait in due {
        let level = (wait.level + 1) as u8;
        let to = match (level, wait.partner) {
            (2, Some(partner)) => partner,
            _ => wait.responsible,
        };
        let notice = Notice {
            user_id: UserId(to),
            matter_id: Some(MatterId(wait.matter_id)),
            kind: NoticeKind::Message,
            count: 1,
            detail: Detail {
                level: Some(level),
                since: Some(wait.since),
                ..Detail::default()
            },
            exclude_device: None,
        };
        raise(&mut *conn, s, &notice).await?;
        sqlx::query!(
            "update matter_reply_wait set level = $2, escalated_at = $3 where matter_id = $1",
            wait.matter_id,
            level as i16,
            now,
        )
        .execute(&mut *conn)
        .await?;
        tracing::info!(matter_id = %wait.matter_id, level, "client waiting: escalated");
    }
    Ok(())
}

/// Invoices past their due date (in the firm's time zone) tell the client's users who see
/// invoices, once.
async fn overdue(
    conn: &mut sqlx::PgConnection,
    notifier: &Notifier,
    now: OffsetDateTime,
) -> Result<()> {
    let s = &notifier.settings;
    let today = sqlx::query_scalar!(
        r#"select ($1::timestamptz at time zone $2)::date as "today!""#,
        now,
        s.firm_time_zone
    )
    .fetch_one(&mut *conn)
    .await?;
    let invoices = sqlx::query!(
        r#"select invoice_id as "invoice_id!", matter_id as "matter_id!"
           from notify_overdue_invoices($1, 500)"#,
        today
    )
    .fetch_all(&mut *conn)
    .await?;
    for invoice in invoices {
        let people = sqlx::query!(
            r#"select user_id as "user_id!", is_firm as "is_firm!", scopes as "scopes!"
               from notify_matter_people($1)"#,
            invoice.matter_id
        )
        .fetch_all(&mut *conn)
        .await?;
        for person in people
            .iter()
            .filter(|p| !p.is_firm && p.scopes.iter().any(|s| s == "invoices"))
        {
            let mut notice = Notice::on_matter(
                UserId(person.user_id),
                MatterId(invoice.matter_id),
                NoticeKind::Invoice,
            );
            notice.detail.overdue = true;
            raise(&mut *conn, s, &notice).await?;
        }
        sqlx::query!("select notify_mark_overdue($1)", invoice.invoice_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// One user whose digest hour has come gets one e-mail listing what waited for it.
async fn digest(
    conn: &mut sqlx::PgConnection,
    notifier: &Notifier,
    now: OffsetDateTime,
    user_id: uuid::Uuid,
    email: String,
    cutoff: OffsetDateTime,
) -> Result<()> {
    let items = sqlx::query!(
        "select n.notification_id, n.kind, n.count, n.detail, n.matter_id
         from notification_delivery d join notification n using (notification_id)
         where d.user_id = $1 and d.channel = 'digest' and d.delivered_at is null
           and n.settled_at < $2
         order by n.settled_at
         for update of d skip locked",
        user_id,
        cutoff
    )
    .fetch_all(&mut *conn)
    .await?;
    if items.is_empty() {
        return Ok(());
    }
    let mut lines = String::new();
    for item in &items {
        let Some(kind) = NoticeKind::parse(&item.kind) else {
            continue;
        };
        let ctx = sqlx::query!(
            "select reference, title, e2ee from notification_context($1)",
            item.notification_id
        )
        .fetch_one(&mut *conn)
        .await?;
        let matter = ctx.reference.map(|reference| MatterName {
            reference,
            title: if ctx.e2ee.unwrap_or(true) {
                None
            } else {
                ctx.title
            },
        });
        let detail: Detail = serde_json::from_value(item.detail.clone()).unwrap_or_default();
        let sentence = text::sentence(kind, item.count.max(1) as u32, matter.as_ref(), &detail);
        let link = item
            .matter_id
            .map(|m| format!("{}/matters/{m}", notifier.public_url.trim_end_matches('/')))
            .unwrap_or_default();
        let _ = writeln!(lines, "- {sentence}. {link}");
    }
    let count = items.len();
    let body = format!(
            "Your daily summary from Docket: {count} {} since the last one.\n\n{lines}\n\
             You can choose which notices reach you, and how, under Settings \u{2192} Notifications.",
            if count == 1 { "notice" } else { "notices" }
        );
    notifier
        .mailer
        .send(Email {
            to: email,
            subject: format!(
                "Your Docket summary: {count} {}",
                if count == 1 { "notice" } else { "notices" }
            ),
            body,
        })
        .await
        .map_err(|e| anyhow::anyhow!("sending a digest failed: {e:#}"))?;
    let ids: Vec<uuid::Uuid> = items.iter().map(|i| i.notification_id).collect();
    sqlx::query!(
        "update notification_delivery set delivered_at = $3
         where user_id = $1 and channel = 'digest' and notification_id = any($2)",
        user_id,
        &ids,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
