//! The pure diff between the desired state and the live users: who is kept, who is deleted and
//! why, who is held back. No I/O, nothing async, nothing about HTTP: the same inputs give the same
//! plan, in the same order.

use std::collections::{HashMap, HashSet};

use crate::cloudflare::{is_valid_user_id, User};
use crate::config::{AllowEntry, Desired, Location};
use crate::email;

/// Why a user is where the plan puts them.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Kept: the address is on the allowlist at this place.
    Allowed(Location),
    /// Deleted: no entry of the allowlist matches the address.
    NotAllowed,
    /// Held: the user has no email address, so no rule can speak for or against them.
    NoEmail,
    /// Held: the user's `id` is missing or not the UUID the spec describes, so it is never put
    /// into a DELETE URL.
    InvalidId,
}

impl Reason {
    /// A stable machine-readable name for the reason (JSON output, audit records).
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::Allowed(_) => "allowed",
            Reason::NotAllowed => "not_allowed",
            Reason::NoEmail => "no_email",
            Reason::InvalidId => "invalid_id",
        }
    }

    /// The place in the desired state that decided, when one did.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Reason::Allowed(at) => Some(at),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Reason::Allowed(at) => format!("allowed by {at}"),
            Reason::NotAllowed => "no allowlist entry matches this address".into(),
            Reason::NoEmail => {
                "the user has no email address; left alone (remove it by hand if it should go)".into()
            }
            Reason::InvalidId => {
                "the user's id is missing or is not a UUID, so it is never sent in a DELETE; left alone (check it in the dashboard)".into()
            }
        }
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
            (Some(e), _) => e.trim().to_string(),
            (None, Some(id)) => format!("(no email, id {id})"),
            (None, None) => "(no email, no id)".to_string(),
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
    /// Users who stay because the allowlist names them.
    pub keep: Vec<Decision>,
    /// Users not on the allowlist who are left alone all the same, each with the reason.
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

/// Compute the plan for `account_id` from the desired state and every live user.
pub fn compute(desired: &Desired, live: &[User], account_id: &str) -> Plan {
    let allowed: HashMap<&str, &AllowEntry> = desired
        .entries
        .iter()
        .map(|e| (e.email.as_str(), e))
        .collect();
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
        match normalized.as_deref() {
            None => held.push(decision(Reason::NoEmail)),
            Some(address) => {
                if let Some(entry) = allowed.get(address) {
                    present.insert(address.to_string());
                    keep.push(decision(Reason::Allowed(entry.location.clone())));
                } else if !user.id.as_deref().is_some_and(is_valid_user_id) {
                    held.push(decision(Reason::InvalidId));
                } else {
                    delete.push(decision(Reason::NotAllowed));
                }
            }
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
        account_id: account_id.to_string(),
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
        let plan = compute(&d, &live, ACCOUNT);
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
        let plan = compute(&d, &live, ACCOUNT);
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
        let plan = compute(&d, &live, ACCOUNT);
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
        let plan = compute(&d, &[alice], ACCOUNT);
        assert_eq!(plan.keep.len(), 1);
    }

    #[test]
    fn deterministic_regardless_of_input_order() {
        let d = desired(&["a@example.com"]);
        let mut live: Vec<User> = (0..50)
            .map(|n| user(n, Some(&format!("u{}@example.com", n % 7))))
            .collect();
        let first = compute(&d, &live, ACCOUNT);
        live.reverse();
        let second = compute(&d, &live, ACCOUNT);
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
            ACCOUNT,
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
            ACCOUNT,
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
}
