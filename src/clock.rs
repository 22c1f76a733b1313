//! The clock that flows and sessions ask for "now", so tests can move time instead of sleeping.

use chrono::{DateTime, Duration, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Where "now" comes from. The system clock in production; tests add an offset to jump ahead.
#[derive(Clone, Default)]
pub struct Clock {
    /// Microseconds added to the system time (only ever non-zero in tests).
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    /// The current time at microsecond precision (what the database stores), so a value returned
    /// by a write equals the value read back later.
    pub fn now(&self) -> DateTime<Utc> {
        let micros = Utc::now().timestamp_micros() + self.offset_micros.load(Ordering::Relaxed);
        crate::time::from_micros(micros)
    }

    /// Move this clock forward (tests only: every clone of the registry sees the jump).
    pub fn advance(&self, by: Duration) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX / 2);
        self.offset_micros.fetch_add(micros, Ordering::Relaxed);
    }
}
