//! Time as Soundcheck keeps it: instants in milliseconds since the Unix
//! epoch, and calendar days (UTC) for deadlines, milestones and the daily
//! aggregates behind the charts.
//!
//! A day is a `time` [`Date`]: the calendar's rules (leap years, month
//! lengths) are the crate's, not Soundcheck's.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::format_description::StaticFormatDescription;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// How a day is written and read: `2026-06-01`.
const ISO_DAY: StaticFormatDescription = format_description!("[year]-[month]-[day]");

/// Now, in milliseconds since the Unix epoch (the host's wall clock).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A calendar day in UTC, e.g. `2026-06-01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

impl Day {
    /// The day containing the instant `ms` (the last day of 9999 for
    /// instants past it).
    pub fn from_ms(ms: u64) -> Day {
        let day = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map_or(Date::MAX, OffsetDateTime::date);
        Day(day)
    }

    /// Midnight at the start of the day, in milliseconds since the epoch
    /// (0 for days before it).
    pub fn start_ms(self) -> u64 {
        let nanos = self.0.midnight().assume_utc().unix_timestamp_nanos();
        u64::try_from(nanos / 1_000_000).unwrap_or(0)
    }

    /// The day `n` days later (earlier when negative), kept within the
    /// years `time` supports (-9999 to 9999).
    pub fn plus(self, n: i32) -> Day {
        Day(self.0.saturating_add(Duration::days(i64::from(n))))
    }

    /// Days from `earlier` to `self`.
    pub fn days_since(self, earlier: Day) -> i32 {
        self.0.to_julian_day() - earlier.0.to_julian_day()
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Day, String> {
        let bad = || format!("`{text}` is not a date; write it as YYYY-MM-DD, e.g. 2026-06-01");
        let trimmed = text.trim();
        // `[year]` also reads a signed year (`+2026`, `-0044`); nobody
        // writes a deadline so.
        if trimmed.starts_with(['+', '-']) {
            return Err(bad());
        }
        Date::parse(trimmed, ISO_DAY).map(Day).map_err(|_| bad())
    }

    /// `(year, month, day)`.
    pub fn civil(self) -> (i32, i32, i32) {
        let (year, month, day) = self.0.to_calendar_date();
        (year, i32::from(u8::from(month)), i32::from(day))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.format(ISO_DAY).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Day, D::Error> {
        let text = String::deserialize(deserializer)?;
        Day::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The date of the instant `ms`, as `YYYY-MM-DD`.
pub fn date(ms: u64) -> String {
    Day::from_ms(ms).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_dates() {
        let day = Day::parse("2026-06-01").unwrap();
        assert_eq!(day.to_string(), "2026-06-01");
        assert_eq!(Day::parse("1970-01-01").unwrap(), Day::from_ms(0));
        assert_eq!(Day::parse(" 2026-06-01\n").unwrap(), day);
        assert_eq!(day.civil(), (2026, 6, 1));
        assert_eq!(
            Day::parse("2024-02-29").unwrap().plus(1).to_string(),
            "2024-03-01"
        );
    }

    #[test]
    fn refuses_impossible_dates() {
        for bad in [
            "2026-02-30",
            "2025-02-29",
            "2026-13-01",
            "26-06-01",
            "2026-6-1",
            "2026-06-01T00:00",
            "+2026-06-01",
            "-0044-03-15",
            "soon",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Day::parse("2026-02-30"),
            Err("`2026-02-30` is not a date; write it as YYYY-MM-DD, e.g. 2026-06-01".into())
        );
    }

    #[test]
    fn serialises_as_its_date() {
        let day = Day::parse("2026-06-01").unwrap();
        assert_eq!(serde_json::to_string(&day).unwrap(), r#""2026-06-01""#);
        assert_eq!(serde_json::from_str::<Day>(r#""2026-06-01""#).unwrap(), day);
        let error = serde_json::from_str::<Day>(r#""2026-13-01""#).unwrap_err();
        assert!(
            error.to_string().contains("write it as YYYY-MM-DD"),
            "{error}"
        );
    }

    #[test]
    fn instants_past_the_calendar_fall_on_its_last_day() {
        assert_eq!(date(u64::MAX), "9999-12-31");
        let last = Day::from_ms(u64::MAX);
        assert_eq!(last.plus(1), last);
        assert_eq!(Day::from_ms(0).plus(-1).start_ms(), 0);
    }

    #[test]
    fn a_day_contains_its_instants() {
        let day = Day::parse("2026-05-04").unwrap();
        assert_eq!(Day::from_ms(day.start_ms()), day);
        assert_eq!(Day::from_ms(day.start_ms() + DAY_MS - 1), day);
        assert_eq!(date(day.start_ms() + DAY_MS), "2026-05-05");
    }

    proptest! {
        // From 0001-01-01 to 9999-12-31.
        #[test]
        fn days_round_trip_through_their_text(n in -719_162i32..=2_932_896) {
            let epoch = Day::from_ms(0);
            let day = epoch.plus(n);
            prop_assert_eq!(day.days_since(epoch), n);
            let (y, m, d) = day.civil();
            prop_assert_eq!(day.to_string(), format!("{y:04}-{m:02}-{d:02}"));
            prop_assert_eq!(Day::parse(&day.to_string()), Ok(day));
        }

        #[test]
        fn a_day_starts_at_its_first_instant(ms in 0u64..253_402_300_800_000) {
            let day = Day::from_ms(ms);
            prop_assert!(day.start_ms() <= ms && ms - day.start_ms() < DAY_MS);
            prop_assert_eq!(day.start_ms() % DAY_MS, 0);
        }
    }
}
