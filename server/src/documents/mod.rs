//! Documents: upload (firm, client, DMS), the review-and-publish lifecycle, versions, listing and
//! download, each act audited. Content goes through [`ingest`] (type checks, malware scan,
//! envelope encryption); rows are written only for clean files, in one transaction with the audit
//! row and, where the client side should know, a card in the matter's channel.
//!
//! Visibility is decided twice: row-level security on `document`/`document_version` (clients see
//! published versions of the categories their scopes reach), and [`crate::access::authorize`]
//! with [`Action::ViewDocument`] on what the database returned.

pub mod content;
pub mod dms;
pub mod financial;
mod ingest;
pub mod lifecycle;
pub mod review;
mod rows;
pub mod upload;

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::{get, post, put};
use axum::Router;
use docket_protocol::documents::{Document, ReviewItem};
use docket_protocol::ids::{DocumentId, MatterId, UserId};
use serde_json::json;
use uuid::Uuid;

use crate::access::{self, authorize, Action, MatterFacts, Resource};
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::channels::store::{self as channel_store, NewEvent};
use crate::db::Tenant;
use crate::error::{Json, Path};
use crate::events::Body;
use crate::startup::AppState;
use crate::{Error, Result};

use self::content::download;
use self::dms::dms_push;
use self::lifecycle::ReviewFacts;
use self::review::{publish, send_back, submit};
use self::rows::{to_document, DocumentRow, VersionRow};
use self::upload::{upload_document, upload_version};

pub(crate) type ErrorResponses = docket_protocol::error::ErrorBody;

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
pub(crate) async fn load(
    tenant: &mut Tenant,
    signed: &Signed,
    document_id: DocumentId,
) -> Result<(DocumentRow, Vec<VersionRow>, MatterFacts)> {
    let doc = rows::documents(tenant, None, Some(&[document_id.0]))
        .await?
        .pop()
        .ok_or(Error::NotFound)?;
    let view = Action::ViewDocument(doc.category()?);
    // A document the actor may not see is as unknown to them as one that does not exist.
    let facts = access::matter(tenant, &signed.actor, MatterId(doc.matter_id), view)
        .await
        .map_err(|e| match e {
            Error::Forbidden => Error::NotFound,
            e => e,
        })?;
    let versions = rows::versions(tenant, &[doc.document_id]).await?;
    Ok((doc, versions, facts))
}

pub(crate) fn wire(
    signed: &Signed,
    doc: &DocumentRow,
    versions: &[VersionRow],
) -> Result<Document> {
    to_document(doc, versions, signed.actor.firm_role().is_some())?.ok_or(Error::NotFound)
}

pub(crate) fn version(versions: &[VersionRow], number: u32) -> Result<&VersionRow> {
    versions
        .iter()
        .find(|v| v.number as u32 == number)
        .ok_or(Error::NotFound)
}

/// The documents of a matter the signed-in user may see, newest first.
#[utoipa::path(get, path = "/api/v1/matters/{matter_id}/documents", tag = "documents",
    params(("matter_id" = MatterId, Path)),
    responses((status = 200, body = Vec<Document>), (status = 404, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn list_documents(
    State(app): State<AppState>,
    signed: Signed,
    Path(matter_id): Path<MatterId>,
) -> Result<Json<Vec<Document>>> {
    let mut tenant = signed.tenant(&app).await?;
    let facts = access::facts(&mut tenant, &signed.actor, matter_id).await?;
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
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
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

/// Appends a document card to the matter's channel (in the caller's transaction; it is published
/// after the commit).
pub(crate) async fn channel_card(
    tenant: &mut Tenant,
    author: UserId,
    version_id: Uuid,
    body: Body,
    matter_id: MatterId,
    at: time::OffsetDateTime,
) -> Result<()> {
    let event = NewEvent {
        matter_id,
        author_id: author,
        device_id: None,
        client_msg_id: version_id,
        body,
    };
    channel_store::append(tenant, &event, at).await?;
    Ok(())
}

/// Versions waiting for review on the matters the firm user sees, oldest first.
#[utoipa::path(get, path = "/api/v1/documents/review-queue", tag = "documents",
    responses((status = 200, body = Vec<ReviewItem>), (status = 403, body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn review_queue(
    State(app): State<AppState>,
    signed: Signed,
) -> Result<Json<Vec<ReviewItem>>> {
    if signed.actor.firm_role().is_none() {
        return Err(Error::Forbidden);
    }
    let mut tenant = signed.tenant(&app).await?;
    // Four queries whatever the queue's length: what is pending (with its matter and review
    // rule), those documents, their versions, and the policy facts of their matters.
    let pending = sqlx::query!(
        r#"select distinct v.document_id, m.reference, m.title as matter_title, pa.review_four_eyes
           from document_version v join matter m using (matter_id)
           join practice_area pa on pa.practice_area_id = m.practice_area_id
           where v.state = 'pending_review'"#
    )
    .fetch_all(tenant.conn())
    .await?;
    let ids: Vec<Uuid> = pending.iter().map(|p| p.document_id).collect();
    let docs = rows::documents(&mut tenant, None, Some(&ids)).await?;
    let versions = rows::versions(&mut tenant, &ids).await?;
    let mut matter_ids: Vec<MatterId> = docs.iter().map(|d| MatterId(d.matter_id)).collect();
    matter_ids.sort();
    matter_ids.dedup();
    let facts: HashMap<MatterId, MatterFacts> =
        access::facts_of(&mut tenant, &signed.actor, &matter_ids)
            .await?
            .into_iter()
            .collect();
    let mut items = Vec::new();
    for doc in &docs {
        let (Some(facts), Some(row)) = (
            facts.get(&MatterId(doc.matter_id)),
            pending.iter().find(|p| p.document_id == doc.document_id),
        ) else {
            continue;
        };
        let category = doc.category()?;
        if authorize(
            &signed.actor,
            Action::ViewDocument(category),
            Resource::Matter(facts),
        )
        .is_err()
        {
            continue;
        }
        for v in versions
            .iter()
            .filter(|v| v.document_id == doc.document_id && v.state == "pending_review")
        {
            let review = ReviewFacts {
                state: v.state()?,
                submitted_by: v.submitted_by.map(UserId),
                responsible_fee_earner_id: facts.responsible_fee_earner_id,
                four_eyes: row.review_four_eyes,
            };
            let item = ReviewItem {
                matter_id: MatterId(doc.matter_id),
                matter_reference: row.reference.clone(),
                matter_title: row.matter_title.clone(),
                document_id: DocumentId(doc.document_id),
                title: doc.title.clone(),
                category,
                version: v.to_wire(true)?,
                can_publish: lifecycle::may_review(&signed.actor, &review).is_ok(),
            };
            items.push((v.submitted_at, v.version_id, item));
        }
    }
    items.sort_by_key(|(at, id, _)| (*at, *id));
    let items: Vec<ReviewItem> = items.into_iter().map(|(_, _, item)| item).collect();
    audit::record(
        &mut tenant,
        AuditRecord::new("document.review_queue_viewed").detail(json!({ "versions": items.len() })),
    )
    .await?;
    tenant.commit().await?;
    Ok(Json(items))
}
