//! The periodic (and signalled) session re-check: a revoked, expired or idle session closes the
//! socket; otherwise the socket's activity is recorded and every subscription's access re-checked.

use docket_protocol::channel::close;

use super::{closing, Closing, Connection, Sink};
use crate::Error;

impl Connection {
    /// Re-checks the session (revoked, expired, idle) and every subscription's access.
    pub(super) async fn recheck(&mut self, sink: &mut Sink) -> Result<(), Closing> {
        let app = self.app.clone();
        let now = app.clock.now();
        let state = async {
            let mut tenant = self.auth.tenant(&app).await?;
            let row = sqlx::query!(
                r#"select s.revoked_at, s.expires_at, s.last_seen_at, u.status
                   from session s join user_account u using (user_id) where s.session_id = $1"#,
                self.auth.session_id.0
            )
            .fetch_optional(tenant.conn())
            .await?;
            tenant.commit().await?;
            Ok::<_, Error>(row)
        }
        .await;
        let row = match state {
            Ok(Some(row)) => row,
            Ok(None) => return Err(closing(close::SESSION_ENDED, "session ended")),
            Err(err) => {
                tracing::warn!(error = %err, "socket re-check failed; trying again later");
                return Ok(());
            }
        };
        if row.revoked_at.is_some() || row.status != "active" {
            return Err(closing(close::SESSION_ENDED, "session ended"));
        }
        let last_seen = self
            .activity
            .map_or(row.last_seen_at, |at| at.max(row.last_seen_at));
        let idle = now - last_seen >= app.config.idle_timeout;
        if now >= row.expires_at || idle {
            let reason = if idle {
                "idle_timeout"
            } else {
                "absolute_lifetime"
            };
            if let Err(err) = crate::auth::end_session(&app, &self.auth, reason).await {
                tracing::warn!(error = %err, "could not end the session");
            }
            return Err(closing(close::SESSION_ENDED, "session expired"));
        }
        if let Some(at) = self.activity.take() {
            let touched = async {
                let mut tenant = self.auth.tenant(&app).await?;
                sqlx::query!(
                    "update session set last_seen_at = greatest(last_seen_at, $2) where session_id = $1",
                    self.auth.session_id.0,
                    at
                )
                .execute(tenant.conn())
                .await?;
                tenant.commit().await
            };
            if let Err(err) = touched.await {
                tracing::warn!(error = %err, "could not record socket activity");
            }
        }
        self.recheck_access(sink).await
    }
}
