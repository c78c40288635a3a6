//! ZIP containers: a Word, Excel or PowerPoint document (OOXML) without macros, or refused.
//!
//! Two passes. The central directory first, which costs little to read: encrypted entries,
//! declared sizes and ratios, entries that share compressed data, whether it is OOXML at all. Then
//! every entry is decompressed once, counting what actually comes out (a header may lie about
//! sizes), capped by the limits, and its first bytes checked for programs, archives and packaged
//! OLE objects inside the document.

use std::io::{Cursor, Read, Seek};

use zip::ZipArchive;

use super::sniff::{is_archive, is_executable};
use super::{ole, FileKind, Refusal};

/// Bounds on what a ZIP may expand to.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Most bytes all entries together may expand to (default 1 GiB).
    pub max_total_uncompressed: u64,
    /// Highest expansion ratio (uncompressed / compressed) of one entry (default 100)...
    pub max_ratio: u64,
    /// ...counted only for entries expanding to at least this many bytes (default 1 MiB): small
    /// runs of XML compress far better than 100:1 and are harmless.
    pub ratio_min_size: u64,
    /// Most entries (default 10,000).
    pub max_entries: usize,
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self {
            max_total_uncompressed: 1024 * 1024 * 1024,
            max_ratio: 100,
            ratio_min_size: 1024 * 1024,
            max_entries: 10_000,
        }
    }
}

/// Largest embedded document (a chart's workbook inside a presentation) that is opened in memory
/// and checked like the outer one; larger embedded containers are refused.
const MAX_EMBEDDED: u64 = 64 * 1024 * 1024;

/// Checks a ZIP container given random access to its plaintext: OOXML with `[Content_Types].xml`
/// becomes [`FileKind::Docx`]/[`FileKind::Xlsx`]/[`FileKind::Pptx`]; macro-enabled content,
/// encrypted entries, nested archives, packaged OLE objects and decompression bombs are refused;
/// any other ZIP is [`Refusal::Archive`]. Blocking and CPU-bound: call it from `spawn_blocking`.
pub fn check_zip<R: Read + Seek>(reader: R, limits: &ZipLimits) -> Result<FileKind, Refusal> {
    let mut budget = limits.max_total_uncompressed;
    check(reader, limits, &mut budget, false)
}

/// `budget` is what may still be decompressed, shared with the outer document when `embedded`.
fn check<R: Read + Seek>(
    reader: R,
    limits: &ZipLimits,
    budget: &mut u64,
    embedded: bool,
) -> Result<FileKind, Refusal> {
    let mut archive = ZipArchive::new(reader).map_err(|_| Refusal::UnknownType)?;
    if archive.len() > limits.max_entries {
        return Err(Refusal::DecompressionBomb);
    }
    check_directory(&mut archive, limits, *budget)?;
    // Entries sharing compressed data (the "better zip bomb") each pass the ratio check while the
    // file as a whole inflates thousands of times over; no Office package shares data.
    if archive
        .has_overlapping_files()
        .map_err(|_| Refusal::UnknownType)?
    {
        return Err(Refusal::DecompressionBomb);
    }
    if archive.index_for_name("[Content_Types].xml").is_none() {
        return Err(if embedded {
            Refusal::NestedArchive
        } else {
            Refusal::Archive
        });
    }
    let kind = document_kind(&mut archive)?;
    for index in 0..archive.len() {
        check_entry(&mut archive, index, limits, budget, embedded)?;
    }
    Ok(kind)
}

/// The central directory alone: encryption, declared sizes and ratios, macro part names.
fn check_directory<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    limits: &ZipLimits,
    budget: u64,
) -> Result<(), Refusal> {
    let mut declared: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|_| Refusal::UnknownType)?;
        if entry.encrypted() {
            return Err(Refusal::Encrypted);
        }
        declared = declared.saturating_add(entry.size());
        if declared > budget || too_compressed(entry.size(), entry.compressed_size(), limits) {
            return Err(Refusal::DecompressionBomb);
        }
        let name = entry.name().to_ascii_lowercase();
        if name.ends_with("vbaproject.bin") || name.ends_with("vbadata.xml") {
            return Err(Refusal::MacroEnabled);
        }
        // ActiveX controls are programs the document asks Office to run.
        if name.contains("/activex/") {
            return Err(Refusal::MacroEnabled);
        }
    }
    Ok(())
}

fn too_compressed(size: u64, compressed: u64, limits: &ZipLimits) -> bool {
    size >= limits.ratio_min_size && size / compressed.max(1) > limits.max_ratio
}

/// The main part's content type, from `[Content_Types].xml`.
fn document_kind<R: Read + Seek>(archive: &mut ZipArchive<R>) -> Result<FileKind, Refusal> {
    let mut xml = String::new();
    archive
        .by_name("[Content_Types].xml")
        .map_err(|_| Refusal::UnknownType)?
        .take(1024 * 1024)
        .read_to_string(&mut xml)
        .map_err(|_| Refusal::UnknownType)?;
    let xml = xml.to_ascii_lowercase();
    if xml.contains("macroenabled") || xml.contains("vbaproject") {
        return Err(Refusal::MacroEnabled);
    }
    let main_parts = [
        ("wordprocessingml.document.main+xml", FileKind::Docx),
        ("spreadsheetml.sheet.main+xml", FileKind::Xlsx),
        ("presentationml.presentation.main+xml", FileKind::Pptx),
    ];
    main_parts
        .into_iter()
        .find(|(content_type, _)| xml.contains(content_type))
        .map(|(_, kind)| kind)
        .ok_or(Refusal::UnknownType)
}

/// Decompresses one entry, counting what comes out against the budget and the declared size.
fn check_entry<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    index: usize,
    limits: &ZipLimits,
    budget: &mut u64,
    embedded: bool,
) -> Result<(), Refusal> {
    let mut entry = archive.by_index(index).map_err(|_| Refusal::UnknownType)?;
    let declared = entry.size();
    let compressed = entry.compressed_size();
    let keep = !embedded && entry.name().to_ascii_lowercase().contains("embeddings/");
    // One byte past what is allowed tells a lie about the size, or a bomb, from a fit.
    let cap = declared.min(*budget).saturating_add(1);
    let mut limited = (&mut entry).take(cap);
    let mut head = [0u8; 8];
    let mut head_len = 0;
    let mut kept = Vec::new();
    let mut actual: u64 = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = limited.read(&mut chunk).map_err(|_| Refusal::UnknownType)?;
        if n == 0 {
            break;
        }
        let take = (head.len() - head_len).min(n);
        head[head_len..head_len + take].copy_from_slice(&chunk[..take]);
        head_len += take;
        if keep && actual < MAX_EMBEDDED {
            kept.extend_from_slice(&chunk[..n]);
        }
        actual += n as u64;
    }
    if actual > declared || actual > *budget || too_compressed(actual, compressed, limits) {
        return Err(Refusal::DecompressionBomb);
    }
    *budget -= actual;
    let head = &head[..head_len];
    if is_executable(head) {
        return Err(Refusal::Executable);
    }
    let zip = head.starts_with(b"PK\x03\x04");
    let cfb = head.starts_with(&ole::CFB_MAGIC);
    if is_archive(head) || ((zip || cfb) && (!keep || actual > MAX_EMBEDDED)) {
        return Err(Refusal::NestedArchive);
    }
    if zip {
        check(Cursor::new(kept), limits, budget, true).map_err(|refusal| match refusal {
            Refusal::Archive => Refusal::NestedArchive,
            other => other,
        })?;
    } else if cfb {
        ole::check_embedded(Cursor::new(kept))?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "ooxml_tests.rs"]
mod tests;
