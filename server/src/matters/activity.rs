//! Where the viewer stands in each listed matter's channel: the newest event, their read
//! position and how many messages from others wait for them.

use std::collections::HashMap;

use docket_protocol::directory::{MatterActivity, MAX_UNREAD};
use docket_protocol::ids::MatterId;

use crate::db::Tenant;
use crate::Result;

/// The activity of `ids` for the tenant's actor, in one query. `matter_activity` (migration
/// `..0510_matter_activity.sql`) applies the channel's row-level-security policies once per
/// matter instead of once per event: it counts only events the actor may see, so without the
/// messages scope nothing is unread and no read position shows, and the newest event is the
/// newest the actor may see. Matters the actor may not see are absent.
pub async fn activity_of(
    tenant: &mut Tenant,
    ids: &[MatterId],
) -> Result<HashMap<MatterId, MatterActivity>> {
    let rows = sqlx::query!(
        r#"select matter_id as "matter_id!", head_seq as "head_seq!", read_seq as "read_seq!",
                  unread as "unread!", last_activity_at
           from matter_activity($1, $2)"#,
        &ids.iter().map(|m| m.0).collect::<Vec<_>>(),
        MAX_UNREAD as i32
    )
    .fetch_all(tenant.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let activity = MatterActivity {
                head_seq: r.head_seq as u64,
                read_seq: r.read_seq as u64,
                unread: u32::try_from(r.unread)
                    .unwrap_or(MAX_UNREAD)
                    .min(MAX_UNREAD),
                last_activity_at: r.last_activity_at,
            };
            (MatterId(r.matter_id), activity)
        })
        .collect())
}
