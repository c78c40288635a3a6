//! The object-store plumbing behind [`super::BlobStore`]: which store the configuration names (a
//! local directory, mode 0700, or an S3-compatible bucket through `object_store`), and writing one
//! blob to it, in one request when small or as a multipart upload with a bounded number of parts
//! in flight. It sees only ciphertext; encryption is in [`super::store`].

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path as FsPath;
use std::sync::Arc;

use anyhow::{bail, Context};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use secrecy::ExposeSecret;

use crate::config::Config;

/// Ciphertext buffered before an upload turns multipart; also the part size (S3's minimum is 5 MiB).
pub(super) const PART_LEN: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once: bounds an upload's memory to a few parts.
const PARTS_IN_FLIGHT: usize = 2;

/// The store the configuration names (`DOCKET_BLOB_STORE`); see [`super::BlobStore::from_config`].
pub(super) fn from_config(config: &Config) -> anyhow::Result<Arc<dyn ObjectStore>> {
    Ok(match config.blob_store.as_deref() {
        None => local(&config.data_dir.join("blobs"))?,
        Some(url) => {
            if let Some(path) = url.strip_prefix("file://") {
                if !path.starts_with('/') {
                    bail!("DOCKET_BLOB_STORE={url}: a file:// store needs an absolute path");
                }
                local(FsPath::new(path))?
            } else if let Some(rest) = url.strip_prefix("s3://") {
                s3(config, rest).with_context(|| format!("DOCKET_BLOB_STORE={url}"))?
            } else {
                bail!(
                    "DOCKET_BLOB_STORE={url} is neither file:///absolute/path nor s3://bucket/prefix"
                );
            }
        }
    })
}

fn local(dir: &FsPath) -> anyhow::Result<Arc<dyn ObjectStore>> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating the blob directory {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restricting the blob directory {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolving the blob directory {}", dir.display()))?;
    Ok(Arc::new(LocalFileSystem::new_with_prefix(dir)?))
}

fn s3(config: &Config, bucket_and_prefix: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let (bucket, prefix) = bucket_and_prefix
        .split_once('/')
        .unwrap_or((bucket_and_prefix, ""));
    if bucket.is_empty() {
        bail!("an s3:// store needs a bucket name");
    }
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(&config.s3_region)
        .with_allow_http(config.s3_allow_http);
    if let Some(endpoint) = &config.s3_endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    match (&config.s3_access_key_id, &config.s3_secret_access_key) {
        (Some(id), Some(secret)) => {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose_secret());
        }
        (None, None) => {} // the instance's role
        _ => bail!("set both DOCKET_S3_ACCESS_KEY_ID and DOCKET_S3_SECRET_ACCESS_KEY, or neither"),
    }
    let store = builder.build()?;
    let prefix = prefix.trim_matches('/');
    Ok(if prefix.is_empty() {
        Arc::new(store)
    } else {
        Arc::new(PrefixStore::new(store, prefix))
    })
}

/// An upload in progress: buffered until it outgrows one part, then multipart.
pub(super) enum Upload {
    Buffering(Vec<u8>),
    Multipart(WriteMultipart),
}

impl Upload {
    pub(super) async fn write(
        &mut self,
        store: &Arc<dyn ObjectStore>,
        path: &Path,
        ciphertext: Vec<u8>,
    ) -> Result<(), object_store::Error> {
        match self {
            Self::Buffering(buffer) => {
                buffer.extend_from_slice(&ciphertext);
                if buffer.len() > PART_LEN {
                    let buffered = std::mem::take(buffer);
                    let mut parts = WriteMultipart::new_with_chunk_size(
                        store.put_multipart(path).await?,
                        PART_LEN,
                    );
                    parts.put(buffered.into());
                    *self = Self::Multipart(parts);
                }
            }
            Self::Multipart(parts) => {
                parts.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                parts.put(ciphertext.into());
            }
        }
        Ok(())
    }

    pub(super) async fn finish(
        self,
        store: &Arc<dyn ObjectStore>,
        path: &Path,
    ) -> Result<(), object_store::Error> {
        match self {
            Self::Buffering(buffer) => store.put(path, PutPayload::from(buffer)).await.map(drop),
            Self::Multipart(parts) => parts.finish().await.map(drop),
        }
    }

    pub(super) async fn abort(self) {
        if let Self::Multipart(parts) = self {
            if let Err(err) = parts.abort().await {
                tracing::warn!(error = %err, "aborting a multipart upload");
            }
        }
    }
}
