//! Every sentence a person reads about a plan's decisions: why a user is kept, deleted or held
//! ([`reason`]), why a plan is refused and how to go ahead on purpose ([`refusal`]), why a
//! reviewed user is not deleted ([`skip`]). `plan` returns the data; this module words it, with
//! the flag names a person types, and escapes what came from outside.

use crate::plan::recheck::Skip;
use crate::plan::returned::{Reentry, Returned, StillListed};
use crate::plan::{EntryList, Likeness, Reason, Refusal};
use std::borrow::Cow;

use crate::text::{count, printable, printable_cow};

/// A part of a sentence about a decision: prose, or a name a reader copies (a file location, an
/// address, a domain, a pattern, a flag with its value). On a terminal a name is written as it
/// is, and a quoted one between backticks; Markdown puts both in code spans, so that a location
/// or an address is neither linked nor garbled by escaping, and copies byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Name(String),
    /// A name the terminal shows between backticks.
    Quoted(String),
}

fn text(s: impl Into<String>) -> Piece {
    Piece::Text(s.into())
}

fn name(s: impl ToString) -> Piece {
    Piece::Name(s.to_string())
}

fn with_note(mut pieces: Vec<Piece>, note: &Option<String>) -> Vec<Piece> {
    if let Some(n) = note {
        pieces.push(text(format!(" (note: {n:?})")));
    }
    pieces
}

/// The pieces as one line of text, unescaped: names as they are, quoted ones in backticks.
fn joined(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) | Piece::Name(t) => t.clone(),
            Piece::Quoted(q) => format!("`{q}`"),
        })
        .collect()
}

/// The reason as a sentence, safe to print on a terminal (text from the API or a file inside is
/// escaped).
pub(crate) fn reason(r: &Reason) -> String {
    reason_cow(r).into_owned()
}

/// [`reason`], with no copy of the one sentence of [`Reason::NotAllowed`] (the reason of most of
/// the rows of a large plan).
pub(crate) fn reason_cow(r: &Reason) -> Cow<'static, str> {
    match r {
        Reason::NotAllowed => Cow::Borrowed(NOT_ALLOWED),
        r => Cow::Owned(ReasonSentence(r).to_string()),
    }
}

/// [`reason`] as it is written: the JSON plan writes 100,000 of them straight into the document
/// (`serde`'s `collect_str`), with no string made for each.
pub(crate) struct ReasonSentence<'a>(pub(crate) &'a Reason);

impl std::fmt::Display for ReasonSentence<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Reason::NotAllowed = self.0 {
            return f.write_str(NOT_ALLOWED);
        }
        // `printable` works a character at a time, so the pieces escaped one by one are the
        // sentence escaped whole.
        for piece in reason_pieces(self.0) {
            match &piece {
                Piece::Text(t) | Piece::Name(t) => f.write_str(&printable_cow(t))?,
                Piece::Quoted(q) => write!(f, "`{}`", printable_cow(q))?,
            }
        }
        Ok(())
    }
}

impl serde::Serialize for ReasonSentence<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Why a user that no rule keeps is deleted: plain text, nothing to escape.
const NOT_ALLOWED: &str = "no allowlist entry or domain matches this address";

/// The reason in [`Piece`]s, unescaped: the Markdown renderer escapes the prose and puts the
/// names in code spans. Joined, it is [`reason`] before escaping.
pub(crate) fn reason_pieces(r: &Reason) -> Vec<Piece> {
    match r {
        Reason::Allowed {
            location,
            note,
            expires,
        } => {
            let mut pieces = vec![text("allowed by "), name(location)];
            if let Some(d) = expires {
                pieces.push(text(format!(" until {d}")));
            }
            with_note(pieces, note)
        }
        Reason::Domain { domain, location } => vec![
            text("allowed by domain "),
            name(domain),
            text(" ("),
            name(location),
            text(")"),
        ],
        Reason::Protected { pattern, location } => {
            let what = if pattern.contains('*') { "pattern " } else { "" };
            vec![
                text(format!("protected by {what}")),
                name(pattern),
                text(" ("),
                name(location),
                text(")"),
            ]
        }
        Reason::NotAllowed => vec![text(NOT_ALLOWED)],
        Reason::Expired {
            date,
            location,
            note,
        } => with_note(
            vec![
                text("the allowlist entry at "),
                name(location),
                text(format!(" expired on {date}")),
            ],
            note,
        ),
        Reason::UnusableAddress { why } => vec![text(format!(
            "the address is not one a desired-state file can name ({why}), so no entry could keep this user; left alone (fix the address in the identity provider, or remove the user by hand)"
        ))],
        Reason::NoEmail => vec![text(
            "the user has no email address; left alone (remove it by hand if it should go)",
        )],
        Reason::InvalidId => vec![text(
            "the user's id is missing or is not a UUID, so it is never sent in a DELETE; left alone (check it in the dashboard)",
        )],
        Reason::NearMiss {
            entry,
            location,
            address,
            list,
            likeness,
        } => {
            // The likely fix first (the entry has a typo), then the flag that deletes anyway.
            let (what, of) = match list {
                EntryList::Users => ("", ""),
                EntryList::Protected => ("protected entry ", ""),
                EntryList::Domains => ("domain entry ", "the domain of "),
            };
            let (how, alike) = match likeness {
                Likeness::OneEdit => ("is one edit from", ""),
                Likeness::LooksAlike => (
                    "looks like",
                    " (other characters that look the same: one Unicode confusable skeleton)",
                ),
            };
            vec![
                text(what),
                Piece::Quoted(entry.to_string()),
                text(" at "),
                name(location),
                text(format!(" {how} {of}live ")),
                Piece::Quoted(address.to_string()),
                text(format!(
                    "{alike}: correct line {line} if it means this user; to delete the user anyway, pass ",
                    line = location.line
                )),
                name(format!("--allow-near-miss {address}")),
            ]
        }
        Reason::Active { last_login, within } => vec![text(format!(
            "last login {last_login}, within policy.hold_active_within ({within}); release with --include-active"
        ))],
        Reason::DuplicateEmail { count } => vec![text(format!(
            "{count} live users share this address, so which one is meant is unclear; release with --allow-duplicate-email"
        ))],
        Reason::DuplicateId { count } => vec![text(format!(
            "{count} live users share this id (ids that differ only in letter case are one UUID), so a DELETE for this user could reach another; left alone (check the account in the dashboard)"
        ))],
    }
}

/// What stopped the plan, and how to go ahead on purpose.
pub(crate) fn refusal(r: &Refusal) -> String {
    let mismatch = |allow: &Option<usize>, deletes: usize| {
        match allow {
            Some(n) => format!(
                " --allow-deletes {n} was given, but this plan deletes {deletes}: the override must name the exact number of deletions you reviewed."
            ),
            None => String::new(),
        }
    };
    match r {
            Refusal::DeleteAll { live } => format!(
                "safety rail: the plan deletes every one of the {live} live users it could delete (users without a usable address or id are never deleted, so they do not count); a truncated or wrong desired state does this. To really empty the account, set `policy: {{ allow_delete_all: true }}` in the desired state."
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

/// Why a reviewed user is not deleted.
pub(crate) fn skip(s: &Skip) -> String {
    printable(&joined(&skip_pieces(s)))
}

/// Why a reviewed user is not deleted, in [`Piece`]s, unescaped (see [`reason_pieces`]).
pub(crate) fn skip_pieces(s: &Skip) -> Vec<Piece> {
    match s {
        Skip::EmailChanged { now } => vec![
            text("its id now has another address ("),
            name(now),
            text("), not deleted"),
        ],
        Skip::NotAnExtra { now } => {
            let mut pieces = vec![text("no longer to delete (")];
            pieces.extend(reason_pieces(now));
            pieces.push(text("), not deleted"));
            pieces
        }
        other => vec![text(skip_text(other))],
    }
}

fn skip_text(s: &Skip) -> &'static str {
    match s {
        Skip::Gone => "already gone",
        Skip::InvalidId => "its id is not a UUID, never deleted",
        Skip::SharedId => "several live users share its id now, never deleted (check the account in the dashboard)",
        // Worded with their names in `skip_pieces`.
        Skip::EmailChanged { .. } | Skip::NotAnExtra { .. } => "not deleted",
    }
}

/// Where a returned user's text sends people: how to stop the next login.
pub(crate) const LOCK_THE_DOOR: &str = "docs/lock-the-door.md";

/// The day of an RFC 3339 timestamp (UTC), or the text itself when it does not read as one.
fn day(timestamp: &str) -> String {
    match crate::date::parse_timestamp(timestamp) {
        Some(secs) => crate::date::Date::from_days_since_epoch(secs.div_euclid(86_400)).to_string(),
        None => printable(timestamp),
    }
}

/// Why a user back under a new id matters: "deleted 2026-11-03 by reconcile; logged in again
/// on 2026-11-20: an Access policy still admits this address". Safe to print.
pub(crate) fn returned(r: &Returned) -> String {
    let again = match &r.logged_in_again {
        Some(login) => format!("logged in again on {}", day(login)),
        None => "listed again under a new id".to_string(),
    };
    format!(
        "deleted {} by reconcile; {again}: an Access policy still admits this address",
        day(&r.deletion.time)
    )
}

/// A live user whose own id a past run recorded as deleted. Safe to print.
pub(crate) fn still_listed(s: &StillListed) -> String {
    format!(
        "{} ({}): reconcile recorded its deletion on {} (run {}), yet the account lists the same id: the deletion did not hold, or the person came back under the same id; check it in the dashboard",
        s.label,
        printable(&s.user_id),
        day(&s.deletion.time),
        printable(&s.deletion.run)
    )
}

/// The summary's line about the history read: who came back, or that nobody did.
pub(crate) fn reentry_summary(r: &Reentry) -> String {
    let n = r.returned.len();
    if n == 0 {
        return format!(
            "History: {} read from {}; nobody deleted before is back.",
            count(r.deletions_read, "past deletion"),
            count(r.files_read, "audit log")
        );
    }
    format!(
        "Returned: {n} user{s} deleted before {are} back: an Access policy still admits them, so deleting again only frees the seat until the next login. Lock the door: {LOCK_THE_DOOR}",
        s = crate::text::plural(n),
        are = if n == 1 { "is" } else { "are" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::Location;
    use crate::plan::Likeness;

    /// Reasons with text from outside in every kind of piece: file names, notes, entries and
    /// addresses with controls and bidirectional characters.
    fn hostile_reasons() -> Vec<Reason> {
        let at = Location {
            file: "users\u{202e}lmay.yaml".into(),
            line: 3,
            col: 5,
        };
        vec![
            Reason::NotAllowed,
            Reason::DuplicateEmail { count: 2 },
            Reason::Allowed {
                location: at.clone(),
                note: Some("ok \u{1b}[2K\u{9b}".into()),
                expires: None,
            },
            Reason::Protected {
                pattern: "*@corp\u{200b}.example".into(),
                location: at.clone(),
            },
            Reason::NearMiss {
                entry: "a\u{202e}lice@example.com".into(),
                location: at,
                address: "alice@example.com\u{7}".into(),
                list: EntryList::Protected,
                likeness: Likeness::LooksAlike,
            },
        ]
    }

    #[test]
    fn every_form_of_the_reason_is_the_sentence_its_pieces_make_escaped() {
        assert!(matches!(reason_cow(&Reason::NotAllowed), Cow::Borrowed(_)));
        for r in hostile_reasons() {
            let whole = printable(&joined(&reason_pieces(&r)));
            assert_eq!(reason(&r), whole, "{r:?}");
            assert_eq!(reason_cow(&r), whole, "{r:?}");
            assert_eq!(ReasonSentence(&r).to_string(), whole, "{r:?}");
            // Written into a JSON document, it is the string serialised.
            assert_eq!(
                crate::text::to_json_pretty(&ReasonSentence(&r)).unwrap(),
                crate::text::to_json_pretty(&whole).unwrap(),
                "{r:?}"
            );
        }
    }
}
