//! The WebSocket frame decoder: any text is answered without a panic, and a frame it accepts
//! re-serialises to the same frame.
#![no_main]

use docket_server::channels::decode_frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(frame) = decode_frame(text) {
        let again = serde_json::to_string(&frame).expect("frames serialise");
        assert_eq!(decode_frame(&again).ok(), Some(frame));
    }
});
