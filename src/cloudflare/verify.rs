//! The read-only calls a preflight makes, and the one a DELETE's unknown outcome is resolved
//! with: token verification (`GET /accounts/{account_id}/tokens/verify`, then
//! `GET /user/tokens/verify`; API-additions §2a), one page of one user for the count and the
//! rate-limit policy, and one user by id (`GET /accounts/{account_id}/access/users/{user_id}`,
//! API-additions §1).

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;

use super::budget::RateBudget;
use super::error::ApiError;
use super::transport::Credentials;
use super::wire::{whole, User};
use super::Client;
use crate::model::{LiveUser, UserId};

/// Which verification route answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifiedAt {
    /// `/accounts/{account_id}/tokens/verify` (account-owned tokens are known only here).
    Account,
    /// `/user/tokens/verify`.
    User,
}

/// What a token verification says of the token (API-additions §2a).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The token's id (not the token).
    pub id: String,
    /// `active`, `disabled` or `expired`, as sent (an unknown word is kept).
    pub status: String,
    pub expires_on: Option<String>,
    pub not_before: Option<String>,
    pub at: VerifiedAt,
}

#[derive(Debug, Deserialize)]
struct WireToken {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    expires_on: Option<String>,
    #[serde(default)]
    not_before: Option<String>,
}

/// The first page of one user: what it says of the account and of the rate limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Users on the page (0 or 1).
    pub on_page: usize,
    /// `result_info.total_count`, when sent.
    pub total_count: Option<u64>,
    /// `Ratelimit-Policy`, when sent.
    pub policy: Option<RateBudget>,
    /// `Ratelimit`: requests left, and when the window resets.
    pub remaining: Option<(u32, Duration)>,
}

/// One user, looked up by id.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Present(LiveUser),
    /// 404: the API does not know the id (codes as sent: 12130 observed, 7003 on other
    /// services).
    NotFound {
        codes: Vec<i64>,
    },
}

impl Client {
    /// Whether the client authenticates with an API token (verification applies only to those).
    pub fn uses_token(&self) -> bool {
        matches!(self.credentials, Credentials::Token(_))
    }

    /// Verify the token: the account route first (it knows account-owned tokens too), then
    /// the user route whenever the account route refused it, whatever its code (a user-owned
    /// token's answer there is not documented: 1000, or a 404 "Could not route", are as likely
    /// as a 403). Both refusing: the account route's error. Not after a wrong base URL, a rate
    /// limit or no answer, which the user route would meet too. One attempt each, no retries:
    /// a preflight reports, it does not insist.
    pub async fn verify_token(&self) -> Result<TokenInfo, ApiError> {
        let account = self.url_root(&["accounts", self.account_id.as_str(), "tokens", "verify"]);
        let first = self.verify_at(account, VerifiedAt::Account).await;
        let refused = |e: &ApiError| {
            matches!(e, ApiError::Status { status, .. } if (400..500).contains(status))
                && !e.is_route()
                && !e.is_rate_limited()
        };
        match first {
            Err(e) if refused(&e) => {
                let user = self.url_root(&["user", "tokens", "verify"]);
                let invalid = |e: &ApiError| e.is_auth() || e.codes().contains(&1000);
                match self.verify_at(user, VerifiedAt::User).await {
                    Ok(info) => Ok(info),
                    // The plainer verdict: "invalid token" over the account route's other refusal.
                    Err(second) if !invalid(&e) && invalid(&second) => Err(second),
                    Err(_) => Err(e),
                }
            }
            other => other,
        }
    }

    async fn verify_at(&self, url: reqwest::Url, at: VerifiedAt) -> Result<TokenInfo, ApiError> {
        let request = self.describe(&Method::GET, &url);
        let a = self.attempt::<WireToken>(Method::GET, url).await;
        let (_, envelope) = a.result.map_err(|e| self.route_error(e))?;
        let token = envelope.result.ok_or_else(|| ApiError::Malformed {
            request: request.clone(),
            status: a.status.unwrap_or(200),
            detail: "no `result` in the verification".into(),
        })?;
        match (token.id, token.status) {
            (Some(id), Some(status)) => Ok(TokenInfo {
                id,
                status,
                expires_on: token.expires_on,
                not_before: token.not_before,
                at,
            }),
            _ => Err(ApiError::Malformed {
                request,
                status: a.status.unwrap_or(200),
                detail: "the verification lacks `id` or `status`, which the spec requires".into(),
            }),
        }
    }

    /// `GET …/access/users?page=1&per_page=1`, once: whether the account lists, how many users
    /// it says it has, and the rate-limit headers.
    pub async fn probe_users(&self) -> Result<Probe, ApiError> {
        let url = self.url(&[], &[("page", "1".into()), ("per_page", "1".into())]);
        let a = self.attempt::<Vec<User>>(Method::GET, url).await;
        let (_, envelope) = a.result.map_err(|e| self.route_error(e))?;
        Ok(Probe {
            on_page: envelope.result.map_or(0, |users| users.len()),
            total_count: envelope.result_info.and_then(|i| whole(i.total_count)),
            policy: a.policy,
            remaining: a.remaining.map(|r| (r.remaining, r.reset)),
        })
    }

    /// One user by id, with the retries of any request. [`Lookup::NotFound`] only when the API
    /// itself says so: a 404 carrying Cloudflare's failure envelope with an error code. A 404
    /// without one (a proxy's or a web server's page) or a success without a `result` says
    /// nothing of the user: an error, never "gone".
    pub async fn get_user(&self, id: &UserId) -> Result<Lookup, ApiError> {
        let url = self.url(&[id.as_str()], &[]);
        let request = self.describe(&Method::GET, &url);
        match self.call::<User>(Method::GET, url).await.result {
            Ok((status, envelope)) => match envelope.result {
                Some(user) => Ok(Lookup::Present(user.into())),
                None => Err(ApiError::Malformed {
                    request,
                    status: status.as_u16(),
                    detail: "a success without the user in `result`: whether the user exists is not said".into(),
                }),
            },
            Err(ApiError::Status {
                status: 404,
                errors,
                ..
            }) if !errors.is_empty() => Ok(Lookup::NotFound {
                codes: errors.iter().map(|e| e.code).collect(),
            }),
            Err(e) => Err(e),
        }
    }
}
