//! One WebSocket connection: a single task that `select!`s over the socket, its mailbox (frames
//! from its rooms and the node's signals) and the acknowledgements of its in-flight sends. It has no timers of its own:
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
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use docket_protocol::channel::{close, PresenceState, ServerFrame, MAX_FRAME_BYTES, SUBPROTOCOL};
use docket_protocol::ids::MatterId;
use futures_util::stream::{FuturesUnordered, SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use uuid::Uuid;

pub use decode::decode_frame;
use dispatch::{ErrorReply, Refusal};

use super::hub::{Admission, ConnSignal, Mail};
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
    presence: PresenceState,
    typing_sent: HashMap<MatterId, Instant>,
    last_heard: Instant,
    is_firm: bool,
}

impl Connection {
    /// A connection for an authenticated, admitted socket.
    pub fn new(app: AppState, auth: Signed, admission: Admission) -> Self {
        let is_firm = auth.actor.firm_role().is_some();
        Self {
            app,
            auth,
            admission,
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

    /// Runs the connection on `socket` to its end.
    ///
    /// Everything the task keeps across its idle wait is in its future, once per socket. So the
    /// connection is boxed, the socket is split before the future starts, and the work done on
    /// waking (handling a frame, writing, closing) is boxed too: only the wait itself is sized
    /// into every idle socket.
    pub fn run(self: Box<Self>, socket: WebSocket) -> impl Future<Output = ()> + Send {
        let (sink, stream) = socket.split();
        self.serve(sink, stream)
    }

    async fn serve(mut self: Box<Self>, mut sink: Sink, mut stream: SplitStream<WebSocket>) {
        if Box::pin(self.greet(&mut sink)).await.is_err() {
            return;
        }
        let mut pending: FuturesUnordered<PendingAck> = FuturesUnordered::new();
        let mailbox = self.admission.mailbox.clone();

        let close = loop {
            tokio::select! {
                incoming = stream.next() => {
                    self.last_heard = Instant::now();
                    if let Err(close) = Box::pin(self.on_incoming(incoming, &mut sink, &mut pending)).await {
                        break close;
                    }
                }
                mail = mailbox.take(WRITE_BATCH) => {
                    if let Err(close) = Box::pin(self.on_mail(mail, &mut sink)).await {
                        break close;
                    }
                }
                Some((matter_id, client_msg_id, result)) = pending.next() => {
                    let frame = match result {
                        Ok(appended) => ServerFrame::Ack { matter_id, client_msg_id, seq: appended.seq, duplicate: appended.duplicate },
                        Err(error) => ErrorReply { error, matter_id: Some(matter_id), client_msg_id: Some(client_msg_id) }.frame(),
                    };
                    if Box::pin(send_frame(&mut sink, &frame)).await.is_err() {
                        break None;
                    }
                }
            }
        };
        Box::pin(self.finish(sink, pending, close)).await;
    }

    async fn greet(&self, sink: &mut Sink) -> Result<(), ()> {
        let hello = ServerFrame::Hello {
            protocol: SUBPROTOCOL.into(),
            session_id: self.auth.session_id,
            user_id: self.auth.user.user_id,
            heartbeat_seconds: self.app.config.channels.heartbeat_seconds,
            max_frame_bytes: MAX_FRAME_BYTES as u64,
        };
        send_frame(sink, &hello).await
    }

    /// Handles what the socket read: a text frame is dispatched, anything else answered or ended.
    async fn on_incoming(
        &mut self,
        incoming: Option<Result<Message, axum::Error>>,
        sink: &mut Sink,
        pending: &mut FuturesUnordered<PendingAck>,
    ) -> Result<(), Closing> {
        match incoming {
            Some(Ok(Message::Text(text))) => {
                self.admission.watched.saw_activity(self.app.clock.now());
                self.on_text(&text, sink, pending).await
            }
            Some(Ok(Message::Binary(_))) => {
                let refused = ErrorReply {
                    error: Error::InvalidInput("Docket speaks JSON text frames only.".into()),
                    matter_id: None,
                    client_msg_id: None,
                };
                send_frame(sink, &refused.frame()).await.map_err(|()| None)
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
            Some(Ok(Message::Close(_))) | None => Err(None),
            Some(Err(err)) => {
                tracing::debug!(error = %err, "socket read failed");
                Err(wire::close_for_read_error(&err))
            }
        }
    }

    /// Acts on the node's signals, then writes the frames the rooms queued.
    async fn on_mail(&mut self, mail: Mail, sink: &mut Sink) -> Result<(), Closing> {
        if mail.slow {
            return Err(closing(
                close::SLOW_CONSUMER,
                "too slow; resume from your last seq",
            ));
        }
        for signal in mail.signals {
            // Boxed: access changes and expiry reach Postgres, and most mail is frames alone.
            Box::pin(self.on_signal(signal, sink)).await?;
        }
        if mail.frames.is_empty() {
            return Ok(());
        }
        // A write blocked on a client that does not read gives way as soon as its queue
        // overflows, rather than after the write deadline.
        let written = tokio::select! {
            result = write_batch(sink, mail.frames) => result,
            () = self.admission.mailbox.slow() => Err(()),
        };
        written.map_err(|()| {
            closing(
                close::SLOW_CONSUMER,
                "not reading; resume from your last seq",
            )
        })
    }

    async fn on_signal(&mut self, signal: ConnSignal, sink: &mut Sink) -> Result<(), Closing> {
        match signal {
            ConnSignal::Ping => {
                let heartbeat =
                    Duration::from_secs(self.app.config.channels.heartbeat_seconds.max(1));
                if self.last_heard.elapsed() > heartbeat * 3 {
                    return Err(closing(close::GOING_AWAY, "no answer to pings"));
                }
                write(sink, Message::Ping(Default::default()))
                    .await
                    .map_err(|()| None)
            }
            ConnSignal::SessionEnded => Err(closing(close::SESSION_ENDED, "session ended")),
            ConnSignal::SessionExpired(reason) => {
                self.expire(reason).await;
                Err(closing(close::SESSION_ENDED, "session expired"))
            }
            ConnSignal::Access(changes) => self.apply_access(changes, sink).await,
            ConnSignal::Shutdown => Err(closing(
                close::SERVICE_RESTART,
                "server restarting; reconnect",
            )),
            ConnSignal::Frame(frame) => write(sink, Message::Text(frame)).await.map_err(|()| None),
        }
    }

    /// Ends the connection: acknowledges the sends already handed to the writer (they still
    /// commit) if the client is listening, leaves every room, and closes the socket.
    async fn finish(
        mut self: Box<Self>,
        mut sink: Sink,
        mut pending: FuturesUnordered<PendingAck>,
        close: Closing,
    ) {
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
        wire::close_socket(&mut sink, close).await;
    }

    async fn leave_all(&mut self) {
        let key = self.connection_key();
        self.app
            .channels
            .presence
            .set_viewing(self.auth.user.user_id, &key, None)
            .await;
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

/// Writes a batch of queued frames, then flushes once: one system call for a burst.
async fn write_batch(sink: &mut Sink, frames: Vec<Utf8Bytes>) -> Result<(), ()> {
    let batch = async {
        for frame in frames {
            sink.feed(Message::Text(frame)).await?;
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
