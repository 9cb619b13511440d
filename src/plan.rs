//! The pure diff between the desired state and the live users: who is kept, who is deleted and
//! why, who is held back. No I/O, nothing async, nothing about HTTP: the same inputs give the same
//! plan, in the same order.

use std::collections::{HashMap, HashSet};

use crate::cloudflare::{is_valid_user_id, User};
use crate::config::{AllowEntry, Desired, DomainEntry, Location, ProtectedEntry};
use crate::date::Date;
use crate::email;

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
    /// Held: the user's `id` is missing or not the UUID the spec describes, so it is never put
    /// into a DELETE URL.
    InvalidId,
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
            Reason::InvalidId => "invalid_id",
        }
    }

    /// The place in the desired state that decided, when one did.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Reason::Allowed { location, .. }
            | Reason::Domain { location, .. }
            | Reason::Protected { location, .. }
            | Reason::Expired { location, .. } => Some(location),
            Reason::NotAllowed | Reason::NoEmail | Reason::InvalidId => None,
        }
    }

    /// Whether this reason keeps the user.
    pub fn keeps(&self) -> bool {
        matches!(
            self,
            Reason::Allowed { .. } | Reason::Domain { .. } | Reason::Protected { .. }
        )
    }

    pub fn describe(&self) -> String {
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
            Reason::NoEmail => {
                "the user has no email address; left alone (remove it by hand if it should go)".into()
            }
            Reason::InvalidId => {
                "the user's id is missing or is not a UUID, so it is never sent in a DELETE; left alone (check it in the dashboard)".into()
            }
        }
    }
}

/// The rules of a desired state, indexed for matching one normalised address at a time.
///
/// Precedence: a protected entry keeps the user whatever else applies; then an exact `users:`
/// entry decides (kept, or deleted once it has expired); then a domain keeps the user; otherwise
/// nothing matches and the user is an extra.
pub struct Matcher<'a> {
    exact: HashMap<&'a str, &'a AllowEntry>,
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
                .map(|e| (e.email.as_str(), e))
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

    fn entry(&self, address: &str) -> Option<Reason> {
        self.exact.get(address).map(|e| match e.expires {
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

    /// What people read: the address as the API wrote it, or a stand-in.
    pub fn label(&self) -> String {
        match (&self.user.email, &self.user.id) {
            (Some(e), _) if !e.trim().is_empty() => e.trim().to_string(),
            (_, Some(id)) => format!("(no email, id {id})"),
            (_, None) => "(no email, no id)".to_string(),
        }
    }
}

/// What the plan is computed against, besides the desired state and the live users.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub account_id: String,
    /// The date (UTC) against which `expires:` is checked.
    pub today: Date,
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
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.delete.is_empty()
    }

    /// Live users who remain after the plan is applied.
    pub fn unchanged(&self) -> usize {
        self.live_count - self.delete.len()
    }
}

fn sort_key(d: &Decision) -> (Option<String>, Option<String>) {
    (d.email.clone(), d.user.id.clone())
}

/// Compute the plan from the desired state and every live user.
pub fn compute(desired: &Desired, live: &[User], policy: &Policy) -> Plan {
    let matcher = Matcher::new(desired, policy.today);
    let mut present: HashSet<String> = HashSet::new();
    let (mut delete, mut keep, mut held) = (Vec::new(), Vec::new(), Vec::new());
    for user in live {
        let normalized = user
            .email
            .as_deref()
            .map(email::normalize)
            .filter(|e| !e.is_empty());
        let decision = |reason| Decision {
            user: user.clone(),
            email: normalized.clone(),
            reason,
        };
        let Some(address) = normalized.as_deref() else {
            held.push(decision(Reason::NoEmail));
            continue;
        };
        present.insert(address.to_string());
        let reason = matcher.decide(address);
        if reason.keeps() {
            keep.push(decision(reason));
        } else if !user.id.as_deref().is_some_and(is_valid_user_id) {
            held.push(decision(Reason::InvalidId));
        } else {
            delete.push(decision(reason));
        }
    }
    for list in [&mut delete, &mut keep, &mut held] {
        list.sort_by_cached_key(sort_key);
    }
    let mut absent: Vec<AllowEntry> = desired
        .entries
        .iter()
        .filter(|e| !present.contains(&e.email))
        .cloned()
        .collect();
    absent.sort_by(|a, b| a.email.cmp(&b.email));
    Plan {
        account_id: policy.account_id.clone(),
        live_count: live.len(),
        delete,
        keep,
        held,
        absent,
    }
}

/// A fingerprint of a live user list: the (id, normalised email) pairs, sorted, hashed. Two
/// listings of an unchanged account give the same fingerprint whatever the page order.
pub fn fingerprint(live: &[User]) -> String {
    let mut pairs: Vec<(String, String)> = live
        .iter()
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

    fn policy() -> Policy {
        Policy {
            account_id: ACCOUNT.to_string(),
            today: Date::parse("2026-11-28").unwrap(),
        }
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
            .all(|w| sort_key(&w[0]) <= sort_key(&w[1])));
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
        let earlier = Policy {
            today: Date::parse("2026-11-27").unwrap(),
            ..policy()
        };
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
}
