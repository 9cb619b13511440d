//! The plan as one JSON document, for pipelines and scripts. The schema is documented in
//! docs/output.md and changes only with a new [`FORMAT_VERSION`]. Never coloured.

use std::io::{self, Write};

use serde::ser::{SerializeStruct, Serializer};
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
/// carries as its `plan`. Its fields, in order, are [`Document::fields`].
pub(crate) struct Document<'a> {
    format_version: u32,
    account_id: &'a str,
    counts: Counts,
    seats_freed: SeatsFreed,
    refusal: Option<RefusalOut>,
    /// The door's plan; null without a `door:` section.
    door: Option<door::DoorOut<'a>>,
    users: Users<'a>,
    absent: Vec<AbsentOut<'a>>,
    unmatched_protected: Vec<ProtectedOut<'a>>,
    unmatched_domains: Vec<DomainOut<'a>>,
    /// Only when past deletions were read (`--history`).
    history: Option<HistoryOut<'a>>,
}

/// Where a [`Document`]'s fields go, one at a time and in order: serde's struct serializer (the
/// plan inside the JSON apply report), or the writer of [`render`], which writes the users in
/// parts on several threads.
trait Fields {
    type Error;
    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error>;
    fn users(&mut self, key: &'static str, users: &Users<'_>) -> Result<(), Self::Error>;
}

impl Document<'_> {
    /// The one list of the document's fields, in the order they are written.
    fn fields<F: Fields>(&self, f: &mut F) -> Result<(), F::Error> {
        f.field("format_version", &self.format_version)?;
        f.field("account_id", self.account_id)?;
        f.field("counts", &self.counts)?;
        f.field("seats_freed", &self.seats_freed)?;
        f.field("refusal", &self.refusal)?;
        f.field("door", &self.door)?;
        f.users("users", &self.users)?;
        f.field("absent", &self.absent)?;
        f.field("unmatched_protected", &self.unmatched_protected)?;
        f.field("unmatched_domains", &self.unmatched_domains)?;
        if let Some(history) = &self.history {
            f.field("history", history)?;
        }
        Ok(())
    }
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Struct<S>(S);
        impl<S: SerializeStruct> Fields for Struct<S> {
            type Error = S::Error;
            fn field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), S::Error> {
                self.0.serialize_field(key, value)
            }
            fn users(&mut self, key: &'static str, users: &Users<'_>) -> Result<(), S::Error> {
                self.0.serialize_field(key, users)
            }
        }
        let len = 10 + usize::from(self.history.is_some());
        let mut fields = Struct(serializer.serialize_struct("Document", len)?);
        self.fields(&mut fields)?;
        fields.0.end()
    }
}

/// The plan's users in the document's order (deletions, held, kept), each written as a
/// [`UserOut`] only when the document is written.
pub(crate) struct Users<'a> {
    users: Vec<(&'a Decision, &'static str)>,
    reentry: Option<&'a Reentry>,
}

impl Serialize for Users<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.users
                .iter()
                .map(|&(d, what)| user(d, what, self.reentry)),
        )
    }
}

/// The writer of [`render`]: the document's layout as [`crate::text::write_json_pretty`]
/// writes it, field by field.
struct Pieces<'w, W: Write> {
    out: &'w mut W,
    first: bool,
    /// The threads and the users per part for the users (see [`write_users`]).
    threads: usize,
    part: usize,
}

impl<W: Write> Pieces<'_, W> {
    fn key(&mut self, key: &'static str) -> io::Result<()> {
        if self.first {
            self.out.write_all(b"{")?;
        }
        crate::text::write_json_break(self.out, !self.first, 1)?;
        self.first = false;
        crate::text::write_json_pretty(&mut *self.out, key)?;
        self.out.write_all(b": ")
    }

    fn finish(self) -> io::Result<()> {
        if self.first {
            return self.out.write_all(b"{}");
        }
        crate::text::write_json_break(self.out, false, 0)?;
        self.out.write_all(b"}")
    }
}

impl<W: Write> Fields for Pieces<'_, W> {
    type Error = io::Error;
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> io::Result<()> {
        self.key(key)?;
        Ok(crate::text::write_json_pretty_at(&mut *self.out, value, 1)?)
    }
    fn users(&mut self, key: &'static str, users: &Users<'_>) -> io::Result<()> {
        self.key(key)?;
        write_users(self.out, users, self.threads, self.part)
    }
}

/// Below this many users the document is written on one thread.
const PARALLEL_FROM: usize = 8_192;
/// Users per part: each thread writes one part at a time into a buffer of its own, and the
/// parts are written out in order (see [`write_users`]).
const PART: usize = 4_096;

/// The users' array, one level deep, as [`Users`]'s `Serialize` writes it there. Cut in parts of
/// `part` users, dealt out in turn to `threads` threads (this one included); each part is
/// written into a buffer of its own while the previous ones are written out, in order. A
/// thread is at most one part ahead (memory: two parts a thread, not the document), and its
/// buffers are handed back to it to be filled again.
fn write_users<W: Write>(
    out: &mut W,
    users: &Users<'_>,
    threads: usize,
    part: usize,
) -> io::Result<()> {
    if users.users.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    let (threads, part) = (threads.max(1), part.max(1));
    let parts: Vec<&[(&Decision, &'static str)]> = users.users.chunks(part).collect();
    let write_part = |k: usize, mut buffer: Vec<u8>| -> io::Result<Vec<u8>> {
        buffer.clear();
        for (i, &(d, what)) in parts[k].iter().enumerate() {
            crate::text::write_json_break(&mut buffer, k * part + i > 0, 2)?;
            crate::text::write_json_pretty_at(&mut buffer, &user(d, what, users.reentry), 2)?;
        }
        Ok(buffer)
    };
    let write_part = &write_part;
    let count = parts.len();
    std::thread::scope(|s| -> io::Result<()> {
        // Thread `t` (1..threads) writes the parts k with k % threads == t.
        let mut workers = Vec::new();
        for t in 1..threads.min(count) {
            let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(1);
            let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<u8>>();
            s.spawn(move || {
                for k in (t..count).step_by(threads) {
                    let buffer = back_rx.try_recv().unwrap_or_default();
                    let failed = write_part(k, buffer);
                    let stop = failed.is_err();
                    if done_tx.send(failed).is_err() || stop {
                        return;
                    }
                }
            });
            workers.push((done_rx, back_tx));
        }
        let mut mine = Vec::new();
        for k in 0..count {
            let t = k % threads;
            if t == 0 {
                mine = write_part(k, std::mem::take(&mut mine))?;
                out.write_all(&mine)?;
                continue;
            }
            let (done, back) = &workers[t - 1];
            // A worker that stopped without a part panicked: the scope passes the panic on.
            let Ok(buffer) = done.recv() else { break };
            let buffer = buffer?;
            out.write_all(&buffer)?;
            // Handed back to be filled again; a worker that has finished no longer takes it.
            let _ = back.send(buffer);
        }
        Ok(())
    })?;
    crate::text::write_json_break(out, false, 1)?;
    out.write_all(b"]")
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
    text: crate::render::words::ReasonSentence<'a>,
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
            text: crate::render::words::ReasonSentence(&d.reason),
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
    let threads = crate::parallel::threads_for(document.users.users.len(), PARALLEL_FROM);
    render_document(&document, out, threads, PART)
}

/// [`render`] with the users written by `threads` threads, `part` users at a time: the same
/// bytes as `write_json_pretty` of the document (`render::json::tests`).
fn render_document(
    document: &Document<'_>,
    out: &mut dyn Write,
    threads: usize,
    part: usize,
) -> io::Result<()> {
    // serde_json writes token by token: into a buffer of a concrete type those writes are
    // inlined copies, not a call through `dyn Write` each.
    let mut buffered = io::BufWriter::with_capacity(1 << 16, &mut *out);
    let mut pieces = Pieces {
        out: &mut buffered,
        first: true,
        threads,
        part,
    };
    document.fields(&mut pieces)?;
    pieces.finish()?;
    buffered.flush()?;
    drop(buffered);
    writeln!(out)
}

/// The plan as the document [`render`] writes.
pub(crate) fn document(plan: &Plan) -> Document<'_> {
    let reentry = plan.reentry.as_ref();
    let users = Users {
        users: plan
            .delete
            .iter()
            .map(|d| (d, "delete"))
            .chain(plan.held.iter().map(|d| (d, "held")))
            .chain(plan.keep.iter().map(|d| (d, "keep")))
            .collect(),
        reentry,
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LiveUser;

    fn written(plan: &Plan, threads: usize, part: usize) -> String {
        let mut out = Vec::new();
        render_document(&document(plan), &mut out, threads, part).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// A plan with many users of every kind: deleted, held (no address, an id that is not a
    /// UUID, a hostile name) and kept.
    fn many() -> Plan {
        let (desired, mut live, _) = super::super::snapshot_tests::fixture();
        for n in 0..40 {
            live.push(LiveUser {
                id: Some(format!("00000000-0000-4000-8000-{n:012}")),
                email: (n % 7 != 0).then(|| format!("user{n}@example.com")),
                name: Some(format!("User \u{1b}[2K{n}")),
                ..LiveUser::default()
            });
        }
        crate::plan::compute(
            &desired,
            &live,
            &crate::plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200),
        )
    }

    #[test]
    fn the_document_written_in_parts_is_the_one_serde_writes() {
        let plans = [
            many(),
            super::super::snapshot_tests::fixture().2,
            super::super::snapshot_tests::with_history(),
            super::super::door_snapshot_tests::hostile(),
            super::super::door_snapshot_tests::from_nothing(),
        ];
        for plan in &plans {
            let whole = crate::text::to_json_pretty(&document(plan)).unwrap() + "\n";
            for (threads, part) in [(1, PART), (1, 1), (2, 1), (3, 2), (2, 7), (4, 1000)] {
                assert_eq!(
                    written(plan, threads, part),
                    whole,
                    "{threads} threads, {part} a part"
                );
            }
            assert_eq!(
                {
                    let mut out = Vec::new();
                    render(plan, &mut out).unwrap();
                    String::from_utf8(out).unwrap()
                },
                whole
            );
        }
        assert!(plans[0].delete.len() + plans[0].keep.len() + plans[0].held.len() > 40);
    }
}
