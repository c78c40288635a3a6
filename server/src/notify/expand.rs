//! Channel events into notices: the `notify` consumer of the outbox. The channel writer (and every
//! other event append) leaves a row naming the seqs it committed; a dispatcher reads those events
//! back and raises the notices they call for, in the transaction that removes the row, so each
//! event is counted once. It also keeps the matter's wait for the firm's answer (escalation).

use std::collections::BTreeMap;

use docket_protocol::ids::{MatterId, UserId};
use docket_protocol::notifications::NoticeKind;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::{raise, Notice};
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
    action: Option<&str>,
    status: Option<&str>,
    author_is_firm: bool,
) -> Option<(NoticeKind, Side, &'static str)> {
    match (kind, action, status) {
        // The other side of the conversation.
        ("message", _, _) if author_is_firm => {
            Some((NoticeKind::Message, Side::Client, "messages"))
        }
        ("message", _, _) => Some((NoticeKind::Message, Side::Firm, "messages")),
        ("document_published", _, _) => Some((NoticeKind::Document, Side::Client, "documents")),
        ("document_uploaded", _, _) if !author_is_firm => {
            Some((NoticeKind::ClientUpload, Side::Firm, "documents"))
        }
        ("invoice", _, _) => Some((NoticeKind::Invoice, Side::Client, "invoices")),
        ("payment", _, Some("succeeded")) => {
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

/// Raises the notices events `ranges` call for. Runs as the notifier (docket_channel) in the
/// dispatcher's transaction.
pub async fn expand(
    conn: &mut PgConnection,
    settings: &NotifySettings,
    ranges: &[SeqRange],
) -> Result<()> {
    // A matter's ranges together: its people are read, and its notices raised, once.
    let mut by_matter: BTreeMap<MatterId, Vec<&SeqRange>> = BTreeMap::new();
    for range in ranges {
        by_matter.entry(range.matter_id).or_default().push(range);
    }
    for (matter_id, ranges) in by_matter {
        let mut events = Vec::new();
        for range in ranges {
            events.extend(
                sqlx::query!(
                    r#"select seq as "seq!", kind as "kind!", author_id,
                              author_is_firm as "author_is_firm!", action, status,
                              created_at as "created_at!"
                       from notify_events($1, $2, $3)"#,
                    matter_id.0,
                    range.first_seq as i64,
                    range.last_seq as i64,
                )
                .fetch_all(&mut *conn)
                .await?,
            );
        }
        events.sort_by_key(|e| e.seq);
        let noticeable: Vec<_> = events
            .iter()
            .filter_map(|e| {
                audience(
                    &e.kind,
                    e.action.as_deref(),
                    e.status.as_deref(),
                    e.author_is_firm,
                )
                .map(|a| (e, a))
            })
            .collect();
        if noticeable.is_empty() {
            continue;
        }
        let people: Vec<Person> = sqlx::query!(
            r#"select user_id as "user_id!", is_firm as "is_firm!", responsible as "responsible!",
                      scopes as "scopes!" from notify_matter_people($1)"#,
            matter_id.0
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| Person {
            user_id: r.user_id.into(),
            is_firm: r.is_firm,
            responsible: r.responsible,
            scopes: r.scopes,
        })
        .collect();

        let mut tally: BTreeMap<(UserId, NoticeKind), u32> = BTreeMap::new();
        for (event, (kind, side, scope)) in &noticeable {
            for person in &people {
                let on_side = match side {
                    Side::Firm => person.is_firm,
                    Side::Client => !person.is_firm,
                    Side::Responsible => person.responsible,
                };
                // Never the author.
                if on_side && person.holds(scope) && event.author_id != Some(person.user_id.0) {
                    *tally.entry((person.user_id, *kind)).or_default() += 1;
                }
            }
        }
        for ((user_id, kind), count) in tally {
            let mut notice = Notice::on_matter(user_id, matter_id, kind);
            notice.count = count;
            raise(&mut *conn, settings, &notice).await?;
        }

        // The wait for the firm's answer: a firm message ends it, a client message after the
        // last firm message starts it.
        let messages: Vec<_> = events.iter().filter(|e| e.kind == "message").collect();
        let last_firm = messages.iter().rposition(|e| e.author_is_firm);
        let first_waiting = messages[last_firm.map_or(0, |i| i + 1)..]
            .iter()
            .find(|e| !e.author_is_firm);
        if last_firm.is_some() || first_waiting.is_some() {
            sqlx::query!(
                "select notify_reply_wait($1, $2, $3, $4)",
                matter_id.0,
                first_waiting.map(|e| e.created_at),
                first_waiting.map(|e| e.seq),
                last_firm.is_some(),
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_actionable_events_notify_the_other_side() {
        assert!(matches!(
            audience("message", None, None, false),
            Some((NoticeKind::Message, Side::Firm, "messages"))
        ));
        assert!(matches!(
            audience("message", None, None, true),
            Some((NoticeKind::Message, Side::Client, "messages"))
        ));
        assert!(matches!(
            audience("document_published", None, None, true),
            Some((NoticeKind::Document, Side::Client, "documents"))
        ));
        assert!(matches!(
            audience("document_uploaded", None, None, false),
            Some((NoticeKind::ClientUpload, Side::Firm, _))
        ));
        assert!(matches!(
            audience("payment", None, Some("succeeded"), false),
            Some((NoticeKind::Payment, Side::Responsible, _))
        ));
        for (kind, action, status) in [
            ("edit", None, None),
            ("delete", None, None),
            ("system", None, None),
            ("milestone", None, None),
            ("payment", None, Some("failed")),
            ("mls", None, None),
        ] {
            assert!(audience(kind, action, status, false).is_none(), "{kind}");
        }
    }
}
