//! The pure diff between the desired state and the live users: who is kept, who is deleted and
//! why, who is held back. No I/O, nothing async, nothing about HTTP: the same inputs give the same
//! plan, in the same order.

use std::collections::{HashMap, HashSet};

use crate::cloudflare::{is_valid_user_id, User};
use crate::config::{AllowEntry, Desired, DomainEntry, Location, ProtectedEntry, Span};
use crate::date::{self, Date};
use crate::distance;
use crate::email;
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
    /// dot, a space), so no entry could ever keep this user; deleting them would be a guess.
    UnusableAddress { why: &'static str },
    /// Held: the user's `id` is missing or not the UUID the spec describes, so it is never put
    /// into a DELETE URL.
    InvalidId,
    /// Held: an allowlist entry that matches no live user is one edit away from this address
    /// (`jsmith@` listed, `j.smith@` live): probably a typo in the file.
    NearMiss {
        entry: String,
        location: Location,
        address: String,
    },
    /// Held: the user logged in within `policy.hold_active_within`.
    Active { last_login: String, within: Span },
    /// Held: several live users share this address, so which one is meant is unclear.
    DuplicateEmail { count: usize },
}

fn with_note(text: String, note: &Option<String>) -> String {
    match note {
        Some(n) => format!("{text} (note: {n:?})"),
        None => text,
    }
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
            | Reason::DuplicateEmail { .. } => None,
        }
    }

    /// Whether this reason keeps the user.
    pub fn keeps(&self) -> bool {
        matches!(
            self,
            Reason::Allowed { .. } | Reason::Domain { .. } | Reason::Protected { .. }
        )
    }

    /// The reason as a sentence, safe to print on a terminal (API text inside is escaped).
    pub fn describe(&self) -> String {
        printable(&self.describe_raw())
    }

    fn describe_raw(&self) -> String {
        match self {
            Reason::Allowed {
                location,
                note,
                expires,
            } => {
                let until = expires.map(|d| format!(" until {d}")).unwrap_or_default();
                with_note(format!("allowed by {location}{until}"), note)
            }
            Reason::Domain { domain, location } => {
                format!("allowed by domain {domain} ({location})")
            }
            Reason::Protected { pattern, location } => {
                let what = if pattern.contains('*') { "pattern " } else { "" };
                format!("protected by {what}{pattern} ({location})")
            }
            Reason::NotAllowed => "no allowlist entry or domain matches this address".into(),
            Reason::Expired {
                date,
                location,
                note,
            } => with_note(
                format!("the allowlist entry at {location} expired on {date}"),
                note,
            ),
            Reason::UnusableAddress { why } => format!(
                "the address is not one a desired-state file can name ({why}), so no entry could keep this user; left alone (fix the address in the identity provider, or remove the user by hand)"
            ),
            Reason::NoEmail => {
                "the user has no email address; left alone (remove it by hand if it should go)".into()
            }
            Reason::InvalidId => {
                "the user's id is missing or is not a UUID, so it is never sent in a DELETE; left alone (check it in the dashboard)".into()
            }
            Reason::NearMiss {
                entry,
                location,
                address,
            } => format!(
                "did you mean this user? The allowlist entry {entry} at {location} matches no live user and is one edit away from this address; release with --allow-near-miss {address}"
            ),
            Reason::Active { last_login, within } => format!(
                "last login {last_login}, within policy.hold_active_within ({within}); release with --include-active"
            ),
            Reason::DuplicateEmail { count } => format!(
                "{count} live users share this address, so which one is meant is unclear; release with --allow-duplicate-email"
            ),
        }
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
    protected_exact: HashMap<&'a str, &'a ProtectedEntry>,
    protected_patterns: Vec<&'a ProtectedEntry>,
    today: Date,
}

impl<'a> Matcher<'a> {
    pub fn new(desired: &'a Desired, today: Date) -> Matcher<'a> {
        let (patterns, exact): (Vec<&ProtectedEntry>, Vec<&ProtectedEntry>) =
            desired.protected.iter().partition(|p| p.is_pattern());
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
            protected_exact: exact.into_iter().map(|p| (p.pattern.as_str(), p)).collect(),
            protected_patterns: patterns,
            today,
        }
    }

    fn protected(&self, address: &str) -> Option<&'a ProtectedEntry> {
        self.protected_exact.get(address).copied().or_else(|| {
            self.protected_patterns
                .iter()
                .copied()
                .find(|p| p.matches(address))
        })
    }

    /// The index in `Desired::entries` of the entry naming this address, if any.
    pub fn entry_index(&self, address: &str) -> Option<usize> {
        self.exact.get(address).map(|(i, _)| *i)
    }

    fn entry(&self, address: &str) -> Option<Reason> {
        self.exact.get(address).map(|(_, e)| match e.expires {
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

    fn domain(&self, address: &str) -> Option<Reason> {
        if self.domains.is_empty() {
            return None;
        }
        let (_, domain) = address.rsplit_once('@')?;
        self.domains.get(domain).map(|d| Reason::Domain {
            domain: d.domain.clone(),
            location: d.location.clone(),
        })
    }

    /// The rule that decides for a normalised address.
    pub fn decide(&self, address: &str) -> Reason {
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

    /// Every rule that matches a normalised address, the deciding one first (for `explain`).
    pub fn all(&self, address: &str) -> Vec<Reason> {
        let mut all = Vec::new();
        all.extend(
            self.protected_exact
                .get(address)
                .map(|p| Reason::Protected {
                    pattern: p.pattern.clone(),
                    location: p.location.clone(),
                }),
        );
        all.extend(
            self.protected_patterns
                .iter()
                .filter(|p| p.matches(address))
                .map(|p| Reason::Protected {
                    pattern: p.pattern.clone(),
                    location: p.location.clone(),
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
    pub user: User,
    /// The user's address, normalised; `None` when the API gave none.
    pub email: Option<String>,
    pub reason: Reason,
}

impl Decision {
    /// The id to delete; set for every decision in [`Plan::delete`].
    pub fn id(&self) -> &str {
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
    /// `--allow-near-miss EMAIL` (normalised): release these near misses.
    pub allow_near_miss: Vec<String>,
    /// `--include-active`: release users held by `policy.hold_active_within`.
    pub include_active: bool,
    /// `--allow-duplicate-email`: release users who share their address with another.
    pub allow_duplicate_email: bool,
}

/// What the plan is computed against, besides the desired state and the live users.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub account_id: String,
    /// The date (UTC) against which `expires:` is checked.
    pub today: Date,
    /// Now, in seconds since the Unix epoch, for `policy.hold_active_within`.
    pub now: i64,
    pub overrides: Overrides,
}

impl Policy {
    /// A policy at the given moment with no overrides.
    pub fn at(account_id: &str, now: i64) -> Policy {
        Policy {
            account_id: account_id.to_string(),
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
    /// Every live user would be deleted and `policy.allow_delete_all` is not set.
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

    /// What stopped the plan, and how to go ahead on purpose.
    pub fn message(&self) -> String {
        let mismatch = |allow: &Option<usize>, deletes: usize| {
            match allow {
            Some(n) => format!(
                " --allow-deletes {n} was given, but this plan deletes {deletes}: the override must name the exact number of deletions you reviewed."
            ),
            None => String::new(),
        }
        };
        match self {
            Refusal::DeleteAll { live } => format!(
                "safety rail: the plan deletes every one of the {live} live users; a truncated or wrong desired state does this. To really empty the account, set `policy: {{ allow_delete_all: true }}` in the desired state."
            ),
            Refusal::MaxDeletes {
                deletes,
                limit,
                from,
                allow_deletes,
            } => format!(
                "safety rail: the plan deletes {deletes} users, more than max_deletes {limit} ({from}).{} To go ahead with exactly this plan, pass --allow-deletes {deletes}.",
                mismatch(allow_deletes, *deletes)
            ),
            Refusal::MaxFraction {
                deletes,
                live,
                limit,
                from,
                allow_deletes,
            } => format!(
                "safety rail: the plan deletes {deletes} of {live} live users ({:.1}%), more than max_delete_fraction {limit} ({from}).{} To go ahead with exactly this plan, pass --allow-deletes {deletes}.",
                *deletes as f64 * 100.0 / *live as f64,
                mismatch(allow_deletes, *deletes)
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub account_id: String,
    /// How many live users the plan was computed from.
    pub live_count: usize,
    /// Users to delete: not allowed, with an email and a valid id. Sorted by email, then id.
    pub delete: Vec<Decision>,
    /// Users who stay because a rule keeps them.
    pub keep: Vec<Decision>,
    /// Users not kept by any rule who are left alone all the same, each with the reason.
    pub held: Vec<Decision>,
    /// Allowed addresses with no user in the account (yet): nothing to do, shown for review.
    pub absent: Vec<AllowEntry>,
    /// Set when the safety rails refuse the plan as a whole: then nothing may be deleted.
    pub refusal: Option<Refusal>,
}

impl Plan {
    /// Every live user the plan was computed from (deleted, kept and held).
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.delete
            .iter()
            .chain(&self.keep)
            .chain(&self.held)
            .map(|d| &d.user)
    }

    /// Access and Gateway seats that the deletions free.
    pub fn seats_freed(&self) -> (usize, usize) {
        let count = |f: fn(&User) -> Option<bool>| {
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
    Option<&'a str>,
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
            d.email.as_deref(),
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
pub fn compute(desired: &Desired, live: &[User], policy: &Policy) -> Plan {
    compute_owned(desired, live.to_vec(), policy)
}

/// [`compute`], taking the users by value: they move into the plan instead of being copied
/// (what a listing of 100,000s of users wants).
pub fn compute_owned(desired: &Desired, live: Vec<User>, policy: &Policy) -> Plan {
    let live_count = live.len();
    let matcher = Matcher::new(desired, policy.today);
    let mut entry_seen = vec![false; desired.entries.len()];
    let (mut delete, mut keep, mut held) = (Vec::new(), Vec::new(), Vec::new());
    // Users no rule keeps, checked against the single-user rails below.
    let mut unmatched: Vec<Decision> = Vec::new();
    for user in live {
        let address = user
            .email
            .as_deref()
            .map(email::normalize)
            .filter(|e| !e.is_empty());
        let Some(address) = address else {
            held.push(Decision {
                user,
                email: None,
                reason: Reason::NoEmail,
            });
            continue;
        };
        if let Some(i) = matcher.entry_index(&address) {
            entry_seen[i] = true;
        }
        let reason = matcher.decide(&address);
        let decision = Decision {
            user,
            email: Some(address),
            reason,
        };
        if decision.reason.keeps() {
            keep.push(decision);
        } else if let Err(why) = email::check(decision.email.as_deref().unwrap_or("")) {
            held.push(Decision {
                reason: Reason::UnusableAddress { why },
                ..decision
            });
        } else {
            unmatched.push(decision);
        }
    }
    // Addresses shared by several live users: kept ones share a rule, so only the others matter.
    unmatched.sort_unstable_by(plan_order);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for run in unmatched.chunk_by(|a, b| a.email == b.email) {
        if run.len() > 1 {
            counts.insert(run[0].email.clone().unwrap_or_default(), run.len());
        }
    }
    for decision in unmatched {
        let address = decision.email.as_deref().unwrap_or("");
        let hold = if !decision.user.id.as_deref().is_some_and(is_valid_user_id) {
            Some(Reason::InvalidId)
        } else if let Some(&count) = counts
            .get(address)
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
    hold_near_misses(&mut delete, &mut held, &absent, policy);
    for list in [&mut delete, &mut keep, &mut held] {
        list.sort_unstable_by(plan_order);
    }
    let mut absent = absent;
    absent.sort_by(|a, b| a.email.cmp(&b.email));
    let refusal = refusal(desired, policy, delete.len(), live_count);
    Plan {
        account_id: policy.account_id.clone(),
        live_count,
        delete,
        keep,
        held,
        absent,
        refusal,
    }
}

/// `policy.hold_active_within`: hold a user seen that recently, unless `--include-active`. A
/// last login that cannot be read counts as recent: the rail errs on the side of keeping.
fn active_hold(desired: &Desired, user: &User, policy: &Policy) -> Option<Reason> {
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

/// The "typo" rail: an allowlist entry that matches no live user, one edit (a character added,
/// missing, changed, or two swapped) away from a user about to be deleted, holds that user.
/// Candidates are found through a hash index of every one-character deletion of the absent
/// entries (as in SymSpell), so the cost grows with the number of users, not users × entries.
fn hold_near_misses(
    delete: &mut Vec<Decision>,
    held: &mut Vec<Decision>,
    absent: &[AllowEntry],
    policy: &Policy,
) {
    if absent.is_empty() || delete.is_empty() {
        return;
    }
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, entry) in absent.iter().enumerate() {
        let chars: Vec<char> = entry.email.chars().collect();
        for skip in std::iter::once(None).chain((0..chars.len()).map(Some)) {
            index.entry(hash_without(&chars, skip)).or_default().push(i);
        }
    }
    let lengths: HashSet<usize> = absent.iter().map(|e| e.email.chars().count()).collect();
    let near = |address: &str| -> Option<&AllowEntry> {
        let chars: Vec<char> = address.chars().collect();
        let n = chars.len();
        if !(n.saturating_sub(1)..=n + 1).any(|l| lengths.contains(&l)) {
            return None;
        }
        std::iter::once(None)
            .chain((0..n).map(Some))
            .filter_map(|skip| index.get(&hash_without(&chars, skip)))
            .flatten()
            .map(|&i| &absent[i])
            .find(|entry| {
                entry.email != address && distance::levenshtein(&entry.email, address) <= 2
            })
    };
    let mut kept = Vec::with_capacity(delete.len());
    for d in delete.drain(..) {
        let address = d.email.clone().unwrap_or_default();
        let released = policy.overrides.allow_near_miss.contains(&address);
        match near(&address).filter(|_| !released) {
            Some(entry) => held.push(Decision {
                reason: Reason::NearMiss {
                    entry: entry.written.trim().to_string(),
                    location: entry.location.clone(),
                    address,
                },
                ..d
            }),
            None => kept.push(d),
        }
    }
    *delete = kept;
}

/// The whole-plan rails: delete-all, then the thresholds (released only by `--allow-deletes`
/// naming the exact number of deletions).
fn refusal(desired: &Desired, policy: &Policy, deletes: usize, live: usize) -> Option<Refusal> {
    if deletes == 0 {
        return None;
    }
    let settings = &desired.policy;
    let allow_all = settings.allow_delete_all.as_ref().is_some_and(|(b, _)| *b);
    if deletes == live && !allow_all {
        return Some(Refusal::DeleteAll { live });
    }
    let allow_deletes = policy.overrides.allow_deletes;
    if allow_deletes == Some(deletes) {
        return None;
    }
    let from_file = |at: &Location| format!("policy at {at}");
    let max = match (policy.overrides.max_deletes, &settings.max_deletes) {
        (Some(n), _) => Some((n, "--max-deletes".to_string())),
        (None, Some((n, at))) => Some((*n, from_file(at))),
        (None, None) => None,
    };
    if let Some((limit, from)) = max {
        if deletes as u64 > limit {
            return Some(Refusal::MaxDeletes {
                deletes,
                limit,
                from,
                allow_deletes,
            });
        }
    }
    let (limit, from) = match (
        policy.overrides.max_delete_fraction,
        &settings.max_delete_fraction,
    ) {
        (Some(f), _) => (f, "--max-delete-fraction".to_string()),
        (None, Some((f, at))) => (*f, from_file(at)),
        (None, None) => (DEFAULT_MAX_DELETE_FRACTION, "the default".to_string()),
    };
    if live >= FRACTION_MIN_USERS && deletes as f64 > limit * live as f64 {
        return Some(Refusal::MaxFraction {
            deletes,
            live,
            limit,
            from,
            allow_deletes,
        });
    }
    None
}

/// A fingerprint of a live user list: the (id, normalised email) pairs, sorted, hashed. Two
/// listings of an unchanged account give the same fingerprint whatever the page order.
pub fn fingerprint<'a>(live: impl IntoIterator<Item = &'a User>) -> String {
    let mut pairs: Vec<(String, String)> = live
        .into_iter()
        .map(|u| {
            (
                u.id.clone().unwrap_or_default(),
                u.email.as_deref().map(email::normalize).unwrap_or_default(),
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

/// The confirmed plan checked against a fresh one, just before deleting.
#[derive(Debug, Clone, PartialEq)]
pub struct Recheck {
    /// In the confirmed plan and still an extra now (same id, same email): these may be deleted.
    pub confirmed: Vec<Decision>,
    /// In the confirmed plan but no longer to delete (gone, or now allowed or held).
    pub dropped: Vec<Decision>,
    /// To delete now but not in the confirmed plan: never deleted by this run.
    pub unconfirmed: Vec<Decision>,
}

/// Invariant 1: a user is deleted only if they were in the plan that was shown and confirmed, and
/// are still an extra when the deletion is issued.
pub fn recheck(shown: &Plan, fresh: &Plan) -> Recheck {
    let key = |d: &Decision| (d.user.id.clone(), d.email.clone());
    let now: HashSet<_> = fresh.delete.iter().map(key).collect();
    let before: HashSet<_> = shown.delete.iter().map(key).collect();
    let (confirmed, dropped) = shown
        .delete
        .iter()
        .cloned()
        .partition(|d| now.contains(&key(d)));
    let unconfirmed = fresh
        .delete
        .iter()
        .filter(|d| !before.contains(&key(d)))
        .cloned()
        .collect();
    Recheck {
        confirmed,
        dropped,
        unconfirmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

    /// 2026-11-28T12:00:00Z
    const NOW: i64 = 1_795_867_200;

    fn policy() -> Policy {
        Policy::at(ACCOUNT, NOW)
    }

    fn desired(emails: &[&str]) -> Desired {
        let mut text = String::from("users:\n");
        for e in emails {
            text.push_str(&format!("  - \"{e}\"\n"));
        }
        config::parse_str(&text, "users.yaml").unwrap()
    }

    fn user(n: u32, email: Option<&str>) -> User {
        User {
            id: Some(format!("00000000-0000-4000-8000-{n:012}")),
            email: email.map(str::to_string),
            ..User::default()
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
        assert_eq!(plan.keep[0].reason.describe(), "allowed by users.yaml:2:5");
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
        // A pattern can still keep such a user on purpose.
        let d = config::parse_str(
            "users: [a@example.com]\nprotected: [\"ops@corp*\"]\n",
            "p.yaml",
        )
        .unwrap();
        let plan = compute(&d, &live[..1], &policy());
        assert_eq!(plan.keep.len(), 1);
    }

    #[test]
    fn labels_are_safe_to_print() {
        let mut u = user(1, Some("evil\u{1b}[1A\u{1b}[2K@example.com"));
        let d = Decision {
            user: u.clone(),
            email: None,
            reason: Reason::NotAllowed,
        };
        assert_eq!(d.label(), "evil\\u{1b}[1A\\u{1b}[2K@example.com");
        u.email = Some("jos\u{e9}\u{202e}moc.elpmaxe@x".into());
        let d = Decision {
            user: u,
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
        let mut live: Vec<User> = (0..50)
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

    #[test]
    fn recheck_deletes_only_the_confirmed_users_that_are_still_extras() {
        let d = desired(&["alice@example.com"]);
        let shown = compute(
            &d,
            &[
                user(1, Some("alice@example.com")),
                user(2, Some("bob@example.com")),
                user(3, Some("carol@example.com")),
            ],
            &policy(),
        );
        // Since the plan was shown: carol was removed by someone else, bob's id now carries
        // another address, and dave appeared.
        let fresh = compute(
            &d,
            &[
                user(1, Some("alice@example.com")),
                user(2, Some("robert@example.com")),
                user(4, Some("dave@example.com")),
            ],
            &policy(),
        );
        let r = recheck(&shown, &fresh);
        assert!(r.confirmed.is_empty(), "{:?}", r.confirmed);
        assert_eq!(emails(&r.dropped), ["bob@example.com", "carol@example.com"]);
        assert_eq!(
            emails(&r.unconfirmed),
            ["dave@example.com", "robert@example.com"]
        );

        let same = recheck(&shown, &shown);
        assert_eq!(
            emails(&same.confirmed),
            ["bob@example.com", "carol@example.com"]
        );
        assert!(same.dropped.is_empty() && same.unconfirmed.is_empty());
    }

    fn rules(text: &str) -> Desired {
        config::parse_str(text, "rules.yaml").unwrap()
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
            plan.keep[1].reason.describe(),
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
            ops.reason.describe(),
            "protected by ops@example.com (rules.yaml:8:5)"
        );
        let robot = plan
            .keep
            .iter()
            .find(|k| k.email.as_deref() == Some("robot-1@svc.example.com"))
            .unwrap();
        assert_eq!(
            robot.reason.describe(),
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
            plan.delete[0].reason.describe(),
            "the allowlist entry at rules.yaml:2:5 expired on 2026-11-28 (note: \"contractor\")"
        );
        assert_eq!(
            plan.keep[0].reason.describe(),
            "allowed by rules.yaml:5:5 until 2026-11-29"
        );
        // The day before, bob is still kept.
        let earlier = Policy::at(ACCOUNT, NOW - 86_400);
        assert!(compute(&d, &live, &earlier).delete.is_empty());
    }

    #[test]
    fn matcher_lists_every_rule_deciding_one_first() {
        let d = rules("users: [bob@example.com]\ndomains: [example.com]\nprotected: [\"bob@*\"]\n");
        let m = Matcher::new(&d, Date::parse("2026-11-28").unwrap());
        let kinds: Vec<_> = m.all("bob@example.com").iter().map(|r| r.kind()).collect();
        assert_eq!(kinds, ["protected", "allowed", "domain"]);
        assert_eq!(m.decide("bob@example.com").kind(), "protected");
        assert_eq!(m.all("zed@other.example")[0], Reason::NotAllowed);
    }

    fn many(n: u32) -> Vec<User> {
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
        let text = refusal.message();
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
            .unwrap()
            .message()
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
            .unwrap()
            .message()
            .contains("(--max-delete-fraction)"));
    }

    #[test]
    fn max_deletes_from_the_file_or_a_flag() {
        let live = many(40);
        let d = allow_first(37, "policy:\n  max_deletes: 2\n");
        let plan = compute(&d, &live, &policy());
        let text = plan.refusal.unwrap().message();
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
            .unwrap()
            .message()
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
        let text = plan.held[0].reason.describe();
        assert!(text.starts_with("did you mean this user? The allowlist entry jsmith@corp.com at users.yaml:2:5 matches no live user"), "{text}");
        assert!(
            text.ends_with("release with --allow-near-miss j.smith@corp.com"),
            "{text}"
        );
        let released = compute(
            &d,
            &live,
            &with(Overrides {
                allow_near_miss: vec!["j.smith@corp.com".into()],
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
        let at = |email: &str, login: Option<&str>, n: u32| User {
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
            plan.held[1].reason.describe(),
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
        assert!(!r.describe().contains('\u{1b}'), "{}", r.describe());
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
    fn seats_freed_counts_the_deleted_users_seats() {
        let d = desired(&["alice@example.com"]);
        let seat = |n, a, g| User {
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

/// Property tests over random desired states and random live user lists (issue 5's proof).
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
    ];
    const DOMAINS: &[&str] = &["example.com", "corp.example", "svc.example.com"];

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

    fn oracle_norm(a: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        a.trim().to_lowercase().nfc().collect()
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
                        text.push_str(&format!("  - {}\n", DOMAINS[d]));
                        oracle.domains.push(DOMAINS[d].to_string());
                    }
                }
                if !protected.is_empty() {
                    text.push_str("protected:\n");
                    for (a, pattern) in protected {
                        let a = oracle_norm(&a);
                        let written = match (pattern, a.split_once('@')) {
                            (true, Some((_, domain))) => format!("*@{domain}"),
                            _ => a,
                        };
                        text.push_str(&format!("  - {}\n", q(&written)));
                        oracle.protected.push(written);
                    }
                }
                (text, oracle)
            })
    }

    fn live_users() -> impl Strategy<Value = Vec<User>> {
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
                .map(|(email, id_kind, n, days)| User {
                    id: match id_kind {
                        0 => None,
                        1 => Some(format!("not-a-uuid-{n}")),
                        _ => Some(format!("00000000-0000-4000-8000-{n:012}")),
                    },
                    email,
                    last_successful_login: days
                        .map(|d| format!("{}T00:00:00Z", Date::from_days_since_epoch(20_785 - d))),
                    ..User::default()
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
                    allow_near_miss: near.map(|a| vec![email::normalize(&a)]).unwrap_or_default(),
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
            let desired = config::parse_str(&text, "p.yaml").unwrap();
            let policy = Policy { overrides, ..Policy::at("acc", 20_785 * 86_400) };
            let plan = compute(&desired, &live, &policy);
            let matcher = Matcher::new(&desired, policy.today);

            // Every live user is in exactly one list.
            prop_assert_eq!(plan.delete.len() + plan.keep.len() + plan.held.len(), live.len());
            // Nobody matched by an entry, a domain or a protected entry is ever deleted, and
            // every deleted user has an address and an id that may go into a URL.
            for d in &plan.delete {
                let address = d.email.as_deref().unwrap();
                prop_assert!(!matcher.decide(address).keeps(), "{} is allowed", address);
                prop_assert!(!matcher.all(address).iter().any(|r| r.kind() == "protected"));
                prop_assert!(d.user.id.as_deref().is_some_and(is_valid_user_id));
            }
            // Kept users are exactly those a rule keeps.
            for k in &plan.keep {
                prop_assert!(matcher.decide(k.email.as_deref().unwrap()).keeps());
            }
            // The unmatched users are the deleted plus the held ones.
            let unmatched = live.iter().filter(|u| {
                let a = u.email.as_deref().map(email::normalize).unwrap_or_default();
                a.is_empty() || !matcher.decide(&a).keeps()
            }).count();
            prop_assert_eq!(unmatched, plan.delete.len() + plan.held.len());
            prop_assert!(plan.held.iter().all(|h| !h.reason.keeps()));

            // Against the independent model: exactly the users it keeps are kept, and nobody it
            // keeps is deleted.
            let key = |u: &User| format!("{u:?}");
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
                if !policy.overrides.allow_near_miss.iter().any(|a| a == address) {
                    for entry in &plan.absent {
                        prop_assert!(crate::distance::levenshtein(&entry.email, address) > 1, "{} is one edit from {}", address, entry.email);
                    }
                }
            }

            // Deterministic: same input, same plan; input order does not matter.
            prop_assert_eq!(&compute(&desired, &live, &policy), &plan);
            let mut reversed = live.clone();
            reversed.reverse();
            prop_assert_eq!(&compute(&desired, &reversed, &policy), &plan);
        }
    }
}
