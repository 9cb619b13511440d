//! Rate-limit bookkeeping for the `Ratelimit` / `Ratelimit-Policy` headers Cloudflare sends on
//! every REST API response (shared/cloudflare/API.md §2).
//!
//! A fixed window per credential: the window opens at the credential's first request and lasts
//! `window`; each request uses one unit of `quota`. By default it only reports. Enforced
//! ([`RateLimiter::check`]), it does what Cloudflare documents: past the quota, every call is
//! refused with 429 for a block period (Cloudflare: five minutes, the window), after which a
//! fresh window opens.

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
        }
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
        Usage {
            remaining: self.quota.saturating_sub(entry.used),
            reset_secs: ceil_secs(left),
        }
    }

    /// Count one request by `credential` at `now`, and refuse it when the quota is spent: the
    /// request that goes over starts a block of `block`, during which every request is refused.
    pub(super) fn check(&mut self, credential: u64, now: Instant, block: Duration) -> Verdict {
        let quota = self.quota;
        if let Some(w) = self.windows.get_mut(&credential) {
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
        match self.windows.get_mut(&credential) {
            Some(w) if w.used > quota => {
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
