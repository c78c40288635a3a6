//! Mutation properties over the whole of intake: small valid files of every kind, built here,
//! damaged by byte flips, cuts, insertions and overwrites, never make the sniffer or the container
//! checks panic, and are classified the same way every time and however the stream is chunked.
//! The same seeds start the `cargo fuzz` corpus (`DOCKET_FUZZ_SEEDS=dir`, see `make fuzz`).

use std::io::{Cursor, Read, Write};

use cfb::CompoundFile;
use proptest::prelude::*;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::*;

const WORD_MAIN: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";

fn zip(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        writer.start_file(*name, options).expect("start");
        writer.write_all(data).expect("write");
    }
    writer.finish().expect("finish").into_inner()
}

/// A compound file with 512-byte sectors (version 3), small enough for a fuzzing seed.
fn compound(streams: &[(&str, &[u8])]) -> Vec<u8> {
    let mut file = CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
        .expect("create");
    for (path, data) in streams {
        let path = std::path::Path::new(path);
        if let Some(parent) = path.parent() {
            if parent != std::path::Path::new("/") && !file.exists(parent) {
                file.create_storage_all(parent).expect("storage");
            }
        }
        let mut stream = file.create_stream(path).expect("stream");
        stream.write_all(data).expect("write");
    }
    file.flush().expect("flush");
    file.into_inner().into_inner()
}

fn docx(extra: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let types = format!(
        r#"<?xml version="1.0"?><Types><Override PartName="/word/document.xml" ContentType="{WORD_MAIN}"/></Types>"#
    );
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", types.as_bytes()),
        (
            "word/document.xml",
            b"<w:document>Completion statement</w:document>",
        ),
    ];
    entries.extend_from_slice(extra);
    zip(&entries, method)
}

fn msg() -> Vec<u8> {
    compound(&[
        ("/__properties_version1.0", b"\0\0\0\0"),
        ("/__substg1.0_0037001F", b"S\0u\0b\0j\0"),
        (
            "/__attach_version1.0_#00000000/__substg1.0_37010102",
            b"%PDF-1.7",
        ),
    ])
}

/// One small valid (or deliberately refused) file per path through intake, with its name.
pub(super) fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let ole_object = compound(&[("/Workbook", b"sheet")]);
    let inner = docx(&[], CompressionMethod::Stored);
    // Incompressible, and near the tight limits below, so that damaged sizes can cross them.
    let scan: Vec<u8> = (0u32..1500)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    vec![
        (
            "pdf",
            b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec(),
        ),
        (
            "png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec(),
        ),
        ("heic", b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic".to_vec()),
        (
            "text",
            "Dear Ms Smith,\nthe completion date is Friday. £250\n"
                .as_bytes()
                .to_vec(),
        ),
        ("utf16", b"\xFF\xFEh\0i\0\n\0".to_vec()),
        (
            "eml",
            b"From: a@example.com\r\nSubject: Lease\r\nMIME-Version: 1.0\r\n\r\nHi\r\n".to_vec(),
        ),
        ("html", b"<!doctype html><script>alert(1)</script>".to_vec()),
        ("docx", docx(&[], CompressionMethod::Deflated)),
        ("docx-stored", inner.clone()),
        (
            "docx-ole",
            docx(
                &[("word/embeddings/oleObject1.bin", &ole_object)],
                CompressionMethod::Deflated,
            ),
        ),
        (
            "docx-docx",
            docx(
                &[("word/embeddings/Sheet1.docx", &inner)],
                CompressionMethod::Stored,
            ),
        ),
        (
            "docx-media",
            docx(&[("word/media/scan.bin", &scan)], CompressionMethod::Stored),
        ),
        (
            "zip",
            zip(&[("a.txt", b"hello")], CompressionMethod::Deflated),
        ),
        ("msg", msg()),
        (
            "doc",
            compound(&[("/WordDocument", b"x"), ("/Macros/VBA/dir", b"x")]),
        ),
    ]
}

/// Everything intake decides about a file, as an upload runs it.
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

/// One way to damage a file.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Cut(prop::sample::Index),
    Insert(prop::sample::Index, Vec<u8>),
    /// A little-endian 32-bit value over whatever was there: sizes, offsets and counts.
    Overwrite(prop::sample::Index, u32),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let edge = prop_oneof![
        Just(0u32),
        Just(1),
        Just(0x7FFF_FFFF),
        Just(0xFFFF_FFFE),
        Just(u32::MAX),
        any::<u32>()
    ];
    prop_oneof![
        (any::<prop::sample::Index>(), 1..=255u8).prop_map(|(at, bits)| Mutation::Flip(at, bits)),
        any::<prop::sample::Index>().prop_map(Mutation::Cut),
        (
            any::<prop::sample::Index>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<prop::sample::Index>(), edge).prop_map(|(at, value)| Mutation::Overwrite(at, value)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        if bytes.is_empty() {
            break;
        }
        match mutation {
            Mutation::Flip(at, bits) => {
                let at = at.index(bytes.len());
                bytes[at] ^= bits;
            }
            Mutation::Cut(at) => bytes.truncate(at.index(bytes.len())),
            Mutation::Insert(at, new) => {
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Overwrite(at, value) => {
                let at = at.index(bytes.len());
                for (slot, byte) in bytes[at..].iter_mut().zip(value.to_le_bytes()) {
                    *slot = byte;
                }
            }
        }
    }
    bytes
}

fn damaged_seed() -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<Vec<u8>> = seeds().into_iter().map(|(_, bytes)| bytes).collect();
    (
        prop::sample::select(seeds),
        proptest::collection::vec(mutation(), 1..6),
    )
        .prop_map(|(seed, mutations)| mutate(seed, &mutations))
}

/// Tight limits, so that damaged sizes reach the bomb checks.
const TIGHT: ZipLimits = ZipLimits {
    max_total_uncompressed: 2048,
    max_ratio: 20,
    ratio_min_size: 512,
    max_entries: 8,
};

/// What the entries of an archive really expand to, read with the zip crate alone.
fn expanded_size(bytes: &[u8]) -> u64 {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).expect("an accepted archive opens");
    (0..archive.len())
        .map(|i| {
            let entry = archive.by_index(i).expect("an accepted entry opens");
            std::io::copy(&mut entry.take(1 << 20), &mut std::io::sink()).expect("reads")
        })
        .sum()
}

/// Extra parts for a document: `(length, compressible, deflated, seed)`.
fn parts() -> impl Strategy<Value = Vec<(usize, bool, bool, u32)>> {
    proptest::collection::vec(
        (0..1600usize, any::<bool>(), any::<bool>(), any::<u32>()),
        0..5,
    )
}

fn part_bytes(len: usize, compressible: bool, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| match compressible {
            true => b'a',
            false => (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8,
        })
        .collect()
}

/// What [`TIGHT`] says of an archive, from the limits' definitions and the entries' real sizes.
fn expected_under_tight(bytes: &[u8]) -> Result<FileKind, Refusal> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).expect("a built archive opens");
    let mut total = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).expect("a built entry opens");
        total += entry.size();
        let ratio = entry.size() / entry.compressed_size().max(1);
        if entry.size() >= TIGHT.ratio_min_size && ratio > TIGHT.max_ratio {
            return Err(Refusal::DecompressionBomb);
        }
    }
    match total > TIGHT.max_total_uncompressed {
        true => Err(Refusal::DecompressionBomb),
        false => Ok(FileKind::Docx),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn damaged_files_are_classified_the_same_way_every_time(
        bytes in damaged_seed(),
        chunk in 1..9000usize,
    ) {
        let whole = classify(&bytes, bytes.len());
        prop_assert_eq!(classify(&bytes, chunk), whole.clone());
        prop_assert_eq!(classify(&bytes, bytes.len()), whole);
    }

    #[test]
    fn arbitrary_bytes_are_classified(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let first = classify(&bytes, 7);
        prop_assert_eq!(classify(&bytes, bytes.len()), first);
    }

    #[test]
    fn documents_are_refused_exactly_when_they_expand_too_far(parts in parts()) {
        let data: Vec<(String, Vec<u8>, bool)> = parts
            .into_iter()
            .enumerate()
            .map(|(i, (len, compressible, deflated, seed))| {
                (format!("word/media/part{i}.bin"), part_bytes(len, compressible, seed), deflated)
            })
            .collect();
        let base = Cursor::new(docx(&[], CompressionMethod::Stored));
        let mut writer = ZipWriter::new_append(base).expect("append");
        for (name, bytes, deflated) in &data {
            let method = if *deflated { CompressionMethod::Deflated } else { CompressionMethod::Stored };
            writer.start_file(name.as_str(), SimpleFileOptions::default().compression_method(method)).expect("start");
            writer.write_all(bytes).expect("write");
        }
        let bytes = writer.finish().expect("finish").into_inner();
        prop_assert_eq!(check_zip(Cursor::new(&bytes), &TIGHT), expected_under_tight(&bytes));
    }

    #[test]
    fn an_accepted_archive_keeps_within_its_limits(bytes in damaged_seed()) {
        if let Ok(kind) = check_zip(Cursor::new(&bytes), &TIGHT) {
            prop_assert!(matches!(kind, FileKind::Docx | FileKind::Xlsx | FileKind::Pptx));
            prop_assert!(expanded_size(&bytes) <= TIGHT.max_total_uncompressed);
        }
    }
}

#[test]
fn seeds_are_what_they_claim_and_can_be_written_out() {
    let expected = |name: &str| match name {
        "pdf" => Ok(FileKind::Pdf),
        "png" => Ok(FileKind::Png),
        "heic" => Ok(FileKind::Heic),
        "text" | "utf16" => Ok(FileKind::Text),
        "eml" => Ok(FileKind::Eml),
        "html" => Err(Refusal::Script),
        "docx" | "docx-stored" | "docx-ole" | "docx-docx" | "docx-media" => Ok(FileKind::Docx),
        "zip" => Err(Refusal::Archive),
        "msg" => Ok(FileKind::Msg),
        "doc" => Err(Refusal::MacroEnabled),
        other => panic!("no expectation for seed {other}"),
    };
    let out = std::env::var_os("DOCKET_FUZZ_SEEDS").map(std::path::PathBuf::from);
    for (name, bytes) in seeds() {
        assert_eq!(classify(&bytes, 1000), expected(name), "seed {name}");
        if let Some(dir) = &out {
            std::fs::create_dir_all(dir).expect("seed dir");
            std::fs::write(dir.join(name), &bytes).expect("seed written");
        }
    }
}
