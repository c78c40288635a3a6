//! Document and version rows, read inside the tenant transaction (row-level security decides what
//! the actor sees), and their wire form; and writing a new version row, which every way of adding
//! a version (upload, new version, the DMS mirror) shares.

use docket_protocol::directory::PersonRef;
use docket_protocol::documents::{
    Category, Document, DocumentVersion, ReviewTrail, VersionOrigin, VersionState,
};
use docket_protocol::ids::{DocumentId, MatterId, UserId, VersionId};
use time::OffsetDateTime;
use uuid::Uuid;

use super::ingest::Ingested;
use crate::db::Tenant;
use crate::intake::{sanitise_filename, FileKind};
use crate::{Error, Result};

/// One `document` row.
#[derive(Clone, Debug)]
pub struct DocumentRow {
    pub document_id: Uuid,
    pub matter_id: Uuid,
    pub title: String,
    pub category: String,
    pub external_id: Option<String>,
}

impl DocumentRow {
    pub fn category(&self) -> Result<Category> {
        self.category.parse().map_err(internal)
    }
}

/// One `document_version` row with the names of the people in it.
#[derive(Clone, Debug)]
pub struct VersionRow {
    pub version_id: Uuid,
    pub document_id: Uuid,
    pub matter_id: Uuid,
    pub number: i32,
    pub state: String,
    pub origin: String,
    pub external_version: Option<i32>,
    pub filename: String,
    pub file_kind: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: Vec<u8>,
    pub wrapped_data_key: Vec<u8>,
    pub blob_key: String,
    pub uploaded_by: Uuid,
    pub uploaded_by_name: Option<String>,
    pub uploaded_at: OffsetDateTime,
    pub submitted_by: Option<Uuid>,
    pub submitted_by_name: Option<String>,
    pub submitted_at: Option<OffsetDateTime>,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_by_name: Option<String>,
    pub reviewed_at: Option<OffsetDateTime>,
    pub sent_back_reason: Option<String>,
    pub published_at: Option<OffsetDateTime>,
}

fn internal(e: docket_protocol::directory::UnknownName) -> Error {
    Error::Internal(e.into())
}

fn person(id: Uuid, name: Option<String>) -> PersonRef {
    PersonRef {
        user_id: UserId(id),
        display_name: name.unwrap_or_else(|| "A former user".into()),
    }
}

impl VersionRow {
    pub fn state(&self) -> Result<VersionState> {
        self.state.parse().map_err(internal)
    }

    pub fn kind(&self) -> Result<FileKind> {
        FileKind::from_wire(&self.file_kind)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown file kind {}", self.file_kind)))
    }

    /// The wire form; the review trail only for firm viewers.
    pub fn to_wire(&self, firm: bool) -> Result<DocumentVersion> {
        let review = firm.then(|| ReviewTrail {
            submitted_by: self
                .submitted_by
                .map(|id| person(id, self.submitted_by_name.clone())),
            submitted_at: self.submitted_at,
            reviewed_by: self
                .reviewed_by
                .map(|id| person(id, self.reviewed_by_name.clone())),
            reviewed_at: self.reviewed_at,
            sent_back_reason: self.sent_back_reason.clone(),
        });
        Ok(DocumentVersion {
            version_id: VersionId(self.version_id),
            number: self.number as u32,
            state: self.state()?,
            origin: self.origin.parse::<VersionOrigin>().map_err(internal)?,
            filename: self.filename.clone(),
            media_type: self.media_type.clone(),
            size_bytes: self.size_bytes as u64,
            sha256: data_encoding::HEXLOWER.encode(&self.sha256),
            inline_viewable: self.kind()?.inline_viewable(),
            uploaded_by: person(self.uploaded_by, self.uploaded_by_name.clone()),
            uploaded_at: self.uploaded_at,
            review,
            published_at: self.published_at,
        })
    }
}

/// A document with the versions the viewer may see. None when no version is visible.
pub fn to_document(
    doc: &DocumentRow,
    versions: &[VersionRow],
    firm: bool,
) -> Result<Option<Document>> {
    let mut visible = Vec::new();
    for v in versions.iter().filter(|v| v.document_id == doc.document_id) {
        let state = v.state()?;
        // Row-level security already withholds unpublished versions from clients; so does this.
        if firm || state == VersionState::Published {
            visible.push(v.to_wire(firm)?);
        }
    }
    visible.sort_by_key(|v| std::cmp::Reverse(v.number));
    let current = visible
        .iter()
        .find(|v| v.state == VersionState::Published)
        .or_else(|| visible.first())
        .cloned();
    let Some(current) = current else {
        return Ok(None);
    };
    Ok(Some(Document {
        document_id: DocumentId(doc.document_id),
        matter_id: MatterId(doc.matter_id),
        title: doc.title.clone(),
        category: doc.category()?,
        external_id: doc.external_id.clone(),
        current,
        versions: visible,
    }))
}

/// The documents of a matter (or these documents) the actor may see.
pub async fn documents(
    tenant: &mut Tenant,
    matter_id: Option<MatterId>,
    document_ids: Option<&[Uuid]>,
) -> Result<Vec<DocumentRow>> {
    Ok(sqlx::query_as!(
        DocumentRow,
        r#"select document_id, matter_id, title, category, external_id
           from document
           where ($1::uuid is null or matter_id = $1)
             and ($2::uuid[] is null or document_id = any($2))
           order by created_at desc, document_id"#,
        matter_id.map(|m| m.0),
        document_ids as Option<&[Uuid]>,
    )
    .fetch_all(tenant.conn())
    .await?)
}

/// The versions of these documents the actor may see, newest first.
pub async fn versions(tenant: &mut Tenant, documents: &[Uuid]) -> Result<Vec<VersionRow>> {
    Ok(sqlx::query_as!(
        VersionRow,
        r#"select v.version_id, v.document_id, v.matter_id, v.number, v.state, v.origin,
                  v.external_version, v.filename,
                  v.file_kind, v.media_type, v.size_bytes, v.sha256, v.wrapped_data_key, v.blob_key,
                  v.uploaded_by, up.display_name as "uploaded_by_name?", v.uploaded_at,
                  v.submitted_by, sub.display_name as "submitted_by_name?", v.submitted_at,
                  v.reviewed_by, rev.display_name as "reviewed_by_name?", v.reviewed_at,
                  v.sent_back_reason, v.published_at
           from document_version v
           left join person up on up.user_id = v.uploaded_by
           left join person sub on sub.user_id = v.submitted_by
           left join person rev on rev.user_id = v.reviewed_by
           where v.document_id = any($1)
           order by v.document_id, v.number desc"#,
        documents,
    )
    .fetch_all(tenant.conn())
    .await?)
}

/// What a new version row carries.
pub(crate) struct NewVersion<'a> {
    pub(crate) document_id: Uuid,
    pub(crate) matter_id: MatterId,
    pub(crate) version_id: Uuid,
    pub(crate) number: i32,
    pub(crate) state: VersionState,
    pub(crate) origin: &'static str,
    pub(crate) external_version: Option<i32>,
    pub(crate) filename: &'a str,
    pub(crate) ingested: &'a Ingested,
    pub(crate) uploaded_by: UserId,
    pub(crate) at: time::OffsetDateTime,
}

/// Writes one `document_version` row. Two versions racing for the same number: the loser is told
/// to try again.
pub(crate) async fn insert_version(tenant: &mut Tenant, v: &NewVersion<'_>) -> Result<()> {
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
