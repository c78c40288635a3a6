//! The upload pipeline: the request body streams once through the type sniffer, the malware
//! scanner (clamd INSTREAM, when configured) and the encrypting blob writer, all at the same time.
//! Containers (OOXML zips, OLE files) are then checked by reading the stored blob back. Only a
//! clean, allowed file comes out of here; anything else is deleted from the store before the
//! error returns, and no database row is ever written for it (the caller writes the rows).

use std::sync::{Arc, Mutex};

use axum::body::Body;
use bytes::Bytes;
use docket_protocol::ids::MatterId;
use futures_util::{StreamExt, TryStreamExt};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::db::{RequestContext, Tenant};
use crate::intake::{self, FileKind, Refusal, ScanVerdict, Sniffed, Sniffer};
use crate::startup::AppState;
use crate::vault::{self, BlobKey, Stored};
use crate::{Error, Result};

/// A stored, scanned, allowed upload, ready to be recorded as a version.
#[derive(Debug)]
pub struct Ingested {
    pub kind: FileKind,
    pub stored: Stored,
    pub blob_key: BlobKey,
    pub wrapped_data_key: Vec<u8>,
}

fn refused(refusal: &Refusal) -> Error {
    Error::FileRefused {
        reason: refusal.code(),
        message: refusal.message(),
    }
}

/// Streams `body` into the matter's encrypted store as version `version_id`.
pub async fn ingest(
    app: &AppState,
    actor: &RequestContext,
    matter_id: MatterId,
    version_id: Uuid,
    body: Body,
) -> Result<Ingested> {
    let mut tenant = Tenant::begin(&app.pool, &app.outbox, actor.clone()).await?;
    let matter_key = vault::matter_key(&mut tenant, &app.keyring, matter_id).await?;
    tenant.commit().await?;
    let (data_key, wrapped_data_key) = matter_key.new_data_key(version_id);
    let blob_key = BlobKey::version(matter_id, version_id);

    // The scanner reads the same chunks as they stream; a bounded queue keeps it in step.
    let (to_scanner, mut scanner_rx) = mpsc::channel::<Bytes>(4);
    let scanner = match &app.clamd {
        Some(clamd) => {
            let mut session = clamd
                .session()
                .await
                .map_err(|e| Error::Internal(e.context("the malware scanner is unreachable")))?;
            Some(tokio::spawn(async move {
                while let Some(chunk) = scanner_rx.recv().await {
                    session.feed(&chunk).await?;
                }
                session.finish().await
            }))
        }
        None => None,
    };
    let scanning = scanner.is_some().then_some(to_scanner);
    let sniffer = Arc::new(Mutex::new(Some(Sniffer::new())));
    let sniffing = sniffer.clone();
    let body = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .and_then(move |chunk| {
            let scanning = scanning.clone();
            let sniffing = sniffing.clone();
            async move {
                if let Some(sniffer) = sniffing.lock().expect("sniffer lock").as_mut() {
                    sniffer.feed(&chunk);
                }
                if let Some(scanner) = scanning {
                    scanner
                        .send(chunk.clone())
                        .await
                        .map_err(|_| std::io::Error::other("the malware scanner stopped"))?;
                }
                Ok(chunk)
            }
        })
        .boxed();
    let stored = app
        .blobs
        .put(
            &blob_key,
            &data_key,
            version_id,
            body,
            app.config.max_upload_bytes(),
        )
        .await;
    let verdict = match scanner {
        Some(task) => Some(task.await),
        None => None,
    };
    let stored = match stored {
        Ok(stored) => stored,
        Err(vault::PutError::TooLarge { max_len }) => {
            return Err(refused(&Refusal::TooLarge { limit: max_len }));
        }
        Err(err) => return Err(err.into()),
    };
    match check(
        app, &blob_key, &data_key, version_id, &stored, sniffer, verdict,
    )
    .await
    {
        Ok(kind) => Ok(Ingested {
            kind,
            stored,
            blob_key,
            wrapped_data_key,
        }),
        Err(err) => {
            if let Err(cleanup) = app.blobs.delete(&blob_key).await {
                tracing::error!(error = %cleanup, blob = %blob_key, "could not delete a refused upload");
            }
            Err(err)
        }
    }
}

type ScanResult = std::result::Result<anyhow::Result<ScanVerdict>, tokio::task::JoinError>;

/// What the file is, once the scanner and the content checks have spoken.
async fn check(
    app: &AppState,
    blob_key: &BlobKey,
    data_key: &vault::DataKey,
    version_id: Uuid,
    stored: &Stored,
    sniffer: Arc<Mutex<Option<Sniffer>>>,
    verdict: Option<ScanResult>,
) -> Result<FileKind> {
    match verdict {
        None | Some(Ok(Ok(ScanVerdict::Clean))) => {}
        Some(Ok(Ok(ScanVerdict::Infected { signature }))) => {
            tracing::warn!(%signature, "an upload was infected and refused");
            return Err(refused(&Refusal::Malware { signature }));
        }
        Some(Ok(Err(err))) => {
            return Err(Error::Internal(err.context("malware scan failed")));
        }
        Some(Err(join)) => return Err(Error::Internal(anyhow::Error::new(join))),
    }
    let sniffer = sniffer
        .lock()
        .expect("sniffer lock")
        .take()
        .expect("the sniffer is taken once");
    let sniffed = sniffer
        .finish(stored.plaintext_len)
        .map_err(|r| refused(&r))?;
    let container = match sniffed {
        Sniffed::Final(kind) => return Ok(kind),
        Sniffed::Zip | Sniffed::Cfb => sniffed,
    };
    let reader = app.blobs.blocking_reader(
        blob_key,
        data_key,
        version_id,
        stored.plaintext_len,
        tokio::runtime::Handle::current(),
    );
    let verdict = tokio::task::spawn_blocking(move || match container {
        Sniffed::Zip => intake::check_zip(reader, &intake::ZipLimits::default()),
        _ => intake::check_cfb(reader),
    })
    .await
    .map_err(|e| Error::Internal(anyhow::Error::new(e)))?;
    verdict.map_err(|r| refused(&r))
}
