//! Users who came back: a live user whose address reconcile deleted before, now listed under
//! another id. Deleting a user frees the seat and ends the sessions, but an Access policy that
//! still admits the address lets the person log in again and become a new user; the next plan
//! would delete them again, and again. Marking them says why, so that the door gets locked
//! (docs/lock-the-door.md) instead.
//!
//! The marks are information only: [`mark`] reads a finished [`Plan`] and returns them; it cannot
//! move anyone between delete, keep and held. Pure: the past deletions are read from the audit
//! logs elsewhere (`history`).

use foldhash::{HashMap, HashMapExt};

use super::{Decision, Plan};
use crate::date;
use crate::model::{Email, UserId};

/// A deletion an earlier run recorded: outcome `deleted` or `deleted_answer_lost`, in the plan's
/// account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastDeletion {
    pub email: Email,
    pub user_id: UserId,
    /// When the outcome was known, RFC 3339 as recorded.
    pub time: String,
    /// The same, in seconds since the Unix epoch.
    pub at: i64,
    /// The run that deleted the user, as the log names it.
    pub run: String,
    /// The deletion's answer was lost, and the retry found the user gone.
    pub answer_lost: bool,
}

/// Every past deletion read for one account, from every log given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct History {
    pub deletions: Vec<PastDeletion>,
    /// How many log files were read.
    pub files: usize,
    /// How many records they held (all outcomes, all accounts).
    pub records: usize,
}

/// A live user no rule keeps, whose address was deleted before under another id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    /// The live user's id as the API wrote it (empty when there is none).
    pub user_id: String,
    pub email: Email,
    /// The latest deletion of the address.
    pub deletion: PastDeletion,
    /// The live user's last login, when it is later than that deletion: the person logged in
    /// again. As the API wrote it.
    pub logged_in_again: Option<String>,
}

/// A live user whose own id a past run recorded as deleted: the deletion did not hold, or the
/// record is wrong. Not a return (the same user, not a new one); shown for a person to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StillListed {
    pub user_id: String,
    /// The live user's address as it is shown.
    pub label: String,
    pub deletion: PastDeletion,
}

/// What the history says about a plan's users.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reentry {
    /// Sorted by address, then id (the plan's order).
    pub returned: Vec<Returned>,
    /// Sorted by id.
    pub still_listed: Vec<StillListed>,
    /// Past deletions read for this account.
    pub deletions_read: usize,
    pub files_read: usize,
}

impl Reentry {
    /// The mark of one of the plan's users, if they returned.
    pub fn of(&self, d: &Decision) -> Option<&Returned> {
        let email = d.email.as_ref()?;
        self.returned
            .binary_search_by(|r| (&r.email, r.user_id.as_str()).cmp(&(email, d.id_text())))
            .ok()
            .map(|i| &self.returned[i])
    }
}

/// The marks for `plan` from `history`. Only deletions in the plan's account count (the history
/// holds no other). Of several deletions of one address the latest is the one shown.
pub fn mark(plan: &Plan, history: &History) -> Reentry {
    let mut latest: HashMap<&Email, &PastDeletion> = HashMap::new();
    let mut by_id: HashMap<&UserId, &PastDeletion> = HashMap::new();
    for past in &history.deletions {
        let kept = latest.entry(&past.email).or_insert(past);
        if later(past, kept) {
            *kept = past;
        }
        let kept = by_id.entry(&past.user_id).or_insert(past);
        if later(past, kept) {
            *kept = past;
        }
    }
    let mut returned = Vec::new();
    let mut still_listed = Vec::new();
    for d in plan.delete.iter().chain(&plan.held).chain(&plan.keep) {
        if let Some(past) = d.id.as_ref().and_then(|id| by_id.get(id)) {
            still_listed.push(StillListed {
                user_id: d.id_text().to_string(),
                label: d.label(),
                deletion: (*past).clone(),
            });
            continue;
        }
        // A kept user deleted before was let back in by the allowlist itself: not a leak.
        if d.reason.keeps() {
            continue;
        }
        let Some(email) = d.email.as_ref() else {
            continue;
        };
        if let Some(past) = latest.get(email) {
            let logged_in_again = d
                .user
                .last_successful_login
                .as_deref()
                .filter(|t| date::parse_timestamp(t).is_some_and(|t| t > past.at))
                .map(str::to_string);
            returned.push(Returned {
                user_id: d.id_text().to_string(),
                email: email.clone(),
                deletion: (*past).clone(),
                logged_in_again,
            });
        }
    }
    returned.sort_by(|a, b| (&a.email, &a.user_id).cmp(&(&b.email, &b.user_id)));
    still_listed.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    Reentry {
        returned,
        still_listed,
        deletions_read: history.deletions.len(),
        files_read: history.files,
    }
}

/// Whether `a` happened after `b`; equal times are told apart by run and id, so that the
/// choice does not depend on the order the logs were read in.
fn later(a: &PastDeletion, b: &PastDeletion) -> bool {
    (a.at, &a.run, a.user_id.as_str()) > (b.at, &b.run, b.user_id.as_str())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config;
    use crate::model::{AccountId, LiveUser};
    use crate::plan::{compute, Policy};

    const OLD: &str = "2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60";
    const NEW: &str = "8f9a0b1c-2d3e-4f50-a617-28394a5b6c7d";

    fn past(email: &str, id: &str, time: &str) -> PastDeletion {
        PastDeletion {
            email: Email::parse(email).unwrap(),
            user_id: UserId::parse(id).unwrap(),
            time: time.into(),
            at: date::parse_timestamp(time).unwrap(),
            run: "r1".into(),
            answer_lost: false,
        }
    }

    fn user(id: &str, email: &str, login: Option<&str>) -> LiveUser {
        LiveUser {
            id: Some(id.into()),
            email: Some(email.into()),
            last_successful_login: login.map(str::to_string),
            ..LiveUser::default()
        }
    }

    fn plan_of(live: &[LiveUser]) -> Plan {
        let desired = config::parse_str(
            "users:\n  - alice@example.com\npolicy:\n  hold_active_within: 1d\n",
            "u.yaml",
        )
        .unwrap();
        // 2026-11-28T09:20:00Z
        compute(
            &desired,
            live,
            &Policy::at(&AccountId::example(), 1_795_857_600),
        )
    }

    fn history(deletions: Vec<PastDeletion>) -> History {
        History {
            records: deletions.len(),
            deletions,
            files: 1,
        }
    }

    #[test]
    fn an_address_back_under_a_new_id_is_returned_with_its_login() {
        let plan = plan_of(&[user(NEW, "Bob@Example.com", Some("2026-11-20T08:00:00Z"))]);
        let h = history(vec![
            past("bob@example.com", OLD, "2026-11-03T10:00:00.000Z"),
            past(
                "bob@example.com",
                "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5",
                "2026-10-01T10:00:00.000Z",
            ),
        ]);
        let r = mark(&plan, &h);
        assert_eq!(r.returned.len(), 1, "{r:?}");
        let ret = &r.returned[0];
        assert_eq!(ret.deletion.user_id.as_str(), OLD, "the latest deletion");
        assert_eq!(ret.logged_in_again.as_deref(), Some("2026-11-20T08:00:00Z"));
        assert_eq!(r.of(&plan.delete[0]), Some(ret));
        assert!(r.still_listed.is_empty());
    }

    #[test]
    fn a_login_before_the_deletion_is_not_a_login_again() {
        let plan = plan_of(&[user(NEW, "bob@example.com", Some("2026-11-01T08:00:00Z"))]);
        let r = mark(
            &plan,
            &history(vec![past("bob@example.com", OLD, "2026-11-03T10:00:00Z")]),
        );
        assert_eq!(r.returned[0].logged_in_again, None);
        let plan = plan_of(&[user(NEW, "bob@example.com", None)]);
        let r = mark(
            &plan,
            &history(vec![past("bob@example.com", OLD, "2026-11-03T10:00:00Z")]),
        );
        assert_eq!(r.returned[0].logged_in_again, None);
    }

    #[test]
    fn held_users_are_marked_and_kept_ones_are_not() {
        // Active within a day: held, and still a return.
        let plan = plan_of(&[
            user(NEW, "bob@example.com", Some("2026-11-28T09:00:00Z")),
            user(OLD, "alice@example.com", None),
        ]);
        assert_eq!(plan.held.len(), 1);
        let h = history(vec![
            past(
                "bob@example.com",
                "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5",
                "2026-11-03T10:00:00Z",
            ),
            past(
                "alice@example.com",
                "6a7b8c9d-0e1f-4a2b-8c3d-4e5f60718293",
                "2026-11-03T10:00:00Z",
            ),
        ]);
        let r = mark(&plan, &h);
        assert_eq!(r.returned.len(), 1);
        assert!(r.of(&plan.held[0]).is_some());
        assert!(r.of(&plan.keep[0]).is_none());
    }

    #[test]
    fn the_same_id_still_listed_is_not_a_return() {
        let plan = plan_of(&[user(&OLD.to_uppercase(), "bob@example.com", None)]);
        let r = mark(
            &plan,
            &history(vec![past("bob@example.com", OLD, "2026-11-03T10:00:00Z")]),
        );
        assert!(r.returned.is_empty());
        assert_eq!(r.still_listed.len(), 1);
        assert_eq!(r.still_listed[0].deletion.user_id.as_str(), OLD);
    }

    #[test]
    fn no_history_marks_nobody() {
        let plan = plan_of(&[user(NEW, "bob@example.com", None)]);
        let r = mark(&plan, &History::default());
        assert_eq!(r, Reentry::default());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        const EMAILS: &[&str] = &[
            "alice@example.com",
            "Bob@Example.com",
            "carol@example.com",
            "dave@corp.example",
        ];
        const IDS: &[&str] = &[
            "2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60",
            "8F9A0B1C-2D3E-4F50-A617-28394A5B6C7D",
            "8f9a0b1c-2d3e-4f50-a617-28394a5b6c7d",
            "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5",
            "6a7b8c9d-0e1f-4a2b-8c3d-4e5f60718293",
            "not-a-uuid",
        ];
        const TIMES: &[&str] = &[
            "2026-11-01T00:00:00Z",
            "2026-11-03T10:00:00.500Z",
            "2026-11-20T08:00:00Z",
        ];

        fn live() -> impl Strategy<Value = Vec<LiveUser>> {
            prop::collection::vec(
                (
                    0..EMAILS.len(),
                    0..IDS.len(),
                    prop::option::of(0..TIMES.len()),
                ),
                0..8,
            )
            .prop_map(|users| {
                users
                    .into_iter()
                    .map(|(e, i, t)| user(IDS[i], EMAILS[e], t.map(|t| TIMES[t])))
                    .collect()
            })
        }

        fn deletions() -> impl Strategy<Value = Vec<PastDeletion>> {
            prop::collection::vec((0..EMAILS.len(), 0..IDS.len() - 1, 0..TIMES.len()), 0..6)
                .prop_map(|d| {
                    d.into_iter()
                        .map(|(e, i, t)| past(EMAILS[e], IDS[i], TIMES[t]))
                        .collect()
                })
        }

        proptest! {
            /// The marks never move anyone: the plan is the same with or without them, and
            /// they name exactly the users no rule keeps whose address was deleted before under
            /// another id.
            #[test]
            fn marking_never_changes_a_decision(
                live in live(),
                deletions in deletions(),
                allowed in prop::collection::vec(0..EMAILS.len(), 1..3),
            ) {
                let yaml = format!(
                    "users: [{}]\n",
                    allowed.iter().map(|i| EMAILS[*i]).collect::<Vec<_>>().join(", ")
                );
                let desired = config::parse_str(&yaml, "u.yaml").unwrap();
                let unmarked = compute(&desired, &live, &Policy::at(&AccountId::example(), 1_795_857_600));
                let mut plan = unmarked.clone();
                let reentry = mark(&plan, &history(deletions.clone()));
                plan.reentry = Some(reentry.clone());
                prop_assert_eq!(&plan.delete, &unmarked.delete);
                prop_assert_eq!(&plan.keep, &unmarked.keep);
                prop_assert_eq!(&plan.held, &unmarked.held);
                prop_assert_eq!(&plan.refusal, &unmarked.refusal);
                let deleted_id = |d: &Decision| {
                    d.id.as_ref().is_some_and(|id| deletions.iter().any(|p| &p.user_id == id))
                };
                for d in &plan.keep {
                    prop_assert!(reentry.of(d).is_none());
                }
                for d in plan.delete.iter().chain(&plan.held) {
                    let expected = !deleted_id(d)
                        && d.email.as_ref().is_some_and(|e| deletions.iter().any(|p| &p.email == e));
                    prop_assert_eq!(reentry.of(d).is_some(), expected, "{:?}", d);
                    if let Some(r) = reentry.of(d) {
                        let latest = deletions
                            .iter()
                            .filter(|p| Some(&p.email) == d.email.as_ref())
                            .map(|p| p.at)
                            .max();
                        prop_assert_eq!(Some(r.deletion.at), latest);
                    }
                }
                let still = plan.users().filter(|u| {
                    u.id.as_deref().and_then(UserId::parse).is_some_and(|id| deletions.iter().any(|p| p.user_id == id))
                }).count();
                prop_assert_eq!(reentry.still_listed.len(), still);
            }
        }
    }
}
