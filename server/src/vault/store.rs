//! Encrypted blobs in an object store: encrypting as a body streams in, and fetching and
//! decrypting only the chunks a read needs. Only ciphertext (the [`super::stream`] format) is ever
//! handed to the store; which store (the local filesystem by default, an S3-compatible bucket by
//! configuration) and how an upload is written to it is `backend`'s business.

use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use chacha20poly1305::XChaCha20Poly1305;
use docket_protocol::ids::MatterId;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::backend::{self, Upload};
use super::keys::DataKey;
use super::stream::{self, Encryptor, FormatError, Header, HEADER_LEN, TAG_LEN};
use crate::config::Config;
use crate::{Error, Result};

/// Where a blob lives in the store. Made from ids only, never from a file name, so nothing about a
/// document leaks into the bucket's listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobKey(Path);

impl BlobKey {
    /// `matters/{matter_id}/versions/{version_id}`: the blob of one document version.
    pub fn version(matter_id: MatterId, version_id: Uuid) -> Self {
        Self(Path::from(format!(
            "matters/{matter_id}/versions/{version_id}"
        )))
    }

    /// The key as a string (for logs and audit details; it holds no secret).
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`BlobStore::put`] stored: record both with the version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Plaintext bytes (the blob itself is [`stream::ciphertext_len`] of this).
    pub plaintext_len: u64,
    /// SHA-256 of the plaintext, for integrity checks and exports.
    pub sha256: [u8; 32],
}

/// Why [`BlobStore::put`] stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// The body went past the allowed size; reading stopped there.
    #[error("the body is larger than {max_len} bytes")]
    TooLarge { max_len: u64 },
    /// The body could not be read (e.g. the client went away mid-upload).
    #[error("reading the body failed")]
    Body(#[source] std::io::Error),
    /// The object store failed.
    #[error("storing the blob failed")]
    Store(#[from] object_store::Error),
}

impl From<PutError> for Error {
    fn from(err: PutError) -> Self {
        match err {
            PutError::TooLarge { .. } => Error::PayloadTooLarge,
            PutError::Body(_) => Error::InvalidInput("the upload did not complete".into()),
            PutError::Store(e) => Error::Internal(anyhow::Error::new(e).context("blob store")),
        }
    }
}

fn store_error(err: object_store::Error) -> Error {
    match err {
        object_store::Error::NotFound { .. } => Error::NotFound,
        other => Error::Internal(anyhow::Error::new(other).context("blob store")),
    }
}

/// The encrypted blob store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
}

impl BlobStore {
    /// Over any object store (tests use an in-memory one).
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// The store the configuration names (`DOCKET_BLOB_STORE`): `file:///absolute/path`,
    /// `s3://bucket[/prefix]` (with the `DOCKET_S3_*` settings), or by default
    /// `<data_dir>/blobs`. A local directory is created with mode 0700.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            store: backend::from_config(config)?,
        })
    }

    /// Encrypts `body` as it streams and writes it under `key`: one request for a small body,
    /// a multipart upload past [`PART_LEN`](super::backend::PART_LEN). Refuses more than `max_len` plaintext bytes. On any
    /// error nothing is left under `key` (a multipart upload is aborted, a completed object
    /// deleted).
    pub async fn put(
        &self,
        key: &BlobKey,
        data_key: &DataKey,
        version_id: Uuid,
        body: impl Stream<Item = Result<Bytes, std::io::Error>> + Send,
        max_len: u64,
    ) -> Result<Stored, PutError> {
        let mut upload = Upload::Buffering(Vec::new());
        let written = self
            .encrypt_into(&mut upload, key, data_key, version_id, body, max_len)
            .await;
        let result = match written {
            Ok(stored) => match upload.finish(&self.store, &key.0).await {
                Ok(()) => return Ok(stored),
                Err(err) => Err(PutError::Store(err)),
            },
            Err(err) => {
                upload.abort().await;
                Err(err)
            }
        };
        // A failed completion may still have landed (e.g. the answer was lost): remove it.
        match self.store.delete(&key.0).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(err) => tracing::error!(error = %err, blob = %key, "removing a failed upload"),
        }
        result
    }

    async fn encrypt_into(
        &self,
        upload: &mut Upload,
        key: &BlobKey,
        data_key: &DataKey,
        version_id: Uuid,
        body: impl Stream<Item = Result<Bytes, std::io::Error>> + Send,
        max_len: u64,
    ) -> Result<Stored, PutError> {
        let mut body = std::pin::pin!(body);
        let mut encryptor = Encryptor::new(data_key, version_id);
        let mut hasher = Sha256::new();
        let mut plaintext_len = 0u64;
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(PutError::Body)?;
            plaintext_len += piece.len() as u64;
            if plaintext_len > max_len {
                return Err(PutError::TooLarge { max_len });
            }
            hasher.update(&piece);
            upload
                .write(&self.store, &key.0, encryptor.push(&piece))
                .await?;
        }
        upload
            .write(&self.store, &key.0, encryptor.finish())
            .await?;
        Ok(Stored {
            plaintext_len,
            sha256: hasher.finalize().into(),
        })
    }

    /// The plaintext of the blob under `key` — all of it, or `range` — as a stream that fetches
    /// and decrypts only the chunks needed. `plaintext_len` is the length [`BlobStore::put`]
    /// returned. A range outside the plaintext is [`Error::InvalidInput`]; a missing blob
    /// [`Error::NotFound`]. Tampering shows as an `InvalidData` error in the stream.
    pub async fn get(
        &self,
        key: &BlobKey,
        data_key: &DataKey,
        version_id: Uuid,
        plaintext_len: u64,
        range: Option<Range<u64>>,
    ) -> Result<impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static> {
        let range = range.unwrap_or(0..plaintext_len);
        let plan = stream::plan_range(plaintext_len, range)
            .ok_or_else(|| Error::InvalidInput("the range is outside the document".into()))?;
        let header = self
            .store
            .get_range(&key.0, 0..HEADER_LEN as u64)
            .await
            .map_err(store_error)?;
        let header =
            Header::parse(&header).map_err(|e| anyhow::Error::new(e).context(key.to_string()))?;
        let fetched = self
            .store
            .get_opts(
                &key.0,
                GetOptions {
                    range: Some(GetRange::Bounded(plan.ciphertext.clone())),
                    ..Default::default()
                },
            )
            .await
            .map_err(store_error)?;
        if fetched.meta.size != stream::ciphertext_len(plaintext_len) {
            return Err(anyhow::Error::new(FormatError::Length)
                .context(key.to_string())
                .into());
        }
        let state = Decrypting {
            inner: fetched.into_stream(),
            buffer: BytesMut::new(),
            cipher: stream::cipher(data_key),
            header,
            version_id,
            plaintext_len,
            next: plan.chunks.start,
            end: plan.chunks.end,
            skip: plan.skip,
            remaining: plan.len,
        };
        Ok(futures_util::stream::unfold(
            state,
            |mut state| async move {
                match state.next_piece().await {
                    Ok(Some(piece)) => Some((Ok(piece), state)),
                    Ok(None) => None,
                    Err(err) => {
                        state.next = state.end; // nothing after an error
                        Some((Err(err), state))
                    }
                }
            },
        ))
    }

    /// Removes the blob under `key`; removing a missing blob is not an error.
    pub async fn delete(&self, key: &BlobKey) -> Result<()> {
        match self.store.delete(&key.0).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(store_error(err)),
        }
    }

    /// Whether a blob exists under `key`.
    pub async fn exists(&self, key: &BlobKey) -> Result<bool> {
        match self.store.head(&key.0).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(store_error(err)),
        }
    }

    /// A synchronous `Read + Seek` over the plaintext of the blob under `key`, for code that
    /// needs random access (e.g. a zip's central directory) inside `spawn_blocking`. It fetches
    /// and decrypts chunks on demand through `handle`, keeping a few in memory. Must not be used
    /// on a runtime thread (it blocks on `handle`).
    pub fn blocking_reader(
        &self,
        key: &BlobKey,
        data_key: &DataKey,
        version_id: Uuid,
        plaintext_len: u64,
        handle: tokio::runtime::Handle,
    ) -> super::BlobReader {
        super::BlobReader::new(
            self.store.clone(),
            key.0.clone(),
            stream::cipher(data_key),
            version_id,
            plaintext_len,
            handle,
        )
    }
}

/// The state of a [`BlobStore::get`] stream.
struct Decrypting {
    inner: BoxStream<'static, object_store::Result<Bytes>>,
    buffer: BytesMut,
    cipher: XChaCha20Poly1305,
    header: Header,
    version_id: Uuid,
    plaintext_len: u64,
    /// The next chunk to decrypt, and the end of the planned chunks.
    next: u64,
    end: u64,
    /// Plaintext bytes still to skip (in the first chunk) and to hand out.
    skip: usize,
    remaining: u64,
}

impl Decrypting {
    async fn next_piece(&mut self) -> Result<Option<Bytes>, std::io::Error> {
        while self.next < self.end {
            let index = self.next;
            let sealed_len = stream::chunk_plaintext_len(self.plaintext_len, index) + TAG_LEN;
            while self.buffer.len() < sealed_len {
                match self.inner.next().await {
                    Some(piece) => self
                        .buffer
                        .extend_from_slice(&piece.map_err(std::io::Error::other)?),
                    None => return Err(FormatError::Length.into()),
                }
            }
            let sealed = self.buffer.split_to(sealed_len);
            let last = index + 1 == stream::chunk_count(self.plaintext_len);
            let plain = stream::decrypt_chunk(
                &self.cipher,
                self.version_id,
                &self.header,
                index,
                last,
                &sealed,
            )?;
            self.next += 1;
            let start = std::mem::take(&mut self.skip).min(plain.len());
            let take =
                (plain.len() - start).min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
            self.remaining -= take as u64;
            if take > 0 {
                return Ok(Some(Bytes::copy_from_slice(&plain[start..start + take])));
            }
        }
        Ok(None)
    }
}
