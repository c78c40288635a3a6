//! The document-management system's mirror: it pushes versions by its own id and number, and
//! the same pair again changes nothing. The DMS calls as its service account (scope `dms`), never
//! as a person: its versions are recorded as uploaded by that account, audited under its name,
//! and start internal, for the firm to review and publish like any other.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use docket_protocol::documents::{Category, DmsParams, Document, VersionState};
use docket_protocol::ids::{DocumentId, MatterId, UserId};
use docket_protocol::text::Text;
use serde_json::json;
use uuid::Uuid;

use super::ingest::ingest;
use super::rows::{self, to_document, DocumentRow, VersionRow};
use super::rows::{insert_version, NewVersion};
use super::upload::{record_or_discard, title_from};
use super::ErrorResponses;
use crate::access::{self, Action};
use crate::audit::{self, AuditRecord};
use crate::db::Tenant;
use crate::error::{Json, Path, Query};
use crate::integrations::Service;
use crate::startup::AppState;
use crate::{Error, Result};

/// The DMS pushes version `external_version` of its document `external_id`. Idempotent: the same
/// pair again returns what is already here (200) without storing anything twice.
#[utoipa::path(put, path = "/api/v1/matters/{matter_id}/dms/{external_id}/versions/{external_version}", tag = "documents",
    params(("matter_id" = MatterId, Path), ("external_id" = String, Path), ("external_version" = u32, Path), DmsParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    security(("service_token" = [])),
    responses((status = 200, body = Document), (status = 201, body = Document),
              (status = 401, description = "no service token, or a revoked or expired one", body = ErrorResponses),
              (status = 403, description = "a person's session, or an account without the dms scope", body = ErrorResponses),
              (status = 404, body = ErrorResponses),
              (status = 409, description = "conflict: the DMS pushed the same version twice at once", body = ErrorResponses),
              (status = 413, body = ErrorResponses), (status = 422, description = "file_refused, invalid_input", body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(service_id = %service.service_id, matter_id = %matter_id))]
pub async fn dms_push(
    State(app): State<AppState>,
    service: Service,
    Path((matter_id, external_id, external_version)): Path<(MatterId, String, u32)>,
    Query(params): Query<DmsParams>,
    body: Body,
) -> Result<(StatusCode, Json<Document>)> {
    let external_id =
        Text::new(external_id).map_err(|e| Error::InvalidInput(format!("external_id: {e}")))?;
    // Versions are stored as a Postgres `int`: refuse what does not fit rather than wrap it.
    if external_id.is_empty()
        || external_id.chars().count() > 200
        || external_version == 0
        || i32::try_from(external_version).is_err()
    {
        return Err(Error::InvalidInput(
            "The DMS id is 1 to 200 characters and versions count from 1.".into(),
        ));
    }
    let title = title_from(Some(&params.title), &params.filename)?;
    let already = already_pushed(&app, &service, matter_id, &external_id, external_version).await?;
    if let Some(document) = already {
        return Ok((StatusCode::OK, Json(document)));
    }
    let version_id = Uuid::now_v7();
    let ingested = ingest(&app, &service.ctx, matter_id, version_id, body).await?;
    let at = app.clock.now();
    let me = service.service_id;
    let document = record_or_discard(&app, &ingested, async {
        let mut tenant = service.tenant(&app).await?;
        access::matter(
            &mut tenant,
            &service.actor,
            matter_id,
            Action::PushDocuments,
        )
        .await?;
        let document_id = dms_document_or_new(
            &mut tenant,
            matter_id,
            &external_id,
            (&title, params.category),
            me,
            at,
        )
        .await?;
        let (_, versions) = pushed(&mut tenant, DocumentId(document_id)).await?;
        let number = versions.iter().map(|v| v.number).max().unwrap_or(0) + 1;
        insert_version(
            &mut tenant,
            &NewVersion {
                document_id,
                matter_id,
                version_id,
                number,
                state: VersionState::Internal,
                origin: "dms",
                external_version: Some(external_version as i32),
                filename: &params.filename,
                ingested: &ingested,
                uploaded_by: me,
                at,
            },
        )
        .await
        .map_err(|e| match e {
            Error::Database(db) if is_constraint(&db, "document_version_external_key") => {
                Error::Conflict(
                    "The DMS pushed this version twice at the same moment; retry.".into(),
                )
            }
            other => other,
        })?;
        audit::record(
            &mut tenant,
            AuditRecord::new("document.dms_synced")
                .matter(matter_id)
                .target("document", document_id)
                .detail(
                    json!({ "external_id": external_id, "external_version": external_version,
                                "version": number, "size": ingested.stored.plaintext_len }),
                ),
        )
        .await?;
        let (doc, versions) = pushed(&mut tenant, DocumentId(document_id)).await?;
        let document = to_document(&doc, &versions, true)?.ok_or(Error::NotFound)?;
        tenant.commit().await?;
        Ok(document)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(document)))
}

/// What is here already when the DMS pushes a pair it pushed before (after checking the account
/// may push to the matter).
async fn already_pushed(
    app: &AppState,
    service: &Service,
    matter_id: MatterId,
    external_id: &str,
    external_version: u32,
) -> Result<Option<Document>> {
    let mut tenant = service.tenant(app).await?;
    access::matter(
        &mut tenant,
        &service.actor,
        matter_id,
        Action::PushDocuments,
    )
    .await?;
    let mut answer = None;
    if let Some(document_id) = dms_document(&mut tenant, matter_id, external_id).await? {
        let (doc, versions) = pushed(&mut tenant, DocumentId(document_id)).await?;
        if versions
            .iter()
            .any(|v| v.external_version == Some(external_version as i32))
        {
            answer = to_document(&doc, &versions, true)?;
        }
    }
    tenant.commit().await?;
    Ok(answer)
}

/// The portal's document for the DMS's `external_id`, created on its first push.
async fn dms_document_or_new(
    tenant: &mut Tenant,
    matter_id: MatterId,
    external_id: &str,
    (title, category): (&str, Category),
    by: UserId,
    at: time::OffsetDateTime,
) -> Result<Uuid> {
    if let Some(id) = dms_document(tenant, matter_id, external_id).await? {
        return Ok(id);
    }
    let id = Uuid::now_v7();
    sqlx::query!(
        r#"insert into document (document_id, matter_id, title, category, external_id, created_by, created_at)
           values ($1, $2, $3, $4, $5, $6, $7)"#,
        id,
        matter_id.0,
        title,
        category.as_str(),
        external_id,
        by.0,
        at,
    )
    .execute(tenant.conn())
    .await
    .map_err(Error::on_constraint(
        "document_external_key",
        "The DMS pushed this document twice at the same moment; retry.",
    ))?;
    Ok(id)
}

/// A document of a matter the DMS may push to, with all its versions (the firm's view: the push
/// was authorised on the matter, and row-level security admits the account's matters only).
async fn pushed(
    tenant: &mut Tenant,
    document_id: DocumentId,
) -> Result<(DocumentRow, Vec<VersionRow>)> {
    let doc = rows::documents(tenant, None, Some(&[document_id.0]))
        .await?
        .pop()
        .ok_or(Error::NotFound)?;
    let versions = rows::versions(tenant, &[doc.document_id]).await?;
    Ok((doc, versions))
}

fn is_constraint(err: &sqlx::Error, name: &str) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.constraint() == Some(name))
}

async fn dms_document(
    tenant: &mut Tenant,
    matter_id: MatterId,
    external_id: &str,
) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar!(
        "select document_id from document where matter_id = $1 and external_id = $2",
        matter_id.0,
        external_id
    )
    .fetch_optional(tenant.conn())
    .await?)
}
