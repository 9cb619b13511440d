//! HTTP client for the Cloudflare Access users API: authentication, the response envelope,
//! pagination (page 1, then the rest concurrently, then page 1 again), API error codes, the rate
//! budget (`budget`), retries (`retry`), transport safety (no proxy for loopback, credentials
//! checked before any request). It decides nothing about what to delete, and prints only
//! through tracing and the progress reporter it is given.
//!
//! The contract is ../shared/cloudflare/API.md: list is `GET /accounts/{account_id}/access/users`
//! (pages of at most 1000), delete is `DELETE /accounts/{account_id}/access/users/{user_id}` (202).

mod budget;
mod retry;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::model::AccountId;
use crate::plan::recheck::Confirmed;
use crate::progress::{Progress, Task};
use crate::secret::Secret;

pub use budget::{
    parse_policy, parse_ratelimit, Budget, BudgetState, RateBudget, Remaining, TooLong, Wait,
    WaitCause,
};
pub use retry::{is_retryable_status, parse_retry_after, Jitter, RetryPolicy};

pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";
/// The default `--max-wait`: longer than Cloudflare's five-minute block, shorter than a CI job's
/// patience.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// The spec's maximum (and default) page size.
pub const PER_PAGE: u32 = 1000;
/// A page of 1000 users is a few hundred KiB; anything far larger is not the documented API.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// 100 million users: a loop that gets here is a server that never says it is done.
const MAX_PAGES: u32 = 100_000;

/// How to authenticate: an API token (preferred), or the legacy email + global API key.
#[derive(Clone, Debug)]
pub enum Credentials {
    Token(Secret),
    Global { email: String, key: Secret },
}

/// A user as the API returns it, with the fields reconcile reads. Every field is optional in the
/// spec, so every field is optional here. The others (`uid`, `seat_uid`, `created_at`,
/// `updated_at`, and any the API adds) are skipped while parsing: a listing of 100,000 users
/// then allocates half as many strings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_seat: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_seat: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_device_count: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_login: Option<String>,
}

/// One item of the envelope's `errors` or `messages`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiMessage {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_chain: Vec<ApiMessage>,
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    success: bool,
    #[serde(default)]
    errors: Vec<ApiMessage>,
    result: Option<T>,
    #[serde(default)]
    result_info: Option<ResultInfo>,
}

/// The spec types these as `number` in the base schema and `integer` in the users override, so
/// accept either as long as the value is a whole number.
#[derive(Debug, Default, Deserialize)]
struct ResultInfo {
    page: Option<f64>,
    total_count: Option<f64>,
    total_pages: Option<f64>,
}

fn whole(n: Option<f64>) -> Option<u64> {
    n.filter(|v| v.is_finite() && *v >= 0.0 && v.fract() == 0.0 && *v < 1e15)
        .map(|v| v as u64)
}

/// Every user of the account, each id once.
#[derive(Debug, Clone)]
pub struct Listing {
    pub users: Vec<User>,
    /// Pages that had users in them.
    pub pages: u32,
    /// Requests sent, the final empty page and page 1 read again included.
    pub requests: u32,
    /// Records dropped because their id had already been seen on an earlier page.
    pub duplicates: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    /// 404 on delete: the user was already gone (deleted by someone else).
    AlreadyGone,
    /// 404 on a retry after an attempt that was sent but whose answer was lost (a timeout or a
    /// connection cut after sending): that attempt most likely deleted the user.
    DeletedAnswerLost,
}

/// An API call that did not succeed. Each variant says which request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid API base URL `{url}`: {why}")]
    BaseUrl { url: String, why: String },
    #[error("{request}: could not reach the Cloudflare API: {detail}\n  help: check the network, and --api-url / CLOUDFLARE_BASE_URL if set")]
    Transport { request: String, detail: String },
    #[error("{request}: HTTP {status}{}{}", codes_text(errors), hint_text(*status, errors))]
    Status {
        request: String,
        status: u16,
        errors: Vec<ApiMessage>,
    },
    #[error("{request}: HTTP {status}: the response is not the documented Cloudflare envelope: {detail}")]
    Malformed {
        request: String,
        status: u16,
        detail: String,
    },
    #[error("{what} contains {problem}, which cannot be sent in an HTTP header; nothing was sent\n  help: set it again without it (copy the value anew; a token is one line of letters, digits, `-` and `_`)")]
    Credentials {
        what: &'static str,
        problem: &'static str,
    },
    #[error("{request}: {asked} — longer than --max-wait ({}); stopped without waiting{}\n  help: run again once that time has passed, or raise --max-wait (e.g. --max-wait 1h) to let reconcile wait it out", human_duration(*max_wait), if *retry { ", and not sent again" } else { ", and not sent" })]
    WaitTooLong {
        request: String,
        /// What asked for the wait, and how long, in words.
        asked: String,
        max_wait: Duration,
        /// The request was sent once already (the wait is before a retry).
        retry: bool,
    },
    #[error("{request}: the user listing is inconsistent: {}; nothing will be deleted from it\n  help: run again; if it persists, the API is not paginating as documented", crate::text::printable(detail))]
    Inconsistent { request: String, detail: String },
}

impl ApiError {
    /// Worth another attempt: a timeout, a lost connection, 408/409/429/5xx, or a success status
    /// whose body was not the envelope (cut or garbled on the way).
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Transport { .. } => true,
            ApiError::Status { status, .. } => is_retryable_status(*status) && !self.is_auth(),
            ApiError::Malformed { status, .. } => (200..300).contains(status),
            ApiError::BaseUrl { .. }
            | ApiError::Credentials { .. }
            | ApiError::WaitTooLong { .. }
            | ApiError::Inconsistent { .. } => false,
        }
    }

    /// The HTTP status, when a response came.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } | ApiError::Malformed { status, .. } if *status > 0 => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// Cloudflare's error codes, from the envelope.
    pub fn codes(&self) -> Vec<i64> {
        match self {
            ApiError::Status { errors, .. } => errors.iter().map(|e| e.code).collect(),
            _ => Vec::new(),
        }
    }

    /// The API asked for a wait longer than `--max-wait`: every further request would wait too.
    pub fn is_wait_too_long(&self) -> bool {
        matches!(self, ApiError::WaitTooLong { .. })
    }

    /// Authentication or permission refused: retrying or going on with other requests is useless.
    pub fn is_auth(&self) -> bool {
        match self {
            ApiError::Status { status, errors, .. } => {
                matches!(status, 401 | 403)
                    || errors
                        .iter()
                        .any(|e| matches!(e.code, 1000 | 6003 | 9103 | 9106 | 9109 | 10000))
            }
            _ => false,
        }
    }
}

fn codes_text(errors: &[ApiMessage]) -> String {
    let mut out = String::new();
    for e in errors {
        out.push_str(&format!(
            ", Cloudflare error {}: {}",
            e.code,
            crate::text::printable(&e.message)
        ));
        for c in &e.error_chain {
            out.push_str(&format!(
                " (caused by {}: {})",
                c.code,
                crate::text::printable(&c.message)
            ));
        }
    }
    out
}

fn hint_text(status: u16, errors: &[ApiMessage]) -> &'static str {
    let has = |code: i64| errors.iter().any(|e| e.code == code);
    if has(9106) {
        "\n  help: no credentials were sent: set CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY)"
    } else if has(9109) || has(1000) || has(9103) || has(6003) {
        "\n  help: the credentials were refused: check CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY)"
    } else if has(10000) {
        "\n  help: the credentials work but may not touch this account: check the account id, and that the token has 'Access: Audit Logs Read' (to list) and the right to delete Access users"
    } else if has(7003) {
        "\n  help: the API did not recognise the path: check the account id and --api-url"
    } else if status == 429 || has(971) || has(10100) {
        "\n  help: the API rate limit was reached; Cloudflare blocks further calls for up to five minutes: wait, then run again"
    } else if status >= 500 {
        "\n  help: Cloudflare had a server error: run again later"
    } else {
        ""
    }
}

/// How the client behaves towards the API: concurrency, rate budget, retries, timeouts.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    /// Pages fetched at once after page 1, when the API says how many there are.
    pub list_concurrency: usize,
    /// Requests allowed per window, shared by listing and deleting.
    pub rate_limit: RateBudget,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    /// For one attempt of one request, body included.
    pub request_timeout: Duration,
    /// The longest wait the client starts (a 429's `Retry-After`, the `Ratelimit` header, its
    /// own budget); a longer one stops the request with [`ApiError::WaitTooLong`].
    pub max_wait: Duration,
    /// Where listing progress goes (decided once, by `cli`).
    pub progress: Progress,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            list_concurrency: 4,
            rate_limit: RateBudget::default(),
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_wait: DEFAULT_MAX_WAIT,
            progress: Progress::lines(),
        }
    }
}

/// One request's end: its result, and what the last attempt's response said about itself.
#[derive(Debug)]
pub struct Detailed<T> {
    pub result: Result<T, ApiError>,
    /// The HTTP status of the last attempt, if a response came.
    pub status: Option<u16>,
    /// The `cf-ray` header of the last attempt: what Cloudflare support asks for.
    pub cf_ray: Option<String>,
    pub attempts: u32,
    /// Attempts that may have taken effect although their answer did not say so: a timeout or a
    /// connection cut after the request was sent, a garbled success, a gateway's 502/504/520/524.
    pub unanswered: u32,
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

/// Why `value` cannot be sent as an HTTP header value, if it cannot. Only visible ASCII, spaces
/// and tabs are sent: a line break would end the header (or smuggle another), and anything else
/// is refused by the HTTP library. The value itself is never part of the answer.
pub fn header_value_problem(value: &str) -> Option<&'static str> {
    value.chars().find_map(|c| match c {
        '\n' | '\r' => Some("a line break"),
        '\t' | ' '..='~' => None,
        c if c.is_control() => Some("a control character"),
        _ => Some("a non-ASCII character"),
    })
}

/// Every part of the credentials can go into a header, or the first that cannot, named.
fn check_credentials(credentials: &Credentials) -> Result<(), ApiError> {
    let parts: Vec<(&'static str, &str)> = match credentials {
        Credentials::Token(token) => vec![("the API token", token.expose())],
        Credentials::Global { email, key } => vec![
            ("the API email (X-Auth-Email)", email.as_str()),
            ("the API key", key.expose()),
        ],
    };
    for (what, value) in parts {
        if let Some(problem) = header_value_problem(value) {
            return Err(ApiError::Credentials { what, problem });
        }
    }
    Ok(())
}

/// A header value marked sensitive: kept out of HTTP/2 header compression tables and of any
/// `Debug` output of the request.
fn sensitive(secret: &Secret) -> reqwest::header::HeaderValue {
    match reqwest::header::HeaderValue::from_str(secret.expose()) {
        Ok(mut value) => {
            value.set_sensitive(true);
            value
        }
        // Not reached: `Client::with_config` refuses such credentials before any request. Should
        // it be, an empty value (refused by the API) rather than a panic or an echo.
        Err(_) => reqwest::header::HeaderValue::from_static(""),
    }
}

/// The base URL as error messages show it: without user info, query or fragment, which could
/// hold a credential someone pasted there.
fn shown_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            let hidden = !url.username().is_empty()
                || url.password().is_some()
                || url.query().is_some()
                || url.fragment().is_some();
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            if hidden {
                format!("{url} (parts that may hold credentials not shown)")
            } else {
                url.to_string()
            }
        }
        Err(_) if raw.contains(['@', '?', '#']) => "(not shown: it may contain credentials)".into(),
        Err(_) => raw.to_string(),
    }
}

/// The URL's host is this machine: 127.0.0.0/8, ::1 or localhost.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Plain http is allowed only to this machine (the sandbox); credentials never cross a network
/// unencrypted.
fn check_base_url(raw: &str) -> Result<Url, ApiError> {
    let fail = |why: &str| ApiError::BaseUrl {
        url: shown_url(raw),
        why: why.to_string(),
    };
    let url = Url::parse(raw.trim_end_matches('/')).map_err(|e| fail(&e.to_string()))?;
    if url.cannot_be_a_base() || url.query().is_some() || url.fragment().is_some() {
        return Err(fail(
            "expected a base such as https://api.cloudflare.com/client/v4",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fail(
            "credentials in the URL are not accepted; use CLOUDFLARE_API_TOKEN",
        ));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" => {
            if is_loopback(&url) {
                Ok(url)
            } else {
                Err(fail("plain http is refused for any host but this machine (127.0.0.1, ::1, localhost); use https"))
            }
        }
        other => Err(fail(&format!("unsupported scheme `{other}`; use https"))),
    }
}

/// What one attempt brought back, besides its result.
struct Attempt<T> {
    result: Result<(StatusCode, Envelope<T>), ApiError>,
    status: Option<u16>,
    cf_ray: Option<String>,
    retry_after: Option<Duration>,
    remaining: Option<Remaining>,
    policy: Option<RateBudget>,
    /// Sent, and no answer came that says whether it took effect (see `may_have_taken_effect`).
    unanswered: bool,
}

/// One page as the API answered it.
#[derive(Debug)]
struct PageData {
    page: u32,
    request: String,
    users: Vec<User>,
    total_count: Option<u64>,
    total_pages: Option<u64>,
}

/// A listing that changed while it was read is listed again this many times in all.
const LIST_ATTEMPTS: u32 = 3;

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
        let base = check_base_url(base_url)?;
        check_credentials(&credentials)?;
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("reconcile/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // The API does not redirect; following one could send credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        if is_loopback(&base) {
            // Plain http is allowed because it never leaves this machine: a proxy from the
            // environment (HTTP_PROXY, ALL_PROXY) would carry it, token and all, off it. A remote
            // https base keeps the proxies (the token then travels inside the TLS tunnel).
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| ApiError::BaseUrl {
            url: shown_url(base_url),
            why: format!("cannot build the HTTP client: {e}"),
        })?;
        Ok(Client {
            http,
            base,
            credentials,
            account_id: account_id.clone(),
            budget: Arc::new(Budget::new(config.rate_limit)),
            jitter: Arc::new(Jitter::from_clock()),
            config,
        })
    }

    pub fn account_id(&self) -> &AccountId {
        &self.account_id
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(["accounts", self.account_id.as_str(), "access", "users"]);
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// "GET /accounts/…/access/users?page=2" — the request as errors name it (no credentials).
    fn describe(&self, method: &Method, url: &Url) -> String {
        let base_path = self.base.path().trim_end_matches('/');
        let path = url.path().strip_prefix(base_path).unwrap_or(url.path());
        match url.query() {
            Some(q) => format!("{method} {path}?{q}"),
            None => format!("{method} {path}"),
        }
    }

    /// Send one request once; return the status and the parsed envelope, or the error it
    /// carries, with the response's rate-limit headers and `cf-ray`.
    async fn attempt<T: DeserializeOwned>(&self, method: Method, url: Url) -> Attempt<T> {
        let request = self.describe(&method, &url);
        let builder = self.http.request(method, url);
        let builder = match &self.credentials {
            Credentials::Token(token) => builder.bearer_auth(token.expose()),
            Credentials::Global { email, key } => builder
                .header("X-Auth-Email", email)
                .header("X-Auth-Key", sensitive(key)),
        };
        let mut out = Attempt {
            result: Err(ApiError::Transport {
                request: request.clone(),
                detail: String::new(),
            }),
            status: None,
            cf_ray: None,
            retry_after: None,
            remaining: None,
            policy: None,
            unanswered: false,
        };
        tracing::trace!(%request, "sending");
        let mut response = match builder.send().await {
            Ok(r) => r,
            Err(e) => {
                // A failed connection sent nothing; a timeout or a cut after connecting may
                // have delivered the request.
                out.unanswered = !e.is_connect();
                out.result = Err(ApiError::Transport {
                    request,
                    detail: transport_detail(&e),
                });
                return out;
            }
        };
        let status = response.status();
        out.status = Some(status.as_u16());
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        out.cf_ray = header("cf-ray").filter(|v| v.len() <= 64);
        out.retry_after = header("retry-after").as_deref().and_then(parse_retry_after);
        out.remaining = header("ratelimit").as_deref().and_then(parse_ratelimit);
        out.policy = header("ratelimit-policy").as_deref().and_then(parse_policy);
        // Sized from Content-Length when the server gives one (capped: it is only a hint).
        let hint = response
            .content_length()
            .unwrap_or(0)
            .min(MAX_BODY_BYTES as u64) as usize;
        let mut body = Vec::with_capacity(hint);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        out.result = Err(ApiError::Malformed {
                            request,
                            status: status.as_u16(),
                            detail: format!("the body is larger than {MAX_BODY_BYTES} bytes"),
                        });
                        return out;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    out.unanswered = true;
                    out.result = Err(ApiError::Transport {
                        request,
                        detail: format!("the response was cut off: {}", transport_detail(&e)),
                    });
                    return out;
                }
            }
        }
        tracing::trace!(%request, status = status.as_u16(), bytes = body.len(), "received");
        out.result = interpret(request, status, &body);
        out.unanswered = may_have_taken_effect(&out.result);
        out
    }

    /// Send a request within the rate budget, retrying what is worth retrying.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
    ) -> Detailed<(StatusCode, Envelope<T>)> {
        let policy = self.config.retry;
        let mut attempts = 0u32;
        let mut unanswered = 0u32;
        let max_wait = self.config.max_wait;
        loop {
            if let Err(too_long) = self.budget.acquire(max_wait).await {
                return Detailed {
                    result: Err(ApiError::WaitTooLong {
                        request: self.describe(&method, &url),
                        asked: asked_text(&too_long),
                        max_wait,
                        retry: attempts > 0,
                    }),
                    status: None,
                    cf_ray: None,
                    attempts,
                    unanswered,
                };
            }
            attempts += 1;
            let a = self.attempt::<T>(method.clone(), url.clone()).await;
            unanswered += u32::from(a.unanswered);
            let rate_limited = a.status == Some(429);
            let retryable = match &a.result {
                Ok(_) => false,
                Err(e) => e.is_retryable(),
            };
            let give_up = !retryable || attempts > policy.max_retries;
            if rate_limited {
                // Everyone waits: the API blocks the token, not the request.
                let asked = match (a.retry_after, a.remaining) {
                    (Some(wait), _) => Some((wait, "Retry-After")),
                    (None, Some(r)) => Some((r.reset, "its Ratelimit header")),
                    (None, None) => None,
                };
                let wait = asked.map_or_else(
                    || {
                        policy
                            .backoff(attempts - 1, self.jitter.unit())
                            .min(max_wait)
                    },
                    |(wait, _)| wait,
                );
                // Waits are bounded where they are parsed (a day at most); checked all the same.
                let until = Instant::now()
                    .checked_add(wait)
                    .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
                self.budget.observe(None, a.policy);
                let announce = self.budget.block_until(until);
                if give_up {
                    return Detailed {
                        result: a.result,
                        status: a.status,
                        cf_ray: a.cf_ray,
                        attempts,
                        unanswered,
                    };
                }
                if wait > max_wait {
                    let (_, source) = asked.unwrap_or((wait, "backoff"));
                    return Detailed {
                        result: Err(ApiError::WaitTooLong {
                            request: self.describe(&method, &url),
                            asked: format!(
                                "the API answered 429 (rate limited) and asks, with {source}, for a wait of {}",
                                human_duration(wait)
                            ),
                            max_wait,
                            retry: true,
                        }),
                        status: a.status,
                        cf_ray: a.cf_ray,
                        attempts,
                        unanswered,
                    };
                }
                match &a.result {
                    Err(e) if announce => wait_loudly(e, wait, until).await,
                    _ => tokio::time::sleep_until(until.into()).await,
                }
                continue;
            }
            self.budget.observe(a.remaining, a.policy);
            match a.result {
                Err(e) if !give_up => {
                    // Our own choice, not the API's: capped rather than refused.
                    let wait = policy
                        .backoff(attempts - 1, self.jitter.unit())
                        .min(max_wait);
                    tracing::warn!(
                        "{e}\n  retrying in {:.1} s (attempt {} of {})",
                        wait.as_secs_f64(),
                        attempts + 1,
                        policy.max_retries + 1
                    );
                    tokio::time::sleep(wait).await;
                }
                result => {
                    return Detailed {
                        result,
                        status: a.status,
                        cf_ray: a.cf_ray,
                        attempts,
                        unanswered,
                    }
                }
            }
        }
    }

    async fn fetch_page(&self, page: u32) -> Result<PageData, ApiError> {
        let url = self.url(
            &[],
            &[
                ("page", page.to_string()),
                ("per_page", PER_PAGE.to_string()),
            ],
        );
        let request = self.describe(&Method::GET, &url);
        let (_, envelope) = self.call::<Vec<User>>(Method::GET, url).await.result?;
        let info = envelope.result_info.unwrap_or_default();
        if let Some(echoed) = whole(info.page) {
            if echoed != u64::from(page) {
                return Err(ApiError::Inconsistent {
                    request,
                    detail: format!("asked for page {page}, the API answered page {echoed}"),
                });
            }
        }
        Ok(PageData {
            page,
            request,
            // The 2024 spec allowed `result: null`; treat it as an empty page.
            users: envelope.result.unwrap_or_default(),
            total_count: whole(info.total_count),
            total_pages: whole(info.total_pages),
        })
    }

    /// List every user of the account: every page, each id once.
    ///
    /// Page 1 comes first. When it says how many pages there are (`total_pages`), the others are
    /// fetched concurrently (`list_concurrency` at a time), but no more of them than page 1's
    /// `total_count` needs at page 1's size: a huge `total_pages` ends once the count is
    /// reached. Without `total_pages`, pages come one after the other until an empty page, or
    /// until `total_count` users have come, as Cloudflare's SDKs do.
    ///
    /// The list can change while it is read, and there is no cursor: pages are offsets. A user
    /// seen twice with the same email is counted once. A listing is inconsistent — an error,
    /// nothing may be deleted from it — when a page answers another page number, an id comes
    /// back with another email, the total changes between pages, the users counted differ from
    /// the total, a page before the last with users is empty, or (with `total_pages` and no
    /// `total_count` to vouch for it) a page up to `total_pages` is empty or `null`.
    ///
    /// A user removed and another added keep the total, so no count can see the shift they
    /// cause: the users after the removal move back one place, and one that moves from an
    /// unread page onto a page already read is never seen. So, when the listing took more than
    /// one request, page 1 is read once more at the end and must hold the same ids and total as
    /// at first. That costs one request whatever the size of the account (101 instead of 100
    /// for 100,000 users, where listing twice would cost 200), and catches any change among the
    /// first page's users or of the total during the read — the removal of a user read first
    /// included. A removal and an addition that both fall after page 1 while later pages are
    /// read, keeping the total, are not seen by it; the listing before deleting (apply's
    /// re-check) and the final listing are separate reads that see the account as it then is.
    ///
    /// An inconsistent listing is read again, up to three times in all.
    pub async fn list_users(&self) -> Result<Listing, ApiError> {
        let mut attempt = 1;
        loop {
            match self.list_once().await {
                Err(e @ ApiError::Inconsistent { .. }) if attempt < LIST_ATTEMPTS => {
                    tracing::warn!(
                        "{e}\n  listing again (attempt {} of {LIST_ATTEMPTS})",
                        attempt + 1
                    );
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn list_once(&self) -> Result<Listing, ApiError> {
        let first = self.fetch_page(1).await?;
        let reported_pages = first.total_pages;
        let to_read = pages_to_read(first.users.len(), first.total_count, first.total_pages);
        let task = self.config.progress.task("listing users (pages)", to_read);
        task.inc(1);
        let first_ids = page_ids(&first);
        let first_total = first.total_count;
        let mut pages = vec![first];
        match to_read {
            Some(total) if total > 1 => {
                if total > u64::from(MAX_PAGES) {
                    return Err(ApiError::Inconsistent {
                        request: pages[0].request.clone(),
                        detail: format!("the API reports {total} pages, more than {MAX_PAGES}"),
                    });
                }
                if reported_pages != Some(total) {
                    tracing::debug!(
                        total_pages = reported_pages,
                        total_count = first_total,
                        "reading {total} pages: enough for total_count"
                    );
                }
                pages.extend(self.fetch_pages_concurrently(total as u32, &task).await?);
                self.confirm_end(&mut pages, total as u32).await?;
            }
            Some(total) => self.confirm_end(&mut pages, total as u32).await?,
            None => self.fetch_pages_in_turn(&mut pages, &task).await?,
        }
        task.finish();
        check_pages(&pages, reported_pages)?;
        let mut listing = merge_pages(pages)?;
        if listing.requests > 1 {
            let again = self.fetch_page(1).await?;
            listing.requests += 1;
            if page_ids(&again) != first_ids || again.total_count != first_total {
                return Err(ApiError::Inconsistent {
                    request: again.request,
                    detail: "page 1 changed while the other pages were read (users were removed or added, and moved between pages: one may have been skipped)".into(),
                });
            }
        }
        Ok(listing)
    }

    /// With `total_pages` but no `total_count`, nothing else vouches that `total_pages` was the
    /// end: the page after it must be empty, as the SDKs' own stopping rule requires.
    async fn confirm_end(&self, pages: &mut Vec<PageData>, total: u32) -> Result<(), ApiError> {
        if pages.iter().any(|p| p.total_count.is_some()) {
            return Ok(());
        }
        let after = self.fetch_page(total.saturating_add(1)).await?;
        if !after.users.is_empty() {
            return Err(ApiError::Inconsistent {
                request: after.request,
                detail: format!(
                    "the API said {total} pages, but page {} has users too",
                    total.saturating_add(1)
                ),
            });
        }
        pages.push(after);
        Ok(())
    }

    /// Pages 2..=`total`, `list_concurrency` at a time. The first error stops the others.
    async fn fetch_pages_concurrently(
        &self,
        total: u32,
        task: &Task,
    ) -> Result<Vec<PageData>, ApiError> {
        let next = Arc::new(AtomicU32::new(2));
        let workers = self
            .config
            .list_concurrency
            .clamp(1, 64)
            .min(total as usize - 1);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let (client, next, task) = (self.clone(), Arc::clone(&next), task.clone());
            set.spawn(async move {
                let mut got = Vec::new();
                loop {
                    let page = next.fetch_add(1, Ordering::Relaxed);
                    if page > total {
                        return Ok(got);
                    }
                    got.push(client.fetch_page(page).await?);
                    task.inc(1);
                }
            });
        }
        let mut pages = Vec::with_capacity(total as usize);
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(Ok(got)) => pages.extend(got),
                Ok(Err(e)) => {
                    set.abort_all();
                    return Err(e);
                }
                Err(e) => {
                    set.abort_all();
                    return Err(ApiError::Transport {
                        request: "GET users".into(),
                        detail: format!("a listing task failed: {e}"),
                    });
                }
            }
        }
        pages.sort_by_key(|p| p.page);
        Ok(pages)
    }

    /// Without `total_pages`: page after page until an empty one, or until `total_count`.
    async fn fetch_pages_in_turn(
        &self,
        pages: &mut Vec<PageData>,
        task: &Task,
    ) -> Result<(), ApiError> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut records: u64 = 0;
        for page in 1..=MAX_PAGES {
            if page > 1 {
                let data = self.fetch_page(page).await?;
                task.inc(1);
                pages.push(data);
            }
            let Some(data) = pages.last() else { break };
            if data.users.is_empty() {
                break;
            }
            records += data.users.len() as u64;
            let new = data
                .users
                .iter()
                .filter(|u| u.id.as_ref().is_none_or(|id| seen.insert(id.clone())))
                .count();
            if new == 0 {
                return Err(ApiError::Inconsistent {
                    request: data.request.clone(),
                    detail: format!(
                        "page {page} repeated users already listed and brought no new one"
                    ),
                });
            }
            if data.total_count.is_some_and(|total| records >= total) {
                break;
            }
            if page == MAX_PAGES {
                return Err(ApiError::Inconsistent {
                    request: data.request.clone(),
                    detail: format!("more than {MAX_PAGES} pages"),
                });
            }
        }
        Ok(())
    }

    /// Delete one user that passed the re-check, with the status, `cf-ray` and attempts of the
    /// last try. Nothing but a [`Confirmed`] deletion can be sent: its id is a checked
    /// [`crate::model::UserId`]. A 404 means already gone, or deleted by an earlier attempt of
    /// this call whose answer was lost.
    pub async fn delete_user_detailed(&self, user: &Confirmed) -> Detailed<DeleteOutcome> {
        let url = self.url(&[user.id().as_str()], &[]);
        let d = self.call::<serde_json::Value>(Method::DELETE, url).await;
        let result = match d.result {
            Ok(_) => Ok(DeleteOutcome::Deleted),
            // 404 means gone, unless the API says the route itself is unknown (a wrong base URL
            // must not look like a successful run). Gone after an attempt whose answer was lost:
            // that attempt is what deleted the user, most likely.
            Err(ApiError::Status {
                status: 404,
                errors,
                ..
            }) if !errors.iter().any(|e| e.code == 7003) => Ok(if d.unanswered > 0 {
                DeleteOutcome::DeletedAnswerLost
            } else {
                DeleteOutcome::AlreadyGone
            }),
            Err(e) => Err(e),
        };
        Detailed {
            result,
            status: d.status,
            cf_ray: d.cf_ray,
            attempts: d.attempts,
            unanswered: d.unanswered,
        }
    }
}

/// A 429: say on stderr how long the wait is, then again every so often until it is over.
async fn wait_loudly(error: &ApiError, wait: Duration, until: Instant) {
    tracing::warn!(
        "{error}\n  the API rate limit was reached: waiting {} as the API asks (Retry-After), then going on; nothing is lost by waiting",
        human_duration(wait)
    );
    let every = if wait > Duration::from_secs(120) {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(10)
    };
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if left <= every {
            tokio::time::sleep(left).await;
            break;
        }
        tokio::time::sleep(every).await;
        let left = until.saturating_duration_since(Instant::now());
        if !left.is_zero() {
            tracing::warn!("rate limited: {} left to wait", human_duration(left));
        }
    }
    tracing::info!("rate-limit wait over; going on");
}

/// What asked for a wait the budget would not start, in words.
fn asked_text(t: &TooLong) -> String {
    let wait = human_duration(t.wait);
    match t.cause {
        WaitCause::Server => format!(
            "the API's Ratelimit header says no requests are left for this token for {wait}"
        ),
        WaitCause::Blocked => format!(
            "the API answered 429 (rate limited) to an earlier request: requests are blocked for {wait} more"
        ),
        WaitCause::Budget => format!(
            "the client-side rate budget (--rate-limit {}) allows the next request in {wait}",
            t.budget
        ),
    }
}

/// "1 h 5 min", "15 min", "4 min 30 s", "12 s", "0.5 s".
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 10.0 {
        return format!("{secs:.1} s");
    }
    if secs < 120.0 {
        return format!("{} s", secs.round() as u64);
    }
    let s = secs.round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, _) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// How many pages to read, from page 1: its `total_pages`, but no more than its `total_count`
/// needs at page 1's size (a huge `total_pages` after the count is met ends the listing).
/// `None`: the API gave no `total_pages`; read until an empty page or the count.
fn pages_to_read(
    first_len: usize,
    total_count: Option<u64>,
    total_pages: Option<u64>,
) -> Option<u64> {
    let total_pages = total_pages?;
    Some(match total_count {
        Some(0) => total_pages.min(1),
        Some(count) if first_len > 0 => total_pages.min(count.div_ceil(first_len as u64)),
        _ => total_pages,
    })
}

/// The ids of a page's users, sorted (a user without one counts as `None`).
fn page_ids(page: &PageData) -> Vec<Option<String>> {
    let mut ids: Vec<Option<String>> = page.users.iter().map(|u| u.id.clone()).collect();
    ids.sort_unstable();
    ids
}

/// The pages, in order, have no hole: no empty page before one with users and, when only
/// `total_pages` says where the list ends (no `total_count`), no empty page up to it.
fn check_pages(pages: &[PageData], total_pages: Option<u64>) -> Result<(), ApiError> {
    // A page before the last that came back empty means the list shifted under the read (or
    // the API lost a page): users may be missing.
    let last_full = pages.iter().rposition(|p| !p.users.is_empty()).unwrap_or(0);
    if let Some(gap) = pages[..last_full].iter().find(|p| p.users.is_empty()) {
        return Err(ApiError::Inconsistent {
            request: gap.request.clone(),
            detail: format!("page {} was empty but later pages had users", gap.page),
        });
    }
    if pages.iter().any(|p| p.total_count.is_some()) {
        return Ok(());
    }
    if let Some(total) = total_pages {
        if let Some(hole) = pages
            .iter()
            .find(|p| p.users.is_empty() && u64::from(p.page) <= total)
        {
            return Err(ApiError::Inconsistent {
                request: hole.request.clone(),
                detail: format!(
                    "page {} of {total} was empty (no users, or `result: null`) and the API gave no total_count: users may be missing",
                    hole.page
                ),
            });
        }
    }
    Ok(())
}

/// Put pages together by id, and refuse a listing that does not add up.
fn merge_pages(pages: Vec<PageData>) -> Result<Listing, ApiError> {
    let mut listing = Listing {
        users: Vec::new(),
        pages: 0,
        requests: pages.len() as u32,
        duplicates: 0,
    };
    let Some(first) = pages.first() else {
        return Ok(listing);
    };
    let request = first.request.clone();
    let total = first.total_count;
    let mut by_id: HashMap<String, Option<String>> = HashMap::new();
    for page in pages {
        if page.total_count != total {
            return Err(ApiError::Inconsistent {
                request: page.request,
                detail: format!(
                    "the account changed while it was read: page 1 counted {} users, page {} counts {}",
                    show_count(total),
                    page.page,
                    show_count(page.total_count)
                ),
            });
        }
        if !page.users.is_empty() {
            listing.pages += 1;
        }
        for user in page.users {
            let Some(id) = user.id.clone() else {
                listing.users.push(user);
                continue;
            };
            // Ids are UUIDs, which do not differ by letter case: two records whose ids differ
            // only in case are one user listed twice, or a listing that cannot be trusted (a
            // DELETE for one would reach the other). The same record on two pages is
            // byte-identical in its email.
            let id = id.to_ascii_lowercase();
            let email = user.email.clone();
            match by_id.get(&id) {
                Some(seen) if *seen == email => listing.duplicates += 1,
                Some(seen) => {
                    return Err(ApiError::Inconsistent {
                        request: page.request,
                        detail: format!(
                            "user {id} is listed twice with different emails ({} and {})",
                            seen.as_deref().unwrap_or("none"),
                            email.as_deref().unwrap_or("none")
                        ),
                    })
                }
                None => {
                    by_id.insert(id, email);
                    listing.users.push(user);
                }
            }
        }
    }
    if let Some(total) = total {
        if listing.users.len() as u64 != total {
            return Err(ApiError::Inconsistent {
                request,
                detail: format!(
                    "the pages held {} distinct users but the API counts {total} (the list changed while it was read, or pages were skipped)",
                    listing.users.len()
                ),
            });
        }
    }
    if listing.duplicates > 0 {
        tracing::warn!(
            duplicates = listing.duplicates,
            "the listing returned some users on more than one page (the list changed while it was read); each is counted once"
        );
    }
    Ok(listing)
}

fn show_count(n: Option<u64>) -> String {
    n.map_or_else(|| "no total".to_string(), |n| n.to_string())
}

/// What a response means: the envelope of a success, or the error it carries. Pure, so that
/// hostile bodies can be thrown at it (see the property tests); it never panics.
fn interpret<T: DeserializeOwned>(
    request: String,
    status: StatusCode,
    body: &[u8],
) -> Result<(StatusCode, Envelope<T>), ApiError> {
    let parsed: Result<Envelope<T>, _> = serde_json::from_slice(body);
    match parsed {
        Ok(envelope) if status.is_success() && envelope.success => Ok((status, envelope)),
        Ok(envelope) if !status.is_success() && !envelope.success => Err(ApiError::Status {
            request,
            status: status.as_u16(),
            errors: envelope.errors,
        }),
        Ok(envelope) => Err(ApiError::Malformed {
            request,
            status: status.as_u16(),
            detail: format!(
                "`success` is {} with HTTP {}{}",
                envelope.success,
                status.as_u16(),
                codes_text(&envelope.errors)
            ),
        }),
        Err(e) if status.is_success() => Err(ApiError::Malformed {
            request,
            status: status.as_u16(),
            detail: e.to_string(),
        }),
        // An error status without a parseable envelope (a proxy's HTML page, say): still an
        // error of that status, and the status is what matters.
        Err(_) => Err(ApiError::Status {
            request,
            status: status.as_u16(),
            errors: Vec::new(),
        }),
    }
}

/// An answer that does not say whether the request took effect, although it may have: a success
/// status whose body was garbled on the way, or a gateway that forwarded the request and then
/// lost the answer (502, 504; Cloudflare's 520 and 524). A refusal by the API itself (its own
/// error envelope, a 503 of its own) says nothing was done.
fn may_have_taken_effect<T>(result: &Result<T, ApiError>) -> bool {
    match result {
        Err(ApiError::Malformed { status, .. }) => (200..300).contains(status),
        Err(ApiError::Status { status, errors, .. }) => {
            matches!(status, 502 | 504 | 520 | 524) && errors.is_empty()
        }
        _ => false,
    }
}

/// The innermost useful cause of a transport error, without the URL (which the caller names).
fn transport_detail(e: &reqwest::Error) -> String {
    let mut detail = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(cause) = last {
        detail.push_str(": ");
        detail.push_str(&cause);
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_errors_never_show_credentials() {
        for raw in [
            "https://user:Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY@api.cloudflare.com/client/v4",
            "https://api.cloudflare.com/client/v4?token=Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY",
            "http://Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY@10.0.0.1/client/v4",
            "not a url Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY@?",
        ] {
            let e = check_base_url(raw).unwrap_err().to_string();
            assert!(
                !e.contains("Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"),
                "{e}"
            );
        }
    }

    #[test]
    fn credentials_that_cannot_be_headers_are_refused_unshown() {
        assert_eq!(header_value_problem("abc-DEF_123 \t~"), None);
        assert_eq!(header_value_problem("a\nb"), Some("a line break"));
        assert_eq!(header_value_problem("a\rb"), Some("a line break"));
        assert_eq!(header_value_problem("a\u{0}b"), Some("a control character"));
        assert_eq!(header_value_problem("a\u{7f}"), Some("a control character"));
        assert_eq!(header_value_problem("tök"), Some("a non-ASCII character"));
        for bad in [
            Credentials::Token(Secret::new("Sn3lZJTB\nX6kk")),
            Credentials::Global {
                email: "a@b.co".into(),
                key: Secret::new("Sn3lZJTB\u{1}X6kk"),
            },
        ] {
            let e = Client::with_config(
                "https://api.cloudflare.com/client/v4",
                bad,
                &AccountId::example(),
                ClientConfig::default(),
            )
            .unwrap_err();
            assert!(matches!(e, ApiError::Credentials { .. }), "{e}");
            assert!(!e.to_string().contains("Sn3lZJTB"), "{e}");
        }
    }

    #[test]
    fn a_huge_total_pages_is_cut_to_what_total_count_needs() {
        // 5 users on page 1 and a count of 5: page 1 is all, whatever total_pages says.
        assert_eq!(pages_to_read(5, Some(5), Some(100_000)), Some(1));
        assert_eq!(pages_to_read(5, Some(5), Some(u64::MAX)), Some(1));
        assert_eq!(pages_to_read(1000, Some(100_000), Some(100_000)), Some(100));
        assert_eq!(pages_to_read(1000, Some(2500), Some(3)), Some(3));
        // total_pages smaller than the count needs: kept (the count check then refuses).
        assert_eq!(pages_to_read(1000, Some(5000), Some(2)), Some(2));
        assert_eq!(pages_to_read(0, Some(0), Some(7)), Some(1));
        assert_eq!(pages_to_read(0, Some(0), Some(0)), Some(0));
        // Without a count nothing vouches for fewer pages.
        assert_eq!(pages_to_read(1000, None, Some(40)), Some(40));
        assert_eq!(pages_to_read(1000, Some(5), None), None);
    }

    fn page(n: u32, users: usize, total_count: Option<u64>) -> PageData {
        PageData {
            page: n,
            request: format!("GET page {n}"),
            users: (0..users)
                .map(|i| User {
                    id: Some(format!("00000000-0000-4000-8000-{n:06}{i:06}")),
                    ..User::default()
                })
                .collect(),
            total_count,
            total_pages: None,
        }
    }

    #[test]
    fn an_empty_page_up_to_total_pages_is_a_hole_unless_a_count_vouches() {
        let pages = |last: usize, count| {
            vec![
                page(1, 2, count),
                page(2, 2, count),
                page(3, last, count),
                page(4, 0, count),
            ]
        };
        assert!(check_pages(&pages(1, None), Some(3)).is_ok());
        let e = check_pages(&pages(0, None), Some(3))
            .unwrap_err()
            .to_string();
        assert!(e.contains("page 3 of 3 was empty"), "{e}");
        // With a count, the count decides (merge_pages checks it).
        assert!(check_pages(&pages(0, Some(4)), Some(3)).is_ok());
        // An empty page before one with users is a hole whatever the totals say.
        let gap = vec![
            page(1, 2, Some(4)),
            page(2, 0, Some(4)),
            page(3, 2, Some(4)),
        ];
        assert!(check_pages(&gap, Some(3)).is_err());
        assert!(check_pages(&gap, None).is_err());
    }

    #[test]
    fn answers_that_may_hide_a_done_request() {
        let status = |status: u16, errors: Vec<ApiMessage>| -> Result<(), ApiError> {
            Err(ApiError::Status {
                request: "DELETE x".into(),
                status,
                errors,
            })
        };
        let malformed = |status: u16| -> Result<(), ApiError> {
            Err(ApiError::Malformed {
                request: "DELETE x".into(),
                status,
                detail: "cut".into(),
            })
        };
        assert!(may_have_taken_effect(&malformed(202)));
        assert!(!may_have_taken_effect(&malformed(404)));
        for s in [502, 504, 520, 524] {
            assert!(may_have_taken_effect(&status(s, vec![])), "{s}");
        }
        let own = ApiMessage {
            code: 10503,
            message: "Service temporarily unavailable".into(),
            error_chain: vec![],
        };
        assert!(!may_have_taken_effect(&status(503, vec![own.clone()])));
        assert!(!may_have_taken_effect(&status(504, vec![own])));
        assert!(!may_have_taken_effect(&status(503, vec![])));
        assert!(!may_have_taken_effect(&status(429, vec![])));
        assert!(!may_have_taken_effect(&Ok(())));
    }

    #[test]
    fn durations_read_well() {
        let d = |s: f64| human_duration(Duration::from_secs_f64(s));
        assert_eq!(d(0.5), "0.5 s");
        assert_eq!(d(12.0), "12 s");
        assert_eq!(d(270.0), "4 min 30 s");
        assert_eq!(d(900.0), "15 min");
        assert_eq!(d(3600.0), "1 h");
        assert_eq!(d(3900.0), "1 h 5 min");
    }

    #[test]
    fn base_url_rules() {
        assert!(check_base_url("https://api.cloudflare.com/client/v4").is_ok());
        assert!(check_base_url("http://127.0.0.1:8080/client/v4/").is_ok());
        assert!(check_base_url("http://localhost:1/client/v4").is_ok());
        assert!(check_base_url("http://[::1]:1/client/v4").is_ok());
        for bad in [
            "http://api.cloudflare.com/client/v4",
            "http://10.0.0.1/client/v4",
            "ftp://x/y",
            "https://user:pw@api.cloudflare.com/client/v4",
            "not a url",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_built_from_segments() {
        let client = Client::new(
            "http://127.0.0.1:1/client/v4/",
            Credentials::Token(Secret::new("t")),
            &AccountId::example(),
        )
        .unwrap();
        let url = client.url(&["f174e90a-fafe-4643-bbbc-4a0ed4fc8415"], &[]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/access/users/f174e90a-fafe-4643-bbbc-4a0ed4fc8415"
        );
        let url = client.url(&[], &[("page", "2".into())]);
        assert_eq!(
            client.describe(&Method::GET, &url),
            "GET /accounts/023e105f4ecef8ad9ca31a8372d0c353/access/users?page=2"
        );
    }

    #[test]
    fn envelope_parsing_tolerates_the_spec_variants() {
        let e: Envelope<Vec<User>> = serde_json::from_str(
            r#"{"success":true,"errors":[],"messages":[],"result":null,"result_info":{"page":1.0,"per_page":1000,"count":0,"total_count":0}}"#,
        )
        .unwrap();
        assert!(e.result.is_none());
        let info = e.result_info.unwrap();
        assert_eq!(whole(info.page), Some(1));
        assert_eq!(whole(info.total_pages), None);
        let u: User =
            serde_json::from_str(r#"{"id":"x","active_device_count":2.0,"future_field":true}"#)
                .unwrap();
        assert_eq!(u.active_device_count, Some(2.0));
    }

    #[test]
    fn error_text_names_status_code_and_hint() {
        let e = ApiError::Status {
            request: "GET /accounts/x/access/users".into(),
            status: 403,
            errors: vec![ApiMessage {
                code: 9109,
                message: "Invalid access token".into(),
                error_chain: vec![],
            }],
        };
        let text = e.to_string();
        assert!(
            text.contains("HTTP 403, Cloudflare error 9109: Invalid access token"),
            "{text}"
        );
        assert!(text.contains("CLOUDFLARE_API_TOKEN"), "{text}");
        assert!(e.is_auth());
    }
}

/// Hostile responses: the parser never panics, and every failure names the request and status.
#[cfg(test)]
mod hostile {
    use super::*;
    use proptest::prelude::*;

    const PAGE: &str = r#"{"success":true,"errors":[],"messages":[],"result":[{"id":"f174e90a-fafe-4643-bbbc-4a0ed4fc8415","email":"a@example.com","name":"A","access_seat":true,"active_device_count":2,"last_successful_login":"2026-11-27T17:45:00Z"}],"result_info":{"page":1,"per_page":1000,"count":1,"total_count":1,"total_pages":1}}"#;

    fn check(status: u16, body: &[u8]) {
        let status = StatusCode::from_u16(status).unwrap();
        match interpret::<Vec<User>>("GET /accounts/x/access/users?page=1".into(), status, body) {
            Ok((s, envelope)) => {
                assert!(s.is_success() && envelope.success);
            }
            Err(e) => {
                let text = e.to_string();
                assert!(
                    text.contains("GET /accounts/x/access/users?page=1"),
                    "{text}"
                );
                assert!(text.contains(&status.as_u16().to_string()), "{text}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn random_bytes(status in prop::sample::select(vec![200u16, 202, 400, 403, 404, 429, 500, 503]), body in prop::collection::vec(any::<u8>(), 0..512)) {
            check(status, &body);
        }

        #[test]
        fn mutated_pages(at in 0..PAGE.len(), byte in any::<u8>(), cut in any::<bool>()) {
            let mut body = PAGE.as_bytes().to_vec();
            if cut { body.truncate(at) } else { body[at] = byte }
            check(200, &body);
        }

        #[test]
        fn wrong_types_and_huge_numbers(
            field in prop::sample::select(vec!["success", "errors", "result", "result_info", "id", "email", "active_device_count", "access_seat"]),
            value in prop::sample::select(vec!["null", "1e999", "-1", "18446744073709551616", "\"x\"", "[]", "{}", "[[[[[[[[[[]]]]]]]]]]", "true"]),
        ) {
            let body = PAGE.replacen(&format!("\"{field}\":"), &format!("\"{field}\":{value},\"_was\":"), 1);
            check(200, body.as_bytes());
        }
    }

    #[test]
    fn a_huge_page_parses() {
        let users: Vec<String> = (0..1000)
            .map(|i| format!(r#"{{"id":"00000000-0000-4000-8000-{i:012}","email":"u{i}@example.com","name":"{}"}}"#, "n".repeat(200)))
            .collect();
        let body = format!(
            r#"{{"success":true,"errors":[],"messages":[],"result":[{}]}}"#,
            users.join(",")
        );
        let (_, envelope) =
            interpret::<Vec<User>>("GET x".into(), StatusCode::OK, body.as_bytes()).unwrap();
        assert_eq!(envelope.result.unwrap().len(), 1000);
        // Deep nesting where users are expected, or in a field the client ignores: no crash.
        for deep in [
            format!(
                r#"{{"success":true,"errors":[],"result":{}{}}}"#,
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
            format!(
                r#"{{"success":true,"errors":[],"result":[],"x":{}{}}}"#,
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ] {
            let _ = interpret::<Vec<User>>("GET x".into(), StatusCode::OK, deep.as_bytes());
        }
    }
}
