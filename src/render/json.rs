//! The plan as one JSON document, for pipelines and scripts. The schema is documented in
//! docs/output.md and changes only with a new [`FORMAT_VERSION`]. Never coloured.

use std::io::{self, Write};

use serde::Serialize;

use crate::config::Location;
use crate::model::Email;
use crate::plan::returned::{Reentry, Returned};
use crate::plan::{Decision, Plan};

#[path = "door_json.rs"]
mod door;

/// The version of the JSON plan document.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The plan document, serialisable: what [`render`] writes, and what the JSON apply report
/// carries as its `plan`.
#[derive(Serialize)]
pub(crate) struct Document<'a> {
    format_version: u32,
    account_id: &'a str,
    counts: Counts,
    seats_freed: SeatsFreed,
    refusal: Option<RefusalOut>,
    /// The door's plan; null without a `door:` section.
    door: Option<door::DoorOut<'a>>,
    users: Vec<UserOut<'a>>,
    absent: Vec<AbsentOut<'a>>,
    unmatched_protected: Vec<ProtectedOut<'a>>,
    unmatched_domains: Vec<DomainOut<'a>>,
    /// Only when past deletions were read (`--history`).
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<HistoryOut<'a>>,
}

#[derive(Serialize)]
struct HistoryOut<'a> {
    files: usize,
    deletions: usize,
    still_listed: Vec<StillListedOut<'a>>,
}

#[derive(Serialize)]
struct StillListedOut<'a> {
    id: &'a str,
    deleted_at: &'a str,
    run: &'a str,
    text: String,
}

#[derive(Serialize)]
struct ReturnedOut<'a> {
    previous_id: &'a str,
    deleted_at: &'a str,
    outcome: &'static str,
    run: &'a str,
    logged_in_again: Option<&'a str>,
    text: String,
    guide: &'static str,
}

#[derive(Serialize)]
struct Counts {
    live: usize,
    delete: usize,
    keep: usize,
    held: usize,
    unchanged: usize,
    absent: usize,
    /// Users with a usable address and id: what the delete-all and fraction rails count.
    deletable: usize,
    unmatched_protected: usize,
    unmatched_domains: usize,
    /// Only when past deletions were read (`--history`).
    #[serde(skip_serializing_if = "Option::is_none")]
    returned: Option<usize>,
}

#[derive(Serialize)]
struct UserOut<'a> {
    id: Option<&'a str>,
    email: Option<&'a str>,
    email_normalized: Option<&'a str>,
    name: Option<&'a str>,
    last_successful_login: Option<&'a str>,
    seats: Seats,
    active_device_count: Option<serde_json::Number>,
    decision: &'static str,
    reason: ReasonOut<'a>,
    /// Only for a user who came back after a past deletion.
    #[serde(skip_serializing_if = "Option::is_none")]
    returned: Option<ReturnedOut<'a>>,
}

#[derive(Serialize)]
struct SeatsFreed {
    access: usize,
    gateway: usize,
}

#[derive(Serialize)]
struct RefusalOut {
    kind: &'static str,
    message: String,
}

#[derive(Serialize)]
struct Seats {
    access: Option<bool>,
    gateway: Option<bool>,
}

#[derive(Serialize)]
struct ReasonOut<'a> {
    kind: &'static str,
    text: String,
    location: Option<LocationOut<'a>>,
}

#[derive(Serialize)]
struct LocationOut<'a> {
    file: &'a str,
    line: usize,
    col: usize,
}

#[derive(Serialize)]
struct AbsentOut<'a> {
    email: &'a str,
    written: &'a str,
    location: LocationOut<'a>,
}

#[derive(Serialize)]
struct ProtectedOut<'a> {
    pattern: &'a str,
    written: &'a str,
    location: LocationOut<'a>,
}

#[derive(Serialize)]
struct DomainOut<'a> {
    domain: &'a str,
    location: LocationOut<'a>,
}

fn location(at: &Location) -> LocationOut<'_> {
    LocationOut {
        file: &at.file,
        line: at.line,
        col: at.col,
    }
}

/// A device count is a number in the API's spec; show whole numbers as integers.
fn count(n: f64) -> Option<serde_json::Number> {
    if n.fract() == 0.0 && (0.0..9.0e15).contains(&n) {
        Some(serde_json::Number::from(n as u64))
    } else {
        serde_json::Number::from_f64(n)
    }
}

fn returned(r: &Returned) -> ReturnedOut<'_> {
    ReturnedOut {
        previous_id: r.deletion.user_id.as_str(),
        deleted_at: &r.deletion.time,
        outcome: if r.deletion.answer_lost {
            "deleted_answer_lost"
        } else {
            "deleted"
        },
        run: &r.deletion.run,
        logged_in_again: r.logged_in_again.as_deref(),
        text: crate::render::words::returned(r),
        guide: crate::render::words::LOCK_THE_DOOR,
    }
}

fn user<'a>(d: &'a Decision, decision: &'static str, reentry: Option<&'a Reentry>) -> UserOut<'a> {
    let u = &d.user;
    UserOut {
        id: u.id.as_deref(),
        email: u.email.as_deref(),
        email_normalized: d.email.as_ref().map(Email::as_str),
        name: u.name.as_deref(),
        last_successful_login: u.last_successful_login.as_deref(),
        seats: Seats {
            access: u.access_seat,
            gateway: u.gateway_seat,
        },
        active_device_count: u.active_device_count.and_then(count),
        decision,
        reason: ReasonOut {
            kind: d.reason.kind(),
            text: crate::render::words::reason(&d.reason),
            location: d.reason.location().map(location),
        },
        returned: reentry.and_then(|r| r.of(d)).map(returned),
    }
}

/// The plan as pretty-printed JSON, followed by a newline. Strings are the API's and the files'
/// exact text once parsed, but controls, bidirectional and invisible characters are written as
/// `\uXXXX` escapes (see [`crate::text::write_json_pretty`]): this document is printed.
pub(crate) fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let document = document(plan);
    // serde_json writes token by token: into a buffer of a concrete type those writes are
    // inlined copies, not a call through `dyn Write` each.
    let mut buffered = io::BufWriter::with_capacity(1 << 16, &mut *out);
    crate::text::write_json_pretty(&mut buffered, &document)?;
    buffered.flush()?;
    drop(buffered);
    writeln!(out)
}

/// The plan as the document [`render`] writes.
pub(crate) fn document(plan: &Plan) -> Document<'_> {
    let reentry = plan.reentry.as_ref();
    let users = plan
        .delete
        .iter()
        .map(|d| user(d, "delete", reentry))
        .chain(plan.held.iter().map(|d| user(d, "held", reentry)))
        .chain(plan.keep.iter().map(|d| user(d, "keep", reentry)))
        .collect();
    Document {
        format_version: FORMAT_VERSION,
        account_id: plan.account_id.as_str(),
        counts: Counts {
            live: plan.live_count,
            delete: plan.delete.len(),
            keep: plan.keep.len(),
            held: plan.held.len(),
            unchanged: plan.unchanged(),
            absent: plan.absent.len(),
            deletable: plan.deletable,
            unmatched_protected: plan.unmatched_protected.len(),
            unmatched_domains: plan.unmatched_domains.len(),
            returned: reentry.map(|r| r.returned.len()),
        },
        seats_freed: {
            let (access, gateway) = plan.seats_freed();
            SeatsFreed { access, gateway }
        },
        refusal: plan.refusal.as_ref().map(|r| RefusalOut {
            kind: r.kind(),
            message: crate::render::words::refusal(r),
        }),
        door: plan.door.as_ref().map(door::door),
        users,
        absent: plan
            .absent
            .iter()
            .map(|e| AbsentOut {
                email: e.email.as_str(),
                written: e.written.trim(),
                location: location(&e.location),
            })
            .collect(),
        unmatched_protected: plan
            .unmatched_protected
            .iter()
            .map(|p| ProtectedOut {
                pattern: &p.pattern,
                written: &p.written,
                location: location(&p.location),
            })
            .collect(),
        unmatched_domains: plan
            .unmatched_domains
            .iter()
            .map(|d| DomainOut {
                domain: d.domain.as_str(),
                location: location(&d.location),
            })
            .collect(),
        history: reentry.map(|r| HistoryOut {
            files: r.files_read,
            deletions: r.deletions_read,
            still_listed: r
                .still_listed
                .iter()
                .map(|s| StillListedOut {
                    id: &s.user_id,
                    deleted_at: &s.deletion.time,
                    run: &s.deletion.run,
                    text: crate::render::words::still_listed(s),
                })
                .collect(),
        }),
    }
}
