//! What the client tells the program while it works: pages listed, waits for the rate limit,
//! retries, listings read again. The client only reports these [`Event`]s to the [`Observer`]
//! its [`super::ClientConfig`] carries; it never draws a bar or words a message for a person.
//! The command supplies the observer (`crate::progress` shows them on a terminal), and a test
//! can supply one that records them.

use std::time::Duration;

use super::budget::RateBudget;
use super::error::ApiError;

/// Something the client did or is about to do that a person may want to know about.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// Page 1 of a listing came back; `pages` will be read in all, when the API says how many.
    ListingStarted { pages: Option<u64> },
    /// One more page of the listing came back (page 1 included).
    PageListed,
    /// Every page of the listing is in (page 1 may still be read once more to check it).
    PagesRead,
    /// The listing was inconsistent and is read again, from page 1: attempt `attempt` of `of`.
    ListingAgain {
        error: &'a ApiError,
        attempt: u32,
        of: u32,
    },
    /// The listing brought `count` records back more than once; each is counted once.
    Duplicates { count: usize },
    /// A request failed and is sent again after `delay`: attempt `attempt` of `of`.
    Retrying {
        error: &'a ApiError,
        attempt: u32,
        of: u32,
        delay: Duration,
    },
    /// The API answered 429 (`error`): every request waits `wait`, as it asks, then goes on.
    RateLimited { error: &'a ApiError, wait: Duration },
    /// A wait after a 429 goes on: `left` to go. Reported every 10 s (30 s in a wait of more
    /// than two minutes), so that a long wait does not look like a hang.
    StillWaiting { left: Duration },
    /// The wait after a 429 is over; requests go again.
    WaitOver,
    /// The API's `Ratelimit` header says no requests are left for this token: requests wait
    /// `wait`, until it resets. Reported once per wait, when it is longer than a few seconds.
    NoRequestsLeft { wait: Duration },
    /// The API's `Ratelimit-Policy` is stricter than the client's rate budget: it is used
    /// instead.
    PolicyAdopted {
        policy: RateBudget,
        instead_of: RateBudget,
    },
}

/// Receives the client's [`Event`]s. Called from the tasks that send requests, several at once:
/// it should return quickly and never block on a person.
pub trait Observer: Send + Sync {
    fn event(&self, event: Event<'_>);
}

/// The default observer: hears everything, says nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _: Event<'_>) {}
}
