//! Calendar dates (UTC) for `expires:`: parsed strictly as `YYYY-MM-DD`, compared, and today's
//! date from the system clock. Small enough not to need a date crate.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

impl Date {
    /// Parse `YYYY-MM-DD` exactly (four-digit year, two-digit month and day, a real calendar day).
    pub fn parse(text: &str) -> Result<Date, String> {
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape_ok {
            return Err(format!(
                "`{}` is not a date in the form YYYY-MM-DD",
                text.escape_debug()
            ));
        }
        let num = |range: std::ops::Range<usize>| -> i32 {
            text[range]
                .bytes()
                .fold(0, |n, b| n * 10 + i32::from(b - b'0'))
        };
        let (year, month, day) = (num(0..4), num(5..7), num(8..10));
        if !(1..=12).contains(&month) {
            return Err(format!("`{text}` has no month {month}"));
        }
        let month = month as u8;
        if day < 1 || day > i32::from(days_in_month(year, month)) {
            return Err(format!("`{text}` is not a day of that month"));
        }
        Ok(Date {
            year,
            month,
            day: day as u8,
        })
    }

    /// The civil date of a count of days since 1970-01-01 (H. Hinnant's algorithm).
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Days since 1970-01-01 (the inverse of [`Date::from_days_since_epoch`]).
    pub fn days_since_epoch(&self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Today in UTC, by the system clock.
    pub fn today_utc() -> Date {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Date::from_days_since_epoch(secs.div_euclid(86_400))
    }
}

/// Seconds since the Unix epoch, by the system clock.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Seconds since the Unix epoch as RFC 3339 UTC: `2026-11-28T09:15:02Z`, or with `millis`,
/// `2026-11-28T09:15:02.123Z`.
pub fn format_timestamp(secs: i64, millis: Option<u32>) -> String {
    let date = Date::from_days_since_epoch(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let fraction = millis.map(|m| format!(".{m:03}")).unwrap_or_default();
    format!(
        "{date}T{:02}:{:02}:{:02}{fraction}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parse an RFC 3339 timestamp as the API writes them (`2020-07-01T05:20:00Z`,
/// `2014-01-01T05:20:00.12345Z`, or with a `+hh:mm` offset) into seconds since the Unix epoch.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let date = Date::parse(text.get(..10)?).ok()?;
    let rest = text.get(10..)?;
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix('t'))?;
    let two = |s: &str| -> Option<i64> {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (h, m, sec) = (
        two(rest.get(0..2)?)?,
        two(rest.get(3..5)?)?,
        two(rest.get(6..8)?)?,
    );
    if rest.get(2..3)? != ":" || rest.get(5..6)? != ":" || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut zone = rest.get(8..)?;
    if let Some(frac) = zone.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = &frac[digits..];
    }
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.get(0..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            if zone.len() != 6 || zone.get(3..4)? != ":" {
                return None;
            }
            sign * (two(zone.get(1..3)?)? * 3600 + two(zone.get(4..6)?)? * 60)
        }
    };
    Some(date.days_since_epoch() * 86_400 + h * 3600 + m * 60 + sec - offset)
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_dates_only() {
        assert_eq!(
            Date::parse("2027-01-31"),
            Ok(Date {
                year: 2027,
                month: 1,
                day: 31
            })
        );
        assert!(Date::parse("2028-02-29").is_ok());
        for bad in [
            "2027-02-29",
            "2100-02-29",
            "2027-13-01",
            "2027-00-10",
            "2027-04-31",
            "2027-1-31",
            "27-01-31",
            "2027/01/31",
            "2027-01-31T00:00:00Z",
            "",
            "２０２７-01-31",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
        assert!(Date::parse("2000-02-29").is_ok());
    }

    #[test]
    fn order_and_display() {
        let a = Date::parse("2026-12-31").unwrap();
        let b = Date::parse("2027-01-01").unwrap();
        assert!(a < b);
        assert_eq!(b.to_string(), "2027-01-01");
    }

    #[test]
    fn formatting_round_trips() {
        for secs in [0, 1_593_580_800, 1_795_867_199, -86_401] {
            let text = format_timestamp(secs, None);
            assert_eq!(parse_timestamp(&text), Some(secs), "{text}");
        }
        assert_eq!(
            format_timestamp(1_593_580_800, Some(7)),
            "2020-07-01T05:20:00.007Z"
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("2020-07-01T05:20:00Z"), Some(1_593_580_800));
        assert_eq!(
            parse_timestamp("2014-01-01T05:20:00.12345Z"),
            Some(1_388_553_600)
        );
        assert_eq!(
            parse_timestamp("2020-07-01T07:20:00+02:00"),
            Some(1_593_580_800)
        );
        assert_eq!(
            parse_timestamp("2020-07-01T00:20:00-05:00"),
            Some(1_593_580_800)
        );
        for bad in [
            "",
            "2020-07-01",
            "2020-07-01 05:20:00Z",
            "2020-07-01T05:20:00",
            "2020-07-01T25:00:00Z",
            "2020-07-01T05:20:00.Z",
            "2020-07-01T05:20:00+0200",
            "garbage",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        for days in [-800_000, -1, 0, 1, 19_782, 20_785, 2_000_000] {
            assert_eq!(Date::from_days_since_epoch(days).days_since_epoch(), days);
        }
    }

    #[test]
    fn days_since_epoch() {
        assert_eq!(Date::from_days_since_epoch(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days_since_epoch(-1).to_string(), "1969-12-31");
        assert_eq!(
            Date::from_days_since_epoch(19_782).to_string(),
            "2024-02-29"
        );
        assert_eq!(
            Date::from_days_since_epoch(20_785).to_string(),
            "2026-11-28"
        );
        assert!(Date::today_utc().year >= 2024);
    }
}
