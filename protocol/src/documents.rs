//! Documents: categories, the review-and-publish lifecycle, versions, uploads and the DMS mirror.
//!
//! Content is uploaded as the raw request body (streamed; no multipart), with the descriptive
//! fields in the query string, and downloaded from `.../content` with `Range` and `ETag` support.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::directory::PersonRef;
use crate::ids::{DocumentId, MatterId, VersionId};
use crate::text::Text;

/// The same categories on every matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Correspondence,
    Contracts,
    CourtDocuments,
    Financial,
    IdentityVerification,
    Other,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 6] = [
        Category::Correspondence,
        Category::Contracts,
        Category::CourtDocuments,
        Category::Financial,
        Category::IdentityVerification,
        Category::Other,
    ];
}

/// Where a version stands. Clients only ever see `published` versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    /// The firm's working copy (also after being sent back).
    Internal,
    /// Submitted by a fee earner, waiting for a reviewer.
    PendingReview,
    /// Visible to the client users who may see the matter's documents.
    Published,
}

/// Who put a version into the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VersionOrigin {
    /// Uploaded by someone at the firm.
    Firm,
    /// Uploaded by a client user (shared with the firm at once, after scanning).
    Client,
    /// Pushed by the firm's document-management system.
    Dms,
}

/// One version of a document.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DocumentVersion {
    pub version_id: VersionId,
    /// 1, 2, … per document.
    pub number: u32,
    pub state: VersionState,
    pub origin: VersionOrigin,
    /// The sanitised file name, with the extension that matches the content.
    pub filename: String,
    /// The content's type as detected (never the name's claim).
    pub media_type: String,
    pub size_bytes: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Whether the browser may show it inline (PDFs and images).
    pub inline_viewable: bool,
    pub uploaded_by: PersonRef,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub uploaded_at: OffsetDateTime,
    /// Firm users only: the review trail of this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub review: Option<ReviewTrail>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(optional, type = "string"))]
    pub published_at: Option<OffsetDateTime>,
}

/// Who submitted, reviewed and decided, and when (firm users only).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReviewTrail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub submitted_by: Option<PersonRef>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(optional, type = "string"))]
    pub submitted_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub reviewed_by: Option<PersonRef>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(optional, type = "string"))]
    pub reviewed_at: Option<OffsetDateTime>,
    /// Why the reviewer sent it back, if they did (the latest time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub sent_back_reason: Option<String>,
}

/// A document with the versions the viewer may see, newest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Document {
    pub document_id: DocumentId,
    pub matter_id: MatterId,
    pub title: String,
    pub category: Category,
    /// The DMS's id for it, when the DMS put it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub external_id: Option<String>,
    /// The version shown by default: the latest published one (for firm users, the latest of all
    /// when none is published yet).
    pub current: DocumentVersion,
    /// Every version the viewer may open, newest first (including `current`).
    pub versions: Vec<DocumentVersion>,
}

/// Descriptive fields of an upload, in the query string of the `POST` whose body is the file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UploadParams {
    /// The name the file had on the uploader's device (sanitised before use).
    pub filename: Text,
    /// New documents only.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub category: Option<Category>,
    /// New documents only; defaults to the file name without its extension.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub title: Option<Text>,
}

/// `PUT /api/v1/matters/{matter_id}/dms/{external_id}/versions/{external_version}`: the DMS pushes
/// one version. Idempotent on (external id, version number).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DmsParams {
    pub filename: Text,
    pub category: Category,
    pub title: Text,
}

/// `POST .../send-back`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SendBackRequest {
    /// Why, for the fee earner: 1 to 2,000 characters.
    pub reason: Text,
}

/// A version waiting for review, in the firm's review queue.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReviewItem {
    pub matter_id: MatterId,
    pub matter_reference: String,
    pub matter_title: String,
    pub document_id: DocumentId,
    pub title: String,
    pub category: Category,
    pub version: DocumentVersion,
    /// Whether the viewer may publish it (four-eyes areas need someone other than the submitter).
    pub can_publish: bool,
}

crate::directory::wire_names!(Category {
    Correspondence => "correspondence",
    Contracts => "contracts",
    CourtDocuments => "court_documents",
    Financial => "financial",
    IdentityVerification => "identity_verification",
    Other => "other",
});
crate::directory::wire_names!(VersionState {
    Internal => "internal",
    PendingReview => "pending_review",
    Published => "published",
});
crate::directory::wire_names!(VersionOrigin { Firm => "firm", Client => "client", Dms => "dms" });
