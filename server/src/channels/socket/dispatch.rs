//! The handling of each decoded client frame, and how a refused frame becomes an error frame:
//! always from the server's one [`Error`], so a socket answers with the same codes and the same
//! public wording as HTTP.

use docket_protocol::channel::{ClientFrame, ServerFrame, UnsubscribeReason, MAX_MESSAGE_CHARS};
use docket_protocol::directory::Scope;
use docket_protocol::ids::MatterId;
use futures_util::stream::FuturesUnordered;
use uuid::Uuid;

use super::{decode_frame, send_frame, Closing, Connection, PendingAck, Sink};
use crate::channels::store::NewEvent;
use crate::Error;

/// Sends one socket may have waiting for their commit.
const MAX_IN_FLIGHT: usize = 128;

/// An error frame to send: the error, and the ids of the frame it concerns (echoed so the client
/// can tell which of its frames was refused).
pub(super) struct ErrorReply {
    pub error: Error,
    pub matter_id: Option<MatterId>,
    pub client_msg_id: Option<Uuid>,
}

impl ErrorReply {
    /// The frame the client sees; an internal failure is logged and answered generically.
    pub fn frame(&self) -> ServerFrame {
        let body = self.error.public_body();
        ServerFrame::Error {
            code: body.code,
            message: body.message,
            matter_id: self.matter_id,
            client_msg_id: self.client_msg_id,
        }
    }
}

/// Why a frame was not handled.
pub(super) enum Refusal {
    /// The frame is refused: the client is told with an error frame.
    Answer(ErrorReply),
    /// A write to the socket failed: there is no one left to tell.
    Gone,
}

impl Refusal {
    /// `error`, concerning the frame about `matter_id` (and the client's message, if any).
    pub fn about(error: Error, matter_id: MatterId, client_msg_id: Option<Uuid>) -> Self {
        Self::Answer(ErrorReply {
            error,
            matter_id: Some(matter_id),
            client_msg_id,
        })
    }

    /// The same refusal, naming the frame's matter and message (unless it names them already).
    pub fn concerning(self, matter_id: MatterId, client_msg_id: Option<Uuid>) -> Self {
        match self {
            Self::Answer(reply) => Self::Answer(ErrorReply {
                matter_id: reply.matter_id.or(Some(matter_id)),
                client_msg_id: reply.client_msg_id.or(client_msg_id),
                error: reply.error,
            }),
            Self::Gone => Self::Gone,
        }
    }
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        Self::Answer(ErrorReply {
            error,
            matter_id: None,
            client_msg_id: None,
        })
    }
}

impl Connection {
    /// Handles one text frame; `Err` closes the connection.
    pub(super) async fn on_text(
        &mut self,
        text: &str,
        sink: &mut Sink,
        pending: &mut FuturesUnordered<PendingAck>,
    ) -> Result<(), Closing> {
        let outcome = match decode_frame(text) {
            Ok(frame) => self.on_frame(frame, sink, pending).await,
            Err(err) => Err(err.into()),
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(Refusal::Answer(reply)) => {
                send_frame(sink, &reply.frame()).await.map_err(|()| None)
            }
            Err(Refusal::Gone) => Err(None),
        }
    }

    async fn on_frame(
        &mut self,
        frame: ClientFrame,
        sink: &mut Sink,
        pending: &mut FuturesUnordered<PendingAck>,
    ) -> Result<(), Refusal> {
        match frame {
            ClientFrame::Subscribe { matter_id, since } => {
                self.subscribe(matter_id, since, sink).await
            }
            ClientFrame::Unsubscribe { matter_id } => {
                let was_followed = {
                    let mut held = self.admission.watched.held();
                    match held.get_mut(&matter_id) {
                        // Still authorised for sends, re-checked with the rest.
                        Some(entry) if entry.subscribed => {
                            entry.subscribed = false;
                            true
                        }
                        _ => false,
                    }
                };
                if was_followed {
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
                .map_err(|()| Refusal::Gone)
            }
            ClientFrame::Send {
                matter_id,
                client_msg_id,
                text,
                reply_to,
            } => {
                let text = self.messaging(matter_id, client_msg_id, &text).await?;
                if pending.len() >= MAX_IN_FLIGHT
                    || !self
                        .app
                        .channels
                        .rate
                        .allow(self.auth.user.user_id, self.app.clock.now())
                {
                    // The send rate refills at least one token a second.
                    let error = Error::RateLimited {
                        retry_after_secs: 1,
                    };
                    return Err(Refusal::about(error, matter_id, Some(client_msg_id)));
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
                let text = self.messaging(matter_id, client_msg_id, &text).await?;
                let result = self
                    .amend(matter_id, client_msg_id, target_seq, Some(text.to_owned()))
                    .await;
                self.ack(sink, matter_id, client_msg_id, result).await
            }
            ClientFrame::Delete {
                matter_id,
                client_msg_id,
                target_seq,
            } => {
                self.require(matter_id, Scope::Messages, Some(client_msg_id))
                    .await?;
                let result = self.amend(matter_id, client_msg_id, target_seq, None).await;
                self.ack(sink, matter_id, client_msg_id, result).await
            }
            ClientFrame::Read { matter_id, seq } => {
                self.require(matter_id, Scope::Messages, None).await?;
                self.mark_read(matter_id, seq).await
            }
            ClientFrame::Typing { matter_id } => {
                self.require(matter_id, Scope::Messages, None).await?;
                self.pass_typing(matter_id).await
            }
            ClientFrame::Presence { state } => self.set_presence(state).await,
            ClientFrame::Viewing { matter_id } => {
                // Saying so about a matter one cannot see only quiets notices one would not get.
                let key = self.connection_key();
                self.app
                    .channels
                    .presence
                    .set_viewing(self.auth.user.user_id, &key, matter_id)
                    .await;
                Ok(())
            }
        }
    }

    /// The checks a message's text passes before it is sent or edited in: the user may post in
    /// the matter, and the text (trimmed) has a length a message may have.
    async fn messaging<'t>(
        &mut self,
        matter_id: MatterId,
        client_msg_id: Uuid,
        text: &'t str,
    ) -> Result<&'t str, Refusal> {
        self.require(matter_id, Scope::Messages, Some(client_msg_id))
            .await?;
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.chars().count() > MAX_MESSAGE_CHARS {
            let error = Error::InvalidInput(format!(
                "A message must have 1 to {MAX_MESSAGE_CHARS} characters."
            ));
            return Err(Refusal::about(error, matter_id, Some(client_msg_id)));
        }
        Ok(trimmed)
    }
}

#[cfg(test)]
mod tests {
    use docket_protocol::error::ErrorCode;

    use super::*;

    fn reply(error: Error) -> ServerFrame {
        ErrorReply {
            error,
            matter_id: None,
            client_msg_id: Some(Uuid::nil()),
        }
        .frame()
    }

    #[test]
    fn an_error_frame_has_the_http_code_and_wording() {
        for error in [
            Error::Forbidden,
            Error::NotFound,
            Error::PayloadTooLarge,
            Error::InvalidInput("A message must have text.".into()),
        ] {
            let http = error.public_body();
            let ServerFrame::Error { code, message, .. } = reply(error) else {
                panic!("not an error frame");
            };
            assert_eq!((code, message), (http.code, http.message));
        }
    }

    #[test]
    fn an_internal_failure_is_answered_without_its_detail() {
        let frame = reply(Error::Internal(anyhow::anyhow!("secret detail")));
        let ServerFrame::Error {
            code,
            message,
            client_msg_id,
            ..
        } = frame
        else {
            panic!("not an error frame");
        };
        assert_eq!(code, ErrorCode::Internal);
        assert!(!message.contains("secret"), "{message}");
        assert_eq!(client_msg_id, Some(Uuid::nil()));
    }
}
