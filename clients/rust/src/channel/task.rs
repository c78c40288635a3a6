//! The background task behind a [`Channel`](super::Channel): it owns the socket, reconnects with
//! back-off, resumes subscriptions, re-sends unacknowledged messages and fills `seq` gaps from the
//! REST history before anything reaches the application.

use std::collections::HashMap;
use std::time::Duration;

use docket_protocol::channel::{
    close, ClientFrame, Event, PresenceState, ServerFrame, SUBPROTOCOL,
};
use docket_protocol::error::ErrorCode;
use docket_protocol::ids::MatterId;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use super::{ChannelOptions, Command, Sent, Update};
use crate::{Client, Error, Result};

struct Subscription {
    /// The last `seq` delivered to the application; `None` until known.
    last: Option<u64>,
    /// Waiting for `subscribed` on the current connection (events meanwhile are replay).
    live: bool,
}

struct PendingSend {
    client_msg_id: Uuid,
    frame: ClientFrame,
    reply: oneshot::Sender<Result<Sent>>,
}

/// Why a connection ended.
enum Ended {
    Lost(String),
    SessionOver,
    Closed,
}

/// How often "viewing" is said again: the server forgets it after 75 seconds.
const VIEWING_REFRESH: Duration = Duration::from_secs(30);

pub(super) struct Task {
    options: ChannelOptions,
    commands: mpsc::UnboundedReceiver<Command>,
    updates: mpsc::Sender<Update>,
    subs: HashMap<MatterId, Subscription>,
    /// Unacknowledged sends, in the order they were made; re-sent after every reconnection.
    pending: Vec<PendingSend>,
    /// Ephemeral frames made while disconnected are dropped, except presence which is kept.
    presence: Option<PresenceState>,
    /// The matter shown on screen, said again on reconnection and every [`VIEWING_REFRESH`].
    viewing: Option<MatterId>,
    /// The server currently connected to; gaps are fetched from it.
    current: String,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Task {
    pub(super) fn new(
        options: ChannelOptions,
        commands: mpsc::UnboundedReceiver<Command>,
        updates: mpsc::Sender<Update>,
    ) -> Self {
        Self {
            options,
            commands,
            updates,
            subs: HashMap::new(),
            pending: Vec::new(),
            presence: None,
            viewing: None,
            current: String::new(),
        }
    }

    pub(super) async fn run(mut self) {
        let mut delay = self.options.reconnect_min;
        let mut index = 0usize;
        loop {
            let url = self.options.urls[index % self.options.urls.len().max(1)].clone();
            match open(&url, &self.options.token).await {
                Ok(socket) => {
                    delay = self.options.reconnect_min;
                    match self.session(socket, &url).await {
                        Ended::Closed => return,
                        Ended::SessionOver => {
                            for pending in self.pending.drain(..) {
                                let _ = pending.reply.send(Err(Error::SessionEnded));
                            }
                            let _ = self.updates.send(Update::SessionEnded).await;
                            return;
                        }
                        Ended::Lost(reason) => {
                            if self
                                .updates
                                .send(Update::Disconnected { reason })
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                    }
                }
                Err(OpenError::Refused) => {
                    let _ = self.updates.send(Update::SessionEnded).await;
                    return;
                }
                Err(OpenError::Unreachable(reason)) => {
                    tracing::debug!(%url, %reason, "cannot connect")
                }
            }
            index += 1;
            // Keep taking commands while waiting, so sends made meanwhile go out on reconnection.
            let sleep = tokio::time::sleep(delay);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = &mut sleep => break,
                    command = self.commands.recv() => match command {
                        None | Some(Command::Close) => return,
                        Some(command) => self.queue(command),
                    }
                }
            }
            delay = (delay * 2).min(self.options.reconnect_max);
        }
    }

    /// Records a command while disconnected.
    fn queue(&mut self, command: Command) {
        match command {
            Command::Subscribe { matter_id, since } => {
                self.subs.entry(matter_id).or_insert(Subscription {
                    last: since,
                    live: false,
                });
            }
            Command::Unsubscribe { matter_id } => {
                self.subs.remove(&matter_id);
            }
            Command::Frame {
                frame,
                client_msg_id,
                reply,
            } => self.pending.push(PendingSend {
                client_msg_id,
                frame,
                reply,
            }),
            Command::Ephemeral(ClientFrame::Presence { state }) => self.presence = Some(state),
            Command::Ephemeral(ClientFrame::Viewing { matter_id }) => self.viewing = matter_id,
            Command::Ephemeral(_) | Command::Close => {}
        }
    }

    async fn session(&mut self, socket: Socket, url: &str) -> Ended {
        let (mut sink, mut stream) = socket.split();
        // The server speaks first.
        let heartbeat = match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str::<ServerFrame>(&text) {
                Ok(ServerFrame::Hello {
                    heartbeat_seconds, ..
                }) => Duration::from_secs(heartbeat_seconds.max(1)),
                _ => return Ended::Lost("no hello".into()),
            },
            _ => return Ended::Lost("no hello".into()),
        };
        self.current = url.to_owned();
        if self
            .updates
            .send(Update::Connected {
                url: url.to_owned(),
            })
            .await
            .is_err()
        {
            return Ended::Closed;
        }
        let mut opening: Vec<ClientFrame> = Vec::new();
        if let Some(state) = self.presence {
            opening.push(ClientFrame::Presence { state });
        }
        if let Some(matter_id) = self.viewing {
            opening.push(ClientFrame::Viewing {
                matter_id: Some(matter_id),
            });
        }
        for (matter_id, sub) in &mut self.subs {
            sub.live = false;
            opening.push(ClientFrame::Subscribe {
                matter_id: *matter_id,
                since: sub.last,
            });
        }
        opening.extend(self.pending.iter().map(|p| p.frame.clone()));
        for frame in opening {
            if send(&mut sink, &frame).await.is_err() {
                return Ended::Lost("write failed".into());
            }
        }
        let silence = heartbeat * 3;
        let mut refresh = tokio::time::interval(VIEWING_REFRESH);
        refresh.tick().await;
        loop {
            tokio::select! {
                _ = refresh.tick() => {
                    if let Some(matter_id) = self.viewing {
                        let frame = ClientFrame::Viewing { matter_id: Some(matter_id) };
                        if send(&mut sink, &frame).await.is_err() {
                            return Ended::Lost("write failed".into());
                        }
                    }
                }
                message = tokio::time::timeout(silence, stream.next()) => {
                    let message = match message {
                        Err(_) => return Ended::Lost("server went silent".into()),
                        Ok(None) => return Ended::Lost("connection closed".into()),
                        Ok(Some(Err(err))) => return Ended::Lost(err.to_string()),
                        Ok(Some(Ok(message))) => message,
                    };
                    match message {
                        Message::Text(text) => match serde_json::from_str::<ServerFrame>(&text) {
                            Ok(frame) => if let Err(ended) = self.on_frame(frame).await { return ended },
                            Err(err) => tracing::warn!(error = %err, "unreadable frame"),
                        },
                        Message::Close(frame) => {
                            let code = frame.as_ref().map(|f| u16::from(f.code));
                            return if code == Some(close::SESSION_ENDED) { Ended::SessionOver } else { Ended::Lost(format!("closed by server ({code:?})")) };
                        }
                        _ => {}
                    }
                }
                command = self.commands.recv() => {
                    let Some(command) = command else { return Ended::Closed };
                    let frame = match &command {
                        Command::Close => {
                            let _ = sink.send(Message::Close(None)).await;
                            return Ended::Closed;
                        }
                        Command::Subscribe { matter_id, since } if !self.subs.contains_key(matter_id) => {
                            Some(ClientFrame::Subscribe { matter_id: *matter_id, since: *since })
                        }
                        Command::Subscribe { .. } => None,
                        Command::Unsubscribe { matter_id } => Some(ClientFrame::Unsubscribe { matter_id: *matter_id }),
                        Command::Frame { frame, .. } => Some(frame.clone()),
                        Command::Ephemeral(frame) => Some(frame.clone()),
                    };
                    self.queue(command);
                    if let Some(frame) = frame {
                        if send(&mut sink, &frame).await.is_err() {
                            return Ended::Lost("write failed".into());
                        }
                    }
                }
            }
        }
    }

    async fn on_frame(&mut self, frame: ServerFrame) -> Result<(), Ended> {
        let update = match frame {
            ServerFrame::Event { event } => return self.on_event(event).await,
            ServerFrame::Subscribed {
                matter_id,
                head_seq,
                presence,
                reads,
            } => {
                if let Some(sub) = self.subs.get_mut(&matter_id) {
                    sub.live = true;
                    // Everything up to the head was replayed (or is not visible to this user).
                    sub.last = Some(sub.last.unwrap_or(0).max(head_seq));
                }
                Update::Subscribed {
                    matter_id,
                    head_seq,
                    presence,
                    reads,
                }
            }
            ServerFrame::Ack {
                client_msg_id,
                seq,
                duplicate,
                ..
            } => {
                if let Some(i) = self
                    .pending
                    .iter()
                    .position(|p| p.client_msg_id == client_msg_id)
                {
                    let pending = self.pending.remove(i);
                    let _ = pending.reply.send(Ok(Sent {
                        client_msg_id,
                        seq,
                        duplicate,
                    }));
                }
                return Ok(());
            }
            ServerFrame::Error {
                code,
                message,
                matter_id,
                client_msg_id,
            } => {
                if let Some(i) = client_msg_id
                    .and_then(|id| self.pending.iter().position(|p| p.client_msg_id == id))
                {
                    let pending = self.pending.remove(i);
                    let _ = pending.reply.send(Err(Error::Api {
                        status: 0,
                        code,
                        message,
                    }));
                    return Ok(());
                }
                if code == ErrorCode::Forbidden {
                    if let Some(matter_id) = matter_id {
                        self.subs.remove(&matter_id);
                    }
                }
                Update::Error {
                    code,
                    message,
                    matter_id,
                }
            }
            ServerFrame::Unsubscribed { matter_id, reason } => {
                self.subs.remove(&matter_id);
                Update::Unsubscribed { matter_id, reason }
            }
            ServerFrame::Presence {
                matter_id,
                user_id,
                state,
            } => Update::Presence {
                matter_id,
                user_id,
                state,
            },
            ServerFrame::Typing { matter_id, user_id } => Update::Typing { matter_id, user_id },
            ServerFrame::Read {
                matter_id,
                user_id,
                seq,
            } => Update::Read {
                matter_id,
                user_id,
                seq,
            },
            ServerFrame::Alert { alert } => Update::Alert(alert),
            ServerFrame::MattersChanged => Update::MattersChanged,
            ServerFrame::Hello { .. } => return Ok(()),
        };
        self.emit(update).await
    }

    /// Delivers an event in order: duplicates are dropped, gaps are filled from REST history.
    async fn on_event(&mut self, event: Event) -> Result<(), Ended> {
        let Some(sub) = self.subs.get(&event.matter_id) else {
            return Ok(());
        };
        let last = sub.last;
        if last.is_some_and(|last| event.seq <= last) {
            return Ok(());
        }
        if let Some(last) = last.filter(|last| event.seq > last + 1 && sub.live) {
            self.fill(event.matter_id, last, event.seq - 1).await?;
        }
        if let Some(sub) = self.subs.get_mut(&event.matter_id) {
            sub.last = Some(event.seq);
        }
        self.emit(Update::Event(event)).await
    }

    async fn fill(&mut self, matter_id: MatterId, mut after: u64, upto: u64) -> Result<(), Ended> {
        let client = Client::with_token(&self.current, &self.options.token);
        while after < upto {
            let page = match client.history(matter_id, after, 500).await {
                Ok(page) => page,
                Err(Error::SessionEnded) => return Err(Ended::SessionOver),
                Err(err) => return Err(Ended::Lost(format!("could not fetch a gap: {err}"))),
            };
            let more = page.more;
            for event in page.events.into_iter().filter(|e| e.seq <= upto) {
                after = event.seq;
                if let Some(sub) = self.subs.get_mut(&matter_id) {
                    sub.last = Some(event.seq);
                }
                self.emit(Update::Event(event)).await?;
            }
            if !more {
                break;
            }
        }
        Ok(())
    }

    async fn emit(&self, update: Update) -> Result<(), Ended> {
        self.updates.send(update).await.map_err(|_| Ended::Closed)
    }
}

enum OpenError {
    /// The server refused the session (401/403): do not retry.
    Refused,
    Unreachable(String),
}

async fn open(base: &str, token: &str) -> Result<Socket, OpenError> {
    let url = format!("{}/api/v1/ws", base.replacen("http", "ws", 1));
    let mut request = url
        .into_client_request()
        .map_err(|e| OpenError::Unreachable(e.to_string()))?;
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|e| OpenError::Unreachable(e.to_string()))?;
    headers.insert("authorization", bearer);
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response))
            if matches!(response.status().as_u16(), 401 | 403) =>
        {
            Err(OpenError::Refused)
        }
        Err(err) => Err(OpenError::Unreachable(err.to_string())),
    }
}

async fn send(
    sink: &mut futures_util::stream::SplitSink<Socket, Message>,
    frame: &ClientFrame,
) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    sink.send(Message::Text(text.into())).await.map_err(|_| ())
}
