//! The document vault: envelope encryption and blob storage. Nothing reaches the disk or the
//! bucket unencrypted.
//!
//! # Keys
//! The server's key-encryption key (KEK, from configuration, see [`crate::keyring`]) wraps one
//! [`MatterKey`] per matter (table `matter_key`, with the KEK's [`Keyring::key_id`] so the KEK can
//! rotate). Each document version gets a fresh [`DataKey`], wrapped by the matter key and stored
//! with the version. [`destroy_matter_key`] wipes the wrapped matter key: from then on no data key
//! of the matter opens, so every blob of the matter is unreadable — crypto-shredding, which also
//! reaches backups of the bucket.
//!
//! # Blobs
//! Content is encrypted in 64 KiB authenticated chunks ([`stream`]), so uploads and downloads
//! stream and a range request decrypts only the chunks it touches. Blobs live under ids only
//! ([`BlobKey::version`]) in a [`BlobStore`]: the local filesystem by default, S3-compatible by
//! configuration.
//!
//! # Use (the documents API)
//! ```ignore
//! // Upload, in the tenant transaction of a user with the documents scope:
//! let matter_key = vault::matter_key(&mut tenant, &state.keyring, matter_id).await?;
//! let (data_key, wrapped) = matter_key.new_data_key(version_id);
//! let key = BlobKey::version(matter_id, version_id);
//! let stored = blobs.put(&key, &data_key, version_id, body, max_len).await?; // PutError -> Error
//! // store `wrapped`, stored.plaintext_len and stored.sha256 with the version row
//!
//! // Download (whole or a range):
//! let data_key = vault::matter_key(&mut tenant, &state.keyring, matter_id).await?
//!     .open_data_key(version_id, &wrapped)?;
//! let body = blobs.get(&key, &data_key, version_id, plaintext_len, Some(0..1024)).await?;
//!
//! // Inspecting a zip (OOXML) without reading it all:
//! let reader = blobs.blocking_reader(&key, &data_key, version_id, plaintext_len, Handle::current());
//! tokio::task::spawn_blocking(move || inspect(reader)).await?;
//! ```
//!
//! # Layout
//! - [`keys`]: [`MatterKey`], [`DataKey`], [`matter_key`], [`destroy_matter_key`].
//! - [`stream`]: the chunk format — pure functions.
//! - [`store`]: [`BlobStore`], [`BlobKey`], [`Stored`], [`PutError`]: encrypting into and
//!   decrypting out of the store.
//! - `backend`: the object stores themselves (local directory, S3) and multipart uploads.
//! - `reader`: [`BlobReader`], the blocking `Read + Seek` view.
//!
//! [`Keyring::key_id`]: crate::keyring::Keyring::key_id

mod backend;
pub mod keys;
mod reader;
pub mod store;
pub mod stream;

pub use keys::{destroy_matter_key, matter_key, rewrap_matter_keys, DataKey, MatterKey};
pub use reader::BlobReader;
pub use store::{BlobKey, BlobStore, PutError, Stored};
