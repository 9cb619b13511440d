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

/// What the client reports, against the sandbox: a recording observer sees the listing page by
/// page, and a retry with its attempt number. The sandbox is only the server here, as in the
/// integration tests; the client's own code shares nothing with it.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::cloudflare::{Client, ClientConfig, Credentials, RetryPolicy};
    use crate::model::AccountId;
    use crate::sandbox::{Faults, Options, RunningSandbox, Sandbox, Seed, DEFAULT_TOKEN};
    use crate::secret::Secret;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Observer for Recorder {
        fn event(&self, event: Event<'_>) {
            let said = match event {
                Event::ListingStarted { pages } => format!("listing {pages:?}"),
                Event::PageListed => "page".into(),
                Event::PagesRead => "read".into(),
                Event::Retrying { attempt, of, .. } => format!("retrying {attempt}/{of}"),
                other => format!("{other:?}"),
            };
            self.0.lock().unwrap().push(said);
        }
    }

    async fn client_of(faults: Faults, retries: u32) -> (Client, Arc<Recorder>, RunningSandbox) {
        let account = AccountId::example();
        let mut seed = Seed::empty(account.as_str());
        seed.generate(7);
        let options = Options::default().with_faults(faults, None);
        let server = Sandbox::new(seed, options)
            .bind(([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        let recorder = Arc::new(Recorder::default());
        let config = ClientConfig {
            retry: RetryPolicy {
                max_retries: retries,
                initial_delay: std::time::Duration::from_millis(1),
                ..RetryPolicy::default()
            },
            observer: recorder.clone(),
            ..ClientConfig::default()
        };
        let client = Client::with_config(
            &server.base_url(),
            Credentials::Token(Secret::new(DEFAULT_TOKEN)),
            &account,
            config,
        )
        .unwrap();
        (client, recorder, server)
    }

    #[tokio::test]
    async fn a_listing_is_reported_page_by_page() {
        let faults = Faults {
            max_per_page: Some(3),
            ..Faults::default()
        };
        let (client, recorder, _server) = client_of(faults, 0).await;
        let listing = client.list_users().await.unwrap();
        assert_eq!(listing.users.len(), 7);
        assert_eq!(
            *recorder.0.lock().unwrap(),
            ["listing Some(3)", "page", "page", "page", "read"]
        );
    }

    #[tokio::test]
    async fn a_retry_is_reported_with_its_attempt() {
        let faults = Faults {
            error_rate: 1.0,
            ..Faults::default()
        };
        let (client, recorder, _server) = client_of(faults, 1).await;
        assert!(client.list_users().await.is_err());
        assert_eq!(*recorder.0.lock().unwrap(), ["retrying 2/2"]);
    }
}
