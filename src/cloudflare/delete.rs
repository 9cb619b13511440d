//! Deleting one user: only a [`Confirmed`] deletion (one that passed the re-check against a
//! fresh listing) can be sent, and the answer is read as what it means for that user — deleted,
//! already gone, or deleted by an attempt whose answer was lost — rather than as an HTTP status.

use reqwest::Method;

use super::error::ApiError;
use super::transport::Detailed;
use super::Client;
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

impl Client {
    /// Delete one user that passed the re-check, with the status, `cf-ray` and attempts of the
    /// last try. Nothing but a [`Confirmed`] deletion can be sent: its id is a checked
    /// [`crate::model::UserId`]. A 404 means already gone, or deleted by an earlier attempt of
    /// this call whose answer was lost.
    pub(crate) async fn delete_user_detailed(&self, user: &Confirmed) -> Detailed<DeleteOutcome> {
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
