//! Loading the configuration: the optional TOML file, overlaid by the environment, resolved into
//! a [`Config`]; and decoding the key-encryption keys, whose errors name the setting, never the
//! value. The typed settings themselves live in the parent module.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use data_encoding::BASE64;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::Duration;

use super::channels::ChannelFileConfig;
use super::notify::NotifyFileConfig;
use super::outbox::OutboxFileConfig;
use super::payments::PaymentsFileConfig;
use super::{
    ChannelSettings, Config, NotifySettings, OutboxSettings, Payments, SecretBox32,
    DEFAULT_MAX_UPLOAD_MB, DEFAULT_S3_REGION, DEFAULT_WEB_DIR, DEMO_KEY_ENCRYPTION_KEY,
};

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
    #[serde(default)]
    outbox: OutboxFileConfig,
    #[serde(default)]
    notifications: NotifyFileConfig,
    #[serde(default)]
    payments: PaymentsFileConfig,
    smtp_url: Option<SecretString>,
    mail_from: Option<String>,
}

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
            outbox: OutboxSettings::resolve(file.outbox)?,
            notify: NotifySettings::resolve(file.notifications)?,
            payments: Payments::resolve(file.payments)?,
            smtp_url: secret_env("DOCKET_SMTP_URL").or(file.smtp_url),
            mail_from: env("DOCKET_MAIL_FROM")
                .or(file.mail_from)
                .unwrap_or_else(|| "Docket <portal@localhost>".into()),
        })
    }
}

pub(super) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub(super) fn secret_env(name: &str) -> Option<SecretString> {
    env(name).map(SecretString::from)
}

pub(super) fn parsed_env<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
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
