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

use std::borrow::Cow;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::model::LiveUser;
use crate::model::{Email, UserId};

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
#[derive(Debug, Clone, PartialEq)]
pub enum Skip {
    /// No live user has this id any more.
    Gone,
    /// The id is still there but carries another address now.
    EmailChanged { now: String },
    /// The fresh plan no longer deletes this user (allowed, protected or held back now), for
    /// this reason.
    NotAnExtra { now: Reason },
    /// The reviewed id is not a UUID: never put into a DELETE URL.
    InvalidId,
    /// Several live users share the id (in some letter case): a DELETE could reach another.
    SharedId,
}

/// A reviewed user who is not deleted, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    /// The live user now, or the user as reviewed when no live user matches.
    pub decision: Decision,
    pub skip: Skip,
}

/// One user that may be deleted: reviewed, and still an extra on the fresh listing. It borrows
/// the live user from the fresh plan `'f` (no copy of 50,000 users between the re-check and the
/// first DELETE).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Confirmed<'f> {
    id: &'f UserId,
    decision: &'f Decision,
}

impl<'f> Confirmed<'f> {
    /// The id the DELETE is sent for: the id as the API lists it now.
    pub fn id(&self) -> &'f UserId {
        self.id
    }

    /// The user as the fresh plan saw them.
    pub fn decision(&self) -> &'f Decision {
        self.decision
    }
}

/// The deletions that passed the re-check, in plan order, borrowed from the fresh plan `'f`.
/// Only [`recheck`] builds one.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmedDeletions<'f> {
    users: Vec<Confirmed<'f>>,
}

impl<'f> ConfirmedDeletions<'f> {
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<Confirmed<'f>> {
        self.users.get(i).copied()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = Confirmed<'f>> + '_ {
        self.users.iter().copied()
    }
}

/// The reviewed plan checked against the fresh one, `'f`.
#[derive(Debug, Clone, PartialEq)]
pub struct Recheck<'f> {
    /// Reviewed and still extras now (same id, same address): these may be deleted.
    pub confirmed: ConfirmedDeletions<'f>,
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

impl<'f> Recheck<'f> {
    /// The deletions for the executor, and the rest for the report.
    pub fn split(self) -> (ConfirmedDeletions<'f>, Unapplied) {
        (
            self.confirmed,
            Unapplied {
                dropped: self.dropped,
                unconfirmed: self.unconfirmed,
            },
        )
    }
}

/// The live user a reviewed id names on the fresh plan.
enum Live<'f> {
    /// No live user has the id.
    Gone,
    /// One live user: the id as listed, the user, and whether the fresh plan deletes them.
    One(&'f UserId, &'f Decision, bool),
    /// Several live users share the id.
    Shared,
}

/// Invariant 1: a user is deleted only if they were in the plan that was reviewed, and are
/// still an extra on `fresh` when the deletion is issued. Refused as a whole when the
/// whole-plan rails refuse what would now be deleted (then nothing is deleted).
pub fn recheck<'a, 'f>(
    reviewed: impl IntoIterator<Item = Reviewed<'a>>,
    fresh: &'f Plan,
) -> Result<Recheck<'f>, Refusal> {
    // Each reviewed id and address through its one check.
    let reviewed = reviewed
        .into_iter()
        .map(|r| Checked {
            id: UserId::parse(r.id).map(Cow::Owned),
            email: Email::parse(r.email).ok().map(Cow::Owned),
            written: r,
        })
        .collect();
    recheck_checked(reviewed, fresh)
}

/// [`recheck`] for the deletions of the plan shown at the prompt, `shown`: their ids and
/// addresses went through the same checks when that plan was made (`Decision::id` and
/// `Decision::email` are `UserId::parse` and `Email::parse` of the text [`Reviewed::shown`]
/// gives), so they are used as they are instead of being checked a second time. The same
/// answer as `recheck(shown.iter().map(Reviewed::shown), fresh)`.
pub fn recheck_shown<'f>(shown: &[Decision], fresh: &'f Plan) -> Result<Recheck<'f>, Refusal> {
    let reviewed = shown
        .iter()
        .map(|d| Checked {
            written: Reviewed::shown(d),
            id: d.id.as_ref().map(Cow::Borrowed),
            email: d.email.as_ref().map(Cow::Borrowed),
        })
        .collect();
    recheck_checked(reviewed, fresh)
}

/// One reviewed deletion: as written, and its id and address through their one check.
struct Checked<'a> {
    written: Reviewed<'a>,
    id: Option<Cow<'a, UserId>>,
    email: Option<Cow<'a, Email>>,
}

fn recheck_checked<'f>(
    reviewed: Vec<Checked<'_>>,
    fresh: &'f Plan,
) -> Result<Recheck<'f>, Refusal> {
    // One pass over the fresh plan's live users finds each reviewed id's user (an index of the
    // reviewed ids, not of every live user: a tenth of the work when a quarter of 100,000 users
    // is reviewed).
    let mut live: HashMap<&UserId, Live<'f>> = HashMap::with_capacity(reviewed.len());
    for id in reviewed.iter().filter_map(|r| r.id.as_deref()) {
        live.insert(id, Live::Gone);
    }
    for (d, deletes) in fresh
        .keep
        .iter()
        .chain(&fresh.held)
        .map(|d| (d, false))
        .chain(fresh.delete.iter().map(|d| (d, true)))
    {
        let Some(id) = &d.id else { continue };
        if let Some(seen) = live.get_mut(id) {
            // An id that several live users share (in any letter case) names no one: never
            // deleted.
            *seen = match seen {
                Live::Gone => Live::One(id, d, deletes),
                _ => Live::Shared,
            };
        }
    }
    let mut confirmed = Vec::with_capacity(reviewed.len());
    let mut dropped = Vec::new();
    let mut planned: HashSet<(&UserId, Option<&Email>)> = HashSet::with_capacity(reviewed.len());
    for Checked {
        written: r,
        id,
        email,
    } in &reviewed
    {
        let (id, email) = (id.as_deref(), email.as_deref());
        let as_reviewed = || {
            Decision::of(
                LiveUser {
                    id: Some(r.id.to_string()),
                    email: Some(r.email.to_string()),
                    ..LiveUser::default()
                },
                // Not shown: the reviewed reason is what was reviewed.
                Reason::NotAllowed,
            )
        };
        let Some(id) = id else {
            dropped.push(Dropped {
                decision: as_reviewed(),
                skip: Skip::InvalidId,
            });
            continue;
        };
        // A reviewed list that names one user twice deletes them once.
        if !planned.insert((id, email)) {
            continue;
        }
        let (live_id, now, deletes) = match live.get(id) {
            Some(Live::One(live_id, now, deletes)) => (*live_id, *now, *deletes),
            Some(Live::Shared) => {
                dropped.push(Dropped {
                    decision: as_reviewed(),
                    skip: Skip::SharedId,
                });
                continue;
            }
            Some(Live::Gone) | None => {
                dropped.push(Dropped {
                    decision: as_reviewed(),
                    skip: Skip::Gone,
                });
                continue;
            }
        };
        if email.is_none() || now.email.as_ref() != email {
            dropped.push(Dropped {
                decision: now.clone(),
                skip: Skip::EmailChanged {
                    now: now.user.email.clone().unwrap_or_else(|| "no email".into()),
                },
            });
            continue;
        }
        if deletes {
            // The id as the API lists it now, whatever case the review wrote it in.
            confirmed.push(Confirmed {
                id: live_id,
                decision: now,
            });
        } else {
            dropped.push(Dropped {
                decision: now.clone(),
                skip: Skip::NotAnExtra {
                    now: now.reason.clone(),
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
            Some(id) => !planned.contains(&(id, d.email.as_ref())),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::model::AccountId;
    use crate::plan::{compute, Overrides, Policy};

    fn user(n: u32, email: &str) -> LiveUser {
        LiveUser {
            id: Some(format!("00000000-0000-4000-8000-{n:012}")),
            email: Some(email.to_string()),
            ..LiveUser::default()
        }
    }

    fn plan(allowed: &[&str], policy: &str, live: &[LiveUser]) -> Plan {
        let mut text = String::from("users:\n");
        for e in allowed {
            text.push_str(&format!("  - {e}\n"));
        }
        text.push_str(policy);
        let desired = config::parse_str(&text, "users.yaml").unwrap();
        compute(
            &desired,
            live,
            &Policy::at(&AccountId::example(), 1_795_867_200),
        )
    }

    fn shown(p: &Plan) -> Vec<Reviewed<'_>> {
        p.delete.iter().map(Reviewed::shown).collect()
    }

    fn confirmed<'f>(r: &Recheck<'f>) -> Vec<&'f str> {
        r.confirmed
            .iter()
            .map(|c| c.decision().email.as_deref().unwrap_or("-"))
            .collect()
    }

    fn labels(list: &[Decision]) -> Vec<String> {
        list.iter().map(Decision::label).collect()
    }

    #[test]
    fn only_reviewed_users_still_extras_are_confirmed() {
        let allowed = ["alice@example.com"];
        let before = plan(
            &allowed,
            "",
            &[
                user(1, "alice@example.com"),
                user(2, "bob@example.com"),
                user(3, "carol@example.com"),
                user(5, "erin@example.com"),
            ],
        );
        // Since the plan was shown: carol was removed by someone else, bob's id now carries
        // another address, and dave appeared.
        let fresh = plan(
            &allowed,
            "",
            &[
                user(1, "alice@example.com"),
                user(2, "robert@example.com"),
                user(4, "dave@example.com"),
                user(5, "erin@example.com"),
            ],
        );
        let r = recheck(shown(&before), &fresh).unwrap();
        assert_eq!(confirmed(&r), ["erin@example.com"]);
        assert!(!r.confirmed.is_empty() && r.confirmed.len() == 1);
        let skips: Vec<(String, Skip)> = r
            .dropped
            .iter()
            .map(|d| (d.decision.label(), d.skip.clone()))
            .collect();
        assert_eq!(
            skips,
            [
                (
                    "robert@example.com".to_string(),
                    Skip::EmailChanged {
                        now: "robert@example.com".into()
                    }
                ),
                ("carol@example.com".to_string(), Skip::Gone),
            ]
        );
        assert_eq!(
            labels(&r.unconfirmed),
            ["dave@example.com", "robert@example.com"]
        );

        let same = recheck(shown(&before), &before).unwrap();
        assert_eq!(
            confirmed(&same),
            ["bob@example.com", "carol@example.com", "erin@example.com"]
        );
        assert!(same.dropped.is_empty() && same.unconfirmed.is_empty());
    }

    #[test]
    fn a_reviewed_user_who_is_kept_now_is_not_deleted() {
        let live = [user(1, "alice@example.com"), user(2, "bob@example.com")];
        let before = plan(&["alice@example.com", "x@example.com"], "", &live);
        let fresh = plan(&["alice@example.com", "bob@example.com"], "", &live);
        let r = recheck(shown(&before), &fresh).unwrap();
        assert!(r.confirmed.is_empty());
        assert!(
            matches!(&r.dropped[0].skip, Skip::NotAnExtra { now } if now.kind() == "allowed"),
            "{:?}",
            r.dropped
        );
    }

    #[test]
    fn the_delete_all_rail_runs_again_on_the_fresh_listing() {
        let allowed = ["alice@example.com"];
        let before = plan(
            &allowed,
            "",
            &[
                user(1, "alice@example.com"),
                user(2, "bob@example.com"),
                user(3, "carol@example.com"),
            ],
        );
        assert!(before.refusal.is_none());
        // Alice, the one kept user, was deleted meanwhile: the reviewed deletions now empty
        // the account.
        let fresh = plan(
            &allowed,
            "",
            &[user(2, "bob@example.com"), user(3, "carol@example.com")],
        );
        assert_eq!(
            recheck(shown(&before), &fresh),
            Err(Refusal::DeleteAll { live: 2 })
        );
        // Allowed on purpose, it goes ahead.
        let fresh = plan(
            &allowed,
            "policy: {allow_delete_all: true}\n",
            &[user(2, "bob@example.com"), user(3, "carol@example.com")],
        );
        assert_eq!(recheck(shown(&before), &fresh).unwrap().confirmed.len(), 2);
    }

    #[test]
    fn the_mass_deletion_rails_run_again_on_the_fresh_listing() {
        // 12 users, 3 extras: a quarter, within the default fraction.
        let mut live: Vec<LiveUser> = (1..=9)
            .map(|n| user(n, &format!("keep{n}@example.com")))
            .collect();
        live.extend((10..=12).map(|n| user(n, &format!("x{n}@example.com"))));
        let allowed: Vec<String> = (1..=9).map(|n| format!("keep{n}@example.com")).collect();
        let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
        let before = plan(&allowed, "", &live);
        assert!(before.refusal.is_none());
        // Two kept users left meanwhile: 3 of 10 is more than a quarter now.
        let fresh = plan(&allowed, "", &live[2..]);
        assert!(matches!(
            recheck(shown(&before), &fresh),
            Err(Refusal::MaxFraction {
                deletes: 3,
                live: 10,
                ..
            })
        ));
        // max_deletes likewise.
        let before = plan(&allowed, "policy: {max_deletes: 3}\n", &live);
        let fresh = plan(&allowed, "policy: {max_deletes: 2}\n", &live);
        assert!(matches!(
            recheck(shown(&before), &fresh),
            Err(Refusal::MaxDeletes { deletes: 3, .. })
        ));
        // --allow-deletes names the number reviewed; the re-check counts what is left.
        let released = |p: &str, users: &[LiveUser]| {
            let mut text = String::from("users:\n");
            for e in &allowed {
                text.push_str(&format!("  - {e}\n"));
            }
            text.push_str(p);
            let desired = config::parse_str(&text, "users.yaml").unwrap();
            compute(
                &desired,
                users,
                &Policy {
                    overrides: Overrides {
                        allow_deletes: Some(3),
                        ..Overrides::default()
                    },
                    ..Policy::at(&AccountId::example(), 1_795_867_200)
                },
            )
        };
        let fresh = released("policy: {max_deletes: 2}\n", &live);
        assert_eq!(recheck(shown(&before), &fresh).unwrap().confirmed.len(), 3);
    }

    #[test]
    fn the_shown_plans_own_checks_give_the_same_recheck_as_checking_again() {
        let live = [
            user(1, "alice@example.com"),
            user(2, "bob@example.com"),
            user(3, "carol@example.com"),
            user(4, "dave@example.com"),
            user(5, "erin@example.com"),
        ];
        // Carol is allowed now, Dave's address changed, Erin is gone.
        let mut now = live[..4].to_vec();
        now[3].email = Some("dave@elsewhere.example".into());
        let fresh = plan(&["alice@example.com", "carol@example.com"], "", &now);
        let mut bob_upper = user(2, "  BOB@Example.com ");
        bob_upper.id = bob_upper.id.map(|id| id.to_uppercase());
        let shown: Vec<Decision> = [
            user(2, "bob@example.com"),
            bob_upper,
            user(3, "carol@example.com"),
            user(4, "dave@example.com"),
            user(5, "erin@example.com"),
            LiveUser {
                id: Some("../../evil".into()),
                ..user(6, "mallory@example.com")
            },
            LiveUser {
                email: None,
                ..user(7, "")
            },
            LiveUser {
                email: Some("not an address".into()),
                ..user(2, "")
            },
        ]
        .into_iter()
        .map(|u| Decision::of(u, Reason::NotAllowed))
        .collect();
        let checked_again = recheck(shown.iter().map(Reviewed::shown), &fresh).unwrap();
        let reused = recheck_shown(&shown, &fresh).unwrap();
        assert_eq!(reused, checked_again);
        // And a case where every check decides something: Bob once (in either spelling), the
        // others each for a reason (the user with no address is not listed at all).
        assert_eq!(confirmed(&reused), ["bob@example.com"]);
        let skips: Vec<&str> = reused
            .dropped
            .iter()
            .map(|d| match d.skip {
                Skip::Gone => "gone",
                Skip::EmailChanged { .. } => "changed",
                Skip::NotAnExtra { .. } => "kept",
                Skip::InvalidId => "invalid id",
                Skip::SharedId => "shared",
            })
            .collect();
        assert_eq!(
            skips,
            ["kept", "changed", "gone", "invalid id", "gone", "changed"]
        );
    }

    #[test]
    fn ids_are_checked_and_compared_without_case_and_each_user_is_deleted_once() {
        let live = [user(1, "alice@example.com"), user(2, "bob@example.com")];
        let fresh = plan(&["alice@example.com"], "", &live);
        let id = "00000000-0000-4000-8000-000000000002";
        let upper = id.to_uppercase();
        let reviewed = [
            Reviewed {
                id: "../../evil",
                email: "bob@example.com",
            },
            Reviewed {
                id: &upper,
                email: "BOB@example.com",
            },
            Reviewed {
                id,
                email: "bob@example.com",
            },
        ];
        let r = recheck(reviewed, &fresh).unwrap();
        assert_eq!(confirmed(&r), ["bob@example.com"]);
        assert_eq!(r.confirmed.get(0).unwrap().id().as_str(), id);
        assert_eq!(r.dropped.len(), 1);
        assert_eq!(r.dropped[0].skip, Skip::InvalidId);
        assert!(r.unconfirmed.is_empty());
        // Reviewed in upper case only: the DELETE still names the id as the API lists it.
        let r = recheck([reviewed[1]], &fresh).unwrap();
        assert_eq!(r.confirmed.get(0).unwrap().id().as_str(), id);
    }

    #[test]
    fn an_id_that_several_live_users_share_is_never_confirmed() {
        // Two live users whose ids differ only in letter case: one protected, one an extra.
        let mut twin = user(2, "contractor@corp.com");
        twin.id = Some("00000000-0000-4000-8000-00000000000A".into());
        let mut breakglass = user(1, "breakglass@corp.com");
        breakglass.id = Some("00000000-0000-4000-8000-00000000000a".into());
        let live = [
            breakglass,
            twin,
            user(3, "alice@corp.com"),
            user(4, "x@corp.com"),
        ];
        let desired = config::parse_str(
            "users: [alice@corp.com]\nprotected: [breakglass@corp.com]\n",
            "users.yaml",
        )
        .unwrap();
        let fresh = compute(
            &desired,
            &live,
            &Policy::at(&AccountId::example(), 1_795_867_200),
        );
        let reviewed = [
            Reviewed {
                id: "00000000-0000-4000-8000-00000000000A",
                email: "contractor@corp.com",
            },
            Reviewed {
                id: "00000000-0000-4000-8000-000000000004",
                email: "x@corp.com",
            },
        ];
        let r = recheck(reviewed, &fresh).unwrap();
        assert_eq!(confirmed(&r), ["x@corp.com"]);
        assert_eq!(r.dropped[0].skip, Skip::SharedId);
    }

    #[test]
    fn a_reviewed_address_that_is_not_an_address_is_never_deleted() {
        let live = [user(1, "alice@example.com"), user(2, "bob@example.com")];
        let fresh = plan(&["alice@example.com"], "", &live);
        let reviewed = [Reviewed {
            id: "00000000-0000-4000-8000-000000000002",
            email: "bo\u{200b}b@example.com",
        }];
        let r = recheck(reviewed, &fresh).unwrap();
        assert!(r.confirmed.is_empty());
        assert!(matches!(r.dropped[0].skip, Skip::EmailChanged { .. }));
    }
}
