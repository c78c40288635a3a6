//! Fan-out between nodes. With Redis configured, every node publishes what it commits to a Redis
//! channel per matter and subscribes (once per node, not per socket) to the channels of the
//! matters its sockets follow, plus one control channel. Without Redis the bus is this process.
//!
//! Redis holds nothing that cannot be rebuilt: after a Redis outage each room catches up from
//! Postgres by `seq`, so a message published while Redis was down is still delivered.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docket_protocol::directory::Scope;
use docket_protocol::ids::{AlertId, MatterId, UserId};
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::outbox::Control;

/// What travels between nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BusMessage {
    /// The node that sent it; a node ignores its own messages (it delivered them locally already).
    pub origin: Uuid,
    pub payload: BusPayload,
}

/// The content of a bus message.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum BusPayload {
    /// A committed channel event, already serialised as the socket frame.
    Event {
        matter_id: MatterId,
        seq: u64,
        scope: Scope,
        frame: String,
    },
    /// An ephemeral frame (typing, presence, read position) for a matter's sockets.
    Ephemeral {
        matter_id: MatterId,
        scope: Scope,
        reader_is_firm: Option<bool>,
        frame: String,
    },
    /// Something that changes what open sockets may see.
    Control(Control),
    /// An alert for a user's open sockets: `frame` is the serialised `ServerFrame::Alert`; a node
    /// delivers each `alert_id` once, however many times it arrives.
    Alert {
        user_id: UserId,
        alert_id: AlertId,
        frame: String,
    },
}

/// The node's connection to the other nodes.
#[derive(Clone, Debug)]
pub struct Bus {
    node_id: Uuid,
    redis: Option<RedisBus>,
}

#[derive(Clone)]
struct RedisBus {
    prefix: String,
    publisher: ConnectionManager,
    /// Matters the node wants; the subscriber task (re)subscribes to these.
    wanted: Arc<Mutex<HashSet<MatterId>>>,
    commands: mpsc::UnboundedSender<SubscriberCommand>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

enum SubscriberCommand {
    /// Subscribe, and say when Redis confirmed it.
    Subscribe(MatterId, tokio::sync::oneshot::Sender<()>),
    Unsubscribe(MatterId),
}

/// What the bus hands to the node: messages from other nodes, and a signal after (re)connecting,
/// when rooms must catch up on what they may have missed.
#[derive(Debug)]
pub enum Inbound {
    Message(BusMessage),
    Reconnected,
}

impl Bus {
    /// An in-process bus (single node).
    pub fn local() -> Self {
        Self {
            node_id: Uuid::new_v4(),
            redis: None,
        }
    }

    /// A Redis bus; `inbound` receives other nodes' messages.
    pub async fn redis(
        url: &str,
        prefix: String,
        inbound: mpsc::UnboundedSender<Inbound>,
    ) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        // A publish fails within seconds while Redis is away, rather than waiting out a long
        // reconnection: the outbox retries it, and a hung publish would hold the row's lock.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1))
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let publisher = ConnectionManager::new_with_config(client.clone(), config).await?;
        let wanted = Arc::new(Mutex::new(HashSet::new()));
        let (commands, command_rx) = mpsc::unbounded_channel();
        let node_id = Uuid::new_v4();
        tokio::spawn(subscriber(
            client,
            prefix.clone(),
            wanted.clone(),
            command_rx,
            inbound,
        ));
        Ok(Self {
            node_id,
            redis: Some(RedisBus {
                prefix,
                publisher,
                wanted,
                commands,
            }),
        })
    }

    /// This node's id.
    pub fn node_id(&self) -> Uuid {
        self.node_id
    }

    /// Whether other nodes exist to talk to.
    pub fn is_distributed(&self) -> bool {
        self.redis.is_some()
    }

    /// Publishes to the other nodes. A failure is returned for the outbox to retry, and logged.
    pub async fn publish(&self, payload: BusPayload) -> Result<(), String> {
        self.publish_all(vec![payload]).await
    }

    /// Publishes several messages in one round trip (a pipeline), in order.
    pub async fn publish_all(&self, payloads: Vec<BusPayload>) -> Result<(), String> {
        let Some(redis) = &self.redis else {
            return Ok(());
        };
        if payloads.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for payload in payloads {
            let channel = match &payload {
                BusPayload::Event { matter_id, .. } | BusPayload::Ephemeral { matter_id, .. } => {
                    redis.matter_channel(*matter_id)
                }
                BusPayload::Control(_) | BusPayload::Alert { .. } => redis.control_channel(),
            };
            match serde_json::to_string(&BusMessage {
                origin: self.node_id,
                payload,
            }) {
                Ok(body) => {
                    pipe.cmd("PUBLISH").arg(channel).arg(body).ignore();
                }
                Err(err) => tracing::error!(error = %err, "bus message does not serialise"),
            }
        }
        let result: redis::RedisResult<()> = pipe.query_async(&mut redis.publisher.clone()).await;
        result.map_err(|err| {
            tracing::warn!(error = %err, "publishing to Redis failed; the outbox will retry");
            format!("publishing to Redis failed: {err}")
        })
    }

    /// Starts receiving a matter's messages from other nodes; returns once Redis confirmed the
    /// subscription (or after a short wait if Redis is unreachable: the room then catches up when
    /// the bus reconnects).
    pub async fn follow(&self, matter_id: MatterId) {
        if let Some(redis) = &self.redis {
            redis
                .wanted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(matter_id);
            let (done, confirmed) = tokio::sync::oneshot::channel();
            let _ = redis
                .commands
                .send(SubscriberCommand::Subscribe(matter_id, done));
            let _ = tokio::time::timeout(Duration::from_secs(2), confirmed).await;
        }
    }

    /// Stops receiving a matter's messages.
    pub fn unfollow(&self, matter_id: MatterId) {
        if let Some(redis) = &self.redis {
            redis
                .wanted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&matter_id);
            let _ = redis
                .commands
                .send(SubscriberCommand::Unsubscribe(matter_id));
        }
    }

    /// A Redis connection for other uses (presence), if configured.
    pub fn redis_connection(&self) -> Option<(ConnectionManager, String)> {
        self.redis
            .as_ref()
            .map(|r| (r.publisher.clone(), r.prefix.clone()))
    }
}

impl RedisBus {
    fn matter_channel(&self, matter_id: MatterId) -> String {
        format!("{}m:{matter_id}", self.prefix)
    }

    fn control_channel(&self) -> String {
        format!("{}control", self.prefix)
    }
}

/// The subscriber connection: reconnects with back-off, re-subscribes to every wanted matter and
/// tells the node to catch up after each reconnection. It only parses and forwards; it never
/// waits on a socket.
async fn subscriber(
    client: redis::Client,
    prefix: String,
    wanted: Arc<Mutex<HashSet<MatterId>>>,
    mut commands: mpsc::UnboundedReceiver<SubscriberCommand>,
    inbound: mpsc::UnboundedSender<Inbound>,
) {
    let mut backoff = Duration::from_millis(100);
    let mut first = true;
    loop {
        match client.get_async_pubsub().await {
            Ok(pubsub) => {
                let (mut sink, mut stream) = pubsub.split();
                let control = format!("{prefix}control");
                let channels: Vec<String> = std::iter::once(control)
                    .chain(
                        wanted
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .iter()
                            .map(|m| format!("{prefix}m:{m}")),
                    )
                    .collect();
                if let Err(err) = sink.subscribe(&channels).await {
                    tracing::warn!(error = %err, "subscribing to Redis failed");
                } else {
                    backoff = Duration::from_millis(100);
                    if !first {
                        tracing::info!("reconnected to Redis");
                        let _ = inbound.send(Inbound::Reconnected);
                    }
                    first = false;
                    loop {
                        tokio::select! {
                            message = stream.next() => {
                                let Some(message) = message else { break };
                                match serde_json::from_slice::<BusMessage>(message.get_payload_bytes()) {
                                    Ok(message) => { let _ = inbound.send(Inbound::Message(message)); }
                                    Err(err) => tracing::warn!(error = %err, "unreadable bus message"),
                                }
                            }
                            command = commands.recv() => {
                                let result = match command {
                                    Some(SubscriberCommand::Subscribe(m, done)) => {
                                        let result = sink.subscribe(format!("{prefix}m:{m}")).await;
                                        let _ = done.send(());
                                        result
                                    }
                                    Some(SubscriberCommand::Unsubscribe(m)) => sink.unsubscribe(format!("{prefix}m:{m}")).await,
                                    None => return,
                                };
                                if let Err(err) = result {
                                    tracing::warn!(error = %err, "Redis subscription change failed");
                                    break;
                                }
                            }
                        }
                    }
                }
                tracing::warn!("lost the Redis subscription; reconnecting");
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot reach Redis; retrying");
                first = false;
            }
        }
        // Anything that happened meanwhile is caught up from Postgres after reconnecting.
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
