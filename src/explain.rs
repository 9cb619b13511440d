//! `reconcile explain EMAIL`: which rule keeps or deletes an address, and — when the live users
//! were listed — what the plan does to the users with that address. Pure: it reads a `Desired`
//! and, optionally, a `Plan`, and writes text.

use std::io::{self, Write};

use crate::config::Desired;
use crate::date::Date;
use crate::model::{AddressError, Email};
use crate::plan::{Decision, Matcher, Plan, Reason};
use crate::render::Palette;
use crate::text::printable;

/// What the plan does to one live user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Delete,
    Keep,
    Held,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Live {
    /// The live users were not listed, and why.
    NotChecked(String),
    /// The users of the account with this address (none, one, or more).
    Checked {
        account_id: String,
        users: Vec<(Decision, Fate)>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Explanation {
    pub written: String,
    /// The address as compared: normalised when it is one, else trimmed and lower-cased.
    pub address: String,
    /// Why the address could never be in a desired-state file, if it could not.
    pub invalid: Option<AddressError>,
    /// Every rule that matches, the deciding one first.
    pub rules: Vec<Reason>,
    pub live: Live,
}

pub(crate) fn explain(desired: &Desired, written: &str, today: Date) -> Explanation {
    let (address, invalid, rules) = match Email::parse(written) {
        Ok(email) => (
            email.to_string(),
            None,
            Matcher::new(desired, today).all(&email),
        ),
        // No rule can name it; the plan holds such a live user back.
        Err(why) => (
            written.trim().to_lowercase(),
            Some(why.clone()),
            vec![Reason::UnusableAddress { why }],
        ),
    };
    Explanation {
        written: written.to_string(),
        invalid,
        rules,
        address,
        live: Live::NotChecked(
            "no credentials: set CLOUDFLARE_API_TOKEN to see whether the user exists".into(),
        ),
    }
}

impl Explanation {
    /// Add what the plan does to the live users with this address.
    pub(crate) fn with_plan(mut self, plan: &Plan) -> Explanation {
        let ours = |d: &&Decision| match &d.email {
            Some(email) => email.as_str() == self.address,
            None => {
                d.user.email.as_deref().map(|e| e.trim().to_lowercase())
                    == Some(self.address.clone())
            }
        };
        let mut users: Vec<(Decision, Fate)> = Vec::new();
        users.extend(
            plan.delete
                .iter()
                .filter(ours)
                .map(|d| (d.clone(), Fate::Delete)),
        );
        users.extend(
            plan.keep
                .iter()
                .filter(ours)
                .map(|d| (d.clone(), Fate::Keep)),
        );
        users.extend(
            plan.held
                .iter()
                .filter(ours)
                .map(|d| (d.clone(), Fate::Held)),
        );
        self.live = Live::Checked {
            account_id: plan.account_id.to_string(),
            users,
        };
        self
    }

    pub(crate) fn render(&self, out: &mut dyn Write, p: Palette) -> io::Result<()> {
        // The address is the user's typing, and when it is not an address it is shown as typed:
        // it is escaped like everything else from outside, as are the live user's id and name.
        writeln!(out, "{}", p.bold(&printable(&self.address)))?;
        if self.written.trim() != self.address {
            writeln!(
                out,
                "  normalised from {}",
                printable(&format!("{:?}", self.written))
            )?;
        }
        if let Some(why) = &self.invalid {
            writeln!(
                out,
                "  {} not a valid address ({why}); no entry can name it",
                p.warning("!")
            )?;
        }
        let mut rules = self.rules.iter();
        if let Some(first) = rules.next() {
            let verdict = if first.keeps() {
                p.added("kept")
            } else if self.invalid.is_some() {
                // The plan holds such an address back (unusable_address): never deleted.
                p.warning("held back if present, never deleted")
            } else {
                p.removed("deleted if present")
            };
            writeln!(
                out,
                "  rule:  {verdict}: {}",
                crate::render::words::reason(first)
            )?;
        }
        for other in rules {
            writeln!(
                out,
                "  also:  {} (does not decide)",
                crate::render::words::reason(other)
            )?;
        }
        match &self.live {
            Live::NotChecked(why) => writeln!(out, "  live:  not checked: {why}")?,
            Live::Checked { account_id, users } if users.is_empty() => writeln!(
                out,
                "  live:  no user with this address in account {account_id}: nothing to do"
            )?,
            Live::Checked { users, .. } => {
                for (d, fate) in users {
                    let what = match fate {
                        Fate::Delete => p.removed("the plan deletes this user"),
                        Fate::Keep => p.added("the plan keeps this user"),
                        Fate::Held => p.warning(&format!(
                            "held back: {}",
                            crate::render::words::reason(&d.reason)
                        )),
                    };
                    let name = d
                        .user
                        .name
                        .as_deref()
                        .map(|n| format!(" {}", printable(&format!("{n:?}"))))
                        .unwrap_or_default();
                    let login = d
                        .user
                        .last_successful_login
                        .as_deref()
                        .map(|l| format!(", last login {}", printable(l)))
                        .unwrap_or_else(|| ", never logged in".into());
                    writeln!(
                        out,
                        "  live:  user {}{name}{login}: {what}",
                        printable(d.id_text())
                    )?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::model::LiveUser;
    use crate::plan::{compute, Policy};

    fn today() -> Date {
        Date::parse("2026-11-28").unwrap()
    }

    fn text(e: &Explanation) -> String {
        let mut out = Vec::new();
        e.render(&mut out, Palette::PLAIN).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn desired() -> Desired {
        config::parse_str(
            "users:\n  - email: bob@example.com\n    note: contractor\n    expires: 2027-01-31\ndomains: [example.com]\n",
            "team.yaml",
        )
        .unwrap()
    }

    #[test]
    fn offline_explanation_names_the_rule_and_the_others() {
        let e = explain(&desired(), " Bob@Example.com", today());
        assert_eq!(
            text(&e),
            "bob@example.com\n  normalised from \" Bob@Example.com\"\n  rule:  kept: allowed by team.yaml:2:5 until 2027-01-31 (note: \"contractor\")\n  also:  allowed by domain example.com (team.yaml:5:11) (does not decide)\n  live:  not checked: no credentials: set CLOUDFLARE_API_TOKEN to see whether the user exists\n"
        );
        let e = explain(&desired(), "eve@other.example", today());
        assert!(
            text(&e).contains("rule:  deleted if present: no allowlist entry or domain matches")
        );
        let e = explain(&desired(), "ops@corp", today());
        assert!(text(&e).contains("not a valid address"));
        assert!(
            text(&e).contains("held back if present, never deleted"),
            "{}",
            text(&e)
        );
    }

    #[test]
    fn with_the_plan_it_says_what_happens_to_each_user() {
        let d = desired();
        let live = vec![
            LiveUser {
                id: Some("2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60".into()),
                email: Some("eve@other.example".into()),
                name: Some("Eve".into()),
                ..LiveUser::default()
            },
            LiveUser {
                id: Some("f174e90a-fafe-4643-bbbc-4a0ed4fc8415".into()),
                email: Some("BOB@example.com".into()),
                last_successful_login: Some("2026-11-27T10:00:00Z".into()),
                ..LiveUser::default()
            },
        ];
        let plan = compute(
            &d,
            &live,
            &Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
        );
        let eve = explain(&d, "eve@other.example", today()).with_plan(&plan);
        assert!(text(&eve).contains("live:  user 2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60 \"Eve\", never logged in: the plan deletes this user"), "{}", text(&eve));
        let bob = explain(&d, "bob@example.com", today()).with_plan(&plan);
        assert!(text(&bob).contains("last login 2026-11-27T10:00:00Z: the plan keeps this user"));
        let nobody = explain(&d, "zed@example.com", today()).with_plan(&plan);
        assert!(text(&nobody).contains(
            "no user with this address in account 023e105f4ecef8ad9ca31a8372d0c353: nothing to do"
        ));
    }
}
