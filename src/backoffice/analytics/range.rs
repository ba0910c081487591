//! The report's period: whole UTC days, both ends included, read leniently from the
//! `from` and `to` query parameters. A period that cannot be used falls back to a
//! default with a message; it is never an error page.

use time::{Date, Month};

use crate::web::query::non_empty;

const MS_PER_DAY: i64 = 86_400_000;

/// The default period: this many days, ending today.
pub const DEFAULT_DAYS: i64 = 30;

/// The longest period one report covers, so a chart and its query stay bounded.
pub const MAX_DAYS: i64 = 366;

/// A UTC calendar day, as a count of days since 1 January 1970. Stored times divided
/// by [`MS_PER_DAY`] give the same numbers, which is how the SQL buckets orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub i64);

impl Day {
    pub fn of_ms(ms: i64) -> Day {
        Day(ms.div_euclid(MS_PER_DAY))
    }

    /// The first millisecond of the day.
    pub fn start_ms(self) -> i64 {
        self.0 * MS_PER_DAY
    }

    fn date(self) -> Option<Date> {
        let julian = i32::try_from(self.0 + i64::from(epoch().to_julian_day())).ok()?;
        Date::from_julian_day(julian).ok()
    }

    /// `2026-12-03`, as the query parameters and the CSV write it.
    pub fn iso(self) -> String {
        self.date().map_or_else(String::new, |d| {
            format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
        })
    }

    /// `3 Dec`, short enough for a chart's axis.
    pub fn short(self) -> String {
        self.date().map_or_else(String::new, |d| {
            let month = d.month().to_string();
            format!("{} {}", d.day(), &month[..3])
        })
    }
}

fn epoch() -> Date {
    Date::from_calendar_date(1970, Month::January, 1).unwrap_or(Date::MIN)
}

/// Reads `YYYY-MM-DD` as a day from 1970 to 9999. Anything else, including dates that
/// do not exist such as `2026-02-30`, is `None`.
pub fn parse_day(text: &str) -> Option<Day> {
    let mut parts = text.trim().split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !digits(year, 4) || !digits(month, 2) || !digits(day, 2) {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    if year < 1970 {
        return None;
    }
    let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, day.parse().ok()?).ok()?;
    Some(Day(i64::from(
        date.to_julian_day() - epoch().to_julian_day(),
    )))
}

/// A period of whole days, `first` to `last` inclusive, never longer than
/// [`MAX_DAYS`] and never reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    first: Day,
    last: Day,
}

impl DateRange {
    /// The [`DEFAULT_DAYS`] days ending on `today`.
    pub fn ending(today: Day) -> DateRange {
        DateRange {
            first: Day(today.0 - (DEFAULT_DAYS - 1)),
            last: today,
        }
    }

    pub fn first(&self) -> Day {
        self.first
    }

    pub fn last(&self) -> Day {
        self.last
    }

    pub fn days(&self) -> i64 {
        self.last.0 - self.first.0 + 1
    }

    /// Every day of the period, in order.
    pub fn each_day(&self) -> impl Iterator<Item = Day> + use<> {
        (self.first.0..=self.last.0).map(Day)
    }

    /// The stored times that fall in the period: `start_ms <= t < end_ms`.
    pub fn start_ms(&self) -> i64 {
        self.first.start_ms()
    }

    pub fn end_ms(&self) -> i64 {
        Day(self.last.0 + 1).start_ms()
    }

    /// The period the parameters ask for, or the default one ending `today` and a
    /// message saying why they were not used. A missing `to` is today; a missing
    /// `from` is the default length before `to`; a period over [`MAX_DAYS`] keeps its
    /// end and is shortened.
    pub fn from_params(
        from: Option<&str>,
        to: Option<&str>,
        today: Day,
    ) -> (DateRange, Option<String>) {
        let (from, to) = (non_empty(from), non_empty(to));
        let fallback = |why: &str| {
            let message = format!("{why} Showing the last {DEFAULT_DAYS} days instead.");
            (DateRange::ending(today), Some(message))
        };

        let last = match to.map(parse_day) {
            None => today,
            Some(Some(day)) => day,
            Some(None) => return fallback("The end date is not a date written as YYYY-MM-DD."),
        };
        let first = match from.map(parse_day) {
            None => Day(last.0 - (DEFAULT_DAYS - 1)),
            Some(Some(day)) => day,
            Some(None) => {
                return fallback("The start date is not a date written as YYYY-MM-DD.");
            }
        };
        if first > last {
            return fallback("The start date is after the end date.");
        }

        let range = DateRange { first, last };
        if range.days() > MAX_DAYS {
            let shortened = DateRange {
                first: Day(last.0 - (MAX_DAYS - 1)),
                last,
            };
            let message = format!(
                "A report covers at most {MAX_DAYS} days, so this one starts on {}.",
                shortened.first.iso()
            );
            return (shortened, Some(message));
        }
        (range, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        parse_day(text).expect("a valid test date")
    }

    #[test]
    fn a_date_is_read_as_days_since_1970() {
        assert_eq!(parse_day("1970-01-01"), Some(Day(0)));
        assert_eq!(parse_day("2026-12-03"), Some(Day(20_790)));
        assert_eq!(day("2024-02-29").iso(), "2024-02-29");
        assert_eq!(day("2026-12-03").short(), "3 Dec");
    }

    #[test]
    fn dates_that_do_not_exist_or_are_not_written_as_yyyy_mm_dd_are_refused() {
        for text in [
            "2026-13-01",
            "2026-02-30",
            "2025-02-29",
            "abc",
            "",
            "2026-1-01",
            "2026-01-01-01",
            "+2026-01-01",
            "２０２６-01-01",
            "1969-12-31",
            "20260-01-01",
        ] {
            assert_eq!(parse_day(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_stored_time_falls_on_its_utc_day() {
        let day = day("2026-12-03");
        assert_eq!(Day::of_ms(day.start_ms()), day);
        assert_eq!(Day::of_ms(day.start_ms() + MS_PER_DAY - 1), day);
        assert_eq!(Day::of_ms(day.start_ms() - 1), Day(day.0 - 1));
    }

    #[test]
    fn no_parameters_mean_the_last_thirty_days_including_today() {
        let today = day("2026-12-03");
        let (range, message) = DateRange::from_params(None, Some(" "), today);
        assert_eq!(message, None);
        assert_eq!(
            (range.first().iso(), range.last().iso()),
            ("2026-11-04".into(), "2026-12-03".into())
        );
        assert_eq!(range.days(), 30);
        assert_eq!(range.each_day().count(), 30);
        assert_eq!(range.end_ms() - range.start_ms(), 30 * MS_PER_DAY);
    }

    #[test]
    fn a_single_day_is_a_period() {
        let (range, message) =
            DateRange::from_params(Some("2026-06-01"), Some("2026-06-01"), day("2026-12-03"));
        assert_eq!(message, None);
        assert_eq!(range.days(), 1);
    }

    #[test]
    fn bad_or_reversed_dates_fall_back_to_the_default_with_a_message() {
        let today = day("2026-12-03");
        for (from, to, why) in [
            (Some("2026-13-01"), None, "start date is not a date"),
            (None, Some("abc"), "end date is not a date"),
            (Some("2026-05-02"), Some("2026-05-01"), "after the end date"),
        ] {
            let (range, message) = DateRange::from_params(from, to, today);
            assert_eq!(range, DateRange::ending(today), "{from:?} {to:?}");
            let message = message.expect("a message");
            assert!(message.contains(why), "{message}");
        }
    }

    #[test]
    fn a_period_longer_than_the_limit_keeps_its_end_and_is_shortened() {
        let (range, message) =
            DateRange::from_params(Some("2016-01-01"), Some("2026-01-01"), day("2026-12-03"));
        assert_eq!(range.days(), MAX_DAYS);
        assert_eq!(range.last().iso(), "2026-01-01");
        assert!(message.expect("a message").contains("at most 366 days"));

        let (year, message) =
            DateRange::from_params(Some("2025-01-01"), Some("2025-12-31"), day("2026-12-03"));
        assert_eq!((year.days(), message), (365, None));
    }
}
