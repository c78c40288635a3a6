//! The node's watch over its sockets: the heartbeat, and the safety re-check of every socket's
//! session and access, in one task per node instead of two timers per socket.
//!
//! - Every heartbeat, each connection is told to ping its peer (and to give up on a peer that has
//!   not been heard for three heartbeats).
//! - Every re-check interval, one `docket_channel` transaction checks the session of every socket
//!   on the node (revoked, expired, idle), moves each session's `last_seen_at` forward to the
//!   activity its sockets saw, and re-evaluates every (user, matter) pair the sockets hold with
//!   the access policy's own statement. Sockets whose session ended are told to close; those whose
//!   scopes changed are told the new scopes.
//! - A control message (a session revoked, a user's access changed, a policy change) marks the
//!   sockets it concerns, and they are re-checked the same way within a few milliseconds: control
//!   is event-driven, and the interval is only the safety net under it.
//!
//! Idle sockets thus cost Postgres a handful of statements per node per interval, whatever their
//! number; pairs and sessions shared by many sockets are asked once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use docket_protocol::directory::Scope;
use docket_protocol::ids::{MatterId, SessionId, UserId};
use time::OffsetDateTime;

use super::{ConnId, ConnSignal, Hub, Mailbox};
use crate::channels::authorizer::scopes_of;
use crate::clock::Clock;
use crate::Result;

/// How long a marked socket waits for others before the urgent re-check runs: control messages
/// often come in bursts (a grant changed for several users), and one query serves them all.
const COALESCE: Duration = Duration::from_millis(20);

/// When the watch acts.
#[derive(Clone, Debug)]
pub struct WatchSettings {
    /// Ping period (not zero); a peer silent for three periods is dropped.
    pub heartbeat: Duration,
    /// The safety re-check's period (not zero).
    pub recheck: Duration,
    /// A session not seen for this long ends.
    pub idle_timeout: time::Duration,
    /// "Now" for expiry and idleness (the server's clock, controllable in tests).
    pub clock: Clock,
}

/// A matter a connection holds: followed (subscribed) or only acted on, with its scopes there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub scopes: Vec<Scope>,
    pub subscribed: bool,
}

/// What the watch and a connection's task share: the connection's activity and the matters it
/// holds. The task changes them; the watch reads them once per check.
#[derive(Debug, Default)]
pub struct Watched {
    /// Unix nanoseconds of the latest client frame not yet recorded on the session; 0 for none.
    activity: AtomicI64,
    /// A std `Mutex`: held to read or change the map, never across an await.
    held: Mutex<HashMap<MatterId, Held>>,
}

impl Watched {
    /// Notes a client frame at `at`.
    pub fn saw_activity(&self, at: OffsetDateTime) {
        let nanos = i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX);
        self.activity.fetch_max(nanos, Ordering::Relaxed);
    }

    /// The matters held, to read or change.
    pub fn held(&self) -> MutexGuard<'_, HashMap<MatterId, Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take_activity(&self) -> Option<OffsetDateTime> {
        let nanos = self.activity.swap(0, Ordering::Relaxed);
        (nanos > 0)
            .then(|| OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).ok())
            .flatten()
    }
}

/// Which sockets to re-check soon.
#[derive(Debug, Default)]
pub(super) struct Marked {
    all: bool,
    conns: HashSet<ConnId>,
}

impl Marked {
    fn take(&mut self) -> Option<Self> {
        (self.all || !self.conns.is_empty()).then(|| std::mem::take(self))
    }
}

/// Each heartbeat is spread over this many ticks, a slice of the node's sockets pinged at each:
/// ten thousand pings written in one burst held every other socket's frames back by a tenth of a
/// second or more.
const PING_SLICES: u64 = 20;

/// One socket as the check sees it.
struct Watching {
    session_id: SessionId,
    user_id: UserId,
    watched: Arc<Watched>,
    mailbox: Arc<Mailbox>,
}

impl Hub {
    /// Marks the sockets `conns` (or every socket) for a re-check within milliseconds.
    pub(super) fn mark(&self, conns: impl IntoIterator<Item = ConnId>, all: bool) {
        {
            let mut marked = self.0.marked.lock().unwrap_or_else(|e| e.into_inner());
            marked.all |= all;
            marked.conns.extend(conns);
        }
        self.0.urgent.notify_one();
    }

    /// Starts the watch's two tasks: the heartbeat and the checks.
    pub(super) fn start_watch(&self, settings: WatchSettings) {
        let hub = self.clone();
        let heartbeat = settings.heartbeat;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(heartbeat / PING_SLICES as u32);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            let mut slice = 0;
            loop {
                ticks.tick().await;
                hub.ping_slice(slice, PING_SLICES);
                slice = (slice + 1) % PING_SLICES;
            }
        });
        let hub = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(settings.recheck);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                let only = tokio::select! {
                    _ = ticks.tick() => None,
                    () = hub.0.urgent.notified() => {
                        tokio::time::sleep(COALESCE).await;
                        let marked = hub.0.marked.lock().unwrap_or_else(|e| e.into_inner()).take();
                        match marked {
                            Some(marked) if !marked.all => Some(marked.conns),
                            Some(_) => None,
                            None => continue,
                        }
                    }
                };
                hub.check(only.as_ref(), &settings).await;
            }
        });
    }

    /// Checks the sockets `only` names (or all of them): sessions, activity and access.
    async fn check(&self, only: Option<&HashSet<ConnId>>, settings: &WatchSettings) {
        let sockets: Vec<Watching> = {
            let conns = self.0.conns.lock().unwrap_or_else(|e| e.into_inner());
            conns
                .iter()
                .filter(|(id, _)| only.is_none_or(|only| only.contains(id)))
                .map(|(_, entry)| Watching {
                    session_id: entry.session_id,
                    user_id: entry.user_id,
                    watched: entry.watched.clone(),
                    mailbox: entry.mailbox.clone(),
                })
                .collect()
        };
        if sockets.is_empty() {
            return;
        }
        let activity: Vec<Option<OffsetDateTime>> =
            sockets.iter().map(|s| s.watched.take_activity()).collect();
        // The latest activity seen on each session's sockets.
        let mut seen: HashMap<SessionId, OffsetDateTime> = HashMap::new();
        for (socket, at) in sockets.iter().zip(&activity) {
            if let Some(at) = at {
                let latest = seen.entry(socket.session_id).or_insert(*at);
                *latest = (*latest).max(*at);
            }
        }
        let now = settings.clock.now();
        let found = self.look_up(&sockets, &seen).await;
        let (states, fresh) = match found {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(error = %err, "socket re-check failed; trying again later");
                for (socket, at) in sockets.iter().zip(&activity) {
                    if let Some(at) = at {
                        // Kept for the next check, which records it.
                        socket.watched.saw_activity(*at);
                    }
                }
                return;
            }
        };
        for socket in &sockets {
            let verdict = match states.get(&socket.session_id) {
                None => Some(ConnSignal::SessionEnded),
                Some(state) if !state.standing => Some(ConnSignal::SessionEnded),
                Some(state) if now >= state.expires_at => {
                    Some(ConnSignal::SessionExpired("absolute_lifetime"))
                }
                Some(state) => {
                    let last_seen = seen
                        .get(&socket.session_id)
                        .map_or(state.last_seen_at, |at| (*at).max(state.last_seen_at));
                    if now - last_seen >= settings.idle_timeout {
                        Some(ConnSignal::SessionExpired("idle_timeout"))
                    } else {
                        changed_access(socket, &fresh)
                    }
                }
            };
            if let Some(verdict) = verdict {
                socket.mailbox.signal(verdict);
            }
        }
    }

    /// One transaction: the sessions' states, the activity recorded, the held pairs' scopes.
    async fn look_up(
        &self,
        sockets: &[Watching],
        seen: &HashMap<SessionId, OffsetDateTime>,
    ) -> Result<(
        HashMap<SessionId, SessionState>,
        HashMap<(UserId, MatterId), Vec<Scope>>,
    )> {
        let mut sessions: Vec<uuid::Uuid> = sockets.iter().map(|s| s.session_id.0).collect();
        sessions.sort_unstable();
        sessions.dedup();
        let mut pairs: Vec<(UserId, MatterId)> = sockets
            .iter()
            .flat_map(|s| {
                let held = s.watched.held();
                held.keys().map(|m| (s.user_id, *m)).collect::<Vec<_>>()
            })
            .collect();
        pairs.sort_unstable_by_key(|(u, m)| (u.0, m.0));
        pairs.dedup();

        let mut tx = crate::db::channel_transaction(&self.0.pool).await?;
        let rows = sqlx::query!(
            r#"select session_id as "session_id!", standing as "standing!",
                      expires_at as "expires_at!", last_seen_at as "last_seen_at!"
               from socket_session_states($1)"#,
            &sessions
        )
        .fetch_all(&mut *tx)
        .await?;
        let states = rows
            .into_iter()
            .map(|r| {
                let state = SessionState {
                    standing: r.standing,
                    expires_at: r.expires_at,
                    last_seen_at: r.last_seen_at,
                };
                (SessionId(r.session_id), state)
            })
            .collect();
        if !seen.is_empty() {
            let (ids, ats): (Vec<uuid::Uuid>, Vec<OffsetDateTime>) =
                seen.iter().map(|(id, at)| (id.0, *at)).unzip();
            sqlx::query!("select socket_touch_sessions($1, $2)", &ids, &ats)
                .execute(&mut *tx)
                .await?;
        }
        let scopes = scopes_of(&mut tx, &pairs).await?;
        tx.commit().await?;
        Ok((states, pairs.into_iter().zip(scopes).collect()))
    }
}

/// A session as the check found it.
struct SessionState {
    /// Not revoked, fully signed in, and its user active.
    standing: bool,
    expires_at: OffsetDateTime,
    last_seen_at: OffsetDateTime,
}

/// The matters whose scopes changed for this socket, as a signal; `None` if none did.
fn changed_access(
    socket: &Watching,
    fresh: &HashMap<(UserId, MatterId), Vec<Scope>>,
) -> Option<ConnSignal> {
    let held = socket.watched.held();
    let changes: Vec<(MatterId, Vec<Scope>)> = held
        .iter()
        .filter_map(|(matter_id, held)| {
            let now = fresh.get(&(socket.user_id, *matter_id))?;
            (*now != held.scopes).then(|| (*matter_id, now.clone()))
        })
        .collect();
    (!changes.is_empty()).then_some(ConnSignal::Access(changes))
}
