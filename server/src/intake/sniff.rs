//! Magic-byte sniffing: the first bytes of a stream decide what it is, or that it needs a look
//! inside its container (ZIP, OLE). By hand rather than with a crate: the list of accepted types is
//! short, and every rule here is one a reviewer can read.

use super::{FileKind, Refusal};

/// How many leading bytes the [`Sniffer`] keeps: enough for `%PDF-` within the first 1024 bytes,
/// the `ustar` mark at 257, and a good look at a text's opening (scripts, e-mail headers).
pub const SNIFF_BYTES: usize = 8 * 1024;

/// What the first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// Decided.
    Final(FileKind),
    /// A ZIP (OOXML candidate): needs [`super::check_zip`].
    Zip,
    /// An OLE compound file: `.msg` e-mail is allowed; legacy `.doc`/`.xls` (macros) and encrypted
    /// OOXML (`EncryptedPackage`) are refused by [`super::check_cfb`].
    Cfb,
}

/// Incremental sniffer fed with the first bytes of a stream; it keeps at most [`SNIFF_BYTES`].
#[derive(Debug, Default)]
pub struct Sniffer {
    /// The stream's first bytes.
    head: Vec<u8>,
}

impl Sniffer {
    /// An empty sniffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next bytes of the stream; bytes past the first [`SNIFF_BYTES`] are ignored.
    pub fn feed(&mut self, bytes: &[u8]) {
        let room = SNIFF_BYTES.saturating_sub(self.head.len());
        self.head.extend_from_slice(&bytes[..room.min(bytes.len())]);
    }

    /// Decides, given the stream's total length (so an empty upload and a text cut off at the
    /// sniffing window are told apart).
    pub fn finish(self, total_len: u64) -> Result<Sniffed, Refusal> {
        if total_len == 0 || self.head.is_empty() {
            return Err(Refusal::Empty);
        }
        let complete = total_len <= self.head.len() as u64;
        sniff(&self.head, complete)
    }
}

fn sniff(head: &[u8], complete: bool) -> Result<Sniffed, Refusal> {
    if is_executable(head) {
        return Err(Refusal::Executable);
    }
    if head.starts_with(b"#!") {
        return Err(Refusal::Script);
    }
    if let Some(kind) = binary_kind(head) {
        return Ok(Sniffed::Final(kind));
    }
    if head.starts_with(b"PK\x03\x04") {
        return Ok(Sniffed::Zip);
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Ok(Sniffed::Cfb);
    }
    if is_archive(head) {
        return Err(Refusal::Archive);
    }
    let text = decode_text(head, complete).ok_or(Refusal::UnknownType)?;
    classify_text(&text).map(Sniffed::Final)
}

/// Programs of every platform we know to look for. `CAFEBABE` is both a fat Mach-O and a Java
/// class: either way a program.
pub(super) fn is_executable(head: &[u8]) -> bool {
    const MAGICS: &[&[u8]] = &[
        b"MZ",                              // DOS / Windows PE
        b"\x7fELF",                         // Linux and most Unixes
        &[0xFE, 0xED, 0xFA, 0xCE],          // Mach-O 32, big-endian
        &[0xFE, 0xED, 0xFA, 0xCF],          // Mach-O 64, big-endian
        &[0xCE, 0xFA, 0xED, 0xFE],          // Mach-O 32, little-endian
        &[0xCF, 0xFA, 0xED, 0xFE],          // Mach-O 64, little-endian
        &[0xCA, 0xFE, 0xBA, 0xBE],          // fat Mach-O, Java class
        &[0xCA, 0xFE, 0xBA, 0xBF],          // fat Mach-O 64
        b"\0asm",                           // WebAssembly
        b"dex\n",                           // Android
        &[0x4C, 0, 0, 0, 0x01, 0x14, 2, 0], // Windows shortcut (.lnk)
    ];
    MAGICS.iter().any(|magic| head.starts_with(magic))
}

fn binary_kind(head: &[u8]) -> Option<FileKind> {
    let window = &head[..head.len().min(1024)];
    if window.windows(5).any(|w| w == b"%PDF-") {
        return Some(FileKind::Pdf);
    }
    let kind = if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        FileKind::Jpeg
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        FileKind::Png
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        FileKind::Gif
    } else if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        FileKind::Tiff
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        FileKind::Webp
    } else if is_heic(head) {
        FileKind::Heic
    } else {
        return None;
    };
    Some(kind)
}

/// HEIF's `ftyp` box with an HEVC brand, as the major brand or a compatible one (iPhones write
/// `heic` + `mif1`). Other `ftyp` files (MP4, MOV, AVIF) are not images we accept.
fn is_heic(head: &[u8]) -> bool {
    const BRANDS: &[&[u8]] = &[b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"];
    if head.len() < 12 || &head[4..8] != b"ftyp" {
        return false;
    }
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let end = size.clamp(12, head.len());
    let major = &head[8..12];
    let compatible = head.get(16..end).unwrap_or_default().chunks_exact(4);
    std::iter::once(major)
        .chain(compatible)
        .any(|brand| BRANDS.contains(&brand))
}

pub(super) fn is_archive(head: &[u8]) -> bool {
    const MAGICS: &[&[u8]] = &[
        b"PK\x05\x06",                      // empty ZIP
        b"PK\x07\x08",                      // spanned ZIP
        b"7z\xBC\xAF\x27\x1C",              // 7-Zip
        b"Rar!\x1A\x07",                    // RAR
        &[0x1F, 0x8B],                      // gzip
        b"BZh",                             // bzip2
        &[0xFD, b'7', b'z', b'X', b'Z', 0], // xz
        &[0x28, 0xB5, 0x2F, 0xFD],          // zstd
        b"MSCF",                            // Windows cabinet
        b"xar!",                            // macOS installer packages
    ];
    MAGICS.iter().any(|magic| head.starts_with(magic))
        || head.get(257..262) == Some(b"ustar".as_slice())
}

/// Text: UTF-8 (BOM optional) or UTF-16 with a BOM, without NULs or other control characters
/// than tab, line breaks, form feed and the DOS end-of-file mark. `complete` is false when the
/// head was cut from a longer stream, where a multi-byte character may be cut too.
fn decode_text(head: &[u8], complete: bool) -> Option<String> {
    let text = if let Some(rest) = head.strip_prefix(&[0xFF, 0xFE]) {
        utf16(rest, u16::from_le_bytes, complete)?
    } else if let Some(rest) = head.strip_prefix(&[0xFE, 0xFF]) {
        utf16(rest, u16::from_be_bytes, complete)?
    } else {
        let rest = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
        match std::str::from_utf8(rest) {
            Ok(text) => text.to_owned(),
            // A character cut at the end of the window, in a longer stream, is fine.
            Err(e) if !complete && e.error_len().is_none() => {
                std::str::from_utf8(&rest[..e.valid_up_to()])
                    .ok()?
                    .to_owned()
            }
            Err(_) => return None,
        }
    };
    let binary = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c' | '\x1a'));
    (!binary).then_some(text)
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16, complete: bool) -> Option<String> {
    if complete && bytes.len() % 2 == 1 {
        return None;
    }
    let mut units: Vec<u16> = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    if !complete && units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
        units.pop();
    }
    String::from_utf16(&units).ok()
}

fn classify_text(text: &str) -> Result<FileKind, Refusal> {
    let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    // HTML, SVG, XML and friends: a browser or an XML reader may run what is inside.
    if start.starts_with('<') || is_script(start) {
        return Err(Refusal::Script);
    }
    if start.starts_with("{\\rtf") {
        // RTF is "text" with embedded OLE objects, and a classic exploit carrier.
        return Err(Refusal::UnknownType);
    }
    Ok(if is_email(text) {
        FileKind::Eml
    } else {
        FileKind::Text
    })
}

/// Scripts: a first line typical of a language, or a marker that only code contains. Words that
/// also open prose ("Let", "Function", "Import") count only on a line that ends like code.
fn is_script(start: &str) -> bool {
    const FIRST_LINE: &[&str] = &[
        "@echo",
        "rem ",
        "::",
        "'use strict'",
        "\"use strict\"",
        "(function",
        "require(",
        "param(",
        "[cmdletbinding",
        "option explicit",
        "set-executionpolicy",
        "#requires",
    ];
    const CODE_WORDS: &[&str] = &[
        "var ",
        "let ",
        "const ",
        "function ",
        "import ",
        "export ",
        "dim ",
    ];
    const ANYWHERE: &[&str] = &[
        "<script",
        "<?php",
        "<html",
        "<svg",
        "<iframe",
        "<!doctype",
        "javascript:",
        "wscript.",
        "createobject(",
        "invoke-expression",
        "iex(",
        "-encodedcommand",
        "downloadstring(",
        "net.webclient",
        "start-process",
        "eval(",
        "document.write",
        "activexobject",
    ];
    let lower = start.to_lowercase();
    let first = lower.lines().next().unwrap_or_default().trim_end();
    FIRST_LINE.iter().any(|p| first.starts_with(p))
        || (CODE_WORDS.iter().any(|w| first.starts_with(w))
            && (first.ends_with(';') || first.ends_with('{')))
        || ANYWHERE.iter().any(|m| lower.contains(m))
}

/// An RFC 5322 message: at least two header fields before the first blank line, one of them a
/// field every real message has.
fn is_email(text: &str) -> bool {
    const TELLING: &[&str] = &[
        "from",
        "received",
        "mime-version",
        "return-path",
        "message-id",
        "delivered-to",
    ];
    let mut fields = 0;
    let mut telling = false;
    for line in text.lines().take(200) {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if fields == 0 {
                return false;
            }
            continue; // a folded continuation line
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return false;
        }
        fields += 1;
        telling |= TELLING.contains(&name.to_ascii_lowercase().as_str());
    }
    fields >= 2 && telling
}

#[cfg(test)]
#[path = "sniff_tests.rs"]
mod tests;
