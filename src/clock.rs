//! The source of "now": injected so that expiry and due dates can be tested without waiting.

use std::sync::Mutex;

use chrono::{DateTime, Duration, DurationRound, Utc};

/// Tells the current time. Every timestamp paylater stores comes from here.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, truncated to milliseconds (the precision the database keeps).
    fn now(&self) -> DateTime<Utc>;
}

/// Truncates to the millisecond so a value reads back from the database exactly as written.
fn to_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::milliseconds(1)).unwrap_or(at)
}

/// The wall clock, used by the server.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        to_millis(Utc::now())
    }
}

/// A clock that only moves when told to, for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(to_millis(start)),
        }
    }

    /// Moves the clock forward (or backward, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
