//! Presence: who is online or away in each matter. In Redis when configured (a hash per matter,
//! one field per connection, each carrying its own expiry so a crashed node's entries lapse), else
//! in this process. Nothing here is ever the record; it is rebuilt by connections refreshing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use docket_protocol::channel::{PresenceEntry, PresenceState};
use docket_protocol::ids::{MatterId, UserId};
use redis::aio::ConnectionManager;
use time::OffsetDateTime;

/// How long an entry lives without a refresh.
pub const ENTRY_TTL_SECS: i64 = 90;

/// How long a "viewing" entry lives: clients say it again at least every minute while it holds.
pub const VIEWING_TTL_SECS: i64 = 75;

/// In-memory presence: per matter, per `user/connection` field, the state and its expiry; and per
/// user, per connection, the matter they look at and its expiry.
#[derive(Debug, Default)]
pub struct LocalPresence {
    matters: Mutex<HashMap<MatterId, Entries<PresenceState>>>,
    viewing: Mutex<HashMap<UserId, Entries<MatterId>>>,
}

/// Per connection key, a value and its expiry (Unix seconds).
type Entries<T> = HashMap<String, (T, i64)>;

/// Where presence lives.
#[derive(Clone)]
pub enum Presence {
    Local(Arc<LocalPresence>),
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Local(_) => "Presence::Local",
            Self::Redis { .. } => "Presence::Redis",
        })
    }
}

fn field(user_id: UserId, connection: &str) -> String {
    format!("{user_id}/{connection}")
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

impl Presence {
    /// Records a connection's state in a matter (and refreshes its expiry).
    pub async fn set(
        &self,
        matter_id: MatterId,
        user_id: UserId,
        connection: &str,
        state: PresenceState,
    ) {
        let expires = now() + ENTRY_TTL_SECS;
        match self {
            Self::Local(local) => {
                local
                    .matters
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(matter_id)
                    .or_default()
                    .insert(field(user_id, connection), (state, expires));
            }
            Self::Redis { conn, prefix } => {
                let key = format!("{prefix}presence:{matter_id}");
                let value = format!("{}:{expires}", state_name(state));
                let result: redis::RedisResult<()> = redis::pipe()
                    .hset(&key, field(user_id, connection), value)
                    .ignore()
                    .expire(&key, ENTRY_TTL_SECS * 2)
                    .ignore()
                    .query_async(&mut conn.clone())
                    .await;
                if let Err(err) = result {
                    tracing::debug!(error = %err, "presence not recorded");
                }
            }
        }
    }

    /// Forgets a connection in a matter; returns the user's presence afterwards.
    pub async fn remove(
        &self,
        matter_id: MatterId,
        user_id: UserId,
        connection: &str,
    ) -> PresenceState {
        match self {
            Self::Local(local) => {
                if let Some(entries) = local
                    .matters
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_mut(&matter_id)
                {
                    entries.remove(&field(user_id, connection));
                }
            }
            Self::Redis { conn, prefix } => {
                let result: redis::RedisResult<()> = redis::cmd("HDEL")
                    .arg(format!("{prefix}presence:{matter_id}"))
                    .arg(field(user_id, connection))
                    .query_async(&mut conn.clone())
                    .await;
                if let Err(err) = result {
                    tracing::debug!(error = %err, "presence not removed");
                }
            }
        }
        self.list(matter_id)
            .await
            .into_iter()
            .find(|e| e.user_id == user_id)
            .map_or(PresenceState::Offline, |e| e.state)
    }

    /// Everyone present in a matter: online if any of their connections is, else away.
    pub async fn list(&self, matter_id: MatterId) -> Vec<PresenceEntry> {
        let entries: Vec<(String, String)> = match self {
            Self::Local(local) => local
                .matters
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&matter_id)
                .map(|m| {
                    m.iter()
                        .map(|(f, (s, exp))| (f.clone(), format!("{}:{exp}", state_name(*s))))
                        .collect()
                })
                .unwrap_or_default(),
            Self::Redis { conn, prefix } => redis::cmd("HGETALL")
                .arg(format!("{prefix}presence:{matter_id}"))
                .query_async(&mut conn.clone())
                .await
                .unwrap_or_default(),
        };
        let now = now();
        let mut by_user: HashMap<UserId, PresenceState> = HashMap::new();
        for (field, value) in entries {
            let (Some((user, _)), Some((state, expires))) =
                (field.split_once('/'), value.split_once(':'))
            else {
                continue;
            };
            let (Ok(user), Ok(expires)) = (user.parse::<UserId>(), expires.parse::<i64>()) else {
                continue;
            };
            if expires < now {
                continue;
            }
            let state = if state == "online" {
                PresenceState::Online
            } else {
                PresenceState::Away
            };
            let entry = by_user.entry(user).or_insert(state);
            if state == PresenceState::Online {
                *entry = PresenceState::Online;
            }
        }
        by_user
            .into_iter()
            .map(|(user_id, state)| PresenceEntry { user_id, state })
            .collect()
    }
}

impl Presence {
    /// Records which matter a connection shows on a visible screen (none: it shows none).
    pub async fn set_viewing(&self, user_id: UserId, connection: &str, matter: Option<MatterId>) {
        let expires = now() + VIEWING_TTL_SECS;
        match self {
            Self::Local(local) => {
                let mut viewing = local.viewing.lock().unwrap_or_else(|e| e.into_inner());
                let entries = viewing.entry(user_id).or_default();
                match matter {
                    Some(m) => {
                        entries.insert(connection.to_owned(), (m, expires));
                    }
                    None => {
                        entries.remove(connection);
                    }
                }
            }
            Self::Redis { conn, prefix } => {
                let key = format!("{prefix}viewing:{user_id}");
                let mut pipe = redis::pipe();
                match matter {
                    Some(m) => pipe
                        .hset(&key, connection, format!("{m}:{expires}"))
                        .ignore(),
                    None => pipe.hdel(&key, connection).ignore(),
                };
                let result: redis::RedisResult<()> = pipe
                    .expire(&key, VIEWING_TTL_SECS * 2)
                    .ignore()
                    .query_async(&mut conn.clone())
                    .await;
                if let Err(err) = result {
                    tracing::debug!(error = %err, "viewing not recorded");
                }
            }
        }
    }

    /// Whether any of the user's connections shows `matter` on a visible screen now. If Redis
    /// cannot say, no: a notice too many beats a missed one.
    pub async fn is_viewing(&self, user_id: UserId, matter: MatterId) -> bool {
        let now = now();
        let entries: Vec<(MatterId, i64)> = match self {
            Self::Local(local) => local
                .viewing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&user_id)
                .map(|m| m.values().copied().collect())
                .unwrap_or_default(),
            Self::Redis { conn, prefix } => {
                let values: Vec<String> = redis::cmd("HVALS")
                    .arg(format!("{prefix}viewing:{user_id}"))
                    .query_async(&mut conn.clone())
                    .await
                    .unwrap_or_default();
                values
                    .iter()
                    .filter_map(|v| {
                        let (m, exp) = v.split_once(':')?;
                        Some((m.parse().ok()?, exp.parse().ok()?))
                    })
                    .collect()
            }
        };
        entries.iter().any(|(m, exp)| *m == matter && *exp >= now)
    }
}

fn state_name(state: PresenceState) -> &'static str {
    match state {
        PresenceState::Online => "online",
        PresenceState::Away => "away",
        PresenceState::Offline => "offline",
    }
}
