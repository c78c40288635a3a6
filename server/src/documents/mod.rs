//! Documents: upload (firm, client, DMS), the review-and-publish lifecycle, versions, listing and
//! download, each act audited. Content goes through [`ingest`] (type checks, malware scan,
//! envelope encryption); rows are written only for clean files, in one transaction with the audit
//! row and, where the client side should know, a card in the matter's channel.
//!
//! Visibility is decided twice: row-level security on `document`/`document_version` (clients see
//! published versions of the categories their scopes reach), and [`crate::access::authorize`]
//! with [`Action::ViewDocument`] on what the database returned.

pub mod content;
mod ingest;
pub mod lifecycle;
mod rows;

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::Router;
use docket_protocol::auth::{Alert, AlertDetail};
use docket_protocol::channel::ServerFrame;
use docket_protocol::documents::{
    DmsParams, Document, ReviewItem, SendBackRequest, UploadParams, VersionState,
};
use docket_protocol::ids::{AlertId, DocumentId, MatterId, UserId};
use serde_json::json;
use uuid::Uuid;

use crate::access::{authorize, Action, MatterFacts, Resource};
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::channels::store::{self as channel_store, NewEvent, StoredEvent};
use crate::channels::Control;
use crate::db::Tenant;
use crate::error::{Json, Path, Query};
use crate::intake::sanitise_filename;
use crate::startup::AppState;
use crate::{matters, Error, Result};

use self::content::download;
use self::ingest::{ingest, Ingested};
use self::lifecycle::ReviewFacts;
use self::rows::{to_document, DocumentRow, VersionRow};

type ErrorResponses = docket_protocol::error::ErrorBody;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/matters/{matter_id}/documents",
            get(list_documents).post(upload_document),
        )
        .route(
            "/matters/{matter_id}/dms/{external_id}/versions/{external_version}",
            put(dms_push),
        )
        .route("/documents/review-queue", get(review_queue))
        .route("/documents/{document_id}", get(get_document))
        .route("/documents/{document_id}/versions", post(upload_version))
        .route(
            "/documents/{document_id}/versions/{number}/submit",
            post(submit),
        )
        .route(
            "/documents/{document_id}/versions/{number}/publish",
            post(publish),
        )
        .route(
            "/documents/{document_id}/versions/{number}/send-back",
            post(send_back),
        )
        .route(
            "/documents/{document_id}/versions/{number}/content",
            get(download),
        )
}

/// A document and every version the actor may see, checked by the policy as well as the
/// database. `NotFound` when nothing is visible.
async fn load(
    tenant: &mut Tenant,
    signed: &Signed,
    document_id: DocumentId,
) -> Result<(DocumentRow, Vec<VersionRow>, MatterFacts)> {
    let doc = rows::documents(tenant, None, Some(document_id))
        .await?
        .pop()
        .ok_or(Error::NotFound)?;
    let facts = matters::facts(tenant, &signed.actor, MatterId(doc.matter_id)).await?;
    authorize(
        &signed.actor,
        Action::ViewDocument(doc.category()?),
        Resource::Matter(&facts),
    )
    .map_err(|_| Error::NotFound)?;
    let versions = rows::versions(tenant, &[doc.document_id]).await?;
    Ok((doc, versions, facts))
}

fn wire(signed: &Signed, doc: &DocumentRow, versions: &[VersionRow]) -> Result<Document> {
    to_document(doc, versions, signed.actor.firm_role().is_some())?.ok_or(Error::NotFound)
}

fn version(versions: &[VersionRow], number: u32) -> Result<&VersionRow> {
    versions
        .iter()
        .find(|v| v.number as u32 == number)
        .ok_or(Error::NotFound)
}

/// The documents of a matter the signed-in user may see, newest first.
#[utoipa::path(get, path = "/api/v1/matters/{matter_id}/documents", tag = "documents",
    params(("matter_id" = MatterId, Path)),
    responses((status = 200, body = Vec<Document>), (status = 404, body = ErrorResponses)))]
pub async fn list_documents(
    State(app): State<AppState>,
    signed: Signed,
    Path(matter_id): Path<MatterId>,
) -> Result<Json<Vec<Document>>> {
    let mut tenant = signed.tenant(&app).await?;
    let facts = matters::facts(&mut tenant, &signed.actor, matter_id).await?;
    let docs = rows::documents(&mut tenant, Some(matter_id), None).await?;
    let ids: Vec<Uuid> = docs.iter().map(|d| d.document_id).collect();
    let versions = rows::versions(&mut tenant, &ids).await?;
    let mut out = Vec::with_capacity(docs.len());
    for doc in &docs {
        let allowed = authorize(
            &signed.actor,
            Action::ViewDocument(doc.category()?),
            Resource::Matter(&facts),
        );
        if allowed.is_err() {
            tracing::warn!(document_id = %doc.document_id, "row-level security admitted a document the policy refuses");
            continue;
        }
        if let Some(document) = to_document(doc, &versions, signed.actor.firm_role().is_some())? {
            out.push(document);
        }
    }
    audit::record(
        &mut tenant,
        AuditRecord::new("document.listed")
            .matter(matter_id)
            .detail(json!({ "documents": out.len() })),
    )
    .await?;
    tenant.commit().await?;
    Ok(Json(out))
}

/// One document with the versions the user may see.
#[utoipa::path(get, path = "/api/v1/documents/{document_id}", tag = "documents",
    params(("document_id" = DocumentId, Path)),
    responses((status = 200, body = Document), (status = 404, body = ErrorResponses)))]
pub async fn get_document(
    State(app): State<AppState>,
    signed: Signed,
    Path(document_id): Path<DocumentId>,
) -> Result<Json<Document>> {
    let mut tenant = signed.tenant(&app).await?;
    let (doc, versions, _) = load(&mut tenant, &signed, document_id).await?;
    let document = wire(&signed, &doc, &versions)?;
    audit::record(
        &mut tenant,
        AuditRecord::new("document.viewed")
            .matter(MatterId(doc.matter_id))
            .target("document", document_id)
            .detail(json!({ "version": document.current.number })),
    )
    .await?;
    tenant.commit().await?;
    Ok(Json(document))
}

/// What a new version row carries.
struct NewVersion<'a> {
    document_id: Uuid,
    matter_id: MatterId,
    version_id: Uuid,
    number: i32,
    state: VersionState,
    origin: &'static str,
    external_version: Option<i32>,
    filename: &'a str,
    ingested: &'a Ingested,
    uploaded_by: UserId,
    at: time::OffsetDateTime,
}

async fn insert_version(tenant: &mut Tenant, v: &NewVersion<'_>) -> Result<()> {
    let kind = v.ingested.kind;
    sqlx::query!(
        r#"insert into document_version (version_id, document_id, matter_id, number, state, origin,
               external_version, filename, file_kind, media_type, size_bytes, sha256, blob_key,
               wrapped_data_key, uploaded_by, uploaded_at, published_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"#,
        v.version_id,
        v.document_id,
        v.matter_id.0,
        v.number,
        v.state.as_str(),
        v.origin,
        v.external_version,
        sanitise_filename(v.filename, kind),
        kind.as_str(),
        kind.mime(),
        v.ingested.stored.plaintext_len as i64,
        &v.ingested.stored.sha256[..],
        v.ingested.blob_key.as_str(),
        v.ingested.wrapped_data_key,
        v.uploaded_by.0,
        v.at,
        (v.state == VersionState::Published).then_some(v.at),
    )
    .execute(tenant.conn())
    .await
    .map_err(Error::on_constraint(
        "document_version_number_key",
        "Another version was added at the same moment; try again.",
    ))?;
    Ok(())
}

/// Appends a document card to the matter's channel (in the caller's transaction).
async fn channel_card(
    tenant: &mut Tenant,
    kind: &'static str,
    author: UserId,
    version_id: Uuid,
    body: serde_json::Value,
    matter_id: MatterId,
    at: time::OffsetDateTime,
) -> Result<Vec<StoredEvent>> {
    let event = NewEvent {
        matter_id,
        kind,
        scope: "documents",
        author_id: author,
        device_id: None,
        client_msg_id: version_id,
        body,
    };
    let last = channel_store::allocate(tenant.conn(), &[matter_id.0], &[1]).await?;
    let seq = last.first().map(|(_, seq)| *seq).ok_or(Error::NotFound)?;
    channel_store::insert(tenant.conn(), &[(seq, &event)], at).await
}

/// Runs `write` in a transaction after a successful ingest; if it fails, the blob goes too.
async fn record_or_discard<T>(
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

fn title_from(params_title: Option<&str>, filename: &str) -> Result<String> {
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
    responses((status = 201, body = Document), (status = 404, body = ErrorResponses),
              (status = 413, body = ErrorResponses), (status = 422, description = "file_refused", body = ErrorResponses)))]
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
    let responsible = {
        let mut tenant = signed.tenant(&app).await?;
        let facts = matters::facts(&mut tenant, &signed.actor, matter_id).await?;
        authorize(
            &signed.actor,
            Action::UploadDocument,
            Resource::Matter(&facts),
        )?;
        authorize(
            &signed.actor,
            Action::ViewDocument(category),
            Resource::Matter(&facts),
        )?;
        tenant.commit().await?;
        facts.responsible_fee_earner_id
    };
    let document_id = Uuid::now_v7();
    let version_id = Uuid::now_v7();
    let ingested = ingest(&app, &signed, matter_id, version_id, body).await?;
    let at = app.clock.now();
    let me = signed.user.user_id;
    let (document, events, alert) = record_or_discard(&app, &ingested, async {
        let mut tenant = signed.tenant(&app).await?;
        sqlx::query!(
            r#"insert into document (document_id, matter_id, title, category, published_number,
                   created_by, created_at)
               values ($1, $2, $3, $4, $5, $6, $7)"#,
            document_id,
            matter_id.0,
            title,
            category.as_str(),
            client.then_some(1),
            me.0,
            at,
        )
        .execute(tenant.conn())
        .await?;
        insert_version(
            &mut tenant,
            &NewVersion {
                document_id,
                matter_id,
                version_id,
                number: 1,
                state: if client {
                    VersionState::Published
                } else {
                    VersionState::Internal
                },
                origin: if client { "client" } else { "firm" },
                external_version: None,
                filename: &params.filename,
                ingested: &ingested,
                uploaded_by: me,
                at,
            },
        )
        .await?;
        audit::record(
            &mut tenant,
            AuditRecord::new("document.uploaded")
                .matter(matter_id)
                .target("document", document_id)
                .detail(json!({
                    "version": 1, "version_id": version_id, "category": category.as_str(),
                    "kind": ingested.kind.as_str(), "size": ingested.stored.plaintext_len,
                    "sha256": data_encoding::HEXLOWER.encode(&ingested.stored.sha256),
                })),
        )
        .await?;
        let events = if client {
            channel_card(
                &mut tenant,
                "document_uploaded",
                me,
                version_id,
                json!({ "document_id": document_id, "version": 1, "title": title, "category": category.as_str() }),
                matter_id,
                at,
            )
            .await?
        } else {
            Vec::new()
        };
        let alert = if client {
            Some(alert_responsible(&mut tenant, responsible, &signed, matter_id, document_id, &title, at).await?)
        } else {
            None
        };
        let (doc, versions, _) = load(&mut tenant, &signed, DocumentId(document_id)).await?;
        let document = wire(&signed, &doc, &versions)?;
        tenant.commit().await?;
        Ok((document, events, alert))
    })
    .await?;
    app.channels.hub.publish_events(&events).await;
    if let Some(alert) = alert {
        let frame = serde_json::to_string(&ServerFrame::Alert { alert })
            .map_err(|e| Error::Internal(e.into()))?;
        app.channels
            .hub
            .control(Control::Alert {
                user_id: responsible,
                frame,
            })
            .await;
    }
    Ok((StatusCode::CREATED, Json(document)))
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
    let alert = Alert {
        alert_id: AlertId::new(),
        created_at: at,
        read: false,
        detail: AlertDetail::ClientUpload {
            matter_id,
            document_id: DocumentId(document_id),
            title: title.to_owned(),
            uploaded_by: signed.user.display_name.clone(),
        },
    };
    sqlx::query!(
        "insert into user_alert (alert_id, user_id, kind, body, created_at) values ($1, $2, 'client_upload', $3, $4)",
        alert.alert_id.0,
        responsible.0,
        serde_json::to_value(&alert.detail).map_err(anyhow::Error::from)?,
        at
    )
    .execute(tenant.conn())
    .await?;
    Ok(alert)
}

/// Adds a version to a document (firm users); it starts `internal`.
#[utoipa::path(post, path = "/api/v1/documents/{document_id}/versions", tag = "documents",
    params(("document_id" = DocumentId, Path), UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Document), (status = 403, body = ErrorResponses), (status = 404, body = ErrorResponses),
              (status = 413, body = ErrorResponses), (status = 422, description = "file_refused", body = ErrorResponses)))]
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
    let ingested = ingest(&app, &signed, matter_id, version_id, body).await?;
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

/// The review facts of one version.
async fn review_facts(
    tenant: &mut Tenant,
    version: &VersionRow,
    facts: &MatterFacts,
) -> Result<ReviewFacts> {
    let four_eyes = sqlx::query_scalar!(
        r#"select pa.review_four_eyes from matter m
           join practice_area pa on pa.practice_area_id = m.practice_area_id
           where m.matter_id = $1"#,
        version.matter_id
    )
    .fetch_one(tenant.conn())
    .await?;
    Ok(ReviewFacts {
        state: version.state()?,
        submitted_by: version.submitted_by.map(UserId),
        responsible_fee_earner_id: facts.responsible_fee_earner_id,
        four_eyes,
    })
}

/// Puts an internal version up for review.
#[utoipa::path(post, path = "/api/v1/documents/{document_id}/versions/{number}/submit", tag = "documents",
    params(("document_id" = DocumentId, Path), ("number" = u32, Path)),
    responses((status = 200, body = Document), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 409, body = ErrorResponses)))]
pub async fn submit(
    State(app): State<AppState>,
    signed: Signed,
    Path((document_id, number)): Path<(DocumentId, u32)>,
) -> Result<Json<Document>> {
    transition(&app, &signed, document_id, number, Transition::Submit).await
}

/// Publishes a version pending review: clients who may see the document now see it.
#[utoipa::path(post, path = "/api/v1/documents/{document_id}/versions/{number}/publish", tag = "documents",
    params(("document_id" = DocumentId, Path), ("number" = u32, Path)),
    responses((status = 200, body = Document), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 409, body = ErrorResponses)))]
pub async fn publish(
    State(app): State<AppState>,
    signed: Signed,
    Path((document_id, number)): Path<(DocumentId, u32)>,
) -> Result<Json<Document>> {
    transition(&app, &signed, document_id, number, Transition::Publish).await
}

/// Sends a version pending review back to the fee earner, with a reason.
#[utoipa::path(post, path = "/api/v1/documents/{document_id}/versions/{number}/send-back", tag = "documents",
    params(("document_id" = DocumentId, Path), ("number" = u32, Path)), request_body = SendBackRequest,
    responses((status = 200, body = Document), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 409, body = ErrorResponses)))]
pub async fn send_back(
    State(app): State<AppState>,
    signed: Signed,
    Path((document_id, number)): Path<(DocumentId, u32)>,
    Json(request): Json<SendBackRequest>,
) -> Result<Json<Document>> {
    let reason = request.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(Error::InvalidInput(
            "Give a reason of 1 to 2,000 characters.".into(),
        ));
    }
    transition(
        &app,
        &signed,
        document_id,
        number,
        Transition::SendBack(reason),
    )
    .await
}

enum Transition {
    Submit,
    Publish,
    SendBack(String),
}

async fn transition(
    app: &AppState,
    signed: &Signed,
    document_id: DocumentId,
    number: u32,
    transition: Transition,
) -> Result<Json<Document>> {
    let mut tenant = signed.tenant(app).await?;
    let (doc, versions, facts) = load(&mut tenant, signed, document_id).await?;
    authorize(
        &signed.actor,
        Action::ManageDocuments,
        Resource::Matter(&facts),
    )?;
    let version = version(&versions, number)?;
    let review = review_facts(&mut tenant, version, &facts).await?;
    let now = app.clock.now();
    let me = signed.user.user_id.0;
    let matter_id = MatterId(doc.matter_id);
    let mut events = Vec::new();
    // Each update re-checks the state it expects, so two reviewers cannot both act.
    let updated = match &transition {
        Transition::Submit => {
            lifecycle::may_submit(&signed.actor, &review)?;
            sqlx::query!(
                "update document_version set state = 'pending_review', submitted_by = $2, submitted_at = $3,
                     sent_back_reason = null
                 where version_id = $1 and state = 'internal'",
                version.version_id, me, now
            )
            .execute(tenant.conn())
            .await?
            .rows_affected()
        }
        Transition::Publish => {
            lifecycle::may_review(&signed.actor, &review)?;
            let n = sqlx::query!(
                "update document_version set state = 'published', reviewed_by = $2, reviewed_at = $3,
                     published_at = $3
                 where version_id = $1 and state = 'pending_review'",
                version.version_id, me, now
            )
            .execute(tenant.conn())
            .await?
            .rows_affected();
            sqlx::query!(
                "update document set published_number = greatest(coalesce(published_number, 0), $2)
                 where document_id = $1",
                doc.document_id,
                version.number
            )
            .execute(tenant.conn())
            .await?;
            events = channel_card(
                &mut tenant,
                "document_published",
                signed.user.user_id,
                version.version_id,
                json!({ "document_id": doc.document_id, "version": version.number,
                        "title": doc.title, "category": doc.category }),
                matter_id,
                now,
            )
            .await?;
            n
        }
        Transition::SendBack(reason) => {
            lifecycle::may_review(&signed.actor, &review)?;
            sqlx::query!(
                "update document_version set state = 'internal', reviewed_by = $2, reviewed_at = $3,
                     sent_back_reason = $4
                 where version_id = $1 and state = 'pending_review'",
                version.version_id, me, now, reason
            )
            .execute(tenant.conn())
            .await?
            .rows_affected()
        }
    };
    if updated != 1 {
        return Err(Error::Conflict(
            "The version changed meanwhile; reload and try again.".into(),
        ));
    }
    let (action, detail) = match &transition {
        Transition::Submit => ("document.submitted", json!({ "version": number })),
        Transition::Publish => ("document.published", json!({ "version": number })),
        Transition::SendBack(reason) => (
            "document.sent_back",
            json!({ "version": number, "reason": reason }),
        ),
    };
    audit::record(
        &mut tenant,
        AuditRecord::new(action)
            .matter(matter_id)
            .target("document", document_id)
            .detail(detail),
    )
    .await?;
    let (doc, versions, _) = load(&mut tenant, signed, document_id).await?;
    let document = wire(signed, &doc, &versions)?;
    tenant.commit().await?;
    app.channels.hub.publish_events(&events).await;
    Ok(Json(document))
}

/// The DMS pushes version `external_version` of its document `external_id`. Idempotent: the same
/// pair again returns what is already here (200) without storing anything twice.
#[utoipa::path(put, path = "/api/v1/matters/{matter_id}/dms/{external_id}/versions/{external_version}", tag = "documents",
    params(("matter_id" = MatterId, Path), ("external_id" = String, Path), ("external_version" = u32, Path), DmsParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Document), (status = 201, body = Document), (status = 403, body = ErrorResponses),
              (status = 404, body = ErrorResponses), (status = 422, description = "file_refused", body = ErrorResponses)))]
pub async fn dms_push(
    State(app): State<AppState>,
    signed: Signed,
    Path((matter_id, external_id, external_version)): Path<(MatterId, String, u32)>,
    Query(params): Query<DmsParams>,
    body: Body,
) -> Result<(StatusCode, Json<Document>)> {
    if external_id.is_empty() || external_id.chars().count() > 200 || external_version == 0 {
        return Err(Error::InvalidInput(
            "The DMS id is 1 to 200 characters and versions count from 1.".into(),
        ));
    }
    let title = title_from(Some(&params.title), &params.filename)?;
    let already = {
        let mut tenant = signed.tenant(&app).await?;
        let facts = matters::facts(&mut tenant, &signed.actor, matter_id).await?;
        authorize(
            &signed.actor,
            Action::ManageDocuments,
            Resource::Matter(&facts),
        )?;
        let mut answer = None;
        if let Some(document_id) = dms_document(&mut tenant, matter_id, &external_id).await? {
            let (doc, versions, _) = load(&mut tenant, &signed, DocumentId(document_id)).await?;
            if versions
                .iter()
                .any(|v| v.external_version == Some(external_version as i32))
            {
                answer = Some(wire(&signed, &doc, &versions)?);
            }
        }
        tenant.commit().await?;
        answer
    };
    if let Some(document) = already {
        return Ok((StatusCode::OK, Json(document)));
    }
    let version_id = Uuid::now_v7();
    let ingested = ingest(&app, &signed, matter_id, version_id, body).await?;
    let at = app.clock.now();
    let me = signed.user.user_id;
    let document = record_or_discard(&app, &ingested, async {
        let mut tenant = signed.tenant(&app).await?;
        let document_id = match dms_document(&mut tenant, matter_id, &external_id).await? {
            Some(id) => id,
            None => {
                let id = Uuid::now_v7();
                sqlx::query!(
                    r#"insert into document (document_id, matter_id, title, category, external_id, created_by, created_at)
                       values ($1, $2, $3, $4, $5, $6, $7)"#,
                    id,
                    matter_id.0,
                    title,
                    params.category.as_str(),
                    external_id,
                    me.0,
                    at,
                )
                .execute(tenant.conn())
                .await
                .map_err(Error::on_constraint(
                    "document_external_key",
                    "The DMS pushed this document twice at the same moment; retry.",
                ))?;
                id
            }
        };
        let (_, versions, _) = load(&mut tenant, &signed, DocumentId(document_id)).await?;
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
                Error::Conflict("The DMS pushed this version twice at the same moment; retry.".into())
            }
            other => other,
        })?;
        audit::record(
            &mut tenant,
            AuditRecord::new("document.dms_synced")
                .matter(matter_id)
                .target("document", document_id)
                .detail(json!({ "external_id": external_id, "external_version": external_version,
                                "version": number, "size": ingested.stored.plaintext_len })),
        )
        .await?;
        let (doc, versions, _) = load(&mut tenant, &signed, DocumentId(document_id)).await?;
        let document = wire(&signed, &doc, &versions)?;
        tenant.commit().await?;
        Ok(document)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(document)))
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

/// Versions waiting for review on the matters the firm user sees, oldest first.
#[utoipa::path(get, path = "/api/v1/documents/review-queue", tag = "documents",
    responses((status = 200, body = Vec<ReviewItem>), (status = 403, body = ErrorResponses)))]
pub async fn review_queue(
    State(app): State<AppState>,
    signed: Signed,
) -> Result<Json<Vec<ReviewItem>>> {
    if signed.actor.firm_role().is_none() {
        return Err(Error::Forbidden);
    }
    let mut tenant = signed.tenant(&app).await?;
    let pending = sqlx::query!(
        r#"select v.document_id, m.reference, m.title as matter_title
           from document_version v join matter m using (matter_id)
           where v.state = 'pending_review'
           order by v.submitted_at, v.version_id"#
    )
    .fetch_all(tenant.conn())
    .await?;
    let mut items = Vec::new();
    for row in pending {
        let (doc, versions, facts) =
            load(&mut tenant, &signed, DocumentId(row.document_id)).await?;
        for v in versions.iter().filter(|v| v.state == "pending_review") {
            let review = review_facts(&mut tenant, v, &facts).await?;
            items.push(ReviewItem {
                matter_id: MatterId(doc.matter_id),
                matter_reference: row.reference.clone(),
                matter_title: row.matter_title.clone(),
                document_id: DocumentId(doc.document_id),
                title: doc.title.clone(),
                category: doc.category()?,
                version: v.to_wire(true)?,
                can_publish: lifecycle::may_review(&signed.actor, &review).is_ok(),
            });
        }
    }
    items.dedup_by(|a, b| a.version.version_id == b.version.version_id);
    tenant.commit().await?;
    Ok(Json(items))
}
