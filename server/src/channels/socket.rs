//! One WebSocket connection: a single task that `select!`s over the socket, its room queue, the
//! acknowledgements of its in-flight sends, node signals, the ping timer and the re-check timer.
//!
//! Writes to the socket have a deadline; a client that cannot keep up is closed with a resumable
//! code rather than buffered for. Sends are handed to the group-commit writer and acknowledged
//! as their batches commit, so one socket can have many sends in flight.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use docket_protocol::channel::{
    close, ClientFrame, PresenceState, ServerFrame, UnsubscribeReason, MAX_FRAME_BYTES,
    MAX_MESSAGE_CHARS, SUBPROTOCOL,
};
use docket_protocol::directory::Scope;
use docket_protocol::error::ErrorCode;
use docket_protocol::ids::MatterId;
use futures_util::stream::{FuturesUnordered, SplitSink};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::hub::{Admission, ConnSignal, Member, SlowFlag};
use super::store::{self, NewEvent};
use super::writer::Appended;
use crate::access::{authorize, matter_scopes, Action, Resource};
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::startup::AppState;
use crate::{matters, Error, Result};

/// A write that takes longer than this means the client is not reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Sends one socket may have waiting for their commit.
const MAX_IN_FLIGHT: usize = 128;
/// Events replayed per database round trip.
const REPLAY_PAGE: i64 = 500;
/// Typing notices are passed on at most this often per matter and socket.
const TYPING_INTERVAL: Duration = Duration::from_secs(2);

type Sink = SplitSink<WebSocket, Message>;
type PendingAck = Pin<Box<dyn Future<Output = (MatterId, Uuid, Result<Appended>)> + Send>>;

/// Why the loop ended: a close frame to send, or none (the peer went away).
type Closing = Option<CloseFrame>;

fn closing(code: u16, reason: &'static str) -> Closing {
    Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    })
}

/// The state of one connection.
pub struct Connection {
    app: AppState,
    auth: Signed,
    admission: Admission,
    signals: mpsc::Receiver<ConnSignal>,
    queue_tx: mpsc::Sender<Utf8Bytes>,
    queue_rx: mpsc::Receiver<Utf8Bytes>,
    slow: Arc<SlowFlag>,
    /// Subscribed matters and the scopes held on each.
    subs: HashMap<MatterId, Vec<Scope>>,
    presence: PresenceState,
    typing_sent: HashMap<MatterId, Instant>,
    /// When the latest user frame arrived, if the session has not been touched since.
    activity: Option<time::OffsetDateTime>,
    last_heard: Instant,
    is_firm: bool,
}

impl Connection {
    /// A connection for an authenticated, admitted socket.
    pub fn new(
        app: AppState,
        auth: Signed,
        admission: Admission,
        signals: mpsc::Receiver<ConnSignal>,
    ) -> Self {
        let (queue_tx, queue_rx) = mpsc::channel(app.config.channels.outbound_queue.max(1));
        let is_firm = auth.actor.firm_role().is_some();
        Self {
            app,
            auth,
            admission,
            signals,
            queue_tx,
            queue_rx,
            slow: Arc::default(),
            subs: HashMap::new(),
            presence: PresenceState::Online,
            typing_sent: HashMap::new(),
            activity: None,
            last_heard: Instant::now(),
            is_firm,
        }
    }

    fn connection_key(&self) -> String {
        format!(
            "{}-{}",
            self.app.channels.hub.bus().node_id(),
            self.admission.conn
        )
    }

    /// Runs the connection to its end.
    pub async fn run(mut self, socket: WebSocket) {
        let (mut sink, mut stream) = socket.split();
        let settings = self.app.config.channels.clone();
        let hello = ServerFrame::Hello {
            protocol: SUBPROTOCOL.into(),
            session_id: self.auth.session_id,
            user_id: self.auth.user.user_id,
            heartbeat_seconds: settings.heartbeat_seconds,
            max_frame_bytes: MAX_FRAME_BYTES as u64,
        };
        if send_frame(&mut sink, &hello).await.is_err() {
            return;
        }
        let heartbeat = Duration::from_secs(settings.heartbeat_seconds.max(1));
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        let recheck_every = Duration::from_secs(settings.recheck_seconds.max(1));
        let mut recheck =
            tokio::time::interval_at(tokio::time::Instant::now() + recheck_every, recheck_every);
        let mut pending: FuturesUnordered<PendingAck> = FuturesUnordered::new();
        let slow = self.slow.clone();

        let close = loop {
            tokio::select! {
                incoming = stream.next() => {
                    self.last_heard = Instant::now();
                    match incoming {
                        Some(Ok(Message::Text(text))) => {
                            self.activity = Some(self.app.clock.now());
                            if let Err(close) = self.on_text(&text, &mut sink, &mut pending).await {
                                break close;
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            if reply_error(&mut sink, ErrorCode::InvalidInput, "Docket speaks JSON text frames only.", None, None).await.is_err() {
                                break None;
                            }
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Ok(Message::Close(_))) | None => break None,
                        Some(Err(err)) => {
                            tracing::debug!(error = %err, "socket read failed");
                            break closing(1009, "frame too large or malformed");
                        }
                    }
                }
                Some(frame) = self.queue_rx.recv() => {
                    if write(&mut sink, Message::Text(frame)).await.is_err() {
                        break closing(close::SLOW_CONSUMER, "not reading; resume from your last seq");
                    }
                }
                Some((matter_id, client_msg_id, result)) = pending.next() => {
                    let frame = match result {
                        Ok(appended) => ServerFrame::Ack { matter_id, client_msg_id, seq: appended.seq, duplicate: appended.duplicate },
                        Err(err) => error_frame(err.code(), &public_message(&err), Some(matter_id), Some(client_msg_id)),
                    };
                    if send_frame(&mut sink, &frame).await.is_err() {
                        break None;
                    }
                }
                () = slow.raised() => break closing(close::SLOW_CONSUMER, "too slow; resume from your last seq"),
                Some(signal) = self.signals.recv() => match signal {
                    ConnSignal::Recheck => if let Err(close) = self.recheck(&mut sink).await { break close },
                    ConnSignal::Shutdown => break closing(close::SERVICE_RESTART, "server restarting; reconnect"),
                },
                _ = ping.tick() => {
                    if self.last_heard.elapsed() > heartbeat * 3 {
                        break closing(1001, "no answer to pings");
                    }
                    if write(&mut sink, Message::Ping(Default::default())).await.is_err() {
                        break None;
                    }
                }
                _ = recheck.tick() => if let Err(close) = self.recheck(&mut sink).await { break close },
            }
        };
        // Sends already handed to the writer still commit; tell the client if it is listening.
        while let Ok(Some((matter_id, client_msg_id, Ok(appended)))) =
            tokio::time::timeout(Duration::from_millis(500), pending.next()).await
        {
            let ack = ServerFrame::Ack {
                matter_id,
                client_msg_id,
                seq: appended.seq,
                duplicate: appended.duplicate,
            };
            if send_frame(&mut sink, &ack).await.is_err() {
                break;
            }
        }
        self.leave_all().await;
        if let Some(frame) = close {
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                sink.send(Message::Close(Some(frame))),
            )
            .await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
    }

    async fn leave_all(&mut self) {
        let key = self.connection_key();
        for (matter_id, _) in std::mem::take(&mut self.subs) {
            self.app.channels.hub.leave(matter_id, self.admission.conn);
            let state = self
                .app
                .channels
                .presence
                .remove(matter_id, self.auth.user.user_id, &key)
                .await;
            if state == PresenceState::Offline {
                let frame = ServerFrame::Presence {
                    matter_id,
                    user_id: self.auth.user.user_id,
                    state,
                };
                self.app
                    .channels
                    .hub
                    .publish_ephemeral(matter_id, Scope::Messages, None, &frame)
                    .await;
            }
        }
    }

    /// Handles one text frame; `Err` closes the connection.
    async fn on_text(
        &mut self,
        text: &str,
        sink: &mut Sink,
        pending: &mut FuturesUnordered<PendingAck>,
    ) -> Result<(), Closing> {
        let outcome = if text.len() > MAX_FRAME_BYTES {
            Err((
                ErrorCode::PayloadTooLarge,
                format!("Frames are limited to {MAX_FRAME_BYTES} bytes."),
                None,
                None,
            ))
        } else {
            match serde_json::from_str::<ClientFrame>(text) {
                Ok(frame) => self.on_frame(frame, sink, pending).await,
                Err(err) if err.is_data() => Err((
                    ErrorCode::InvalidInput,
                    format!("Not a frame this server knows: {err}"),
                    None,
                    None,
                )),
                Err(err) => Err((
                    ErrorCode::MalformedJson,
                    format!("Not valid JSON: {err}"),
                    None,
                    None,
                )),
            }
        };
        match outcome {
            Ok(()) => Ok(()),
            Err((code, message, matter_id, client_msg_id)) => {
                reply_error(sink, code, &message, matter_id, client_msg_id)
                    .await
                    .map_err(|_| None)
            }
        }
    }

    async fn on_frame(
        &mut self,
        frame: ClientFrame,
        sink: &mut Sink,
        pending: &mut FuturesUnordered<PendingAck>,
    ) -> Result<(), FrameError> {
        match frame {
            ClientFrame::Subscribe { matter_id, since } => {
                self.subscribe(matter_id, since, sink).await
            }
            ClientFrame::Unsubscribe { matter_id } => {
                if self.subs.remove(&matter_id).is_some() {
                    self.app.channels.hub.leave(matter_id, self.admission.conn);
                }
                send_frame(
                    sink,
                    &ServerFrame::Unsubscribed {
                        matter_id,
                        reason: UnsubscribeReason::Requested,
                    },
                )
                .await
                .map_err(|_| gone())
            }
            ClientFrame::Send {
                matter_id,
                client_msg_id,
                text,
                reply_to,
            } => {
                self.require(matter_id, Scope::Messages, Some(client_msg_id))?;
                let text = valid_text(&text).map_err(|e| with_ids(e, matter_id, client_msg_id))?;
                if pending.len() >= MAX_IN_FLIGHT
                    || !self.app.channels.rate.allow(self.auth.user.user_id)
                {
                    return Err((
                        ErrorCode::RateLimited,
                        "Sending too fast; slow down.".into(),
                        Some(matter_id),
                        Some(client_msg_id),
                    ));
                }
                let event = NewEvent::message(
                    matter_id,
                    self.auth.user.user_id,
                    Some(self.auth.device_id.0),
                    client_msg_id,
                    text,
                    reply_to,
                );
                let writer = self.app.channels.writer.clone();
                pending.push(Box::pin(async move {
                    (matter_id, client_msg_id, writer.append(event).await)
                }));
                Ok(())
            }
            ClientFrame::Edit {
                matter_id,
                client_msg_id,
                target_seq,
                text,
            } => {
                self.require(matter_id, Scope::Messages, Some(client_msg_id))?;
                let text = valid_text(&text)
                    .map_err(|e| with_ids(e, matter_id, client_msg_id))?
                    .to_owned();
                let result = self
                    .amend(matter_id, client_msg_id, target_seq, Some(text))
                    .await;
                self.ack(sink, matter_id, client_msg_id, result).await
            }
            ClientFrame::Delete {
                matter_id,
                client_msg_id,
                target_seq,
            } => {
                self.require(matter_id, Scope::Messages, Some(client_msg_id))?;
                let result = self.amend(matter_id, client_msg_id, target_seq, None).await;
                self.ack(sink, matter_id, client_msg_id, result).await
            }
            ClientFrame::Read { matter_id, seq } => {
                self.require(matter_id, Scope::Messages, None)?;
                let mut tenant = self.auth.tenant(&self.app).await.map_err(internal)?;
                let stored =
                    store::mark_read(tenant.conn(), matter_id, self.auth.user.user_id, seq)
                        .await
                        .map_err(internal)?;
                tenant.commit().await.map_err(internal)?;
                let frame = ServerFrame::Read {
                    matter_id,
                    user_id: self.auth.user.user_id,
                    seq: stored,
                };
                self.app
                    .channels
                    .hub
                    .publish_ephemeral(matter_id, Scope::Messages, Some(self.is_firm), &frame)
                    .await;
                Ok(())
            }
            ClientFrame::Typing { matter_id } => {
                self.require(matter_id, Scope::Messages, None)?;
                let due = self
                    .typing_sent
                    .get(&matter_id)
                    .is_none_or(|at| at.elapsed() >= TYPING_INTERVAL);
                if due {
                    self.typing_sent.insert(matter_id, Instant::now());
                    let frame = ServerFrame::Typing {
                        matter_id,
                        user_id: self.auth.user.user_id,
                    };
                    self.app
                        .channels
                        .hub
                        .publish_ephemeral(matter_id, Scope::Messages, None, &frame)
                        .await;
                }
                Ok(())
            }
            ClientFrame::Presence { state } => {
                if state == PresenceState::Offline {
                    return Err((
                        ErrorCode::InvalidInput,
                        "Presence is online or away; close the socket to go offline.".into(),
                        None,
                        None,
                    ));
                }
                self.presence = state;
                let key = self.connection_key();
                for matter_id in self.subs.keys().copied().collect::<Vec<_>>() {
                    self.app
                        .channels
                        .presence
                        .set(matter_id, self.auth.user.user_id, &key, state)
                        .await;
                    let frame = ServerFrame::Presence {
                        matter_id,
                        user_id: self.auth.user.user_id,
                        state,
                    };
                    self.app
                        .channels
                        .hub
                        .publish_ephemeral(matter_id, Scope::Messages, None, &frame)
                        .await;
                }
                Ok(())
            }
        }
    }

    /// The subscription must exist and hold `scope`.
    fn require(
        &self,
        matter_id: MatterId,
        scope: Scope,
        client_msg_id: Option<Uuid>,
    ) -> Result<(), FrameError> {
        match self.subs.get(&matter_id) {
            Some(scopes) if scopes.contains(&scope) => Ok(()),
            Some(_) => Err((
                ErrorCode::Forbidden,
                "You may not do that in this matter.".into(),
                Some(matter_id),
                client_msg_id,
            )),
            None => Err((
                ErrorCode::Forbidden,
                "Subscribe to the matter first.".into(),
                Some(matter_id),
                client_msg_id,
            )),
        }
    }

    async fn subscribe(
        &mut self,
        matter_id: MatterId,
        since: Option<u64>,
        sink: &mut Sink,
    ) -> Result<(), FrameError> {
        // The same answer whether the matter is missing or not visible: existence does not leak.
        let forbidden = || {
            (
                ErrorCode::Forbidden,
                "No such matter, or you may not see it.".to_owned(),
                Some(matter_id),
                None,
            )
        };
        let mut tenant = self.auth.tenant(&self.app).await.map_err(internal)?;
        let facts = match matters::facts(&mut tenant, &self.auth.actor, matter_id).await {
            Ok(facts) => facts,
            Err(Error::NotFound) => return Err(forbidden()),
            Err(err) => return Err(internal(err)),
        };
        tenant.commit().await.map_err(internal)?;
        authorize(
            &self.auth.actor,
            Action::ViewMatter,
            Resource::Matter(&facts),
        )
        .map_err(|_| forbidden())?;
        let scopes = matter_scopes(&self.auth.actor, &facts);
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
            let frame = ServerFrame::Presence {
                matter_id,
                user_id: self.auth.user.user_id,
                state: self.presence,
            };
            self.app
                .channels
                .hub
                .publish_ephemeral(matter_id, Scope::Messages, None, &frame)
                .await;
            let mut tenant = self.auth.tenant(&self.app).await.map_err(internal)?;
            let positions = store::read_positions(tenant.conn(), matter_id)
                .await
                .map_err(internal)?;
            tenant.commit().await.map_err(internal)?;
            let receipts = &self.app.config.channels;
            reads = positions
                .into_iter()
                .filter(|(user, _, reader_is_firm)| {
                    *user == self.auth.user.user_id
                        || match (self.is_firm, reader_is_firm) {
                            (true, true) => true,
                            (true, false) => receipts.firm_sees_client_reads,
                            (false, true) => receipts.clients_see_firm_reads,
                            (false, false) => false,
                        }
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
        send_frame(sink, &subscribed).await.map_err(|_| gone())
    }

    /// Writes the events after `since` up to `head` (through RLS, so only what the user may see).
    async fn replay(
        &mut self,
        matter_id: MatterId,
        since: u64,
        head: u64,
        sink: &mut Sink,
    ) -> Result<(), FrameError> {
        let mut after = since;
        while after < head {
            let mut tenant = self.auth.tenant(&self.app).await.map_err(internal)?;
            let page = store::page(tenant.conn(), matter_id, after, REPLAY_PAGE)
                .await
                .map_err(internal)?;
            tenant.commit().await.map_err(internal)?;
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
                .map_err(|_| gone())?;
            }
            if last >= head || (page.len() as i64) < REPLAY_PAGE {
                break;
            }
            after = last;
        }
        Ok(())
    }

    /// Edits (`text`) or deletes (`None`) one of the user's own messages, in a tenant transaction
    /// that also writes the audit row; the original stays in the record.
    async fn amend(
        &self,
        matter_id: MatterId,
        client_msg_id: Uuid,
        target_seq: u64,
        text: Option<String>,
    ) -> Result<Appended> {
        let app = &self.app;
        let mut tenant = self.auth.tenant(app).await?;
        let facts = matters::facts(&mut tenant, &self.auth.actor, matter_id).await?;
        authorize(
            &self.auth.actor,
            Action::PostMessage,
            Resource::Matter(&facts),
        )?;
        let author = self.auth.user.user_id;
        let new = NewEvent {
            matter_id,
            kind: if text.is_some() { "edit" } else { "delete" },
            scope: "messages",
            author_id: author,
            device_id: Some(self.auth.device_id.0),
            client_msg_id,
            body: match &text {
                Some(text) => serde_json::json!({ "target_seq": target_seq, "text": text }),
                None => serde_json::json!({ "target_seq": target_seq }),
            },
        };
        if let Some((.., seq)) = store::find_sent(tenant.conn(), std::slice::from_ref(&new))
            .await?
            .pop()
        {
            return Ok(Appended {
                seq,
                duplicate: true,
            });
        }
        let target = store::one(tenant.conn(), matter_id, target_seq)
            .await?
            .ok_or(Error::NotFound)?;
        if target.kind != "message" || target.redacted_at.is_some() {
            return Err(Error::NotFound);
        }
        if target.author_id != Some(author.0) {
            return Err(Error::Forbidden);
        }
        let (_, last) = store::allocate(tenant.conn(), &[matter_id.0], &[1])
            .await?
            .pop()
            .ok_or(Error::NotFound)?;
        let now = app.clock.now();
        let stored = store::insert(tenant.conn(), &[(last, &new)], now).await?;
        if text.is_none() {
            store::redact(tenant.conn(), matter_id, target_seq, now).await?;
        }
        let action = if text.is_some() {
            "channel.message.edited"
        } else {
            "channel.message.deleted"
        };
        audit::record(
            &mut tenant,
            AuditRecord::new(action)
                .matter(matter_id)
                .client(facts.client_id)
                .target("event", format!("{matter_id}/{target_seq}"))
                .detail(serde_json::json!({ "target_seq": target_seq, "seq": last })),
        )
        .await?;
        tenant.commit().await?;
        app.channels.hub.publish_events(&stored).await;
        Ok(Appended {
            seq: last,
            duplicate: false,
        })
    }

    async fn ack(
        &self,
        sink: &mut Sink,
        matter_id: MatterId,
        client_msg_id: Uuid,
        result: Result<Appended>,
    ) -> Result<(), FrameError> {
        match result {
            Ok(appended) => {
                let ack = ServerFrame::Ack {
                    matter_id,
                    client_msg_id,
                    seq: appended.seq,
                    duplicate: appended.duplicate,
                };
                send_frame(sink, &ack).await.map_err(|_| gone())
            }
            Err(err) => Err((
                err.code(),
                public_message(&err),
                Some(matter_id),
                Some(client_msg_id),
            )),
        }
    }

    /// Re-checks the session (revoked, expired, idle) and every subscription's access.
    async fn recheck(&mut self, sink: &mut Sink) -> Result<(), Closing> {
        let app = self.app.clone();
        let now = app.clock.now();
        let state = async {
            let mut tenant = self.auth.tenant(&app).await?;
            let row = sqlx::query!(
                r#"select s.revoked_at, s.expires_at, s.last_seen_at, u.status
                   from session s join user_account u using (user_id) where s.session_id = $1"#,
                self.auth.session_id.0
            )
            .fetch_optional(tenant.conn())
            .await?;
            tenant.commit().await?;
            Ok::<_, Error>(row)
        }
        .await;
        let row = match state {
            Ok(Some(row)) => row,
            Ok(None) => return Err(closing(close::SESSION_ENDED, "session ended")),
            Err(err) => {
                tracing::warn!(error = %err, "socket re-check failed; trying again later");
                return Ok(());
            }
        };
        if row.revoked_at.is_some() || row.status != "active" {
            return Err(closing(close::SESSION_ENDED, "session ended"));
        }
        let last_seen = self
            .activity
            .map_or(row.last_seen_at, |at| at.max(row.last_seen_at));
        let idle = now - last_seen >= app.config.idle_timeout;
        if now >= row.expires_at || idle {
            let reason = if idle {
                "idle_timeout"
            } else {
                "absolute_lifetime"
            };
            if let Err(err) = crate::auth::end_session(&app, &self.auth, reason).await {
                tracing::warn!(error = %err, "could not end the session");
            }
            return Err(closing(close::SESSION_ENDED, "session expired"));
        }
        if let Some(at) = self.activity.take() {
            let touched = async {
                let mut tenant = self.auth.tenant(&app).await?;
                sqlx::query!(
                    "update session set last_seen_at = greatest(last_seen_at, $2) where session_id = $1",
                    self.auth.session_id.0,
                    at
                )
                .execute(tenant.conn())
                .await?;
                tenant.commit().await
            };
            if let Err(err) = touched.await {
                tracing::warn!(error = %err, "could not record socket activity");
            }
        }
        self.recheck_access(sink).await
    }

    async fn recheck_access(&mut self, sink: &mut Sink) -> Result<(), Closing> {
        if self.subs.is_empty() {
            return Ok(());
        }
        let ids: Vec<MatterId> = self.subs.keys().copied().collect();
        let facts = async {
            let mut tenant = self.auth.tenant(&self.app).await?;
            let facts = matters::facts_of(&mut tenant, &self.auth.actor, &ids).await?;
            tenant.commit().await?;
            Ok::<_, Error>(facts)
        }
        .await;
        let Ok(facts) = facts else { return Ok(()) };
        let scopes: HashMap<MatterId, Vec<Scope>> = facts
            .into_iter()
            .map(|(id, facts)| (id, matter_scopes(&self.auth.actor, &facts)))
            .collect();
        for matter_id in ids {
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

/// A refused frame: code, message, and the ids it concerned.
type FrameError = (ErrorCode, String, Option<MatterId>, Option<Uuid>);

fn gone() -> FrameError {
    (ErrorCode::Internal, "socket closed".into(), None, None)
}

fn internal(err: Error) -> FrameError {
    (err.code(), public_message(&err), None, None)
}

fn with_ids(mut err: FrameError, matter_id: MatterId, client_msg_id: Uuid) -> FrameError {
    err.2 = Some(matter_id);
    err.3 = Some(client_msg_id);
    err
}

fn public_message(err: &Error) -> String {
    match err {
        Error::Database(e) => {
            tracing::error!(error = ?e, "database error on a socket");
            "Something went wrong on our side.".into()
        }
        Error::Internal(e) => {
            tracing::error!(error = ?e, "internal error on a socket");
            "Something went wrong on our side.".into()
        }
        other => other.to_string(),
    }
}

fn valid_text(text: &str) -> Result<&str, FrameError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_MESSAGE_CHARS {
        return Err((
            ErrorCode::InvalidInput,
            format!("A message must have 1 to {MAX_MESSAGE_CHARS} characters."),
            None,
            None,
        ));
    }
    Ok(trimmed)
}

fn error_frame(
    code: ErrorCode,
    message: &str,
    matter_id: Option<MatterId>,
    client_msg_id: Option<Uuid>,
) -> ServerFrame {
    ServerFrame::Error {
        code,
        message: message.to_owned(),
        matter_id,
        client_msg_id,
    }
}

async fn reply_error(
    sink: &mut Sink,
    code: ErrorCode,
    message: &str,
    matter_id: Option<MatterId>,
    client_msg_id: Option<Uuid>,
) -> Result<(), ()> {
    send_frame(sink, &error_frame(code, message, matter_id, client_msg_id)).await
}

async fn send_frame(sink: &mut Sink, frame: &ServerFrame) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    write(sink, Message::Text(text.into())).await
}

async fn write(sink: &mut Sink, message: Message) -> Result<(), ()> {
    match tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
