//! Bills as documents: the billing system attaches an invoice's PDF, which becomes (a new
//! version of) a `financial` document of the matter, published at once (a bill is meant for the
//! client) and stored through the vault like every other document. Clients with the invoices scope
//! see and download it like any financial document, audited.

use axum::body::Body;
use docket_protocol::documents::{Category, VersionState};
use docket_protocol::ids::{MatterId, UserId};
use serde_json::json;
use uuid::Uuid;

use super::ingest::{ingest, Ingested};
use super::rows::{self, insert_version, NewVersion};
use crate::audit::{self, AuditRecord};
use crate::db::{RequestContext, Tenant};
use crate::intake::FileKind;
use crate::startup::AppState;
use crate::{Error, Result};

/// A bill's PDF, encrypted and stored, not yet recorded.
#[derive(Debug)]
pub struct IngestedPdf {
    version_id: Uuid,
    ingested: Ingested,
}

/// Streams a bill's PDF into the matter's store; anything but a clean PDF is refused and kept
/// nowhere.
pub async fn ingest_pdf(
    app: &AppState,
    ctx: &RequestContext,
    matter_id: MatterId,
    body: Body,
) -> Result<IngestedPdf> {
    let version_id = Uuid::now_v7();
    let ingested = ingest(app, ctx, matter_id, version_id, body).await?;
    if ingested.kind != FileKind::Pdf {
        discard(app, &ingested).await;
        return Err(Error::FileRefused {
            reason: "not_pdf",
            message: "An invoice's document must be a PDF.".into(),
        });
    }
    Ok(IngestedPdf {
        version_id,
        ingested,
    })
}

/// Removes what was stored for an upload that will not be recorded.
pub async fn discard_pdf(app: &AppState, pdf: &IngestedPdf) {
    discard(app, &pdf.ingested).await;
}

async fn discard(app: &AppState, ingested: &Ingested) {
    if let Err(err) = app.blobs.delete(&ingested.blob_key).await {
        tracing::error!(error = %err, blob = %ingested.blob_key, "could not delete an unrecorded upload");
    }
}

/// Records the PDF as the first version of a new financial document, or as the next version of
/// `existing`; `None` when it is the same content as `existing`'s latest version (nothing to do).
pub async fn record_pdf(
    tenant: &mut Tenant,
    matter_id: MatterId,
    existing: Option<Uuid>,
    title: &str,
    pdf: &IngestedPdf,
    by: UserId,
    at: time::OffsetDateTime,
) -> Result<Option<(Uuid, i32)>> {
    let (document_id, number) = match existing {
        Some(document_id) => {
            let versions = rows::versions(tenant, &[document_id]).await?;
            let latest = versions.iter().max_by_key(|v| v.number);
            if latest.is_some_and(|v| v.sha256 == pdf.ingested.stored.sha256) {
                return Ok(None);
            }
            (document_id, latest.map_or(1, |v| v.number + 1))
        }
        None => {
            let document_id = Uuid::now_v7();
            sqlx::query!(
                "insert into document (document_id, matter_id, title, category, published_number, created_by, created_at)
                 values ($1, $2, $3, $4, 1, $5, $6)",
                document_id,
                matter_id.0,
                title,
                Category::Financial.as_str(),
                by.0,
                at,
            )
            .execute(tenant.conn())
            .await?;
            (document_id, 1)
        }
    };
    let filename = format!("{title}.pdf");
    insert_version(
        tenant,
        &NewVersion {
            document_id,
            matter_id,
            version_id: pdf.version_id,
            number,
            state: VersionState::Published,
            origin: "firm",
            external_version: None,
            filename: &filename,
            ingested: &pdf.ingested,
            uploaded_by: by,
            at,
        },
    )
    .await?;
    if number > 1 {
        sqlx::query!(
            "update document set published_number = $2 where document_id = $1",
            document_id,
            number
        )
        .execute(tenant.conn())
        .await?;
    }
    audit::record(
        tenant,
        AuditRecord::new("document.published")
            .matter(matter_id)
            .target("document", document_id)
            .detail(json!({
                "version": number, "version_id": pdf.version_id, "category": "financial",
                "size": pdf.ingested.stored.plaintext_len,
                "sha256": data_encoding::HEXLOWER.encode(&pdf.ingested.stored.sha256),
            })),
    )
    .await?;
    Ok(Some((document_id, number)))
}
