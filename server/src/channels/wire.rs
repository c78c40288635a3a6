//! The channel socket on the wire: the WebSocket settings every Docket socket is opened with, and
//! how a read that fails becomes the close code RFC 6455 names for it.
//!
//! The production socket ([`super::open_socket`]) and the conformance echo (`docket-ws-echo`, run
//! only by `scripts/ws-conformance.sh`) both go through [`configure`], [`close_for_read_error`]
//! and [`close_socket`], so the Autobahn cases test exactly what clients meet.
//!
//! tungstenite answers some violations itself: a ping with a pong, and a close frame carrying a
//! code no endpoint may send (below 1000, 1004–1006, 1014–2999, 5000 and up) with its own
//! `1002` before the close reaches us. Every other violation surfaces as a read error, and the
//! connection is failed with the code [`close_for_read_error`] picks.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use axum::extract::WebSocketUpgrade;
use docket_protocol::channel::{close, HARD_FRAME_LIMIT_BYTES, SUBPROTOCOL};
use futures_util::{Sink, SinkExt};
use tungstenite::error::ProtocolError;

/// The socket settings: subprotocol, buffers and frame limits.
pub fn configure(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .protocols([SUBPROTOCOL])
        // tungstenite's 128 KiB default per socket would dominate the memory of idle sockets.
        .read_buffer_size(1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(HARD_FRAME_LIMIT_BYTES)
        .max_frame_size(HARD_FRAME_LIMIT_BYTES)
}

/// The close frame that fails the connection after `err` (RFC 6455 §7.4.1), or `None` when the
/// peer is gone or has already closed, so there is no one to tell.
pub fn close_for_read_error(err: &axum::Error) -> Option<CloseFrame> {
    // axum boxes the tungstenite error; its `source` is that box's content.
    let inner = std::error::Error::source(err).and_then(|e| e.downcast_ref::<tungstenite::Error>());
    let (code, reason) = match inner {
        Some(err) => close_code(err)?,
        None => (close::INTERNAL_ERROR, "unexpected error"),
    };
    Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    })
}

fn close_code(err: &tungstenite::Error) -> Option<(u16, &'static str)> {
    use tungstenite::Error as E;
    match err {
        E::ConnectionClosed
        | E::AlreadyClosed
        | E::Io(_)
        | E::Protocol(ProtocolError::ResetWithoutClosingHandshake)
        | E::Protocol(ProtocolError::ReceivedAfterClosing) => None,
        E::Capacity(_) => Some((close::MESSAGE_TOO_BIG, "frame or message too large")),
        E::Utf8(_) => Some((close::INVALID_PAYLOAD, "text is not valid UTF-8")),
        E::Protocol(_) | E::AttackAttempt => Some((close::PROTOCOL_ERROR, "protocol violation")),
        _ => Some((close::INTERNAL_ERROR, "unexpected error")),
    }
}

/// Sends `close` if there is one, then closes the socket; each step waits at most a second, so
/// a peer that does not read cannot hold the task.
pub async fn close_socket<S>(sink: &mut S, close: Option<CloseFrame>)
where
    S: Sink<Message> + Unpin,
{
    let limit = Duration::from_secs(1);
    if let Some(frame) = close {
        let _ = tokio::time::timeout(limit, sink.send(Message::Close(Some(frame)))).await;
    }
    let _ = tokio::time::timeout(limit, sink.close()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::error::CapacityError;

    fn code_for(err: tungstenite::Error) -> Option<u16> {
        close_for_read_error(&axum::Error::new(err)).map(|frame| frame.code)
    }

    #[test]
    fn each_protocol_violation_closes_with_1002() {
        let violations = [
            ProtocolError::NonZeroReservedBits,
            ProtocolError::UnmaskedFrameFromClient,
            ProtocolError::FragmentedControlFrame,
            ProtocolError::ControlFrameTooBig,
            ProtocolError::UnknownControlFrameType(11),
            ProtocolError::UnknownDataFrameType(3),
            ProtocolError::InvalidOpcode(3),
            ProtocolError::UnexpectedContinueFrame,
            ProtocolError::ExpectedFragment(tungstenite::protocol::frame::coding::Data::Text),
            ProtocolError::InvalidCloseSequence,
        ];
        for violation in violations {
            let name = violation.to_string();
            assert_eq!(
                code_for(tungstenite::Error::Protocol(violation)),
                Some(1002),
                "{name}"
            );
        }
        assert_eq!(code_for(tungstenite::Error::AttackAttempt), Some(1002));
    }

    #[test]
    fn invalid_utf8_closes_with_1007() {
        assert_eq!(
            code_for(tungstenite::Error::Utf8("invalid utf-8 sequence".into())),
            Some(1007)
        );
    }

    #[test]
    fn only_size_violations_close_with_1009() {
        let too_long = CapacityError::MessageTooLong {
            size: HARD_FRAME_LIMIT_BYTES + 1,
            max_size: HARD_FRAME_LIMIT_BYTES,
        };
        assert_eq!(code_for(tungstenite::Error::Capacity(too_long)), Some(1009));
        assert_eq!(
            code_for(tungstenite::Error::Capacity(CapacityError::TooManyHeaders)),
            Some(1009)
        );
    }

    #[test]
    fn a_peer_that_is_gone_or_has_closed_gets_no_close_frame() {
        let gone = [
            tungstenite::Error::ConnectionClosed,
            tungstenite::Error::AlreadyClosed,
            tungstenite::Error::Io(std::io::ErrorKind::ConnectionReset.into()),
            tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake),
            tungstenite::Error::Protocol(ProtocolError::ReceivedAfterClosing),
        ];
        for err in gone {
            let name = err.to_string();
            assert_eq!(code_for(err), None, "{name}");
        }
    }

    #[test]
    fn an_error_from_elsewhere_closes_with_1011() {
        assert_eq!(
            code_for(tungstenite::Error::WriteBufferFull(Box::new(
                tungstenite::Message::Pong(Default::default())
            ))),
            Some(1011)
        );
        let foreign = axum::Error::new(std::io::Error::other("not tungstenite's"));
        assert_eq!(close_for_read_error(&foreign).map(|f| f.code), Some(1011));
    }

    #[test]
    fn every_reason_fits_a_control_frame() {
        let errors = [
            tungstenite::Error::Utf8(String::new()),
            tungstenite::Error::Capacity(CapacityError::TooManyHeaders),
            tungstenite::Error::AttackAttempt,
        ];
        for err in errors {
            let frame = close_for_read_error(&axum::Error::new(err)).expect("a close");
            assert!(frame.reason.len() <= 123);
        }
    }
}
