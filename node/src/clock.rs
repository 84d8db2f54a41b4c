//! The one place that reads the system clock; everything else takes a [`Clock`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }
}

/// A clock tests set by hand.
#[derive(Debug, Default, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `ms`.
    pub fn at(ms: i64) -> Self {
        Self(Arc::new(AtomicI64::new(ms)))
    }
    /// Sets the time.
    /// Moves the time on by `ms`.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// China Standard Time (UTC+8, no daylight saving): the time zone of every date shown.
pub fn china() -> TimeZone {
    TimeZone::fixed(Offset::constant(8))
}

/// The date in China at `ms`.
pub fn china_date(ms: i64) -> Date {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(china())
        .date()
}

/// `YYYYMMDD` as a number, as used in index keys.
pub fn date_key(d: Date) -> u32 {
    (d.year() as u32) * 10_000 + (d.month() as u32) * 100 + d.day() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_in_china_time() {
        // 2024-12-10T16:30:00Z is 2024-12-11 00:30 in China.
        let ms = jiff::Timestamp::from_second(1_733_848_200)
            .unwrap()
            .as_millisecond();
        assert_eq!(date_key(china_date(ms)), 20241211);
    }
}
