//! A connection's subscriptions: joining a matter's room (with replay from a `seq`), and the guard
//! every matter frame passes through. Both authorise through the node's batched authoriser; the
//! node's watch re-checks what they hold.

use docket_protocol::channel::ServerFrame;
use docket_protocol::directory::Scope;
use docket_protocol::ids::MatterId;
use uuid::Uuid;

use super::{send_frame, Connection, Refusal, Sink};
use crate::channels::authorizer::Grant;
use crate::channels::hub::{Held, Member};
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
        let known = self
            .admission
            .watched
            .held()
            .get(&matter_id)
            .map(|held| held.scopes.contains(&scope));
        let allowed = match known {
            Some(allowed) => allowed,
            None => {
                let grant = self
                    .authorize(matter_id, false)
                    .await
                    .map_err(|refusal| refusal.concerning(matter_id, client_msg_id))?;
                let allowed = grant.scopes.contains(&scope);
                let mut held = self.admission.watched.held();
                let unfollowed = held.values().filter(|h| !h.subscribed).count();
                if unfollowed >= MAX_AUTHORIZED {
                    let forgotten = held.iter().find(|(_, h)| !h.subscribed).map(|(m, _)| *m);
                    if let Some(forgotten) = forgotten {
                        held.remove(&forgotten);
                    }
                }
                held.entry(matter_id).or_insert(Held {
                    scopes: grant.scopes,
                    subscribed: false,
                });
                allowed
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(Refusal::about(Error::Forbidden, matter_id, client_msg_id))
        }
    }

    /// What the user holds on a matter (and its read positions, with `with_reads`), or
    /// `forbidden`: the same answer whether the matter is missing or not visible, so existence
    /// does not leak.
    async fn authorize(&self, matter_id: MatterId, with_reads: bool) -> Result<Grant, Refusal> {
        let grant = self
            .app
            .channels
            .authorizer
            .grant(self.auth.user.user_id, matter_id, with_reads)
            .await?;
        if grant.scopes.is_empty() {
            return Err(Refusal::about(Error::Forbidden, matter_id, None));
        }
        Ok(grant)
    }

    /// This connection as a member of a room, under `scopes`.
    pub(super) fn member(&self, scopes: Vec<Scope>) -> Member {
        Member {
            user_id: self.auth.user.user_id,
            is_firm: self.is_firm,
            scopes,
            mailbox: self.admission.mailbox.clone(),
        }
    }

    pub(super) async fn subscribe(
        &mut self,
        matter_id: MatterId,
        since: Option<u64>,
        sink: &mut Sink,
    ) -> Result<(), Refusal> {
        let grant = self.authorize(matter_id, true).await?;
        let scopes = grant.scopes;
        let head = self
            .app
            .channels
            .hub
            .join(matter_id, self.admission.conn, self.member(scopes.clone()))
            .await;
        self.admission.watched.held().insert(
            matter_id,
            Held {
                scopes: scopes.clone(),
                subscribed: true,
            },
        );
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
            let receipts = self.app.channels.hub.receipts();
            reads = grant
                .reads
                .into_iter()
                .filter(|read| {
                    read.position.user_id == self.auth.user.user_id
                        || receipts.may_see(self.is_firm, read.reader_is_firm)
                })
                .map(|read| read.position)
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
}
