//! The key hierarchy: KEK (configuration) → matter key (one per matter, wrapped in `matter_key`) →
//! data key (one per document version, wrapped by the matter key and stored with the version).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use docket_protocol::ids::MatterId;
use rand::RngCore;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::db::Tenant;
use crate::keyring::{Keyring, Purpose};
use crate::{Error, Result};

/// The first byte of a wrapped data key: its format, so the wrapping can change.
const WRAP_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const WRAP_LABEL: &[u8] = b"docket/data-key/v1";
/// `key_id` of the tombstone of a matter destroyed before it ever had a key.
const NO_KEY: &str = "none";

macro_rules! secret_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Zeroizing<[u8; 32]>);

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }

        impl $name {
            fn random() -> Self {
                let mut key = Zeroizing::new([0; 32]);
                rand::rngs::OsRng.fill_bytes(key.as_mut());
                Self(key)
            }

            pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(Zeroizing::new(bytes))
            }

            pub(crate) fn bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }
    };
}

secret_key!(
    /// A matter's key: wraps the data keys of the matter's document versions. Zeroised on drop;
    /// `Debug` shows nothing.
    MatterKey
);
secret_key!(
    /// One document version's content key. Zeroised on drop; `Debug` shows nothing.
    DataKey
);

impl MatterKey {
    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.bytes().into())
    }

    /// A fresh data key for document version `version_id`, and its wrapped form to store with
    /// the version.
    pub fn new_data_key(&self, version_id: Uuid) -> (DataKey, Vec<u8>) {
        let key = DataKey::random();
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: key.bytes(),
                    aad: &wrap_aad(version_id),
                },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory data");
        let mut wrapped = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        wrapped.push(WRAP_VERSION);
        wrapped.extend_from_slice(&nonce);
        wrapped.extend_from_slice(&sealed);
        (key, wrapped)
    }

    /// Unwraps the data key of document version `version_id`. Fails (internal error) if `wrapped`
    /// was made by another matter's key or for another version.
    pub fn open_data_key(&self, version_id: Uuid, wrapped: &[u8]) -> Result<DataKey> {
        if wrapped.len() <= 1 + NONCE_LEN || wrapped[0] != WRAP_VERSION {
            return Err(anyhow::anyhow!("wrapped data key has an unknown format").into());
        }
        let (nonce, body) = wrapped[1..].split_at(NONCE_LEN);
        let opened = Zeroizing::new(
            self.cipher()
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: body,
                        aad: &wrap_aad(version_id),
                    },
                )
                .map_err(|_| anyhow::anyhow!("data key does not open with this matter key"))?,
        );
        let bytes: [u8; 32] = opened
            .as_slice()
            .try_into()
            .map_err(|_| anyhow::anyhow!("wrapped data key has the wrong length"))?;
        Ok(DataKey::from_bytes(bytes))
    }
}

fn wrap_aad(version_id: Uuid) -> Vec<u8> {
    [WRAP_LABEL, version_id.as_bytes()].concat()
}

/// The matter's key, created on first use. The actor must see the matter (any scope: the
/// `matter_key` policies); the caller has already authorised the document action itself. Concurrent first uses agree on one key: the loser's insert does nothing
/// and it reads the winner's. Fails with [`Error::MatterKeyDestroyed`] once the key is destroyed,
/// and with an internal error if the key was wrapped by a KEK that is neither the current one nor
/// a previous one.
pub async fn matter_key(
    tenant: &mut Tenant,
    keyring: &Keyring,
    matter_id: MatterId,
) -> Result<MatterKey> {
    if let Some(key) = stored_matter_key(tenant.conn(), keyring, matter_id).await? {
        return Ok(key);
    }
    let key = MatterKey::random();
    let wrapped = keyring.seal(Purpose::MatterKey, matter_id.0.as_bytes(), key.bytes());
    let inserted = sqlx::query_scalar!(
        "insert into matter_key (matter_id, key_id, wrapped) values ($1, $2, $3)
         on conflict (matter_id) do nothing returning matter_id",
        matter_id.0,
        keyring.key_id(),
        wrapped,
    )
    .fetch_optional(tenant.conn())
    .await?;
    if inserted.is_some() {
        return Ok(key);
    }
    stored_matter_key(tenant.conn(), keyring, matter_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("matter key vanished after a concurrent insert").into())
}

async fn stored_matter_key(
    conn: &mut PgConnection,
    keyring: &Keyring,
    matter_id: MatterId,
) -> Result<Option<MatterKey>> {
    let Some(row) = sqlx::query!(
        "select key_id, wrapped from matter_key where matter_id = $1",
        matter_id.0
    )
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let Some(wrapped) = row.wrapped else {
        return Err(Error::MatterKeyDestroyed);
    };
    let opened = open_wrapped(keyring, matter_id.0, &row.key_id, &wrapped)?;
    let bytes: [u8; 32] = opened
        .as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("matter key has the wrong length"))?;
    Ok(Some(MatterKey::from_bytes(bytes)))
}

/// Opens a wrapped matter key with the KEK it names, current or previous.
fn open_wrapped(
    keyring: &Keyring,
    matter_id: Uuid,
    key_id: &str,
    wrapped: &[u8],
) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    if !keyring.holds(key_id) {
        let previous = keyring.previous_key_ids();
        anyhow::bail!(
            "matter {matter_id}'s key is wrapped by KEK {key_id}, but the configured KEK is {}{}",
            keyring.key_id(),
            if previous.is_empty() {
                String::new()
            } else {
                format!(" (previous: {})", previous.join(", "))
            }
        );
    }
    Ok(Zeroizing::new(keyring.open_with(
        key_id,
        Purpose::MatterKey,
        matter_id.as_bytes(),
        wrapped,
    )?))
}

/// Re-wraps every live matter key not under the current KEK with the current KEK (the rows are
/// locked until the transaction ends) and returns how many. Destroyed keys stay destroyed: they
/// have nothing to re-wrap. Runs as the owner role (`docket_app` may not update `matter_key`).
pub async fn rewrap_matter_keys(conn: &mut PgConnection, keyring: &Keyring) -> Result<u64> {
    let rows = sqlx::query!(
        "select matter_id, key_id, wrapped from matter_key
         where wrapped is not null and key_id <> $1 order by matter_id for update",
        keyring.key_id()
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut rewrapped = 0;
    for row in rows {
        let Some(wrapped) = row.wrapped else {
            continue;
        };
        let key = open_wrapped(keyring, row.matter_id, &row.key_id, &wrapped)?;
        let wrapped = keyring.seal(Purpose::MatterKey, row.matter_id.as_bytes(), &key);
        sqlx::query!(
            "update matter_key set key_id = $2, wrapped = $3 where matter_id = $1",
            row.matter_id,
            keyring.key_id(),
            wrapped,
        )
        .execute(&mut *conn)
        .await?;
        rewrapped += 1;
    }
    Ok(rewrapped)
}

/// Crypto-shredding: wipes the matter's wrapped key (sets `destroyed_at`, removes the bytes), so
/// no data key of the matter — and so no blob — can be opened again, from this database or any
/// backup taken afterwards. Irreversible; a matter that never had a key gets a tombstone, so none
/// is ever created. Runs as the owner role (`docket_app` may not update `matter_key`): retention
/// and closure commands call it. Repeating it keeps the first `destroyed_at`.
pub async fn destroy_matter_key(
    conn: &mut PgConnection,
    matter_id: MatterId,
    at: OffsetDateTime,
) -> Result<()> {
    sqlx::query!(
        "insert into matter_key (matter_id, key_id, wrapped, destroyed_at) values ($1, $2, null, $3)
         on conflict (matter_id) do update
             set wrapped = null, destroyed_at = coalesce(matter_key.destroyed_at, excluded.destroyed_at)",
        matter_id.0,
        NO_KEY,
        at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_keys_open_only_for_their_version_and_matter_key() {
        let matter = MatterKey::random();
        let version = Uuid::new_v4();
        let (key, wrapped) = matter.new_data_key(version);
        let opened = matter.open_data_key(version, &wrapped).expect("opens");
        assert_eq!(opened.bytes(), key.bytes());
        assert!(matter.open_data_key(Uuid::new_v4(), &wrapped).is_err());
        assert!(MatterKey::random()
            .open_data_key(version, &wrapped)
            .is_err());
        assert!(!wrapped.windows(32).any(|w| w == key.bytes()));
    }

    #[test]
    fn debug_shows_no_key_material() {
        assert_eq!(
            format!("{:?}", MatterKey::from_bytes([0x41; 32])),
            "MatterKey(..)"
        );
        assert_eq!(
            format!("{:?}", DataKey::from_bytes([0x41; 32])),
            "DataKey(..)"
        );
    }
}
