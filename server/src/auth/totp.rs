//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), the format
//! every authenticator app speaks.
//!
//! A code is accepted for the current step or one step either side (clock drift), and only if
//! that step is later than the last one the user used, so an observed code cannot be replayed.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Steps either side of now that are still accepted.
const DRIFT_STEPS: i64 = 1;

/// A new 160-bit secret (the size RFC 4226 recommends for SHA-1).
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

/// The secret as authenticator apps take it.
pub fn encode_secret(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// The step a moment falls in.
pub fn step_at(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(STEP_SECONDS)
}

/// The six-digit code for a step (RFC 4226 dynamic truncation).
pub fn code_for_step(secret: &[u8], step: i64) -> String {
    let mut mac =
        <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", binary % 1_000_000)
}

/// The step `code` is valid for, if it is valid now and later than `last_step`.
pub fn verify(
    secret: &[u8],
    code: &str,
    now: OffsetDateTime,
    last_step: Option<i64>,
) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    // Check every candidate step so the time taken does not depend on which one matched.
    let mut matched = None;
    for step in current - DRIFT_STEPS..=current + DRIFT_STEPS {
        let ok: bool = code_for_step(secret, step)
            .as_bytes()
            .ct_eq(code.as_bytes())
            .into();
        if ok && last_step.is_none_or(|last| step > last) {
            matched = Some(step);
        }
    }
    matched
}

/// The `otpauth://` URI for a QR code (Key Uri Format).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let label = format!("{}:{}", encode_component(issuer), encode_component(account));
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP_SECONDS}",
        encode_secret(secret),
        encode_component(issuer)
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_component(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn matches_rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B gives 8-digit codes; the 6-digit code is their last six digits.
        for (unix, expected) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            let at = OffsetDateTime::from_unix_timestamp(unix).expect("valid time");
            assert_eq!(
                code_for_step(RFC_SECRET, step_at(at)),
                expected,
                "at {unix}"
            );
        }
    }

    #[test]
    fn accepts_drift_of_one_step_and_refuses_replay() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("valid time");
        let step = step_at(now);
        let previous = code_for_step(RFC_SECRET, step - 1);
        assert_eq!(verify(RFC_SECRET, &previous, now, None), Some(step - 1));
        assert_eq!(
            verify(RFC_SECRET, &previous, now, Some(step - 1)),
            None,
            "replay refused"
        );
        let current = code_for_step(RFC_SECRET, step);
        assert_eq!(
            verify(RFC_SECRET, &current, now, Some(step - 1)),
            Some(step)
        );
        assert_eq!(
            verify(RFC_SECRET, &code_for_step(RFC_SECRET, step - 2), now, None),
            None
        );
        assert_eq!(verify(RFC_SECRET, "12345", now, None), None);
    }

    #[test]
    fn otpauth_uri_is_encoded() {
        let uri = otpauth_uri("Firm & Partners", "a@b.test", RFC_SECRET);
        assert!(uri.starts_with("otpauth://totp/Firm%20%26%20Partners:a%40b.test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Firm%20%26%20Partners"), "{uri}");
    }
}
