//! OLE compound files (CFB): an Outlook `.msg` is accepted; legacy Office binaries (which can carry
//! macros), encrypted OOXML (`EncryptedPackage`) and Windows installers are refused. Also checks
//! OLE objects embedded in OOXML documents.

use std::io::{Read, Seek};
use std::path::PathBuf;

use cfb::CompoundFile;

use super::sniff::is_executable;
use super::{FileKind, Refusal};

/// The first eight bytes of every compound file.
pub(super) const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Storages that hold VBA macros, in Word, Excel and PowerPoint binaries and in OLE objects.
const MACRO_ENTRIES: &[&str] = &["Macros", "_VBA_PROJECT_CUR", "VBA", "_VBA_PROJECT"];

/// Streams that mark a legacy Office binary (`.doc`, `.xls`, `.ppt`).
const LEGACY_OFFICE: &[&str] = &["WordDocument", "Workbook", "Book", "PowerPoint Document"];

/// Root class ids of Windows Installer databases, patches and transforms.
const INSTALLER_CLSIDS: &[&str] = &[
    "000c1084-0000-0000-c000-000000000046",
    "000c1086-0000-0000-c000-000000000046",
    "000c1082-0000-0000-c000-000000000046",
];

/// Checks an OLE compound file: [`FileKind::Msg`] for an Outlook message (the
/// `__properties_version1.0` stream and `__substg1.0_` property streams), else refused.
pub fn check_cfb<R: Read + Seek>(reader: R) -> Result<FileKind, Refusal> {
    let mut file = CompoundFile::open(reader).map_err(|_| Refusal::UnknownType)?;
    let clsid = file.root_entry().clsid().to_string();
    if INSTALLER_CLSIDS.contains(&clsid.as_str()) {
        return Err(Refusal::Executable);
    }
    let entries = Entries::of(&file);
    if entries.has_root("EncryptedPackage") || entries.has_root("EncryptionInfo") {
        return Err(Refusal::Encrypted);
    }
    if entries.any(|name| MACRO_ENTRIES.contains(&name)) {
        return Err(Refusal::MacroEnabled);
    }
    let message = entries.has_root("__properties_version1.0")
        && entries.any(|name| name.starts_with("__substg1.0_"));
    if message {
        check_attachments(&mut file, &entries)?;
        return Ok(FileKind::Msg);
    }
    if entries.any(|name| LEGACY_OFFICE.contains(&name)) {
        return Err(Refusal::MacroEnabled);
    }
    Err(Refusal::UnknownType)
}

/// An OLE object inside an OOXML document: refused when it packages an arbitrary file
/// (`\x01Ole10Native`, the Packager's "embedded file" trick), is an Equation Editor 3.0 object
/// (a long line of exploits), or carries macros or encryption. Other objects (embedded legacy
/// worksheets, drawings) are left to the malware scanner.
pub(super) fn check_embedded<R: Read + Seek>(reader: R) -> Result<(), Refusal> {
    let file = CompoundFile::open(reader).map_err(|_| Refusal::NestedArchive)?;
    let entries = Entries::of(&file);
    if entries.any(|name| name == "\u{1}Ole10Native" || name == "Equation Native") {
        return Err(Refusal::NestedArchive);
    }
    if entries.any(|name| MACRO_ENTRIES.contains(&name)) {
        return Err(Refusal::MacroEnabled);
    }
    if entries.has_root("EncryptedPackage") {
        return Err(Refusal::Encrypted);
    }
    Ok(())
}

/// Attachment data (`PR_ATTACH_DATA_BIN`, property 0x3701 as binary) that is a program. Other
/// attachments are the malware scanner's to judge.
fn check_attachments<R: Read + Seek>(
    file: &mut CompoundFile<R>,
    entries: &Entries,
) -> Result<(), Refusal> {
    for path in &entries.streams {
        let is_attachment = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.eq_ignore_ascii_case("__substg1.0_37010102"));
        if !is_attachment {
            continue;
        }
        let mut head = Vec::with_capacity(8);
        file.open_stream(path)
            .map_err(|_| Refusal::UnknownType)?
            .take(8)
            .read_to_end(&mut head)
            .map_err(|_| Refusal::UnknownType)?;
        if is_executable(&head) {
            return Err(Refusal::Executable);
        }
    }
    Ok(())
}

/// The names of a compound file's entries.
struct Entries {
    /// Every entry's name, storages and streams.
    names: Vec<String>,
    /// Names directly under the root.
    root: Vec<String>,
    /// Full paths of the streams.
    streams: Vec<PathBuf>,
}

impl Entries {
    fn of<R>(file: &CompoundFile<R>) -> Self {
        let mut entries = Self {
            names: Vec::new(),
            root: Vec::new(),
            streams: Vec::new(),
        };
        for entry in file.walk() {
            if entry.is_root() {
                continue;
            }
            if entry.path().parent() == Some(std::path::Path::new("/")) {
                entries.root.push(entry.name().to_owned());
            }
            if entry.is_stream() {
                entries.streams.push(entry.path().to_path_buf());
            }
            entries.names.push(entry.name().to_owned());
        }
        entries
    }

    fn has_root(&self, name: &str) -> bool {
        self.root.iter().any(|n| n == name)
    }

    fn any(&self, predicate: impl Fn(&str) -> bool) -> bool {
        self.names.iter().any(|n| predicate(n))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    /// A compound file with the given streams (paths from the root), written by the cfb crate.
    fn compound(streams: &[(&str, &[u8])]) -> Vec<u8> {
        let mut file = CompoundFile::create(Cursor::new(Vec::new())).expect("create");
        for (path, data) in streams {
            let path = std::path::Path::new(path);
            if let Some(parent) = path.parent() {
                if parent != std::path::Path::new("/") && !file.exists(parent) {
                    file.create_storage_all(parent).expect("storage");
                }
            }
            file.create_stream(path)
                .expect("stream")
                .write_all(data)
                .expect("write");
        }
        file.flush().expect("flush");
        file.into_inner().into_inner()
    }

    fn check(streams: &[(&str, &[u8])]) -> Result<FileKind, Refusal> {
        check_cfb(Cursor::new(compound(streams)))
    }

    #[test]
    fn outlook_messages_are_accepted() {
        let msg = check(&[
            ("/__properties_version1.0", b"\0\0\0\0"),
            ("/__substg1.0_0037001F", "Subject".as_bytes()),
            (
                "/__attach_version1.0_#00000000/__substg1.0_37010102",
                b"%PDF-1.7",
            ),
        ]);
        assert_eq!(msg, Ok(FileKind::Msg));
    }

    #[test]
    fn messages_carrying_programs_are_refused() {
        let msg = check(&[
            ("/__properties_version1.0", b"\0\0\0\0"),
            ("/__substg1.0_0037001F", "Subject".as_bytes()),
            (
                "/__attach_version1.0_#00000000/__substg1.0_37010102",
                b"MZ\x90\0",
            ),
        ]);
        assert_eq!(msg, Err(Refusal::Executable));
    }

    #[test]
    fn legacy_office_binaries_are_refused() {
        assert_eq!(
            check(&[("/WordDocument", b"x")]),
            Err(Refusal::MacroEnabled)
        );
        assert_eq!(check(&[("/Workbook", b"x")]), Err(Refusal::MacroEnabled));
        assert_eq!(
            check(&[("/WordDocument", b"x"), ("/Macros/VBA/dir", b"x")]),
            Err(Refusal::MacroEnabled)
        );
    }

    #[test]
    fn encrypted_ooxml_is_refused() {
        let encrypted = check(&[("/EncryptionInfo", b"x"), ("/EncryptedPackage", b"x")]);
        assert_eq!(encrypted, Err(Refusal::Encrypted));
    }

    #[test]
    fn other_compound_files_and_garbage_are_unknown() {
        assert_eq!(check(&[("/Contents", b"x")]), Err(Refusal::UnknownType));
        let mut garbage = CFB_MAGIC.to_vec();
        garbage.extend_from_slice(&[0; 100]);
        assert_eq!(check_cfb(Cursor::new(garbage)), Err(Refusal::UnknownType));
    }

    #[test]
    fn packaged_files_inside_documents_are_refused() {
        let package = compound(&[("/\u{1}Ole10Native", b"MZ")]);
        assert_eq!(
            check_embedded(Cursor::new(package)),
            Err(Refusal::NestedArchive)
        );
        let equation = compound(&[("/Equation Native", b"x")]);
        assert_eq!(
            check_embedded(Cursor::new(equation)),
            Err(Refusal::NestedArchive)
        );
        let worksheet = compound(&[("/Workbook", b"x")]);
        assert_eq!(check_embedded(Cursor::new(worksheet)), Ok(()));
    }
}
