//! Rate-limit bookkeeping for the `Ratelimit` / `Ratelimit-Policy` headers Cloudflare sends on
//! every REST API response (shared/cloudflare/API.md §2).
//!
//! A fixed window per credential: the window opens at the credential's first request and lasts
//! `window`; each request uses one unit of `quota`. By default it only reports. Enforced
//! ([`RateLimiter::check`]), it does what Cloudflare documents: past the quota, every call is
//! refused with 429 for a block period (Cloudflare: five minutes, the window), after which a
//! fresh window opens.
//!
//! Cloudflare counts per user, across the dashboard, API keys and tokens (API.md §2), so other
//! traffic spends the same budget. [`RateLimiter::with_foreign`] models it as a steady rate of
//! phantom requests charged to every window from its opening: computed from the time elapsed
//! when a request comes, with no thread that sleeps. With the limit enforced, phantom requests
//! can go over the quota by themselves; the block then starts at the moment they did.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use axum::http::{header::AUTHORIZATION, HeaderMap};

/// What the `Ratelimit` header reports for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Requests left in the current window (`r=`).
    pub remaining: u32,
    /// Whole seconds until the window resets, rounded up (`t=`).
    pub reset_secs: u64,
}

pub(crate) struct RateLimiter {
    quota: u32,
    window: Duration,
    windows: HashMap<u64, Window>,
    /// Phantom requests per second from other traffic (0: none).
    foreign: f64,
}

struct Window {
    start: Instant,
    used: u32,
    blocked_until: Option<Instant>,
}

/// What an enforced limiter says about one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed(Usage),
    /// Refused: `retry_after` whole seconds (rounded up) until calls are accepted again.
    Limited {
        retry_after: u64,
    },
}

/// Beyond this many tracked credentials, windows that have ended are forgotten.
const PRUNE_ABOVE: usize = 10_000;

impl RateLimiter {
    pub(super) fn new(quota: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            quota,
            window,
            windows: HashMap::new(),
            foreign: 0.0,
        }
    }

    /// This limiter with other traffic spending `per_second` requests a second from every
    /// window (negative or not a number: none).
    pub(super) fn with_foreign(mut self, per_second: f64) -> RateLimiter {
        self.foreign = if per_second.is_finite() && per_second > 0.0 {
            per_second
        } else {
            0.0
        };
        self
    }

    /// Phantom requests charged to `w` by `now`.
    fn foreign_hits(&self, w: &Window, now: Instant) -> u32 {
        let hits = self.foreign * now.saturating_duration_since(w.start).as_secs_f64();
        hits.floor().min(f64::from(u32::MAX)) as u32
    }

    /// When other traffic alone took `w` over the quota, if it did within the window: the
    /// moment its phantom requests reached `quota + 1 - used`.
    fn foreign_over(&self, w: &Window) -> Option<Instant> {
        if self.foreign <= 0.0 {
            return None;
        }
        let needed = (self.quota + 1).checked_sub(w.used)?;
        let after = Duration::try_from_secs_f64(f64::from(needed) / self.foreign).ok()?;
        (after < self.window).then(|| w.start + after)
    }

    /// Count one request by `credential` at `now`.
    pub(super) fn hit(&mut self, credential: u64, now: Instant) -> Usage {
        if self.windows.len() > PRUNE_ABOVE {
            let window = self.window;
            self.windows
                .retain(|_, w| now.saturating_duration_since(w.start) < window);
        }
        let window = self.window;
        let entry = self.windows.entry(credential).or_insert(Window {
            start: now,
            used: 0,
            blocked_until: None,
        });
        if now.saturating_duration_since(entry.start) >= window {
            *entry = Window {
                start: now,
                used: 0,
                blocked_until: None,
            };
        }
        entry.used = entry.used.saturating_add(1);
        let left = window.saturating_sub(now.saturating_duration_since(entry.start));
        let used = entry.used;
        let foreign = self
            .windows
            .get(&credential)
            .map_or(0, |w| self.foreign_hits(w, now));
        Usage {
            remaining: self.quota.saturating_sub(used.saturating_add(foreign)),
            reset_secs: ceil_secs(left),
        }
    }

    /// Count one request by `credential` at `now`, and refuse it when the quota is spent: the
    /// request that goes over starts a block of `block`, during which every request is refused.
    pub(super) fn check(&mut self, credential: u64, now: Instant, block: Duration) -> Verdict {
        let quota = self.quota;
        let over = self.windows.get(&credential).and_then(|w| {
            let within = now.saturating_duration_since(w.start) < self.window;
            let over = self.foreign_over(w)?;
            (w.blocked_until.is_none() && within && over <= now).then_some(over)
        });
        if let Some(w) = self.windows.get_mut(&credential) {
            if let Some(over) = over {
                // Other traffic went over the quota before this request: the block began then.
                w.blocked_until = Some(over + block);
            }
            if let Some(until) = w.blocked_until {
                if now < until {
                    return Verdict::Limited {
                        retry_after: ceil_secs(until - now),
                    };
                }
                // The block is over: a fresh window opens with this request.
                *w = Window {
                    start: now,
                    used: 0,
                    blocked_until: None,
                };
            }
        }
        let usage = self.hit(credential, now);
        let foreign = self
            .windows
            .get(&credential)
            .map_or(0, |w| self.foreign_hits(w, now));
        match self.windows.get_mut(&credential) {
            Some(w) if w.used.saturating_add(foreign) > quota => {
                w.blocked_until = Some(now + block);
                Verdict::Limited {
                    retry_after: ceil_secs(block),
                }
            }
            _ => Verdict::Allowed(usage),
        }
    }

    /// The `Ratelimit-Policy` header value.
    pub(super) fn policy(&self) -> String {
        format!("\"default\";q={};w={}", self.quota, ceil_secs(self.window))
    }
}

impl Usage {
    /// The `Ratelimit` header value.
    pub(super) fn header(&self) -> String {
        format!("\"default\";r={};t={}", self.remaining, self.reset_secs)
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The bucket a request counts against: its bearer token, else its legacy email, else one
/// shared anonymous bucket. Hashed, so the limiter holds no credential.
pub(crate) fn credential_key(headers: &HeaderMap) -> u64 {
    let mut hasher = DefaultHasher::new();
    if let Some(auth) = headers.get(AUTHORIZATION) {
        ("token", auth.as_bytes()).hash(&mut hasher);
    } else if let Some(email) = headers.get("x-auth-email") {
        ("legacy", email.as_bytes().to_ascii_lowercase()).hash(&mut hasher);
    } else {
        return 0;
    }
    hasher.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_window_counts_down_and_resets() {
        let mut limiter = RateLimiter::new(3, Duration::from_secs(300));
        let t0 = Instant::now();
        let usage = limiter.hit(1, t0);
        assert_eq!(
            usage,
            Usage {
                remaining: 2,
                reset_secs: 300
            }
        );
        assert_eq!(usage.header(), "\"default\";r=2;t=300");
        let usage = limiter.hit(1, t0 + Duration::from_millis(1500));
        assert_eq!(
            usage,
            Usage {
                remaining: 1,
                reset_secs: 299
            }
        );
        assert_eq!(limiter.hit(2, t0).remaining, 2, "credentials are separate");
        limiter.hit(1, t0 + Duration::from_secs(2));
        // Not enforced: past the quota the count stays at zero.
        assert_eq!(limiter.hit(1, t0 + Duration::from_secs(3)).remaining, 0);
        let usage = limiter.hit(1, t0 + Duration::from_secs(300));
        assert_eq!(
            usage,
            Usage {
                remaining: 2,
                reset_secs: 300
            }
        );
        assert_eq!(limiter.policy(), "\"default\";q=3;w=300");
    }

    #[test]
    fn enforced_the_call_over_quota_starts_a_block() {
        let mut limiter = RateLimiter::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        let block = Duration::from_secs(30);
        assert!(matches!(limiter.check(1, t0, block), Verdict::Allowed(u) if u.remaining == 1));
        assert!(matches!(limiter.check(1, t0, block), Verdict::Allowed(u) if u.remaining == 0));
        assert_eq!(
            limiter.check(1, t0 + Duration::from_secs(1), block),
            Verdict::Limited { retry_after: 30 }
        );
        assert!(
            matches!(limiter.check(2, t0, block), Verdict::Allowed(_)),
            "per credential"
        );
        // Still blocked after the window would have reset: the block is what counts.
        assert_eq!(
            limiter.check(1, t0 + Duration::from_millis(20_500), block),
            Verdict::Limited { retry_after: 11 }
        );
        assert!(matches!(
            limiter.check(1, t0 + Duration::from_secs(31), block),
            Verdict::Allowed(u) if u.remaining == 1 && u.reset_secs == 10
        ));
    }

    #[test]
    fn other_traffic_spends_the_window_from_elapsed_time() {
        // 2 phantom requests a second in a window of 10 for 100 s.
        let mut limiter = RateLimiter::new(10, Duration::from_secs(100)).with_foreign(2.0);
        let t0 = Instant::now();
        assert_eq!(limiter.hit(1, t0).remaining, 9);
        assert_eq!(
            limiter.hit(1, t0 + Duration::from_millis(1500)).remaining,
            5
        );
        assert_eq!(limiter.hit(1, t0 + Duration::from_secs(10)).remaining, 0);
        // A new window starts uncharged.
        assert_eq!(limiter.hit(1, t0 + Duration::from_secs(100)).remaining, 9);
        assert_eq!(
            RateLimiter::new(10, Duration::from_secs(100))
                .with_foreign(f64::NAN)
                .hit(1, t0 + Duration::from_secs(5))
                .remaining,
            9
        );
    }

    #[test]
    fn enforced_other_traffic_alone_can_start_the_block() {
        let block = Duration::from_secs(30);
        let mut limiter = RateLimiter::new(10, Duration::from_secs(100)).with_foreign(1.0);
        let t0 = Instant::now();
        assert!(matches!(limiter.check(1, t0, block), Verdict::Allowed(u) if u.remaining == 9));
        // One of ours and 10 phantom requests by t0 + 10 s: over the quota at that moment, so
        // the block runs from t0 + 10 s to t0 + 40 s.
        assert_eq!(
            limiter.check(1, t0 + Duration::from_secs(20), block),
            Verdict::Limited { retry_after: 20 }
        );
        assert!(matches!(
            limiter.check(1, t0 + Duration::from_secs(40), block),
            Verdict::Allowed(u) if u.remaining == 9
        ));
        // Our own request that goes over, with the phantom ones, starts it now.
        let mut limiter = RateLimiter::new(3, Duration::from_secs(100)).with_foreign(0.5);
        assert!(matches!(limiter.check(1, t0, block), Verdict::Allowed(_)));
        assert!(matches!(
            limiter.check(1, t0 + Duration::from_secs(2), block),
            Verdict::Allowed(u) if u.remaining == 0
        ));
        assert_eq!(
            limiter.check(1, t0 + Duration::from_millis(3000), block),
            Verdict::Limited { retry_after: 30 }
        );
    }

    #[test]
    fn credentials_map_to_buckets() {
        let mut a = HeaderMap::new();
        assert_eq!(credential_key(&a), 0);
        a.insert(AUTHORIZATION, "Bearer x".parse().unwrap());
        let mut b = HeaderMap::new();
        b.insert("x-auth-email", "A@x".parse().unwrap());
        let mut c = HeaderMap::new();
        c.insert("x-auth-email", "a@X".parse().unwrap());
        assert_ne!(credential_key(&a), credential_key(&b));
        assert_eq!(credential_key(&b), credential_key(&c));
    }
}
