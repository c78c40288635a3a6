//! The outbox dispatcher's settings (`[outbox]` in the file, `DOCKET_OUTBOX_*` in the
//! environment): how long a committed announcement is left to the node that wrote it, how often
//! every node looks for what was left, and how a failing delivery backs off and is given up.

use serde::Deserialize;

use super::load::parsed_env;

/// Outbox settings as a file may give them (`[outbox]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutboxFileConfig {
    grace_ms: Option<u64>,
    poll_ms: Option<u64>,
    retry_base_ms: Option<u64>,
    max_attempts: Option<i32>,
}

/// Outbox settings.
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// How long after its commit a row is left to the node that wrote it, whose fast path
    /// publishes at once, before any node's dispatcher takes it over (`DOCKET_OUTBOX_GRACE_MS`,
    /// default 2000). Shorter means a crashed node's announcements arrive sooner, and more rows
    /// delivered twice (harmlessly: consumers are idempotent).
    pub grace_ms: u64,
    /// How often each node's dispatcher looks for rows (`DOCKET_OUTBOX_POLL_MS`, default 500).
    pub poll_ms: u64,
    /// The first retry's delay; each later one doubles it, up to five minutes
    /// (`DOCKET_OUTBOX_RETRY_BASE_MS`, default 1000).
    pub retry_base_ms: u64,
    /// Attempts before a row is dead-lettered for an operator (`DOCKET_OUTBOX_MAX_ATTEMPTS`,
    /// default 10: with the default back-off, about eight and a half minutes of trying).
    pub max_attempts: i32,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            grace_ms: 2_000,
            poll_ms: 500,
            retry_base_ms: 1_000,
            max_attempts: 10,
        }
    }
}

impl OutboxSettings {
    pub(super) fn resolve(file: OutboxFileConfig) -> anyhow::Result<Self> {
        let d = Self::default();
        let settings = Self {
            grace_ms: parsed_env("DOCKET_OUTBOX_GRACE_MS")?
                .or(file.grace_ms)
                .unwrap_or(d.grace_ms),
            poll_ms: parsed_env("DOCKET_OUTBOX_POLL_MS")?
                .or(file.poll_ms)
                .unwrap_or(d.poll_ms),
            retry_base_ms: parsed_env("DOCKET_OUTBOX_RETRY_BASE_MS")?
                .or(file.retry_base_ms)
                .unwrap_or(d.retry_base_ms),
            max_attempts: parsed_env("DOCKET_OUTBOX_MAX_ATTEMPTS")?
                .or(file.max_attempts)
                .unwrap_or(d.max_attempts),
        };
        anyhow::ensure!(
            settings.max_attempts >= 1,
            "DOCKET_OUTBOX_MAX_ATTEMPTS must be at least 1"
        );
        anyhow::ensure!(
            settings.poll_ms >= 10,
            "DOCKET_OUTBOX_POLL_MS must be at least 10"
        );
        Ok(settings)
    }
}
