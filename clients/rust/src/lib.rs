//! `docket-client`: the Rust SDK for Docket.
//!
//! - [`Client`]: REST — sign in (password, then TOTP), list matters, read channel history,
//!   documents, and matter timelines (milestones).
//! - [`Channel`]: the matter-channel socket — subscribe with resume, send with retry and
//!   idempotency, a stream of typed [`Update`]s. It reconnects by itself with back-off (to the
//!   next server address if several are given), resumes every subscription from the last `seq`
//!   it delivered, re-sends unacknowledged messages under their original ids (the server answers
//!   a resend with the original `seq`), and fills any `seq` gap from the REST history, so the
//!   stream it yields has neither gaps nor duplicates.
//!
//! The integration tests and the load generator use this crate, so it is exercised constantly.

mod channel;
mod documents;
mod milestones;
mod rest;

pub use channel::{Channel, ChannelHandle, ChannelOptions, Sent, Update};
pub use docket_protocol as protocol;
pub use rest::Client;

use docket_protocol::error::ErrorCode;

/// What can go wrong talking to Docket.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server refused the request with a stable code.
    #[error("{code}: {message}")]
    Api {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// An uploaded file was refused; `reason` is stable (`executable`, `malware`, …).
    #[error("file refused ({reason}): {message}")]
    Refused { reason: String, message: String },
    /// Writing a download failed.
    #[error("writing: {0}")]
    Io(String),
    /// The HTTP request failed.
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    /// The session ended (expired, revoked, signed out): sign in again.
    #[error("the session has ended")]
    SessionEnded,
    /// The channel task has stopped.
    #[error("the channel is closed")]
    Closed,
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// Text the server would refuse (a control character), caught before sending.
    #[error("invalid text: {0}")]
    InvalidText(#[from] docket_protocol::text::TextError),
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
