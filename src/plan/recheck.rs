//! The one re-check between a reviewed plan and the deletions: the plan shown at the prompt and
//! the plan saved for a pipeline both come here with a fresh plan, computed from a listing made
//! just before deleting. Between the review and now a person may take minutes or a pull request
//! days, so everything is decided again on the fresh listing:
//!
//! - a reviewed user is deleted only if a live user has the same id and the same address and
//!   the fresh plan still deletes them (every single-user rail ran again to compute it);
//! - a user the fresh plan deletes who was not reviewed is never deleted by this run;
//! - the whole-plan rails (delete-all, `max_deletes`, `max_delete_fraction`) run again on what
//!   would now be deleted, out of the users who could be deleted now.
//!
//! What passes is a [`ConfirmedDeletions`]: its fields are private and [`recheck`] is the only
//! function that builds one, so no other code can hand the executor a user to delete.
//!
//! ```compile_fail
//! use reconcile::plan::recheck::ConfirmedDeletions;
//! // Forging a set of deletions without the re-check does not compile.
//! let forged = ConfirmedDeletions { users: Vec::new() };
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::cloudflare::User;
use crate::model::{Email, UserId};
use crate::text::printable;

use super::{Decision, Plan, Reason, Refusal};

/// One deletion as it was reviewed: the id and the address as the API wrote them when the plan
/// was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reviewed<'a> {
    pub id: &'a str,
    pub email: &'a str,
}

impl<'a> Reviewed<'a> {
    /// A deletion of the plan shown at the prompt.
    pub fn shown(decision: &'a Decision) -> Reviewed<'a> {
        Reviewed {
            id: decision.user.id.as_deref().unwrap_or(""),
            email: decision.user.email.as_deref().unwrap_or(""),
        }
    }
}

/// Why a reviewed user is not deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// No live user has this id any more.
    Gone,
    /// The id is still there but carries another address now.
    EmailChanged { now: String },
    /// The fresh plan no longer deletes this user (allowed, protected or held back now); the
    /// reason is [`Reason::describe`] of the fresh plan.
    NotAnExtra { now: String },
    /// The reviewed id is not a UUID: never put into a DELETE URL.
    InvalidId,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Gone => write!(f, "already gone"),
            Skip::EmailChanged { now } => write!(
                f,
                "its id now has another address ({}), not deleted",
                printable(now)
            ),
            Skip::NotAnExtra { now } => write!(f, "no longer to delete ({now}), not deleted"),
            Skip::InvalidId => write!(f, "its id is not a UUID, never deleted"),
        }
    }
}

/// A reviewed user who is not deleted, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    /// The live user now, or the user as reviewed when no live user matches.
    pub decision: Decision,
    pub skip: Skip,
}

/// One user that may be deleted: reviewed, and still an extra on the fresh listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmed {
    id: UserId,
    decision: Decision,
}

impl Confirmed {
    /// The id the DELETE is sent for.
    pub fn id(&self) -> &UserId {
        &self.id
    }

    /// The user as the fresh plan saw them.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }
}

/// The deletions that passed the re-check, in plan order. Only [`recheck`] builds one.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmedDeletions {
    users: Vec<Confirmed>,
}

impl ConfirmedDeletions {
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&Confirmed> {
        self.users.get(i)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Confirmed> {
        self.users.iter()
    }
}

/// The reviewed plan checked against the fresh one.
#[derive(Debug, Clone, PartialEq)]
pub struct Recheck {
    /// Reviewed and still extras now (same id, same address): these may be deleted.
    pub confirmed: ConfirmedDeletions,
    /// Reviewed but not deleted, each with the reason, in the reviewed order.
    pub dropped: Vec<Dropped>,
    /// To delete now but not reviewed: never deleted by this run.
    pub unconfirmed: Vec<Decision>,
}

/// What a re-check leaves undeleted: shown with the report of what was deleted.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Unapplied {
    pub dropped: Vec<Dropped>,
    pub unconfirmed: Vec<Decision>,
}

impl Recheck {
    /// The deletions for the executor, and the rest for the report.
    pub fn split(self) -> (ConfirmedDeletions, Unapplied) {
        (
            self.confirmed,
            Unapplied {
                dropped: self.dropped,
                unconfirmed: self.unconfirmed,
            },
        )
    }
}

/// Invariant 1: a user is deleted only if they were in the plan that was reviewed, and are
/// still an extra on `fresh` when the deletion is issued. Refused as a whole when the
/// whole-plan rails refuse what would now be deleted (then nothing is deleted).
pub fn recheck<'a>(
    reviewed: impl IntoIterator<Item = Reviewed<'a>>,
    fresh: &Plan,
) -> Result<Recheck, Refusal> {
    // Every live user of the fresh plan by id, and whether the fresh plan deletes them.
    let by_id: HashMap<&UserId, (&Decision, bool)> = fresh
        .keep
        .iter()
        .chain(&fresh.held)
        .map(|d| (d, false))
        .chain(fresh.delete.iter().map(|d| (d, true)))
        .filter_map(|(d, delete)| d.id.as_ref().map(|id| (id, (d, delete))))
        .collect();
    let mut confirmed = Vec::new();
    let mut dropped = Vec::new();
    let mut planned: HashSet<(UserId, Option<Email>)> = HashSet::new();
    for r in reviewed {
        let as_reviewed = || {
            Decision::of(
                User {
                    id: Some(r.id.to_string()),
                    email: Some(r.email.to_string()),
                    ..User::default()
                },
                // Not shown: the reviewed reason is what was reviewed.
                Reason::NotAllowed,
            )
        };
        let Some(id) = UserId::parse(r.id) else {
            dropped.push(Dropped {
                decision: as_reviewed(),
                skip: Skip::InvalidId,
            });
            continue;
        };
        let email = Email::parse(r.email).ok();
        // A reviewed list that names one user twice deletes them once.
        if !planned.insert((id.clone(), email.clone())) {
            continue;
        }
        let Some(&(now, deletes)) = by_id.get(&id) else {
            dropped.push(Dropped {
                decision: as_reviewed(),
                skip: Skip::Gone,
            });
            continue;
        };
        if email.is_none() || now.email != email {
            dropped.push(Dropped {
                decision: now.clone(),
                skip: Skip::EmailChanged {
                    now: now.user.email.clone().unwrap_or_else(|| "no email".into()),
                },
            });
            continue;
        }
        if deletes {
            confirmed.push(Confirmed {
                id,
                decision: now.clone(),
            });
        } else {
            dropped.push(Dropped {
                decision: now.clone(),
                skip: Skip::NotAnExtra {
                    now: now.reason.describe(),
                },
            });
        }
    }
    if let Some(refusal) = fresh.limits.check(confirmed.len(), fresh.deletable) {
        return Err(refusal);
    }
    let unconfirmed = fresh
        .delete
        .iter()
        .filter(|d| match &d.id {
            Some(id) => !planned.contains(&(id.clone(), d.email.clone())),
            None => true,
        })
        .cloned()
        .collect();
    Ok(Recheck {
        confirmed: ConfirmedDeletions { users: confirmed },
        dropped,
        unconfirmed,
    })
}
