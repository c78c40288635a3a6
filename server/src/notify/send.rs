//! Delivering one notification: the `notification` consumer of the outbox. A dispatcher holding
//! the row applies the rules as they stand now and delivers to each channel, recording each
//! delivery in its transaction (a savepoint of the claim), so a retry after a failure repeats only
//! what failed, and a node that dies mid-send leaves the row whole for another: a push may then go
//! twice, under one `Topic`, so the second replaces the first.

use std::sync::Arc;
use std::time::Duration;

use docket_protocol::auth::{Alert, AlertDetail};
use docket_protocol::ids::{AlertId, MatterId, UserId};
use docket_protocol::notifications::{Frequency, NoticeChannel, NoticeKind};
use sqlx::PgConnection;
use uuid::Uuid;

use super::prefs::Choices;
use super::push::{self, Push, Pusher, Receiver, Urgency};
use super::text::{self, MatterName};
use super::Detail;
use crate::channels::presence::Presence;
use crate::clock::Clock;
use crate::config::NotifySettings;
use crate::mail::{Email, Mailer};
use crate::outbox::{Announcement, Deliver, Handled};
use crate::Result;

/// What delivering notifications needs. One per node.
#[derive(Debug)]
pub struct Notifier {
    pub settings: NotifySettings,
    pub pusher: Pusher,
    pub mailer: Mailer,
    pub presence: Presence,
    /// The live layer, for in-app alerts on open sockets.
    pub live: Arc<dyn Deliver>,
    pub clock: Clock,
    pub firm_name: String,
    pub public_url: String,
}

/// How long a push service keeps a notice for an offline device: a day for security notices and
/// messages, a week for the rest (still useful when the device comes back).
fn ttl(kind: NoticeKind) -> Duration {
    match kind {
        NoticeKind::Security | NoticeKind::Message => Duration::from_secs(24 * 3600),
        _ => Duration::from_secs(7 * 24 * 3600),
    }
}

fn urgency(kind: NoticeKind) -> Urgency {
    match kind {
        NoticeKind::Security | NoticeKind::Message => Urgency::High,
        _ => Urgency::Normal,
    }
}

/// The scope a recipient must still hold for a kind to reach them.
fn scope(kind: NoticeKind) -> Option<&'static str> {
    match kind {
        NoticeKind::Message => Some("messages"),
        NoticeKind::Document | NoticeKind::ClientUpload | NoticeKind::Review => Some("documents"),
        NoticeKind::ClientAction => Some("milestones"),
        NoticeKind::Invoice | NoticeKind::Payment => Some("invoices"),
        NoticeKind::Security => None,
    }
}

impl Notifier {
    /// Delivers notification `id`; see the module documentation.
    pub async fn send(&self, conn: &mut PgConnection, id: Uuid) -> Result<Handled> {
        // Not locked: news folding in while it is sent must not wait on a push service. What
        // folds in meanwhile is counted when it settles (see `settle_sent`).
        let Some(n) = sqlx::query!(
            "select kind, count, detail, state, exclude_device, coalesce_key
             from notification where notification_id = $1",
            id
        )
        .fetch_optional(&mut *conn)
        .await?
        else {
            // Its user or matter was deleted meanwhile.
            return Ok(Handled::Done);
        };
        if n.state != "pending" {
            return Ok(Handled::Done);
        }
        let Some(kind) = NoticeKind::parse(&n.kind) else {
            return self.settle(conn, id, "suppressed", "unknown_kind").await;
        };
        let detail: Detail = serde_json::from_value(n.detail).unwrap_or_default();
        let ctx = sqlx::query!(
            r#"select user_id as "user_id!", email as "email!", is_firm as "is_firm!",
                      user_active as "user_active!", matter_id, reference, title, e2ee,
                      practice_area_id, scopes as "scopes!"
               from notification_context($1)"#,
            id
        )
        .fetch_one(&mut *conn)
        .await?;
        let user_id = UserId(ctx.user_id);
        let matter_id = ctx.matter_id.map(MatterId);

        // Still entitled: an active user who still holds the kind's scope on the matter.
        let entitled = ctx.user_active
            && match (matter_id, scope(kind)) {
                (Some(_), Some(scope)) => ctx.scopes.iter().any(|s| s == scope),
                (None, _) | (_, None) => true,
            };
        if !entitled {
            return self.settle(conn, id, "suppressed", "no_access").await;
        }
        // Looking at the matter now: they see it on screen.
        if let Some(m) = matter_id {
            if kind != NoticeKind::Security && self.presence.is_viewing(user_id, m).await {
                return self.settle(conn, id, "suppressed", "viewing").await;
            }
        }

        let choices = Choices::load(conn, ctx.user_id, ctx.is_firm, ctx.practice_area_id).await?;
        let frequency = |channel| choices.resolve(kind, ctx.is_firm, channel).0;
        let matter = ctx.reference.map(|reference| MatterName {
            reference,
            title: if ctx.e2ee.unwrap_or(true) {
                None
            } else {
                ctx.title
            },
        });
        let count = n.count.max(1) as u32;
        let sentence = text::sentence(kind, count, matter.as_ref(), &detail);
        let done: Vec<(String, String)> = sqlx::query!(
            "select channel, target from notification_delivery where notification_id = $1",
            id
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.channel, r.target))
        .collect();
        let delivered =
            |channel: &str, target: &str| done.iter().any(|(c, t)| c == channel && t == target);
        let mut took = Vec::new();

        // In the app: an alert, shown as a toast on open tabs. Quiet hours do not hold it back.
        // Security notices, client uploads and payments raise their alert where they happen.
        let own_alert = matches!(
            kind,
            NoticeKind::Security | NoticeKind::ClientUpload | NoticeKind::Payment
        );
        if !own_alert
            && frequency(NoticeChannel::InApp) == Frequency::Immediate
            && !delivered("in_app", "alert")
        {
            let detail = match (detail.level, detail.since, matter_id, &matter) {
                (Some(level), Some(since), Some(matter_id), Some(m)) => AlertDetail::Escalation {
                    matter_id,
                    reference: m.reference.clone(),
                    waiting_since: since,
                    level,
                },
                _ => AlertDetail::Notice {
                    notice: kind,
                    matter_id,
                    reference: matter.as_ref().map(|m| m.reference.clone()),
                    title: matter.as_ref().and_then(|m| m.title.clone()),
                    count,
                },
            };
            let stored_kind = match detail {
                AlertDetail::Escalation { .. } => "escalation",
                _ => "notice",
            };
            let alert = Alert {
                alert_id: AlertId(id),
                created_at: self.clock.now(),
                read: false,
                detail,
            };
            sqlx::query!(
                "insert into user_alert (alert_id, user_id, kind, body, created_at)
                 values ($1, $2, $5, $3, $4) on conflict (alert_id) do nothing",
                id,
                ctx.user_id,
                serde_json::to_value(&alert.detail).map_err(anyhow::Error::from)?,
                alert.created_at,
                stored_kind,
            )
            .execute(&mut *conn)
            .await?;
            // Stored first: a socket that misses the live copy finds it in the list. A repeat
            // (after a retry) carries the same id, which sockets drop.
            if let Err(err) = self
                .live
                .deliver(&Announcement::Alert { user_id, alert })
                .await
            {
                tracing::debug!(error = %err, "in-app notice not published live; it is stored");
            }
            self.record(conn, id, ctx.user_id, "in_app", "alert", true)
                .await?;
            took.push("in_app");
        }

        let push_on = frequency(NoticeChannel::Push) == Frequency::Immediate;
        // A new device's notice was e-mailed where it happened, with its details.
        let email = if detail.event.as_deref() == Some("new_device") {
            Frequency::Off
        } else {
            frequency(NoticeChannel::Email)
        };
        let interrupts = push_on || email == Frequency::Immediate;
        // Quiet hours hold back push and e-mail for firm users; never a security notice.
        if interrupts && ctx.is_firm && kind != NoticeKind::Security {
            let quiet_until = sqlx::query_scalar!(
                "select notify_quiet_until($1, $2)",
                ctx.user_id,
                self.clock.now()
            )
            .fetch_one(&mut *conn)
            .await?;
            if let Some(until) = quiet_until {
                // Looked at again when they end, or sooner: every tick, so a user who changes
                // their quiet hours (or a clock a test moves) is heeded.
                let wait = (until - self.clock.now())
                    .whole_milliseconds()
                    .clamp(100, self.settings.tick_ms.into()) as u64;
                return Ok(Handled::Later(Duration::from_millis(wait)));
            }
        }

        let mut failures = Vec::new();
        if push_on {
            let subscriptions = sqlx::query!(
                "select device_id, endpoint, p256dh, auth from push_subscription
                 where user_id = $1 and device_id is distinct from $2",
                ctx.user_id,
                n.exclude_device,
            )
            .fetch_all(&mut *conn)
            .await?;
            let topic = n
                .coalesce_key
                .as_deref()
                .map(push::topic)
                .unwrap_or_else(|| push::topic(&id.to_string()));
            let payload = serde_json::to_vec(&serde_json::json!({
                "title": self.firm_name,
                "body": sentence,
                "kind": kind.as_str(),
                "url": matter_id.map(|m| format!("/matters/{m}")).unwrap_or_else(|| "/account".into()),
                "tag": topic,
            }))
            .map_err(anyhow::Error::from)?;
            for sub in subscriptions {
                let target = sub.device_id.to_string();
                if delivered("push", &target) {
                    continue;
                }
                let outcome = self
                    .pusher
                    .send(
                        Push {
                            endpoint: &sub.endpoint,
                            receiver: Receiver {
                                p256dh: sub.p256dh,
                                auth: sub.auth,
                            },
                            payload: payload.clone(),
                            topic: Some(topic.clone()),
                            urgency: urgency(kind),
                            ttl: ttl(kind),
                        },
                        self.clock.now().unix_timestamp(),
                    )
                    .await;
                match outcome {
                    Ok(push::Sent::Accepted) => {
                        // Recorded as a delivery, not on the subscription: workers pushing to one
                        // device side by side must not queue on its row.
                        self.record(conn, id, ctx.user_id, "push", &target, true)
                            .await?;
                        took.push("push");
                    }
                    Ok(push::Sent::Gone) => {
                        sqlx::query!(
                            "delete from push_subscription where device_id = $1",
                            sub.device_id
                        )
                        .execute(&mut *conn)
                        .await?;
                        tracing::info!(device_id = %sub.device_id, "push subscription gone; removed");
                    }
                    Err(err) => failures.push(format!("push to device {target}: {err:#}")),
                }
            }
        }

        match email {
            Frequency::Immediate if !delivered("email", "email") => {
                let link = match matter_id {
                    Some(m) => format!("{}/matters/{m}", self.public_url.trim_end_matches('/')),
                    None => format!("{}/account", self.public_url.trim_end_matches('/')),
                };
                let body = format!(
                    "{sentence}.\n\nOpen Docket to see it: {link}\n\n\
                     You can choose which notices reach you, and how, under Settings \u{2192} Notifications."
                );
                match self
                    .mailer
                    .send(Email {
                        to: ctx.email.clone(),
                        subject: sentence.clone(),
                        body,
                    })
                    .await
                {
                    Ok(()) => {
                        self.record(conn, id, ctx.user_id, "email", "email", true)
                            .await?;
                        took.push("email");
                    }
                    Err(err) => failures.push(format!("e-mail: {err:#}")),
                }
            }
            Frequency::Digest if !delivered("digest", "email") => {
                self.record(conn, id, ctx.user_id, "digest", "email", false)
                    .await?;
                took.push("digest");
            }
            _ => {}
        }

        if !failures.is_empty() {
            return Ok(Handled::Partial(failures.join("; ")));
        }
        let outcome = if took.is_empty() {
            "muted".to_owned()
        } else {
            took.join(",")
        };
        let settled = sqlx::query_scalar!(
            "update notification set state = 'sent', outcome = $2, settled_at = clock_timestamp()
             where notification_id = $1 returning count",
            id,
            outcome,
        )
        .fetch_one(&mut *conn)
        .await?;
        // News that folded in after this notice was written goes in the next one.
        let later = settled - n.count;
        if later > 0 {
            let notice = super::Notice {
                user_id,
                matter_id,
                kind,
                count: later as u32,
                detail,
                exclude_device: n.exclude_device.map(docket_protocol::ids::DeviceId),
            };
            super::raise(&mut *conn, &self.settings, &notice).await?;
        }
        Ok(Handled::Done)
    }

    async fn record(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
        user: Uuid,
        channel: &str,
        target: &str,
        delivered: bool,
    ) -> Result<()> {
        sqlx::query!(
            "insert into notification_delivery (notification_id, channel, target, delivered_at, user_id)
             values ($1, $2, $3, $4, $5) on conflict do nothing",
            id,
            channel,
            target,
            delivered.then(|| self.clock.now()),
            user,
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn settle(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
        state: &str,
        outcome: &str,
    ) -> Result<Handled> {
        sqlx::query!(
            "update notification set state = $2, outcome = $3, settled_at = clock_timestamp()
             where notification_id = $1",
            id,
            state,
            outcome,
        )
        .execute(&mut *conn)
        .await?;
        Ok(Handled::Done)
    }
}
