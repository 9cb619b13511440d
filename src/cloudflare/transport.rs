//! Getting one request through: the credentials in its headers, one attempt and what its
//! answer says (status, envelope, `cf-ray`, rate-limit headers, whether it may have taken effect
//! unseen), and [`Client::call`], the loop around attempts that keeps within the rate budget,
//! waits out a 429 and retries what is worth retrying. Credentials are checked once, before any
//! request, so that a value that cannot be a header is refused unsent and unshown. What the loop
//! does along the way (waits, retries) is reported to the client's observer.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use super::budget::{parse_policy, parse_ratelimit, RateBudget, Remaining};
use super::error::{asked_after_429, asked_text, ApiError};
use super::observer::Event;
use super::retry::parse_retry_after;
use super::wire::{interpret, Envelope};
use super::Client;
use crate::secret::Secret;

/// A page of 1000 users is a few hundred KiB; anything far larger is not the documented API.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// How to authenticate: an API token (preferred), or the legacy email + global API key.
#[derive(Clone, Debug)]
pub enum Credentials {
    Token(Secret),
    Global { email: String, key: Secret },
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
pub(crate) fn check_credentials(credentials: &Credentials) -> Result<(), ApiError> {
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

/// What a request carries besides its method and URL, and how it is paced and retried. The
/// default is a users-API GET: no body, the global budget only, retried as any request.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Sending<'a> {
    /// A JSON body, serialized.
    pub(super) body: Option<&'a [u8]>,
    /// A request on the Zero Trust lists API: it waits for the lists' own budget too
    /// (API-additions §4.5), and a 429 blocks the lists requests (see `call_retrying`).
    pub(super) lists: bool,
    /// Not sent again after an attempt whose answer was lost (it may have taken effect, and
    /// sending it twice is not harmless): the caller resolves such an outcome by reading back.
    pub(super) once_if_unanswered: bool,
}

/// What one attempt brought back, besides its result.
pub(super) struct Attempt<T> {
    pub(super) result: Result<(StatusCode, Envelope<T>), ApiError>,
    pub(super) status: Option<u16>,
    pub(super) cf_ray: Option<String>,
    retry_after: Option<Duration>,
    pub(super) remaining: Option<Remaining>,
    pub(super) policy: Option<RateBudget>,
    /// Sent, and no answer came that says whether it took effect (see `may_have_taken_effect`).
    unanswered: bool,
}

impl Client {
    /// Send one request once; return the status and the parsed envelope, or the error it
    /// carries, with the response's rate-limit headers and `cf-ray`.
    pub(super) async fn attempt<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
    ) -> Attempt<T> {
        self.attempt_sending(method, url, Sending::default()).await
    }

    /// [`Client::attempt`] with a body.
    pub(super) async fn attempt_sending<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        sending: Sending<'_>,
    ) -> Attempt<T> {
        let request = self.describe(&method, &url);
        let mut builder = self.http.request(method, url);
        if let Some(body) = sending.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
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
        out.cf_ray = header("cf-ray")
            .filter(|v| v.len() <= 64)
            .map(|v| String::from_utf8_lossy(&self.redact(v.into_bytes()).0).into_owned());
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
        let (body, echoed) = self.redact(body);
        out.result = interpret(request.clone(), status, &body);
        if echoed && out.result.is_ok() {
            // The API never sends the credential back: a success that holds it is not the
            // API's answer, and none of it (users, emails, ids) may be acted on.
            out.result = Err(ApiError::Malformed {
                request,
                status: status.as_u16(),
                detail: "the answer holds the credential sent with the request (redacted here): it is not the API's answer, and nothing in it is used".into(),
            });
        }
        out.unanswered = may_have_taken_effect(&out.result);
        out
    }

    /// `bytes` with every occurrence of the credential's secret (the token, the global key)
    /// replaced by `(redacted)`: whatever the answer echoes (an error message, a proxy's page, a
    /// verification's id) goes on into reports, logs and audit records, none of which may hold a
    /// credential. A secret shorter than [`MIN_REDACTED`] bytes is left alone: it would match
    /// ordinary text, and the envelope's own syntax (real tokens and keys are 37–40 characters).
    /// Also whether anything was redacted.
    pub(super) fn redact(&self, bytes: Vec<u8>) -> (Vec<u8>, bool) {
        let secret = match &self.credentials {
            Credentials::Token(token) => token.expose(),
            Credentials::Global { key, .. } => key.expose(),
        }
        .as_bytes();
        redact_bytes(bytes, secret)
    }

    /// Send a request within the rate budget, retrying what is worth retrying. An answer that
    /// says the path is no route of the API becomes [`ApiError::Route`], which names the base
    /// URL first.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
    ) -> Detailed<(StatusCode, Envelope<T>)> {
        self.call_sending(method, url, Sending::default()).await
    }

    /// [`Client::call`] with a body, the lists' budget, or a write's retry rule.
    pub(super) async fn call_sending<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        sending: Sending<'_>,
    ) -> Detailed<(StatusCode, Envelope<T>)> {
        let mut d = self.call_retrying(method, url, sending).await;
        d.result = d.result.map_err(|e| self.route_error(e));
        d
    }

    /// A "no route" answer as [`ApiError::Route`]; any other error as it is. A 404 or 400
    /// without Cloudflare's envelope (a web server's page) counts too when the base URL does
    /// not end in `/client/v4`: then the path most likely missed the API.
    pub(super) fn route_error(&self, e: ApiError) -> ApiError {
        let off_api = !self
            .base
            .path()
            .trim_end_matches('/')
            .ends_with("/client/v4");
        match e {
            ApiError::Status {
                request,
                status: status @ (400 | 404),
                errors,
            } if off_api && errors.is_empty() => ApiError::Route {
                base: super::url::shown_url(self.base.as_str()),
                request,
                status,
                errors,
            },
            ApiError::Status {
                request,
                status,
                errors,
            } if errors.iter().any(super::error::is_route_message) => ApiError::Route {
                base: super::url::shown_url(self.base.as_str()),
                request,
                status,
                errors,
            },
            e => e,
        }
    }

    async fn call_retrying<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        sending: Sending<'_>,
    ) -> Detailed<(StatusCode, Envelope<T>)> {
        let policy = self.config.retry;
        let mut attempts = 0u32;
        let mut unanswered = 0u32;
        let max_wait = self.config.max_wait;
        loop {
            let observer = &*self.config.observer;
            // The lists' own budget first (its wait may be long), then the global one, which
            // every request spends, lists requests included (API.md §2).
            let acquired = match sending.lists {
                true => match self.lists_budget.acquire(max_wait, observer).await {
                    Ok(()) => self
                        .budget
                        .acquire(max_wait, observer)
                        .await
                        .map_err(|t| asked_text(&t))
                        .inspect_err(|_| {
                            self.lists_budget.observe(None, None);
                        }),
                    Err(t) => Err(super::door::lists_asked_text(&t)),
                },
                false => self
                    .budget
                    .acquire(max_wait, observer)
                    .await
                    .map_err(|t| asked_text(&t)),
            };
            if let Err(asked) = acquired {
                return Detailed {
                    result: Err(ApiError::WaitTooLong {
                        request: self.describe(&method, &url),
                        asked,
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
            let a = self
                .attempt_sending::<T>(method.clone(), url.clone(), sending)
                .await;
            unanswered += u32::from(a.unanswered);
            if sending.lists {
                self.lists_budget.observe(None, None);
            }
            let rate_limited = a.status == Some(429);
            let retryable = match &a.result {
                Ok(_) => false,
                Err(e) => e.is_retryable(),
            };
            let give_up = !retryable
                || attempts > policy.max_retries
                || (a.unanswered && sending.once_if_unanswered);
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
                self.observe_headers(None, a.policy);
                // A lists request's 429 is the lists' limit (it blocks lists requests only),
                // unless the global `Ratelimit` header says the token has nothing left.
                let global = !sending.lists || a.remaining.is_some_and(|r| r.remaining == 0);
                let announce = match global {
                    true => self.budget.block_until(until),
                    false => self.lists_budget.block_until(until),
                };
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
                            asked: asked_after_429(source, wait),
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
                    Err(error) if announce => {
                        tracing::debug!(%error, ?wait, "rate limited: waiting");
                        observer.event(Event::RateLimited { error, wait });
                        wait_reporting(observer, wait, until).await;
                    }
                    _ => tokio::time::sleep_until(until.into()).await,
                }
                continue;
            }
            self.observe_headers(a.remaining, a.policy);
            match a.result {
                Err(e) if !give_up => {
                    // Our own choice, not the API's: capped rather than refused.
                    let wait = policy
                        .backoff(attempts - 1, self.jitter.unit())
                        .min(max_wait);
                    tracing::debug!(error = %e, ?wait, attempt = attempts + 1, "retrying");
                    observer.event(Event::Retrying {
                        error: &e,
                        attempt: attempts + 1,
                        of: policy.max_retries + 1,
                        delay: wait,
                    });
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

    /// Tell the budget what a response's rate-limit headers said, and the observer when the
    /// server's policy replaces the client's own budget.
    fn observe_headers(&self, remaining: Option<Remaining>, policy: Option<RateBudget>) {
        if let Some(instead_of) = self.budget.observe(remaining, policy) {
            if let Some(policy) = policy {
                self.config
                    .observer
                    .event(Event::PolicyAdopted { policy, instead_of });
            }
        }
    }
}

/// The shortest secret [`Client::redact`] looks for.
const MIN_REDACTED: usize = 8;

/// `bytes` with every occurrence of `secret` replaced by `(redacted)` (see [`Client::redact`]).
fn redact_bytes(bytes: Vec<u8>, secret: &[u8]) -> (Vec<u8>, bool) {
    if secret.len() < MIN_REDACTED || bytes.len() < secret.len() {
        return (bytes, false);
    }
    let finder = memchr::memmem::Finder::new(secret);
    if finder.find(&bytes).is_none() {
        return (bytes, false);
    }
    // Every occurrence, left to right, none overlapping the one before.
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for start in finder.find_iter(&bytes) {
        out.extend_from_slice(&bytes[at..start]);
        out.extend_from_slice(b"(redacted)");
        at = start + secret.len();
    }
    out.extend_from_slice(&bytes[at..]);
    (out, true)
}

/// Wait until `until` after a 429, reporting now and then how long is left (so that a long wait
/// does not look like a hang), and when it is over.
async fn wait_reporting(observer: &dyn super::Observer, wait: Duration, until: Instant) {
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
            observer.event(Event::StillWaiting { left });
        }
    }
    observer.event(Event::WaitOver);
}

/// An answer that does not say whether the request took effect, although it may have: a success
/// status whose body was garbled on the way, or a gateway that forwarded the request and then
/// lost the answer (502, 504; Cloudflare's 520 and 524). A refusal by the API itself (its own
/// error envelope, a 503 of its own) says nothing was done.
pub(crate) fn may_have_taken_effect<T>(result: &Result<T, ApiError>) -> bool {
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
    use crate::cloudflare::{ApiMessage, ClientConfig};
    use crate::model::AccountId;

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
    fn an_echoed_secret_is_redacted_and_short_ones_are_left_alone() {
        let secret = b"Sn3lZJTBX6kk";
        let body =
            br#"{"errors":[{"code":9109,"message":"bad token Sn3lZJTBX6kk (Sn3lZJTBX6kk)"}]}"#;
        let (out, echoed) = redact_bytes(body.to_vec(), secret);
        assert!(echoed);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"errors":[{"code":9109,"message":"bad token (redacted) ((redacted))"}]}"#
        );
        let short = b"Sn3lZJTBX6k".to_vec();
        assert_eq!(redact_bytes(short.clone(), secret), (short, false));
        let json = br#"{"e":1}"#.to_vec();
        assert_eq!(redact_bytes(json.clone(), b"e"), (json, false));
        // Back to back, overlapping, at both ends: each occurrence once, left to right.
        let secret = b"abcabcab";
        let (out, echoed) = redact_bytes(b"abcabcababcabcabcab!abcabcab".to_vec(), secret);
        assert!(echoed);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "(redacted)(redacted)cab!(redacted)"
        );
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
}
