//! The matter-channel socket with automatic reconnection and resume.

mod task;

use std::time::Duration;

use docket_protocol::channel::{
    ClientFrame, Event, PresenceEntry, PresenceState, ReadPosition, UnsubscribeReason,
};
use docket_protocol::error::ErrorCode;
use docket_protocol::ids::{MatterId, UserId};
use docket_protocol::text::Text;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{Error, Result};
use task::Task;

/// How to reach the server(s).
#[derive(Clone, Debug)]
pub struct ChannelOptions {
    /// Server base addresses (`http://host:port`); on a lost connection the next one is tried.
    pub urls: Vec<String>,
    /// The session's bearer token.
    pub token: String,
    /// First reconnection delay; doubles up to `reconnect_max`.
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// Updates buffered for the application before the socket stops being read.
    pub buffer: usize,
}

impl ChannelOptions {
    /// Defaults: 100 ms to 5 s back-off, 4,096 buffered updates.
    pub fn new(urls: Vec<String>, token: String) -> Self {
        Self {
            urls,
            token,
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            buffer: 4_096,
        }
    }
}

/// What the channel yields, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// Connected (or reconnected) to `url`.
    Connected { url: String },
    /// The connection dropped; the channel is reconnecting.
    Disconnected { reason: String },
    /// A matter event, in `seq` order, without gaps or duplicates.
    Event(Event),
    /// A subscription is live (after its replay).
    Subscribed {
        matter_id: MatterId,
        head_seq: u64,
        presence: Vec<PresenceEntry>,
        reads: Vec<ReadPosition>,
    },
    /// A subscription ended on the server's side.
    Unsubscribed {
        matter_id: MatterId,
        reason: UnsubscribeReason,
    },
    Presence {
        matter_id: MatterId,
        user_id: UserId,
        state: PresenceState,
    },
    Typing {
        matter_id: MatterId,
        user_id: UserId,
    },
    Read {
        matter_id: MatterId,
        user_id: UserId,
        seq: u64,
    },
    /// A refused frame not tied to a send (e.g. subscribing to a matter one may not see).
    Error {
        code: ErrorCode,
        message: String,
        matter_id: Option<MatterId>,
    },
    /// An alert for the signed-in user (e.g. a client uploaded a document).
    Alert(docket_protocol::auth::Alert),
    /// The matters the user may see may have changed: reload the list.
    MattersChanged,
    /// The session ended; the channel has stopped. Sign in again.
    SessionEnded,
}

/// A durable send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    pub client_msg_id: Uuid,
    pub seq: u64,
    /// The server had already stored this id (the send was a retry).
    pub duplicate: bool,
}

enum Command {
    Subscribe {
        matter_id: MatterId,
        since: Option<u64>,
    },
    Unsubscribe {
        matter_id: MatterId,
    },
    Frame {
        frame: ClientFrame,
        client_msg_id: Uuid,
        reply: oneshot::Sender<Result<Sent>>,
    },
    Ephemeral(ClientFrame),
    Close,
}

/// A live channel connection (a background task owns the socket). It derefs to its
/// [`ChannelHandle`] for subscribing and sending.
///
/// The application must keep reading [`Channel::next`]: the task stops reading the socket while
/// its update buffer is full (and the server then closes the connection as too slow, to be
/// resumed). To send from one task and read in another, [`Channel::split`] it.
#[derive(Debug)]
pub struct Channel {
    handle: ChannelHandle,
    /// Taken by [`Channel::split`].
    updates: Option<mpsc::Receiver<Update>>,
}

/// Subscribes, sends and signals on a channel; cheap to clone and share between tasks.
#[derive(Clone, Debug)]
pub struct ChannelHandle {
    commands: mpsc::UnboundedSender<Command>,
}

impl std::ops::Deref for Channel {
    type Target = ChannelHandle;
    fn deref(&self) -> &ChannelHandle {
        &self.handle
    }
}

impl Channel {
    /// Starts connecting; returns at once. Watch [`Channel::next`] for [`Update::Connected`].
    pub fn connect(options: ChannelOptions) -> Self {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (update_tx, updates) = mpsc::channel(options.buffer.max(1));
        tokio::spawn(Task::new(options, command_rx, update_tx).run());
        Self {
            handle: ChannelHandle { commands },
            updates: Some(updates),
        }
    }

    /// The next update; `None` once the channel has stopped.
    pub async fn next(&mut self) -> Option<Update> {
        self.updates.as_mut()?.recv().await
    }

    /// A handle for sending from elsewhere.
    pub fn handle(&self) -> ChannelHandle {
        self.handle.clone()
    }

    /// Splits into a handle and the stream of updates. The connection closes when the updates
    /// receiver is dropped (or [`ChannelHandle::close`] is called).
    pub fn split(mut self) -> (ChannelHandle, mpsc::Receiver<Update>) {
        let updates = self
            .updates
            .take()
            .expect("a channel is split at most once");
        (self.handle.clone(), updates)
    }
}

impl ChannelHandle {
    /// Follows a matter. With `since`, events after it are replayed first; later reconnections
    /// resume from the last event delivered.
    pub fn subscribe(&self, matter_id: MatterId, since: Option<u64>) {
        let _ = self.commands.send(Command::Subscribe { matter_id, since });
    }

    /// Stops following a matter.
    pub fn unsubscribe(&self, matter_id: MatterId) {
        let _ = self.commands.send(Command::Unsubscribe { matter_id });
    }

    /// Sends a message; resolves when it is durable. Survives reconnections (the same id is
    /// re-sent, so it is stored once).
    pub async fn send(&self, matter_id: MatterId, text: &str) -> Result<Sent> {
        let text = Text::new(text)?;
        self.send_frame(
            |client_msg_id| ClientFrame::Send {
                matter_id,
                client_msg_id,
                text: text.clone(),
                reply_to: None,
            },
            Uuid::now_v7(),
        )
        .await
    }

    /// Sends with a chosen id (e.g. to retry a send whose answer was lost) and an optional reply.
    pub async fn send_with_id(
        &self,
        matter_id: MatterId,
        client_msg_id: Uuid,
        text: &str,
        reply_to: Option<u64>,
    ) -> Result<Sent> {
        let text = Text::new(text)?;
        self.send_frame(
            |client_msg_id| ClientFrame::Send {
                matter_id,
                client_msg_id,
                text: text.clone(),
                reply_to,
            },
            client_msg_id,
        )
        .await
    }

    /// Edits one's own message.
    pub async fn edit(&self, matter_id: MatterId, target_seq: u64, text: &str) -> Result<Sent> {
        let text = Text::new(text)?;
        self.send_frame(
            |client_msg_id| ClientFrame::Edit {
                matter_id,
                client_msg_id,
                target_seq,
                text: text.clone(),
            },
            Uuid::now_v7(),
        )
        .await
    }

    /// Deletes one's own message.
    pub async fn delete(&self, matter_id: MatterId, target_seq: u64) -> Result<Sent> {
        self.send_frame(
            |client_msg_id| ClientFrame::Delete {
                matter_id,
                client_msg_id,
                target_seq,
            },
            Uuid::now_v7(),
        )
        .await
    }

    async fn send_frame(
        &self,
        make: impl FnOnce(Uuid) -> ClientFrame,
        client_msg_id: Uuid,
    ) -> Result<Sent> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Frame {
                frame: make(client_msg_id),
                client_msg_id,
                reply,
            })
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }

    /// Marks a matter read up to `seq`.
    pub fn read(&self, matter_id: MatterId, seq: u64) {
        let _ = self
            .commands
            .send(Command::Ephemeral(ClientFrame::Read { matter_id, seq }));
    }

    /// Says the user is typing.
    pub fn typing(&self, matter_id: MatterId) {
        let _ = self
            .commands
            .send(Command::Ephemeral(ClientFrame::Typing { matter_id }));
    }

    /// Sets online or away.
    pub fn presence(&self, state: PresenceState) {
        let _ = self
            .commands
            .send(Command::Ephemeral(ClientFrame::Presence { state }));
    }

    /// Says which matter is on screen now (none: none is). While it is, the server sends its news
    /// to this user nowhere else (no push, no e-mail). Kept across reconnections and repeated
    /// while it holds.
    pub fn viewing(&self, matter_id: Option<MatterId>) {
        let _ = self
            .commands
            .send(Command::Ephemeral(ClientFrame::Viewing { matter_id }));
    }

    /// Closes the connection and stops the task.
    pub fn close(&self) {
        let _ = self.commands.send(Command::Close);
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        // A split channel lives on until its updates receiver is dropped.
        if self.updates.is_some() {
            self.handle.close();
        }
    }
}
