//! A connection's subscriptions: joining a matter's room (with replay from a `seq`), the guard
//! every matter frame passes through, and the re-check that drops or narrows subscriptions whose
//! access has changed.

use std::collections::HashMap;

use docket_protocol::channel::{ServerFrame, UnsubscribeReason};
use docket_protocol::directory::Scope;
use docket_protocol::ids::MatterId;
use uuid::Uuid;

use super::{send_frame, Closing, Connection, Refusal, Sink};
use crate::access::{self, matter_scopes, Action};
use crate::channels::hub::Member;
use crate::channels::store;
use crate::Error;

/// Events replayed per database round trip.
const REPLAY_PAGE: i64 = 500;

/// Matters remembered as authorised without a subscription, at most (about 64 bytes each). A
/// firm user posting round the matters of a large practice must not be re-authorised on every
/// send; past the cap, one entry is forgotten for each new one.
const MAX_AUTHORIZED: usize = 10_000;

impl Connection {
    /// The user must hold `scope` on the matter. A matter the socket does not follow is
    /// authorised on first use and re-checked with the subscriptions, so one can post to
    /// a matter without following it (a quick reply from a notification, a CLI send).
    pub(super) async fn require(
        &mut self,
        matter_id: MatterId,
        scope: Scope,
        client_msg_id: Option<Uuid>,
    ) -> Result<(), Refusal> {
        let scopes = match self
            .subs
            .get(&matter_id)
            .or_else(|| self.authorized.get(&matter_id))
        {
            Some(scopes) => scopes.clone(),
            None => {
                let scopes = self
                    .load_scopes(matter_id)
                    .await
                    .map_err(|refusal| refusal.concerning(matter_id, client_msg_id))?;
                if self.authorized.len() >= MAX_AUTHORIZED {
                    let forgotten = self.authorized.keys().next().copied();
                    if let Some(forgotten) = forgotten {
                        self.authorized.remove(&forgotten);
                    }
                }
                self.authorized.insert(matter_id, scopes.clone());
                scopes
            }
        };
        if scopes.contains(&scope) {
            Ok(())
        } else {
            Err(Refusal::about(Error::Forbidden, matter_id, client_msg_id))
        }
    }

    /// The scopes the user holds on a matter, through the tenant transaction; `forbidden` (the
    /// same answer whether the matter is missing or not visible: existence does not leak).
    async fn load_scopes(&self, matter_id: MatterId) -> Result<Vec<Scope>, Refusal> {
        let forbidden = || Refusal::about(Error::Forbidden, matter_id, None);
        let mut tenant = self.auth.tenant(&self.app).await?;
        let opened =
            access::matter(&mut tenant, &self.auth.actor, matter_id, Action::ViewMatter).await;
        let facts = match opened {
            Ok(facts) => facts,
            Err(Error::NotFound | Error::Forbidden) => return Err(forbidden()),
            Err(err) => return Err(err.into()),
        };
        tenant.commit().await?;
        Ok(matter_scopes(&self.auth.actor, &facts))
    }

    pub(super) async fn subscribe(
        &mut self,
        matter_id: MatterId,
        since: Option<u64>,
        sink: &mut Sink,
    ) -> Result<(), Refusal> {
        let scopes = self.load_scopes(matter_id).await?;
        let member = Member {
            user_id: self.auth.user.user_id,
            is_firm: self.is_firm,
            scopes: scopes.clone(),
            queue: self.queue_tx.clone(),
            slow: self.slow.clone(),
        };
        let head = self
            .app
            .channels
            .hub
            .join(matter_id, self.admission.conn, member)
            .await;
        self.subs.insert(matter_id, scopes.clone());
        if let Some(since) = since {
            self.replay(matter_id, since, head, sink).await?;
        }
        let key = self.connection_key();
        let presence = &self.app.channels.presence;
        let mut reads = Vec::new();
        if scopes.contains(&Scope::Messages) {
            presence
                .set(matter_id, self.auth.user.user_id, &key, self.presence)
                .await;
            self.announce_presence(matter_id, self.presence).await;
            let mut tenant = self.auth.tenant(&self.app).await?;
            let positions = store::read_positions(tenant.conn(), matter_id).await?;
            tenant.commit().await?;
            let receipts = self.app.channels.hub.receipts();
            reads = positions
                .into_iter()
                .filter(|(user, _, reader_is_firm)| {
                    *user == self.auth.user.user_id
                        || receipts.may_see(self.is_firm, *reader_is_firm)
                })
                .map(|(user_id, seq, _)| docket_protocol::channel::ReadPosition { user_id, seq })
                .collect();
        }
        let presence = if scopes.contains(&Scope::Messages) {
            presence.list(matter_id).await
        } else {
            Vec::new()
        };
        let subscribed = ServerFrame::Subscribed {
            matter_id,
            head_seq: head,
            presence,
            reads,
        };
        send_frame(sink, &subscribed)
            .await
            .map_err(|()| Refusal::Gone)
    }

    /// Writes the events after `since` up to `head` (through RLS, so only what the user may see).
    async fn replay(
        &mut self,
        matter_id: MatterId,
        since: u64,
        head: u64,
        sink: &mut Sink,
    ) -> Result<(), Refusal> {
        let mut after = since;
        while after < head {
            let mut tenant = self.auth.tenant(&self.app).await?;
            let page = store::page(tenant.conn(), matter_id, after, REPLAY_PAGE).await?;
            tenant.commit().await?;
            let Some(last) = page.last().map(|e| e.seq as u64) else {
                break;
            };
            for stored in page.iter().take_while(|e| (e.seq as u64) <= head) {
                send_frame(
                    sink,
                    &ServerFrame::Event {
                        event: stored.to_event(),
                    },
                )
                .await
                .map_err(|()| Refusal::Gone)?;
            }
            if last >= head || (page.len() as i64) < REPLAY_PAGE {
                break;
            }
            after = last;
        }
        Ok(())
    }

    pub(super) async fn recheck_access(&mut self, sink: &mut Sink) -> Result<(), Closing> {
        if self.subs.is_empty() && self.authorized.is_empty() {
            return Ok(());
        }
        // One query re-checks both the followed matters and those only posted to.
        let ids: Vec<MatterId> = self
            .subs
            .keys()
            .chain(self.authorized.keys())
            .copied()
            .collect();
        let facts = async {
            let mut tenant = self.auth.tenant(&self.app).await?;
            let facts = access::facts_of(&mut tenant, &self.auth.actor, &ids).await?;
            tenant.commit().await?;
            Ok::<_, Error>(facts)
        }
        .await;
        let Ok(facts) = facts else { return Ok(()) };
        let scopes: HashMap<MatterId, Vec<Scope>> = facts
            .into_iter()
            .map(|(id, facts)| (id, matter_scopes(&self.auth.actor, &facts)))
            .collect();
        self.authorized.retain(|id, held| match scopes.get(id) {
            Some(now) if !now.is_empty() => {
                held.clone_from(now);
                true
            }
            _ => false,
        });
        let followed: Vec<MatterId> = self.subs.keys().copied().collect();
        for matter_id in followed {
            let now = scopes.get(&matter_id).cloned().unwrap_or_default();
            if now.is_empty() {
                self.subs.remove(&matter_id);
                self.app.channels.hub.leave(matter_id, self.admission.conn);
                let frame = ServerFrame::Unsubscribed {
                    matter_id,
                    reason: UnsubscribeReason::AccessRevoked,
                };
                send_frame(sink, &frame).await.map_err(|_| None)?;
            } else if self.subs.get(&matter_id) != Some(&now) {
                self.subs.insert(matter_id, now.clone());
                let member = Member {
                    user_id: self.auth.user.user_id,
                    is_firm: self.is_firm,
                    scopes: now,
                    queue: self.queue_tx.clone(),
                    slow: self.slow.clone(),
                };
                self.app
                    .channels
                    .hub
                    .join(matter_id, self.admission.conn, member)
                    .await;
            }
        }
        Ok(())
    }
}
