//! Back-off for failed sign-ins and MFA codes, per account and per source address.
//!
//! After [`ACCOUNT_LIMIT`] failures on one account (or [`ADDRESS_LIMIT`] from one address) within
//! [`WINDOW`], further attempts are refused without being checked, for a lock that doubles with
//! each further failure up to [`MAX_LOCK`]. Accounts are keyed by a digest of the e-mail address,
//! whether or not such an account exists, so the throttle itself reveals nothing.

use std::net::IpAddr;

use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use super::token;
use crate::{Error, Result};

/// Failures on one account before it locks.
pub const ACCOUNT_LIMIT: i32 = 5;
/// Failures from one address before it locks (higher: offices share addresses).
pub const ADDRESS_LIMIT: i32 = 20;
/// Failures older than this are forgotten.
pub const WINDOW: Duration = Duration::minutes(15);
const FIRST_LOCK: Duration = Duration::seconds(30);
const MAX_LOCK: Duration = Duration::minutes(15);

/// The throttle key of an account (by normalised e-mail).
pub fn account_key(email: &str) -> String {
    format!("account:{}", token::hex(&token::digest(email)))
}

/// The throttle key of a source address.
pub fn address_key(ip: Option<IpAddr>) -> Option<String> {
    ip.map(|ip| format!("address:{ip}"))
}

/// Refuses with `rate_limited` while any of `keys` is locked.
pub async fn check(conn: &mut PgConnection, keys: &[String], now: OffsetDateTime) -> Result<()> {
    let locked_until = sqlx::query_scalar!(
        "select max(locked_until) from sign_in_throttle where throttle_key = any($1) and locked_until > $2",
        keys,
        now
    )
    .fetch_one(conn)
    .await?;
    match locked_until {
        Some(until) => Err(Error::RateLimited {
            retry_after_secs: (until - now).whole_seconds().max(1) as u64,
        }),
        None => Ok(()),
    }
}

/// Counts a failure against `key`, locking it once `limit` is reached.
pub async fn record_failure(
    conn: &mut PgConnection,
    key: &str,
    limit: i32,
    now: OffsetDateTime,
) -> Result<()> {
    let failures = sqlx::query_scalar!(
        "insert into sign_in_throttle as t (throttle_key, failures, last_failure_at) values ($1, 1, $2)
         on conflict (throttle_key) do update
             set failures = case when t.last_failure_at < $2 - $3::interval then 1 else t.failures + 1 end,
                 last_failure_at = $2
         returning failures",
        key,
        now,
        sqlx::postgres::types::PgInterval { months: 0, days: 0, microseconds: WINDOW.whole_microseconds() as i64 },
    )
    .fetch_one(&mut *conn)
    .await?;
    if failures >= limit {
        let lock = lock_for(failures - limit);
        sqlx::query!(
            "update sign_in_throttle set locked_until = $2 where throttle_key = $1",
            key,
            now + lock
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Counts a failure against the account and, if known, the address.
pub async fn record_sign_in_failure(
    conn: &mut PgConnection,
    email: &str,
    ip: Option<IpAddr>,
    now: OffsetDateTime,
) -> Result<()> {
    record_failure(conn, &account_key(email), ACCOUNT_LIMIT, now).await?;
    if let Some(key) = address_key(ip) {
        record_failure(conn, &key, ADDRESS_LIMIT, now).await?;
    }
    Ok(())
}

/// Forgets an account's failures after a success.
pub async fn clear(conn: &mut PgConnection, key: &str) -> Result<()> {
    sqlx::query!("delete from sign_in_throttle where throttle_key = $1", key)
        .execute(conn)
        .await?;
    Ok(())
}

/// The lock after `extra` failures beyond the limit: 30 s, 1 min, 2 min, … up to 15 min.
fn lock_for(extra: i32) -> Duration {
    let factor = 1i32 << extra.clamp(0, 10);
    (FIRST_LOCK * factor).min(MAX_LOCK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_doubles_up_to_the_cap() {
        assert_eq!(lock_for(0), Duration::seconds(30));
        assert_eq!(lock_for(1), Duration::minutes(1));
        assert_eq!(lock_for(3), Duration::minutes(4));
        assert_eq!(lock_for(30), MAX_LOCK);
    }
}
