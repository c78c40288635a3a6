//! Real-time matter channels: one authenticated WebSocket per device (`GET /api/v1/ws`,
//! subprotocol `docket.v1`) multiplexing every matter channel the user may see, and the REST
//! history of a channel.
//!
//! # Layout
//! - [`store`]: the channel log in Postgres (gap-free `seq` per matter).
//! - [`writer`]: group commit — concurrent sends share a transaction; acks follow the commit.
//! - [`hub`]: this node's rooms (one per followed matter), connection registry, and the watch
//!   that pings and re-checks every socket in batches.
//! - [`authorizer`]: the node's batched answer to "what may this user do on this matter".
//! - [`bus`]: fan-out between nodes through Redis, or nothing on a single node.
//! - [`presence`]: online/away per matter, in Redis with expiries or in memory.
//! - `socket`: one connection's task; [`decode_frame`] is how it reads a client's text frame.
//! - [`wire`]: the socket's settings and the close code for each protocol violation.
//!
//! A send is: authorise → group-commit transaction (assign `seq`, insert, outbox row) → publish
//! locally and on the bus → ack with the `seq`. Nothing is acknowledged before it is durable. If a
//! node or Redis fails between commit and publish, another node's outbox dispatcher publishes the
//! events (see [`crate::outbox`]); a subscriber that still misses something recovers it by `seq`.

pub mod authorizer;
pub mod bus;
pub mod hub;
pub mod presence;
mod socket;
pub mod store;
pub mod wire;
pub mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{State, WebSocketUpgrade};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use docket_protocol::channel::{EventPage, SUBPROTOCOL};
use docket_protocol::ids::{MatterId, UserId};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tracing::Instrument;

pub use socket::decode_frame;

use crate::access::{self, Action};
use crate::auth::{ClientMeta, Signed};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Json, Path, Query};
use crate::outbox::Outbox;
use crate::startup::AppState;
use crate::{Error, Result};

/// The real-time machinery of one node.
#[derive(Clone, Debug)]
pub struct Channels {
    pub hub: hub::Hub,
    pub writer: writer::Writer,
    pub presence: presence::Presence,
    pub authorizer: authorizer::Authorizer,
    pub rate: SendRate,
    /// Notifications beyond the open tab: delivers through the outbox, and holds the push key.
    pub notifier: Arc<crate::notify::send::Notifier>,
}

impl Channels {
    /// Starts the bus (Redis if configured), the hub and the writer shards; returns them with the
    /// node's outbox, which delivers through the hub (and e-mail through `mailer`).
    pub async fn start(
        pool: PgPool,
        clock: Clock,
        config: &Config,
        mailer: crate::mail::Mailer,
        keyring: &crate::keyring::Keyring,
    ) -> anyhow::Result<(Self, Outbox)> {
        let settings = &config.channels;
        let (bus, inbound) = match &config.redis_url {
            Some(url) => {
                let (tx, rx) = mpsc::unbounded_channel();
                (
                    bus::Bus::redis(url.expose_secret(), config.redis_prefix.clone(), tx).await?,
                    Some(rx),
                )
            }
            None => (bus::Bus::local(), None),
        };
        let presence = match bus.redis_connection() {
            Some((conn, prefix)) => presence::Presence::Redis { conn, prefix },
            None => presence::Presence::Local(Arc::default()),
        };
        let receipts = hub::ReadReceipts {
            firm_sees_clients: settings.firm_sees_client_reads,
            clients_see_firm: settings.clients_see_firm_reads,
        };
        let caps = hub::SocketCaps {
            per_user: settings.max_sockets_per_user,
            per_address: settings.max_sockets_per_address,
            outbound_queue: settings.outbound_queue,
        };
        let watch = hub::WatchSettings {
            heartbeat: std::time::Duration::from_secs(settings.heartbeat_seconds.max(1)),
            recheck: std::time::Duration::from_secs(settings.recheck_seconds.max(1)),
            idle_timeout: config.idle_timeout,
            clock: clock.clone(),
        };
        let hub = hub::Hub::new(pool.clone(), bus, inbound, receipts, caps, watch);
        let vapid = match crate::notify::push::Vapid::load_or_create(
            &pool,
            keyring,
            vapid_subject(config),
        )
        .await
        {
            Ok(vapid) => Some(vapid),
            Err(err) => {
                // Like a matter key under the wrong KEK: the server serves, this one thing
                // fails until the right key is configured.
                tracing::error!(error = %err, "the VAPID key cannot be opened; Web Push is off");
                None
            }
        };
        let notifier = Arc::new(crate::notify::send::Notifier {
            settings: config.notify.clone(),
            pusher: crate::notify::push::Pusher::new(vapid, config.notify.push_services.clone())?,
            mailer: mailer.clone(),
            presence: presence.clone(),
            live: Arc::new(hub.clone()),
            clock: clock.clone(),
            firm_name: config.firm_name.clone(),
            public_url: config.public_url.clone(),
        });
        let deliver = crate::outbox::Routed {
            live: Arc::new(hub.clone()),
            mailer,
            notifier: notifier.clone(),
        };
        let outbox = Outbox::new(pool.clone(), Arc::new(deliver), config.outbox.clone());
        let writer = writer::Writer::spawn(
            crate::db::writer_pool(&pool, settings.writer_shards),
            clock,
            hub.clone(),
            outbox.clone(),
            writer::Batching {
                shards: settings.writer_shards,
                max_batch: settings.writer_max_batch,
                linger: std::time::Duration::from_millis(settings.writer_linger_ms),
            },
        );
        let channels = Self {
            hub,
            writer,
            presence,
            authorizer: authorizer::Authorizer::spawn(pool.clone()),
            rate: SendRate::new(settings.send_rate_per_second, settings.send_burst),
            notifier,
        };
        Ok((channels, outbox))
    }
}

/// Who push services may contact about this sender (VAPID's `sub`): the address mail comes from.
fn vapid_subject(config: &Config) -> String {
    let from = &config.mail_from;
    let address = from
        .rsplit_once('<')
        .and_then(|(_, rest)| rest.strip_suffix('>'))
        .unwrap_or(from)
        .trim();
    if address.contains('@') {
        format!("mailto:{address}")
    } else {
        config.public_url.clone()
    }
}

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ws", get(open_socket))
        .route("/matters/{matter_id}/events", get(list_events))
}

/// `GET /api/v1/ws`: upgrades to the channel socket.
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id))]
async fn open_socket(
    State(app): State<AppState>,
    signed: Signed,
    meta: ClientMeta,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response> {
    let offered = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == SUBPROTOCOL);
    if !offered {
        return Err(Error::InvalidInput(format!(
            "Offer the WebSocket subprotocol {SUBPROTOCOL}."
        )));
    }
    // A browser session's cookie rides along on any site's socket: only our own pages may use it.
    if signed.via_cookie {
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !origin_allowed(origin, &app.config.public_url) {
            return Err(Error::Forbidden);
        }
    }
    let admission = app
        .channels
        .hub
        .admit(signed.user.user_id, signed.session_id, meta.ip)
        .ok_or(Error::RateLimited {
            retry_after_secs: 10,
        })?;
    // The connection outlives this request, so it gets a span of its own: the connection and the
    // user, never frame contents.
    let span = tracing::info_span!(
        parent: None,
        "socket",
        conn_id = admission.conn,
        user_id = %signed.user.user_id,
        session_id = %signed.session_id,
    );
    // Boxed, so that the connection's state is not also carried, unused, in the upgrade's future.
    let connection = Box::new(socket::Connection::new(app, signed, admission));
    Ok(wire::configure(upgrade).on_upgrade(move |socket| connection.run(socket).instrument(span)))
}

/// `scheme://host[:port]` of the public URL, as browsers send it in `Origin`.
fn public_origin(public_url: &str) -> &str {
    let after_scheme = public_url.find("://").map_or(0, |i| i + 3);
    match public_url[after_scheme..].find('/') {
        Some(slash) => &public_url[..after_scheme + slash],
        None => public_url,
    }
}

/// Whether a browser page at `origin` may open a socket with its cookie: only the portal's own
/// origin. On a loopback public URL (the demo, development) the loopback names of the same scheme
/// and port count as one, since people type `localhost` as often as `127.0.0.1`; cookies are still
/// per host, so this opens nothing across sites.
fn origin_allowed(origin: &str, public_url: &str) -> bool {
    let public = public_origin(public_url);
    if origin == public {
        return true;
    }
    let loopback = |o: &str| {
        let (scheme, rest) = o.split_once("://")?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h, p),
            _ => (rest, ""),
        };
        matches!(host, "localhost" | "127.0.0.1" | "[::1]")
            .then(|| (scheme.to_owned(), port.to_owned()))
    };
    match (loopback(origin), loopback(public)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// History query parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Events after this `seq` (default 0: from the start).
    #[serde(default)]
    pub after: u64,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A page of a matter channel's history, oldest first: what the user may see of it.
#[utoipa::path(get, path = "/api/v1/matters/{matter_id}/events", tag = "channels",
    params(("matter_id" = MatterId, Path), HistoryQuery),
    responses((status = 200, body = EventPage), (status = 404, body = docket_protocol::error::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %signed.user.user_id, matter_id = %matter_id))]
pub async fn list_events(
    State(app): State<AppState>,
    signed: Signed,
    Path(matter_id): Path<MatterId>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<EventPage>> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Error::InvalidInput("limit must be 1 to 500".into()));
    }
    let mut tenant = signed.tenant(&app).await?;
    access::matter(&mut tenant, &signed.actor, matter_id, Action::ViewMatter).await?;
    let rows = store::page(tenant.conn(), matter_id, query.after, limit + 1).await?;
    let head = store::head(tenant.conn(), matter_id).await?;
    tenant.commit().await?;
    let more = rows.len() as i64 > limit;
    let events = rows
        .iter()
        .take(limit as usize)
        .map(store::StoredEvent::to_event)
        .collect();
    Ok(Json(EventPage {
        events,
        head_seq: head,
        more,
    }))
}

/// Per-user send rate on this node: a token bucket (`rate` per second, up to `burst`).
#[derive(Clone, Debug)]
pub struct SendRate {
    rate: f64,
    burst: f64,
    /// A std `Mutex`: a map update, never held across an await.
    buckets: Arc<Mutex<HashMap<UserId, (f64, OffsetDateTime)>>>,
}

impl SendRate {
    fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Arc::default(),
        }
    }

    /// Takes a token for `user` at `now` (the server's clock), if one is left.
    pub fn allow(&self, user: UserId, now: OffsetDateTime) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            buckets.retain(|_, (_, at)| (now - *at).whole_seconds() < 60);
        }
        let (tokens, at) = buckets.entry(user).or_insert((self.burst, now));
        let elapsed = (now - *at).as_seconds_f64().max(0.0);
        *tokens = (*tokens + elapsed * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_origin_strips_the_path() {
        assert_eq!(
            public_origin("https://portal.example/app"),
            "https://portal.example"
        );
        assert_eq!(
            public_origin("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn only_the_portals_origin_may_use_the_cookie() {
        assert!(origin_allowed(
            "https://portal.example",
            "https://portal.example/"
        ));
        assert!(!origin_allowed(
            "https://evil.example",
            "https://portal.example"
        ));
        assert!(!origin_allowed("", "https://portal.example"));
        assert!(origin_allowed(
            "http://localhost:8080",
            "http://127.0.0.1:8080"
        ));
        assert!(!origin_allowed(
            "http://localhost:8081",
            "http://127.0.0.1:8080"
        ));
        assert!(!origin_allowed(
            "https://localhost:8080",
            "http://127.0.0.1:8080"
        ));
        assert!(!origin_allowed(
            "http://localhost.evil.example:8080",
            "http://127.0.0.1:8080"
        ));
    }

    #[test]
    fn the_send_rate_allows_a_burst_then_refuses() {
        let rate = SendRate::new(1, 3);
        let user = UserId::new();
        let now = OffsetDateTime::now_utc();
        assert!((0..3).all(|_| rate.allow(user, now)));
        assert!(!rate.allow(user, now));
        assert!(rate.allow(UserId::new(), now), "buckets are per user");
        assert!(
            rate.allow(user, now + time::Duration::seconds(1)),
            "a token a second comes back"
        );
    }
}
