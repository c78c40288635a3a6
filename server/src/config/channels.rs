//! The real-time channel settings (`[channels]` in the file, `DOCKET_WS_*` and friends in the
//! environment): socket limits, send rates, the group-commit writer and who sees read positions.
//! Resolved by [`super::Config::load`] like every other setting: environment over file over default.

use serde::Deserialize;

use super::load::parsed_env;

/// Real-time settings as a file may give them (`[channels]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChannelFileConfig {
    max_sockets_per_user: Option<usize>,
    max_sockets_per_address: Option<usize>,
    send_rate_per_second: Option<u32>,
    send_burst: Option<u32>,
    writer_shards: Option<usize>,
    writer_max_batch: Option<usize>,
    writer_linger_ms: Option<u64>,
    heartbeat_seconds: Option<u64>,
    recheck_seconds: Option<u64>,
    outbound_queue: Option<usize>,
    firm_sees_client_reads: Option<bool>,
    clients_see_firm_reads: Option<bool>,
}

/// Real-time channel settings.
#[derive(Debug, Clone)]
pub struct ChannelSettings {
    /// Open sockets one user may have on one node (`DOCKET_WS_MAX_PER_USER`, default 10).
    pub max_sockets_per_user: usize,
    /// Open sockets from one address on one node (`DOCKET_WS_MAX_PER_ADDRESS`, default 200).
    pub max_sockets_per_address: usize,
    /// Sustained messages per second per user (`DOCKET_SEND_RATE`, default 5).
    pub send_rate_per_second: u32,
    /// Messages a user may send in a burst (`DOCKET_SEND_BURST`, default 20).
    pub send_burst: u32,
    /// Group-commit writer tasks (`DOCKET_WRITER_SHARDS`, default 2).
    pub writer_shards: usize,
    /// Most sends in one transaction (`DOCKET_WRITER_MAX_BATCH`, default 256).
    pub writer_max_batch: usize,
    /// How long a writer waits, after the first send of a batch arrives, for more to share its
    /// commit (`DOCKET_WRITER_LINGER_MS`, default 0: a batch is what queued while the previous
    /// one committed). Each commit costs Postgres a fixed ~0.5 ms of CPU on the reference machine
    /// (`load-tests/README.md`); a few ms here trade that much latency for fewer commits.
    pub writer_linger_ms: u64,
    /// Ping interval (`DOCKET_WS_HEARTBEAT_SECONDS`, default 20).
    pub heartbeat_seconds: u64,
    /// How often the node's watch re-checks every open socket's session and access, in one batch
    /// (`DOCKET_WS_RECHECK_SECONDS`, default 30; changes that revoke access reach open sockets at
    /// once through control messages).
    pub recheck_seconds: u64,
    /// Frames queued per socket before it counts as a slow consumer (`DOCKET_WS_OUTBOUND_QUEUE`, default 256).
    pub outbound_queue: usize,
    /// Firm users see how far clients have read (`DOCKET_FIRM_SEES_CLIENT_READS`, default true).
    pub firm_sees_client_reads: bool,
    /// Clients see how far the firm has read (`DOCKET_CLIENTS_SEE_FIRM_READS`, default false).
    pub clients_see_firm_reads: bool,
}

impl Default for ChannelSettings {
    fn default() -> Self {
        Self {
            max_sockets_per_user: 10,
            max_sockets_per_address: 200,
            send_rate_per_second: 5,
            send_burst: 20,
            writer_shards: 2,
            writer_max_batch: 256,
            writer_linger_ms: 0,
            heartbeat_seconds: 20,
            recheck_seconds: 30,
            outbound_queue: 256,
            firm_sees_client_reads: true,
            clients_see_firm_reads: false,
        }
    }
}

impl ChannelSettings {
    pub(super) fn resolve(file: ChannelFileConfig) -> anyhow::Result<Self> {
        let d = Self::default();
        Ok(Self {
            max_sockets_per_user: parsed_env("DOCKET_WS_MAX_PER_USER")?
                .or(file.max_sockets_per_user)
                .unwrap_or(d.max_sockets_per_user),
            max_sockets_per_address: parsed_env("DOCKET_WS_MAX_PER_ADDRESS")?
                .or(file.max_sockets_per_address)
                .unwrap_or(d.max_sockets_per_address),
            send_rate_per_second: parsed_env("DOCKET_SEND_RATE")?
                .or(file.send_rate_per_second)
                .unwrap_or(d.send_rate_per_second),
            send_burst: parsed_env("DOCKET_SEND_BURST")?
                .or(file.send_burst)
                .unwrap_or(d.send_burst),
            writer_shards: parsed_env("DOCKET_WRITER_SHARDS")?
                .or(file.writer_shards)
                .unwrap_or(d.writer_shards),
            writer_max_batch: parsed_env("DOCKET_WRITER_MAX_BATCH")?
                .or(file.writer_max_batch)
                .unwrap_or(d.writer_max_batch),
            writer_linger_ms: parsed_env("DOCKET_WRITER_LINGER_MS")?
                .or(file.writer_linger_ms)
                .unwrap_or(d.writer_linger_ms),
            heartbeat_seconds: parsed_env("DOCKET_WS_HEARTBEAT_SECONDS")?
                .or(file.heartbeat_seconds)
                .unwrap_or(d.heartbeat_seconds),
            recheck_seconds: parsed_env("DOCKET_WS_RECHECK_SECONDS")?
                .or(file.recheck_seconds)
                .unwrap_or(d.recheck_seconds),
            outbound_queue: parsed_env("DOCKET_WS_OUTBOUND_QUEUE")?
                .or(file.outbound_queue)
                .unwrap_or(d.outbound_queue),
            firm_sees_client_reads: parsed_env("DOCKET_FIRM_SEES_CLIENT_READS")?
                .or(file.firm_sees_client_reads)
                .unwrap_or(d.firm_sees_client_reads),
            clients_see_firm_reads: parsed_env("DOCKET_CLIENTS_SEE_FIRM_READS")?
                .or(file.clients_see_firm_reads)
                .unwrap_or(d.clients_see_firm_reads),
        })
    }
}
