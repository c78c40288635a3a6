//! The whole of intake as an upload runs it: the sniffer fed in chunks, then the ZIP or OLE check
//! it asks for. The answer must not depend on how the stream was chunked.
#![no_main]

use std::io::Cursor;

use docket_server::intake::{check_cfb, check_zip, FileKind, Refusal, Sniffed, Sniffer, ZipLimits};
use libfuzzer_sys::fuzz_target;

fn classify(bytes: &[u8], chunk: usize) -> Result<FileKind, Refusal> {
    let mut sniffer = Sniffer::new();
    for piece in bytes.chunks(chunk.max(1)) {
        sniffer.feed(piece);
    }
    match sniffer.finish(bytes.len() as u64)? {
        Sniffed::Final(kind) => Ok(kind),
        Sniffed::Zip => check_zip(Cursor::new(bytes), &ZipLimits::default()),
        Sniffed::Cfb => check_cfb(Cursor::new(bytes)),
    }
}

fuzz_target!(|bytes: &[u8]| {
    let chunk = bytes.first().map_or(1, |&b| usize::from(b) + 1);
    assert_eq!(classify(bytes, chunk), classify(bytes, bytes.len()));
});
