//! A client's text frame into a [`ClientFrame`], or the [`Error`] its error frame is built from.
//! Pure and public so that the property tests and the fuzz targets (`fuzz/`) drive exactly what a
//! socket runs.

use docket_protocol::channel::{ClientFrame, MAX_FRAME_BYTES};

use crate::Error;

/// Decodes one text frame: too long is `payload_too_large`, not JSON is `malformed_json`, JSON of
/// the wrong shape is `invalid_input`. Never panics, whatever the text.
pub fn decode_frame(text: &str) -> Result<ClientFrame, Error> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(Error::PayloadTooLarge);
    }
    serde_json::from_str::<ClientFrame>(text).map_err(|err| {
        if err.is_data() {
            Error::InvalidInput(format!("Not a frame this server knows: {err}"))
        } else {
            Error::MalformedJson(format!("Not valid JSON: {err}"))
        }
    })
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
