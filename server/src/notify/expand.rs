//! Channel events into notices: the `notify` consumer of the outbox. The channel writer (and every
//! other event append) leaves a row naming the seqs it committed; a dispatcher reads those events
//! back and raises the notices they call for, in the transaction that removes the row, so each
//! event is counted once. It also keeps the matter's wait for the firm's answer (escalation).

use std::collections::BTreeMap;

use docket_protocol::ids::{MatterId, UserId};
use docket_protocol::notifications::NoticeKind;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::config::NotifySettings;
use crate::Result;

/// Events `first_seq..=last_seq` of one matter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeqRange {
    pub matter_id: MatterId,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// Someone a matter's notices may reach.
struct Person {
    user_id: UserId,
    is_firm: bool,
    responsible: bool,
    scopes: Vec<String>,
}

impl Person {
    fn holds(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Who an event tells, and of what.
fn audience(
    kind: &str,
    status: Option<&str>,
    author_is_firm: bool,
) -> Option<(NoticeKind, Side, &'static str)> {
    match (kind, status) {
        // The other side of the conversation.
        ("message", _) if author_is_firm => Some((NoticeKind::Message, Side::Client, "messages")),
        ("message", _) => Some((NoticeKind::Message, Side::Firm, "messages")),
        ("document_published", _) => Some((NoticeKind::Document, Side::Client, "documents")),
        ("document_uploaded", _) if !author_is_firm => {
            Some((NoticeKind::ClientUpload, Side::Firm, "documents"))
        }
        ("invoice", _) => Some((NoticeKind::Invoice, Side::Client, "invoices")),
        ("payment", Some("succeeded")) => {
            Some((NoticeKind::Payment, Side::Responsible, "invoices"))
        }
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Firm,
    Client,
    Responsible,
}

/// Raises the notices events `ranges` call for, and keeps each matter's wait for the firm's
/// answer. Runs as the notifier (docket_channel) in the dispatcher's transaction, in a handful of
/// set-based statements however many matters the ranges span.
pub async fn expand(
    conn: &mut PgConnection,
    settings: &NotifySettings,
    ranges: &[SeqRange],
) -> Result<()> {
    if ranges.is_empty() {
        return Ok(());
    }
    let events = sqlx::query!(
        r#"select matter_id as "matter_id!", seq as "seq!", kind as "kind!", author_id,
                  author_is_firm as "author_is_firm!", status, created_at as "created_at!"
           from notify_read_back($1, $2, $3)"#,
        &ranges.iter().map(|r| r.matter_id.0).collect::<Vec<_>>(),
        &ranges
            .iter()
            .map(|r| r.first_seq as i64)
            .collect::<Vec<_>>(),
        &ranges.iter().map(|r| r.last_seq as i64).collect::<Vec<_>>(),
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_matter: BTreeMap<Uuid, Vec<&_>> = BTreeMap::new();
    for event in &events {
        by_matter.entry(event.matter_id).or_default().push(event);
    }

    // Who each matter with something to tell may tell, in one read.
    let telling: Vec<Uuid> = by_matter
        .iter()
        .filter(|(_, events)| {
            events
                .iter()
                .any(|e| audience(&e.kind, e.status.as_deref(), e.author_is_firm).is_some())
        })
        .map(|(m, _)| *m)
        .collect();
    let mut people: BTreeMap<Uuid, Vec<Person>> = BTreeMap::new();
    if !telling.is_empty() {
        for r in sqlx::query!(
            r#"select matter_id as "matter_id!", user_id as "user_id!", is_firm as "is_firm!",
                      responsible as "responsible!", scopes as "scopes!"
               from notify_people($1)"#,
            &telling
        )
        .fetch_all(&mut *conn)
        .await?
        {
            people.entry(r.matter_id).or_default().push(Person {
                user_id: r.user_id.into(),
                is_firm: r.is_firm,
                responsible: r.responsible,
                scopes: r.scopes,
            });
        }
    }

    let mut tally: BTreeMap<(Uuid, UserId, NoticeKind), u32> = BTreeMap::new();
    let mut waits = Waits::default();
    for (matter_id, events) in &by_matter {
        let everyone = people.get(matter_id).map(Vec::as_slice).unwrap_or_default();
        for event in events {
            let Some((kind, side, scope)) =
                audience(&event.kind, event.status.as_deref(), event.author_is_firm)
            else {
                continue;
            };
            for person in everyone {
                let on_side = match side {
                    Side::Firm => person.is_firm,
                    Side::Client => !person.is_firm,
                    Side::Responsible => person.responsible,
                };
                // Never the author.
                if on_side && person.holds(scope) && event.author_id != Some(person.user_id.0) {
                    *tally.entry((*matter_id, person.user_id, kind)).or_default() += 1;
                }
            }
        }
        // The wait for the firm's answer: a firm message ends it, a client message after the
        // last firm message starts it.
        let messages: Vec<_> = events.iter().filter(|e| e.kind == "message").collect();
        let last_firm = messages.iter().rposition(|e| e.author_is_firm);
        let first_waiting = messages[last_firm.map_or(0, |i| i + 1)..]
            .iter()
            .find(|e| !e.author_is_firm);
        if last_firm.is_some() || first_waiting.is_some() {
            waits.matters.push(*matter_id);
            waits.since.push(first_waiting.map(|e| e.created_at));
            waits.seqs.push(first_waiting.map(|e| e.seq));
            waits.answered.push(last_firm.is_some());
        }
    }

    if !tally.is_empty() {
        let (mut matters, mut users, mut kinds, mut counts) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for ((matter_id, user_id, kind), count) in tally {
            matters.push(matter_id);
            users.push(user_id.0);
            kinds.push(kind.as_str());
            counts.push(count as i32);
        }
        sqlx::query!(
            "select notification_enqueue_many($1, $2, $3, $4, $5, $6)",
            &users,
            &matters,
            &kinds as &[&str],
            &counts,
            settings.hold_ms as i64,
            settings.interval_ms as i64,
        )
        .execute(&mut *conn)
        .await?;
    }
    if !waits.matters.is_empty() {
        sqlx::query!(
            "select notify_reply_waits($1, $2, $3, $4)",
            &waits.matters,
            &waits.since as &[Option<time::OffsetDateTime>],
            &waits.seqs as &[Option<i64>],
            &waits.answered,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Matters whose wait for the firm's answer starts or ends, as the arrays `notify_reply_waits`
/// takes.
#[derive(Default)]
struct Waits {
    matters: Vec<Uuid>,
    since: Vec<Option<time::OffsetDateTime>>,
    seqs: Vec<Option<i64>>,
    answered: Vec<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_actionable_events_notify_the_other_side() {
        assert!(matches!(
            audience("message", None, false),
            Some((NoticeKind::Message, Side::Firm, "messages"))
        ));
        assert!(matches!(
            audience("message", None, true),
            Some((NoticeKind::Message, Side::Client, "messages"))
        ));
        assert!(matches!(
            audience("document_published", None, true),
            Some((NoticeKind::Document, Side::Client, "documents"))
        ));
        assert!(matches!(
            audience("document_uploaded", None, false),
            Some((NoticeKind::ClientUpload, Side::Firm, _))
        ));
        assert!(matches!(
            audience("payment", Some("succeeded"), false),
            Some((NoticeKind::Payment, Side::Responsible, _))
        ));
        for (kind, status) in [
            ("edit", None),
            ("delete", None),
            ("system", None),
            ("milestone", None),
            ("payment", Some("failed")),
            ("mls", None),
        ] {
            assert!(audience(kind, status, false).is_none(), "{kind}");
        }
    }
}
