//! Intake: what an uploaded file is, whether Docket accepts it, and whether it is clean.
//!
//! A file's type is decided by its content, never by its name. Docket accepts what law firms
//! exchange — PDF, Word/Excel/PowerPoint (OOXML), common images (scans and phone photos), plain
//! text and e-mail files — and refuses everything else with a [`Refusal`]: a stable `code()` for the
//! API and a `message()` for people. See `docs/decisions/0013-file-intake.md`.
//!
//! # How an upload goes through intake
//! 1. Feed the first bytes of the stream to a [`Sniffer`] (it keeps at most [`SNIFF_BYTES`]) and,
//!    with the total length known, call [`Sniffer::finish`]. Enforce the size limit yourself
//!    ([`Refusal::TooLarge`], limit from `Config::max_upload_bytes`).
//! 2. [`Sniffed::Final`] is the answer. [`Sniffed::Zip`] needs [`check_zip`] and [`Sniffed::Cfb`]
//!    needs [`check_cfb`], both over random access to the plaintext (run them in `spawn_blocking`:
//!    `check_zip` decompresses every entry, capped by [`ZipLimits`]).
//! 3. When `Config::clamd` is set, stream the same plaintext through a [`ScanSession`] (started
//!    before the upload is read, fed chunk by chunk) and keep the file in quarantine until
//!    [`ScanSession::finish`] says [`ScanVerdict::Clean`]; `Infected` becomes [`Refusal::Malware`].
//!    An error from clamd is not a verdict: the file stays in quarantine.
//! 4. Store under an id, never under the client's name; keep [`sanitise_filename`]'s result for
//!    display and serve downloads with [`content_disposition`] — `Inline` only when
//!    [`FileKind::inline_viewable`], and always with the content kind's [`FileKind::mime`].
//!
//! # Layout
//! - [`sniff`]: magic bytes and text rules ([`Sniffer`], [`Sniffed`]).
//! - [`ooxml`]: ZIP containers — OOXML or refused ([`check_zip`], [`ZipLimits`]).
//! - [`ole`]: OLE compound files — Outlook `.msg` or refused ([`check_cfb`]).
//! - [`filename`]: display names and `Content-Disposition`.
//! - [`clamd`]: ClamAV's daemon over `INSTREAM`.

pub mod clamd;
pub mod filename;
pub mod ole;
pub mod ooxml;
pub mod sniff;

pub use clamd::{Clamd, ScanSession, ScanVerdict};
pub use filename::{content_disposition, sanitise_filename, Disposition};
pub use ole::check_cfb;
pub use ooxml::{check_zip, ZipLimits};
pub use sniff::{Sniffed, Sniffer, SNIFF_BYTES};

/// A type of file Docket accepts, as decided from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// PDF.
    Pdf,
    /// Word (OOXML, no macros).
    Docx,
    /// Excel (OOXML, no macros).
    Xlsx,
    /// PowerPoint (OOXML, no macros).
    Pptx,
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// GIF.
    Gif,
    /// TIFF, either byte order (scanners).
    Tiff,
    /// WebP.
    Webp,
    /// HEIC/HEIF (phone photos).
    Heic,
    /// Plain text: UTF-8, or UTF-16 with a byte-order mark.
    Text,
    /// An RFC 5322 e-mail message (`.eml`).
    Eml,
    /// An Outlook message (`.msg`).
    Msg,
}

impl FileKind {
    /// Every kind, for tests and documentation.
    pub const ALL: [FileKind; 13] = [
        Self::Pdf,
        Self::Docx,
        Self::Xlsx,
        Self::Pptx,
        Self::Jpeg,
        Self::Png,
        Self::Gif,
        Self::Tiff,
        Self::Webp,
        Self::Heic,
        Self::Text,
        Self::Eml,
        Self::Msg,
    ];

    /// The media type to serve it with.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Tiff => "image/tiff",
            Self::Webp => "image/webp",
            Self::Heic => "image/heic",
            Self::Text => "text/plain; charset=utf-8",
            Self::Eml => "message/rfc822",
            Self::Msg => "application/vnd.ms-outlook",
        }
    }

    /// The file extension (without the dot) a download's name gets.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
            Self::Pptx => "pptx",
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Tiff => "tif",
            Self::Webp => "webp",
            Self::Heic => "heic",
            Self::Text => "txt",
            Self::Eml => "eml",
            Self::Msg => "msg",
        }
    }

    /// The stable wire name (stored in the database and sent over the API).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
            Self::Pptx => "pptx",
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Tiff => "tiff",
            Self::Webp => "webp",
            Self::Heic => "heic",
            Self::Text => "text",
            Self::Eml => "eml",
            Self::Msg => "msg",
        }
    }

    /// Parses a wire name from [`FileKind::as_str`].
    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// Whether a browser may show it in the page (`Content-Disposition: inline`): PDF and images.
    /// Everything else is downloaded as an attachment.
    pub fn inline_viewable(self) -> bool {
        matches!(
            self,
            Self::Pdf | Self::Jpeg | Self::Png | Self::Gif | Self::Tiff | Self::Webp | Self::Heic
        )
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a file is refused. [`Refusal::code`] is a stable snake_case string for the API,
/// [`Refusal::message`] a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Nothing was uploaded.
    Empty,
    /// Larger than the configured limit, in bytes.
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A program: Windows, Linux or macOS executables, Java classes, WebAssembly, installers.
    Executable,
    /// A script or markup a browser or shell would run: shebang, HTML, SVG, JavaScript,
    /// PowerShell, batch, VBScript.
    Script,
    /// Office files that can carry macros: `.docm`/`.xlsm`/`.pptm` and the legacy binary formats.
    MacroEnabled,
    /// Password-protected: encrypted ZIP entries or an encrypted Office document.
    Encrypted,
    /// An archive (ZIP, 7z, RAR, gzip, ...): upload the files inside it instead.
    Archive,
    /// An archive or packaged file inside a document.
    NestedArchive,
    /// Expands to far more than its size.
    DecompressionBomb,
    /// Not one of the types Docket accepts, or damaged.
    UnknownType,
    /// The malware scanner found something.
    Malware {
        /// The scanner's name for what it found.
        signature: String,
    },
}

impl Refusal {
    /// Stable snake_case code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLarge { .. } => "too_large",
            Self::Executable => "executable",
            Self::Script => "script",
            Self::MacroEnabled => "macro_enabled",
            Self::Encrypted => "encrypted",
            Self::Archive => "archive",
            Self::NestedArchive => "nested_archive",
            Self::DecompressionBomb => "decompression_bomb",
            Self::UnknownType => "unknown_type",
            Self::Malware { .. } => "malware",
        }
    }

    /// A sentence for people, saying what to do instead where there is something to do.
    pub fn message(&self) -> String {
        match self {
            Self::Empty => "The file is empty.".into(),
            Self::TooLarge { limit } => format!(
                "The file is larger than the {} MB limit.",
                limit.div_ceil(1024 * 1024)
            ),
            Self::Executable => "Programs and installers cannot be uploaded.".into(),
            Self::Script => "Scripts and web pages (HTML, SVG, JavaScript, ...) cannot be \
                             uploaded; send the document as PDF instead."
                .into(),
            Self::MacroEnabled => "Office files that can carry macros (.docm, .xlsm, .pptm and \
                                   the old .doc, .xls, .ppt formats) cannot be uploaded; save it \
                                   as .docx, .xlsx, .pptx or PDF."
                .into(),
            Self::Encrypted => "Password-protected files cannot be checked and so cannot be \
                                uploaded; remove the password first."
                .into(),
            Self::Archive => "Archives (ZIP, 7z, RAR, ...) cannot be uploaded; upload the files \
                              inside it instead."
                .into(),
            Self::NestedArchive => "The document contains an archive or a packaged file, which \
                                    cannot be uploaded."
                .into(),
            Self::DecompressionBomb => "The file expands to far more than its size and was \
                                        refused as unsafe."
                .into(),
            Self::UnknownType => "This type of file is not accepted: upload PDF, Word, Excel, \
                                  PowerPoint, images, plain text or e-mails."
                .into(),
            Self::Malware { signature } => {
                format!("The file was refused because the malware scanner detected {signature}.")
            }
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod fuzz_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_are_unique() {
        for kind in FileKind::ALL {
            assert_eq!(FileKind::from_wire(kind.as_str()), Some(kind));
        }
        assert_eq!(FileKind::from_wire("exe"), None);
    }

    #[test]
    fn only_pdf_and_images_are_inline() {
        let inline: Vec<_> = FileKind::ALL
            .into_iter()
            .filter(|k| k.inline_viewable())
            .collect();
        assert!(inline.contains(&FileKind::Pdf) && inline.contains(&FileKind::Heic));
        assert!(!FileKind::Text.inline_viewable() && !FileKind::Docx.inline_viewable());
    }

    #[test]
    fn refusals_have_codes_and_messages() {
        let refusal = Refusal::TooLarge {
            limit: 100 * 1024 * 1024,
        };
        assert_eq!(refusal.code(), "too_large");
        assert!(
            refusal.message().contains("100 MB"),
            "{}",
            refusal.message()
        );
        let malware = Refusal::Malware {
            signature: "Eicar".into(),
        };
        assert!(malware.message().contains("Eicar"));
    }
}
