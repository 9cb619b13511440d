//! HTTP client for the Cloudflare Access users API. It decides nothing about what to delete, and
//! says nothing to a person: what happens along the way goes to the [`Observer`] it is given.
//!
//! The contract is ../shared/cloudflare/API.md: list is `GET /accounts/{account_id}/access/users`
//! (pages of at most 1000), delete is `DELETE /accounts/{account_id}/access/users/{user_id}` (202).
//!
//! This file holds the [`Client`] and its [`ClientConfig`]; the rest is one file per
//! responsibility:
//! - `wire`: the API's JSON shapes (user, envelope, messages) and what a response means;
//! - `error`: [`ApiError`], Cloudflare's error codes and the hints they call for;
//! - `url`: which base URLs are safe, how they are shown, how request URLs are built;
//! - `transport`: credentials in headers, one attempt, and the retry loop around it;
//! - `budget` and `retry`: the client-side rate budget, and when and how long to retry;
//! - `listing`: reading every page and refusing a listing that does not add up;
//! - `delete`: deleting one confirmed user, and resolving an unknown outcome by asking for it;
//! - `verify`: token verification, a one-user probe of the account, one user by id;
//! - `token_perm`: a token's own policies (its details, API-additions §2c/2d) and which needed
//!   permissions they do not grant on the account;
//! - `observer`: the events the client reports;
//! - `door`, `door_write`, `door_wire`: the door (API-additions §3, §4): reading the Zero Trust
//!   lists and the Access group, writing them with minimal changes, within the lists' own rate
//!   budget.

mod budget;
mod delete;
mod door;
#[cfg(test)]
mod door_fake_tests;
#[cfg(test)]
mod door_tests;
mod door_wire;
mod door_write;
mod error;
mod listing;
mod observer;
mod retry;
mod token_perm;
mod transport;
mod url;
mod verify;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use crate::model::AccountId;

pub use budget::RateBudget;
pub use delete::DeleteOutcome;
pub use door::{GroupQuery, LISTS_RATE_LIMIT};
pub use door_write::Written;
pub(crate) use error::human_duration;
pub use error::ApiError;
pub use listing::Listing;
pub use observer::{Event, Observer, Silent};
pub use retry::RetryPolicy;
pub use token_perm::{missing as missing_permissions, PermissionGroup, TokenPolicy};
pub use transport::{header_value_problem, Credentials, Detailed};
pub(crate) use url::check_base_url;
pub(crate) use url::shown_url as shown_base;
pub use verify::{Lookup, Probe, TokenInfo, VerifiedAt};
pub use wire::{ApiMessage, User};

use budget::Budget;
use retry::Jitter;

pub(crate) const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";
/// The default `--max-wait`: longer than Cloudflare's five-minute block, shorter than a CI job's
/// patience.
pub(crate) const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(15 * 60);

/// How the client behaves towards the API: concurrency, rate budget, retries, timeouts.
#[derive(Clone)]
pub struct ClientConfig {
    /// At most this many pages fetched at once after page 1, when the API says how many there
    /// are; `None`: as many as the rate budget has room for, up to 16.
    pub list_concurrency: Option<usize>,
    /// Requests allowed per window, shared by listing and deleting.
    pub rate_limit: RateBudget,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    /// For one attempt of one request, body included.
    pub request_timeout: Duration,
    /// The longest wait the client starts (a 429's `Retry-After`, the `Ratelimit` header, its
    /// own budget); a longer one stops the request with [`ApiError::WaitTooLong`].
    pub max_wait: Duration,
    /// Who hears what the client does: pages listed, waits, retries (the command decides; by
    /// default nobody).
    pub observer: Arc<dyn Observer>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("list_concurrency", &self.list_concurrency)
            .field("rate_limit", &self.rate_limit)
            .field("retry", &self.retry)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            list_concurrency: None,
            rate_limit: RateBudget::default(),
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_wait: DEFAULT_MAX_WAIT,
            observer: Arc::new(Silent),
        }
    }
}

/// Talks to one account of the Access users API.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    credentials: Credentials,
    account_id: AccountId,
    config: ClientConfig,
    budget: Arc<Budget>,
    /// The Zero Trust lists API's own limit (600 a minute), spent by lists requests only.
    lists_budget: Arc<Budget>,
    jitter: Arc<Jitter>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("account_id", &self.account_id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(
        base_url: &str,
        credentials: Credentials,
        account_id: &AccountId,
    ) -> Result<Client, ApiError> {
        Client::with_config(base_url, credentials, account_id, ClientConfig::default())
    }

    pub fn with_config(
        base_url: &str,
        credentials: Credentials,
        account_id: &AccountId,
        config: ClientConfig,
    ) -> Result<Client, ApiError> {
        let base = url::check_base_url(base_url)?;
        transport::check_credentials(&credentials)?;
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("reconcile/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // The API does not redirect; following one could send credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        if url::is_loopback(&base) {
            // Plain http is allowed because it never leaves this machine: a proxy from the
            // environment (HTTP_PROXY, ALL_PROXY) would carry it, token and all, off it. A remote
            // https base keeps the proxies (the token then travels inside the TLS tunnel).
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| ApiError::BaseUrl {
            url: url::shown_url(base_url),
            why: format!("cannot build the HTTP client: {e}"),
            shape: false,
        })?;
        Ok(Client {
            http,
            base,
            credentials,
            account_id: account_id.clone(),
            budget: Arc::new(Budget::new(config.rate_limit)),
            lists_budget: Arc::new(Budget::new(door::LISTS_RATE_LIMIT)),
            jitter: Arc::new(Jitter::from_clock()),
            config,
        })
    }

    pub fn account_id(&self) -> &AccountId {
        &self.account_id
    }
}
