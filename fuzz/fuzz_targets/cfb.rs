//! OLE compound files on their own (`.msg`, legacy Office, encrypted OOXML): any bytes are
//! answered, the same way twice.
#![no_main]

use std::io::Cursor;

use docket_server::intake::check_cfb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    assert_eq!(check_cfb(Cursor::new(bytes)), check_cfb(Cursor::new(bytes)));
});
