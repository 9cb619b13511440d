//! The pure diff between the desired state and the live users: who is kept, who is deleted and
//! why, who is held back. No I/O, nothing async, nothing about HTTP: the same inputs give the same
//! plan, in the same order. [`recheck`] holds the one re-check that turns a reviewed plan into
//! the only thing apply accepts, [`recheck::ConfirmedDeletions`].

pub mod recheck;

use std::collections::{HashMap, HashSet};

use crate::config::{AllowEntry, Desired, DomainEntry, Location, ProtectedEntry, Span};
use crate::date::{self, Date};
use crate::distance;
use crate::model::LiveUser;
use crate::model::{skeleton, AccountId, AddressError, Email, UserId};
use crate::text::printable;

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

/// The rules of a desired state, indexed for matching one normalised address at a time.
///
/// Precedence: a protected entry keeps the user whatever else applies; then an exact `users:`
/// entry decides (kept, or deleted once it has expired); then a domain keeps the user; otherwise
/// nothing matches and the user is an extra.
pub struct Matcher<'a> {
    exact: HashMap<&'a str, (usize, &'a AllowEntry)>,
    domains: HashMap<&'a str, &'a DomainEntry>,
    protected: &'a [ProtectedEntry],
    /// Protected addresses, by address, with their index in `protected`.
    protected_exact: HashMap<&'a str, usize>,
    protected_patterns: Patterns<'a>,
    today: Date,
}

/// The protected patterns, indexed by shape so that the common ones cost a hash lookup per
/// address, not a glob per pattern: `*@domain` by domain, `local@*` by local part, `*@*.domain`
/// by each parent domain of the address. Any other pattern is tried one by one. Each holds
/// indexes into `Desired::protected`.
#[derive(Default)]
struct Patterns<'a> {
    by_domain: HashMap<&'a str, Vec<usize>>,
    by_local: HashMap<&'a str, Vec<usize>>,
    by_parent: HashMap<&'a str, Vec<usize>>,
    /// In file order.
    other: Vec<usize>,
}

impl<'a> Patterns<'a> {
    fn new(protected: &'a [ProtectedEntry]) -> Patterns<'a> {
        let mut patterns = Patterns::default();
        for (i, p) in protected.iter().enumerate().filter(|(_, p)| p.is_pattern()) {
            // A pattern has exactly one `@`, as an address does (see `normalize_pattern`), so
            // `*` on one side of it never matches across it.
            let (local, domain) = p.pattern.split_once('@').unwrap_or((&p.pattern, ""));
            let plain = |s: &str| !s.contains('*');
            let list = match (local, domain) {
                ("*", d) if plain(d) => patterns.by_domain.entry(domain).or_default(),
                (l, "*") if plain(l) => patterns.by_local.entry(local).or_default(),
                ("*", d) if d.strip_prefix("*.").is_some_and(plain) => {
                    patterns.by_parent.entry(&domain[2..]).or_default()
                }
                _ => &mut patterns.other,
            };
            list.push(i);
        }
        patterns
    }

    /// The index of every pattern that matches `address`, in no particular order.
    fn matching<'s>(
        &'s self,
        protected: &'s [ProtectedEntry],
        address: &'s Email,
    ) -> impl Iterator<Item = usize> + 's {
        let domain = address.domain();
        let local = address
            .as_str()
            .strip_suffix(domain)
            .and_then(|l| l.strip_suffix('@'))
            .unwrap_or("");
        let parents = domain
            .match_indices('.')
            .filter_map(|(dot, _)| self.by_parent.get(&domain[dot + 1..]));
        let found = |map: &'s HashMap<&'a str, Vec<usize>>, key: &str| map.get(key);
        found(&self.by_domain, domain)
            .into_iter()
            .chain(found(&self.by_local, local))
            .chain(parents)
            .flatten()
            .copied()
            .chain(
                self.other
                    .iter()
                    .copied()
                    .filter(move |&i| protected[i].matches(address.as_str())),
            )
    }
}

impl<'a> Matcher<'a> {
    pub fn new(desired: &'a Desired, today: Date) -> Matcher<'a> {
        Matcher {
            exact: desired
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.email.as_str(), (i, e)))
                .collect(),
            domains: desired
                .domains
                .iter()
                .map(|d| (d.domain.as_str(), d))
                .collect(),
            protected: &desired.protected,
            protected_exact: desired
                .protected
                .iter()
                .enumerate()
                .filter(|(_, p)| !p.is_pattern())
                .map(|(i, p)| (p.pattern.as_str(), i))
                .collect(),
            protected_patterns: Patterns::new(&desired.protected),
            today,
        }
    }

    /// The protected entry that keeps this address: its protected address, or else the first
    /// pattern in file order that matches.
    fn protected(&self, address: &Email) -> Option<&'a ProtectedEntry> {
        let protected = self.protected;
        self.protected_exact
            .get(address.as_str())
            .copied()
            .or_else(|| self.protected_patterns.matching(protected, address).min())
            .map(|i| &protected[i])
    }

    /// Marks in `seen` (indexed like `Desired::protected`) every protected entry that matches
    /// this address.
    pub fn mark_protected(&self, address: &Email, seen: &mut [bool]) {
        let exact = self.protected_exact.get(address.as_str()).copied();
        for i in exact
            .into_iter()
            .chain(self.protected_patterns.matching(self.protected, address))
        {
            seen[i] = true;
        }
    }

    /// The index in `Desired::entries` of the entry naming this address, if any.
    pub fn entry_index(&self, address: &Email) -> Option<usize> {
        self.exact.get(address.as_str()).map(|(i, _)| *i)
    }

    fn entry(&self, address: &Email) -> Option<Reason> {
        self.exact
            .get(address.as_str())
            .map(|(_, e)| match e.expires {
                Some(date) if date <= self.today => Reason::Expired {
                    date,
                    location: e.location.clone(),
                    note: e.note.clone(),
                },
                _ => Reason::Allowed {
                    location: e.location.clone(),
                    note: e.note.clone(),
                    expires: e.expires,
                },
            })
    }

    fn domain(&self, address: &Email) -> Option<Reason> {
        if self.domains.is_empty() {
            return None;
        }
        self.domains.get(address.domain()).map(|d| Reason::Domain {
            domain: d.domain.to_string(),
            location: d.location.clone(),
        })
    }

    /// The rule that decides for an address.
    pub fn decide(&self, address: &Email) -> Reason {
        if let Some(p) = self.protected(address) {
            return Reason::Protected {
                pattern: p.pattern.clone(),
                location: p.location.clone(),
            };
        }
        self.entry(address)
            .or_else(|| self.domain(address))
            .unwrap_or(Reason::NotAllowed)
    }

    /// Every rule that matches an address, the deciding one first (for `explain`).
    pub fn all(&self, address: &Email) -> Vec<Reason> {
        let mut all = Vec::new();
        let mut patterns: Vec<usize> = self
            .protected_patterns
            .matching(self.protected, address)
            .collect();
        patterns.sort_unstable();
        all.extend(
            self.protected_exact
                .get(address.as_str())
                .into_iter()
                .chain(&patterns)
                .map(|&i| Reason::Protected {
                    pattern: self.protected[i].pattern.clone(),
                    location: self.protected[i].location.clone(),
                }),
        );
        all.extend(self.entry(address));
        all.extend(self.domain(address));
        if all.is_empty() {
            all.push(Reason::NotAllowed);
        }
        all
    }
}

/// One live user and what the plan does with them.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub user: LiveUser,
    /// The user's id; `None` when the API gave none or one that is not a UUID.
    pub id: Option<UserId>,
    /// The user's address; `None` when the API gave none or one that is not an address.
    pub email: Option<Email>,
    pub reason: Reason,
}

impl Decision {
    /// A live user as the plan reads it: the id and the address through their one check.
    pub fn of(user: LiveUser, reason: Reason) -> Decision {
        Decision {
            id: user.id.as_deref().and_then(UserId::parse),
            email: user.email.as_deref().and_then(|e| Email::parse(e).ok()),
            user,
            reason,
        }
    }

    /// The id as the API wrote it, for people to read (empty when there is none); never used
    /// to address a request (that takes a [`UserId`]).
    pub fn id_text(&self) -> &str {
        self.user.id.as_deref().unwrap_or("")
    }

    /// What people read: the address as the API wrote it, or a stand-in; safe to print on a
    /// terminal (see [`printable`]).
    pub fn label(&self) -> String {
        match (&self.user.email, &self.user.id) {
            (Some(e), _) if !e.trim().is_empty() => printable(e.trim()),
            (_, Some(id)) => format!("(no email, id {})", printable(id)),
            (_, None) => "(no email, no id)".to_string(),
        }
    }
}

/// Flags that change the safety rails for one run (docs/safety.md).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overrides {
    /// `--max-deletes`: replaces `policy.max_deletes`.
    pub max_deletes: Option<u64>,
    /// `--max-delete-fraction`: replaces `policy.max_delete_fraction`.
    pub max_delete_fraction: Option<f64>,
    /// `--allow-deletes N`: go ahead with a plan over the thresholds, if it deletes exactly N.
    pub allow_deletes: Option<usize>,
    /// `--allow-near-miss EMAIL`: release these near misses.
    pub allow_near_miss: Vec<Email>,
    /// `--include-active`: release users held by `policy.hold_active_within`.
    pub include_active: bool,
    /// `--allow-duplicate-email`: release users who share their address with another.
    pub allow_duplicate_email: bool,
}

/// What the plan is computed against, besides the desired state and the live users.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub account_id: AccountId,
    /// The date (UTC) against which `expires:` is checked.
    pub today: Date,
    /// Now, in seconds since the Unix epoch, for `policy.hold_active_within`.
    pub now: i64,
    pub overrides: Overrides,
}

impl Policy {
    /// A policy at the given moment with no overrides.
    pub fn at(account_id: &AccountId, now: i64) -> Policy {
        Policy {
            account_id: account_id.clone(),
            today: Date::from_days_since_epoch(now.div_euclid(86_400)),
            now,
            overrides: Overrides::default(),
        }
    }
}

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

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub account_id: AccountId,
    /// How many live users the plan was computed from.
    pub live_count: usize,
    /// How many of them could be deleted at all (a usable address and a UUID id): what the
    /// delete-all and fraction rails count.
    pub deletable: usize,
    /// Users to delete: not allowed, with an email and a valid id. Sorted by email, then id.
    pub delete: Vec<Decision>,
    /// Users who stay because a rule keeps them.
    pub keep: Vec<Decision>,
    /// Users not kept by any rule who are left alone all the same, each with the reason.
    pub held: Vec<Decision>,
    /// Allowed addresses with no user in the account (yet): nothing to do, shown for review.
    pub absent: Vec<AllowEntry>,
    /// `protected:` entries that match no live user: possibly a typo that leaves the person
    /// they were meant for unprotected; shown for review.
    pub unmatched_protected: Vec<ProtectedEntry>,
    /// `domains:` entries at which no live user has an address: possibly a typo or a look-alike
    /// (`соrp.com` with a Cyrillic `о`) that keeps nobody; shown for review.
    pub unmatched_domains: Vec<DomainEntry>,
    /// The rails the plan ran, for the re-check before deleting.
    pub limits: Limits,
    /// Set when the safety rails refuse the plan as a whole: then nothing may be deleted.
    pub refusal: Option<Refusal>,
}

impl Plan {
    /// Every live user the plan was computed from (deleted, kept and held).
    pub fn users(&self) -> impl Iterator<Item = &LiveUser> {
        self.delete
            .iter()
            .chain(&self.keep)
            .chain(&self.held)
            .map(|d| &d.user)
    }

    /// Access and Gateway seats that the deletions free.
    pub fn seats_freed(&self) -> (usize, usize) {
        let count = |f: fn(&LiveUser) -> Option<bool>| {
            self.delete
                .iter()
                .filter(|d| f(&d.user) == Some(true))
                .count()
        };
        (count(|u| u.access_seat), count(|u| u.gateway_seat))
    }

    pub fn has_changes(&self) -> bool {
        !self.delete.is_empty()
    }

    /// Live users who remain after the plan is applied.
    pub fn unchanged(&self) -> usize {
        self.live_count - self.delete.len()
    }
}

/// The order of every list in a plan: by address, then id, then every other field, so that two
/// records that agree on address and id still come out in one order whatever the API's order.
type OrderKey<'a> = (
    Option<&'a Email>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    (Option<bool>, Option<bool>),
);

fn plan_order(a: &Decision, b: &Decision) -> std::cmp::Ordering {
    fn key(d: &Decision) -> OrderKey<'_> {
        let u = &d.user;
        (
            d.email.as_ref(),
            u.id.as_deref(),
            u.email.as_deref(),
            u.name.as_deref(),
            u.last_successful_login.as_deref(),
            (u.access_seat, u.gateway_seat),
        )
    }
    key(a).cmp(&key(b)).then_with(|| {
        let devices = |d: &Decision| d.user.active_device_count.unwrap_or(-1.0);
        devices(a).total_cmp(&devices(b))
    })
}

/// Compute the plan from the desired state and every live user: the rules decide who is kept;
/// the safety rails then hold back single users (held) or refuse the plan as a whole (refusal).
pub fn compute(desired: &Desired, live: &[LiveUser], policy: &Policy) -> Plan {
    compute_owned(desired, live.to_vec(), policy)
}

/// [`compute`], taking the users by value: they move into the plan instead of being copied
/// (what a listing of 100,000s of users wants).
pub fn compute_owned(desired: &Desired, live: Vec<LiveUser>, policy: &Policy) -> Plan {
    let live_count = live.len();
    let matcher = Matcher::new(desired, policy.today);
    let mut entry_seen = vec![false; desired.entries.len()];
    let mut protected_seen = vec![false; desired.protected.len()];
    let (mut delete, mut keep, mut held) = (Vec::new(), Vec::new(), Vec::new());
    // Users no rule keeps, checked against the single-user rails below.
    let mut unmatched: Vec<Decision> = Vec::new();
    let mut ids: HashMap<UserId, usize> = HashMap::with_capacity(live_count);
    for user in live {
        let id = user.id.as_deref().and_then(UserId::parse);
        if let Some(id) = &id {
            *ids.entry(id.clone()).or_default() += 1;
        }
        let raw = user.email.as_deref().map(str::trim).unwrap_or("");
        if raw.is_empty() {
            held.push(Decision {
                user,
                id,
                email: None,
                reason: Reason::NoEmail,
            });
            continue;
        }
        // An address that does not parse can match no rule (the rules went through the same
        // check): never matched, never deleted.
        let address = match Email::parse(raw) {
            Ok(address) => address,
            Err(why) => {
                held.push(Decision {
                    user,
                    id,
                    email: None,
                    reason: Reason::UnusableAddress { why },
                });
                continue;
            }
        };
        if let Some(i) = matcher.entry_index(&address) {
            entry_seen[i] = true;
        }
        matcher.mark_protected(&address, &mut protected_seen);
        let reason = matcher.decide(&address);
        let decision = Decision {
            user,
            id,
            email: Some(address),
            reason,
        };
        if decision.reason.keeps() {
            keep.push(decision);
        } else {
            unmatched.push(decision);
        }
    }
    // Addresses shared by several live users: kept ones share a rule, so only the others matter.
    unmatched.sort_unstable_by(plan_order);
    let mut counts: HashMap<Email, usize> = HashMap::new();
    for run in unmatched.chunk_by(|a, b| a.email == b.email) {
        if let (true, Some(address)) = (run.len() > 1, &run[0].email) {
            counts.insert(address.clone(), run.len());
        }
    }
    let shared = |d: &Decision| {
        d.id.as_ref()
            .and_then(|id| ids.get(id))
            .copied()
            .filter(|n| *n > 1)
    };
    // Who could be deleted at all: a usable address and an id that names one user.
    let deletable = keep
        .iter()
        .chain(&unmatched)
        .filter(|d| d.id.is_some() && shared(d).is_none())
        .count();
    for decision in unmatched {
        let hold = if decision.id.is_none() {
            Some(Reason::InvalidId)
        } else if let Some(count) = shared(&decision) {
            Some(Reason::DuplicateId { count })
        } else if let Some(&count) = decision
            .email
            .as_ref()
            .and_then(|a| counts.get(a))
            .filter(|_| !policy.overrides.allow_duplicate_email)
        {
            Some(Reason::DuplicateEmail { count })
        } else {
            active_hold(desired, &decision.user, policy)
        };
        match hold {
            Some(reason) => held.push(Decision { reason, ..decision }),
            None => delete.push(decision),
        }
    }
    let absent: Vec<AllowEntry> = desired
        .entries
        .iter()
        .zip(&entry_seen)
        .filter(|(_, seen)| !**seen)
        .map(|(e, _)| e.clone())
        .collect();
    let unmatched_protected: Vec<ProtectedEntry> = desired
        .protected
        .iter()
        .zip(&protected_seen)
        .filter(|(_, seen)| !**seen)
        .map(|(p, _)| p.clone())
        .collect();
    let unmatched_domains = unmatched_domains(desired, [&keep, &delete, &held]);
    // The typo rail compares the deletions with every unmatched address that names one person:
    // the absent `users:` entries and the unmatched protected addresses (patterns name no one);
    // and their domains with the unmatched `domains:` entries.
    let address_targets: Vec<NearTarget<'_>> = absent
        .iter()
        .map(|e| NearTarget {
            normalized: e.email.as_str(),
            written: e.written.trim(),
            location: &e.location,
            list: EntryList::Users,
        })
        .chain(
            unmatched_protected
                .iter()
                .filter(|p| !p.is_pattern())
                .map(|p| NearTarget {
                    normalized: p.pattern.as_str(),
                    written: p.written.as_str(),
                    location: &p.location,
                    list: EntryList::Protected,
                }),
        )
        .collect();
    let domain_targets: Vec<NearTarget<'_>> = unmatched_domains
        .iter()
        .map(|d| NearTarget {
            normalized: d.domain.as_str(),
            written: d.domain.as_str(),
            location: &d.location,
            list: EntryList::Domains,
        })
        .collect();
    hold_near_misses(
        &mut delete,
        &mut held,
        [&address_targets, &domain_targets],
        policy,
    );
    drop((address_targets, domain_targets));
    for list in [&mut delete, &mut keep, &mut held] {
        list.sort_unstable_by(plan_order);
    }
    let mut absent = absent;
    absent.sort_by(|a, b| a.email.cmp(&b.email));
    let limits = Limits::resolve(desired, &policy.overrides);
    let refusal = limits.check(delete.len(), deletable);
    Plan {
        account_id: policy.account_id.clone(),
        live_count,
        deletable,
        delete,
        keep,
        held,
        absent,
        unmatched_protected,
        unmatched_domains,
        limits,
        refusal,
    }
}

/// The `domains:` entries at which no live user has an address, in file order.
fn unmatched_domains(desired: &Desired, lists: [&Vec<Decision>; 3]) -> Vec<DomainEntry> {
    if desired.domains.is_empty() {
        return Vec::new();
    }
    let index: HashMap<&str, usize> = desired
        .domains
        .iter()
        .enumerate()
        .map(|(i, d)| (d.domain.as_str(), i))
        .collect();
    let mut seen = vec![false; desired.domains.len()];
    let mut left = seen.len();
    for address in lists.into_iter().flatten().filter_map(|d| d.email.as_ref()) {
        if let Some(&i) = index.get(address.domain()) {
            if !seen[i] {
                seen[i] = true;
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
    }
    desired
        .domains
        .iter()
        .zip(&seen)
        .filter(|(_, seen)| !**seen)
        .map(|(d, _)| d.clone())
        .collect()
}

/// `policy.hold_active_within`: hold a user seen that recently, unless `--include-active`. A
/// last login that cannot be read counts as recent: the rail errs on the side of keeping.
fn active_hold(desired: &Desired, user: &LiveUser, policy: &Policy) -> Option<Reason> {
    let (within, _) = desired.policy.hold_active_within.as_ref()?;
    if policy.overrides.include_active {
        return None;
    }
    let last = user.last_successful_login.as_deref()?;
    let recent = match date::parse_timestamp(last) {
        Some(t) => policy.now.saturating_sub(t) <= within.seconds as i64,
        None => true,
    };
    recent.then(|| Reason::Active {
        last_login: last.to_string(),
        within: *within,
    })
}

/// A 64-bit hash of `chars` with the character at `skip` left out (`None`: nothing left out).
/// Characters, not bytes: `é` to `e` is one edit, though it changes two bytes.
fn hash_without(chars: &[char], skip: Option<usize>) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, c) in chars.iter().enumerate() {
        if Some(i) != skip {
            h = (h ^ u64::from(u32::from(*c))).wrapping_mul(PRIME);
        }
    }
    h
}

/// An unmatched entry of the desired state that the typo rail compares deletions with: an
/// address (compared with the whole address) or a domain (compared with the address's domain).
struct NearTarget<'a> {
    normalized: &'a str,
    written: &'a str,
    location: &'a Location,
    list: EntryList,
}

/// The targets of the typo rail, indexed so that finding the one near a text costs a few hash
/// lookups, not one comparison per target.
struct NearIndex<'t, 'a> {
    targets: &'t [NearTarget<'a>],
    /// Every one-character deletion of every target (as in SymSpell).
    edits: HashMap<u64, Vec<usize>>,
    lengths: HashSet<usize>,
    /// The UTS 39 skeleton of every target; the first target with a skeleton wins.
    skeletons: HashMap<String, usize>,
}

impl<'t, 'a> NearIndex<'t, 'a> {
    fn new(targets: &'t [NearTarget<'a>]) -> NearIndex<'t, 'a> {
        let mut edits: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut skeletons: HashMap<String, usize> = HashMap::new();
        for (i, target) in targets.iter().enumerate() {
            let chars: Vec<char> = target.normalized.chars().collect();
            for skip in std::iter::once(None).chain((0..chars.len()).map(Some)) {
                edits.entry(hash_without(&chars, skip)).or_default().push(i);
            }
            skeletons.entry(skeleton(target.normalized)).or_insert(i);
        }
        NearIndex {
            targets,
            edits,
            lengths: targets
                .iter()
                .map(|t| t.normalized.chars().count())
                .collect(),
            skeletons,
        }
    }

    /// The target one edit away from `text`, or else one that looks like it. (A target never
    /// equals `text`: a target matches no live user.)
    fn find(&self, text: &str) -> Option<(&'t NearTarget<'a>, Likeness)> {
        if self.targets.is_empty() {
            return None;
        }
        let chars: Vec<char> = text.chars().collect();
        let n = chars.len();
        let one_edit = if (n.saturating_sub(1)..=n + 1).any(|l| self.lengths.contains(&l)) {
            std::iter::once(None)
                .chain((0..n).map(Some))
                .filter_map(|skip| self.edits.get(&hash_without(&chars, skip)))
                .flatten()
                .map(|&i| &self.targets[i])
                // The index finds candidates by hash; the distance rules out collisions.
                .find(|t| distance::levenshtein(t.normalized, text) <= 2)
        } else {
            None
        };
        one_edit.map(|t| (t, Likeness::OneEdit)).or_else(|| {
            self.skeletons
                .get(&skeleton(text))
                .map(|&i| (&self.targets[i], Likeness::LooksAlike))
        })
    }
}

/// The "typo" rail: an allowlist entry or a protected address that matches no live user, one
/// edit (a character added, missing, changed, or two swapped) away from a user about to be
/// deleted or with the same confusable skeleton, holds that user; so does a `domains:` entry that
/// matches no live user and is that near to the user's domain. The targets are indexed (see
/// [`NearIndex`]), so the cost grows with the number of users, not users × entries.
fn hold_near_misses(
    delete: &mut Vec<Decision>,
    held: &mut Vec<Decision>,
    [addresses, domains]: [&[NearTarget<'_>]; 2],
    policy: &Policy,
) {
    // Only a shortcut: with no target or no deletion the loop below changes nothing (so the
    // mutant that turns `||` into `&&` here is equivalent).
    if (addresses.is_empty() && domains.is_empty()) || delete.is_empty() {
        return;
    }
    let (addresses, domains) = (NearIndex::new(addresses), NearIndex::new(domains));
    let mut kept = Vec::with_capacity(delete.len());
    for d in delete.drain(..) {
        let Some(address) = d.email.clone() else {
            kept.push(d);
            continue;
        };
        let released = policy.overrides.allow_near_miss.contains(&address);
        let near = addresses
            .find(address.as_str())
            .or_else(|| domains.find(address.domain()));
        match near.filter(|_| !released) {
            Some((target, likeness)) => held.push(Decision {
                reason: Reason::NearMiss {
                    entry: target.written.to_string(),
                    location: target.location.clone(),
                    address: address.to_string(),
                    list: target.list,
                    likeness,
                },
                ..d
            }),
            None => kept.push(d),
        }
    }
    *delete = kept;
}

/// A fingerprint of a live user list: the (id, normalised email) pairs, sorted, hashed. Two
/// listings of an unchanged account give the same fingerprint whatever the page order.
pub fn fingerprint<'a>(live: impl IntoIterator<Item = &'a LiveUser>) -> String {
    let mut pairs: Vec<(String, String)> = live
        .into_iter()
        .map(|u| {
            let email = u.email.as_deref().unwrap_or("");
            (
                u.id.clone().unwrap_or_default(),
                Email::parse(email).map_or_else(|_| email.to_string(), |e| e.to_string()),
            )
        })
        .collect();
    pairs.sort_unstable();
    let mut canonical = String::from("reconcile-live-v1\n");
    for (id, address) in pairs {
        canonical.push_str(&id);
        canonical.push('\t');
        canonical.push_str(&address);
        canonical.push('\n');
    }
    crate::digest::sha256(canonical.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    /// 2026-11-28T12:00:00Z
    const NOW: i64 = 1_795_867_200;

    fn policy() -> Policy {
        Policy::at(&crate::model::AccountId::example(), NOW)
    }

    fn desired(emails: &[&str]) -> Desired {
        let mut text = String::from("users:\n");
        for e in emails {
            text.push_str(&format!("  - \"{e}\"\n"));
        }
        config::parse_str(&text, "users.yaml").unwrap()
    }

    fn user(n: u32, email: Option<&str>) -> LiveUser {
        LiveUser {
            id: Some(format!("00000000-0000-4000-8000-{n:012}")),
            email: email.map(str::to_string),
            ..LiveUser::default()
        }
    }

    fn emails(list: &[Decision]) -> Vec<&str> {
        list.iter()
            .map(|d| d.email.as_deref().unwrap_or("-"))
            .collect()
    }

    #[test]
    fn extras_are_deleted_and_allowed_users_kept() {
        let d = desired(&["alice@example.com", "bob@example.com", "grace@example.com"]);
        let live = vec![
            user(1, Some("zed@example.com")),
            user(2, Some("alice@example.com")),
            user(3, Some("mallory@example.com")),
            user(4, Some("bob@example.com")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(
            emails(&plan.delete),
            ["mallory@example.com", "zed@example.com"]
        );
        assert_eq!(emails(&plan.keep), ["alice@example.com", "bob@example.com"]);
        assert!(plan.held.is_empty());
        let absent: Vec<_> = plan.absent.iter().map(|e| e.email.as_str()).collect();
        assert_eq!(absent, ["grace@example.com"]);
        assert_eq!(plan.unchanged(), 2);
        assert!(plan.has_changes());
        assert!(plan.delete.iter().all(|d| d.reason == Reason::NotAllowed));
        assert_eq!(
            crate::render::words::reason(&plan.keep[0].reason),
            "allowed by users.yaml:2:5"
        );
    }

    #[test]
    fn matching_ignores_case_spaces_and_unicode_composition() {
        let d = desired(&["jos\u{e9}@example.com", "Bob@Example.com"]);
        let live = vec![
            user(1, Some("  JOSE\u{301}@example.COM ")),
            user(2, Some("bob@example.com")),
        ];
        let plan = compute(&d, &live, &policy());
        assert!(plan.delete.is_empty(), "{:?}", plan.delete);
        assert_eq!(plan.keep.len(), 2);
        assert!(plan.absent.is_empty());
    }

    #[test]
    fn users_without_email_or_valid_id_are_held_never_deleted() {
        let d = desired(&["alice@example.com"]);
        let mut bad_id = user(2, Some("mallory@example.com"));
        bad_id.id = Some("../../evil".into());
        let mut no_id = user(3, Some("trent@example.com"));
        no_id.id = None;
        let live = vec![user(1, None), bad_id, no_id, user(4, Some("  "))];
        let plan = compute(&d, &live, &policy());
        assert!(plan.delete.is_empty());
        assert_eq!(plan.held.len(), 4);
        let reasons: Vec<_> = plan.held.iter().map(|d| d.reason.clone()).collect();
        assert_eq!(
            reasons,
            [
                Reason::NoEmail,
                Reason::NoEmail,
                Reason::InvalidId,
                Reason::InvalidId
            ]
        );
    }

    #[test]
    fn addresses_no_entry_could_name_are_held_not_deleted() {
        let d = desired(&["alice@example.com"]);
        let live = vec![
            user(1, Some("ops@corp")),
            user(2, Some("jdoe@example.com.")),
            user(3, Some("two words@example.com")),
            user(4, Some("eve@example.com")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(emails(&plan.delete), ["eve@example.com"]);
        assert_eq!(plan.held.len(), 3);
        assert!(
            plan.held
                .iter()
                .all(|h| h.reason.kind() == "unusable_address"),
            "{:?}",
            plan.held
        );
        // No rule can match such an address, not even a pattern that would: it is held, and
        // counts among the users the whole-plan rails never count.
        let d = config::parse_str(
            "users: [a@example.com]\nprotected: [\"ops@corp*\"]\n",
            "p.yaml",
        )
        .unwrap();
        let plan = compute(&d, &live[..1], &policy());
        assert!(plan.keep.is_empty() && plan.delete.is_empty());
        assert_eq!(plan.held[0].reason.kind(), "unusable_address");
        assert_eq!(plan.deletable, 0);
    }

    #[test]
    fn labels_are_safe_to_print() {
        let mut u = user(1, Some("evil\u{1b}[1A\u{1b}[2K@example.com"));
        let d = Decision {
            user: u.clone(),
            id: None,
            email: None,
            reason: Reason::NotAllowed,
        };
        assert_eq!(d.label(), "evil\\u{1b}[1A\\u{1b}[2K@example.com");
        u.email = Some("jos\u{e9}\u{202e}moc.elpmaxe@x".into());
        let d = Decision {
            user: u,
            id: None,
            email: None,
            reason: Reason::NotAllowed,
        };
        assert_eq!(d.label(), "jos\u{e9}\\u{202e}moc.elpmaxe@x");
        assert_eq!(printable("plain José"), "plain José");
    }

    #[test]
    fn allowed_user_with_odd_id_is_kept() {
        let d = desired(&["alice@example.com"]);
        let mut alice = user(1, Some("alice@example.com"));
        alice.id = None;
        let plan = compute(&d, &[alice], &policy());
        assert_eq!(plan.keep.len(), 1);
    }

    #[test]
    fn deterministic_regardless_of_input_order() {
        let d = desired(&["a@example.com"]);
        let mut live: Vec<LiveUser> = (0..50)
            .map(|n| user(n, Some(&format!("u{}@example.com", n % 7))))
            .collect();
        let first = compute(&d, &live, &policy());
        live.reverse();
        let second = compute(&d, &live, &policy());
        assert_eq!(first, second);
        assert!(first
            .delete
            .windows(2)
            .all(|w| plan_order(&w[0], &w[1]).is_le()));
    }

    #[test]
    fn fingerprint_ignores_order_and_case_but_not_membership() {
        let a = vec![
            user(1, Some("a@example.com")),
            user(2, Some("b@example.com")),
        ];
        let b = vec![
            user(2, Some("B@example.com")),
            user(1, Some("a@example.com")),
        ];
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&a[..1]));
        assert!(fingerprint(&a).starts_with("sha256:"));
    }

    fn rules(text: &str) -> Desired {
        config::parse_str(text, "rules.yaml").unwrap()
    }

    fn addr(raw: &str) -> Email {
        Email::parse(raw).unwrap()
    }

    #[test]
    fn domains_keep_every_address_at_exactly_that_domain() {
        let d = rules("users: [alice@other.example]\ndomains: [example.com]\n");
        let live = vec![
            user(1, Some("bob@example.com")),
            user(2, Some("carol@sub.example.com")),
            user(3, Some("dave@notexample.com")),
            user(4, Some("alice@other.example")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(
            emails(&plan.keep),
            ["alice@other.example", "bob@example.com"]
        );
        assert_eq!(
            emails(&plan.delete),
            ["carol@sub.example.com", "dave@notexample.com"]
        );
        assert_eq!(plan.keep[1].reason.kind(), "domain");
        assert_eq!(
            crate::render::words::reason(&plan.keep[1].reason),
            "allowed by domain example.com (rules.yaml:2:11)"
        );
    }

    #[test]
    fn protected_entries_win_over_everything() {
        let d = rules(
            "users:\n  - email: ops@example.com\n    expires: 2020-01-01\ndomains: [example.com]\nprotected:\n  - breakglass@corp.example\n  - \"*@svc.example.com\"\n  - ops@example.com\n",
        );
        let live = vec![
            user(1, Some("breakglass@corp.example")),
            user(2, Some("robot-1@svc.example.com")),
            user(3, Some("ops@example.com")),
            user(4, Some("intruder@corp.example")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(emails(&plan.delete), ["intruder@corp.example"]);
        assert!(
            plan.keep.iter().all(|k| k.reason.kind() == "protected"),
            "{:?}",
            plan.keep
        );
        let ops = plan
            .keep
            .iter()
            .find(|k| k.email.as_deref() == Some("ops@example.com"))
            .unwrap();
        assert_eq!(
            crate::render::words::reason(&ops.reason),
            "protected by ops@example.com (rules.yaml:8:5)"
        );
        let robot = plan
            .keep
            .iter()
            .find(|k| k.email.as_deref() == Some("robot-1@svc.example.com"))
            .unwrap();
        assert_eq!(
            crate::render::words::reason(&robot.reason),
            "protected by pattern *@svc.example.com (rules.yaml:7:5)"
        );
    }

    #[test]
    fn expiry_deletes_from_that_date_and_wins_over_a_domain() {
        let d = rules(
            "users:\n  - email: bob@example.com\n    note: contractor\n    expires: 2026-11-28\n  - email: eve@example.com\n    expires: 2026-11-29\ndomains: [example.com]\n",
        );
        let live = vec![
            user(1, Some("bob@example.com")),
            user(2, Some("eve@example.com")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(emails(&plan.delete), ["bob@example.com"]);
        assert_eq!(
            crate::render::words::reason(&plan.delete[0].reason),
            "the allowlist entry at rules.yaml:2:5 expired on 2026-11-28 (note: \"contractor\")"
        );
        assert_eq!(
            crate::render::words::reason(&plan.keep[0].reason),
            "allowed by rules.yaml:5:5 until 2026-11-29"
        );
        // The day before, bob is still kept.
        let earlier = Policy::at(&crate::model::AccountId::example(), NOW - 86_400);
        assert!(compute(&d, &live, &earlier).delete.is_empty());
    }

    #[test]
    fn matcher_lists_every_rule_deciding_one_first() {
        let d = rules("users: [bob@example.com]\ndomains: [example.com]\nprotected: [\"bob@*\"]\n");
        let m = Matcher::new(&d, Date::parse("2026-11-28").unwrap());
        let kinds: Vec<_> = m
            .all(&addr("bob@example.com"))
            .iter()
            .map(|r| r.kind())
            .collect();
        assert_eq!(kinds, ["protected", "allowed", "domain"]);
        assert_eq!(m.decide(&addr("bob@example.com")).kind(), "protected");
        assert_eq!(m.all(&addr("zed@other.example"))[0], Reason::NotAllowed);
    }

    fn many(n: u32) -> Vec<LiveUser> {
        (1..=n)
            .map(|i| user(i, Some(&format!("u{i}@example.com"))))
            .collect()
    }

    fn allow_first(keep: u32, extra: &str) -> Desired {
        let mut text = String::from("users:\n");
        for i in 1..=keep {
            text.push_str(&format!("  - u{i}@example.com\n"));
        }
        text.push_str(extra);
        config::parse_str(&text, "rails.yaml").unwrap()
    }

    fn with(overrides: Overrides) -> Policy {
        Policy {
            overrides,
            ..policy()
        }
    }

    #[test]
    fn fraction_rail_refuses_a_large_plan_unless_the_exact_count_is_allowed() {
        let live = many(20);
        let d = allow_first(14, "");
        // 6 of 20 = 30% > 25%.
        let plan = compute(&d, &live, &policy());
        let refusal = plan.refusal.clone().unwrap();
        assert_eq!(refusal.kind(), "max_delete_fraction");
        let text = crate::render::words::refusal(&refusal);
        assert!(text.contains("deletes 6 of 20 live users (30.0%), more than max_delete_fraction 0.25 (the default)"), "{text}");
        assert!(text.contains("pass --allow-deletes 6"), "{text}");
        assert_eq!(plan.delete.len(), 6, "the plan still shows who would go");
        assert!(compute(
            &d,
            &live,
            &with(Overrides {
                allow_deletes: Some(6),
                ..Overrides::default()
            })
        )
        .refusal
        .is_none());
        let wrong = compute(
            &d,
            &live,
            &with(Overrides {
                allow_deletes: Some(5),
                ..Overrides::default()
            }),
        );
        assert!(wrong
            .refusal
            .map(|r| crate::render::words::refusal(&r))
            .unwrap()
            .contains("--allow-deletes 5 was given, but this plan deletes 6"));
        // 5 of 20 = 25%: not more than the fraction.
        assert!(compute(&allow_first(15, ""), &live, &policy())
            .refusal
            .is_none());
        // Under 10 users the fraction does not apply.
        assert!(compute(&allow_first(4, ""), &many(9), &policy())
            .refusal
            .is_none());
        // A flag replaces the file's fraction.
        let strict = allow_first(15, "policy: {max_delete_fraction: 0.5}\n");
        assert!(compute(&strict, &live, &policy()).refusal.is_none());
        let flag = with(Overrides {
            max_delete_fraction: Some(0.1),
            ..Overrides::default()
        });
        assert!(compute(&strict, &live, &flag)
            .refusal
            .map(|r| crate::render::words::refusal(&r))
            .unwrap()
            .contains("(--max-delete-fraction)"));
    }

    #[test]
    fn max_deletes_from_the_file_or_a_flag() {
        let live = many(40);
        let d = allow_first(37, "policy:\n  max_deletes: 2\n");
        let plan = compute(&d, &live, &policy());
        let text = crate::render::words::refusal(&plan.refusal.unwrap());
        assert!(
            text.contains("deletes 3 users, more than max_deletes 2 (policy at rails.yaml:40:16)"),
            "{text}"
        );
        let loose = with(Overrides {
            max_deletes: Some(3),
            ..Overrides::default()
        });
        assert!(compute(&d, &live, &loose).refusal.is_none());
    }

    #[test]
    fn deleting_everyone_needs_allow_delete_all_whatever_the_thresholds() {
        let live = many(3);
        let d = config::parse_str("users: [nobody@example.com]\n", "all.yaml").unwrap();
        let plan = compute(
            &d,
            &live,
            &with(Overrides {
                allow_deletes: Some(3),
                max_delete_fraction: Some(1.0),
                ..Overrides::default()
            }),
        );
        assert_eq!(plan.refusal.as_ref().map(Refusal::kind), Some("delete_all"));
        assert!(plan
            .refusal
            .map(|r| crate::render::words::refusal(&r))
            .unwrap()
            .contains("allow_delete_all: true"));
        let d = config::parse_str(
            "users: [nobody@example.com]\npolicy: {allow_delete_all: true}\n",
            "all.yaml",
        )
        .unwrap();
        assert!(compute(&d, &live, &policy()).refusal.is_none());
        // An empty account has nothing to refuse.
        assert!(compute(&d, &[], &policy()).refusal.is_none());
    }

    #[test]
    fn near_miss_holds_the_user_until_released() {
        let d = desired(&["jsmith@corp.com", "alice@corp.com"]);
        let live = vec![
            user(1, Some("j.smith@corp.com")),
            user(2, Some("alice@corp.com")),
            user(3, Some("mallory@corp.com")),
            user(4, Some("jsmith@corp.cm")),
            user(6, Some("jsmith@corp.org")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(
            emails(&plan.delete),
            ["jsmith@corp.org", "mallory@corp.com"],
            "three edits away is not a near miss"
        );
        assert_eq!(emails(&plan.held), ["j.smith@corp.com", "jsmith@corp.cm"]);
        let text = crate::render::words::reason(&plan.held[0].reason);
        assert!(text.starts_with("did you mean this user? The allowlist entry jsmith@corp.com at users.yaml:2:5 matches no live user"), "{text}");
        assert!(
            text.ends_with("release with --allow-near-miss j.smith@corp.com"),
            "{text}"
        );
        let released = compute(
            &d,
            &live,
            &with(Overrides {
                allow_near_miss: vec![addr("j.smith@corp.com")],
                ..Overrides::default()
            }),
        );
        assert_eq!(
            emails(&released.delete),
            ["j.smith@corp.com", "jsmith@corp.org", "mallory@corp.com"]
        );
        // Once the entry matches a live user, its neighbours are no longer near misses.
        let mut with_jsmith = live.clone();
        with_jsmith.push(user(5, Some("jsmith@corp.com")));
        let plan = compute(&d, &with_jsmith, &policy());
        assert_eq!(
            emails(&plan.delete),
            [
                "j.smith@corp.com",
                "jsmith@corp.cm",
                "jsmith@corp.org",
                "mallory@corp.com"
            ]
        );
    }

    #[test]
    fn recent_users_are_held_when_the_policy_says_so() {
        let d = allow_first(
            0,
            "domains: [keep.example]\npolicy: {hold_active_within: 7d, max_delete_fraction: 1}\n",
        );
        let at = |email: &str, login: Option<&str>, n: u32| LiveUser {
            last_successful_login: login.map(str::to_string),
            ..user(n, Some(email))
        };
        let live = vec![
            at("recent@example.com", Some("2026-11-25T08:00:00Z"), 1),
            at("old@example.com", Some("2026-11-01T08:00:00Z"), 2),
            at("never@example.com", None, 3),
            at("garbled@example.com", Some("last tuesday"), 4),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(
            emails(&plan.delete),
            ["never@example.com", "old@example.com"]
        );
        assert_eq!(
            emails(&plan.held),
            ["garbled@example.com", "recent@example.com"]
        );
        assert_eq!(
            crate::render::words::reason(&plan.held[1].reason),
            "last login 2026-11-25T08:00:00Z, within policy.hold_active_within (7d); release with --include-active"
        );
        let all = compute(
            &d,
            &live,
            &with(Overrides {
                include_active: true,
                ..Overrides::default()
            }),
        );
        assert_eq!(all.delete.len(), 4);
    }

    #[test]
    fn two_users_with_one_address_are_both_held() {
        let d = desired(&["alice@example.com"]);
        let live = vec![
            user(1, Some("bob@example.com")),
            user(2, Some("Bob@Example.com ")),
            user(3, Some("alice@example.com")),
            user(4, Some("alice@example.com")),
        ];
        let plan = compute(&d, &live, &policy());
        assert!(plan.delete.is_empty());
        assert_eq!(plan.held.len(), 2);
        assert!(plan
            .held
            .iter()
            .all(|h| h.reason == Reason::DuplicateEmail { count: 2 }));
        assert_eq!(plan.keep.len(), 2, "allowed duplicates are simply kept");
        let released = compute(
            &d,
            &live,
            &with(Overrides {
                allow_duplicate_email: true,
                ..Overrides::default()
            }),
        );
        assert_eq!(released.delete.len(), 2);
    }

    #[test]
    fn reasons_never_carry_terminal_escapes_from_the_api() {
        let r = Reason::Active {
            last_login: "\u{1b}[2K\u{1b}[1Aevil".into(),
            within: Span { seconds: 86_400 },
        };
        assert!(
            !crate::render::words::reason(&r).contains('\u{1b}'),
            "{}",
            crate::render::words::reason(&r)
        );
    }

    #[test]
    fn a_near_miss_on_an_accented_letter_is_one_edit() {
        let d = desired(&["jos\u{e9}@corp.com", "keep@corp.com"]);
        let live = vec![
            user(1, Some("jose@corp.com")),
            user(2, Some("keep@corp.com")),
        ];
        let plan = compute(&d, &live, &policy());
        assert!(plan.delete.is_empty(), "{:?}", plan.delete);
        assert_eq!(plan.held[0].reason.kind(), "near_miss");
    }

    #[test]
    fn users_whose_ids_differ_only_in_case_are_held_and_not_deletable() {
        let d = rules("users: [alice@corp.com]\nprotected: [breakglass@corp.com]\n");
        let mut breakglass = user(1, Some("breakglass@corp.com"));
        breakglass.id = Some("0b5b6c4e-1d1f-4a51-9a57-9d8b1b0f7a01".into());
        let mut contractor = user(2, Some("contractor@corp.com"));
        contractor.id = Some("0B5B6C4E-1D1F-4A51-9A57-9D8B1B0F7A01".into());
        let live = vec![
            breakglass,
            contractor,
            user(3, Some("alice@corp.com")),
            user(4, Some("x@corp.com")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(emails(&plan.delete), ["x@corp.com"]);
        assert_eq!(plan.held.len(), 1);
        assert_eq!(plan.held[0].reason, Reason::DuplicateId { count: 2 });
        assert_eq!(
            plan.deletable, 2,
            "alice and x; neither twin can be deleted"
        );
    }

    #[test]
    fn the_rails_count_only_users_who_could_be_deleted() {
        // One user without an email (as in the demo seed) does not make "everyone" smaller.
        let d = desired(&["nobody@example.com"]);
        let live = vec![
            user(1, None),
            user(2, Some("a@example.com")),
            user(3, Some("b@example.com")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(plan.deletable, 2);
        assert_eq!(plan.refusal, Some(Refusal::DeleteAll { live: 2 }));
        // 30 email-less service users and 10 people: deleting the 10 deletes everyone who
        // could be deleted, not a quarter of the account.
        let mut live: Vec<LiveUser> = (0..30).map(|n| user(n, None)).collect();
        live.extend((30..40).map(|n| user(n, Some(&format!("p{n}@example.com")))));
        let plan = compute(&d, &live, &policy());
        assert_eq!(plan.delete.len(), 10);
        assert_eq!(plan.refusal, Some(Refusal::DeleteAll { live: 10 }));
        // Unusable addresses and invalid ids do not count either; kept users do.
        let mut bad_id = user(41, Some("c@example.com"));
        bad_id.id = Some("nope".into());
        let live = vec![
            user(40, Some("ops@corp")),
            bad_id,
            user(42, Some("nobody@example.com")),
            user(43, Some("d@example.com")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(plan.deletable, 2);
        assert_eq!(plan.refusal, None);
    }

    #[test]
    fn unmatched_protected_entries_are_reported_and_their_near_misses_held() {
        let d = rules(
            "users: [alice@example.com]\nprotected:\n  - breakglas@example.com\n  - \"*@svc.example.com\"\n  - alice@example.com\n",
        );
        let live = vec![
            user(1, Some("alice@example.com")),
            user(2, Some("breakglass@example.com")),
            user(3, Some("mallory@example.com")),
        ];
        let plan = compute(&d, &live, &policy());
        let unmatched: Vec<&str> = plan
            .unmatched_protected
            .iter()
            .map(|p| p.written.as_str())
            .collect();
        assert_eq!(unmatched, ["breakglas@example.com", "*@svc.example.com"]);
        assert_eq!(emails(&plan.delete), ["mallory@example.com"]);
        let held = &plan.held[0];
        assert_eq!(held.email.as_deref(), Some("breakglass@example.com"));
        assert!(
            crate::render::words::reason(&held.reason)
                .starts_with("did you mean this user? The protected entry breakglas@example.com at rules.yaml:3:5"),
            "{}",
            crate::render::words::reason(&held.reason)
        );
    }

    #[test]
    fn live_addresses_with_invisible_characters_are_held_never_matched() {
        let d = rules(
            "users: [breakglass@example.com, keep@example.com]\nprotected: [\"*@example.com\"]\n",
        );
        let live = vec![
            user(1, Some("break\u{200b}glass@example.com")),
            user(2, Some("keep@example.com")),
        ];
        let plan = compute(&d, &live, &policy());
        assert!(plan.delete.is_empty());
        assert_eq!(plan.keep.len(), 1);
        assert!(matches!(
            &plan.held[0].reason,
            Reason::UnusableAddress {
                why: AddressError::Character {
                    found: '\u{200b}',
                    ..
                }
            }
        ));
        assert!(crate::render::words::reason(&plan.held[0].reason).contains("U+200B"));
    }

    #[test]
    fn internationalised_domains_match_in_either_form() {
        let d = rules(
            "users: [anna@xn--bcher-kva.example]\ndomains: [\"b\u{fc}cher.example\"]\nprotected: [\"*@xn--caf-dma.example\"]\n",
        );
        let live = vec![
            user(1, Some("Anna@B\u{fc}cher.example")),
            user(2, Some("ben@xn--bcher-kva.example")),
            user(3, Some("ops@caf\u{e9}.example")),
            user(4, Some("x@other.example")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(emails(&plan.delete), ["x@other.example"]);
        let kinds: Vec<&str> = plan.keep.iter().map(|k| k.reason.kind()).collect();
        assert_eq!(kinds, ["allowed", "domain", "protected"]);
    }

    #[test]
    fn a_look_alike_allowlist_entry_holds_the_user_it_looks_like() {
        // Cyrillic а (U+0430) and е (U+0435): two edits from alice, one skeleton.
        let d = desired(&["\u{430}lic\u{435}@corp.com", "keep@corp.com"]);
        let live = vec![
            user(1, Some("alice@corp.com")),
            user(2, Some("keep@corp.com")),
            user(3, Some("mallory@corp.com")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(emails(&plan.delete), ["mallory@corp.com"]);
        assert_eq!(emails(&plan.held), ["alice@corp.com"]);
        let reason = &plan.held[0].reason;
        assert_eq!(reason.kind(), "near_miss");
        let text = crate::render::words::reason(reason);
        assert!(
            text.contains("matches no live user and looks like this address"),
            "{text}"
        );
        assert!(
            text.ends_with("release with --allow-near-miss alice@corp.com"),
            "{text}"
        );
        let released = compute(
            &d,
            &live,
            &with(Overrides {
                allow_near_miss: vec![addr("alice@corp.com")],
                ..Overrides::default()
            }),
        );
        assert_eq!(
            emails(&released.delete),
            ["alice@corp.com", "mallory@corp.com"]
        );
    }

    #[test]
    fn a_ligature_in_an_entry_or_a_protected_address_holds_the_user_it_looks_like() {
        let d = rules(
            "users: [\"\u{fb01}ona.ford@corp.com\", keep@corp.com]\nprotected: [\"\u{133}ssel@corp.com\"]\n",
        );
        let live = vec![
            user(1, Some("fiona.ford@corp.com")),
            user(2, Some("ijssel@corp.com")),
            user(3, Some("keep@corp.com")),
            user(4, Some("mallory@corp.com")),
        ];
        let plan = compute(&d, &live, &policy());
        assert_eq!(emails(&plan.delete), ["mallory@corp.com"]);
        assert_eq!(
            emails(&plan.held),
            ["fiona.ford@corp.com", "ijssel@corp.com"]
        );
        assert!(plan.held.iter().all(|h| h.reason.kind() == "near_miss"));
        let text = crate::render::words::reason(&plan.held[1].reason);
        assert!(
            text.starts_with("did you mean this user? The protected entry \u{133}ssel@corp.com at rules.yaml:2:13 matches no live user and looks like this address"),
            "{text}"
        );
    }

    #[test]
    fn domains_that_match_no_live_user_are_reported() {
        let d =
            rules("users: [alice@corp.com]\ndomains: [corp.com, nobody.example, other.example]\n");
        let live = vec![
            user(1, Some("alice@corp.com")),
            user(2, Some("bob@corp.com")),
            user(3, Some("x@other.example")),
        ];
        let plan = compute(&d, &live, &policy());
        let unmatched: Vec<&str> = plan
            .unmatched_domains
            .iter()
            .map(|d| d.domain.as_str())
            .collect();
        assert_eq!(unmatched, ["nobody.example"]);
        assert_eq!(
            plan.unmatched_domains[0].location.to_string(),
            "rules.yaml:2:21"
        );
        assert!(compute(&rules("users: [a@b.co]\n"), &live, &policy())
            .unmatched_domains
            .is_empty());
    }

    #[test]
    fn a_look_alike_or_mistyped_domain_holds_the_users_at_the_domain_it_looks_like() {
        // Cyrillic с and о (U+0441, U+043E) in `соrp.com`; `corp.co` one edit from corp.com.
        for (domain, likeness) in [
            ("\u{441}\u{43e}rp.com", "looks like this address's domain"),
            ("corp.co", "is one edit away from this address's domain"),
        ] {
            let d = rules(&format!(
                "users: [alice@corp.com]\ndomains: [\"{domain}\"]\n"
            ));
            let live = vec![
                user(1, Some("alice@corp.com")),
                user(2, Some("bob@corp.com")),
                user(3, Some("carol@corp.com")),
                user(4, Some("eve@elsewhere.example")),
            ];
            let plan = compute(&d, &live, &policy());
            assert_eq!(emails(&plan.delete), ["eve@elsewhere.example"], "{domain}");
            assert_eq!(emails(&plan.held), ["bob@corp.com", "carol@corp.com"]);
            let text = crate::render::words::reason(&plan.held[0].reason);
            assert!(
                text.starts_with(&format!("did you mean this user? The domain entry {domain} at rules.yaml:2:11 matches no live user and {likeness}")),
                "{text}"
            );
            assert_eq!(plan.unmatched_domains.len(), 1);
        }
    }

    #[test]
    fn indexed_protected_patterns_match_exactly_what_the_glob_matches() {
        let patterns = [
            "*@svc.example",
            "ops@*",
            "*@*.corp.example",
            "a*z@x.example",
            "*@*",
            "*ops@*",
            "*@corp.example",
            "*@*.example",
            "ops@svc.example",
            "x*@*.b\u{fc}cher.example",
        ];
        let mut text = String::from("users: [keep@example.com]\nprotected:\n");
        for p in patterns {
            text.push_str(&format!("  - \"{p}\"\n"));
        }
        let d = rules(&text);
        let m = Matcher::new(&d, Date::parse("2026-11-28").unwrap());
        for raw in [
            "ops@svc.example",
            "robot@svc.example",
            "ops@anywhere.example",
            "x@deep.sub.corp.example",
            "x@corp.example",
            "x@notcorp.example",
            "abz@x.example",
            "az@x.example",
            "devops@other.org",
            "x1@a.b\u{fc}cher.example",
            "x1@xn--bcher-kva.example",
        ] {
            let address = addr(raw);
            let glob: Vec<&str> = d
                .protected
                .iter()
                .filter(|p| p.matches(address.as_str()))
                .map(|p| p.pattern.as_str())
                .collect();
            // `all` and `decide`: the protected address first, then patterns in file order.
            let (mut ordered, patterns): (Vec<&str>, Vec<&str>) =
                glob.iter().partition(|p| !p.contains('*'));
            ordered.extend(patterns);
            let indexed: Vec<String> = m
                .all(&address)
                .into_iter()
                .filter_map(|r| match r {
                    Reason::Protected { pattern, .. } => Some(pattern),
                    _ => None,
                })
                .collect();
            assert_eq!(indexed, ordered, "{raw}");
            let mut seen = vec![false; d.protected.len()];
            m.mark_protected(&address, &mut seen);
            let marked: Vec<&str> = d
                .protected
                .iter()
                .zip(&seen)
                .filter(|(_, s)| **s)
                .map(|(p, _)| p.pattern.as_str())
                .collect();
            assert_eq!(marked, glob, "{raw}");
            match m.decide(&address) {
                Reason::Protected { pattern, .. } => {
                    assert_eq!(Some(pattern.as_str()), ordered.first().copied())
                }
                other => assert!(glob.is_empty(), "{raw}: {other:?}"),
            }
        }
    }

    #[test]
    fn seats_freed_counts_the_deleted_users_seats() {
        let d = desired(&["alice@example.com"]);
        let seat = |n, a, g| LiveUser {
            access_seat: Some(a),
            gateway_seat: Some(g),
            ..user(n, Some(&format!("u{n}@example.com")))
        };
        let live = vec![
            seat(1, true, true),
            seat(2, true, false),
            seat(3, false, false),
        ];
        assert_eq!(compute(&d, &live, &policy()).seats_freed(), (2, 1));
    }
}

/// Property tests over random desired states and random live user lists: the plan against an
/// independent model of the rules, with addresses that differ only in case, composition (NFC and
/// NFD), the form of an internationalised domain, or an invisible character.
#[cfg(test)]
mod props {
    use super::*;
    use crate::config;
    use proptest::prelude::*;

    const LOCALS: &[&str] = &[
        "alice",
        "bob",
        "j.smith",
        "jsmith",
        "jos\u{e9}",
        "jose\u{301}",
        "jose",
        "zed",
        "breakglass",
        // Looks like `breakglass`; no address may contain U+200B.
        "break\u{200b}glass",
        "a\u{ad}b",
        // Looks like `alice`: Cyrillic а and е (U+0430, U+0435), two edits away.
        "\u{430}lic\u{435}",
    ];
    const DOMAINS: &[&str] = &[
        "example.com",
        "corp.example",
        "svc.example.com",
        // One internationalised domain in three spellings: Unicode, punycode, decomposed.
        "b\u{fc}cher.example",
        "xn--bcher-kva.example",
        "bu\u{308}cher.example",
        // Looks like `example.com`: a Cyrillic а.
        "ex\u{430}mple.com",
    ];

    /// The characters of the pool that no address may contain (the model's own list).
    const INVISIBLE: &[char] = &['\u{200b}', '\u{ad}'];

    /// An address from a small pool, written with random case and surrounding spaces, so that
    /// different spellings of one address meet.
    fn address() -> impl Strategy<Value = String> {
        (
            0..LOCALS.len(),
            0..DOMAINS.len(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(l, d, upper, spaces)| {
                let mut a = format!("{}@{}", LOCALS[l], DOMAINS[d]);
                if upper {
                    a = a.to_uppercase();
                }
                if spaces {
                    a = format!("  {a} ");
                }
                a
            })
    }

    /// A YAML double-quoted scalar (JSON escapes are YAML escapes).
    fn q(s: &str) -> String {
        serde_json::Value::String(s.to_string()).to_string()
    }

    #[derive(Debug, Clone)]
    struct Entry {
        address: String,
        expires: Option<bool>,
    }

    /// An independent model of the matching rules, written from docs/config.md, to check the
    /// plan against (not the `Matcher` the plan itself uses).
    #[derive(Debug, Clone, Default)]
    struct Oracle {
        /// (address, expired) per `users:` entry, first spelling only.
        entries: Vec<(String, bool)>,
        domains: Vec<String>,
        protected: Vec<String>,
    }

    /// The model's normalisation: trim, lower-case, NFC, and the pool's one punycode domain
    /// written in Unicode (a table, not the IDNA code the plan uses).
    fn oracle_norm(a: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        let a: String = a.trim().to_lowercase().nfc().collect();
        a.replace("xn--bcher-kva.example", "b\u{fc}cher.example")
    }

    /// The model's own table of the pool's look-alikes (Cyrillic а and е look like Latin a and
    /// e), not the UTS 39 tables the plan uses.
    fn looks(a: &str) -> String {
        a.chars()
            .map(|c| match c {
                '\u{430}' => 'a',
                '\u{435}' => 'e',
                c => c,
            })
            .collect()
    }

    fn domain_of(a: &str) -> &str {
        a.rsplit_once('@').map_or("", |(_, d)| d)
    }

    fn invisible(a: &str) -> bool {
        a.chars().any(|c| INVISIBLE.contains(&c))
    }

    fn glob(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| glob(rest, &t[i..])),
            Some((c, rest)) => t.first() == Some(c) && glob(rest, &t[1..]),
        }
    }

    impl Oracle {
        fn keeps(&self, raw: &str) -> bool {
            if invisible(raw) {
                // Never matched: held back, so neither kept nor deleted.
                return false;
            }
            let a = oracle_norm(raw);
            let chars: Vec<char> = a.chars().collect();
            if self
                .protected
                .iter()
                .any(|p| glob(&p.chars().collect::<Vec<_>>(), &chars))
            {
                return true;
            }
            if let Some((_, expired)) = self.entries.iter().find(|(e, _)| *e == a) {
                return !expired;
            }
            let domain = a
                .rsplit_once('@')
                .map(|(_, d)| d.to_string())
                .unwrap_or_default();
            self.domains.contains(&domain)
        }
    }

    fn desired_text() -> impl Strategy<Value = (String, Oracle)> {
        (
            prop::collection::vec((address(), prop::option::of(any::<bool>())), 1..8),
            prop::collection::vec(0..DOMAINS.len(), 0..2),
            prop::collection::vec((address(), any::<bool>()), 0..3),
        )
            .prop_map(|(entries, domains, protected)| {
                let entries: Vec<Entry> = entries
                    .into_iter()
                    .map(|(address, expires)| Entry { address, expires })
                    .collect();
                let mut text = String::from("users:\n");
                let mut oracle = Oracle::default();
                let mut seen = std::collections::HashSet::new();
                for e in &entries {
                    // Same address twice with other settings is a config error: keep the first.
                    if !seen.insert(oracle_norm(&e.address)) {
                        continue;
                    }
                    oracle
                        .entries
                        .push((oracle_norm(&e.address), e.expires == Some(true)));
                    match e.expires {
                        None => text.push_str(&format!("  - {}\n", q(&e.address))),
                        Some(past) => text.push_str(&format!(
                            "  - email: {}\n    expires: {}\n",
                            q(&e.address),
                            if past { "2000-01-01" } else { "2999-01-01" }
                        )),
                    }
                }
                if !domains.is_empty() {
                    text.push_str("domains:\n");
                    for d in domains {
                        text.push_str(&format!("  - {}\n", q(DOMAINS[d])));
                        oracle.domains.push(oracle_norm(DOMAINS[d]));
                    }
                }
                if !protected.is_empty() {
                    text.push_str("protected:\n");
                    for (a, pattern) in protected {
                        let written = match (pattern, a.trim().split_once('@')) {
                            (true, Some((_, domain))) => format!("*@{domain}"),
                            _ => a,
                        };
                        text.push_str(&format!("  - {}\n", q(&written)));
                        oracle.protected.push(oracle_norm(&written));
                    }
                }
                (text, oracle)
            })
    }

    fn live_users() -> impl Strategy<Value = Vec<LiveUser>> {
        prop::collection::vec(
            (
                prop::option::weighted(0.9, address()),
                0u8..10,
                0u32..40,
                prop::option::of(0i64..30),
            ),
            0..30,
        )
        .prop_map(|users| {
            users
                .into_iter()
                .map(|(email, id_kind, n, days)| LiveUser {
                    id: match id_kind {
                        0 => None,
                        1 => Some(format!("not-a-uuid-{n}")),
                        _ => Some(format!("00000000-0000-4000-8000-{n:012}")),
                    },
                    email,
                    last_successful_login: days
                        .map(|d| format!("{}T00:00:00Z", Date::from_days_since_epoch(20_785 - d))),
                    ..LiveUser::default()
                })
                .collect()
        })
    }

    fn overrides() -> impl Strategy<Value = Overrides> {
        (
            any::<bool>(),
            any::<bool>(),
            prop::option::of(0usize..30),
            prop::option::of(address()),
        )
            .prop_map(
                |(include_active, allow_duplicate_email, allow_deletes, near)| Overrides {
                    include_active,
                    allow_duplicate_email,
                    allow_deletes,
                    allow_near_miss: near
                        .and_then(|a| Email::parse(&a).ok())
                        .into_iter()
                        .collect(),
                    ..Overrides::default()
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn deletion_set_is_exactly_the_unmatched_users_minus_the_held(
            (text, oracle) in desired_text(),
            live in live_users(),
            overrides in overrides(),
            active in any::<bool>(),
        ) {
            let text = if active { format!("{text}policy: {{hold_active_within: 7d}}\n") } else { text };
            // A desired state that names an address with an invisible character is an error
            // (at its line, naming the code point), never a rule that protects nobody.
            if invisible(&text) {
                let e = config::parse_str(&text, "p.yaml").unwrap_err().to_string();
                prop_assert!(e.contains("U+200B") || e.contains("U+00AD"), "{}", e);
                return Ok(());
            }
            let desired = config::parse_str(&text, "p.yaml").unwrap();
            let policy = Policy { overrides, ..Policy::at(&crate::model::AccountId::example(), 20_785 * 86_400) };
            let plan = compute(&desired, &live, &policy);
            let matcher = Matcher::new(&desired, policy.today);

            // Every live user is in exactly one list.
            prop_assert_eq!(plan.delete.len() + plan.keep.len() + plan.held.len(), live.len());
            // Nobody matched by an entry, a domain or a protected entry is ever deleted, and
            // every deleted user has an address and an id that may go into a URL.
            for d in &plan.delete {
                let address = d.email.as_ref().unwrap();
                prop_assert!(!matcher.decide(address).keeps(), "{} is allowed", address);
                prop_assert!(!matcher.all(address).iter().any(|r| r.kind() == "protected"));
                prop_assert!(d.user.id.as_deref().and_then(UserId::parse).is_some());
                prop_assert!(!invisible(d.user.email.as_deref().unwrap_or("")));
            }
            // Kept users are exactly those a rule keeps.
            for k in &plan.keep {
                prop_assert!(matcher.decide(k.email.as_ref().unwrap()).keeps());
            }
            // The unmatched users are the deleted plus the held ones.
            let unmatched = live.iter().filter(|u| {
                match u.email.as_deref().map(Email::parse) {
                    Some(Ok(a)) => !matcher.decide(&a).keeps(),
                    _ => true,
                }
            }).count();
            prop_assert_eq!(unmatched, plan.delete.len() + plan.held.len());
            prop_assert!(plan.held.iter().all(|h| !h.reason.keeps()));

            // Against the independent model: exactly the users it keeps are kept, and nobody it
            // keeps is deleted.
            let key = |u: &LiveUser| format!("{u:?}");
            let mut expected: Vec<String> = live
                .iter()
                .filter(|u| u.email.as_deref().is_some_and(|e| !e.trim().is_empty() && oracle.keeps(e)))
                .map(key)
                .collect();
            let mut kept: Vec<String> = plan.keep.iter().map(|d| key(&d.user)).collect();
            expected.sort();
            kept.sort();
            prop_assert_eq!(kept, expected);
            for d in &plan.delete {
                prop_assert!(!oracle.keeps(d.user.email.as_deref().unwrap_or("")));
                // The typo rail: a deleted user is never one edit away from an entry that
                // matches no live user (unless released by --allow-near-miss).
                let address = d.email.as_deref().unwrap_or("");
                if !policy.overrides.allow_near_miss.iter().any(|a| a == &address) {
                    for entry in &plan.absent {
                        prop_assert!(crate::distance::levenshtein(&entry.email, address) > 1, "{} is one edit from {}", address, entry.email);
                    }
                    for p in plan.unmatched_protected.iter().filter(|p| !p.is_pattern()) {
                        prop_assert!(crate::distance::levenshtein(&p.pattern, address) > 1, "{} is one edit from protected {}", address, p.pattern);
                        prop_assert!(looks(&p.pattern) != looks(address), "{} looks like protected {}", address, p.pattern);
                    }
                    for entry in &plan.absent {
                        prop_assert!(looks(&entry.email) != looks(address), "{} looks like {}", address, entry.email);
                    }
                    // Nor is its domain one edit from, or a look-alike of, an unmatched domain.
                    for dom in &plan.unmatched_domains {
                        let (dom, theirs) = (dom.domain.as_str(), domain_of(address));
                        prop_assert!(crate::distance::levenshtein(dom, theirs) > 1 && looks(dom) != looks(theirs), "{} is near the domain entry {}", address, dom);
                    }
                }
            }
            // The unmatched domains are the domain entries at which no live user has an address.
            let live_domains: std::collections::HashSet<String> = live
                .iter()
                .filter_map(|u| u.email.as_deref())
                .filter(|e| !e.trim().is_empty() && !invisible(e))
                .map(|e| domain_of(&oracle_norm(e)).to_string())
                .collect();
            let mut expected: Vec<&str> = oracle.domains.iter().map(String::as_str).filter(|d| !live_domains.contains(*d)).collect();
            expected.sort_unstable();
            expected.dedup();
            let mut unmatched: Vec<&str> = plan.unmatched_domains.iter().map(|d| d.domain.as_str()).collect();
            unmatched.sort_unstable();
            prop_assert_eq!(unmatched, expected);
            // The whole-plan rails count only the users who could be deleted at all.
            // (An id that two live users share names neither.)
            let id_count = |id: &str| live.iter().filter(|v| v.id.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(id))).count();
            let deletable = live.iter().filter(|u| {
                u.id.as_deref().is_some_and(|id| UserId::parse(id).is_some() && id_count(id) == 1)
                    && u.email.as_deref().is_some_and(|e| !e.trim().is_empty() && !invisible(e))
            }).count();
            prop_assert_eq!(plan.deletable, deletable);

            // Deterministic: same input, same plan; input order does not matter.
            prop_assert_eq!(&compute(&desired, &live, &policy), &plan);
            let mut reversed = live.clone();
            reversed.reverse();
            prop_assert_eq!(&compute(&desired, &reversed, &policy), &plan);
        }
    }
}
