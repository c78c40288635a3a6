//! The server's keys. One current key-encryption key (KEK) comes from configuration, with any
//! previous KEKs kept only to open what they sealed before a rotation. Purpose-specific keys are
//! derived from a KEK with HMAC-SHA256, so a key used to seal TOTP secrets can never decrypt
//! anything else. Each matter's document key is wrapped by the KEK too ([`Purpose::MatterKey`], see
//! [`crate::vault`]), recorded with the KEK's [`Keyring::key_id`] so the KEK can rotate
//! (`docket admin rotate-keys` re-seals everything under the current KEK).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::HEXLOWER;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

/// The first byte of every sealed value: its format, so the format can change.
const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// The current KEK, which seals everything, and the previous ones, which only open. `Debug` never
/// shows key material.
pub struct Keyring {
    current: Kek,
    /// Keys replaced by a rotation, kept until `docket admin rotate-keys` has re-sealed what they
    /// sealed.
    previous: Vec<Kek>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring { .. }")
    }
}

/// What a derived key is for; part of the derivation, so keys for different purposes differ.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    /// Sealing users' TOTP secrets.
    TotpSecret,
    /// Wrapping a matter's document key; the context is the matter id.
    MatterKey,
    /// A secret the server generated for itself (the VAPID key); the context is its name.
    ServerSecret,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::TotpSecret => b"docket/totp-secret/v1",
            Self::MatterKey => b"docket/matter-key/v1",
            Self::ServerSecret => b"docket/server-secret/v1",
        }
    }
}

/// One key-encryption key and its fingerprint.
struct Kek {
    key: SecretBox<[u8; 32]>,
    id: String,
}

impl Kek {
    fn new(key: [u8; 32]) -> Self {
        let mut kek = Self {
            key: SecretBox::new(Box::new(key)),
            id: String::new(),
        };
        kek.id = HEXLOWER.encode(&kek.derive(b"docket/kek-id")[..8]);
        kek
    }

    fn derive(&self, label: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .expect("HMAC takes a key of any length");
        mac.update(label);
        mac.finalize().into_bytes().into()
    }

    fn cipher(&self, purpose: Purpose) -> XChaCha20Poly1305 {
        let mut key = self.derive(purpose.label());
        let cipher = XChaCha20Poly1305::new(&key.into());
        key.zeroize();
        cipher
    }

    fn open(&self, purpose: Purpose, context: &[u8], sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        anyhow::ensure!(
            sealed.len() > 1 + NONCE_LEN && sealed[0] == SEAL_VERSION,
            "sealed value has an unknown format"
        );
        let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
        self.cipher(purpose)
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .map_err(|_| anyhow::anyhow!("sealed value does not open with this key and context"))
    }
}

impl Keyring {
    /// A keyring over the given key-encryption key alone.
    pub fn new(kek: [u8; 32]) -> Self {
        Self::with_previous(kek, [])
    }

    /// A keyring whose current KEK is `kek`, also able to open what the `previous` KEKs sealed.
    pub fn with_previous(kek: [u8; 32], previous: impl IntoIterator<Item = [u8; 32]>) -> Self {
        let current = Kek::new(kek);
        let mut kept: Vec<Kek> = Vec::new();
        for kek in previous.into_iter().map(Kek::new) {
            if kek.id != current.id && kept.iter().all(|k| k.id != kek.id) {
                kept.push(kek);
            }
        }
        Self {
            current,
            previous: kept,
        }
    }

    /// A short, non-secret fingerprint of the current KEK (hex of the first 8 bytes of
    /// HMAC(KEK, "docket/kek-id")), stored beside everything the KEK wraps so that, after a
    /// rotation, the server can tell which KEK a value needs.
    pub fn key_id(&self) -> String {
        self.current.id.clone()
    }

    /// The fingerprints of the previous KEKs, in configuration order.
    pub fn previous_key_ids(&self) -> Vec<String> {
        self.previous.iter().map(|k| k.id.clone()).collect()
    }

    /// Whether the KEK with fingerprint `key_id` is held, current or previous.
    pub fn holds(&self, key_id: &str) -> bool {
        self.kek(key_id).is_some()
    }

    fn kek(&self, key_id: &str) -> Option<&Kek> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
    }

    /// Encrypts `plaintext` under the current KEK, binding it to `context` (e.g. the owning user's
    /// id) so a sealed value copied to another row does not open.
    pub fn seal(&self, purpose: Purpose, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .current
            .cipher(purpose)
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory data");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts a value made by [`Keyring::seal`] with the same purpose and context, under the
    /// current KEK or, failing that, a previous one: the AEAD tag tells which key sealed it.
    pub fn open(&self, purpose: Purpose, context: &[u8], sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        let current = self.current.open(purpose, context, sealed);
        if current.is_ok() {
            return current;
        }
        self.previous
            .iter()
            .find_map(|k| k.open(purpose, context, sealed).ok())
            .ok_or_else(|| current.expect_err("checked above"))
    }

    /// Decrypts a value sealed by the KEK with fingerprint `key_id` (current or previous).
    pub fn open_with(
        &self,
        key_id: &str,
        purpose: Purpose,
        context: &[u8],
        sealed: &[u8],
    ) -> anyhow::Result<Vec<u8>> {
        self.kek(key_id)
            .ok_or_else(|| anyhow::anyhow!("no configured KEK has the id {key_id}"))?
            .open(purpose, context, sealed)
    }

    /// `sealed` sealed again under the current KEK, or `None` if the current KEK sealed it
    /// already (so re-sealing is idempotent). Fails if no KEK held opens it.
    pub fn reseal(
        &self,
        purpose: Purpose,
        context: &[u8],
        sealed: &[u8],
    ) -> anyhow::Result<Option<Vec<u8>>> {
        if self.current.open(purpose, context, sealed).is_ok() {
            return Ok(None);
        }
        let plaintext = Zeroizing::new(self.open(purpose, context, sealed)?);
        Ok(Some(self.seal(purpose, context, &plaintext)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_only_with_its_context_and_key() {
        let ring = Keyring::new([7; 32]);
        let sealed = ring.seal(Purpose::TotpSecret, b"user-a", b"secret");
        assert_eq!(
            ring.open(Purpose::TotpSecret, b"user-a", &sealed)
                .expect("opens"),
            b"secret"
        );
        assert!(ring.open(Purpose::TotpSecret, b"user-b", &sealed).is_err());
        assert!(Keyring::new([8; 32])
            .open(Purpose::TotpSecret, b"user-a", &sealed)
            .is_err());
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn key_id_is_a_stable_fingerprint_that_differs_per_key() {
        let ring = Keyring::new([7; 32]);
        assert_eq!(ring.key_id().len(), 16);
        assert_eq!(ring.key_id(), Keyring::new([7; 32]).key_id());
        assert_ne!(ring.key_id(), Keyring::new([8; 32]).key_id());
    }

    #[test]
    fn previous_keys_open_what_they_sealed_and_the_current_key_seals() {
        let old = Keyring::new([7; 32]);
        let sealed = old.seal(Purpose::TotpSecret, b"user-a", b"secret");
        let ring = Keyring::with_previous([8; 32], [[7; 32], [8; 32]]);
        assert_eq!(ring.key_id(), Keyring::new([8; 32]).key_id());
        assert_eq!(ring.previous_key_ids(), vec![old.key_id()]);
        assert!(ring.holds(&old.key_id()) && !ring.holds("0000000000000000"));
        assert_eq!(
            ring.open(Purpose::TotpSecret, b"user-a", &sealed)
                .expect("opens"),
            b"secret"
        );
        assert_eq!(
            ring.open_with(&old.key_id(), Purpose::TotpSecret, b"user-a", &sealed)
                .expect("opens"),
            b"secret"
        );
        assert!(ring
            .open_with(&ring.key_id(), Purpose::TotpSecret, b"user-a", &sealed)
            .is_err());
        let resealed = ring
            .reseal(Purpose::TotpSecret, b"user-a", &sealed)
            .expect("reseals")
            .expect("under the new key");
        assert!(old.open(Purpose::TotpSecret, b"user-a", &resealed).is_err());
        assert_eq!(
            Keyring::new([8; 32])
                .open(Purpose::TotpSecret, b"user-a", &resealed)
                .expect("opens"),
            b"secret"
        );
        assert!(ring
            .reseal(Purpose::TotpSecret, b"user-a", &resealed)
            .expect("opens")
            .is_none());
        assert!(Keyring::new([9; 32])
            .reseal(Purpose::TotpSecret, b"user-a", &sealed)
            .is_err());
    }
}
