//! Why a user is where the plan puts them: the data of every decision (worded by
//! `render::words`).

use crate::config::{Location, Span};
use crate::date::Date;
use crate::model::AddressError;

/// Why a user is where the plan puts them.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Kept: an entry of `users:` names the address.
    Allowed {
        location: Location,
        note: Option<String>,
        expires: Option<Date>,
    },
    /// Kept: the address is at a domain of `domains:`.
    Domain { domain: String, location: Location },
    /// Kept whatever else applies: a `protected:` address or pattern matches.
    Protected { pattern: String, location: Location },
    /// Deleted: no entry, domain or protected pattern matches the address.
    NotAllowed,
    /// Deleted: the `users:` entry for the address expired on `date` (an explicit entry's expiry
    /// wins over a domain that would otherwise keep the user).
    Expired {
        date: Date,
        location: Location,
        note: Option<String>,
    },
    /// Held: the user has no email address, so no rule can speak for or against them.
    NoEmail,
    /// Held: the API's address is not one a desired-state file accepts (`ops@corp`, a trailing
    /// dot, a space, an invisible character), so no entry could ever keep this user; deleting
    /// them would be a guess.
    UnusableAddress { why: AddressError },
    /// Held: the user's `id` is missing or not the UUID the spec describes, so it is never put
    /// into a DELETE URL.
    InvalidId,
    /// Held: an allowlist entry (or a `protected:` address) that matches no live user is one
    /// edit away from this address (`jsmith@` listed, `j.smith@` live) or looks like it (the
    /// same UTS 39 skeleton: `аlicе@` with Cyrillic letters listed, `alice@` live); or a
    /// `domains:` entry that matches no live user is that near to this address's domain:
    /// probably a typo, or a look-alike pasted into the file.
    NearMiss {
        /// The entry as written (a domain entry: its normalised domain).
        entry: String,
        location: Location,
        address: String,
        /// Which list of the desired state the entry is in.
        list: EntryList,
        /// One edit away, or looks alike.
        likeness: Likeness,
    },
    /// Held: the user logged in within `policy.hold_active_within`.
    Active { last_login: String, within: Span },
    /// Held: several live users share this address, so which one is meant is unclear.
    DuplicateEmail { count: usize },
    /// Held: several live users share this id (UUIDs do not differ by letter case), so a DELETE
    /// for this user could reach another.
    DuplicateId { count: usize },
}

/// The list of the desired state an entry is in, for the typo rail's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryList {
    Users,
    Protected,
    Domains,
}

/// How near a deleted address is to an entry that matches no live user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Likeness {
    /// A character added, missing, changed, or two swapped.
    OneEdit,
    /// Different characters that look the same: one UTS 39 confusable skeleton.
    LooksAlike,
}

impl Reason {
    /// A stable machine-readable name for the reason (JSON output, audit records).
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::Allowed { .. } => "allowed",
            Reason::Domain { .. } => "domain",
            Reason::Protected { .. } => "protected",
            Reason::NotAllowed => "not_allowed",
            Reason::Expired { .. } => "expired",
            Reason::NoEmail => "no_email",
            Reason::UnusableAddress { .. } => "unusable_address",
            Reason::InvalidId => "invalid_id",
            Reason::NearMiss { .. } => "near_miss",
            Reason::Active { .. } => "active",
            Reason::DuplicateEmail { .. } => "duplicate_email",
            Reason::DuplicateId { .. } => "duplicate_id",
        }
    }

    /// The place in the desired state that decided, when one did.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Reason::Allowed { location, .. }
            | Reason::Domain { location, .. }
            | Reason::Protected { location, .. }
            | Reason::Expired { location, .. }
            | Reason::NearMiss { location, .. } => Some(location),
            Reason::NotAllowed
            | Reason::NoEmail
            | Reason::UnusableAddress { .. }
            | Reason::InvalidId
            | Reason::Active { .. }
            | Reason::DuplicateEmail { .. }
            | Reason::DuplicateId { .. } => None,
        }
    }

    /// Whether this reason keeps the user.
    pub fn keeps(&self) -> bool {
        matches!(
            self,
            Reason::Allowed { .. } | Reason::Domain { .. } | Reason::Protected { .. }
        )
    }
}
