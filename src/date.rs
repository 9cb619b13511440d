//! Calendar dates, instants and spans of time, and the one clock they are read from.
//!
//! - [`Date`]: a civil date in UTC (`expires:`), parsed strictly as `YYYY-MM-DD`.
//! - Timestamps: RFC 3339 in UTC, written by [`format_timestamp`] (saved plans, the audit log)
//!   and read by [`parse_timestamp`] (the API's `last_successful_login`).
//! - [`Span`]: the one grammar of every duration, in flags and in the desired state.
//! - [`Clock`]: where "now" comes from; the system clock in a run, a fixed instant in tests.
//!
//! The calendar arithmetic, offsets and the clock are jiff's (`jiff::civil::Date`,
//! `jiff::Timestamp`): a well-kept crate gets leap years, negative years and offsets right so
//! that this module does not have to. What stays here is what this tool decides: which spellings
//! it accepts (jiff reads more than RFC 3339 and more than our spans, and a wider grammar would
//! change what a reviewed file means), and the words of its messages.

use std::fmt;

use jiff::{civil, Timestamp, ToSpan};

use crate::text::printable;

/// A calendar day, UTC. Made only by [`Date::parse`], [`Date::from_days_since_epoch`] or a
/// [`Clock`]; ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(civil::Date);

const EPOCH: civil::Date = civil::Date::constant(1970, 1, 1);

impl Date {
    /// Parse `YYYY-MM-DD` exactly (four-digit year, two-digit month and day, a real calendar day).
    pub fn parse(text: &str) -> Result<Date, DateError> {
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape_ok {
            return Err(DateError::Shape {
                text: text.to_string(),
            });
        }
        let num = |range: std::ops::Range<usize>| -> i16 {
            text[range]
                .bytes()
                .fold(0, |n, b| n * 10 + i16::from(b - b'0'))
        };
        let (year, month, day) = (num(0..4), num(5..7), num(8..10));
        if !(1..=12).contains(&month) {
            return Err(DateError::NoSuchMonth {
                text: text.to_string(),
                month: month as u8,
            });
        }
        // Shape and month are checked: what jiff can still refuse is the day.
        civil::Date::new(year, month as i8, day as i8)
            .map(Date)
            .map_err(|_| DateError::NoSuchDay {
                text: text.to_string(),
                day: day as u8,
            })
    }

    /// The date `days` days after 1970-01-01 (before it when negative), held within the
    /// years jiff represents (-9999 to 9999).
    pub fn from_days_since_epoch(days: i64) -> Date {
        let clamped = days.clamp(
            Date(civil::Date::MIN).days_since_epoch(),
            Date(civil::Date::MAX).days_since_epoch(),
        );
        Date(EPOCH.checked_add(clamped.days()).unwrap_or(EPOCH))
    }

    /// Days since 1970-01-01 (the inverse of [`Date::from_days_since_epoch`]).
    pub(crate) fn days_since_epoch(&self) -> i64 {
        EPOCH
            .until(self.0)
            .map_or(0, |span| i64::from(span.get_days()))
    }

    /// Today in UTC, by the system clock.
    pub(crate) fn today_utc() -> Date {
        Clock::System.today()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why text is not a [`Date`]. Each variant keeps the text as given; the message escapes it
/// where it may be anything (past the shape check it is ten ASCII digits and dashes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not `dddd-dd-dd` (ten characters, digits and two dashes).
    #[error("`{}` is not a date in the form YYYY-MM-DD", .text.escape_debug())]
    Shape { text: String },
    /// The shape is right but the month is not 1 to 12.
    #[error("`{text}` has no month {month}")]
    NoSuchMonth { text: String, month: u8 },
    /// The month is right but it has no such day (`2027-02-29`, `2027-04-31`, day `00`).
    #[error("`{text}` is not a day of that month")]
    NoSuchDay { text: String, day: u8 },
}

/// Where "now" comes from. Code that needs the time takes a clock (or the instant it read
/// from one), so that a test can fix it instead of racing the system clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// Always this instant, in seconds since the Unix epoch.
    Fixed(i64),
}

impl Clock {
    fn now(&self) -> Timestamp {
        match *self {
            Clock::System => Timestamp::now(),
            Clock::Fixed(secs) => timestamp(secs, 0),
        }
    }

    /// Now, in whole seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        self.now().as_second()
    }

    /// Today's date, UTC.
    pub(crate) fn today(&self) -> Date {
        Date::from_days_since_epoch(self.unix().div_euclid(86_400))
    }

    /// Now as RFC 3339 UTC with milliseconds: `2026-11-28T09:15:02.123Z`.
    pub(crate) fn rfc3339_millis(&self) -> String {
        let now = self.now();
        format_timestamp(
            now.as_second(),
            Some(now.subsec_millisecond().unsigned_abs()),
        )
    }
}

/// The instant `secs` seconds and `millis` milliseconds after the epoch, held within the range
/// jiff represents (years -9999 to 9999).
fn timestamp(secs: i64, millis: u32) -> Timestamp {
    let secs = secs.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    let nanos = (millis.min(999) * 1_000_000) as i32;
    Timestamp::new(secs, nanos)
        .or_else(|_| Timestamp::from_second(secs))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Seconds since the Unix epoch as RFC 3339 UTC: `2026-11-28T09:15:02Z`, or with `millis`,
/// `2026-11-28T09:15:02.123Z`.
pub(crate) fn format_timestamp(secs: i64, millis: Option<u32>) -> String {
    match millis {
        Some(millis) => format!("{:.3}", timestamp(secs, millis)),
        None => format!("{:.0}", timestamp(secs, 0)),
    }
}

/// Parse an RFC 3339 timestamp as the API writes them (`2020-07-01T05:20:00Z`,
/// `2014-01-01T05:20:00.12345Z`, or with a `+hh:mm` offset) into seconds since the Unix epoch.
///
/// Only RFC 3339's own shape is accepted (jiff's parser also reads a space for `T`, `+hhmm` and
/// more): a last login in another shape counts as unreadable, and an unreadable one holds the
/// user, which is the safe side.
pub(crate) fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim().to_ascii_uppercase();
    rfc3339_shaped(text.as_bytes()).then_some(())?;
    // Whole seconds are what is returned: the fraction is dropped before jiff reads the rest,
    // so a fraction of any length reads as it did (jiff takes at most nine digits).
    let zone = text[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    format!("{}{zone}", &text[..19])
        .parse::<Timestamp>()
        .ok()
        .map(|t| t.as_second())
}

/// `dddd-dd-ddTdd:dd:dd`, an optional fraction `.d+`, then `Z` or `±dd:dd`.
fn rfc3339_shaped(b: &[u8]) -> bool {
    let fits = |at: usize, template: &[u8]| {
        b.len() >= at + template.len()
            && template.iter().zip(&b[at..]).all(|(t, c)| match t {
                b'd' => c.is_ascii_digit(),
                _ => t == c,
            })
    };
    if !fits(0, b"dddd-dd-ddTdd:dd:dd") {
        return false;
    }
    let mut at = 19;
    if b.get(at) == Some(&b'.') {
        let digits = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return false;
        }
        at += 1 + digits;
    }
    match &b[at..] {
        b"Z" => true,
        [b'+' | b'-', ..] => b.len() == at + 6 && fits(at + 1, b"dd:dd"),
        _ => false,
    }
}

/// A span of time: one or more whole numbers, each with a unit `s`, `m`, `h`, `d` or `w`
/// (`90s`, `30m`, `12h`, `7d`, `2w`, `1h30m`). The one grammar of every duration, in the desired
/// state (`hold_active_within`) and in flags (`--plan-ttl`, `--max-wait`); each caller checks
/// its own range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub seconds: u64,
}

impl Span {
    pub fn parse(raw: &str) -> Result<Span, SpanError> {
        let text = raw.trim();
        let (mut seconds, mut digits, mut any) = (0u64, String::new(), false);
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit: u64 = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                _ => {
                    return Err(SpanError::Character {
                        text: text.to_string(),
                        found: c,
                    })
                }
            };
            if digits.is_empty() {
                return Err(SpanError::NoNumber {
                    text: text.to_string(),
                    unit: c,
                });
            }
            let too_long = || SpanError::TooLong {
                text: text.to_string(),
            };
            let n: u64 = digits.parse().map_err(|_| too_long())?;
            digits.clear();
            seconds = n
                .checked_mul(unit)
                .and_then(|s| seconds.checked_add(s))
                .ok_or_else(too_long)?;
            any = true;
        }
        if !digits.is_empty() {
            return Err(SpanError::NoUnit {
                text: text.to_string(),
            });
        }
        if !any {
            return Err(SpanError::Empty);
        }
        Ok(Span { seconds })
    }
}

/// Why text is not a [`Span`]. Every variant gives the same message (the grammar, with the text
/// trimmed and escaped); the variant says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanError {
    /// Nothing but white space.
    Empty,
    /// A character that is neither a digit nor a unit (`7 d`, `1.5h`, `-1d`, `7days`).
    Character { text: String, found: char },
    /// A unit with no number before it (`d`, `1hm`).
    NoNumber { text: String, unit: char },
    /// A number with no unit after it (`7`, `1h30`).
    NoUnit { text: String },
    /// More seconds than 64 bits hold.
    TooLong { text: String },
}

impl SpanError {
    /// The text as read (trimmed).
    pub fn text(&self) -> &str {
        match self {
            SpanError::Empty => "",
            SpanError::Character { text, .. }
            | SpanError::NoNumber { text, .. }
            | SpanError::NoUnit { text }
            | SpanError::TooLong { text } => text,
        }
    }
}

impl fmt::Display for SpanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a span of time: write whole numbers with a unit s, m, h, d or w (90s, 15m, 1h30m, 7d, 2w)",
            printable(self.text())
        )
    }
}

impl std::error::Error for SpanError {}

impl Span {
    /// Every unit from days down, each once: `1h30m`, `30d`, `45s`, `0s` (where [`Span`]'s
    /// `Display` shows one unit: `90m`). Both read back through [`Span::parse`].
    pub(crate) fn compound(&self) -> String {
        let mut secs = self.seconds;
        if secs == 0 {
            return "0s".into();
        }
        let mut out = String::new();
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
            if secs >= size {
                out.push_str(&format!("{}{unit}", secs / size));
                secs %= size;
            }
        }
        out
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
            if s > 0 && s.is_multiple_of(size) {
                return write!(f, "{}{unit}", s / size);
            }
        }
        write!(f, "{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_dates_only() {
        let d = Date::parse("2027-01-31").unwrap();
        assert_eq!(
            (d.to_string(), d.days_since_epoch()),
            ("2027-01-31".to_string(), 20_849)
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
        assert_eq!(
            Date::parse("2027-13-01").unwrap_err().to_string(),
            "`2027-13-01` has no month 13"
        );
        assert_eq!(
            Date::parse("2027-02-29").unwrap_err().to_string(),
            "`2027-02-29` is not a day of that month"
        );
        assert_eq!(
            Date::parse("tomorrow").unwrap_err().to_string(),
            "`tomorrow` is not a date in the form YYYY-MM-DD"
        );
        assert_eq!(
            Date::parse("a\u{1b}b").unwrap_err().to_string(),
            "`a\\u{1b}b` is not a date in the form YYYY-MM-DD"
        );
    }

    #[test]
    fn date_errors_say_what_is_wrong() {
        let shape = |text: &str| DateError::Shape { text: text.into() };
        for bad in [
            "tomorrow",
            "2027-1-31",
            "27-01-31",
            "2027/01/31",
            "",
            "２０２７-01-31",
        ] {
            assert_eq!(Date::parse(bad), Err(shape(bad)), "{bad}");
        }
        assert_eq!(
            Date::parse("2027-00-10"),
            Err(DateError::NoSuchMonth {
                text: "2027-00-10".into(),
                month: 0
            })
        );
        assert_eq!(
            Date::parse("2027-13-01"),
            Err(DateError::NoSuchMonth {
                text: "2027-13-01".into(),
                month: 13
            })
        );
        for (bad, day) in [("2027-02-29", 29), ("2027-04-31", 31), ("2027-01-00", 0)] {
            assert_eq!(
                Date::parse(bad),
                Err(DateError::NoSuchDay {
                    text: bad.into(),
                    day
                }),
                "{bad}"
            );
        }
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
        assert_eq!(format_timestamp(0, Some(0)), "1970-01-01T00:00:00.000Z");
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
        assert_eq!(parse_timestamp("2020-07-01t05:20:00z"), Some(1_593_580_800));
        assert_eq!(
            parse_timestamp("2020-07-01T05:20:00.1234567890123+00:00"),
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
            "2020-07-01T05:20:00+02",
            "2020-7-01T05:20:00Z",
            "+2020-07-01T05:20:00Z",
            "2020-07-01T05:20:00Zjunk",
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
        // Beyond the years jiff holds: the nearest day it does, not a panic.
        assert_eq!(
            Date::from_days_since_epoch(i64::MAX).to_string(),
            "9999-12-31"
        );
        assert!(Date::from_days_since_epoch(i64::MIN) < Date::from_days_since_epoch(0));
    }

    #[test]
    fn a_fixed_clock_gives_the_same_now_every_time() {
        // 2026-11-28T09:15:02Z
        let clock = Clock::Fixed(1_795_857_302);
        assert_eq!(clock.unix(), 1_795_857_302);
        assert_eq!(clock.today().to_string(), "2026-11-28");
        assert_eq!(clock.rfc3339_millis(), "2026-11-28T09:15:02.000Z");
        assert_eq!(Clock::Fixed(-1).today().to_string(), "1969-12-31");
        let system = Clock::System;
        assert!(system.today() >= Date::parse("2024-01-01").unwrap());
        assert!(system.rfc3339_millis().ends_with('Z'));
    }

    #[test]
    fn spans() {
        for (text, seconds) in [
            ("90s", 90),
            ("30m", 1800),
            ("12h", 43_200),
            ("7d", 604_800),
            ("2w", 1_209_600),
            ("0d", 0),
        ] {
            assert_eq!(Span::parse(text).unwrap().seconds, seconds, "{text}");
        }
        for bad in [
            "",
            "7",
            "d",
            "7 d",
            "7days",
            "-1d",
            "1.5h",
            "99999999999999999999w",
        ] {
            assert!(Span::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Span { seconds: 5400 }.to_string(), "90m");
        assert_eq!(
            Span::parse(" 7 days ").unwrap_err().to_string(),
            "`7 days` is not a span of time: write whole numbers with a unit s, m, h, d or w (90s, 15m, 1h30m, 7d, 2w)"
        );
        assert_eq!(
            Span::parse("").unwrap_err().to_string(),
            "`` is not a span of time: write whole numbers with a unit s, m, h, d or w (90s, 15m, 1h30m, 7d, 2w)"
        );
        assert!(!Span::parse("\u{1b}[2K1d")
            .unwrap_err()
            .to_string()
            .contains('\u{1b}'));
        assert_eq!(Span { seconds: 5400 }.compound(), "1h30m");
        for seconds in [0, 1, 59, 61, 3600, 5400, 86_400, 90_061, 2_592_000] {
            let span = Span { seconds };
            for text in [span.to_string(), span.compound()] {
                assert_eq!(Span::parse(&text), Ok(span), "{text}");
            }
        }
    }

    #[test]
    fn span_errors_say_what_is_wrong() {
        let text = |t: &str| t.to_string();
        for (bad, want) in [
            ("", SpanError::Empty),
            ("   ", SpanError::Empty),
            ("7", SpanError::NoUnit { text: text("7") }),
            ("1h30", SpanError::NoUnit { text: text("1h30") }),
            (
                "d",
                SpanError::NoNumber {
                    text: text("d"),
                    unit: 'd',
                },
            ),
            (
                "1hm",
                SpanError::NoNumber {
                    text: text("1hm"),
                    unit: 'm',
                },
            ),
            (
                "7 d",
                SpanError::Character {
                    text: text("7 d"),
                    found: ' ',
                },
            ),
            (
                "7days",
                SpanError::Character {
                    text: text("7days"),
                    found: 'a',
                },
            ),
            (
                "-1d",
                SpanError::Character {
                    text: text("-1d"),
                    found: '-',
                },
            ),
            (
                "1.5h",
                SpanError::Character {
                    text: text("1.5h"),
                    found: '.',
                },
            ),
            (
                "99999999999999999999w",
                SpanError::TooLong {
                    text: text("99999999999999999999w"),
                },
            ),
            (
                "9999999999999999999w",
                SpanError::TooLong {
                    text: text("9999999999999999999w"),
                },
            ),
            (
                " 18446744073709551615s1s ",
                SpanError::TooLong {
                    text: text("18446744073709551615s1s"),
                },
            ),
        ] {
            assert_eq!(Span::parse(bad), Err(want), "{bad:?}");
        }
        assert_eq!(Span::parse(" 1h30 ").unwrap_err().text(), "1h30");
    }
}
