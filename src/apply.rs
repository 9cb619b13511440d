//! Carrying out a confirmed plan: delete exactly the users that were confirmed and are still
//! extras (see [`crate::plan::recheck`]), record each outcome, and stop at once when the API
//! refuses the credentials.

use crate::cloudflare::{Client, DeleteOutcome};
use crate::plan::{Decision, Recheck};

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Deleted,
    /// The API answered 404: someone (or an earlier run) deleted the user already.
    AlreadyGone,
    Failed(String),
    /// The run stopped before this user (an authentication error on an earlier one).
    NotAttempted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserResult {
    pub decision: Decision,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// One entry per confirmed user, in plan order.
    pub results: Vec<UserResult>,
    /// What the re-check just before deleting found; `results` covers `recheck.confirmed`.
    pub recheck: Recheck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub deleted: usize,
    pub already_gone: usize,
    pub failed: usize,
    pub not_attempted: usize,
}

impl Report {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for r in &self.results {
            match r.outcome {
                Outcome::Deleted => c.deleted += 1,
                Outcome::AlreadyGone => c.already_gone += 1,
                Outcome::Failed(_) => c.failed += 1,
                Outcome::NotAttempted => c.not_attempted += 1,
            }
        }
        c
    }

    /// Every confirmed user is deleted or already gone.
    pub fn is_complete(&self) -> bool {
        let c = self.counts();
        c.failed == 0 && c.not_attempted == 0
    }
}

/// Delete the confirmed users, one after the other. Users in `recheck.dropped` and
/// `recheck.unconfirmed` are never touched.
pub async fn execute(recheck: Recheck, client: &Client) -> Report {
    let mut results = Vec::with_capacity(recheck.confirmed.len());
    let mut stopped = false;
    for decision in &recheck.confirmed {
        let outcome = if stopped {
            Outcome::NotAttempted
        } else {
            match client.delete_user(decision.id()).await {
                Ok(DeleteOutcome::Deleted) => {
                    tracing::info!(user = %decision.label(), id = decision.id(), "deleted");
                    Outcome::Deleted
                }
                Ok(DeleteOutcome::AlreadyGone) => {
                    tracing::info!(user = %decision.label(), id = decision.id(), "already gone");
                    Outcome::AlreadyGone
                }
                Err(e) => {
                    tracing::error!(user = %decision.label(), id = decision.id(), "delete failed: {e}");
                    if e.is_auth() {
                        stopped = true;
                    }
                    Outcome::Failed(e.to_string())
                }
            }
        };
        results.push(UserResult {
            decision: decision.clone(),
            outcome,
        });
    }
    Report { results, recheck }
}
