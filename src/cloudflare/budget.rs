//! The client-side rate budget: at most `quota` requests in any `window` (Cloudflare allows 1200
//! per 300 s per token, API.md §2), shared by every request of a run, listing and deleting alike.
//!
//! The state is pure (every method takes `now`), so the arithmetic is tested with a made-up
//! clock; [`Budget`] wraps it for async use. Three sources can make a request wait:
//! - the sliding log of our own sends (never more than `quota` in any `window`, measured with a
//!   small margin so that requests that left `window` apart cannot arrive closer than that);
//! - a block after a 429, until its `Retry-After` has passed, however long;
//! - the server's `Ratelimit` header, when it says fewer requests are left than our own count
//!   allows (someone else spends the same token's budget). A `Ratelimit-Policy` that our budget
//!   would break is adopted.
//!
//! A wait longer than the client's `max_wait` is not started: [`Budget::acquire`] says how long
//! and why, and the caller stops with an error. A wait of more than [`ANNOUNCE_AFTER`] that the
//! server's header asks for is reported to the observer once (a 429 is reported by the caller),
//! and so is a `Ratelimit-Policy` adopted.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::observer::{Event, Observer};

/// `N/SECONDS`: at most N requests in any SECONDS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateBudget {
    pub quota: u32,
    pub window: Duration,
}

impl Default for RateBudget {
    /// Cloudflare's global limit: 1200 requests per 5 minutes per token.
    fn default() -> Self {
        RateBudget {
            quota: 1200,
            window: Duration::from_secs(300),
        }
    }
}

impl fmt::Display for RateBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.quota, self.window.as_secs_f64())
    }
}

impl FromStr for RateBudget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("`{s}` is not a rate: write N/SECONDS, e.g. 1200/300 (1200 requests per 300 seconds)")
        };
        let (n, secs) = s.trim().split_once('/').ok_or_else(bad)?;
        let quota: u32 = n.trim().parse().map_err(|_| bad())?;
        let secs: f64 = secs.trim().parse().map_err(|_| bad())?;
        if quota == 0 || !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
            return Err(format!(
                "`{s}`: N must be at least 1 and SECONDS between 0 and 86400"
            ));
        }
        Ok(RateBudget {
            quota,
            window: Duration::from_secs_f64(secs),
        })
    }
}

/// The `Ratelimit` header: `"default";r=<remaining>;t=<seconds until reset>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Remaining {
    pub(crate) remaining: u32,
    pub(crate) reset: Duration,
}

/// Parse `Ratelimit`. Several comma-separated items: the one with the fewest requests left.
pub(crate) fn parse_ratelimit(value: &str) -> Option<Remaining> {
    value
        .split(',')
        .filter_map(|item| {
            let r = param(item, "r")?;
            let t = param(item, "t")?;
            // A reset further away than a day is not a rate-limit window: ignore the item
            // rather than stall (or overflow an Instant) on it.
            if t > 86_400 {
                return None;
            }
            Some(Remaining {
                remaining: u32::try_from(r).unwrap_or(u32::MAX),
                reset: Duration::from_secs(t),
            })
        })
        .min_by_key(|r| r.remaining)
}

/// Parse `Ratelimit-Policy`: `"default";q=<quota>;w=<window seconds>`. Several items: the one
/// with the smallest quota.
pub(crate) fn parse_policy(value: &str) -> Option<RateBudget> {
    value
        .split(',')
        .filter_map(|item| {
            let q = u32::try_from(param(item, "q")?).ok()?;
            let w = param(item, "w")?;
            (q > 0 && w > 0 && w <= 86_400).then(|| RateBudget {
                quota: q,
                window: Duration::from_secs(w),
            })
        })
        .min_by_key(|b| b.quota)
}

/// `name=<integer>` among the `;`-separated parameters of one structured-field item.
fn param(item: &str, name: &str) -> Option<u64> {
    item.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim() == name).then(|| v.trim().parse().ok())?
    })
}

/// Waits longer than this that the server asks for are reported to the observer (shorter ones
/// are routine pacing, not news).
pub(crate) const ANNOUNCE_AFTER: Duration = Duration::from_secs(5);

/// A wait [`Budget::acquire`] would not start: longer than the allowed maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TooLong {
    pub(crate) wait: Duration,
    pub(crate) cause: WaitCause,
    /// Our own budget, to name it when it is the cause.
    pub(crate) budget: RateBudget,
}

/// How long to wait before sending, or nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    Go,
    Until(Instant, WaitCause),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitCause {
    /// Our own budget is spent for now.
    Budget,
    /// The server's `Ratelimit` header says so.
    Server,
    /// A 429 asked us to wait (`Retry-After`).
    Blocked,
}

/// The budget's state. All arithmetic, no clock of its own.
#[derive(Debug)]
pub(crate) struct BudgetState {
    budget: RateBudget,
    /// Added to the window: requests sent `window` apart can arrive closer than that.
    margin: Duration,
    sent: VecDeque<Instant>,
    in_flight: u32,
    /// From the `Ratelimit` header: requests left, and when the server's window resets.
    server: Option<(u32, Instant)>,
    blocked_until: Option<Instant>,
    /// The end of the last server-asked wait that was announced: announced once, not once per
    /// request waiting.
    announced: Option<Instant>,
}

fn margin_for(window: Duration) -> Duration {
    (window / 100).clamp(Duration::from_millis(50), Duration::from_secs(3))
}

impl BudgetState {
    pub(crate) fn new(budget: RateBudget) -> BudgetState {
        BudgetState {
            budget,
            margin: margin_for(budget.window),
            sent: VecDeque::new(),
            in_flight: 0,
            server: None,
            blocked_until: None,
            announced: None,
        }
    }

    /// Should a wait until `until` be announced? True once per wait (a later end is a new one).
    pub(crate) fn announce(&mut self, until: Instant) -> bool {
        match self.announced {
            Some(a) if a + Duration::from_secs(1) >= until => false,
            _ => {
                self.announced = Some(until);
                true
            }
        }
    }

    pub(crate) fn budget(&self) -> RateBudget {
        self.budget
    }

    /// May a request go at `now`? If so it is counted as sent.
    pub(crate) fn try_acquire(&mut self, now: Instant) -> Wait {
        if let Some(until) = self.blocked_until {
            if now < until {
                return Wait::Until(until, WaitCause::Blocked);
            }
            self.blocked_until = None;
        }
        let span = self.budget.window + self.margin;
        while self
            .sent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= span)
        {
            self.sent.pop_front();
        }
        if self.sent.len() >= self.budget.quota as usize {
            if let Some(&oldest) = self.sent.front() {
                return Wait::Until(oldest + span, WaitCause::Budget);
            }
        }
        if let Some((left, reset)) = self.server {
            if now >= reset {
                self.server = None;
            } else if left == 0 {
                return Wait::Until(reset + self.margin, WaitCause::Server);
            }
        }
        if let Some((left, _)) = &mut self.server {
            *left -= 1;
        }
        self.sent.push_back(now);
        self.in_flight += 1;
        Wait::Go
    }

    /// A response came back (or the request failed): read its rate-limit headers, if any.
    /// Returns the budget it replaced, when the server's `policy` is stricter and is adopted.
    pub(crate) fn observe(
        &mut self,
        now: Instant,
        remaining: Option<Remaining>,
        policy: Option<RateBudget>,
    ) -> Option<RateBudget> {
        self.in_flight = self.in_flight.saturating_sub(1);
        let mut replaced = None;
        if let Some(policy) = policy {
            if !self.is_safe_under(policy) {
                tracing::debug!(%policy, instead_of = %self.budget, "adopting the API's Ratelimit-Policy");
                replaced = Some(self.budget);
                self.budget = policy;
                self.margin = margin_for(policy.window);
            }
        }
        if let Some(r) = remaining {
            // What our own count allows, if every request still in flight lands after this one.
            let ours = self.local_remaining().saturating_sub(self.in_flight);
            if r.remaining < ours {
                let left = r.remaining.saturating_sub(self.in_flight);
                if let Some(reset) = now.checked_add(r.reset) {
                    self.server = Some((left, reset));
                }
            }
        }
        replaced
    }

    /// A 429: nothing goes until `until`. Returns true when this extends the block (the caller
    /// then reports the wait).
    pub(crate) fn block_until(&mut self, until: Instant) -> bool {
        match self.blocked_until {
            Some(b) if b + Duration::from_secs(1) >= until => false,
            _ => {
                self.blocked_until = Some(until);
                true
            }
        }
    }

    /// Requests that may go at `now` without a wait: none while blocked, else what our own log
    /// leaves, and no more than the server's header says are left.
    pub(crate) fn left_at(&mut self, now: Instant) -> u32 {
        if self.blocked_until.is_some_and(|until| now < until) {
            return 0;
        }
        let span = self.budget.window + self.margin;
        while self
            .sent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= span)
        {
            self.sent.pop_front();
        }
        let ours = self.local_remaining();
        match self.server {
            Some((left, reset)) if now < reset => ours.min(left),
            _ => ours,
        }
    }

    fn local_remaining(&self) -> u32 {
        self.budget
            .quota
            .saturating_sub(u32::try_from(self.sent.len()).unwrap_or(u32::MAX))
    }

    /// Is our budget within the server's `policy` even when we burst?
    fn is_safe_under(&self, policy: RateBudget) -> bool {
        let ours = self.budget;
        if ours.window >= policy.window {
            ours.quota <= policy.quota
        } else {
            let windows = policy.window.as_secs_f64() / ours.window.as_secs_f64();
            f64::from(ours.quota) * windows.ceil() <= f64::from(policy.quota)
        }
    }
}

/// The budget shared by every request of a client.
#[derive(Debug)]
pub(crate) struct Budget {
    state: Mutex<BudgetState>,
}

impl Budget {
    pub(crate) fn new(budget: RateBudget) -> Budget {
        Budget {
            state: Mutex::new(BudgetState::new(budget)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait until a request may go, and count it; or, when the wait would be longer than
    /// `max_wait`, return at once with how long and why (nothing is counted). A long wait the
    /// server's header asks for is reported to `observer`, once.
    pub(crate) async fn acquire(
        &self,
        max_wait: Duration,
        observer: &dyn Observer,
    ) -> Result<(), TooLong> {
        loop {
            let now = Instant::now();
            let (wait, budget) = {
                let mut state = self.lock();
                (state.try_acquire(now), state.budget())
            };
            match wait {
                Wait::Go => return Ok(()),
                Wait::Until(until, cause) => {
                    let left = until.saturating_duration_since(now);
                    if left > max_wait {
                        return Err(TooLong {
                            wait: left,
                            cause,
                            budget,
                        });
                    }
                    match cause {
                        WaitCause::Server
                            if left > ANNOUNCE_AFTER && self.lock().announce(until) =>
                        {
                            tracing::debug!(wait = ?left, "no requests left: waiting");
                            observer.event(Event::NoRequestsLeft { wait: left });
                        }
                        WaitCause::Blocked => {}
                        _ => tracing::debug!(?cause, "rate budget: waiting"),
                    }
                    tokio::time::sleep_until(until.into()).await;
                }
            }
        }
    }

    /// See [`BudgetState::observe`].
    pub(crate) fn observe(
        &self,
        remaining: Option<Remaining>,
        policy: Option<RateBudget>,
    ) -> Option<RateBudget> {
        self.lock().observe(Instant::now(), remaining, policy)
    }

    pub(crate) fn block_until(&self, until: Instant) -> bool {
        self.lock().block_until(until)
    }

    /// See [`BudgetState::left_at`].
    pub(crate) fn left_now(&self) -> u32 {
        self.lock().left_at(Instant::now())
    }
}

/// The most pages listed at once when the budget leaves room: enough to hide a round trip of
/// tens of milliseconds behind the parsing of ~400 KB pages, few enough not to crowd a small
/// machine (each page in flight is a buffer and a parse).
pub(crate) const MAX_LIST_CONCURRENCY: usize = 16;

/// How many of the `pages` still to read are requested at once: at most `requested`
/// (`--list-concurrency`; without it [`MAX_LIST_CONCURRENCY`]), and never more than the budget
/// has requests `left` now, so that no worker starts only to wait on the budget (at least one,
/// which waits for the budget like any request).
pub(crate) fn list_concurrency(requested: Option<usize>, left: u32, pages: u32) -> usize {
    let left = usize::try_from(left).unwrap_or(usize::MAX);
    let pages = usize::try_from(pages).unwrap_or(usize::MAX);
    requested
        .unwrap_or(MAX_LIST_CONCURRENCY)
        .min(left)
        .min(pages)
        .clamp(1, 64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cloudflare::Silent;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn rates_parse_and_refuse_nonsense() {
        assert_eq!(
            "120/10".parse::<RateBudget>().unwrap(),
            RateBudget {
                quota: 120,
                window: secs(10.0)
            }
        );
        assert_eq!(
            " 20 / 0.5 ".parse::<RateBudget>().unwrap().window,
            secs(0.5)
        );
        for bad in ["", "120", "0/10", "10/0", "a/b", "10/-1", "10/inf", "-1/10"] {
            assert!(bad.parse::<RateBudget>().is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_parse() {
        assert_eq!(
            parse_ratelimit("\"default\";r=50;t=30"),
            Some(Remaining {
                remaining: 50,
                reset: secs(30.0)
            })
        );
        assert_eq!(
            parse_ratelimit("\"burst\";r=5;t=1, \"default\";r=2;t=30")
                .unwrap()
                .remaining,
            2
        );
        assert_eq!(parse_ratelimit("\"default\";r=x;t=30"), None);
        assert_eq!(parse_ratelimit("garbage"), None);
        // A hostile reset neither overflows nor stalls the client: the item is ignored.
        assert_eq!(
            parse_ratelimit("\"default\";r=0;t=18446744073709551615"),
            None
        );
        assert_eq!(parse_ratelimit("\"default\";r=0;t=10000000000"), None);
        assert_eq!(
            parse_policy("\"default\";q=1200;w=300"),
            Some(RateBudget::default())
        );
        assert_eq!(parse_policy("\"default\";q=0;w=300"), None);
        assert_eq!(parse_policy("\"default\";w=300"), None);
    }

    #[test]
    fn list_concurrency_follows_the_budget_up_to_what_was_asked_and_never_exceeds_what_is_left() {
        // Cloudflare's 1200/300 s, fresh, nothing asked: 16 at once for 99 pages.
        assert_eq!(list_concurrency(None, 1200, 99), MAX_LIST_CONCURRENCY);
        // Asked for: at most that, fewer or more than the ceiling, while the budget has it.
        assert_eq!(list_concurrency(Some(4), 1200, 99), 4);
        assert_eq!(list_concurrency(Some(1), 1200, 99), 1);
        assert_eq!(list_concurrency(Some(32), 1200, 99), 32);
        assert_eq!(list_concurrency(Some(32), 20, 99), 20);
        // A budget with little left: no more at once than it has, but one always goes.
        assert_eq!(list_concurrency(None, 10, 99), 10);
        assert_eq!(list_concurrency(Some(4), 3, 99), 3);
        assert_eq!(list_concurrency(None, 0, 99), 1);
        // No more workers than pages.
        assert_eq!(list_concurrency(None, 1200, 2), 2);
        assert_eq!(list_concurrency(Some(4), 1200, 0), 1);
        for requested in [None, Some(1), Some(4), Some(16), Some(64)] {
            for left in [0, 1, 5, 15, 16, 17, 100, 1200] {
                for pages in [1, 3, 99] {
                    let n = list_concurrency(requested, left, pages);
                    let why = format!("{requested:?} {left} {pages}");
                    assert!(n >= 1 && n <= pages.max(1) as usize, "{why}");
                    assert!(n <= left.max(1) as usize, "{why}");
                    let cap = requested.unwrap_or(MAX_LIST_CONCURRENCY);
                    assert!(n <= cap, "{why}");
                    assert!(
                        n >= cap.min(left.max(1) as usize).min(pages as usize),
                        "{why}"
                    );
                }
            }
        }
    }

    #[test]
    fn what_is_left_counts_our_sends_the_server_and_a_block() {
        let t0 = Instant::now();
        let mut s = BudgetState::new("10/10".parse().unwrap());
        assert_eq!(s.left_at(t0), 10);
        for _ in 0..3 {
            assert_eq!(s.try_acquire(t0), Wait::Go);
        }
        assert_eq!(s.left_at(t0), 7);
        // A window (and its margin) later, the sends are forgotten.
        assert_eq!(s.left_at(t0 + secs(11.0)), 10);
        // The server says fewer are left than we count.
        s.observe(
            t0,
            Some(Remaining {
                remaining: 2,
                reset: secs(5.0),
            }),
            None,
        );
        // Two left by the server's count, and the two still in flight will spend them.
        assert_eq!(s.left_at(t0), 0);
        let mut s = BudgetState::new("10/10".parse().unwrap());
        assert!(s.block_until(t0 + secs(30.0)));
        assert_eq!(s.left_at(t0 + secs(1.0)), 0);
        assert_eq!(s.left_at(t0 + secs(31.0)), 10);
    }

    #[test]
    fn never_more_than_quota_in_any_window() {
        let t0 = Instant::now();
        let mut s = BudgetState::new("3/10".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(s.try_acquire(t0), Wait::Go);
        }
        let margin = margin_for(secs(10.0));
        assert_eq!(
            s.try_acquire(t0 + secs(5.0)),
            Wait::Until(t0 + secs(10.0) + margin, WaitCause::Budget)
        );
        assert_eq!(s.try_acquire(t0 + secs(10.0) + margin), Wait::Go);
        // Responses without headers change nothing.
        s.observe(t0 + secs(11.0), None, None);
        assert!(matches!(s.try_acquire(t0 + secs(11.0)), Wait::Go));
        assert!(matches!(s.try_acquire(t0 + secs(11.0)), Wait::Go));
        assert!(matches!(
            s.try_acquire(t0 + secs(11.0)),
            Wait::Until(_, WaitCause::Budget)
        ));
    }

    #[test]
    fn a_429_blocks_everyone_until_retry_after() {
        let t0 = Instant::now();
        let mut s = BudgetState::new(RateBudget::default());
        assert_eq!(s.try_acquire(t0), Wait::Go);
        assert!(s.block_until(t0 + secs(300.0)));
        assert!(!s.block_until(t0 + secs(300.5)), "the same block again");
        assert_eq!(
            s.try_acquire(t0 + secs(299.0)),
            Wait::Until(t0 + secs(300.0), WaitCause::Blocked)
        );
        assert_eq!(s.try_acquire(t0 + secs(300.0)), Wait::Go);
    }

    #[test]
    fn the_server_header_wins_when_it_is_stricter() {
        let t0 = Instant::now();
        let mut s = BudgetState::new(RateBudget::default());
        assert_eq!(s.try_acquire(t0), Wait::Go);
        // Someone else spent the budget: 1 left, resets in 30 s.
        s.observe(
            t0,
            Some(Remaining {
                remaining: 1,
                reset: secs(30.0),
            }),
            None,
        );
        assert_eq!(s.try_acquire(t0), Wait::Go);
        match s.try_acquire(t0) {
            Wait::Until(at, WaitCause::Server) => assert!(at >= t0 + secs(30.0)),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.try_acquire(t0 + secs(31.0)), Wait::Go);
        // A header that agrees with our own count is not a reason to wait.
        let mut s = BudgetState::new("10/10".parse().unwrap());
        assert_eq!(s.try_acquire(t0), Wait::Go);
        s.observe(
            t0,
            Some(Remaining {
                remaining: 9,
                reset: secs(10.0),
            }),
            None,
        );
        assert!(s.server.is_none());
    }

    #[test]
    fn a_server_wait_is_announced_once() {
        let t0 = Instant::now();
        let mut s = BudgetState::new(RateBudget::default());
        assert!(s.announce(t0 + secs(30.0)));
        assert!(
            !s.announce(t0 + secs(30.5)),
            "the same wait, from another request"
        );
        assert!(s.announce(t0 + secs(90.0)), "a new wait");
    }

    #[tokio::test]
    async fn a_wait_longer_than_the_maximum_is_not_started() {
        let b = Budget::new("1/300".parse().unwrap());
        assert_eq!(b.acquire(Duration::from_secs(1), &Silent).await, Ok(()));
        let started = Instant::now();
        let e = b
            .acquire(Duration::from_secs(60), &Silent)
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(e.cause, WaitCause::Budget);
        assert!(e.wait > Duration::from_secs(299), "{e:?}");
        assert!(b.block_until(Instant::now() + secs(7200.0)));
        let e = b
            .acquire(Duration::from_secs(3600), &Silent)
            .await
            .unwrap_err();
        assert_eq!(e.cause, WaitCause::Blocked);
    }

    #[test]
    fn a_stricter_policy_is_adopted_a_looser_one_ignored() {
        let t0 = Instant::now();
        let mut s = BudgetState::new(RateBudget::default());
        s.observe(t0, None, Some("100/60".parse().unwrap()));
        assert_eq!(s.budget(), "100/60".parse().unwrap());
        s.observe(t0, None, Some("1200/300".parse().unwrap()));
        assert_eq!(s.budget(), "100/60".parse().unwrap());
        // 10 per second is 600 per minute: over a 100-per-minute policy.
        let mut s = BudgetState::new("10/1".parse().unwrap());
        s.observe(t0, None, Some("100/60".parse().unwrap()));
        assert_eq!(s.budget().quota, 100);
        let mut s = BudgetState::new("1/1".parse().unwrap());
        s.observe(t0, None, Some("100/60".parse().unwrap()));
        assert_eq!(s.budget().quota, 1);
    }
}
