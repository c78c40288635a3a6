//! Random tokens (sessions, devices, CSRF, invitations) and their stored digests.
//!
//! Tokens carry 256 random bits and are stored only as SHA-256 digests: a stolen table yields no
//! usable token, and with that much entropy a slow hash would add nothing.

use data_encoding::BASE64URL_NOPAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh 256-bit token, base64url without padding (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    BASE64URL_NOPAD.encode(&bytes)
}

/// The digest stored in place of a token.
pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Whether `token` is the one whose digest is `stored`, in constant time.
pub fn matches(token: &str, stored: &[u8]) -> bool {
    digest(token).ct_eq(stored).into()
}

/// Lower-case hex, for digests shown in exports and throttle keys.
pub fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_match_only_their_digest() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(matches(&a, &digest(&a)));
        assert!(!matches(&b, &digest(&a)));
    }
}
