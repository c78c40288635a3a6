//! The node's fan-out: one *room* task per matter that has sockets on this node, and a registry of
//! the node's connections for control messages.
//!
//! A room receives every event of its matter (from this node's writer, or from other nodes via
//! the bus), puts them in `seq` order (filling any gap from Postgres), and hands each frame to its
//! members' bounded mailboxes without waiting. A member whose mailbox is full is flagged slow and its
//! socket closes with a resumable code: the server never buffers without bound, and never waits
//! on one socket while delivering to the others.

mod mailbox;
mod room;
mod watch;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use docket_protocol::channel::ServerFrame;
use docket_protocol::directory::Scope;
use docket_protocol::ids::{AlertId, MatterId, SessionId, UserId};
use futures_util::future::BoxFuture;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

pub use mailbox::{Mail, Mailbox};
pub use room::Member;
pub use watch::{Held, WatchSettings, Watched};

use super::bus::{Bus, BusPayload, Inbound};
use super::store::{self, StoredEvent};
use crate::outbox::{Announcement, Control, Deliver, DeliveryError, EventFrame};
use room::{run_room, RoomMsg};

/// Frames a room queues for a room before its task falls behind.
const ROOM_INBOX: usize = 4_096;

/// A connection's id on this node.
pub type ConnId = u64;

/// `ServerFrame::MattersChanged`, serialised once.
const MATTERS_CHANGED: &str = r#"{"type":"matters_changed"}"#;

/// Alert ids a node remembers having delivered: far more than can arrive twice within the outbox's
/// grace period and retries.
const RECENT_ALERTS: usize = 8_192;

/// What a connection is told by the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnSignal {
    /// Ping the peer (the node's heartbeat), or give up on a peer long silent.
    Ping,
    /// The session was revoked, or its user suspended: close.
    SessionEnded,
    /// The session ran out (the reason, for the audit trail): end it and close.
    SessionExpired(&'static str),
    /// The user's scopes on these held matters changed (empty: access is gone).
    Access(Vec<(MatterId, Vec<Scope>)>),
    /// The node is shutting down: close with "reconnect elsewhere".
    Shutdown,
    /// A frame for this user (an alert), already serialised.
    Frame(Utf8Bytes),
}

struct ConnEntry {
    user_id: UserId,
    session_id: SessionId,
    ip: Option<IpAddr>,
    mailbox: Arc<Mailbox>,
    watched: Arc<Watched>,
}

/// The node's connections, with counts per user and per address for the caps.
#[derive(Default)]
struct Conns {
    by_id: HashMap<ConnId, ConnEntry>,
    per_user: HashMap<UserId, usize>,
    per_address: HashMap<IpAddr, usize>,
}

impl Conns {
    fn iter(&self) -> impl Iterator<Item = (&ConnId, &ConnEntry)> {
        self.by_id.iter()
    }

    fn values(&self) -> impl Iterator<Item = &ConnEntry> {
        self.by_id.values()
    }

    fn remove(&mut self, conn: ConnId) {
        let Some(entry) = self.by_id.remove(&conn) else {
            return;
        };
        release(&mut self.per_user, entry.user_id);
        if let Some(ip) = entry.ip {
            release(&mut self.per_address, ip);
        }
    }
}

/// Counts one place fewer under `key`, forgetting the key at zero.
fn release<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: K) {
    if let std::collections::hash_map::Entry::Occupied(mut count) = counts.entry(key) {
        *count.get_mut() -= 1;
        if *count.get() == 0 {
            count.remove();
        }
    }
}

/// Who may see whose read positions.
#[derive(Clone, Copy, Debug)]
pub struct ReadReceipts {
    /// Firm users see how far clients have read.
    pub firm_sees_clients: bool,
    /// Clients see how far the firm has read.
    pub clients_see_firm: bool,
}

impl ReadReceipts {
    /// Whether a viewer (firm or client) may see a read position of a reader (firm or client) other
    /// than themselves: the one rule, for replay on subscribe and for live delivery alike. Clients
    /// never see each other's positions.
    pub fn may_see(self, viewer_is_firm: bool, reader_is_firm: bool) -> bool {
        match (viewer_is_firm, reader_is_firm) {
            (true, true) => true,
            (true, false) => self.firm_sees_clients,
            (false, true) => self.clients_see_firm,
            (false, false) => false,
        }
    }
}

/// Limits on sockets.
#[derive(Clone, Copy, Debug)]
pub struct SocketCaps {
    pub per_user: usize,
    pub per_address: usize,
    /// Frames queued for one socket before it counts as too slow.
    pub outbound_queue: usize,
}

/// The node's fan-out. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Hub(Arc<HubInner>);

struct HubInner {
    pool: PgPool,
    bus: Bus,
    receipts: ReadReceipts,
    caps: SocketCaps,
    /// Rooms by matter. A std `Mutex`: held only to look up or insert, never across an await.
    rooms: Mutex<HashMap<MatterId, mpsc::Sender<RoomMsg>>>,
    /// Live connections, for control messages and caps. Same locking rule.
    conns: Mutex<Conns>,
    /// Sockets to re-check soon (control messages), and the watch's wake-up. Same locking rule.
    marked: Mutex<watch::Marked>,
    urgent: tokio::sync::Notify,
    /// Alerts delivered on this node, so one that arrives again (from the fast path and a
    /// dispatcher, or from two nodes) reaches each socket once. Same locking rule.
    recent_alerts: Mutex<RecentIds>,
    next_conn: AtomicU64,
    open: AtomicUsize,
}

impl std::fmt::Debug for HubInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("open", &self.open.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Releases a connection's place when the socket ends.
#[derive(Debug)]
pub struct Admission {
    hub: Hub,
    pub conn: ConnId,
    /// What the node and the connection's rooms hand it.
    pub mailbox: Arc<Mailbox>,
    /// What the node's watch knows of this connection.
    pub watched: Arc<Watched>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.mailbox.close();
        self.hub
            .0
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(self.conn);
        self.hub.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hub {
    /// A hub relaying through `bus`; `inbound` carries the bus's messages from other nodes. Its
    /// watch pings and re-checks the node's sockets as `watch` says.
    pub fn new(
        pool: PgPool,
        bus: Bus,
        inbound: Option<mpsc::UnboundedReceiver<Inbound>>,
        receipts: ReadReceipts,
        caps: SocketCaps,
        watch: WatchSettings,
    ) -> Self {
        let hub = Self(Arc::new(HubInner {
            pool,
            bus,
            receipts,
            caps,
            rooms: Mutex::default(),
            conns: Mutex::default(),
            marked: Mutex::default(),
            urgent: tokio::sync::Notify::new(),
            recent_alerts: Mutex::default(),
            next_conn: AtomicU64::new(1),
            open: AtomicUsize::new(0),
        }));
        if let Some(inbound) = inbound {
            tokio::spawn(relay_inbound(hub.clone(), inbound));
        }
        hub.start_watch(watch);
        hub
    }

    /// The bus this hub relays through.
    pub fn bus(&self) -> &Bus {
        &self.0.bus
    }

    /// Admits a new socket for `user_id` from `ip`, or `None` over a cap.
    pub fn admit(
        &self,
        user_id: UserId,
        session_id: SessionId,
        ip: Option<IpAddr>,
    ) -> Option<Admission> {
        let mut conns = self.0.conns.lock().unwrap_or_else(|e| e.into_inner());
        let by_user = conns.per_user.get(&user_id).copied().unwrap_or(0);
        let by_address = ip.map_or(0, |ip| conns.per_address.get(&ip).copied().unwrap_or(0));
        if by_user >= self.0.caps.per_user || by_address >= self.0.caps.per_address {
            return None;
        }
        let conn = self.0.next_conn.fetch_add(1, Ordering::Relaxed);
        let mailbox = Arc::new(Mailbox::new(self.0.caps.outbound_queue));
        let watched = Arc::new(Watched::default());
        *conns.per_user.entry(user_id).or_default() += 1;
        if let Some(ip) = ip {
            *conns.per_address.entry(ip).or_default() += 1;
        }
        conns.by_id.insert(
            conn,
            ConnEntry {
                user_id,
                session_id,
                ip,
                mailbox: mailbox.clone(),
                watched: watched.clone(),
            },
        );
        self.0.open.fetch_add(1, Ordering::AcqRel);
        Some(Admission {
            hub: self.clone(),
            conn,
            mailbox,
            watched,
        })
    }

    /// Open sockets on this node.
    pub fn open_connections(&self) -> usize {
        self.0.open.load(Ordering::Acquire)
    }

    /// Adds (or updates) a member of a matter's room; returns the last `seq` the room has
    /// delivered, after which the member receives every event.
    pub async fn join(&self, matter_id: MatterId, conn: ConnId, member: Member) -> u64 {
        loop {
            let room = self.room(matter_id).await;
            let (reply, last) = oneshot::channel();
            if room
                .send(RoomMsg::Join {
                    conn,
                    member: member.clone(),
                    reply,
                })
                .await
                .is_ok()
            {
                if let Ok(last) = last.await {
                    return last;
                }
            }
            // The room closed between look-up and join; forget it and make a new one.
            let mut rooms = self.0.rooms.lock().unwrap_or_else(|e| e.into_inner());
            if rooms.get(&matter_id).is_some_and(|r| r.same_channel(&room)) {
                rooms.remove(&matter_id);
            }
        }
    }

    /// Removes a member from a room.
    pub fn leave(&self, matter_id: MatterId, conn: ConnId) {
        if let Some(room) = self.existing_room(matter_id) {
            let _ = room.try_send(RoomMsg::Leave { conn });
        }
    }

    fn existing_room(&self, matter_id: MatterId) -> Option<mpsc::Sender<RoomMsg>> {
        self.0
            .rooms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&matter_id)
            .cloned()
    }

    async fn room(&self, matter_id: MatterId) -> mpsc::Sender<RoomMsg> {
        if let Some(room) = self.existing_room(matter_id) {
            return room;
        }
        // Follow the matter on the bus before reading its head, so nothing falls between.
        self.0.bus.follow(matter_id).await;
        let last = match crate::db::channel_transaction(&self.0.pool).await {
            Ok(mut tx) => store::last_seq(&mut tx, matter_id).await.unwrap_or(0),
            Err(_) => 0,
        };
        let mut rooms = self.0.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(room) = rooms.get(&matter_id) {
            return room.clone();
        }
        let (tx, rx) = mpsc::channel(ROOM_INBOX);
        rooms.insert(matter_id, tx.clone());
        tokio::spawn(run_room(self.clone(), matter_id, rx, last));
        tx
    }

    /// Delivers committed events on this node and publishes them to the others, serialising each
    /// once for every socket and node.
    pub async fn publish_events(&self, events: &[StoredEvent]) -> Result<(), DeliveryError> {
        let mut frames: Vec<(MatterId, EventFrame)> = Vec::with_capacity(events.len());
        for stored in events {
            match stored.frame() {
                Ok(frame) => frames.push((MatterId(stored.matter_id), frame)),
                Err(err) => tracing::error!(error = %err, "event does not serialise"),
            }
        }
        self.publish_frames(frames).await
    }

    /// Delivers prepared event frames here and publishes them to the other nodes in one round
    /// trip: the writer acknowledges its senders after this.
    async fn publish_frames(
        &self,
        frames: Vec<(MatterId, EventFrame)>,
    ) -> Result<(), DeliveryError> {
        let mut payloads = Vec::new();
        for (matter_id, event) in frames {
            self.deliver_event(
                matter_id,
                event.seq,
                event.scope,
                Utf8Bytes::from(event.frame.clone()),
            );
            if self.0.bus.is_distributed() {
                payloads.push(BusPayload::Event {
                    matter_id,
                    seq: event.seq,
                    scope: event.scope,
                    frame: event.frame,
                });
            }
        }
        self.0
            .bus
            .publish_all(payloads)
            .await
            .map_err(DeliveryError)
    }

    /// Delivers an announcement here and on every other node (the outbox's consumer).
    async fn announce(&self, announcement: &Announcement) -> Result<(), DeliveryError> {
        match announcement {
            Announcement::Events {
                matter_id,
                first_seq,
                last_seq,
                frames,
            } => {
                if !frames.is_empty() {
                    let frames = frames.iter().map(|f| (*matter_id, f.clone())).collect();
                    return self.publish_frames(frames).await;
                }
                // A dispatcher's delivery: the events come from the log.
                let count = last_seq.saturating_sub(*first_seq) + 1;
                let mut tx = crate::db::channel_transaction(&self.0.pool)
                    .await
                    .map_err(|e| DeliveryError(format!("reading the events: {e}")))?;
                let events = store::delivery_page(
                    &mut tx,
                    *matter_id,
                    first_seq.saturating_sub(1),
                    i32::try_from(count).unwrap_or(i32::MAX),
                )
                .await
                .map_err(|e| DeliveryError(format!("reading the events: {e}")))?;
                drop(tx);
                self.publish_events(&events).await
            }
            Announcement::Alert { user_id, alert } => {
                let frame = serde_json::to_string(&ServerFrame::Alert {
                    alert: alert.clone(),
                })
                .map_err(|e| DeliveryError(format!("the alert does not serialise: {e}")))?;
                self.apply_alert(*user_id, alert.alert_id, &frame);
                self.0
                    .bus
                    .publish(BusPayload::Alert {
                        user_id: *user_id,
                        alert_id: alert.alert_id,
                        frame,
                    })
                    .await
                    .map_err(DeliveryError)
            }
            Announcement::Control(control) => {
                self.apply_control(control);
                self.0
                    .bus
                    .publish(BusPayload::Control(control.clone()))
                    .await
                    .map_err(DeliveryError)
            }
            Announcement::Several { all } => {
                for one in all {
                    Box::pin(self.announce(one)).await?;
                }
                Ok(())
            }
            // E-mail is the mail consumer's (`outbox::Routed`); nothing for sockets.
            // Not the live layer's: the mailer and the notifier deliver these.
            Announcement::Email { .. }
            | Announcement::Notices { .. }
            | Announcement::Notification { .. } => Ok(()),
        }
    }

    /// Sends an ephemeral frame (typing, presence, read position) to a matter's sockets everywhere.
    pub async fn publish_ephemeral(
        &self,
        matter_id: MatterId,
        scope: Scope,
        reader_is_firm: Option<bool>,
        frame: &ServerFrame,
    ) {
        let Ok(text) = serde_json::to_string(frame) else {
            return;
        };
        self.deliver_ephemeral(
            matter_id,
            scope,
            reader_is_firm,
            Utf8Bytes::from(text.clone()),
        );
        if self.0.bus.is_distributed() {
            // Ephemeral: a frame lost with Redis is not worth a retry.
            let _ = self
                .0
                .bus
                .publish(BusPayload::Ephemeral {
                    matter_id,
                    scope,
                    reader_is_firm,
                    frame: text,
                })
                .await;
        }
    }

    fn deliver_event(&self, matter_id: MatterId, seq: u64, scope: Scope, frame: Utf8Bytes) {
        if let Some(room) = self.existing_room(matter_id) {
            if room.try_send(RoomMsg::Event { seq, scope, frame }).is_err() {
                // The room is overwhelmed: it will find the gap at its next event or catch-up.
                let _ = room.try_send(RoomMsg::CatchUp);
            }
        }
    }

    fn deliver_ephemeral(
        &self,
        matter_id: MatterId,
        scope: Scope,
        reader_is_firm: Option<bool>,
        frame: Utf8Bytes,
    ) {
        if let Some(room) = self.existing_room(matter_id) {
            let _ = room.try_send(RoomMsg::Ephemeral {
                scope,
                reader_is_firm,
                frame,
            });
        }
    }

    /// A control message marks the sockets it concerns for the watch's next, immediate check; a
    /// user whose access changed is also told to refresh their list of matters.
    fn apply_control(&self, control: &Control) {
        let concerns = |entry: &ConnEntry| match control {
            Control::SessionEnded { session_id } => entry.session_id == *session_id,
            Control::UserChanged { user_id } => entry.user_id == *user_id,
            Control::PolicyChanged => true,
        };
        if matches!(control, Control::PolicyChanged) {
            self.mark([], true);
            return;
        }
        let affected: Vec<ConnId> = {
            let conns = self.0.conns.lock().unwrap_or_else(|e| e.into_inner());
            conns
                .iter()
                .filter(|(_, entry)| concerns(entry))
                .map(|(id, entry)| {
                    if matches!(control, Control::UserChanged { .. }) {
                        let frame = Utf8Bytes::from_static(MATTERS_CHANGED);
                        entry.mailbox.signal(ConnSignal::Frame(frame));
                    }
                    *id
                })
                .collect()
        };
        if !affected.is_empty() {
            self.mark(affected, false);
        }
    }

    /// Hands an alert to the user's sockets on this node, unless this node delivered it already.
    fn apply_alert(&self, user_id: UserId, alert_id: AlertId, frame: &str) {
        if !self
            .0
            .recent_alerts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(alert_id)
        {
            return;
        }
        let conns = self.0.conns.lock().unwrap_or_else(|e| e.into_inner());
        for entry in conns.values().filter(|c| c.user_id == user_id) {
            entry
                .mailbox
                .signal(ConnSignal::Frame(Utf8Bytes::from(frame.to_owned())));
        }
    }

    /// Pings the sockets in one slice of `slices` (by connection id).
    fn ping_slice(&self, slice: u64, slices: u64) {
        let conns = self.0.conns.lock().unwrap_or_else(|e| e.into_inner());
        for (_, entry) in conns.iter().filter(|(id, _)| **id % slices == slice) {
            entry.mailbox.signal(ConnSignal::Ping);
        }
    }

    fn signal_all(&self, signal: ConnSignal) {
        let conns = self.0.conns.lock().unwrap_or_else(|e| e.into_inner());
        for entry in conns.values() {
            entry.mailbox.signal(signal.clone());
        }
    }

    /// Tells every socket to close with "reconnect elsewhere" and waits (bounded) until they have.
    pub async fn drain(&self, within: Duration) {
        self.signal_all(ConnSignal::Shutdown);
        let deadline = tokio::time::Instant::now() + within;
        while self.open_connections() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Who may see whose read positions on this node.
    pub fn receipts(&self) -> ReadReceipts {
        self.0.receipts
    }

    /// Removes an empty room, unless something arrived for it meanwhile.
    fn close_room_if_idle(&self, matter_id: MatterId, rx: &mpsc::Receiver<RoomMsg>) -> bool {
        let mut rooms = self.0.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if !rx.is_empty() {
            return false;
        }
        rooms.remove(&matter_id);
        true
    }
}

impl Deliver for Hub {
    fn deliver<'a>(
        &'a self,
        announcement: &'a Announcement,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.announce(announcement))
    }
}

/// The ids most recently inserted, up to [`RECENT_ALERTS`]; the oldest is forgotten first.
#[derive(Debug, Default)]
struct RecentIds {
    order: std::collections::VecDeque<AlertId>,
    set: std::collections::HashSet<AlertId>,
}

impl RecentIds {
    /// Remembers `id`; false if it was remembered already.
    fn insert(&mut self, id: AlertId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > RECENT_ALERTS {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

/// Relays what other nodes publish into this node's rooms and connections.
async fn relay_inbound(hub: Hub, mut inbound: mpsc::UnboundedReceiver<Inbound>) {
    while let Some(message) = inbound.recv().await {
        match message {
            Inbound::Message(message) if message.origin == hub.0.bus.node_id() => {}
            Inbound::Message(message) => match message.payload {
                BusPayload::Event {
                    matter_id,
                    seq,
                    scope,
                    frame,
                } => hub.deliver_event(matter_id, seq, scope, frame.into()),
                BusPayload::Ephemeral {
                    matter_id,
                    scope,
                    reader_is_firm,
                    frame,
                } => hub.deliver_ephemeral(matter_id, scope, reader_is_firm, frame.into()),
                BusPayload::Control(control) => hub.apply_control(&control),
                BusPayload::Alert {
                    user_id,
                    alert_id,
                    frame,
                } => hub.apply_alert(user_id, alert_id, &frame),
            },
            Inbound::Reconnected => {
                // Events and control messages may have been missed while Redis was away.
                let rooms: Vec<_> = hub
                    .0
                    .rooms
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .values()
                    .cloned()
                    .collect();
                for room in rooms {
                    let _ = room.try_send(RoomMsg::CatchUp);
                }
                hub.mark([], true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use docket_protocol::channel::ServerFrame;

    #[test]
    fn the_prepared_matters_changed_frame_is_the_protocols() {
        assert_eq!(
            serde_json::to_string(&ServerFrame::MattersChanged).expect("json"),
            super::MATTERS_CHANGED
        );
    }

    #[test]
    fn an_alert_id_is_delivered_once_and_forgotten_last() {
        let mut recent = super::RecentIds::default();
        let first = docket_protocol::ids::AlertId::new();
        assert!(recent.insert(first));
        assert!(!recent.insert(first), "a repeat is dropped");
        for _ in 0..super::RECENT_ALERTS {
            assert!(recent.insert(docket_protocol::ids::AlertId::new()));
        }
        assert!(recent.insert(first), "the oldest id was forgotten");
        assert_eq!(recent.order.len(), super::RECENT_ALERTS);
    }

    #[test]
    fn clients_never_see_each_others_read_positions() {
        let open = super::ReadReceipts {
            firm_sees_clients: true,
            clients_see_firm: true,
        };
        assert!(!open.may_see(false, false));
        assert!(open.may_see(false, true) && open.may_see(true, false) && open.may_see(true, true));
        let closed = super::ReadReceipts {
            firm_sees_clients: false,
            clients_see_firm: false,
        };
        assert!(!closed.may_see(true, false) && !closed.may_see(false, true));
        assert!(
            closed.may_see(true, true),
            "the firm always sees its own people's positions"
        );
    }
}
