//! Back-off for failed credentials: passwords, second-factor codes, re-authentication and
//! invitation links, per account and per source address.
//!
//! Each kind of credential is counted under its own key with its own [`Policy`], so no success of
//! one kind can wipe out the count of another: a correct password clears only the password count,
//! never the second-factor count (otherwise anyone holding the password could guess codes without
//! limit by signing in again between guesses). After `limit` failures within `window`, further
//! attempts are refused without being checked, for a lock that doubles with each further failure
//! up to `max_lock`. Accounts are keyed by a digest of the e-mail address for passwords, whether
//! or not such an account exists, so the throttle itself reveals nothing; the other keys name a
//! user id, since they are only reached once the password is known.

use std::net::IpAddr;

use docket_protocol::ids::UserId;
use sqlx::postgres::types::PgInterval;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use super::token;
use crate::{Error, Result};

/// How many failures a key may have, over what period, and how long it then stays locked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Failures before the key locks.
    pub limit: i32,
    /// Failures older than this (counted from the latest) are forgotten.
    pub window: Duration,
    /// The first lock; each further failure doubles it.
    pub first_lock: Duration,
    /// The longest lock.
    pub max_lock: Duration,
}

/// Wrong passwords for one account.
pub const PASSWORD: Policy = Policy {
    limit: 5,
    window: Duration::minutes(15),
    first_lock: Duration::seconds(30),
    max_lock: Duration::minutes(15),
};

/// Wrong TOTP or recovery codes for one account, across all its sessions. Stricter than passwords:
/// whoever reaches this step already has the password, six digits are a small space, and the
/// failures are remembered for a day, so an attacker gets a handful of guesses an hour at most.
pub const SECOND_FACTOR: Policy = Policy {
    limit: 5,
    window: Duration::hours(24),
    first_lock: Duration::minutes(1),
    max_lock: Duration::hours(1),
};

/// Failed re-authentications (password and code) of one account.
pub const REAUTHENTICATION: Policy = SECOND_FACTOR;

/// Every failed credential from one source address (higher: offices share addresses).
pub const ADDRESS: Policy = Policy {
    limit: 20,
    window: Duration::minutes(15),
    first_lock: Duration::seconds(30),
    max_lock: Duration::minutes(15),
};

/// A throttle key and the policy that applies to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub name: String,
    pub policy: Policy,
}

impl Key {
    /// Passwords of the account with this (normalised) e-mail address.
    pub fn password(email: &str) -> Self {
        Self {
            name: format!("account:{}", token::hex(&token::digest(email))),
            policy: PASSWORD,
        }
    }

    /// The second factor (TOTP or recovery code) of a user.
    pub fn second_factor(user: UserId) -> Self {
        Self {
            name: format!("mfa:{user}"),
            policy: SECOND_FACTOR,
        }
    }

    /// Re-authentication of a user.
    pub fn reauthentication(user: UserId) -> Self {
        Self {
            name: format!("reauth:{user}"),
            policy: REAUTHENTICATION,
        }
    }

    /// This key, then the source address's (if known): the keys of one attempt.
    pub fn with_address(self, ip: Option<IpAddr>) -> Vec<Self> {
        std::iter::once(self).chain(Self::address(ip)).collect()
    }

    /// A source address, if known.
    pub fn address(ip: Option<IpAddr>) -> Option<Self> {
        ip.map(|ip| Self {
            name: format!("address:{ip}"),
            policy: ADDRESS,
        })
    }
}

/// What recording a failure did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Counted; the key is not locked.
    Counted,
    /// This failure reached the limit: the key is now locked for the first time in its window.
    LockTripped,
    /// The key was already past its limit; its lock is longer now.
    LockExtended,
}

/// One attempt at a credential, inside the caller's transaction. Its first key is the
/// credential's own (the account's password, second factor or re-authentication); the others
/// (the source address) count its failures too but are never cleared by a success.
#[derive(Debug)]
pub struct Attempt {
    keys: Vec<Key>,
}

impl Attempt {
    /// Starts an attempt: takes the row lock of the first key until the transaction ends, then
    /// refuses with `rate_limited` while any key is locked. Concurrent attempts on one account
    /// therefore run one after another, each seeing the failures of those before it, so a burst
    /// of parallel guesses gets no more tries than a sequence would.
    pub async fn begin(
        conn: &mut PgConnection,
        keys: Vec<Key>,
        now: OffsetDateTime,
    ) -> Result<Self> {
        if let Some(first) = keys.first() {
            sqlx::query!(
                "insert into sign_in_throttle (throttle_key, failures, last_failure_at) values ($1, 0, $2)
                 on conflict (throttle_key) do nothing",
                first.name,
                now
            )
            .execute(&mut *conn)
            .await?;
            sqlx::query!(
                "select 1 as locked from sign_in_throttle where throttle_key = $1 for update",
                first.name
            )
            .fetch_one(&mut *conn)
            .await?;
        }
        check(conn, &keys, now).await?;
        Ok(Self { keys })
    }

    /// Counts the failure against every key; answers what it did to the credential's own.
    pub async fn failed(&self, conn: &mut PgConnection, now: OffsetDateTime) -> Result<Recorded> {
        let mut first = Recorded::Counted;
        for (i, key) in self.keys.iter().enumerate() {
            let recorded = record_failure(conn, key, now).await?;
            if i == 0 {
                first = recorded;
            }
        }
        Ok(first)
    }

    /// Forgets the credential's own failures after it succeeded (the address keeps its count).
    pub async fn succeeded(&self, conn: &mut PgConnection) -> Result<()> {
        if let Some(first) = self.keys.first() {
            sqlx::query!(
                "delete from sign_in_throttle where throttle_key = $1",
                first.name
            )
            .execute(conn)
            .await?;
        }
        Ok(())
    }
}

/// Refuses with `rate_limited` while any of `keys` is locked.
async fn check(conn: &mut PgConnection, keys: &[Key], now: OffsetDateTime) -> Result<()> {
    let names: Vec<String> = keys.iter().map(|k| k.name.clone()).collect();
    let locked_until = sqlx::query_scalar!(
        "select max(locked_until) from sign_in_throttle where throttle_key = any($1) and locked_until > $2",
        &names,
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

/// Counts a failure against `key`, locking it once its limit is reached.
async fn record_failure(
    conn: &mut PgConnection,
    key: &Key,
    now: OffsetDateTime,
) -> Result<Recorded> {
    let policy = key.policy;
    let failures = sqlx::query_scalar!(
        "insert into sign_in_throttle as t (throttle_key, failures, last_failure_at) values ($1, 1, $2)
         on conflict (throttle_key) do update
             set failures = case when t.last_failure_at < $2 - $3::interval then 1 else t.failures + 1 end,
                 last_failure_at = $2
         returning failures",
        key.name,
        now,
        PgInterval {
            months: 0,
            days: 0,
            microseconds: policy.window.whole_microseconds() as i64
        },
    )
    .fetch_one(&mut *conn)
    .await?;
    if failures < policy.limit {
        return Ok(Recorded::Counted);
    }
    sqlx::query!(
        "update sign_in_throttle set locked_until = $2 where throttle_key = $1",
        key.name,
        now + lock_for(policy, failures - policy.limit)
    )
    .execute(conn)
    .await?;
    Ok(if failures == policy.limit {
        Recorded::LockTripped
    } else {
        Recorded::LockExtended
    })
}

/// The lock after `extra` failures beyond the limit: the first lock, doubled each time, capped.
fn lock_for(policy: Policy, extra: i32) -> Duration {
    let factor = 1i32 << extra.clamp(0, 16);
    (policy.first_lock * factor).min(policy.max_lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_doubles_up_to_the_cap() {
        assert_eq!(lock_for(PASSWORD, 0), Duration::seconds(30));
        assert_eq!(lock_for(PASSWORD, 1), Duration::minutes(1));
        assert_eq!(lock_for(PASSWORD, 3), Duration::minutes(4));
        assert_eq!(lock_for(PASSWORD, 30), PASSWORD.max_lock);
        assert_eq!(lock_for(SECOND_FACTOR, 0), Duration::minutes(1));
        assert_eq!(lock_for(SECOND_FACTOR, 30), Duration::hours(1));
    }

    #[test]
    fn each_credential_has_its_own_key() {
        let user = UserId::new();
        let names = [
            Key::password("a@example.test").name,
            Key::second_factor(user).name,
            Key::reauthentication(user).name,
            Key::address(Some([127, 0, 0, 1].into()))
                .map(|k| k.name)
                .unwrap_or_default(),
        ];
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
