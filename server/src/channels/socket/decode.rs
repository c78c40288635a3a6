//! A client's text frame into a [`ClientFrame`], or the error frame's code and message. Pure and
//! public so that the property tests and the fuzz targets (`fuzz/`) drive exactly what a socket
//! runs.

use docket_protocol::channel::{ClientFrame, MAX_FRAME_BYTES};
use docket_protocol::error::ErrorCode;

/// Decodes one text frame: too long is `payload_too_large`, not JSON is `malformed_json`, JSON of
/// the wrong shape is `invalid_input`. Never panics, whatever the text.
pub fn decode_frame(text: &str) -> Result<ClientFrame, (ErrorCode, String)> {
    if text.len() > MAX_FRAME_BYTES {
        return Err((
            ErrorCode::PayloadTooLarge,
            format!("Frames are limited to {MAX_FRAME_BYTES} bytes."),
        ));
    }
    serde_json::from_str::<ClientFrame>(text).map_err(|err| {
        if err.is_data() {
            (
                ErrorCode::InvalidInput,
                format!("Not a frame this server knows: {err}"),
            )
        } else {
            (ErrorCode::MalformedJson, format!("Not valid JSON: {err}"))
        }
    })
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
