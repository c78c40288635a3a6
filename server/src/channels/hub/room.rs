//! One matter's room on this node: its members (the sockets subscribed to the matter here), the
//! task that puts the matter's events in `seq` order and fills gaps from Postgres, and the
//! delivery that flags a member slow rather than wait for it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use docket_protocol::directory::Scope;
use docket_protocol::ids::{MatterId, UserId};
use tokio::sync::{mpsc, oneshot};

use super::mailbox::{Mailbox, Offered};
use super::{ConnId, Hub};
use crate::channels::store;

/// Events fetched per round trip when filling a gap.
const GAP_PAGE: i32 = 500;

/// A socket's membership of a room.
#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: UserId,
    pub is_firm: bool,
    pub scopes: Vec<Scope>,
    pub mailbox: Arc<Mailbox>,
}

pub(super) enum RoomMsg {
    Event {
        seq: u64,
        scope: Scope,
        frame: Utf8Bytes,
    },
    Ephemeral {
        scope: Scope,
        reader_is_firm: Option<bool>,
        frame: Utf8Bytes,
    },
    Join {
        conn: ConnId,
        member: Member,
        reply: oneshot::Sender<u64>,
    },
    Leave {
        conn: ConnId,
    },
    CatchUp,
}

/// One matter's room on this node.
pub(super) async fn run_room(
    hub: Hub,
    matter_id: MatterId,
    mut rx: mpsc::Receiver<RoomMsg>,
    mut last: u64,
) {
    let mut members: HashMap<ConnId, Member> = HashMap::new();
    while let Some(message) = rx.recv().await {
        match message {
            RoomMsg::Join {
                conn,
                member,
                reply,
            } => {
                members.insert(conn, member);
                let _ = reply.send(last);
            }
            RoomMsg::Leave { conn } => {
                members.remove(&conn);
                if members.is_empty() && hub.close_room_if_idle(matter_id, &rx) {
                    hub.0.bus.unfollow(matter_id);
                    return;
                }
            }
            RoomMsg::Event { seq, scope, frame } => {
                if seq <= last {
                    continue;
                }
                if seq > last + 1 {
                    last = fill(&hub, matter_id, last, seq - 1, &mut members).await;
                    if seq <= last {
                        continue;
                    }
                }
                deliver(&mut members, scope, None, &frame, &hub);
                last = seq;
            }
            RoomMsg::CatchUp => last = fill(&hub, matter_id, last, u64::MAX, &mut members).await,
            RoomMsg::Ephemeral {
                scope,
                reader_is_firm,
                frame,
            } => deliver(&mut members, scope, reader_is_firm, &frame, &hub),
        }
    }
}

/// Delivers events after `last` up to `upto` from Postgres; returns the new last `seq`.
async fn fill(
    hub: &Hub,
    matter_id: MatterId,
    mut last: u64,
    upto: u64,
    members: &mut HashMap<ConnId, Member>,
) -> u64 {
    while last < upto {
        let page = match crate::db::channel_transaction(&hub.0.pool).await {
            Ok(mut tx) => store::delivery_page(&mut tx, matter_id, last, GAP_PAGE).await,
            Err(err) => Err(err),
        };
        let page = match page {
            Ok(page) => page,
            Err(err) => {
                tracing::warn!(error = %err, %matter_id, "could not fill a gap; clients will fetch it");
                return last;
            }
        };
        let full = page.len() as i32 == GAP_PAGE;
        for stored in page.into_iter().take_while(|e| (e.seq as u64) <= upto) {
            match stored.frame() {
                Ok(event) => deliver(
                    members,
                    event.scope,
                    None,
                    &Utf8Bytes::from(event.frame),
                    hub,
                ),
                Err(err) => tracing::error!(error = %err, "event does not serialise"),
            }
            last = stored.seq as u64;
        }
        if !full {
            break;
        }
    }
    last
}

fn deliver(
    members: &mut HashMap<ConnId, Member>,
    scope: Scope,
    reader_is_firm: Option<bool>,
    frame: &Utf8Bytes,
    hub: &Hub,
) {
    members.retain(|_, member| {
        let entitled = member.scopes.contains(&scope)
            && reader_is_firm.is_none_or(|firm| hub.receipts().may_see(member.is_firm, firm));
        if !entitled {
            return true;
        }
        // A member that overflowed is flagged slow and closes; either way it leaves the room.
        member.mailbox.offer(frame.clone()) == Offered::Queued
    });
}
