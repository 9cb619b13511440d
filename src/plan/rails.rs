//! The whole-plan rails: delete-all, `max_deletes`, `max_delete_fraction`, resolved once into
//! [`Limits`] so that the re-check before deleting runs exactly the rails the plan ran.

use super::Overrides;
use crate::config::{Desired, Location};

/// The default of `policy.max_delete_fraction`.
pub const DEFAULT_MAX_DELETE_FRACTION: f64 = 0.25;
/// The fraction rail applies to accounts of at least this many users.
pub const FRACTION_MIN_USERS: usize = 10;

/// A plan that the safety rails refuse as a whole. `apply` deletes nobody; `plan` exits 1.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Every live user who could be deleted at all would be, and `policy.allow_delete_all` is
    /// not set. Users held for no email, an unusable address or an invalid id do not count: they
    /// can never be deleted, so they do not make "everyone" smaller.
    DeleteAll { live: usize },
    /// More deletions than `max_deletes` (set at `from`).
    MaxDeletes {
        deletes: usize,
        limit: u64,
        from: String,
        allow_deletes: Option<usize>,
    },
    /// More than `max_delete_fraction` of the live users.
    MaxFraction {
        deletes: usize,
        live: usize,
        limit: f64,
        from: String,
        allow_deletes: Option<usize>,
    },
}

impl Refusal {
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::DeleteAll { .. } => "delete_all",
            Refusal::MaxDeletes { .. } => "max_deletes",
            Refusal::MaxFraction { .. } => "max_delete_fraction",
        }
    }
}

/// The whole-plan rails, resolved once from the desired state's `policy:` and the flags, so that
/// the re-check just before deleting runs exactly the rails the plan ran.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub allow_delete_all: bool,
    /// `--allow-deletes N`: a plan over the thresholds goes ahead if it deletes exactly N.
    pub allow_deletes: Option<usize>,
    /// `max_deletes`, and where it was set.
    pub max_deletes: Option<(u64, String)>,
    /// `max_delete_fraction`, and where it was set.
    pub max_fraction: (f64, String),
}

impl Limits {
    pub fn resolve(desired: &Desired, overrides: &Overrides) -> Limits {
        let settings = &desired.policy;
        let from_file = |at: &Location| format!("policy at {at}");
        Limits {
            allow_delete_all: settings.allow_delete_all.as_ref().is_some_and(|(b, _)| *b),
            allow_deletes: overrides.allow_deletes,
            max_deletes: match (overrides.max_deletes, &settings.max_deletes) {
                (Some(n), _) => Some((n, "--max-deletes".to_string())),
                (None, Some((n, at))) => Some((*n, from_file(at))),
                (None, None) => None,
            },
            max_fraction: match (overrides.max_delete_fraction, &settings.max_delete_fraction) {
                (Some(f), _) => (f, "--max-delete-fraction".to_string()),
                (None, Some((f, at))) => (*f, from_file(at)),
                (None, None) => (DEFAULT_MAX_DELETE_FRACTION, "the default".to_string()),
            },
        }
    }

    /// The rails for `deletes` deletions out of `deletable` users who could be deleted at all:
    /// delete-all, then the thresholds (released only by `--allow-deletes` naming the exact
    /// number of deletions).
    pub fn check(&self, deletes: usize, deletable: usize) -> Option<Refusal> {
        if deletes == 0 {
            return None;
        }
        if deletes >= deletable && !self.allow_delete_all {
            return Some(Refusal::DeleteAll { live: deletable });
        }
        let allow_deletes = self.allow_deletes;
        if allow_deletes == Some(deletes) {
            return None;
        }
        if let Some((limit, from)) = &self.max_deletes {
            if deletes as u64 > *limit {
                return Some(Refusal::MaxDeletes {
                    deletes,
                    limit: *limit,
                    from: from.clone(),
                    allow_deletes,
                });
            }
        }
        let (limit, from) = &self.max_fraction;
        if deletable >= FRACTION_MIN_USERS && deletes as f64 > limit * deletable as f64 {
            return Some(Refusal::MaxFraction {
                deletes,
                live: deletable,
                limit: *limit,
                from: from.clone(),
                allow_deletes,
            });
        }
        None
    }
}
