//! What a connection does with the node watch's verdicts: end an expired session, and drop or
//! narrow the matters whose access changed.

use docket_protocol::channel::{ServerFrame, UnsubscribeReason};
use docket_protocol::directory::Scope;
use docket_protocol::ids::MatterId;

use super::{send_frame, Closing, Connection, Sink};

impl Connection {
    /// Ends the session the watch found expired or idle (recorded in the audit trail).
    pub(super) async fn expire(&self, reason: &'static str) {
        if let Err(err) = crate::auth::end_session(&self.app, &self.auth, reason).await {
            tracing::warn!(error = %err, "could not end the session");
        }
    }

    /// Applies changed scopes: a matter with none left is forgotten (and unsubscribed, with the
    /// client told why); a followed matter with different scopes is followed under the new ones.
    pub(super) async fn apply_access(
        &mut self,
        changes: Vec<(MatterId, Vec<Scope>)>,
        sink: &mut Sink,
    ) -> Result<(), Closing> {
        for (matter_id, now) in changes {
            let subscribed = {
                let mut held = self.admission.watched.held();
                let Some(entry) = held.get_mut(&matter_id) else {
                    continue;
                };
                if entry.scopes == now {
                    continue;
                }
                let subscribed = entry.subscribed;
                if now.is_empty() {
                    held.remove(&matter_id);
                } else {
                    entry.scopes.clone_from(&now);
                }
                subscribed
            };
            if !subscribed {
                continue;
            }
            if now.is_empty() {
                self.app.channels.hub.leave(matter_id, self.admission.conn);
                let frame = ServerFrame::Unsubscribed {
                    matter_id,
                    reason: UnsubscribeReason::AccessRevoked,
                };
                send_frame(sink, &frame).await.map_err(|()| None)?;
            } else {
                let member = self.member(now);
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
