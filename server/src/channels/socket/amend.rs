//! The edit/delete path: amending one of the user's own messages in a tenant transaction with
//! its audit row, and acknowledging the outcome on the socket.

use docket_protocol::channel::ServerFrame;
use docket_protocol::ids::MatterId;
use uuid::Uuid;

use super::{send_frame, Connection, Refusal, Sink};
use crate::access::{self, Action};
use crate::audit::{self, AuditRecord};
use crate::channels::store::{self, NewEvent};
use crate::channels::writer::Appended;
use crate::events::Body;
use crate::{Error, Result};

impl Connection {
    /// Edits (`text`) or deletes (`None`) one of the user's own messages, in a tenant transaction
    /// that also writes the audit row; the original stays in the record.
    pub(super) async fn amend(
        &self,
        matter_id: MatterId,
        client_msg_id: Uuid,
        target_seq: u64,
        text: Option<String>,
    ) -> Result<Appended> {
        let app = &self.app;
        let mut tenant = self.auth.tenant(app).await?;
        let facts = access::matter(
            &mut tenant,
            &self.auth.actor,
            matter_id,
            Action::PostMessage,
        )
        .await?;
        let author = self.auth.user.user_id;
        let edit = text.is_some();
        let new = NewEvent {
            matter_id,
            author_id: author,
            device_id: Some(self.auth.device_id.0),
            client_msg_id,
            body: match text {
                Some(text) => Body::Edit { target_seq, text },
                None => Body::Delete { target_seq },
            },
        };
        if let Some(seq) = store::find_own_sent(tenant.conn(), &new).await? {
            return Ok(Appended {
                seq,
                duplicate: true,
            });
        }
        let target = store::one(tenant.conn(), matter_id, target_seq)
            .await?
            .ok_or(Error::NotFound)?;
        if !target.body.as_ref().is_some_and(Body::is_message) || target.redacted_at.is_some() {
            return Err(Error::NotFound);
        }
        if target.author_id != Some(author.0) {
            return Err(Error::Forbidden);
        }
        let now = app.clock.now();
        let last = store::append(&mut tenant, &new, now).await?;
        if !edit {
            store::redact(tenant.conn(), matter_id, target_seq, now).await?;
        }
        let action = if edit {
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
        Ok(Appended {
            seq: last,
            duplicate: false,
        })
    }

    pub(super) async fn ack(
        &self,
        sink: &mut Sink,
        matter_id: MatterId,
        client_msg_id: Uuid,
        result: Result<Appended>,
    ) -> Result<(), Refusal> {
        match result {
            Ok(appended) => {
                let ack = ServerFrame::Ack {
                    matter_id,
                    client_msg_id,
                    seq: appended.seq,
                    duplicate: appended.duplicate,
                };
                send_frame(sink, &ack).await.map_err(|()| Refusal::Gone)
            }
            Err(err) => Err(Refusal::about(err, matter_id, Some(client_msg_id))),
        }
    }
}
