//! What a validated desired state is made of: [`Desired`] and its entries, each with the
//! [`Location`] it was written at, the `policy:` settings, and the digest a saved plan carries.
//! Only [`super::check`] and [`super::merge`] build these, so a value of these types has passed
//! validation; everything downstream (plan, explain, export) reads them and nothing else.

use std::fmt;

use super::glob::glob_match;
use super::Diagnostic;
use crate::date::{Date, Span};
use crate::model::door::DoorId;
use crate::model::{AccountId, Domain, Email};
use crate::text::printable;

/// The safety settings under `policy:` (docs/safety.md), each with where it was set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicySettings {
    /// Refuse a plan that deletes more users than this.
    pub max_deletes: Option<(u64, Location)>,
    /// Refuse a plan that deletes more than this fraction of the live users (accounts of 10+).
    pub max_delete_fraction: Option<(f64, Location)>,
    /// Allow a plan that deletes every live user.
    pub allow_delete_all: Option<(bool, Location)>,
    /// Hold users whose last login is this recent.
    pub hold_active_within: Option<(Span, Location)>,
}

/// A place in a desired-state file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The name is escaped where it is made (`fsread::display_path`); escaping again here
        // covers names given to `parse_str` and changes nothing else.
        write!(f, "{}:{}:{}", printable(&self.file), self.line, self.col)
    }
}

/// One address of the allowlist, normalised, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    /// What matching compares.
    pub email: Email,
    /// As written in the file, for messages.
    pub written: String,
    pub location: Location,
    /// Free text for reviewers, shown by `explain` and in the plan.
    pub note: Option<String>,
    /// From this date (UTC) on, the entry no longer keeps the user.
    pub expires: Option<Date>,
}

/// Every address at this domain is allowed (exactly this domain: subdomains are not included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainEntry {
    pub domain: Domain,
    pub location: Location,
}

/// Never deleted, whatever the rest says: an address, or a pattern where `*` stands for any run
/// of characters (`*@svc.example.com`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedEntry {
    /// Normalised (see [`normalize_pattern`]): an address, or a pattern with `*`.
    pub pattern: String,
    /// As written in the file, for messages.
    pub written: String,
    pub location: Location,
}

impl ProtectedEntry {
    pub(crate) fn is_pattern(&self) -> bool {
        self.pattern.contains('*')
    }

    /// Whether a normalised address matches this entry.
    pub fn matches(&self, normalized: &str) -> bool {
        glob_match(&self.pattern, normalized)
    }
}

/// Entries per door list when `capacity:` is not given: the Standard plan's limit.
pub const DEFAULT_LIST_CAPACITY: usize = 1000;
/// The most entries a Zero Trust list may hold (Enterprise plans).
pub const MAX_LIST_CAPACITY: usize = 5000;
/// The longest `door.lists.name`: the lists are named `NAME-1`, `NAME-2`, ...
pub const MAX_LIST_PREFIX_CHARS: usize = 100;
/// The longest Access group name (Cloudflare's account limits: 350 characters).
pub const MAX_GROUP_NAME_CHARS: usize = 350;

/// The `door:` section (docs/door.md): the Zero Trust lists of type EMAIL that reconcile keeps
/// equal to the allowlist's unexpired `users:` entries, and optionally the Access group whose
/// `include` is exactly those lists plus one `email_domain` rule per `domains:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorSpec {
    /// Where `door:` is written.
    pub location: Location,
    pub lists: DoorLists,
    /// Entries per list, 1 to [`MAX_LIST_CAPACITY`]; [`DEFAULT_LIST_CAPACITY`] when not given.
    pub capacity: usize,
    pub group: Option<DoorGroup>,
}

/// Which lists hold the door's entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoorLists {
    /// `lists: { name: NAME }`: the lists `NAME-1`, `NAME-2`, ..., created when missing (as
    /// many as the allowlist needs), in the order of their number.
    Named { name: String, location: Location },
    /// `lists: { ids: [ID, ...] }`: these existing lists, in this order; none is created.
    Ids(Vec<(DoorId, Location)>),
}

/// The Access group whose `include` reconcile keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoorGroup {
    /// `group: { name: NAME }`: the group of that name, created when missing.
    Named { name: String, location: Location },
    /// `group: { id: ID }`: that existing group.
    Id { id: DoorId, location: Location },
}

impl DoorSpec {
    /// The name of list number `number` (from 1) of the named form.
    pub fn list_name(&self, number: usize) -> Option<String> {
        match &self.lists {
            DoorLists::Named { name, .. } => Some(format!("{name}-{number}")),
            DoorLists::Ids(_) => None,
        }
    }

    /// Whether a list of the account is one of the door's, and which: its number `k` in
    /// `NAME-k` (exactly that name: `k` from 1, in decimal without leading zeros) for the named
    /// form, its place (from 1) in `ids:` for the ids form. The client reads the items of the
    /// lists this claims.
    pub fn claims_list(&self, id: &str, name: &str) -> Option<usize> {
        match &self.lists {
            DoorLists::Named { name: prefix, .. } => {
                let digits = name.strip_prefix(prefix.as_str())?.strip_prefix('-')?;
                let decimal = !digits.is_empty()
                    && digits.len() <= 9
                    && !digits.starts_with('0')
                    && digits.bytes().all(|b| b.is_ascii_digit());
                decimal.then(|| digits.parse().ok()).flatten()
            }
            DoorLists::Ids(ids) => {
                let id = DoorId::parse(id)?;
                ids.iter().position(|(i, _)| *i == id).map(|p| p + 1)
            }
        }
    }

    /// Whether a group of the account is the door's group.
    pub fn claims_group(&self, id: &str, name: &str) -> bool {
        match &self.group {
            Some(DoorGroup::Named { name: wanted, .. }) => name == wanted,
            Some(DoorGroup::Id { id: wanted, .. }) => DoorId::parse(id).as_ref() == Some(wanted),
            None => false,
        }
    }

    /// The lines the section adds to [`Desired::digest`]: what it decides, not where.
    fn digest_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("door.capacity={}", self.capacity)];
        lines.push(match &self.lists {
            DoorLists::Named { name, .. } => format!("door.lists.name={name}"),
            // The order of the ids decides the assignment: one line, in order.
            DoorLists::Ids(ids) => format!(
                "door.lists.ids={}",
                ids.iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        });
        match &self.group {
            Some(DoorGroup::Named { name, .. }) => lines.push(format!("door.group.name={name}")),
            Some(DoorGroup::Id { id, .. }) => lines.push(format!("door.group.id={id}")),
            None => {}
        }
        lines
    }
}

/// The validated desired state of one account, merged from every file given.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The account the files are for, and where it was set; `None` when no file sets it.
    pub account_id: Option<(AccountId, Location)>,
    /// Every allowed address once, in file order.
    pub entries: Vec<AllowEntry>,
    pub domains: Vec<DomainEntry>,
    pub protected: Vec<ProtectedEntry>,
    pub policy: PolicySettings,
    /// The `door:` section, when a file has one (at most one file may).
    pub door: Option<DoorSpec>,
    /// The files read, in order.
    pub files: Vec<String>,
    /// Problems that do not stop the run (an address listed twice with the same settings).
    pub warnings: Vec<Diagnostic>,
}

impl Desired {
    pub fn account(&self) -> Option<&AccountId> {
        self.account_id.as_ref().map(|(id, _)| id)
    }

    /// A digest of the normalised desired state: what it allows, not how the files are laid out
    /// (comments, order, notes, spelling of addresses and file names do not change it). A saved
    /// plan carries it so that `apply` can tell whether the files changed since the review.
    pub fn digest(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        lines.push(format!(
            "account_id={}",
            self.account().map(AccountId::as_str).unwrap_or("")
        ));
        for e in &self.entries {
            match e.expires {
                Some(date) => lines.push(format!("user={} expires={date}", e.email)),
                None => lines.push(format!("user={}", e.email)),
            }
        }
        lines.extend(self.domains.iter().map(|d| format!("domain={}", d.domain)));
        lines.extend(
            self.protected
                .iter()
                .map(|p| format!("protected={}", p.pattern)),
        );
        let policy = &self.policy;
        if let Some((n, _)) = &policy.max_deletes {
            lines.push(format!("policy.max_deletes={n}"));
        }
        if let Some((f, _)) = &policy.max_delete_fraction {
            lines.push(format!("policy.max_delete_fraction={f}"));
        }
        if let Some((b, _)) = &policy.allow_delete_all {
            lines.push(format!("policy.allow_delete_all={b}"));
        }
        if let Some((span, _)) = &policy.hold_active_within {
            lines.push(format!("policy.hold_active_within={}", span.seconds));
        }
        // No line at all without a door: digests made before the door existed still match.
        if let Some(door) = &self.door {
            lines.extend(door.digest_lines());
        }
        lines.sort_unstable();
        let mut canonical = String::from("reconcile-desired-v1\n");
        for line in lines {
            canonical.push_str(&line);
            canonical.push('\n');
        }
        crate::digest::sha256(canonical.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;

    #[test]
    fn digest_ignores_layout_and_notes_but_not_rules() {
        let a = ok("# a comment\nusers:\n  - Alice@Example.com\n  - email: bob@example.com\n    note: hi\n");
        let b = ok("users: [bob@example.com, ' alice@example.com']\n");
        assert_eq!(a.digest(), b.digest());
        for changed in [
            "users: [bob@example.com]\n",
            "users: [bob@example.com, alice@example.com]\ndomains: [example.com]\n",
            "users: [bob@example.com, alice@example.com]\nprotected: [x@example.com]\n",
            "users:\n  - bob@example.com\n  - email: alice@example.com\n    expires: 2027-01-01\n",
        ] {
            assert_ne!(a.digest(), ok(changed).digest(), "{changed}");
        }
        let d = ok(&format!(
            "account_id: {ACCOUNT}\nusers: [bob@example.com, alice@example.com]\n"
        ));
        assert_ne!(a.digest(), d.digest());
    }
}
