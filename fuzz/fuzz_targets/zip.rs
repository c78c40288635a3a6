//! ZIP inspection on its own: with the production limits it must answer, and with tight limits an
//! archive it accepts must really expand to no more than the limit.
#![no_main]

use std::io::{Cursor, Read};

use docket_server::intake::{check_zip, ZipLimits};
use libfuzzer_sys::fuzz_target;

const TIGHT: ZipLimits = ZipLimits {
    max_total_uncompressed: 2048,
    max_ratio: 20,
    ratio_min_size: 512,
    max_entries: 8,
};

fuzz_target!(|bytes: &[u8]| {
    let _ = check_zip(Cursor::new(bytes), &ZipLimits::default());
    if check_zip(Cursor::new(bytes), &TIGHT).is_ok() {
        let mut archive = zip_reader(bytes);
        let expanded: u64 = (0..archive.len())
            .map(|i| {
                let entry = archive.by_index(i).expect("an accepted entry opens");
                std::io::copy(&mut entry.take(1 << 20), &mut std::io::sink()).expect("reads")
            })
            .sum();
        assert!(expanded <= TIGHT.max_total_uncompressed, "{expanded} bytes");
    }
});

fn zip_reader(bytes: &[u8]) -> zip::ZipArchive<Cursor<&[u8]>> {
    zip::ZipArchive::new(Cursor::new(bytes)).expect("an accepted archive opens")
}
