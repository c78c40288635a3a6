//! Configuration: defaults, overlaid by an optional TOML file, overlaid by `DOCKET_*` environment
//! variables (plus the conventional `DATABASE_URL` and `REDIS_URL`). Secrets are [`SecretString`]s:
//! they never appear in `Debug` output or logs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use data_encoding::BASE64;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::Duration;

/// The key used when none is configured. Fine for a demo on one's own machine, refused by
/// `docket serve` anywhere else (see [`Config::check_production_safety`]).
const DEMO_KEY_ENCRYPTION_KEY: [u8; 32] = *b"docket-demo-key-not-for-real-use";

/// Where Vite puts the web client's build, seen from the repository root.
const DEFAULT_WEB_DIR: &str = "clients/web/dist";

/// The settings as a file may give them; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    public_url: Option<String>,
    database_url: Option<SecretString>,
    migration_database_url: Option<SecretString>,
    redis_url: Option<SecretString>,
    key_encryption_key: Option<SecretString>,
    previous_key_encryption_keys: Option<SecretString>,
    cookie_secure: Option<bool>,
    idle_timeout_minutes: Option<u32>,
    absolute_lifetime_hours: Option<u32>,
    invitation_ttl_hours: Option<u32>,
    data_dir: Option<PathBuf>,
    firm_name: Option<String>,
    max_body_bytes: Option<usize>,
    redis_prefix: Option<String>,
    web_dir: Option<PathBuf>,
    clamd: Option<String>,
    max_upload_mb: Option<u64>,
    blob_store: Option<String>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    s3_access_key_id: Option<String>,
    s3_secret_access_key: Option<SecretString>,
    s3_allow_http: Option<bool>,
    #[serde(default)]
    channels: ChannelFileConfig,
}

/// Real-time settings as a file may give them (`[channels]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelFileConfig {
    max_sockets_per_user: Option<usize>,
    max_sockets_per_address: Option<usize>,
    send_rate_per_second: Option<u32>,
    send_burst: Option<u32>,
    writer_shards: Option<usize>,
    writer_max_batch: Option<usize>,
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
    /// Ping interval (`DOCKET_WS_HEARTBEAT_SECONDS`, default 20).
    pub heartbeat_seconds: u64,
    /// How often an open socket re-checks its session and access (`DOCKET_WS_RECHECK_SECONDS`,
    /// default 30; changes that revoke access reach open sockets at once through control messages).
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
            heartbeat_seconds: 20,
            recheck_seconds: 30,
            outbound_queue: 256,
            firm_sees_client_reads: true,
            clients_see_firm_reads: false,
        }
    }
}

impl ChannelSettings {
    fn resolve(file: ChannelFileConfig) -> anyhow::Result<Self> {
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

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the HTTP server listens (`DOCKET_LISTEN`).
    pub listen: SocketAddr,
    /// The address users reach the portal at, for links in e-mails (`DOCKET_PUBLIC_URL`).
    pub public_url: String,
    /// The runtime role's connection (`DATABASE_URL`): neither owner nor BYPASSRLS.
    pub database_url: Option<SecretString>,
    /// The owner role's connection, for migrations and admin commands
    /// (`DOCKET_MIGRATION_DATABASE_URL`, else `DATABASE_URL`).
    pub migration_database_url: Option<SecretString>,
    /// Redis for fan-out and presence (`REDIS_URL`); none means the in-process bus.
    pub redis_url: Option<SecretString>,
    /// The key-encryption key, 32 bytes (`DOCKET_KEY_ENCRYPTION_KEY`, base64).
    pub key_encryption_key: SecretBox32,
    /// Key-encryption keys replaced by a rotation (`DOCKET_PREVIOUS_KEY_ENCRYPTION_KEYS`, base64,
    /// comma-separated): they only open what they sealed, until `docket admin rotate-keys` has
    /// re-sealed it under the current key.
    pub previous_key_encryption_keys: Vec<SecretBox32>,
    /// True when no key was configured and the built-in demo key is in use.
    pub key_is_default: bool,
    /// Whether cookies carry `Secure` (`DOCKET_COOKIE_SECURE`).
    pub cookie_secure: bool,
    /// Inactivity after which a session ends (`DOCKET_IDLE_TIMEOUT_MINUTES`, default 15).
    pub idle_timeout: Duration,
    /// The longest a session lives, active or not (`DOCKET_ABSOLUTE_LIFETIME_HOURS`, default 12).
    pub absolute_lifetime: Duration,
    /// How long an invitation link stays valid (`DOCKET_INVITATION_TTL_HOURS`, default 72).
    pub invitation_ttl: Duration,
    /// Local state: the mail spool, document blobs by default (`DOCKET_DATA_DIR`, default `.docket`).
    pub data_dir: PathBuf,
    /// Shown in authenticator apps and e-mails (`DOCKET_FIRM_NAME`).
    pub firm_name: String,
    /// Largest JSON body accepted (`DOCKET_MAX_BODY_BYTES`, default 64 KiB).
    pub max_body_bytes: usize,
    /// Prefix of every Redis key and channel (`DOCKET_REDIS_PREFIX`, default `docket:`), so
    /// deployments (and tests) can share a Redis.
    pub redis_prefix: String,
    /// The built web client, served at `/` (`DOCKET_WEB_DIR`, default `clients/web/dist`, relative
    /// to the working directory). Missing is fine: the API still works.
    pub web_dir: PathBuf,
    /// ClamAV's daemon (`DOCKET_CLAMD`): `host:port` or a unix socket path. None means uploads
    /// are not scanned for malware. See [`crate::intake::Clamd`].
    pub clamd: Option<String>,
    /// Largest upload, in MiB (`DOCKET_MAX_UPLOAD_MB`, default 100); see
    /// [`Config::max_upload_bytes`].
    pub max_upload_mb: u64,
    /// Where encrypted document blobs live (`DOCKET_BLOB_STORE`): `file:///absolute/path` or
    /// `s3://bucket/prefix`; `None` means `<data_dir>/blobs`. See [`crate::vault::BlobStore`].
    pub blob_store: Option<String>,
    /// The S3-compatible endpoint (`DOCKET_S3_ENDPOINT`); none means AWS itself.
    pub s3_endpoint: Option<String>,
    /// The bucket's region (`DOCKET_S3_REGION`, default `eu-west-2`, London: keeps a UK firm's
    /// documents in the UK unless it says otherwise).
    pub s3_region: String,
    /// S3 credentials (`DOCKET_S3_ACCESS_KEY_ID`, `DOCKET_S3_SECRET_ACCESS_KEY`); none means the
    /// instance's role (instance metadata).
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<SecretString>,
    /// Allows a plain-HTTP S3 endpoint (`DOCKET_S3_ALLOW_HTTP`, default false): for local test
    /// servers only.
    pub s3_allow_http: bool,
    /// Real-time channel settings.
    pub channels: ChannelSettings,
}

/// The default S3 region: London.
const DEFAULT_S3_REGION: &str = "eu-west-2";

/// The default upload limit, in MiB.
const DEFAULT_MAX_UPLOAD_MB: u64 = 100;

/// A 32-byte secret. Its `Debug` shows nothing.
pub type SecretBox32 = std::sync::Arc<secrecy::SecretBox<[u8; 32]>>;

impl Config {
    /// Reads the optional file (`path`, else `DOCKET_CONFIG`), then the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let path = path
            .map(Path::to_path_buf)
            .or_else(|| env("DOCKET_CONFIG").map(PathBuf::from));
        let file = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        Self::resolve(file)
    }

    fn resolve(file: FileConfig) -> anyhow::Result<Self> {
        let listen = match env("DOCKET_LISTEN") {
            Some(v) => v
                .parse()
                .with_context(|| format!("DOCKET_LISTEN={v} is not host:port"))?,
            None => file
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
        };
        let public_url = env("DOCKET_PUBLIC_URL")
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        let database_url = secret_env("DATABASE_URL").or(file.database_url);
        let migration_database_url = secret_env("DOCKET_MIGRATION_DATABASE_URL")
            .or(file.migration_database_url)
            .or_else(|| database_url.clone());
        let key = secret_env("DOCKET_KEY_ENCRYPTION_KEY").or(file.key_encryption_key);
        let key_is_default = key.is_none();
        let key_bytes = match key {
            Some(key) => decode_key(key.expose_secret())?,
            None => DEMO_KEY_ENCRYPTION_KEY,
        };
        let previous_key_encryption_keys = match secret_env("DOCKET_PREVIOUS_KEY_ENCRYPTION_KEYS")
            .or(file.previous_key_encryption_keys)
        {
            Some(keys) => decode_previous_keys(keys.expose_secret())?,
            None => Vec::new(),
        };
        Ok(Self {
            listen,
            public_url: public_url.trim_end_matches('/').to_owned(),
            database_url,
            migration_database_url,
            redis_url: secret_env("REDIS_URL").or(file.redis_url),
            key_encryption_key: std::sync::Arc::new(secrecy::SecretBox::new(Box::new(key_bytes))),
            previous_key_encryption_keys,
            key_is_default,
            cookie_secure: parsed_env("DOCKET_COOKIE_SECURE")?
                .or(file.cookie_secure)
                .unwrap_or(true),
            idle_timeout: Duration::minutes(
                parsed_env("DOCKET_IDLE_TIMEOUT_MINUTES")?
                    .or(file.idle_timeout_minutes)
                    .unwrap_or(15)
                    .into(),
            ),
            absolute_lifetime: Duration::hours(
                parsed_env("DOCKET_ABSOLUTE_LIFETIME_HOURS")?
                    .or(file.absolute_lifetime_hours)
                    .unwrap_or(12)
                    .into(),
            ),
            invitation_ttl: Duration::hours(
                parsed_env("DOCKET_INVITATION_TTL_HOURS")?
                    .or(file.invitation_ttl_hours)
                    .unwrap_or(72)
                    .into(),
            ),
            data_dir: env("DOCKET_DATA_DIR")
                .map(PathBuf::from)
                .or(file.data_dir)
                .unwrap_or_else(|| ".docket".into()),
            firm_name: env("DOCKET_FIRM_NAME")
                .or(file.firm_name)
                .unwrap_or_else(|| "Docket".into()),
            max_body_bytes: parsed_env("DOCKET_MAX_BODY_BYTES")?
                .or(file.max_body_bytes)
                .unwrap_or(64 * 1024),
            redis_prefix: env("DOCKET_REDIS_PREFIX")
                .or(file.redis_prefix)
                .unwrap_or_else(|| "docket:".into()),
            web_dir: env("DOCKET_WEB_DIR")
                .map(PathBuf::from)
                .or(file.web_dir)
                .unwrap_or_else(|| DEFAULT_WEB_DIR.into()),
            clamd: env("DOCKET_CLAMD").or(file.clamd),
            max_upload_mb: parsed_env("DOCKET_MAX_UPLOAD_MB")?
                .or(file.max_upload_mb)
                .unwrap_or(DEFAULT_MAX_UPLOAD_MB),
            blob_store: env("DOCKET_BLOB_STORE").or(file.blob_store),
            s3_endpoint: env("DOCKET_S3_ENDPOINT").or(file.s3_endpoint),
            s3_region: env("DOCKET_S3_REGION")
                .or(file.s3_region)
                .unwrap_or_else(|| DEFAULT_S3_REGION.into()),
            s3_access_key_id: env("DOCKET_S3_ACCESS_KEY_ID").or(file.s3_access_key_id),
            s3_secret_access_key: secret_env("DOCKET_S3_SECRET_ACCESS_KEY")
                .or(file.s3_secret_access_key),
            s3_allow_http: parsed_env("DOCKET_S3_ALLOW_HTTP")?
                .or(file.s3_allow_http)
                .unwrap_or(false),
            channels: ChannelSettings::resolve(file.channels)?,
        })
    }

    /// Defaults only, ignoring the environment: the base for tests and the demo.
    pub fn defaults() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://127.0.0.1:8080".into(),
            database_url: None,
            migration_database_url: None,
            redis_url: None,
            key_encryption_key: std::sync::Arc::new(secrecy::SecretBox::new(Box::new(
                DEMO_KEY_ENCRYPTION_KEY,
            ))),
            previous_key_encryption_keys: Vec::new(),
            key_is_default: true,
            cookie_secure: true,
            idle_timeout: Duration::minutes(15),
            absolute_lifetime: Duration::hours(12),
            invitation_ttl: Duration::hours(72),
            data_dir: ".docket".into(),
            firm_name: "Docket".into(),
            max_body_bytes: 64 * 1024,
            redis_prefix: "docket:".into(),
            web_dir: DEFAULT_WEB_DIR.into(),
            clamd: None,
            max_upload_mb: DEFAULT_MAX_UPLOAD_MB,
            blob_store: None,
            s3_endpoint: None,
            s3_region: DEFAULT_S3_REGION.into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: false,
            channels: ChannelSettings::default(),
        }
    }

    /// The largest upload, in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_mb.saturating_mul(1024 * 1024)
    }

    /// Refuses a configuration that is unsafe outside one's own machine, saying what to fix.
    pub fn check_production_safety(&self) -> anyhow::Result<()> {
        let local = self.listen.ip().is_loopback();
        let mut problems = Vec::new();
        if self.key_is_default && !local {
            problems.push(
                "DOCKET_KEY_ENCRYPTION_KEY is not set, so the built-in demo key would protect real data: \
                 set it to 32 random bytes in base64 (e.g. `openssl rand -base64 32`)",
            );
        }
        if !self.cookie_secure && !local {
            problems.push(
                "DOCKET_COOKIE_SECURE=false sends session cookies over plain HTTP: \
                 remove it and put TLS in front of Docket",
            );
        }
        if !local && !self.public_url.starts_with("https://") {
            problems.push(
                "DOCKET_PUBLIC_URL must be an https:// address when listening beyond localhost: \
                 terminate TLS in front of Docket and set the public address",
            );
        }
        if self.idle_timeout <= Duration::ZERO || self.absolute_lifetime < self.idle_timeout {
            problems
                .push("the idle timeout must be positive and no longer than the absolute lifetime");
        }
        if problems.is_empty() {
            return Ok(());
        }
        bail!(
            "refusing to start with an unsafe configuration:\n  - {}",
            problems.join("\n  - ")
        )
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn secret_env(name: &str) -> Option<SecretString> {
    env(name).map(SecretString::from)
}

fn parsed_env<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match env(name) {
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{name}={v} is not a valid value")),
        None => Ok(None),
    }
}

fn decode_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let key = decode_key_named("DOCKET_KEY_ENCRYPTION_KEY", text)?;
    if key == DEMO_KEY_ENCRYPTION_KEY {
        bail!("DOCKET_KEY_ENCRYPTION_KEY is the built-in demo key; generate a real one");
    }
    Ok(key)
}

/// The previous keys, comma-separated. The demo key is allowed here: moving off it is a rotation.
fn decode_previous_keys(text: &str) -> anyhow::Result<Vec<SecretBox32>> {
    text.split(',')
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(|key| {
            let key = decode_key_named("DOCKET_PREVIOUS_KEY_ENCRYPTION_KEYS", key)?;
            Ok(std::sync::Arc::new(secrecy::SecretBox::new(Box::new(key))))
        })
        .collect()
}

/// 32 bytes from base64; errors name the setting, never the value.
fn decode_key_named(name: &str, text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = BASE64
        .decode(text.trim().as_bytes())
        .map_err(|_| anyhow::anyhow!("{name} is not valid base64"))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("{name} must decode to exactly 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_key_is_refused_off_localhost() {
        let mut config = Config::defaults();
        config.listen = "0.0.0.0:8080".parse().expect("addr");
        config.public_url = "https://portal.example".into();
        let err = config
            .check_production_safety()
            .expect_err("refused")
            .to_string();
        assert!(err.contains("DOCKET_KEY_ENCRYPTION_KEY"), "{err}");
        config.key_is_default = false;
        config
            .check_production_safety()
            .expect("safe once a key is set");
    }

    #[test]
    fn insecure_cookies_and_plain_http_are_refused_off_localhost() {
        let mut config = Config::defaults();
        config.key_is_default = false;
        config.listen = "10.0.0.5:8080".parse().expect("addr");
        config.cookie_secure = false;
        let err = config
            .check_production_safety()
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("DOCKET_COOKIE_SECURE") && err.contains("https://"),
            "{err}"
        );
    }

    #[test]
    fn loopback_demo_defaults_are_allowed() {
        Config::defaults()
            .check_production_safety()
            .expect("a local demo may use defaults");
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(decode_key("not base64!").is_err());
        assert!(decode_key(&BASE64.encode(&[1; 16])).is_err());
        assert_eq!(
            decode_key(&BASE64.encode(&[1; 32])).expect("valid"),
            [1; 32]
        );
    }

    #[test]
    fn previous_keys_are_comma_separated_and_each_must_be_valid() {
        let keys = decode_previous_keys(&format!(
            " {} ,{},",
            BASE64.encode(&[1; 32]),
            BASE64.encode(&[2; 32])
        ))
        .expect("valid");
        let bytes: Vec<[u8; 32]> = keys.iter().map(|k| *k.expose_secret()).collect();
        assert_eq!(bytes, vec![[1; 32], [2; 32]]);
        assert!(decode_previous_keys("").expect("none").is_empty());
        let err = decode_previous_keys(&format!("{},c2hvcnQ=", BASE64.encode(&[1; 32])))
            .expect_err("a short key")
            .to_string();
        assert!(
            err.contains("DOCKET_PREVIOUS_KEY_ENCRYPTION_KEYS") && !err.contains("c2hvcnQ"),
            "{err}"
        );
    }
}
