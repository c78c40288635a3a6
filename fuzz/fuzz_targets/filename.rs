//! The file-name sanitiser: whatever the name, the result is one harmless segment of bounded
//! length, ends in the content's extension, is stable when sanitised again, and fits a header.
#![no_main]

use docket_server::intake::{content_disposition, sanitise_filename, Disposition, FileKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, &str)| {
    let (pick, name) = input;
    let kind = FileKind::ALL[usize::from(pick) % FileKind::ALL.len()];
    let clean = sanitise_filename(name, kind);
    assert!(!clean.chars().any(char::is_control), "{clean:?}");
    assert!(
        !clean.contains(['/', '\\', '<', '>', ':', '"', '|', '?', '*']),
        "{clean:?}"
    );
    assert!(
        !clean.starts_with(['.', ' ']) && clean.chars().count() <= 120,
        "{clean:?}"
    );
    let stem = clean
        .strip_suffix(kind.extension())
        .and_then(|s| s.strip_suffix('.'));
    assert!(stem.is_some_and(|s| !s.trim().is_empty()), "{clean:?}");
    assert_eq!(sanitise_filename(&clean, kind), clean, "from {name:?}");
    let header = content_disposition(Disposition::Inline, &clean);
    assert!(header
        .to_str()
        .is_ok_and(|v| v.starts_with("inline; filename=")));
});
