//! Times in the database are Unix milliseconds in a `BIGINT`, the one time type both
//! dialects read the same way through the `Any` driver.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A stored time as people read it, in UTC: `3 December 2026, 14:05 UTC`.
pub fn display_ms(ms: i64) -> String {
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return String::new();
    };
    format!(
        "{} {} {}, {:02}:{:02} UTC",
        at.day(),
        MONTHS[usize::from(u8::from(at.month())) - 1],
        at.year(),
        at.hour(),
        at.minute()
    )
}

/// A stored time as a machine-readable date and time, for `<time datetime>`.
pub fn iso_ms(ms: i64) -> String {
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return String::new();
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// The `(year, month)` of a stored time, for card expiry checks.
pub fn year_month(ms: i64) -> (u32, u32) {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).map_or((1970, 1), |at| {
        (
            u32::try_from(at.year()).unwrap_or(1970),
            u32::from(u8::from(at.month())),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_read_as_day_month_year_and_clock_in_utc() {
        let ms = 1_796_306_700_000; // 2026-12-03 14:05:00 UTC
        assert_eq!(display_ms(ms), "3 December 2026, 14:05 UTC");
        assert_eq!(iso_ms(ms), "2026-12-03T14:05:00Z");
        assert_eq!(year_month(ms), (2026, 12));
    }
}
