//! Deleting one user: only a [`Confirmed`] deletion (one that passed the re-check against a
//! fresh listing) can be sent, and the answer is read as what it means for that user — deleted,
//! already gone, or deleted by an attempt whose answer was lost — rather than as an HTTP status.
//!
//! When the answer does not say (every attempt's answer lost, a server error after the retries,
//! a 404 whose code is not the API's "not found" and may mean a bad route), the user is looked
//! up by id (`GET …/access/users/{user_id}`) instead of guessing from codes: still there is a
//! failure, not found is gone.

use std::future::Future;

use reqwest::Method;

use super::error::ApiError;
use super::transport::Detailed;
use super::verify::Lookup;
use super::Client;
use crate::model::UserId;
use crate::plan::recheck::Confirmed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    /// 404 on delete: the user was already gone (deleted by someone else).
    AlreadyGone,
    /// 404 on a retry after an attempt that was sent but whose answer was lost (a timeout or a
    /// connection cut after sending): that attempt most likely deleted the user.
    DeletedAnswerLost,
}

/// The API's own "not found" codes for Access objects (observed): a 404 with one of them is a
/// plain answer, no lookup needed.
const NOT_FOUND_CODES: [i64; 2] = [12130, 12135];

/// What an answer to a DELETE leaves to be resolved by a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// The answer says what happened.
    Plain,
    /// It does not: ask for the user.
    Unknown,
}

/// Whether the final result of a DELETE says what became of the user. `unanswered`: attempts
/// whose answer was lost.
fn answer_kind(result: &Result<(), &ApiError>, unanswered: u32) -> Answer {
    match result {
        Ok(()) => Answer::Plain,
        // A refusal of the credentials, a wait too long, the wrong base URL: nothing was done,
        // and a lookup would be refused or misrouted too.
        Err(e) if e.is_auth() || e.is_route() || e.is_wait_too_long() => Answer::Plain,
        Err(ApiError::Status {
            status: 404,
            errors,
            ..
        }) => {
            if errors.iter().any(|e| NOT_FOUND_CODES.contains(&e.code)) {
                Answer::Plain
            } else {
                Answer::Unknown
            }
        }
        Err(ApiError::Status { status, .. }) if *status >= 500 => Answer::Unknown,
        Err(ApiError::Transport { .. } | ApiError::Malformed { .. }) if unanswered > 0 => {
            Answer::Unknown
        }
        Err(_) => Answer::Plain,
    }
}

impl Client {
    /// Delete one user that passed the re-check, with the status, `cf-ray` and attempts of the
    /// last try. Nothing but a [`Confirmed`] deletion can be sent: its id is a checked
    /// [`crate::model::UserId`]. A 404 "not found" means already gone, or deleted by an earlier
    /// attempt of this call whose answer was lost; an answer that does not say is resolved by
    /// looking the user up.
    ///
    /// The future owns what it sends (a clone of the client and of the id), so that each
    /// deletion can run as a task of its own.
    pub(crate) fn delete_user_detailed(
        &self,
        user: Confirmed<'_>,
    ) -> impl Future<Output = Detailed<DeleteOutcome>> + Send + 'static {
        let (client, id) = (self.clone(), user.id().clone());
        async move { client.delete_id(&id).await }
    }

    /// [`Client::delete_user_detailed`] once the id is its own: only that function calls it.
    async fn delete_id(&self, id: &UserId) -> Detailed<DeleteOutcome> {
        let url = self.url(&[id.as_str()], &[]);
        let d = self.call::<serde_json::Value>(Method::DELETE, url).await;
        let gone = if d.unanswered > 0 {
            DeleteOutcome::DeletedAnswerLost
        } else {
            DeleteOutcome::AlreadyGone
        };
        let result = match d.result {
            Ok(_) => Ok(DeleteOutcome::Deleted),
            Err(e) => match answer_kind(&Err(&e), d.unanswered) {
                Answer::Plain => match e {
                    ApiError::Status { status: 404, .. } => Ok(gone),
                    // An earlier attempt was sent and its answer lost, and the retry was refused
                    // (the token revoked meanwhile, a wait too long): the refusal says nothing of
                    // that earlier attempt, which may have deleted the user. A lookup would be
                    // refused (or have to wait) the same way.
                    e if d.unanswered > 0 => Err(ApiError::Unconfirmed {
                        answer: Box::new(e),
                        found: format!("an earlier attempt of this DELETE was sent and its answer lost ({} of {} attempts), so it may have deleted the user; the user was not looked up after this refusal: whether the user is deleted is not known; run apply again (it lists the users first)", d.unanswered, d.attempts),
                    }),
                    e => Err(e),
                },
                Answer::Unknown => {
                    let request = format!("GET {}", self.describe_user(id));
                    match self.get_user(id).await {
                        Ok(Lookup::NotFound { .. }) => {
                            tracing::info!(%request, error = %e, "the DELETE's answer did not say; the user is not found: gone");
                            Ok(gone)
                        }
                        Ok(Lookup::Present(_)) => Err(ApiError::Unconfirmed {
                            answer: Box::new(e),
                            found: format!("{request} shows the user still present: not deleted"),
                        }),
                        Err(lookup) => Err(ApiError::Unconfirmed {
                            answer: Box::new(e),
                            found: format!("{request} failed too ({lookup}): whether the user is deleted is not known; run apply again"),
                        }),
                    }
                }
            },
        };
        Detailed {
            result,
            status: d.status,
            cf_ray: d.cf_ray,
            attempts: d.attempts,
            unanswered: d.unanswered,
        }
    }

    /// "/accounts/…/access/users/{id}", as errors name it.
    fn describe_user(&self, id: &UserId) -> String {
        let url = self.url(&[id.as_str()], &[]);
        self.describe(&Method::GET, &url)
            .trim_start_matches("GET ")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudflare::ApiMessage;

    fn status(status: u16, codes: &[i64]) -> ApiError {
        ApiError::Status {
            request: "DELETE /accounts/x/access/users/y".into(),
            status,
            errors: codes
                .iter()
                .map(|&code| ApiMessage {
                    code,
                    message: if code == 7003 {
                        "Could not route to /x, perhaps your object identifier is invalid?".into()
                    } else {
                        "m".into()
                    },
                    error_chain: vec![],
                })
                .collect(),
        }
    }

    #[test]
    fn only_answers_that_do_not_say_are_looked_up() {
        let kind = |e: ApiError, unanswered| answer_kind(&Err(&e), unanswered);
        assert_eq!(answer_kind(&Ok(()), 0), Answer::Plain);
        assert_eq!(kind(status(404, &[12130]), 0), Answer::Plain);
        assert_eq!(kind(status(404, &[12135]), 1), Answer::Plain);
        // 7003 is what other services answer for an unknown object, and for a bad route.
        assert_eq!(kind(status(404, &[7003]), 0), Answer::Unknown);
        assert_eq!(kind(status(404, &[]), 0), Answer::Unknown);
        assert_eq!(kind(status(503, &[10503]), 0), Answer::Unknown);
        assert_eq!(kind(status(502, &[]), 1), Answer::Unknown);
        assert_eq!(kind(status(403, &[10000]), 0), Answer::Plain);
        assert_eq!(kind(status(403, &[9109]), 0), Answer::Plain);
        assert_eq!(kind(status(400, &[7000]), 0), Answer::Plain);
        assert_eq!(kind(status(400, &[10400]), 0), Answer::Plain);
        let lost = ApiError::Transport {
            request: "DELETE x".into(),
            detail: "timed out".into(),
        };
        assert_eq!(kind(lost, 1), Answer::Unknown);
        let refused = ApiError::Transport {
            request: "DELETE x".into(),
            detail: "connection failed".into(),
        };
        assert_eq!(kind(refused, 0), Answer::Plain);
    }
}
