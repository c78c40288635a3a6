//! The server's keys. One key-encryption key (KEK) comes from configuration; purpose-specific keys
//! are derived from it with HMAC-SHA256, so a key used to seal TOTP secrets can never decrypt
//! anything else. Each matter's document key is wrapped by the KEK too ([`Purpose::MatterKey`], see
//! [`crate::vault`]), recorded with the KEK's [`Keyring::key_id`] so the KEK can rotate.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::HEXLOWER;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use zeroize::Zeroize;

/// The first byte of every sealed value: which key version sealed it, so keys can rotate.
const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Holds the key-encryption key. `Debug` never shows key material.
pub struct Keyring {
    kek: SecretBox<[u8; 32]>,
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
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::TotpSecret => b"docket/totp-secret/v1",
            Self::MatterKey => b"docket/matter-key/v1",
        }
    }
}

impl Keyring {
    /// A keyring over the given key-encryption key.
    pub fn new(kek: [u8; 32]) -> Self {
        Self {
            kek: SecretBox::new(Box::new(kek)),
        }
    }

    fn derive(&self, label: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.kek.expose_secret())
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

    /// A short, non-secret fingerprint of the KEK (hex of the first 8 bytes of
    /// HMAC(KEK, "docket/kek-id")), stored beside everything the KEK wraps so that, after a
    /// rotation, the server can tell which KEK a value needs.
    pub fn key_id(&self) -> String {
        HEXLOWER.encode(&self.derive(b"docket/kek-id")[..8])
    }

    /// Encrypts `plaintext`, binding it to `context` (e.g. the owning user's id) so a sealed value
    /// copied to another row does not open.
    pub fn seal(&self, purpose: Purpose, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
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

    /// Decrypts a value made by [`Keyring::seal`] with the same purpose and context.
    pub fn open(&self, purpose: Purpose, context: &[u8], sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
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
}
