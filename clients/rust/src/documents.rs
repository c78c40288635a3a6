//! Documents over REST: listing, reading, uploading (the body streams; nothing is buffered by the
//! SDK), downloading (to any `AsyncWrite`, or a byte range), the review steps and the DMS push.

use docket_protocol::documents::{Category, Document, ReviewItem};
use docket_protocol::ids::{DocumentId, MatterId};
use serde_json::json;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::{Client, Result};

/// Percent-encodes `value` for a URL (RFC 3986 unreserved characters stay as they are).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .enumerate()
        .map(|(i, (name, value))| {
            format!("{}{name}={}", if i == 0 { '?' } else { '&' }, encode(value))
        })
        .collect()
}

impl Client {
    /// The documents of a matter the user may see.
    pub async fn documents(&self, matter_id: MatterId) -> Result<Vec<Document>> {
        self.call(
            reqwest::Method::GET,
            &format!("/api/v1/matters/{matter_id}/documents"),
            None,
        )
        .await
    }

    /// One document with the versions the user may see.
    pub async fn document(&self, document_id: DocumentId) -> Result<Document> {
        self.call(
            reqwest::Method::GET,
            &format!("/api/v1/documents/{document_id}"),
            None,
        )
        .await
    }

    /// Uploads a new document; `body` is the file (a `reqwest::Body`, e.g. wrapping a file stream).
    pub async fn upload_document(
        &self,
        matter_id: MatterId,
        filename: &str,
        category: Category,
        title: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Result<Document> {
        let mut pairs = vec![("filename", filename), ("category", category.as_str())];
        if let Some(title) = title {
            pairs.push(("title", title));
        }
        let path = format!("/api/v1/matters/{matter_id}/documents{}", query(&pairs));
        self.upload(reqwest::Method::POST, &path, body).await
    }

    /// Adds a version to a document (firm users).
    pub async fn upload_version(
        &self,
        document_id: DocumentId,
        filename: &str,
        body: impl Into<reqwest::Body>,
    ) -> Result<Document> {
        let path = format!(
            "/api/v1/documents/{document_id}/versions{}",
            query(&[("filename", filename)])
        );
        self.upload(reqwest::Method::POST, &path, body).await
    }

    /// The firm's document-management system pushes version `external_version` of its document
    /// `external_id`; pushing the same pair again changes nothing. Call it with a client made by
    /// [`Client::with_token`] from a service account's token (scope `dms`): a person's session is
    /// refused.
    pub async fn dms_push(
        &self,
        matter_id: MatterId,
        external_id: &str,
        external_version: u32,
        (filename, category, title): (&str, Category, &str),
        body: impl Into<reqwest::Body>,
    ) -> Result<Document> {
        let id: String = query(&[("", external_id)])
            .trim_start_matches("?=")
            .to_owned();
        let path = format!(
            "/api/v1/matters/{matter_id}/dms/{id}/versions/{external_version}{}",
            query(&[
                ("filename", filename),
                ("category", category.as_str()),
                ("title", title)
            ])
        );
        self.upload(reqwest::Method::PUT, &path, body).await
    }

    async fn upload(
        &self,
        method: reqwest::Method,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> Result<Document> {
        let request = self
            .request(method, path)
            .header("content-type", "application/octet-stream")
            .body(body);
        Ok(self.execute(request).await?.json().await?)
    }

    /// Writes version `number`'s content to `out`, as it arrives; returns the bytes written.
    pub async fn download_to(
        &self,
        document_id: DocumentId,
        number: u32,
        out: &mut (impl AsyncWrite + Unpin),
    ) -> Result<u64> {
        let request = self.request(
            reqwest::Method::GET,
            &format!("/api/v1/documents/{document_id}/versions/{number}/content"),
        );
        let mut response = self.execute(request).await?;
        let mut written = 0;
        while let Some(chunk) = response.chunk().await? {
            out.write_all(&chunk)
                .await
                .map_err(|e| crate::Error::Io(e.to_string()))?;
            written += chunk.len() as u64;
        }
        out.flush()
            .await
            .map_err(|e| crate::Error::Io(e.to_string()))?;
        Ok(written)
    }

    /// Bytes `range` of version `number`'s content.
    pub async fn download_range(
        &self,
        document_id: DocumentId,
        number: u32,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u8>> {
        let request = self
            .request(
                reqwest::Method::GET,
                &format!("/api/v1/documents/{document_id}/versions/{number}/content"),
            )
            .header(
                "range",
                format!("bytes={}-{}", range.start, range.end.saturating_sub(1)),
            );
        Ok(self.execute(request).await?.bytes().await?.to_vec())
    }

    /// Puts an internal version up for review.
    pub async fn submit(&self, document_id: DocumentId, number: u32) -> Result<Document> {
        self.step(document_id, number, "submit", json!({})).await
    }

    /// Publishes a version pending review.
    pub async fn publish(&self, document_id: DocumentId, number: u32) -> Result<Document> {
        self.step(document_id, number, "publish", json!({})).await
    }

    /// Sends a version pending review back, with a reason.
    pub async fn send_back(
        &self,
        document_id: DocumentId,
        number: u32,
        reason: &str,
    ) -> Result<Document> {
        self.step(
            document_id,
            number,
            "send-back",
            json!({ "reason": reason }),
        )
        .await
    }

    /// Versions waiting for review on the user's matters (firm users).
    pub async fn review_queue(&self) -> Result<Vec<ReviewItem>> {
        self.call(reqwest::Method::GET, "/api/v1/documents/review-queue", None)
            .await
    }

    async fn step(
        &self,
        document_id: DocumentId,
        number: u32,
        step: &str,
        body: serde_json::Value,
    ) -> Result<Document> {
        self.call(
            reqwest::Method::POST,
            &format!("/api/v1/documents/{document_id}/versions/{number}/{step}"),
            Some(body),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::query;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            query(&[
                ("filename", "Lease été & co.pdf"),
                ("category", "contracts")
            ]),
            "?filename=Lease%20%C3%A9t%C3%A9%20%26%20co.pdf&category=contracts"
        );
    }
}
