//! Password hashing with argon2id at OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
//! Hashing takes tens of milliseconds of CPU, so it runs on the blocking pool, never on the
//! async runtime's threads.

use std::sync::OnceLock;

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::{Error, Result};

/// Shortest password accepted. Length beats composition rules (NIST SP 800-63B).
pub const MIN_LEN: usize = 12;
/// Longest password accepted, so nobody can make us hash megabytes.
pub const MAX_LEN: usize = 256;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the policy.
pub fn validate_new(password: &SecretString, email: &str) -> Result<()> {
    let password = password.expose_secret();
    let chars = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&chars) {
        return Err(Error::InvalidInput(format!(
            "The password must be {MIN_LEN} to {MAX_LEN} characters long."
        )));
    }
    if password.eq_ignore_ascii_case(email) {
        return Err(Error::InvalidInput(
            "The password must not be your e-mail address.".into(),
        ));
    }
    Ok(())
}

/// Hashes a password into a PHC string.
pub async fn hash(password: SecretString) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await
    .context("password hashing task")?
    .map_err(Error::from)
}

/// Verifies a password. With no stored hash (unknown account, or no password set yet) it checks
/// against a dummy hash, so the answer takes as long either way and reveals nothing.
pub async fn verify(password: SecretString, stored: Option<String>) -> Result<bool> {
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
    let ok = tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        anyhow::Ok(
            argon2()
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok(),
        )
    })
    .await
    .context("password verification task")??;
    Ok(ok && known)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2()
            .hash_password(b"no account has this password", &salt)
            .expect("hashing a constant succeeds")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_only_the_right_password() {
        let phc = hash(SecretString::from("correct horse battery"))
            .await
            .expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(
            SecretString::from("correct horse battery"),
            Some(phc.clone())
        )
        .await
        .expect("ok"));
        assert!(
            !verify(SecretString::from("wrong horse battery"), Some(phc))
                .await
                .expect("ok")
        );
        assert!(!verify(SecretString::from("anything at all"), None)
            .await
            .expect("ok"));
    }

    #[test]
    fn policy_refuses_short_long_and_email_passwords() {
        let email = "someone@example.test";
        assert!(validate_new(&SecretString::from("short"), email).is_err());
        assert!(validate_new(&SecretString::from("x".repeat(MAX_LEN + 1)), email).is_err());
        assert!(validate_new(&SecretString::from(email.to_uppercase()), email).is_err());
        assert!(validate_new(&SecretString::from("a perfectly long one"), email).is_ok());
    }
}
