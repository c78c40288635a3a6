//! The server's notion of "now". Session timeouts and TOTP steps read it, so tests can move time
//! forward instead of sleeping.

use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

/// Where the time comes from.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A clock that moves only when told to (tests). A std `Mutex`: it is never held across an
    /// await.
    Manual(Arc<Mutex<OffsetDateTime>>),
}

impl Clock {
    /// A manual clock starting at the current system time.
    pub fn manual() -> Self {
        Self::Manual(Arc::new(Mutex::new(OffsetDateTime::now_utc())))
    }

    /// The current time, truncated to microseconds (the database's precision), so a value read
    /// back from Postgres compares equal to the one written.
    pub fn now(&self) -> OffsetDateTime {
        let now = match self {
            Self::System => OffsetDateTime::now_utc(),
            Self::Manual(at) => *at.lock().unwrap_or_else(|e| e.into_inner()),
        };
        let micros = now.microsecond();
        now.replace_nanosecond(micros * 1_000).unwrap_or(now)
    }

    /// Moves a manual clock forward; no effect on the system clock.
    pub fn advance(&self, by: Duration) {
        if let Self::Manual(at) = self {
            let mut at = at.lock().unwrap_or_else(|e| e.into_inner());
            *at += by;
        }
    }
}
