//! One-time MFA recovery codes: shown once when the second factor is enrolled or the codes are
//! replaced, stored only as digests, each usable once in place of a TOTP code.
//!
//! Recovery-code attempts go through the same second-factor throttle as TOTP codes
//! ([`super::throttle::Key::second_factor`]): a recovery code is a second factor like any other.

use rand::Rng;
use time::OffsetDateTime;

use super::token;
use super::Authenticated;
use crate::db::Tenant;
use crate::Result;

/// How many codes a user holds.
const RECOVERY_CODES: usize = 10;
/// Recovery codes use an alphabet without look-alikes (no 0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Uses one of the user's unused codes; false when `code` is none of them.
pub(super) async fn use_code(
    tenant: &mut Tenant,
    auth: &Authenticated,
    code: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    let used = sqlx::query!(
        "update recovery_code set used_at = $3 where user_id = $1 and code_hash = $2 and used_at is null",
        auth.user.user_id.0,
        token::digest(&normalize(code)),
        now
    )
    .execute(tenant.conn())
    .await?;
    Ok(used.rows_affected() == 1)
}

/// Replaces the user's codes with fresh ones and answers them (the only time they are seen).
pub(super) async fn replace(tenant: &mut Tenant, auth: &Authenticated) -> Result<Vec<String>> {
    let user_id = auth.user.user_id.0;
    sqlx::query!("delete from recovery_code where user_id = $1", user_id)
        .execute(tenant.conn())
        .await?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_code()).collect();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| token::digest(&normalize(c))).collect();
    sqlx::query!(
        "insert into recovery_code (user_id, code_hash) select $1, unnest($2::bytea[])",
        user_id,
        &hashes
    )
    .execute(tenant.conn())
    .await?;
    Ok(codes)
}

/// Removes every code of the user (MFA reset).
pub(super) async fn remove_all(tenant: &mut Tenant, auth: &Authenticated) -> Result<()> {
    sqlx::query!(
        "delete from recovery_code where user_id = $1",
        auth.user.user_id.0
    )
    .execute(tenant.conn())
    .await?;
    Ok(())
}

/// Twelve characters from a 31-letter alphabet (about 59 bits), shown as `xxxx-xxxx-xxxx`.
fn new_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..12)
        .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn normalize(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_grouped_and_normalise() {
        let code = new_code();
        assert_eq!(code.len(), 14);
        assert_eq!(normalize(&code.to_uppercase()), code.replace('-', ""));
    }
}
