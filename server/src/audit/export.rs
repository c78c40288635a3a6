//! Export of one matter's audit trail as JSON lines, for a regulator or a disputed-sharing
//! question. The export is itself audited.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use docket_protocol::audit::AuditEntry;
use docket_protocol::ids::MatterId;

use super::{record, AuditRecord};
use crate::access::{self, Action};
use crate::auth::Signed;
use crate::db::Tenant;
use crate::error::Path;
use crate::startup::AppState;
use crate::Result;

/// The matter's trail, oldest first, as the tenant may see it.
pub async fn matter_trail(tenant: &mut Tenant, matter_id: MatterId) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query!(
        r#"select seq, occurred_at, actor_id, device_id, host(source_ip) as source_ip, matter_id,
                  client_id, action, target, detail, row_hash
           from audit_event where matter_id = $1 order by seq"#,
        matter_id.0
    )
    .fetch_all(tenant.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            seq: r.seq,
            occurred_at: r.occurred_at,
            actor_id: r.actor_id.map(Into::into),
            device_id: r.device_id.map(Into::into),
            source_ip: r.source_ip,
            matter_id: r.matter_id.map(Into::into),
            client_id: r.client_id.map(Into::into),
            action: r.action,
            target: r.target,
            detail: r.detail,
            row_hash: crate::auth::token::hex(&r.row_hash),
        })
        .collect())
}

/// Serialises entries as JSON lines.
pub fn to_json_lines(entries: &[AuditEntry]) -> String {
    entries
        .iter()
        .map(|e| serde_json::to_string(e).expect("audit entries serialise") + "\n")
        .collect()
}

/// `GET /api/v1/matters/{matter_id}/audit`
#[utoipa::path(
    get, path = "/api/v1/matters/{matter_id}/audit", tag = "audit",
    params(("matter_id" = MatterId, Path)),
    responses(
        (status = 200, description = "The matter's audit trail as JSON lines", content_type = "application/x-ndjson", body = AuditEntry),
        (status = 403, body = docket_protocol::error::ErrorBody), (status = 404, body = docket_protocol::error::ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn export_matter_audit(
    State(app): State<AppState>,
    signed: Signed,
    Path(matter_id): Path<MatterId>,
) -> Result<Response> {
    let mut tenant = signed.tenant(&app).await?;
    let facts = access::matter(
        &mut tenant,
        &signed.actor,
        matter_id,
        Action::ExportMatterAudit,
    )
    .await?;
    let entries = matter_trail(&mut tenant, matter_id).await?;
    record(
        &mut tenant,
        AuditRecord::new("audit.matter.exported")
            .matter(matter_id)
            .client(facts.client_id)
            .detail(serde_json::json!({ "rows": entries.len() })),
    )
    .await?;
    tenant.commit().await?;
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        to_json_lines(&entries),
    )
        .into_response())
}
