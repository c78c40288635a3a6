//! Re-sealing TOTP secrets under the current key-encryption key after a rotation: the enrolled
//! secret of every user and the pending one of every session still enrolling. Part of
//! `docket admin rotate-keys` (see [`crate::admin`]); runs as the owner role.

use sqlx::PgConnection;

use crate::keyring::{Keyring, Purpose};
use crate::Result;

/// Re-seals, under the current KEK, every TOTP secret a previous KEK sealed (the rows are locked
/// until the transaction ends) and returns how many. Secrets already under the current KEK are
/// left as they are, so a second run changes nothing.
pub async fn reseal_totp_secrets(conn: &mut PgConnection, keyring: &Keyring) -> Result<u64> {
    let mut resealed = 0;
    let enrolled = sqlx::query!(
        "select user_id, totp_secret_sealed from user_credential
         where totp_secret_sealed is not null order by user_id for update"
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in enrolled {
        let Some(sealed) = row.totp_secret_sealed else {
            continue;
        };
        if let Some(sealed) =
            keyring.reseal(Purpose::TotpSecret, row.user_id.as_bytes(), &sealed)?
        {
            sqlx::query!(
                "update user_credential set totp_secret_sealed = $2 where user_id = $1",
                row.user_id,
                sealed
            )
            .execute(&mut *conn)
            .await?;
            resealed += 1;
        }
    }
    let pending = sqlx::query!(
        "select session_id, user_id, pending_totp_sealed from session
         where pending_totp_sealed is not null order by session_id for update"
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in pending {
        let Some(sealed) = row.pending_totp_sealed else {
            continue;
        };
        if let Some(sealed) =
            keyring.reseal(Purpose::TotpSecret, row.user_id.as_bytes(), &sealed)?
        {
            sqlx::query!(
                "update session set pending_totp_sealed = $2 where session_id = $1",
                row.session_id,
                sealed
            )
            .execute(&mut *conn)
            .await?;
            resealed += 1;
        }
    }
    Ok(resealed)
}
