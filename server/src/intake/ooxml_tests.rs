//! ZIP samples built in memory with the zip crate's writer.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::*;

const WORD_MAIN: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";
const EXCEL_MAIN: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml";
const POWERPOINT_MAIN: &str =
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml";
const WORD_MACRO_MAIN: &str = "application/vnd.ms-word.document.macroEnabled.main+xml";

fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in entries {
        writer.start_file(*name, options).expect("start");
        writer.write_all(data).expect("write");
    }
    writer.finish().expect("finish").into_inner()
}

fn content_types(main_part: &str, main_type: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="{main_part}" ContentType="{main_type}"/>
</Types>"#
    )
    .into_bytes()
}

/// A minimal OOXML package with extra entries.
fn ooxml(main_part: &str, main_type: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let types = content_types(main_part, main_type);
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", &types),
        ("_rels/.rels", b"<Relationships/>"),
        (
            &main_part[1..],
            b"<document>Completion statement</document>",
        ),
    ];
    entries.extend_from_slice(extra);
    zip(&entries)
}

fn docx(extra: &[(&str, &[u8])]) -> Vec<u8> {
    ooxml("/word/document.xml", WORD_MAIN, extra)
}

fn check(bytes: Vec<u8>) -> Result<FileKind, Refusal> {
    check_zip(Cursor::new(bytes), &ZipLimits::default())
}

#[test]
fn office_documents_are_recognised() {
    assert_eq!(check(docx(&[])), Ok(FileKind::Docx));
    let xlsx = ooxml("/xl/workbook.xml", EXCEL_MAIN, &[]);
    assert_eq!(check(xlsx), Ok(FileKind::Xlsx));
    let pptx = ooxml("/ppt/presentation.xml", POWERPOINT_MAIN, &[]);
    assert_eq!(check(pptx), Ok(FileKind::Pptx));
}

#[test]
fn macro_enabled_documents_are_refused() {
    let docm = ooxml(
        "/word/document.xml",
        WORD_MACRO_MAIN,
        &[("word/vbaProject.bin", b"\xD0\xCF\x11\xE0")],
    );
    assert_eq!(check(docm), Err(Refusal::MacroEnabled));
    let hidden = docx(&[("word/vbaProject.bin", b"x")]);
    assert_eq!(check(hidden), Err(Refusal::MacroEnabled));
    let renamed = ooxml("/word/document.xml", WORD_MACRO_MAIN, &[]);
    assert_eq!(check(renamed), Err(Refusal::MacroEnabled));
    let activex = docx(&[("word/activeX/activeX1.bin", b"x")]);
    assert_eq!(check(activex), Err(Refusal::MacroEnabled));
}

#[test]
fn other_zips_are_archives_and_broken_ones_unknown() {
    assert_eq!(
        check(zip(&[("contract.pdf", b"%PDF-1.7")])),
        Err(Refusal::Archive)
    );
    let unknown_main = ooxml(
        "/content.xml",
        "application/vnd.oasis.opendocument.text",
        &[],
    );
    assert_eq!(check(unknown_main), Err(Refusal::UnknownType));
    assert_eq!(
        check(b"PK\x03\x04garbage".to_vec()),
        Err(Refusal::UnknownType)
    );
}

#[test]
fn archives_and_programs_inside_documents_are_refused() {
    let inner = zip(&[("a.txt", b"hello")]);
    assert_eq!(
        check(docx(&[("word/media/image1.png", &inner)])),
        Err(Refusal::NestedArchive)
    );
    assert_eq!(
        check(docx(&[("word/media/x.gz", b"\x1F\x8B\x08\0\0\0")])),
        Err(Refusal::NestedArchive)
    );
    assert_eq!(
        check(docx(&[("word/media/image2.png", b"MZ\x90\0\x03")])),
        Err(Refusal::Executable)
    );
}

#[test]
fn embedded_documents_are_checked_like_the_outer_one() {
    let chart_data = ooxml("/xl/workbook.xml", EXCEL_MAIN, &[]);
    let pptx = ooxml(
        "/ppt/presentation.xml",
        POWERPOINT_MAIN,
        &[("ppt/embeddings/Microsoft_Excel_Worksheet.xlsx", &chart_data)],
    );
    assert_eq!(check(pptx), Ok(FileKind::Pptx));

    let xlsm = ooxml(
        "/xl/workbook.xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        &[],
    );
    let with_macros = docx(&[("word/embeddings/Sheet.xlsm", &xlsm)]);
    assert_eq!(check(with_macros), Err(Refusal::MacroEnabled));

    let plain = zip(&[("a.txt", b"hello")]);
    let with_zip = docx(&[("word/embeddings/archive.zip", &plain)]);
    assert_eq!(check(with_zip), Err(Refusal::NestedArchive));

    let twice = docx(&[("word/embeddings/inner.docx", &docx(&[]))]);
    let thrice = docx(&[("word/embeddings/outer.docx", &twice)]);
    assert_eq!(check(thrice), Err(Refusal::NestedArchive));
}

#[test]
fn packaged_ole_objects_are_refused() {
    let mut ole = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("cfb");
    ole.create_stream("/\u{1}Ole10Native")
        .expect("stream")
        .write_all(b"\0\0\0\0payload.exe")
        .expect("write");
    ole.flush().expect("flush");
    let object = ole.into_inner().into_inner();
    let packaged = docx(&[("word/embeddings/oleObject1.bin", &object)]);
    assert_eq!(check(packaged), Err(Refusal::NestedArchive));
    let outside = docx(&[("word/media/oleObject1.bin", &object)]);
    assert_eq!(check(outside), Err(Refusal::NestedArchive));
}

#[test]
fn highly_compressed_entries_are_bombs() {
    let zeros = vec![0u8; 10 * 1024 * 1024];
    let bomb = docx(&[("word/media/padding.bin", &zeros)]);
    assert_eq!(check(bomb), Err(Refusal::DecompressionBomb));
}

#[test]
fn the_total_size_is_capped() {
    let limits = ZipLimits {
        max_total_uncompressed: 1000,
        ..ZipLimits::default()
    };
    let text = "clause ".repeat(200);
    let big = docx(&[("word/footnotes.xml", text.as_bytes())]);
    assert_eq!(
        check_zip(Cursor::new(big), &limits),
        Err(Refusal::DecompressionBomb)
    );
}

#[test]
fn sizes_that_lie_are_caught_while_decompressing() {
    let text = "clause ".repeat(2000);
    let mut bytes = docx(&[("word/footnotes.xml", text.as_bytes())]);
    // Declare 100 bytes for the big entry, in its local header and in the central directory.
    patch_size(&mut bytes, b"word/footnotes.xml", 100);
    assert_eq!(check(bytes), Err(Refusal::DecompressionBomb));
}

/// The "better zip bomb": many central-directory entries share one run of compressed data, so
/// each entry passes the ratio check on its own while the file inflates ten-thousandfold.
#[test]
fn entries_sharing_compressed_data_are_bombs() {
    // Just under `ratio_min_size`, so no entry is checked for its ratio.
    let zeros = vec![0u8; 1_000_000];
    let bytes = docx(&[("word/media/s0000.bin", &zeros)]);
    let shared = share_entry(&bytes, b"word/media/s0000.bin", 400);
    assert!(shared.len() < 40 * 1024, "{} bytes", shared.len());
    assert_eq!(check(shared), Err(Refusal::DecompressionBomb));
}

/// Adds `copies` central-directory records for `name` (renamed `...0001.bin`, `...0002.bin`, ...)
/// that all point at its one local entry, and counts them in the end record.
fn share_entry(bytes: &[u8], name: &[u8], copies: u16) -> Vec<u8> {
    let field = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let at = positions(bytes, b"PK\x01\x02")
        .into_iter()
        .find(|&at| bytes[at + 46..].starts_with(name))
        .expect("a central record");
    let record = &bytes[at..at + 46 + field(at + 28) + field(at + 30) + field(at + 32)];
    let end = *positions(bytes, b"PK\x05\x06")
        .last()
        .expect("an end record");
    let mut out = bytes[..end].to_vec();
    let digits = 46 + name.len() - 8..46 + name.len() - 4;
    for copy in 1..=copies {
        let mut clone = record.to_vec();
        clone[digits.clone()].copy_from_slice(format!("{copy:04}").as_bytes());
        out.extend_from_slice(&clone);
    }
    let mut tail = bytes[end..].to_vec();
    for count_at in [8, 10] {
        let count = u16::from_le_bytes([tail[count_at], tail[count_at + 1]]) + copies;
        tail[count_at..count_at + 2].copy_from_slice(&count.to_le_bytes());
    }
    let size = u32::from_le_bytes([tail[12], tail[13], tail[14], tail[15]]);
    let size = size + u32::from(copies) * record.len() as u32;
    tail[12..16].copy_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&tail);
    out
}

#[test]
fn encrypted_entries_are_refused() {
    let mut bytes = docx(&[]);
    set_encrypted_flag(&mut bytes);
    assert_eq!(check(bytes), Err(Refusal::Encrypted));
}

/// Every header of `name`: local (`PK\3\4`, size at 22, name at 30) and central (`PK\1\2`, size
/// at 24, name at 46).
fn patch_size(bytes: &mut [u8], name: &[u8], size: u32) {
    for (signature, size_at, name_at) in [(b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)] {
        for at in positions(bytes, signature) {
            if bytes[at + name_at..].starts_with(name) {
                bytes[at + size_at..at + size_at + 4].copy_from_slice(&size.to_le_bytes());
            }
        }
    }
}

/// Sets bit 0 of the general-purpose flags ("encrypted") on every header.
fn set_encrypted_flag(bytes: &mut [u8]) {
    for (signature, flags_at) in [(b"PK\x03\x04", 6), (b"PK\x01\x02", 8)] {
        for at in positions(bytes, signature) {
            bytes[at + flags_at] |= 1;
        }
    }
}

fn positions(bytes: &[u8], needle: &[u8]) -> Vec<usize> {
    bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}
