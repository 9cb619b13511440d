//! The pure diff between the desired state and the live users: who is kept, who is deleted and
//! why, who is held back. No I/O, nothing async, nothing about HTTP: the same inputs give the same
//! plan, in the same order. [`recheck`] holds the one re-check that turns a reviewed plan into
//! the only thing apply accepts, [`recheck::ConfirmedDeletions`].

pub mod door;
mod matcher;
mod near;
mod rails;
mod reason;
pub mod recheck;
pub mod returned;

pub(crate) use matcher::Matcher;
use near::{hold_near_misses, NearTarget};
pub use rails::{Limits, Refusal, DEFAULT_MAX_DELETE_FRACTION, FRACTION_MIN_USERS};
pub use reason::{EntryList, Likeness, Reason};

use foldhash::{HashMap, HashMapExt};
use std::borrow::Cow;

use crate::config::{AllowEntry, Desired, DomainEntry, ProtectedEntry};
use crate::date::{self, Date};
use crate::model::LiveUser;
use crate::model::{AccountId, Email, UserId};
use crate::text::printable_cow;

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
    pub(crate) fn id_text(&self) -> &str {
        self.user.id.as_deref().unwrap_or("")
    }

    /// What people read: the address as the API wrote it, or a stand-in; safe to print on a
    /// terminal (see [`crate::text::printable`]).
    pub(crate) fn label(&self) -> String {
        self.label_cow().into_owned()
    }

    /// [`Decision::label`], borrowing the address when it needs no escaping.
    pub(crate) fn label_cow(&self) -> Cow<'_, str> {
        match (&self.user.email, &self.user.id) {
            (Some(e), _) if !e.trim().is_empty() => printable_cow(e.trim()),
            (_, Some(id)) => Cow::Owned(format!("(no email, id {})", printable_cow(id))),
            (_, None) => Cow::Borrowed("(no email, no id)"),
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
    /// What past deletions say about these users, when a history was read (`--history`): who
    /// came back. Never a decision: set after the plan is computed, by [`returned::mark`].
    pub reentry: Option<returned::Reentry>,
    /// The door's plan (docs/door.md): how the Zero Trust lists and the Access group that admit
    /// the allowlist change, computed by [`door::compute`] from the live door; `None` when the
    /// desired state has no `door:` section (and then the plan is exactly what it was before
    /// the door existed). A door that [`door::DoorPlan::is_refused`] refuses the whole plan
    /// for apply: see [`Plan::door_refused`].
    pub door: Option<door::DoorPlan>,
}

impl Plan {
    /// Every live user the plan was computed from (deleted, kept and held).
    /// [`fingerprint`] of the users the plan was computed from, from the addresses the plan
    /// already parsed (each [`Decision`] holds its user's address through the one check) rather
    /// than parsing every address again: the same value, a tenth of the work at 100,000 users.
    pub(crate) fn live_fingerprint(&self) -> String {
        let decisions = self.delete.iter().chain(&self.keep).chain(&self.held);
        fingerprint_pairs(decisions.map(|d| {
            (
                d.user.id.as_deref().unwrap_or(""),
                Cow::Borrowed(match &d.email {
                    Some(email) => email.as_str(),
                    None => d.user.email.as_deref().unwrap_or(""),
                }),
            )
        }))
    }

    pub fn users(&self) -> impl Iterator<Item = &LiveUser> {
        self.delete
            .iter()
            .chain(&self.keep)
            .chain(&self.held)
            .map(|d| &d.user)
    }

    /// Access and Gateway seats that the deletions free.
    pub(crate) fn seats_freed(&self) -> (usize, usize) {
        let count = |f: fn(&LiveUser) -> Option<bool>| {
            self.delete
                .iter()
                .filter(|d| f(&d.user) == Some(true))
                .count()
        };
        (count(|u| u.access_seat), count(|u| u.gateway_seat))
    }

    /// Whether the plan deletes anyone: the users' changes only, the door left out. Apply's
    /// flow hangs on it (with no deletion it says "nothing to delete" and asks nothing), so a
    /// door change does not count here; see [`Plan::has_door_changes`], which `plan
    /// --detailed-exitcode` and apply must consult as well once the door is kept.
    pub(crate) fn has_changes(&self) -> bool {
        !self.delete.is_empty()
    }

    /// Whether the door changes: a list or the group to create, an address to add or remove, an
    /// include rule to add or remove. False without a `door:` section.
    pub fn has_door_changes(&self) -> bool {
        self.door.as_ref().is_some_and(door::DoorPlan::has_changes)
    }

    /// Whether the door's plan is refused ([`door::DoorError`]s found before anything is sent):
    /// then nothing of the plan may be applied, neither the door nor any deletion, as with
    /// [`Plan::refusal`]. False without a `door:` section.
    pub fn door_refused(&self) -> bool {
        self.door.as_ref().is_some_and(door::DoorPlan::is_refused)
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

/// Sort `list` into [`plan_order`]. A decision is some 300 bytes, and a sort in place moves each
/// one ~log2(n) times: for 75,000 users listed in no particular order that is most of the
/// planning. So small pairs are sorted instead, each the first 16 bytes of the address as a
/// number and the decision's index, with [`plan_order`] only where two numbers tie; then each
/// decision is moved once, along the cycles of the permutation. Decisions that [`plan_order`]
/// finds equal keep their listing order (`plan::props`: the same as a stable sort).
fn sort_in_plan_order(list: &mut [Decision]) {
    // A listing already in this order (the sandbox's, or a second sort) is left as it is,
    // without the pairs. (Only a shortcut: mutants of it are equivalent.)
    if list.is_sorted_by(|a, b| plan_order(a, b).is_le()) {
        return;
    }
    // In the order of the text: no address holds a NUL byte, so zeros after a short one sort
    // it first; and no address starts with one, so 0 (no address) sorts before them all, as
    // `None` does. (How many bytes are compared as a number changes only how often
    // `plan_order` is asked: mutants of the 16 that keep it between 1 and 16 are equivalent.)
    let prefix = |d: &Decision| {
        d.email.as_ref().map_or(0, |e| {
            let mut bytes = [0u8; 16];
            let n = e.len().min(16);
            bytes[..n].copy_from_slice(&e.as_bytes()[..n]);
            u128::from_be_bytes(bytes)
        })
    };
    // An index a `u32`: a listing of 2^32 users would not fit in memory (300 bytes each).
    let mut order: Vec<(u128, u32)> = list
        .iter()
        .enumerate()
        .map(|(i, d)| (prefix(d), i as u32))
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| plan_order(&list[a.1 as usize], &list[b.1 as usize]))
            .then(a.1.cmp(&b.1))
    });
    // Position k takes the decision now at `from[k]`: follow each cycle, one swap a step.
    let mut from: Vec<usize> = order.into_iter().map(|(_, i)| i as usize).collect();
    for start in 0..from.len() {
        let mut k = start;
        while from[k] != start {
            let next = from[k];
            list.swap(k, next);
            from[k] = k;
            k = next;
        }
        from[k] = k;
    }
}

/// Compute the plan from the desired state and every live user: the rules decide who is kept;
/// the safety rails then hold back single users (held) or refuse the plan as a whole (refusal).
pub fn compute(desired: &Desired, live: &[LiveUser], policy: &Policy) -> Plan {
    compute_owned(desired, live.to_vec(), policy)
}

/// [`compute`], taking the users by value: they move into the plan instead of being copied
/// (what a listing of 100,000s of users wants).
pub fn compute_owned(desired: &Desired, live: Vec<LiveUser>, policy: &Policy) -> Plan {
    let parts = crate::parallel::threads_for(live.len(), PARALLEL_FROM);
    compute_in(desired, live, policy, parts)
}

/// Below this many live users the rules run on one thread: a thread costs more than it saves.
const PARALLEL_FROM: usize = 8_192;

/// What the rules say of a run of live users, in their order.
struct Classified {
    keep: Vec<Decision>,
    /// Users no rule keeps, checked against the single-user rails by [`compute_in`].
    unmatched: Vec<Decision>,
    held: Vec<Decision>,
    /// Which `users:` entries and which protected entries some user of the run matched.
    entry_seen: Vec<bool>,
    protected_seen: Vec<bool>,
}

/// Each live user through the rules, one at a time: nothing here depends on another user, so
/// the listing can be classified in parts and the parts joined in order.
fn classify(matcher: &Matcher<'_>, desired: &Desired, live: Vec<LiveUser>) -> Classified {
    // Room for every user in either list: pages a list does not fill are never touched (so
    // they cost no memory), and neither list is copied as it grows.
    let mut out = Classified {
        keep: Vec::with_capacity(live.len()),
        unmatched: Vec::with_capacity(live.len()),
        held: Vec::new(),
        entry_seen: vec![false; desired.entries.len()],
        protected_seen: vec![false; desired.protected.len()],
    };
    for user in live {
        let id = user.id.as_deref().and_then(UserId::parse);
        let raw = user.email.as_deref().map(str::trim).unwrap_or("");
        if raw.is_empty() {
            out.held.push(Decision {
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
                out.held.push(Decision {
                    user,
                    id,
                    email: None,
                    reason: Reason::UnusableAddress { why },
                });
                continue;
            }
        };
        let judged = matcher.judge(&address, Some(&mut out.protected_seen));
        if let Some(i) = judged.entry {
            out.entry_seen[i] = true;
        }
        let reason = judged.reason;
        let decision = Decision {
            user,
            id,
            email: Some(address),
            reason,
        };
        if decision.reason.keeps() {
            out.keep.push(decision);
        } else {
            out.unmatched.push(decision);
        }
    }
    out
}

/// [`classify`] over `parts` consecutive runs of the listing on as many threads, joined in the
/// listing's order: the same plan as one run (the property test
/// `deletion_set_is_exactly_the_unmatched_users_minus_the_held` plans in 1, 2, 3 and 7 parts).
fn classify_in_parts(
    matcher: &Matcher<'_>,
    desired: &Desired,
    mut live: Vec<LiveUser>,
    parts: usize,
) -> Classified {
    // A shortcut only (mutants of it are equivalent): one part, or fewer than two users, makes
    // one run below too, and any split gives the same plan.
    if parts <= 1 || live.len() < 2 {
        return classify(matcher, desired, live);
    }
    let size = live.len().div_ceil(parts);
    let mut runs = Vec::with_capacity(parts);
    // How the listing is cut decides only how the work is shared (mutants of the cut are
    // equivalent): every user is in one run, the runs are joined in order, and the plan sorts.
    while live.len() > size {
        runs.push(live.split_off(live.len() - size));
    }
    // The first run keeps the listing's buffer: give back what the others were moved out of.
    live.shrink_to_fit();
    runs.push(live);
    runs.reverse();
    let mut done = crate::parallel::each(runs, |run| classify(matcher, desired, run)).into_iter();
    let mut all = done
        .next()
        .unwrap_or_else(|| classify(matcher, desired, Vec::new()));
    let rest: Vec<Classified> = done.collect();
    let more = |list: fn(&Classified) -> usize| rest.iter().map(list).sum::<usize>();
    all.keep.reserve_exact(more(|c| c.keep.len()));
    all.unmatched.reserve_exact(more(|c| c.unmatched.len()));
    all.held.reserve_exact(more(|c| c.held.len()));
    for part in rest {
        all.keep.extend(part.keep);
        all.unmatched.extend(part.unmatched);
        all.held.extend(part.held);
        for (seen, now) in all.entry_seen.iter_mut().zip(part.entry_seen) {
            *seen |= now;
        }
        for (seen, now) in all.protected_seen.iter_mut().zip(part.protected_seen) {
            *seen |= now;
        }
    }
    all
}

/// [`compute_owned`] with the rules run over the listing in `parts` parts.
fn compute_in(desired: &Desired, live: Vec<LiveUser>, policy: &Policy, parts: usize) -> Plan {
    let live_count = live.len();
    let matcher = Matcher::new(desired, policy.today);
    let Classified {
        mut keep,
        mut unmatched,
        mut held,
        entry_seen,
        protected_seen,
    } = classify_in_parts(&matcher, desired, live, parts);
    let mut delete = Vec::with_capacity(unmatched.len());
    // Addresses shared by several live users: kept ones share a rule, so only the others matter.
    sort_in_plan_order(&mut unmatched);
    let mut counts: HashMap<Email, usize> = HashMap::new();
    for run in unmatched.chunk_by(|a, b| a.email == b.email) {
        if let (true, Some(address)) = (run.len() > 1, &run[0].email) {
            counts.insert(address.clone(), run.len());
        }
    }
    // Ids that several live users share (in any letter case): counted by reference over every
    // decision, and only the rare shared ones kept, so the common case allocates nothing per user.
    let shared_ids: HashMap<UserId, usize> = {
        let mut ids: HashMap<&UserId, usize> = HashMap::with_capacity(live_count);
        for id in keep
            .iter()
            .chain(&unmatched)
            .chain(&held)
            .filter_map(|d| d.id.as_ref())
        {
            *ids.entry(id).or_default() += 1;
        }
        ids.into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(id, n)| (id.clone(), n))
            .collect()
    };
    let shared = |d: &Decision| d.id.as_ref().and_then(|id| shared_ids.get(id)).copied();
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
    // The kept users, the longest list, sort on a thread of their own beside the others. (Where
    // they sort decides only which core does the work: mutants of `parts > 1` are equivalent.)
    std::thread::scope(|s| {
        let keep = &mut keep;
        if parts > 1 {
            s.spawn(move || sort_in_plan_order(keep));
        } else {
            sort_in_plan_order(keep);
        }
        sort_in_plan_order(&mut delete);
        sort_in_plan_order(&mut held);
    });
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
        reentry: None,
        door: None,
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
                // Only an early way out: a mutant that never reaches 0 (`+=`, `/=`) reads every
                // address and returns the same domains (equivalent).
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

/// A fingerprint of a live user list: the (id, normalised email) pairs, sorted, hashed. Two
/// listings of an unchanged account give the same fingerprint whatever the page order.
pub(crate) fn fingerprint<'a>(live: impl IntoIterator<Item = &'a LiveUser>) -> String {
    fingerprint_pairs(live.into_iter().map(|u| {
        let email = u.email.as_deref().unwrap_or("");
        (
            u.id.as_deref().unwrap_or(""),
            Email::parse(email).map_or(Cow::Borrowed(email), |e| Cow::Owned(e.to_string())),
        )
    }))
}

/// The same fingerprint, from pairs of (id as the API wrote it, address in its normal form, or
/// as written when it is not an address).
fn fingerprint_pairs<'a>(pairs: impl Iterator<Item = (&'a str, Cow<'a, str>)>) -> String {
    let mut pairs: Vec<(&str, Cow<'a, str>)> = pairs.collect();
    pairs.sort_unstable();
    // Room for the text below, sized once (a capacity only: mutants of this sum change how
    // often the buffer grows, never what it holds).
    let size = pairs
        .iter()
        .map(|(id, a)| id.len() + a.len() + 2)
        .sum::<usize>();
    let mut canonical = String::with_capacity("reconcile-live-v1\n".len() + size);
    canonical.push_str("reconcile-live-v1\n");
    for (id, address) in pairs {
        canonical.push_str(id);
        canonical.push('\t');
        canonical.push_str(&address);
        canonical.push('\n');
    }
    crate::digest::sha256(canonical.as_bytes())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
