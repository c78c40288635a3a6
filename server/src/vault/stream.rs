//! The blob format: a STREAM-style chunked AEAD (Hoang, Reyhanitabar, Rogaway, Vizár 2015) over
//! XChaCha20-Poly1305. Pure functions, no I/O.
//!
//! ```text
//! header (24 bytes): magic "DKV1"(4) | format version 1 (1) | nonce prefix (19, random per blob)
//! chunk i:           XChaCha20-Poly1305(data key, nonce, plaintext[i*64 KiB ..][..64 KiB], aad)
//!                    = ciphertext || 16-byte tag
//! nonce (24 bytes):  prefix (19) | i as big-endian u32 (4) | 1 if the last chunk else 0 (1)
//! aad:               "docket/vault/chunk" | format version | the document version's id (16)
//! ```
//!
//! Every chunk but the last holds exactly [`CHUNK_LEN`] plaintext bytes; the last holds 0 to
//! [`CHUNK_LEN`] (an empty file is one empty last chunk), so the layout follows from the plaintext
//! length alone and a range maps to chunks with arithmetic. The counter in the nonce stops
//! reordering, the last-chunk flag stops truncation (a cut stream ends on a chunk sealed as "not
//! last"), and the version id in the AAD stops chunks moving between versions even under one key.

use std::ops::Range;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use uuid::Uuid;

use super::keys::DataKey;

/// Plaintext bytes per chunk.
pub const CHUNK_LEN: usize = 64 * 1024;
/// The Poly1305 tag after each chunk.
pub const TAG_LEN: usize = 16;
/// Ciphertext bytes of a full chunk.
pub const SEALED_CHUNK_LEN: usize = CHUNK_LEN + TAG_LEN;
/// The header before the first chunk.
pub const HEADER_LEN: usize = 24;
const MAGIC: &[u8; 4] = b"DKV1";
const FORMAT_VERSION: u8 = 1;
const PREFIX_LEN: usize = 19;
const AAD_LABEL: &[u8] = b"docket/vault/chunk";

/// Why a blob does not decrypt. Deliberately vague: which check failed is no business of a caller.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("the blob header is not a Docket vault header")]
    Header,
    #[error("a chunk of the blob failed authentication")]
    Authentication,
    #[error("the blob is shorter or longer than its recorded length")]
    Length,
}

impl From<FormatError> for std::io::Error {
    fn from(err: FormatError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, err)
    }
}

/// The parsed blob header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    prefix: [u8; PREFIX_LEN],
}

impl Header {
    fn random() -> Self {
        let mut prefix = [0; PREFIX_LEN];
        rand::rngs::OsRng.fill_bytes(&mut prefix);
        Self { prefix }
    }

    /// The header's bytes.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[..4].copy_from_slice(MAGIC);
        out[4] = FORMAT_VERSION;
        out[5..].copy_from_slice(&self.prefix);
        out
    }

    /// Parses the first [`HEADER_LEN`] bytes of a blob.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.len() != HEADER_LEN || &bytes[..4] != MAGIC || bytes[4] != FORMAT_VERSION {
            return Err(FormatError::Header);
        }
        let mut prefix = [0; PREFIX_LEN];
        prefix.copy_from_slice(&bytes[5..]);
        Ok(Self { prefix })
    }

    fn nonce(&self, index: u64, last: bool) -> Result<XNonce, FormatError> {
        let counter = u32::try_from(index).map_err(|_| FormatError::Length)?;
        let mut nonce = [0; 24];
        nonce[..PREFIX_LEN].copy_from_slice(&self.prefix);
        nonce[PREFIX_LEN..23].copy_from_slice(&counter.to_be_bytes());
        nonce[23] = u8::from(last);
        Ok(nonce.into())
    }
}

fn aad(version_id: Uuid) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + 17);
    aad.extend_from_slice(AAD_LABEL);
    aad.push(FORMAT_VERSION);
    aad.extend_from_slice(version_id.as_bytes());
    aad
}

/// Chunks in a blob of `plaintext_len` bytes (at least one).
pub fn chunk_count(plaintext_len: u64) -> u64 {
    plaintext_len.div_ceil(CHUNK_LEN as u64).max(1)
}

/// Size of the stored blob for `plaintext_len` bytes of plaintext.
pub fn ciphertext_len(plaintext_len: u64) -> u64 {
    HEADER_LEN as u64 + plaintext_len + chunk_count(plaintext_len) * TAG_LEN as u64
}

/// Plaintext bytes in chunk `index` of a blob of `plaintext_len` bytes.
pub fn chunk_plaintext_len(plaintext_len: u64, index: u64) -> usize {
    let start = index * CHUNK_LEN as u64;
    // At most CHUNK_LEN, so the cast cannot truncate.
    plaintext_len.saturating_sub(start).min(CHUNK_LEN as u64) as usize
}

/// Where chunk `index` sits in the blob.
pub fn chunk_ciphertext_range(plaintext_len: u64, index: u64) -> Range<u64> {
    let start = HEADER_LEN as u64 + index * SEALED_CHUNK_LEN as u64;
    start..start + (chunk_plaintext_len(plaintext_len, index) + TAG_LEN) as u64
}

/// What reading a plaintext range takes: chunks `chunks`, found at `ciphertext` in the blob; of
/// their plaintext, skip `skip` bytes and then keep `len`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangePlan {
    pub chunks: Range<u64>,
    pub ciphertext: Range<u64>,
    pub skip: usize,
    pub len: u64,
}

/// Plans reading `range` of a blob of `plaintext_len` bytes; `None` if the range does not lie
/// within the plaintext. An empty range still reads (and so authenticates) one chunk.
pub fn plan_range(plaintext_len: u64, range: Range<u64>) -> Option<RangePlan> {
    if range.start > range.end || range.end > plaintext_len {
        return None;
    }
    let last_index = chunk_count(plaintext_len) - 1;
    let first = (range.start / CHUNK_LEN as u64).min(last_index);
    let last = if range.is_empty() {
        first
    } else {
        (range.end - 1) / CHUNK_LEN as u64
    };
    Some(RangePlan {
        chunks: first..last + 1,
        ciphertext: chunk_ciphertext_range(plaintext_len, first).start
            ..chunk_ciphertext_range(plaintext_len, last).end,
        // Less than CHUNK_LEN once `first` is clamped only when the range is empty at the end.
        skip: (range.start - first * CHUNK_LEN as u64).min(CHUNK_LEN as u64) as usize,
        len: range.end - range.start,
    })
}

/// Decrypts chunk `index` (the last one when `last`) of the blob with `header`.
pub fn decrypt_chunk(
    cipher: &XChaCha20Poly1305,
    version_id: Uuid,
    header: &Header,
    index: u64,
    last: bool,
    sealed: &[u8],
) -> Result<Vec<u8>, FormatError> {
    if sealed.len() < TAG_LEN || sealed.len() > SEALED_CHUNK_LEN {
        return Err(FormatError::Length);
    }
    cipher
        .decrypt(
            &header.nonce(index, last)?,
            Payload {
                msg: sealed,
                aad: &aad(version_id),
            },
        )
        .map_err(|_| FormatError::Authentication)
}

/// The cipher of a data key.
pub fn cipher(key: &DataKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.bytes().into())
}

/// Encrypts a stream incrementally: [`Encryptor::push`] plaintext as it arrives and write out what
/// it returns, then write what [`Encryptor::finish`] returns. Holds back at most one chunk, since a
/// chunk can only be sealed once it is known whether more follows.
pub struct Encryptor {
    cipher: XChaCha20Poly1305,
    header: Header,
    aad: Vec<u8>,
    next_index: u64,
    pending: Vec<u8>,
    header_written: bool,
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryptor")
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

impl Encryptor {
    /// Starts a blob for document version `version_id`, with a fresh random nonce prefix.
    pub fn new(key: &DataKey, version_id: Uuid) -> Self {
        Self {
            cipher: cipher(key),
            header: Header::random(),
            aad: aad(version_id),
            next_index: 0,
            pending: Vec::with_capacity(CHUNK_LEN),
            header_written: false,
        }
    }

    /// Takes more plaintext; returns the ciphertext that is ready (possibly none).
    pub fn push(&mut self, mut plaintext: &[u8]) -> Vec<u8> {
        let mut out = self.take_header();
        while !plaintext.is_empty() {
            if self.pending.len() == CHUNK_LEN {
                // More follows, so the held chunk is not the last.
                self.seal_pending(false, &mut out);
            }
            let take = (CHUNK_LEN - self.pending.len()).min(plaintext.len());
            self.pending.extend_from_slice(&plaintext[..take]);
            plaintext = &plaintext[take..];
        }
        out
    }

    /// Seals the last chunk; returns the rest of the blob.
    pub fn finish(mut self) -> Vec<u8> {
        let mut out = self.take_header();
        self.seal_pending(true, &mut out);
        out
    }

    fn take_header(&mut self) -> Vec<u8> {
        if std::mem::replace(&mut self.header_written, true) {
            Vec::new()
        } else {
            self.header.to_bytes().to_vec()
        }
    }

    fn seal_pending(&mut self, last: bool, out: &mut Vec<u8>) {
        let nonce = self
            .header
            .nonce(self.next_index, last)
            .expect("fewer than 2^32 chunks (256 TiB); callers cap sizes far below");
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: &self.pending,
                    aad: &self.aad,
                },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory data");
        out.extend_from_slice(&sealed);
        zeroize::Zeroize::zeroize(&mut self.pending);
        self.next_index += 1;
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
