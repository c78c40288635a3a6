//! Downloading a version's content: decrypted as it streams, with `ETag`, single `Range`
//! requests, RFC 6266 `Content-Disposition`, and for inline viewing (PDFs and images) a
//! sandboxing Content-Security-Policy. Every access is audited before the first byte leaves.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use docket_protocol::ids::{DocumentId, MatterId};
use serde::Deserialize;
use serde_json::json;

use super::{load, version};
use crate::audit::{self, AuditRecord};
use crate::auth::Signed;
use crate::error::{Path, Query};
use crate::intake::{content_disposition, Disposition, FileKind};
use crate::startup::AppState;
use crate::vault::{self, BlobKey};
use crate::{Error, Result};

/// `?disposition=inline` shows a PDF or image in the browser; anything else downloads.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContentQuery {
    #[serde(default)]
    pub disposition: Option<String>,
}

/// What inline content may do: nothing but show itself.
const INLINE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; \
                          object-src 'self'; plugin-types application/pdf; sandbox";

/// The bytes a `Range` header asks for, if it is one satisfiable single range.
pub fn parse_range(value: &str, len: u64) -> Option<std::ops::Range<u64>> {
    let spec = value.strip_prefix("bytes=")?.trim();
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let range = if start.is_empty() {
        let suffix: u64 = end.parse().ok()?;
        if suffix == 0 {
            return None;
        }
        len.saturating_sub(suffix)..len
    } else {
        let start: u64 = start.parse().ok()?;
        let end = if end.is_empty() {
            len - 1
        } else {
            end.parse::<u64>().ok()?.min(len - 1)
        };
        if start > end {
            return None;
        }
        start..end + 1
    };
    (range.start < len).then_some(range)
}

/// The content of one version (audited).
#[utoipa::path(get, path = "/api/v1/documents/{document_id}/versions/{number}/content", tag = "documents",
    params(("document_id" = DocumentId, Path), ("number" = u32, Path), ContentQuery),
    responses((status = 200, description = "the content"), (status = 206, description = "part of it"),
              (status = 304, description = "unchanged"), (status = 404, body = docket_protocol::error::ErrorBody),
              (status = 410, description = "the matter's documents were destroyed", body = docket_protocol::error::ErrorBody),
              (status = 416, description = "range not satisfiable")))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
pub async fn download(
    State(app): State<AppState>,
    signed: Signed,
    Path((document_id, number)): Path<(DocumentId, u32)>,
    Query(query): Query<ContentQuery>,
    headers: HeaderMap,
) -> Result<Response> {
    let mut tenant = signed.tenant(&app).await?;
    let (doc, versions, _) = load(&mut tenant, &signed, document_id).await?;
    let v = version(&versions, number)?.clone();
    let matter_id = MatterId(doc.matter_id);
    let kind = v.kind()?;
    let len = v.size_bytes as u64;
    let etag = format!("\"{}\"", data_encoding::HEXLOWER.encode(&v.sha256));
    let inline = query.disposition.as_deref() == Some("inline") && kind.inline_viewable();
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let range = match headers.get(header::RANGE).and_then(|h| h.to_str().ok()) {
        None => None,
        Some(value) => match parse_range(value, len) {
            Some(range) => Some(range),
            None => {
                tenant.commit().await?;
                return Ok((
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    [(header::CONTENT_RANGE, format!("bytes */{len}"))],
                )
                    .into_response());
            }
        },
    };
    let matter_key = vault::matter_key(&mut tenant, &app.keyring, matter_id).await?;
    let data_key = matter_key.open_data_key(v.version_id, &v.wrapped_data_key)?;
    audit::record(
        &mut tenant,
        AuditRecord::new(if inline {
            "document.viewed_inline"
        } else {
            "document.downloaded"
        })
        .matter(matter_id)
        .target("document", document_id)
        .detail(json!({
            "version": number, "version_id": v.version_id,
            "range": range.as_ref().map(|r| format!("{}-{}", r.start, r.end - 1)),
            "not_modified": not_modified,
        })),
    )
    .await?;
    tenant.commit().await?;
    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(|e| Error::Internal(e.into()))?,
    );
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    let blob_key = BlobKey::version(matter_id, v.version_id);
    debug_assert_eq!(blob_key.as_str(), v.blob_key);
    let stream = app
        .blobs
        .get(&blob_key, &data_key, v.version_id, len, range.clone())
        .await?;
    let status = describe_content(&mut response_headers, kind, &v.filename, inline, range, len)?;
    Ok((status, response_headers, Body::from_stream(stream)).into_response())
}

/// The headers that say what the body is: type, disposition, (for inline) the sandbox, and the
/// length or range. Returns 200 or 206.
fn describe_content(
    headers: &mut HeaderMap,
    kind: FileKind,
    filename: &str,
    inline: bool,
    range: Option<std::ops::Range<u64>>,
    len: u64,
) -> Result<StatusCode> {
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind.mime()));
    let disposition = if inline {
        Disposition::Inline
    } else {
        Disposition::Attachment
    };
    headers.insert(
        header::CONTENT_DISPOSITION,
        content_disposition(disposition, filename),
    );
    if inline {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(INLINE_CSP),
        );
    }
    Ok(match range {
        Some(r) => {
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes {}-{}/{len}", r.start, r.end - 1))
                    .map_err(|e| Error::Internal(e.into()))?,
            );
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(r.end - r.start));
            StatusCode::PARTIAL_CONTENT
        }
        None => {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            StatusCode::OK
        }
    })
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn single_ranges_parse_and_others_are_refused() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(0..10));
        assert_eq!(parse_range("bytes=90-", 100), Some(90..100));
        assert_eq!(parse_range("bytes=-10", 100), Some(90..100));
        assert_eq!(parse_range("bytes=95-200", 100), Some(95..100));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-1", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=-0", 100), None);
    }
}
