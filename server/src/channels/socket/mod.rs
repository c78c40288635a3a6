//! One WebSocket connection: a single task that `select!`s over the socket, its room queue, the
//! acknowledgements of its in-flight sends and the node's signals. It has no timers of its own:
//! the node's watch ([`super::hub`]) tells it when to ping, and re-checks its session and access
//! in batches with every other socket on the node.
//!
//! Writes to the socket have a deadline; a client that cannot keep up is closed with a resumable
//! code rather than buffered for. Sends are handed to the group-commit writer and acknowledged
//! as their batches commit, so one socket can have many sends in flight.
//!
//! This file is the run loop; `dispatch` handles each decoded frame and turns a refused one into
//! an error frame, built from the server's one [`Error`] like every HTTP error answer.

mod amend;
mod decode;
mod dispatch;
mod ephemeral;
mod subscription;
mod watch_signals;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use docket_protocol::channel::{close, PresenceState, ServerFrame, MAX_FRAME_BYTES, SUBPROTOCOL};
use docket_protocol::ids::MatterId;
use futures_util::stream::{FuturesUnordered, SplitSink};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use uuid::Uuid;

pub use decode::decode_frame;
use dispatch::{ErrorReply, Refusal};

use super::hub::{Admission, ConnSignal, SlowFlag};
use super::wire;
use super::writer::Appended;
use crate::auth::Signed;
use crate::startup::AppState;
use crate::{Error, Result};

/// A write that takes longer than this means the client is not reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

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
    presence: PresenceState,
    typing_sent: HashMap<MatterId, Instant>,
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
            presence: PresenceState::Online,
            typing_sent: HashMap::new(),
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
        let mut pending: FuturesUnordered<PendingAck> = FuturesUnordered::new();
        let slow = self.slow.clone();

        let close = loop {
            tokio::select! {
                incoming = stream.next() => {
                    self.last_heard = Instant::now();
                    match incoming {
                        Some(Ok(Message::Text(text))) => {
                            self.admission.watched.saw_activity(self.app.clock.now());
                            // Boxed: the frame handlers' futures (database queries and all) are
                            // large, and inlined they would sit in every idle connection's task.
                            if let Err(close) = Box::pin(self.on_text(&text, &mut sink, &mut pending)).await {
                                break close;
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            let refused = ErrorReply { error: Error::InvalidInput("Docket speaks JSON text frames only.".into()), matter_id: None, client_msg_id: None };
                            if send_frame(&mut sink, &refused.frame()).await.is_err() {
                                break None;
                            }
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Ok(Message::Close(_))) | None => break None,
                        Some(Err(err)) => {
                            tracing::debug!(error = %err, "socket read failed");
                            break wire::close_for_read_error(&err);
                        }
                    }
                }
                Some(frame) = self.queue_rx.recv() => {
                    // A write blocked on a client that does not read gives way as soon as its
                    // queue overflows, rather than after the write deadline.
                    let written = tokio::select! {
                        result = write_queued(&mut sink, frame, &mut self.queue_rx) => result,
                        () = slow.raised() => Err(()),
                    };
                    if written.is_err() {
                        break closing(close::SLOW_CONSUMER, "not reading; resume from your last seq");
                    }
                }
                Some((matter_id, client_msg_id, result)) = pending.next() => {
                    let frame = match result {
                        Ok(appended) => ServerFrame::Ack { matter_id, client_msg_id, seq: appended.seq, duplicate: appended.duplicate },
                        Err(error) => ErrorReply { error, matter_id: Some(matter_id), client_msg_id: Some(client_msg_id) }.frame(),
                    };
                    if send_frame(&mut sink, &frame).await.is_err() {
                        break None;
                    }
                }
                () = slow.raised() => break closing(close::SLOW_CONSUMER, "too slow; resume from your last seq"),
                Some(signal) = self.signals.recv() => match signal {
                    ConnSignal::Ping => {
                        if self.last_heard.elapsed() > heartbeat * 3 {
                            break closing(close::GOING_AWAY, "no answer to pings");
                        }
                        if write(&mut sink, Message::Ping(Default::default())).await.is_err() {
                            break None;
                        }
                    }
                    ConnSignal::SessionEnded => break closing(close::SESSION_ENDED, "session ended"),
                    ConnSignal::SessionExpired(reason) => {
                        Box::pin(self.expire(reason)).await;
                        break closing(close::SESSION_ENDED, "session expired");
                    }
                    ConnSignal::Access(changes) => if let Err(close) = Box::pin(self.apply_access(changes, &mut sink)).await { break close },
                    ConnSignal::Shutdown => break closing(close::SERVICE_RESTART, "server restarting; reconnect"),
                    ConnSignal::Frame(frame) => if write(&mut sink, Message::Text(frame)).await.is_err() { break None },
                },
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
        Box::pin(self.leave_all()).await;
        wire::close_socket(&mut sink, close).await;
    }

    async fn leave_all(&mut self) {
        let key = self.connection_key();
        let followed: Vec<MatterId> = {
            let mut held = self.admission.watched.held();
            let followed = held
                .iter()
                .filter(|(_, h)| h.subscribed)
                .map(|(m, _)| *m)
                .collect();
            held.clear();
            followed
        };
        for matter_id in followed {
            self.app.channels.hub.leave(matter_id, self.admission.conn);
            let state = self
                .app
                .channels
                .presence
                .remove(matter_id, self.auth.user.user_id, &key)
                .await;
            if state == PresenceState::Offline {
                self.announce_presence(matter_id, state).await;
            }
        }
    }
}

async fn send_frame(sink: &mut Sink, frame: &ServerFrame) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    write(sink, Message::Text(text.into())).await
}

/// Frames written per flush when several are queued: one system call for a burst.
const WRITE_BATCH: usize = 64;

/// Writes `first` and whatever else is already queued (up to a batch), then flushes once.
async fn write_queued(
    sink: &mut Sink,
    first: Utf8Bytes,
    queue: &mut mpsc::Receiver<Utf8Bytes>,
) -> Result<(), ()> {
    let batch = async {
        sink.feed(Message::Text(first)).await?;
        for _ in 1..WRITE_BATCH {
            match queue.try_recv() {
                Ok(frame) => sink.feed(Message::Text(frame)).await?,
                Err(_) => break,
            }
        }
        sink.flush().await
    };
    match tokio::time::timeout(WRITE_TIMEOUT, batch).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

async fn write(sink: &mut Sink, message: Message) -> Result<(), ()> {
    match tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
