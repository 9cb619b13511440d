//! HTTP client for the Cloudflare Access users API: authentication, the response envelope,
//! pagination, API error codes. It neither prints nor decides what to delete.
//!
//! The contract is ../shared/cloudflare/API.md: list is `GET /accounts/{account_id}/access/users`
//! (pages of at most 1000), delete is `DELETE /accounts/{account_id}/access/users/{user_id}` (202).

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";
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

/// A user as the API returns it. Every field is optional in the spec, so every field is optional
/// here; unknown fields are ignored (the API may add some).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_uid: Option<String>,
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
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
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
    /// Requests sent, the final empty page included.
    pub requests: u32,
    /// Records dropped because their id had already been seen on an earlier page.
    pub duplicates: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    /// 404 on delete: the user was already gone (deleted by someone else, or by a retried request).
    AlreadyGone,
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
    #[error("{request}: the user listing is inconsistent: {detail}; nothing will be deleted from it\n  help: run again; if it persists, the API is not paginating as documented")]
    Inconsistent { request: String, detail: String },
}

impl ApiError {
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
        out.push_str(&format!(", Cloudflare error {}: {}", e.code, e.message));
        for c in &e.error_chain {
            out.push_str(&format!(" (caused by {}: {})", c.code, c.message));
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

/// A user id goes into a URL only if it has the shape the spec gives it: a UUID (at most 36
/// characters). Anything else is refused, so an id from the API can never change the path.
pub fn is_valid_user_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Talks to one account of the Access users API.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    credentials: Credentials,
    account_id: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// Plain http is allowed only to this machine (the sandbox); credentials never cross a network
/// unencrypted.
fn check_base_url(raw: &str) -> Result<Url, ApiError> {
    let fail = |why: &str| ApiError::BaseUrl {
        url: raw.to_string(),
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
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback {
                Ok(url)
            } else {
                Err(fail("plain http is refused for any host but this machine (127.0.0.1, ::1, localhost); use https"))
            }
        }
        other => Err(fail(&format!("unsupported scheme `{other}`; use https"))),
    }
}

impl Client {
    pub fn new(
        base_url: &str,
        credentials: Credentials,
        account_id: &str,
    ) -> Result<Client, ApiError> {
        let base = check_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("reconcile/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            // The API does not redirect; following one could send credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::BaseUrl {
                url: base_url.to_string(),
                why: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Client {
            http,
            base,
            credentials,
            account_id: account_id.to_string(),
        })
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
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

    /// Send one request; return the status and the parsed envelope, or the error it carries.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
    ) -> Result<(StatusCode, Envelope<T>), ApiError> {
        let request = self.describe(&method, &url);
        let builder = self.http.request(method, url);
        let builder = match &self.credentials {
            Credentials::Token(token) => builder.bearer_auth(token.expose()),
            Credentials::Global { email, key } => builder
                .header("X-Auth-Email", email)
                .header("X-Auth-Key", key.expose()),
        };
        tracing::debug!(%request, "sending");
        let mut response = builder.send().await.map_err(|e| ApiError::Transport {
            request: request.clone(),
            detail: transport_detail(&e),
        })?;
        let status = response.status();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(ApiError::Malformed {
                            request,
                            status: status.as_u16(),
                            detail: format!("the body is larger than {MAX_BODY_BYTES} bytes"),
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(ApiError::Transport {
                        request,
                        detail: format!("the response was cut off: {}", transport_detail(&e)),
                    })
                }
            }
        }
        tracing::debug!(%request, status = status.as_u16(), bytes = body.len(), "received");
        let parsed: Result<Envelope<T>, _> = serde_json::from_slice(&body);
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

    /// List every user of the account: every page, each id once.
    ///
    /// Stopping rule: an empty page always ends the listing; before that, `total_pages` (when the
    /// API sends it) or `total_count` ends it once reached. Without either, the listing goes on to
    /// the empty page, as Cloudflare's SDKs do. A page that brings no new user, or that the API
    /// answers with another page number, makes the listing inconsistent: an error.
    pub async fn list_users(&self) -> Result<Listing, ApiError> {
        let mut users = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut listing = Listing {
            users: Vec::new(),
            pages: 0,
            requests: 0,
            duplicates: 0,
        };
        let mut records = 0u64;
        for page in 1..=MAX_PAGES {
            let url = self.url(
                &[],
                &[
                    ("page", page.to_string()),
                    ("per_page", PER_PAGE.to_string()),
                ],
            );
            let request = self.describe(&Method::GET, &url);
            let (_, envelope) = self.call::<Vec<User>>(Method::GET, url).await?;
            listing.requests += 1;
            let info = envelope.result_info.unwrap_or_default();
            if let Some(echoed) = whole(info.page) {
                if echoed != u64::from(page) {
                    return Err(ApiError::Inconsistent {
                        request,
                        detail: format!("asked for page {page}, the API answered page {echoed}"),
                    });
                }
            }
            // The 2024 spec allowed `result: null`; treat it as an empty page.
            let batch = envelope.result.unwrap_or_default();
            if batch.is_empty() {
                break;
            }
            listing.pages += 1;
            records += batch.len() as u64;
            let mut new = 0usize;
            for user in batch {
                match &user.id {
                    Some(id) if !seen.insert(id.clone()) => listing.duplicates += 1,
                    _ => {
                        new += 1;
                        users.push(user);
                    }
                }
            }
            if new == 0 {
                return Err(ApiError::Inconsistent {
                    request,
                    detail: format!(
                        "page {page} repeated users already listed and brought no new one"
                    ),
                });
            }
            tracing::debug!(page, users = users.len(), "listed page");
            let done = match (whole(info.total_pages), whole(info.total_count)) {
                (Some(pages), _) => u64::from(page) >= pages,
                (None, Some(total)) => records >= total,
                (None, None) => false,
            };
            if done {
                break;
            }
            if page == MAX_PAGES {
                return Err(ApiError::Inconsistent {
                    request,
                    detail: format!("more than {MAX_PAGES} pages"),
                });
            }
        }
        if listing.duplicates > 0 {
            tracing::warn!(
                duplicates = listing.duplicates,
                "the listing returned some users on more than one page (the list changed while it was read); each is counted once"
            );
        }
        listing.users = users;
        Ok(listing)
    }

    /// Delete one user by its API `id`. The id must have the spec's shape (see
    /// [`is_valid_user_id`]); the caller has checked it, and this checks it again.
    pub async fn delete_user(&self, id: &str) -> Result<DeleteOutcome, ApiError> {
        if !is_valid_user_id(id) {
            return Err(ApiError::Malformed {
                request: format!("DELETE user {}", id.escape_debug()),
                status: 0,
                detail: "the user id is not a UUID; it was not sent".into(),
            });
        }
        let url = self.url(&[id], &[]);
        match self.call::<serde_json::Value>(Method::DELETE, url).await {
            Ok(_) => Ok(DeleteOutcome::Deleted),
            // 404 means gone, unless the API says the route itself is unknown (a wrong base URL
            // must not look like a successful run).
            Err(ApiError::Status {
                status: 404,
                errors,
                ..
            }) if !errors.iter().any(|e| e.code == 7003) => Ok(DeleteOutcome::AlreadyGone),
            Err(e) => Err(e),
        }
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
    fn user_ids_must_be_uuids() {
        assert!(is_valid_user_id("f174e90a-fafe-4643-bbbc-4a0ed4fc8415"));
        assert!(is_valid_user_id("F174E90A-FAFE-4643-BBBC-4A0ED4FC8415"));
        for bad in [
            "",
            "uid",
            "f174e90a-fafe-4643-bbbc-4a0ed4fc841",
            "f174e90a-fafe-4643-bbbc-4a0ed4fc84150",
            "f174e90a/fafe-4643-bbbc-4a0ed4fc8415",
            "../../../../../../../../../../../../x",
            "f174e90a-fafe-4643-bbbc-4a0ed4fc841g",
        ] {
            assert!(!is_valid_user_id(bad), "{bad}");
        }
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
            "023e105f4ecef8ad9ca31a8372d0c353",
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
