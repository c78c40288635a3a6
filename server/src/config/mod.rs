//! Configuration: defaults, overlaid by an optional TOML file, overlaid by `DOCKET_*` environment
//! variables (plus the conventional `DATABASE_URL` and `REDIS_URL`). Secrets are [`SecretString`]s:
//! they never appear in `Debug` output or logs.
//!
//! # Layout
//! - this file: the typed settings ([`Config`]) and their defaults;
//! - `channels`: the real-time settings ([`ChannelSettings`]) and how they resolve;
//! - `outbox`: the outbox dispatcher's settings ([`OutboxSettings`]);
//! - `notify`: notifications: folding, working hours, push services ([`NotifySettings`]);
//! - `payments`: card payments through Stripe, or the built-in test mode ([`Payments`]);
//! - `load`: reading the file and the environment, and decoding the key-encryption keys;
//! - `safety`: the check that refuses an unsafe configuration off one's own machine.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use time::Duration;

mod channels;
mod load;
mod notify;
mod outbox;
mod payments;
mod safety;

pub use channels::ChannelSettings;
pub use notify::{NotifySettings, DEFAULT_PUSH_SERVICES};
pub use outbox::OutboxSettings;
pub use payments::{Payments, StripeSettings};

/// The key used when none is configured. Fine for a demo on one's own machine, refused by
/// `docket serve` anywhere else (see [`Config::check_production_safety`]).
const DEMO_KEY_ENCRYPTION_KEY: [u8; 32] = *b"docket-demo-key-not-for-real-use";

/// Where Vite puts the web client's build, seen from the repository root.
const DEFAULT_WEB_DIR: &str = "clients/web/dist";

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
    /// The outbox dispatcher's settings.
    pub outbox: OutboxSettings,
    /// Notifications: folding, working hours, push services.
    pub notify: NotifySettings,
    /// Card payments.
    pub payments: Payments,
    /// The SMTP relay (`DOCKET_SMTP_URL`): `smtp://user:pass@host:587?tls=required` (STARTTLS),
    /// `smtps://user:pass@host:465` (TLS), or `smtp://127.0.0.1:2525` (plain, this machine only).
    /// None: e-mail is spooled to `<data_dir>/mail`.
    pub smtp_url: Option<SecretString>,
    /// The sender (`DOCKET_MAIL_FROM`), e.g. `Smith & Co <portal@smith.example>`.
    pub mail_from: String,
}

/// The default S3 region: London.
const DEFAULT_S3_REGION: &str = "eu-west-2";

/// The default upload limit, in MiB.
const DEFAULT_MAX_UPLOAD_MB: u64 = 100;

/// A 32-byte secret. Its `Debug` shows nothing.
pub type SecretBox32 = std::sync::Arc<secrecy::SecretBox<[u8; 32]>>;

impl Config {
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
            outbox: OutboxSettings::default(),
            notify: NotifySettings::default(),
            payments: Payments::Off,
            smtp_url: None,
            mail_from: "Docket <portal@localhost>".into(),
        }
    }

    /// The largest upload, in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_mb.saturating_mul(1024 * 1024)
    }
}
