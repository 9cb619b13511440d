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
use super::wire::ApiMessage;

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
    pub(crate) fn is_retryable(&self) -> bool {
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

    /// Cloudflare's error codes, from the envelope.
    pub fn codes(&self) -> Vec<i64> {
        match self {
            ApiError::Status { errors, .. } => errors.iter().map(|e| e.code).collect(),
            _ => Vec::new(),
        }
    }

    /// The API asked for a wait longer than `--max-wait`: every further request would wait too.
    pub(crate) fn is_wait_too_long(&self) -> bool {
        matches!(self, ApiError::WaitTooLong { .. })
    }

    /// Authentication or permission refused: retrying or going on with other requests is useless.
    pub(crate) fn is_auth(&self) -> bool {
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
