//! Who takes part in a matter's channel, by name: what every viewer needs to label messages.

use docket_protocol::directory::Participant;
use docket_protocol::ids::MatterId;

use crate::db::Tenant;
use crate::{Error, Result};

/// The responsible fee earner, the team and any supervisor who has written in the channel (firm),
/// then the client users who can see the matter's messages (client), each by display name only.
///
/// Names come from the `person` view, which names firm staff to client users without showing
/// them any other column. Which client users can read the messages comes from
/// `matter_message_readers`, which answers only for a matter the actor may see, rather than from
/// the grants, which a client user may not read (they see only their own). The caller has
/// authorised the viewer on the matter.
pub async fn participants(tenant: &mut Tenant, matter_id: MatterId) -> Result<Vec<Participant>> {
    sqlx::query!(
        r#"select u.user_id as "user_id!", u.display_name as "display_name!", u.kind as "kind!"
           from person u
           where u.user_id in (
               select m.responsible_fee_earner_id from matter m where m.matter_id = $1
               union all
               select t.user_id from matter_team t where t.matter_id = $1
               union all
               select r from matter_message_readers($1) as r
               union all
               -- Supervisors see every matter without being on its team, and former team
               -- members may have written before they left it: firm users are named once they
               -- have written in it (one index probe each, on the author index).
               select s.user_id from person s
               where s.kind = 'firm'
                 and exists (select 1 from channel_event e
                             where e.matter_id = $1 and e.author_id = s.user_id))
           order by u.kind = 'client', u.display_name, u.user_id"#,
        matter_id.0
    )
    .fetch_all(tenant.conn())
    .await?
    .into_iter()
    .map(|r| {
        Ok(Participant {
            user_id: r.user_id.into(),
            display_name: r.display_name,
            kind: r
                .kind
                .parse()
                .map_err(|e: docket_protocol::directory::UnknownName| Error::Internal(e.into()))?,
        })
    })
    .collect()
}
