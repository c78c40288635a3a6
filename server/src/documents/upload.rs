//! Uploading: a new document (firm or client), a new version (firm). The file streams through
//! [`super::ingest`]; the rows, audit row, channel card and alert follow in one transaction.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use docket_protocol::auth::{Alert, AlertDetail};
use docket_protocol::documents::{Category, Document, UploadParams, VersionState};
use docket_protocol::ids::{DocumentId, MatterId, UserId};
use serde_json::json;
use uuid::Uuid;

use super::ingest::{ingest, Ingested};
use super::rows::{insert_version, NewVersion};
use super::{channel_card, load, wire, ErrorResponses};
use crate::access::{self, authorize, Action, Resource};
use crate::audit::{self, AuditRecord};
use crate::auth::{alerts, Signed};
use crate::db::Tenant;
use crate::error::{Json, Path, Query};
use crate::events::DocumentCard;
use crate::startup::AppState;
use crate::{Error, Result};

/// Runs `write` in a transaction after a successful ingest; if it fails, the blob goes too.
pub(crate) async fn record_or_discard<T>(
    app: &AppState,
    ingested: &Ingested,
    write: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match write.await {
        Ok(value) => Ok(value),
        Err(err) => {
            if let Err(cleanup) = app.blobs.delete(&ingested.blob_key).await {
                tracing::error!(error = %cleanup, blob = %ingested.blob_key, "could not delete an unrecorded upload");
            }
            Err(err)
        }
    }
}

pub(crate) fn title_from(params_title: Option<&str>, filename: &str) -> Result<String> {
    let title = match params_title {
        Some(t) => t.trim().to_owned(),
        None => {
            let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
            let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
            stem.trim().to_owned()
        }
    };
    if title.is_empty() || title.chars().count() > 300 {
        return Err(Error::InvalidInput(
            "A document title is 1 to 300 characters.".into(),
        ));
    }
    Ok(title)
}

/// Uploads a new document: the body is the file. Firm uploads start `internal`; a client's upload
/// is shared with the firm at once (after scanning), lands in the channel, and is audited.
#[utoipa::path(post, path = "/api/v1/matters/{matter_id}/documents", tag = "documents",
    params(("matter_id" = MatterId, Path), UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Document),
              (status = 403, description = "forbidden: no documents scope, or the matter is closed", body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 413, body = ErrorResponses),
              (status = 422, description = "file_refused, invalid_input", body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn upload_document(
    State(app): State<AppState>,
    signed: Signed,
    Path(matter_id): Path<MatterId>,
    Query(params): Query<UploadParams>,
    body: Body,
) -> Result<(StatusCode, Json<Document>)> {
    let category = params
        .category
        .ok_or_else(|| Error::InvalidInput("Choose a category for the document.".into()))?;
    let title = title_from(params.title.as_deref(), &params.filename)?;
    let client = signed.actor.firm_role().is_none();
    let responsible = authorize_upload(&app, &signed, matter_id, category).await?;
    let new = NewDocument {
        document_id: Uuid::now_v7(),
        version_id: Uuid::now_v7(),
        matter_id,
        title,
        category,
        client,
    };
    let ingested = ingest(&app, &signed.ctx, matter_id, new.version_id, body).await?;
    let at = app.clock.now();
    let document = record_or_discard(&app, &ingested, async {
        let mut tenant = signed.tenant(&app).await?;
        insert_document(&mut tenant, &signed, &new, &params.filename, &ingested, at).await?;
        if client {
            announce_client_upload(&mut tenant, &signed, &new, responsible, at).await?;
        }
        let (doc, versions, _) = load(&mut tenant, &signed, DocumentId(new.document_id)).await?;
        let document = wire(&signed, &doc, &versions)?;
        // The card and the alert leave with the commit, through the outbox.
        tenant.commit().await?;
        Ok(document)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(document)))
}

/// A new document's identity and description, before its rows exist.
struct NewDocument {
    document_id: Uuid,
    version_id: Uuid,
    matter_id: MatterId,
    title: String,
    category: Category,
    /// Uploaded by a client user (so shared at once) rather than the firm.
    client: bool,
}

/// May the actor upload a document of `category` to the matter? Returns the matter's responsible
/// fee earner (whom a client's upload alerts).
async fn authorize_upload(
    app: &AppState,
    signed: &Signed,
    matter_id: MatterId,
    category: Category,
) -> Result<UserId> {
    let mut tenant = signed.tenant(app).await?;
    let facts = access::matter(
        &mut tenant,
        &signed.actor,
        matter_id,
        Action::UploadDocument,
    )
    .await?;
    authorize(
        &signed.actor,
        Action::ViewDocument(category),
        Resource::Matter(&facts),
    )?;
    tenant.commit().await?;
    Ok(facts.responsible_fee_earner_id)
}

/// The document row, its first version and the audit row.
async fn insert_document(
    tenant: &mut Tenant,
    signed: &Signed,
    new: &NewDocument,
    filename: &str,
    ingested: &Ingested,
    at: time::OffsetDateTime,
) -> Result<()> {
    let me = signed.user.user_id;
    sqlx::query!(
        r#"insert into document (document_id, matter_id, title, category, published_number,
               created_by, created_at)
           values ($1, $2, $3, $4, $5, $6, $7)"#,
        new.document_id,
        new.matter_id.0,
        new.title,
        new.category.as_str(),
        new.client.then_some(1),
        me.0,
        at,
    )
    .execute(tenant.conn())
    .await?;
    insert_version(
        tenant,
        &NewVersion {
            document_id: new.document_id,
            matter_id: new.matter_id,
            version_id: new.version_id,
            number: 1,
            state: if new.client {
                VersionState::Published
            } else {
                VersionState::Internal
            },
            origin: if new.client { "client" } else { "firm" },
            external_version: None,
            filename,
            ingested,
            uploaded_by: me,
            at,
        },
    )
    .await?;
    audit::record(
        tenant,
        AuditRecord::new("document.uploaded")
            .matter(new.matter_id)
            .target("document", new.document_id)
            .detail(json!({
                "version": 1, "version_id": new.version_id, "category": new.category.as_str(),
                "kind": ingested.kind.as_str(), "size": ingested.stored.plaintext_len,
                "sha256": data_encoding::HEXLOWER.encode(&ingested.stored.sha256),
            })),
    )
    .await
}

/// A client's upload goes into the channel as a card and alerts the responsible fee earner.
async fn announce_client_upload(
    tenant: &mut Tenant,
    signed: &Signed,
    new: &NewDocument,
    responsible: UserId,
    at: time::OffsetDateTime,
) -> Result<()> {
    let card = DocumentCard {
        document_id: DocumentId(new.document_id),
        version: 1,
        title: new.title.clone(),
        category: new.category,
    };
    channel_card(
        tenant,
        signed.user.user_id,
        new.version_id,
        crate::events::Body::DocumentUploaded(card),
        new.matter_id,
        at,
    )
    .await?;
    alert_responsible(
        tenant,
        responsible,
        signed,
        new.matter_id,
        new.document_id,
        &new.title,
        at,
    )
    .await?;
    Ok(())
}

/// Raises the "a client uploaded" alert for the matter's responsible fee earner.
async fn alert_responsible(
    tenant: &mut Tenant,
    responsible: UserId,
    signed: &Signed,
    matter_id: MatterId,
    document_id: Uuid,
    title: &str,
    at: time::OffsetDateTime,
) -> Result<Alert> {
    let detail = AlertDetail::ClientUpload {
        matter_id,
        document_id: DocumentId(document_id),
        title: title.to_owned(),
        uploaded_by: signed.user.display_name.clone(),
    };
    alerts::raise(tenant, responsible, detail, at).await
}

/// Adds a version to a document (firm users); it starts `internal`.
#[utoipa::path(post, path = "/api/v1/documents/{document_id}/versions", tag = "documents",
    params(("document_id" = DocumentId, Path), UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Document), (status = 403, body = ErrorResponses), (status = 404, body = ErrorResponses),
              (status = 409, description = "conflict: another version was added at the same moment", body = ErrorResponses),
              (status = 413, body = ErrorResponses), (status = 422, description = "file_refused, invalid_input", body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn upload_version(
    State(app): State<AppState>,
    signed: Signed,
    Path(document_id): Path<DocumentId>,
    Query(params): Query<UploadParams>,
    body: Body,
) -> Result<(StatusCode, Json<Document>)> {
    let matter_id = {
        let mut tenant = signed.tenant(&app).await?;
        let (doc, _, facts) = load(&mut tenant, &signed, document_id).await?;
        authorize(
            &signed.actor,
            Action::ManageDocuments,
            Resource::Matter(&facts),
        )?;
        tenant.commit().await?;
        MatterId(doc.matter_id)
    };
    let version_id = Uuid::now_v7();
    let ingested = ingest(&app, &signed.ctx, matter_id, version_id, body).await?;
    let at = app.clock.now();
    let document = record_or_discard(&app, &ingested, async {
        let mut tenant = signed.tenant(&app).await?;
        let (_, versions, _) = load(&mut tenant, &signed, document_id).await?;
        let number = versions.iter().map(|v| v.number).max().unwrap_or(0) + 1;
        insert_version(
            &mut tenant,
            &NewVersion {
                document_id: document_id.0,
                matter_id,
                version_id,
                number,
                state: VersionState::Internal,
                origin: "firm",
                external_version: None,
                filename: &params.filename,
                ingested: &ingested,
                uploaded_by: signed.user.user_id,
                at,
            },
        )
        .await?;
        audit::record(
            &mut tenant,
            AuditRecord::new("document.version_added")
                .matter(matter_id)
                .target("document", document_id)
                .detail(json!({ "version": number, "version_id": version_id,
                                "kind": ingested.kind.as_str(), "size": ingested.stored.plaintext_len })),
        )
        .await?;
        let (doc, versions, _) = load(&mut tenant, &signed, document_id).await?;
        let document = wire(&signed, &doc, &versions)?;
        tenant.commit().await?;
        Ok(document)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(document)))
}
