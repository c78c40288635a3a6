//! The review steps: submit, publish, send back. Each re-checks the state it expects in its update,
//! so two reviewers cannot both act; publishing posts a card in the matter's channel.

use axum::extract::State;
use docket_protocol::documents::{Document, SendBackRequest};
use docket_protocol::ids::{DocumentId, MatterId, UserId};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::lifecycle::{self, ReviewFacts};
use super::rows::{DocumentRow, VersionRow};
use super::{channel_card, load, version, wire, ErrorResponses};
use crate::access::{authorize, Action, MatterFacts, Resource};
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::db::Tenant;
use crate::error::{Json, Path};
use crate::events::{Body, DocumentCard};
use crate::startup::AppState;
use crate::{Error, Result};

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
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
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
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
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
              (status = 404, body = ErrorResponses), (status = 409, body = ErrorResponses),
              (status = 422, description = "invalid_input: the reason", body = ErrorResponses)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
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
    let matter_id = MatterId(doc.matter_id);
    // Each update re-checks the state it expects, so two reviewers cannot both act.
    let updated = match &transition {
        Transition::Submit => {
            lifecycle::may_submit(&signed.actor, &review)?;
            mark_submitted(&mut tenant, version.version_id, signed.user.user_id, now).await?
        }
        Transition::Publish => {
            lifecycle::may_review(&signed.actor, &review)?;
            mark_published(&mut tenant, &doc, version, signed.user.user_id, now).await?
        }
        Transition::SendBack(reason) => {
            lifecycle::may_review(&signed.actor, &review)?;
            mark_sent_back(
                &mut tenant,
                version.version_id,
                signed.user.user_id,
                now,
                reason,
            )
            .await?
        }
    };
    if matches!(transition, Transition::Publish) && updated == 1 {
        let card = DocumentCard {
            document_id: DocumentId(doc.document_id),
            version: version.number as u32,
            title: doc.title.clone(),
            category: doc.category()?,
        };
        channel_card(
            &mut tenant,
            signed.user.user_id,
            version.version_id,
            Body::DocumentPublished(card),
            matter_id,
            now,
        )
        .await?;
    }
    if updated != 1 {
        return Err(Error::Conflict(
            "The version changed meanwhile; reload and try again.".into(),
        ));
    }
    if matches!(transition, Transition::Submit) {
        notify_reviewer(app, &mut tenant, matter_id, signed.user.user_id, &review).await?;
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
    Ok(Json(document))
}

/// Tells whoever may publish a submitted version that it waits: the responsible fee earner, or,
/// when they submitted it under four-eyes review, the matter's supervising partner.
async fn notify_reviewer(
    app: &AppState,
    tenant: &mut Tenant,
    matter_id: MatterId,
    submitter: UserId,
    review: &lifecycle::ReviewFacts,
) -> Result<()> {
    let reviewer = if review.responsible_fee_earner_id != submitter {
        Some(review.responsible_fee_earner_id)
    } else if review.four_eyes {
        sqlx::query_scalar!(
            "select supervising_partner_id from matter where matter_id = $1",
            matter_id.0
        )
        .fetch_optional(tenant.conn())
        .await?
        .flatten()
        .map(UserId)
        .filter(|p| *p != submitter)
    } else {
        None
    };
    if let Some(reviewer) = reviewer {
        let notice = crate::notify::Notice::on_matter(
            reviewer,
            matter_id,
            docket_protocol::notifications::NoticeKind::Review,
        );
        crate::notify::raise(tenant.conn(), &app.config.notify, &notice).await?;
    }
    Ok(())
}

async fn mark_submitted(
    tenant: &mut Tenant,
    version_id: Uuid,
    by: UserId,
    at: OffsetDateTime,
) -> Result<u64> {
    Ok(sqlx::query!(
        "update document_version set state = 'pending_review', submitted_by = $2, submitted_at = $3,
             sent_back_reason = null
         where version_id = $1 and state = 'internal'",
        version_id,
        by.0,
        at
    )
    .execute(tenant.conn())
    .await?
    .rows_affected())
}

async fn mark_published(
    tenant: &mut Tenant,
    doc: &DocumentRow,
    version: &VersionRow,
    by: UserId,
    at: OffsetDateTime,
) -> Result<u64> {
    let updated = sqlx::query!(
        "update document_version set state = 'published', reviewed_by = $2, reviewed_at = $3,
             published_at = $3
         where version_id = $1 and state = 'pending_review'",
        version.version_id,
        by.0,
        at
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
    Ok(updated)
}

async fn mark_sent_back(
    tenant: &mut Tenant,
    version_id: Uuid,
    by: UserId,
    at: OffsetDateTime,
    reason: &str,
) -> Result<u64> {
    Ok(sqlx::query!(
        "update document_version set state = 'internal', reviewed_by = $2, reviewed_at = $3,
             sent_back_reason = $4
         where version_id = $1 and state = 'pending_review'",
        version_id,
        by.0,
        at,
        reason
    )
    .execute(tenant.conn())
    .await?
    .rows_affected())
}
