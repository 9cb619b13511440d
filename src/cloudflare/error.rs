//! [`ApiError`]: every way an API call can fail, each naming the request that failed, with the
//! help a person needs to act on it (Cloudflare's error codes mean "no credentials", "wrong
//! credentials", "no permission on this account", "rate limited"). The classifications the
//! client acts on live here too: [`ApiError::is_retryable`] (the retry loop) and
//! [`ApiError::is_auth`] (apply stops at the first refusal of the credentials).
//!
//! An error's text is its `Display`, written once here, so that every command and the audit log
//! word the same failure the same way; [`human_duration`] is the duration format that text uses.

use std::time::Duration;

use super::budget::{TooLong, WaitCause};
use super::retry::is_retryable_status;
use super::url::BASE_URL_SHAPE;
use super::wire::ApiMessage;

/// An API call that did not succeed. Each variant says which request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid API base URL `{url}`: {why}; nothing was sent{}", if *.shape { format!("\n  help: {BASE_URL_SHAPE}") } else { String::new() })]
    BaseUrl {
        url: String,
        why: String,
        /// The URL is not shaped like the API's base: say what it should look like.
        shape: bool,
    },
    #[error("{request}: could not reach the Cloudflare API: {detail}\n  help: check the network, and --api-url / CLOUDFLARE_BASE_URL if set")]
    Transport { request: String, detail: String },
    #[error("{}{request}: HTTP {status}{}{}", lead_text(request, errors), codes_text(errors), hint_text(request, *status, errors))]
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
    /// The door's lists or groups (API-additions §3, §4) did not add up while they were read:
    /// nothing may be changed on the strength of that read.
    #[error("{request}: the door's lists or group read inconsistently: {}; nothing will be changed from it\n  help: run again; if it persists, the API is not paginating as documented", crate::text::printable(detail))]
    DoorInconsistent { request: String, detail: String },
    /// The API answered that the path is no route of it: the base URL is not Cloudflare's API
    /// (most often, `/client/v4` is missing). Said first, because every other word of the
    /// answer would mislead.
    #[error("the API base URL {base} does not look like Cloudflare's API: {request} answered HTTP {status}{}\n  help: {BASE_URL_SHAPE}", codes_text(errors))]
    Route {
        /// As shown (see `url::shown_url`).
        base: String,
        request: String,
        status: u16,
        errors: Vec<ApiMessage>,
    },
    /// A DELETE whose answer did not say whether it took effect, resolved (or not) by asking
    /// for the user: `found` says what that GET found.
    #[error("{answer}\n  then: {found}")]
    Unconfirmed {
        answer: Box<ApiError>,
        found: String,
    },
}

impl ApiError {
    /// Worth another attempt: a timeout, a lost connection, 408/409/429/5xx, or a success status
    /// whose body was not the envelope (cut or garbled on the way).
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            ApiError::Transport { .. } => true,
            ApiError::Status { status, .. } => is_retryable_status(*status) && !self.is_auth(),
            ApiError::Malformed { status, .. } => (200..300).contains(status),
            ApiError::BaseUrl { .. }
            | ApiError::Credentials { .. }
            | ApiError::WaitTooLong { .. }
            | ApiError::Inconsistent { .. }
            | ApiError::DoorInconsistent { .. }
            | ApiError::Route { .. }
            | ApiError::Unconfirmed { .. } => false,
        }
    }

    /// The API says the path is no route of it (7000, or 7003 "No route for the URI", the
    /// spec's example): the base URL is wrong. 7003 "Could not route to …, perhaps your object
    /// identifier is invalid?" is not this: it names an object the API does not know.
    pub(crate) fn is_route(&self) -> bool {
        match self {
            ApiError::Route { .. } => true,
            ApiError::Status { errors, .. } => errors.iter().any(is_route_message),
            _ => false,
        }
    }

    /// Whether a request went out before this error: a base URL or credentials refused before
    /// sending, or a first wait not started, sent nothing. What a command can say about the
    /// request ("nothing was deleted by this request") depends on it.
    pub(crate) fn request_sent(&self) -> bool {
        match self {
            ApiError::BaseUrl { .. } | ApiError::Credentials { .. } => false,
            ApiError::WaitTooLong { retry, .. } => *retry,
            ApiError::Transport { .. }
            | ApiError::Status { .. }
            | ApiError::Malformed { .. }
            | ApiError::Inconsistent { .. }
            | ApiError::DoorInconsistent { .. }
            | ApiError::Route { .. }
            | ApiError::Unconfirmed { .. } => true,
        }
    }

    /// A 429, or a wait for the rate limit longer than allowed.
    pub(crate) fn is_rate_limited(&self) -> bool {
        match self {
            ApiError::Status { status, errors, .. } => {
                *status == 429
                    || errors
                        .iter()
                        .any(|e| matches!(e.code, 971 | 10100 | 10429 | 10500))
            }
            ApiError::WaitTooLong { .. } => true,
            _ => false,
        }
    }

    /// Zero Trust Access is not enabled on the account (code 9999).
    pub(crate) fn is_not_enabled(&self) -> bool {
        self.codes().contains(&NOT_ENABLED)
    }

    /// A DELETE refused for want of a permission (code 10000): the credentials may list but
    /// not delete.
    pub(crate) fn is_delete_refused(&self) -> bool {
        match self {
            ApiError::Status {
                request, errors, ..
            } => request.starts_with("DELETE ") && errors.iter().any(|e| e.code == PERMISSION),
            ApiError::Unconfirmed { answer, .. } => answer.is_delete_refused(),
            _ => false,
        }
    }

    /// Cloudflare's error codes, from the envelope.
    pub fn codes(&self) -> Vec<i64> {
        match self {
            ApiError::Status { errors, .. } | ApiError::Route { errors, .. } => {
                errors.iter().map(|e| e.code).collect()
            }
            ApiError::Unconfirmed { answer, .. } => answer.codes(),
            _ => Vec::new(),
        }
    }

    /// The API asked for a wait longer than `--max-wait`: every further request would wait too.
    pub(crate) fn is_wait_too_long(&self) -> bool {
        match self {
            ApiError::WaitTooLong { .. } => true,
            ApiError::Unconfirmed { answer, .. } => answer.is_wait_too_long(),
            _ => false,
        }
    }

    /// Authentication or permission refused: retrying or going on with other requests is useless.
    pub(crate) fn is_auth(&self) -> bool {
        match self {
            ApiError::Unconfirmed { answer, .. } => answer.is_auth(),
            ApiError::Status { status, errors, .. } => {
                matches!(status, 401 | 403)
                    || errors
                        .iter()
                        .any(|e| matches!(e.code, 1000 | 6003 | 9103 | 9106 | 9107 | 9109 | 10000))
            }
            _ => false,
        }
    }
}

/// ", Cloudflare error 9109: Invalid access token (caused by …)", for each error.
pub(crate) fn codes_text(errors: &[ApiMessage]) -> String {
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

/// Cloudflare's code for "Authentication error": the credentials work but lack a permission
/// for the operation, or cannot see the account (observed).
pub(crate) const PERMISSION: i64 = 10000;
/// `access.api.error.not_enabled`: Zero Trust Access is not enabled on the account (observed).
pub(crate) const NOT_ENABLED: i64 = 9999;

/// What to grant a token that may list but not delete. Cloudflare's spec names no permission
/// for this DELETE (`x-api-token-group: null`); "Access: Users Write" is the one its permission
/// catalog lists for Access users, and "Zero Trust: Seats Write" the one the spec gives the PUT
/// of the same path.
pub(crate) const DELETE_PERMISSION_HELP: &str = "grant the token Access: Users Write (Cloudflare's spec names no permission for this DELETE; Users Write is the one its permission catalog lists for Access users; if it is still refused, add Zero Trust: Seats Write)";

/// 7000, or 7003 with the spec's "No route for the URI" wording.
pub(crate) fn is_route_message(e: &ApiMessage) -> bool {
    e.code == 7000 || (e.code == 7003 && e.message.starts_with("No route"))
}

/// What the first line says before the request, when an error code says it plainly.
fn lead_text(request: &str, errors: &[ApiMessage]) -> &'static str {
    let has = |code: i64| errors.iter().any(|e| e.code == code);
    if has(NOT_ENABLED) {
        "Zero Trust Access is not enabled on this account: "
    } else if has(PERMISSION) && request.starts_with("DELETE ") {
        "the credentials may not delete Access users: "
    } else {
        ""
    }
}

fn hint_text(request: &str, status: u16, errors: &[ApiMessage]) -> String {
    let has = |code: i64| errors.iter().any(|e| e.code == code);
    let help = if has(NOT_ENABLED) {
        "enable Zero Trust on the account in the Cloudflare dashboard (Zero Trust, then choose a plan), then run again".to_string()
    } else if has(9106) || has(9107) {
        "the API did not get complete credentials: set CLOUDFLARE_API_TOKEN (or both CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY)".to_string()
    } else if has(9109) || has(1000) || has(9103) || has(6003) {
        "the credentials were refused: check CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY); an expired or revoked token needs replacing".to_string()
    } else if has(PERMISSION) && super::door::is_door_request(request) {
        super::door::door_permission_help(request).to_string()
    } else if has(PERMISSION) && request.starts_with("DELETE ") {
        DELETE_PERMISSION_HELP.to_string()
    } else if has(PERMISSION) {
        "the credentials work but may not touch this account: check the account id, and that the token has Access: Audit Logs Read (to list) and Access: Users Write (to delete)".to_string()
    } else if errors.iter().any(is_route_message) {
        format!("the API did not recognise the path: {BASE_URL_SHAPE}")
    } else if has(7003) {
        "the API did not recognise an identifier in the path: check the account id".to_string()
    } else if status == 429 || has(971) || has(10100) || has(10429) || has(10500) {
        "the API rate limit was reached; Cloudflare blocks further calls for up to five minutes: wait, then run again".to_string()
    } else if status >= 500 {
        "Cloudflare had a server error: run again later".to_string()
    } else {
        return String::new();
    };
    format!("\n  help: {help}")
}

/// What asked for a wait the budget would not start, in words.
pub(crate) fn asked_text(t: &TooLong) -> String {
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

/// What a 429 asked for, in words, when the wait is longer than `--max-wait`: `source` is the
/// header that said how long ("Retry-After", "its Ratelimit header") or "backoff".
pub(crate) fn asked_after_429(source: &str, wait: Duration) -> String {
    format!(
        "the API answered 429 (rate limited) and asks, with {source}, for a wait of {}",
        human_duration(wait)
    )
}

/// "1 h 5 min", "15 min", "4 min 30 s", "12 s", "0.5 s".
pub(crate) fn human_duration(d: Duration) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn status(request: &str, status: u16, code: i64, message: &str) -> ApiError {
        ApiError::Status {
            request: request.into(),
            status,
            errors: vec![ApiMessage {
                code,
                message: message.into(),
                error_chain: vec![],
            }],
        }
    }

    #[test]
    fn plain_causes_come_first() {
        let disabled = status(
            "GET /accounts/x/access/users?page=1",
            403,
            9999,
            "access.api.error.not_enabled",
        );
        assert!(disabled.is_not_enabled() && disabled.is_auth());
        let text = disabled.to_string();
        assert!(
            text.starts_with("Zero Trust Access is not enabled on this account: GET"),
            "{text}"
        );
        assert!(text.contains("enable Zero Trust"), "{text}");

        let refused = status(
            "DELETE /accounts/x/access/users/y",
            403,
            10000,
            "Authentication error",
        );
        assert!(refused.is_delete_refused() && refused.is_auth());
        let text = refused.to_string();
        assert!(
            text.starts_with("the credentials may not delete Access users: DELETE"),
            "{text}"
        );
        assert!(text.contains("Access: Users Write"), "{text}");
        // The same code on the list is not a missing delete permission.
        let list = status(
            "GET /accounts/x/access/users",
            403,
            10000,
            "Authentication error",
        );
        assert!(!list.is_delete_refused());
        assert!(list.to_string().contains("Access: Audit Logs Read"));

        let route = ApiError::Route {
            base: "http://127.0.0.1:1/".into(),
            request: "GET /accounts/x/access/users".into(),
            status: 400,
            errors: vec![ApiMessage {
                code: 7000,
                message: "No route for that URI".into(),
                error_chain: vec![],
            }],
        };
        let text = route.to_string();
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with(
                "the API base URL http://127.0.0.1:1/ does not look like Cloudflare's API"
            ),
            "{text}"
        );
        assert!(text.contains("/client/v4"), "{text}");
        assert!(route.is_route() && !route.is_retryable() && !route.is_auth());
        assert!(status("GET x", 404, 7003, "No route for the URI").is_route());
        assert!(!status(
            "GET x",
            404,
            7003,
            "Could not route to x, perhaps your object identifier is invalid?"
        )
        .is_route());
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
