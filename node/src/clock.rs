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

/// The system clock moved by a fixed offset: it shows `start` when the process begins and
/// runs at the real rate from there.
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    offset_ms: i64,
}

impl ShiftedClock {
    /// A clock that shows `start_ms` now.
    pub fn starting_at(start_ms: i64) -> Self {
        Self {
            offset_ms: start_ms - SystemClock.now_ms(),
        }
    }
}

impl Clock for ShiftedClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.offset_ms
    }
}

/// The variable that sets where a node's clock starts (an RFC 3339 time such as
/// `2027-12-15T10:00:00+08:00`), for rehearsing a date on a test machine; unset, the
/// node runs on the system clock.
pub const START_VAR: &str = "EXLIC_CLOCK_START";

/// The clock a node process runs on: the system clock, or a [`ShiftedClock`] when
/// [`START_VAR`] is set. The offset is fixed at the first call.
pub fn process_clock() -> Result<Arc<dyn Clock>, String> {
    static START: std::sync::OnceLock<Result<Option<ShiftedClock>, String>> =
        std::sync::OnceLock::new();
    let shifted = START.get_or_init(|| match std::env::var(START_VAR) {
        Err(_) => Ok(None),
        Ok(v) => v
            .parse::<jiff::Timestamp>()
            .map(|t| Some(ShiftedClock::starting_at(t.as_millisecond())))
            .map_err(|e| format!("{START_VAR}={v}: not an RFC 3339 time: {e}")),
    });
    Ok(match shifted.clone()? {
        Some(c) => Arc::new(c),
        None => Arc::new(SystemClock),
    })
}

/// A clock tests set by hand.
#[derive(Debug, Default, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `ms`.
    pub fn at(ms: i64) -> Self {
        Self(Arc::new(AtomicI64::new(ms)))
    }
    /// Moves the time on by `ms`.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the time.
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

/// The first moment of day `d` in China, Unix ms.
pub fn china_day_start(d: Date) -> i64 {
    d.to_zoned(china())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

/// `YYYYMMDD` as a number, as used in index keys.
pub fn date_key(d: Date) -> u32 {
    (d.year() as u32) * 10_000 + (d.month() as u32) * 100 + d.day() as u32
}

/// Whole working days (Monday to Friday, China time) from `from_ms` to `to_ms`.
pub fn working_days(from_ms: i64, to_ms: i64) -> u32 {
    let (a, b) = (china_date(from_ms), china_date(to_ms));
    let mut d = a;
    let mut n = 0;
    while d < b && n < 10_000 {
        d = d.tomorrow().unwrap_or(b);
        if !matches!(
            d.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        ) {
            n += 1;
        }
    }
    n
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

    #[test]
    fn working_days_skip_the_weekend() {
        let day = 86_400_000;
        // Friday 2026-11-27 10:00 China time.
        let fri = 1_795_744_800_000;
        assert_eq!(working_days(fri, fri + 3_600_000), 0, "the same day");
        assert_eq!(working_days(fri, fri + 3 * day), 1, "to Monday");
        assert_eq!(working_days(fri, fri + 7 * day), 5, "a week");
        assert_eq!(working_days(fri + day, fri), 0, "never negative");
    }
}
