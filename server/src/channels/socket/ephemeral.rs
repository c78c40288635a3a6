//! Ephemeral frames from the client: read positions, typing notices and presence. They are passed
//! to the matter's sockets everywhere but never enter the channel log (a read position is kept,
//! but as a row of its own, not as an event).

use std::time::{Duration, Instant};

use docket_protocol::channel::{PresenceState, ServerFrame};
use docket_protocol::directory::Scope;
use docket_protocol::ids::MatterId;

use super::{Connection, Refusal};
use crate::channels::store;
use crate::Error;

/// Typing notices are passed on at most this often per matter and socket.
const TYPING_INTERVAL: Duration = Duration::from_secs(2);

impl Connection {
    /// Records how far the user has read a matter and tells the matter's sockets.
    pub(super) async fn mark_read(&self, matter_id: MatterId, seq: u64) -> Result<(), Refusal> {
        let mut tenant = self.auth.tenant(&self.app).await?;
        let stored =
            store::mark_read(tenant.conn(), matter_id, self.auth.user.user_id, seq).await?;
        tenant.commit().await?;
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

    /// Passes a typing notice on, unless one went out for this matter moments ago.
    pub(super) async fn pass_typing(&mut self, matter_id: MatterId) -> Result<(), Refusal> {
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

    /// Sets online or away on every subscribed matter; offline is closing the socket.
    pub(super) async fn set_presence(&mut self, state: PresenceState) -> Result<(), Refusal> {
        if state == PresenceState::Offline {
            let error = Error::InvalidInput(
                "Presence is online or away; close the socket to go offline.".into(),
            );
            return Err(error.into());
        }
        self.presence = state;
        let key = self.connection_key();
        let followed: Vec<MatterId> = self
            .admission
            .watched
            .held()
            .iter()
            .filter(|(_, held)| held.subscribed)
            .map(|(matter_id, _)| *matter_id)
            .collect();
        for matter_id in followed {
            self.app
                .channels
                .presence
                .set(matter_id, self.auth.user.user_id, &key, state)
                .await;
            self.announce_presence(matter_id, state).await;
        }
        Ok(())
    }

    /// Tells everyone in the matter (on every node) this user's presence there.
    pub(super) async fn announce_presence(&self, matter_id: MatterId, state: PresenceState) {
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
