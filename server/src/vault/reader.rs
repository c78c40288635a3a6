//! A synchronous, seekable plaintext view of a stored blob, for blocking code (zip inspection in
//! `spawn_blocking`). Chunks are fetched and decrypted on demand; a few are cached, since a zip
//! reader jumps between the end of the file and a handful of local headers.

use std::collections::VecDeque;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use chacha20poly1305::XChaCha20Poly1305;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::stream::{self, Header, CHUNK_LEN, HEADER_LEN};

/// Decrypted chunks kept in memory (at most 256 KiB of plaintext).
const CACHED_CHUNKS: usize = 4;

/// `Read + Seek` over a blob's plaintext; made by [`super::BlobStore::blocking_reader`].
pub struct BlobReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    cipher: XChaCha20Poly1305,
    version_id: Uuid,
    plaintext_len: u64,
    handle: tokio::runtime::Handle,
    header: Option<Header>,
    position: u64,
    /// Recently used chunks, most recent last; zeroised when dropped.
    cache: VecDeque<(u64, Zeroizing<Vec<u8>>)>,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader")
            .field("path", &self.path)
            .field("plaintext_len", &self.plaintext_len)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl BlobReader {
    pub(super) fn new(
        store: Arc<dyn ObjectStore>,
        path: Path,
        cipher: XChaCha20Poly1305,
        version_id: Uuid,
        plaintext_len: u64,
        handle: tokio::runtime::Handle,
    ) -> Self {
        Self {
            store,
            path,
            cipher,
            version_id,
            plaintext_len,
            handle,
            header: None,
            position: 0,
            cache: VecDeque::with_capacity(CACHED_CHUNKS),
        }
    }

    fn fetch(&self, range: std::ops::Range<u64>) -> io::Result<bytes::Bytes> {
        let fetched = self
            .handle
            .block_on(self.store.get_range(&self.path, range.clone()))
            .map_err(io::Error::other)?;
        if fetched.len() as u64 != range.end - range.start {
            return Err(stream::FormatError::Length.into());
        }
        Ok(fetched)
    }

    /// The decrypted chunk `index`, from the cache or the store.
    fn chunk(&mut self, index: u64) -> io::Result<&[u8]> {
        if let Some(at) = self.cache.iter().position(|(i, _)| *i == index) {
            let entry = self.cache.remove(at).expect("position is in range");
            self.cache.push_back(entry);
        } else {
            let header = match self.header {
                Some(header) => header,
                None => {
                    let header = Header::parse(&self.fetch(0..HEADER_LEN as u64)?)?;
                    *self.header.insert(header)
                }
            };
            let sealed = self.fetch(stream::chunk_ciphertext_range(self.plaintext_len, index))?;
            let last = index + 1 == stream::chunk_count(self.plaintext_len);
            let plain = stream::decrypt_chunk(
                &self.cipher,
                self.version_id,
                &header,
                index,
                last,
                &sealed,
            )?;
            if self.cache.len() == CACHED_CHUNKS {
                self.cache.pop_front();
            }
            self.cache.push_back((index, Zeroizing::new(plain)));
        }
        Ok(&self.cache.back().expect("just pushed").1)
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.position >= self.plaintext_len || buf.is_empty() {
            return Ok(0);
        }
        let index = self.position / CHUNK_LEN as u64;
        let offset = (self.position % CHUNK_LEN as u64) as usize;
        let chunk = self.chunk(index)?;
        let n = buf.len().min(chunk.len().saturating_sub(offset));
        buf[..n].copy_from_slice(&chunk[offset..offset + n]);
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.plaintext_len.checked_add_signed(d),
            SeekFrom::Current(d) => self.position.checked_add_signed(d),
        };
        self.position = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the blob",
            )
        })?;
        Ok(self.position)
    }
}
