//! When and how long to retry: the policy of Cloudflare's own SDKs (API.md §3) — 408, 409, 429,
//! 5xx, timeouts and connection errors; exponential backoff with jitter; bounded attempts — except
//! that a server-given `Retry-After` is waited in full, however long.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; each retry doubles it, up to `max_delay`.
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retries + 1`: `min(initial · 2^retries, max)`, less up to a
    /// quarter at random (`unit` in [0, 1)) so that parallel requests do not retry in step.
    pub(crate) fn backoff(&self, retries: u32, unit: f64) -> Duration {
        // In seconds as a float, capped before it becomes a Duration: no overflow whatever the
        // settings.
        let cap = self.max_delay.max(self.initial_delay).as_secs_f64();
        let full = (self.initial_delay.as_secs_f64() * 2f64.powi(retries.min(30) as i32)).min(cap);
        Duration::from_secs_f64(full * (1.0 - 0.25 * unit.clamp(0.0, 1.0)))
    }
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn huge_settings_do_not_overflow() {
        let p = RetryPolicy {
            max_retries: 100,
            initial_delay: Duration::from_millis(20_000_000_000_000),
            max_delay: Duration::from_secs(30),
        };
        assert_eq!(
            p.backoff(30, 0.0),
            Duration::from_millis(20_000_000_000_000)
        );
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(100, 0.0), Duration::from_secs(30));
        assert_eq!(p.backoff(0, 0.0), Duration::from_millis(500));
    }
}

/// Statuses worth retrying: timeout, conflict, rate limited, server errors.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// `Retry-After`: delay-seconds (an integer, or a decimal as some servers send). An HTTP-date is
/// not parsed; the caller falls back to the `Ratelimit` header or to backoff.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (0.0..=86_400.0)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

/// A small, seedable pseudo-random source (SplitMix64) for jitter: no cryptography needed, and
/// not worth a dependency.
#[derive(Debug)]
pub(crate) struct Jitter(AtomicU64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Jitter {
        Jitter(AtomicU64::new(seed))
    }

    pub(crate) fn from_clock() -> Jitter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Jitter::new(nanos ^ u64::from(std::process::id()).rotate_left(32))
    }

    /// A number in [0, 1).
    pub(crate) fn unit(&self) -> f64 {
        let x = self.0.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        (splitmix(x) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_takes_at_most_a_quarter() {
        let p = RetryPolicy::default();
        let ms = |d: Duration| d.as_millis();
        assert_eq!(ms(p.backoff(0, 0.0)), 500);
        assert_eq!(ms(p.backoff(1, 0.0)), 1000);
        assert_eq!(ms(p.backoff(2, 0.0)), 2000);
        assert_eq!(ms(p.backoff(6, 0.0)), 30_000);
        assert_eq!(ms(p.backoff(1000, 0.0)), 30_000);
        assert_eq!(ms(p.backoff(0, 0.999_999)), 375);
        assert_eq!(ms(p.backoff(0, 0.5)), 437);
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 409, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 405, 422] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after("300"), Some(Duration::from_secs(300)));
        assert_eq!(
            parse_retry_after(" 1.5 "),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("NaN"), None);
    }

    #[test]
    fn jitter_is_seedable_and_in_range() {
        let (a, b) = (Jitter::new(7), Jitter::new(7));
        for _ in 0..1000 {
            let x = a.unit();
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x, b.unit());
        }
    }
}
