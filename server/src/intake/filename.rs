//! File names: a client's name for a file is shown to people and offered on download, never used
//! as a storage path. [`sanitise_filename`] makes it harmless on every platform and truthful
//! about the content; [`content_disposition`] puts it into an RFC 6266 header.

use axum::http::HeaderValue;

use super::FileKind;

/// Longest sanitised name, in characters (the extension included).
const MAX_CHARS: usize = 120;

/// Whether a browser shows a download in the page or saves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Shown in the page (PDF and images, see [`FileKind::inline_viewable`]).
    Inline,
    /// Saved as a file.
    Attachment,
}

/// A display and download name: the last path segment only, without control characters,
/// bidirectional overrides, zero-width characters, characters Windows forbids, leading dots or a
/// reserved Windows device name, at most [`MAX_CHARS`] characters, ending in the extension of the
/// content's kind (`report.exe` that is a PDF becomes `report.exe.pdf`).
pub fn sanitise_filename(name: &str, kind: FileKind) -> String {
    let last = name
        .rsplit(['/', '\\'])
        .find(|segment| !segment.trim().is_empty())
        .unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|&c| !c.is_control() && !is_invisible(c))
        .map(|c| if r#"<>:"|?*"#.contains(c) { '_' } else { c })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c == ' ');
    let stem = match trimmed.rsplit_once('.') {
        Some((stem, ext)) if is_alias(kind, ext) => stem,
        _ => trimmed,
    };
    let mut stem = stem.trim_matches(|c: char| c == '.' || c == ' ').to_owned();
    if stem.is_empty() {
        stem = "document".into();
    }
    if is_reserved(&stem) {
        stem.insert(0, '_');
    }
    let room = MAX_CHARS - kind.extension().len() - 1;
    if stem.chars().count() > room {
        stem = stem.chars().take(room).collect();
        stem.truncate(stem.trim_end_matches(['.', ' ']).len());
    }
    format!("{stem}.{}", kind.extension())
}

/// Bidirectional controls (the `exe.pdf` ⟷ `fdp.exe` trick) and zero-width characters.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Extensions that already say what the content is.
fn is_alias(kind: FileKind, ext: &str) -> bool {
    let ext = ext.to_ascii_lowercase();
    let aliases: &[&str] = match kind {
        FileKind::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
        FileKind::Tiff => &["tif", "tiff"],
        FileKind::Heic => &["heic", "heif"],
        FileKind::Text => &["txt", "text"],
        _ => &[],
    };
    ext == kind.extension() || aliases.contains(&ext.as_str())
}

/// Device names Windows will not open as files, whatever the extension.
fn is_reserved(stem: &str) -> bool {
    let base = stem.split('.').next().unwrap_or_default().trim();
    let upper = base.to_ascii_uppercase();
    matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ((upper.starts_with("COM") || upper.starts_with("LPT"))
        && upper.len() == 4
        && upper.as_bytes()[3].is_ascii_digit())
}

/// An RFC 6266 `Content-Disposition` value: an ASCII fallback `filename="..."` for old clients and
/// the exact name as RFC 8187 `filename*=UTF-8''...`. Pass a name from [`sanitise_filename`].
pub fn content_disposition(disposition: Disposition, filename: &str) -> HeaderValue {
    let kind = match disposition {
        Disposition::Inline => "inline",
        Disposition::Attachment => "attachment",
    };
    let fallback: String = filename
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' && c != '%' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::with_capacity(filename.len() * 3);
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    let value = format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}");
    // Only visible ASCII went in, so this cannot fail; the bare disposition is a safe fallback.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn paths_and_traversal_are_stripped() {
        let pdf = FileKind::Pdf;
        assert_eq!(sanitise_filename("../../etc/passwd", pdf), "passwd.pdf");
        assert_eq!(sanitise_filename(r"C:\Users\a\brief.pdf", pdf), "brief.pdf");
        assert_eq!(sanitise_filename("..", pdf), "document.pdf");
        assert_eq!(sanitise_filename("dir/", pdf), "dir.pdf");
        assert_eq!(sanitise_filename(".htaccess", pdf), "htaccess.pdf");
        assert_eq!(sanitise_filename("", pdf), "document.pdf");
    }

    #[test]
    fn control_and_invisible_characters_are_removed() {
        let pdf = FileKind::Pdf;
        assert_eq!(sanitise_filename("a\0b\nc.pdf", pdf), "abc.pdf");
        // "invoice<U+202E>fdp.exe" shows as "invoiceexe.pdf": the override reverses what follows.
        assert_eq!(
            sanitise_filename("invoice\u{202E}fdp.exe", pdf),
            "invoicefdp.exe.pdf"
        );
        assert_eq!(sanitise_filename("a<b>:c|d?.pdf", pdf), "a_b__c_d_.pdf");
        assert_eq!(
            sanitise_filename("  many   spaces .pdf ", pdf),
            "many spaces.pdf"
        );
    }

    #[test]
    fn the_extension_follows_the_content() {
        assert_eq!(sanitise_filename("photo.JPEG", FileKind::Jpeg), "photo.jpg");
        assert_eq!(
            sanitise_filename("report.exe", FileKind::Pdf),
            "report.exe.pdf"
        );
        assert_eq!(sanitise_filename("notes", FileKind::Text), "notes.txt");
        assert_eq!(
            sanitise_filename("Smith v. Jones", FileKind::Docx),
            "Smith v. Jones.docx"
        );
    }

    #[test]
    fn reserved_windows_names_are_prefixed() {
        assert_eq!(sanitise_filename("CON", FileKind::Text), "_CON.txt");
        assert_eq!(sanitise_filename("con.txt", FileKind::Text), "_con.txt");
        assert_eq!(sanitise_filename("lpt1.pdf", FileKind::Pdf), "_lpt1.pdf");
        assert_eq!(
            sanitise_filename("console.pdf", FileKind::Pdf),
            "console.pdf"
        );
    }

    #[test]
    fn long_names_are_cut_to_the_limit() {
        let long = "é".repeat(500) + ".pdf";
        let name = sanitise_filename(&long, FileKind::Pdf);
        assert_eq!(name.chars().count(), MAX_CHARS);
        assert!(name.ends_with("é.pdf"));
    }

    /// Names a hostile or careless client might send: paths, dots, controls, invisible and
    /// reserved characters, Windows device names and long runs, mixed with anything at all.
    fn hostile_name() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            prop::sample::select(vec![
                "/", "\\", "..", ".", " ", "\0", "\n", "\u{7f}", "\u{85}", "\u{202E}", "\u{200B}",
                "\u{FEFF}", "\u{3000}", ":", "*", "?", "\"", "<", ">", "|", "CON", "lpt1", "nul.",
                ".pdf", ".PDF", ".txt", ".jpeg", ".exe", "é", "𝄞", "a", "report",
            ])
            .prop_map(str::to_owned),
            any::<char>().prop_map(String::from),
            "[a-z .]{1,150}",
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8192))]

        #[test]
        fn sanitised_names_are_harmless(name in hostile_name(), kind in prop::sample::select(FileKind::ALL.to_vec())) {
            let clean = sanitise_filename(&name, kind);
            prop_assert!(!clean.chars().any(|c| c.is_control() || is_invisible(c)), "{clean:?}");
            prop_assert!(!clean.contains(['/', '\\']) && !clean.contains(|c| r#"<>:"|?*"#.contains(c)));
            // One segment, so no `..` component; nor a hidden file, nor a name Windows trims.
            prop_assert!(!clean.starts_with(['.', ' ']) && !clean.ends_with(['.', ' ']));
            prop_assert!(clean.chars().count() <= MAX_CHARS);
            let stem = clean.strip_suffix(kind.extension()).and_then(|s| s.strip_suffix('.'));
            prop_assert!(stem.is_some_and(|stem| !stem.trim().is_empty() && !is_reserved(stem)), "{clean:?}");
            prop_assert_eq!(sanitise_filename(&clean, kind), clean.clone(), "not idempotent for {:?}", name);
            let header = content_disposition(Disposition::Attachment, &clean);
            prop_assert!(header.to_str().is_ok_and(|v| v.starts_with("attachment; filename=")));
        }
    }

    #[test]
    fn non_ascii_names_get_an_ascii_fallback_and_rfc_8187_encoding() {
        let header = content_disposition(Disposition::Attachment, "Schöne Grüße \"1\".pdf");
        assert_eq!(
            header.to_str().expect("ascii"),
            "attachment; filename=\"Sch_ne Gr__e _1_.pdf\"; \
             filename*=UTF-8''Sch%C3%B6ne%20Gr%C3%BC%C3%9Fe%20%221%22.pdf"
        );
        let inline = content_disposition(Disposition::Inline, "scan.png");
        assert_eq!(
            inline.to_str().expect("ascii"),
            "inline; filename=\"scan.png\"; filename*=UTF-8''scan.png"
        );
    }
}
