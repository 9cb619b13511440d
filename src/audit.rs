//! The audit log of `apply --audit-log FILE`: JSON lines, one record per user the run was to
//! delete (deleted, deleted with its answer lost, already gone, failed, interrupted or not
//! attempted), each chained to the one before it by hash, so that an edited, removed or
//! reordered record is found by `reconcile audit verify FILE`.
//!
//! Chain: every record ends with `"prev"` (the previous record's hash; the first record of a file
//! has [`GENESIS`]) inside the object and `"hash"` last: `hash` is the SHA-256 of the line's text
//! without its `,"hash":"…"` suffix (so it covers `prev` and every other field exactly as
//! written). Appending to an existing log first verifies it, then continues its chain.
//! No credential is ever written: records hold ids, emails, statuses and error texts, none of
//! which carries one.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::digest::sha256;
use crate::fsread::{self, display_path};
use crate::text::printable;

/// The `prev` of a log's first record.
pub(crate) const GENESIS: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Who ran the apply: the login, and the CI run when the environment says there is one.
/// Fields in alphabetical order: the order they are written in (see [`Line`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Actor {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<Ci>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// Fields in alphabetical order: the order they are written in (see [`Line`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ci {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub system: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What happened to the user a record is about, as the log names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recorded {
    Deleted,
    AlreadyGone,
    DeletedAnswerLost,
    Failed,
    /// The deletion was in flight when the run was stopped at once: its outcome is unknown.
    Interrupted,
    NotAttempted,
}

/// One record: what apply says about one user. [`AuditLog::append`] chains it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry<'a> {
    /// When the outcome was known, RFC 3339 (`Clock::rfc3339_millis`).
    pub time: String,
    /// Tells the runs in one log apart.
    pub run: &'a str,
    pub account: &'a str,
    pub user_id: &'a str,
    pub email: Option<&'a str>,
    /// Why the plan deletes the user (`Reason::kind`).
    pub reason: &'a str,
    pub outcome: Recorded,
    pub http_status: Option<u16>,
    pub cf_ray: Option<&'a str>,
    pub attempts: u32,
    /// Why the deletion failed or is not known to have happened, with Cloudflare's error codes.
    pub error: Option<(&'a str, &'a [i64])>,
    pub desired_digest: &'a str,
    pub live_fingerprint: &'a str,
    pub actor: &'a Actor,
}

/// A record as written. The fields are in alphabetical order, with `prev` among them: the order
/// the log has always had (its lines were once serialised from a sorted map), which `hash`
/// covers byte for byte. `hash` is added after the object is written.
#[derive(Serialize)]
struct Line<'a> {
    account: &'a str,
    actor: &'a Actor,
    attempts: u32,
    cf_ray: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloudflare_codes: Option<&'a [i64]>,
    desired_digest: &'a str,
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    http_status: Option<u16>,
    live_fingerprint: &'a str,
    outcome: Recorded,
    prev: &'a str,
    reason: &'a str,
    run: &'a str,
    time: &'a str,
    tool: &'static str,
    user_id: &'a str,
}

impl<'a> Line<'a> {
    fn new(entry: &'a Entry<'a>, prev: &'a str) -> Line<'a> {
        Line {
            account: entry.account,
            actor: entry.actor,
            attempts: entry.attempts,
            cf_ray: entry.cf_ray,
            cloudflare_codes: entry.error.map(|(_, codes)| codes),
            desired_digest: entry.desired_digest,
            email: entry.email,
            error: entry.error.map(|(text, _)| text),
            http_status: entry.http_status,
            live_fingerprint: entry.live_fingerprint,
            outcome: entry.outcome,
            prev,
            reason: entry.reason,
            run: entry.run,
            time: &entry.time,
            tool: concat!("reconcile ", env!("CARGO_PKG_VERSION")),
            user_id: entry.user_id,
        }
    }
}

/// What happened to one write of the door, as the log names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorRecorded {
    Done,
    /// Done, but an answer was lost: reading back found the change made.
    DoneAnswerLost,
    Failed,
    /// Not sent: an earlier write failed.
    NotSent,
    /// Stopped by Ctrl-C or SIGTERM while it was being sent: whether it was made is unknown.
    Interrupted,
}

/// One record of a door write (`"kind": "door"`): which list or group, what was added and
/// removed (a list's addresses) or the include sent (the group's), and how it went. Chained
/// with the users' records in one log.
#[derive(Clone, Debug, PartialEq)]
pub struct DoorEntry<'a> {
    pub time: String,
    pub run: &'a str,
    pub account: &'a str,
    /// `create_list`, `change_list`, `create_group` or `change_group`.
    pub action: &'static str,
    pub name: &'a str,
    pub id: Option<&'a str>,
    pub added: &'a [String],
    pub removed: &'a [String],
    pub include: &'a [Value],
    pub outcome: DoorRecorded,
    pub error: Option<&'a str>,
    pub desired_digest: &'a str,
    /// The door's fingerprint as the plan read it.
    pub door_fingerprint: &'a str,
    pub actor: &'a Actor,
}

/// A door record as written: fields in alphabetical order, as [`Line`].
#[derive(Serialize)]
struct DoorLine<'a> {
    account: &'a str,
    action: &'a str,
    actor: &'a Actor,
    added: &'a [String],
    desired_digest: &'a str,
    door_fingerprint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    id: Option<&'a str>,
    include: &'a [Value],
    kind: &'static str,
    name: &'a str,
    outcome: DoorRecorded,
    prev: &'a str,
    removed: &'a [String],
    run: &'a str,
    time: &'a str,
    tool: &'static str,
}

/// The `kind` of a door record; the users' records have no `kind`.
const DOOR_KIND: &str = "door";

impl<'a> DoorLine<'a> {
    fn new(entry: &'a DoorEntry<'a>, prev: &'a str) -> DoorLine<'a> {
        DoorLine {
            account: entry.account,
            action: entry.action,
            actor: entry.actor,
            added: entry.added,
            desired_digest: entry.desired_digest,
            door_fingerprint: entry.door_fingerprint,
            error: entry.error,
            id: entry.id,
            include: entry.include,
            kind: DOOR_KIND,
            name: entry.name,
            outcome: entry.outcome,
            prev,
            removed: entry.removed,
            run: entry.run,
            time: &entry.time,
            tool: concat!("reconcile ", env!("CARGO_PKG_VERSION")),
        }
    }
}

impl Actor {
    /// Read from the environment (`var` is the process environment, read once by `cli`).
    pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> Actor {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let is_true = |name: &str| get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let ci = if is_true("GITHUB_ACTIONS") {
            let (server, repo, run) = (
                get("GITHUB_SERVER_URL"),
                get("GITHUB_REPOSITORY"),
                get("GITHUB_RUN_ID"),
            );
            Some(Ci {
                system: "github-actions".into(),
                url: match (&server, &repo, &run) {
                    (Some(s), Some(r), Some(id)) => Some(format!("{s}/{r}/actions/runs/{id}")),
                    _ => None,
                },
                run_id: run,
                job_id: get("GITHUB_JOB"),
                repository: repo,
                actor: get("GITHUB_ACTOR"),
            })
        } else if is_true("GITLAB_CI") {
            Some(Ci {
                system: "gitlab-ci".into(),
                run_id: get("CI_PIPELINE_ID"),
                job_id: get("CI_JOB_ID"),
                repository: get("CI_PROJECT_PATH"),
                actor: get("GITLAB_USER_LOGIN"),
                url: get("CI_JOB_URL"),
            })
        } else if get("CI").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false")) {
            Some(Ci {
                system: "ci".into(),
                ..Ci::default()
            })
        } else {
            None
        };
        Actor {
            user: get("USER")
                .or_else(|| get("LOGNAME"))
                .or_else(|| get("USERNAME"))
                // Cron, systemd units and `env -i` set none of them; the effective user id
                // still says whose authority the deletions ran under.
                .or_else(|| effective_uid().map(|uid| format!("uid {uid}"))),
            ci,
        }
    }
}

/// The process's effective user id: the owner of its `/proc` entry, which the kernel sets to
/// it (`geteuid` itself is an unsafe FFI call, and this crate forbids `unsafe`). `None` where
/// there is no `/proc` (macOS, the BSDs) and off Unix.
fn effective_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// What goes wrong with an audit log. The messages quote the path and, for a broken chain, text
/// from the log itself (a `prev` value, a parse error): both reach the terminal only through
/// [`printable`], so an edited log cannot rewrite the lines shown around it.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {}: {source}\n  help: check the path given to --audit-log and that it is writable", display_path(.path))]
    Io { path: PathBuf, source: io::Error },
    #[error("audit log {}: line {line}: {}\n  help: the log was edited, truncated or reordered; keep it for review and start a new log file", display_path(.path), printable(.why))]
    Broken {
        path: PathBuf,
        line: usize,
        why: String,
    },
    /// The chain holds, but a record lacks what every record apply writes has.
    #[error("audit log {}: line {line}: {}\n  help: this is not a record written by reconcile apply --audit-log; keep the log for review and pass the log apply wrote", display_path(.path), printable(.why))]
    Unreadable {
        path: PathBuf,
        line: usize,
        why: String,
    },
    /// The path names a FIFO, a device...: opening or reading it could wait forever.
    #[error("audit log {}: {why}\n  help: give --audit-log a regular file (it is created if missing)", display_path(.path))]
    NotAFile { path: PathBuf, why: String },
    /// Another process holds the log's lock: an apply is writing it.
    #[error("audit log {}: another reconcile apply is writing it; wait for it to finish, then run again; {outcome}\n  help: runs that share one --audit-log take turns, so that its chain stays one chain", display_path(.path))]
    Locked {
        path: PathBuf,
        /// What this run did not do: "nothing was deleted" or "the log was not verified".
        outcome: &'static str,
    },
}

/// A FIFO or a device given as the log would block the run: refused before it is opened.
fn refuse_irregular(path: &Path) -> Result<(), AuditError> {
    fsread::refuse_irregular(path).map_err(|e| match e {
        fsread::ReadError::Io(source) => AuditError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => AuditError::NotAFile {
            path: path.to_path_buf(),
            why: other.to_string(),
        },
    })
}

/// Where a chain breaks: the first bad line (1-based) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Break {
    pub line: usize,
    pub why: String,
}

/// Check a whole log. Ok: the number of records and the hash of the last (or [`GENESIS`]).
#[cfg(test)]
pub(crate) fn verify(text: &str) -> Result<(usize, String), Break> {
    verify_reader(text.as_bytes())
}

/// A record is a few hundred bytes; a line far longer than this is not one.
const MAX_LINE_BYTES: u64 = 1024 * 1024;

/// [`verify`], reading line by line: a log of any length is checked in constant memory.
pub(crate) fn verify_reader(reader: impl BufRead) -> Result<(usize, String), Break> {
    walk(reader, |_, _| {})
}

/// Verify the chain line by line, handing each record that checks out to `each` (its 1-based
/// line and its fields) before the next line is read.
fn walk(
    mut reader: impl BufRead,
    mut each: impl FnMut(usize, Map<String, Value>),
) -> Result<(usize, String), Break> {
    let mut prev = GENESIS.to_string();
    let mut count = 0;
    let mut raw = String::new();
    for line in 1.. {
        raw.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES + 1)
            .read_line(&mut raw)
            .map_err(|e| Break {
                line,
                why: format!("cannot be read as text: {e}"),
            })?;
        if read == 0 {
            break;
        }
        if read as u64 > MAX_LINE_BYTES {
            return Err(Break {
                line,
                why: format!("longer than {MAX_LINE_BYTES} bytes: not a record"),
            });
        }
        let fail = |why: String| Break { line, why };
        let record_text = raw.strip_suffix('\n').unwrap_or(&raw);
        if record_text.is_empty() {
            return Err(fail("empty line".into()));
        }
        let (content, hash) = split_hash(record_text)
            .ok_or_else(|| fail("not a record: it does not end with its \"hash\"".into()))?;
        let record: Map<String, Value> =
            serde_json::from_str(&content).map_err(|e| fail(format!("not a JSON record: {e}")))?;
        let claimed_prev = record.get("prev").and_then(Value::as_str).unwrap_or("");
        if claimed_prev != prev {
            return Err(fail(format!(
                "the chain is broken: \"prev\" is {claimed_prev}, the record before hashes to {prev} (a record before it was removed, changed or moved)"
            )));
        }
        let actual = sha256(content.as_bytes());
        if actual != hash {
            return Err(fail(format!(
                "the record was changed: it hashes to {actual}, not {hash}"
            )));
        }
        prev = hash.to_string();
        count += 1;
        each(line, record);
    }
    Ok((count, prev))
}

/// `{…,"hash":"sha256:…"}` → (`{…}`, the hash).
fn split_hash(line: &str) -> Option<(String, &str)> {
    let at = line.rfind(",\"hash\":\"")?;
    let hash = line[at..]
        .strip_prefix(",\"hash\":\"")?
        .strip_suffix("\"}")?;
    let ok = hash.len() == 71
        && hash.starts_with("sha256:")
        && hash[7..].bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| (format!("{}}}", &line[..at]), hash))
}

/// Read and verify a log file. It is read under a shared lock: while an apply holds the log
/// (and may be half-way through a line), it is not read, rather than reported broken.
pub(crate) fn verify_file(path: &Path) -> Result<(usize, String), AuditError> {
    let file = open_shared(path)?;
    verify_open(&file, path)
}

/// Open a log for reading under a shared lock (see [`verify_file`]).
fn open_shared(path: &Path) -> Result<File, AuditError> {
    refuse_irregular(path)?;
    let file = File::open(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match file.try_lock_shared() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(AuditError::Locked {
                path: path.to_path_buf(),
                outcome: "the log was not verified",
            })
        }
        Err(TryLockError::Error(source)) => {
            return Err(AuditError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    }
    Ok(file)
}

/// One record as read back: what a reader of past runs needs. The full record stays in the log;
/// this is only ever read, never written (records are written from [`Entry`] alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// Where it is in its file, 1-based, for messages.
    pub line: usize,
    pub account: String,
    pub user_id: String,
    pub email: Option<String>,
    /// `None`: an outcome this version does not know (a later version wrote it).
    pub outcome: Option<Recorded>,
    /// RFC 3339, as written.
    pub time: String,
    pub run: String,
}

impl Recorded {
    /// The outcome as a record names it (the inverse of its serialisation).
    fn from_name(name: &str) -> Option<Recorded> {
        Some(match name {
            "deleted" => Recorded::Deleted,
            "already_gone" => Recorded::AlreadyGone,
            "deleted_answer_lost" => Recorded::DeletedAnswerLost,
            "failed" => Recorded::Failed,
            "interrupted" => Recorded::Interrupted,
            "not_attempted" => Recorded::NotAttempted,
            _ => return None,
        })
    }
}

impl Record {
    /// The fields of a record whose hash checked out. A record without them is not one apply
    /// wrote, hash or not: refused rather than guessed at.
    fn from_fields(line: usize, fields: &Map<String, Value>) -> Result<Record, String> {
        let text = |name: &str| -> Result<String, String> {
            match fields.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(format!("\"{name}\" is not a string")),
                None => Err(format!("the record has no \"{name}\"")),
            }
        };
        let email = match fields.get("email") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) => None,
            Some(_) => return Err("\"email\" is neither a string nor null".into()),
            None => return Err("the record has no \"email\"".into()),
        };
        Ok(Record {
            line,
            account: text("account")?,
            user_id: text("user_id")?,
            email,
            outcome: Recorded::from_name(&text("outcome")?),
            time: text("time")?,
            run: text("run")?,
        })
    }
}

/// Verify a whole log and read its records, from `reader`. A broken chain is reported before a
/// record that lacks a field, wherever each is: nothing from a broken log is used.
fn records_from(reader: impl BufRead, path: &Path) -> Result<Vec<Record>, AuditError> {
    let mut records = Vec::new();
    let mut unreadable: Option<(usize, String)> = None;
    walk(reader, |line, fields| {
        // A door write's record is not about a user: `--history` reads the users' records.
        let door = fields.get("kind").and_then(Value::as_str) == Some(DOOR_KIND);
        if unreadable.is_none() && !door {
            match Record::from_fields(line, &fields) {
                Ok(record) => records.push(record),
                Err(why) => unreadable = Some((line, why)),
            }
        }
    })
    .map_err(|b| AuditError::Broken {
        path: path.to_path_buf(),
        line: b.line,
        why: b.why,
    })?;
    match unreadable {
        Some((line, why)) => Err(AuditError::Unreadable {
            path: path.to_path_buf(),
            line,
            why,
        }),
        None => Ok(records),
    }
}

/// Read a log's records, once its whole chain verifies; under a shared lock, as
/// [`verify_file`].
pub(crate) fn read_records(path: &Path) -> Result<Vec<Record>, AuditError> {
    let file = open_shared(path)?;
    records_from(io::BufReader::new(&file), path)
}

/// Verify the log read from `file`, from its start.
fn verify_open(file: &File, path: &Path) -> Result<(usize, String), AuditError> {
    verify_reader(io::BufReader::new(file)).map_err(|b| AuditError::Broken {
        path: path.to_path_buf(),
        line: b.line,
        why: b.why,
    })
}

/// An open log, appended to record by record. It holds an exclusive lock on the file from
/// [`AuditLog::open`] until it is dropped (the end of the apply): a second apply sharing the log
/// would otherwise verify the same head and fork the chain with records of its own.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
    head: String,
    written: usize,
}

impl AuditLog {
    /// Open `path` for appending, creating it, and lock it; refuse at once when another process
    /// holds the lock. An existing log must verify first, read under the lock, so that the head
    /// it continues from is the last one written.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        let io = |source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        };
        refuse_irregular(path)?;
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(AuditError::Locked {
                    path: path.to_path_buf(),
                    outcome: "nothing was deleted",
                })
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        let (_, head) = verify_open(&file, path)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            file,
            head,
            written: 0,
        })
    }

    /// Append one record (its `prev` and `hash` are set here) and flush it to the file.
    pub fn append(&mut self, entry: &Entry<'_>) -> Result<(), AuditError> {
        let content = serde_json::to_string(&Line::new(entry, &self.head));
        self.append_line(content)
    }

    /// Append one record of a door write, chained like the users' records.
    pub fn append_door(&mut self, entry: &DoorEntry<'_>) -> Result<(), AuditError> {
        let content = serde_json::to_string(&DoorLine::new(entry, &self.head));
        self.append_line(content)
    }

    fn append_line(&mut self, content: serde_json::Result<String>) -> Result<(), AuditError> {
        let content = content.map_err(|e| AuditError::Io {
            path: self.path.clone(),
            source: e.into(),
        })?;
        let hash = sha256(content.as_bytes());
        let line = format!(
            "{},\"hash\":\"{hash}\"}}\n",
            content.strip_suffix('}').unwrap_or(&content)
        );
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|source| AuditError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.head = hash;
        self.written += 1;
        Ok(())
    }

    /// The log's records as they stand, read under this log's own lock (a second open of the
    /// file would be refused by it): what the run appends to comes after them.
    pub(crate) fn records(&self) -> Result<Vec<Record>, AuditError> {
        let mut file = &self.file;
        file.seek(SeekFrom::Start(0))
            .map_err(|source| AuditError::Io {
                path: self.path.clone(),
                source,
            })?;
        // Appends go to the end whatever the position: the file is opened for appending.
        records_from(io::BufReader::new(file), &self.path)
    }

    /// Make the records durable.
    pub fn sync(&self) -> Result<(), AuditError> {
        self.file.sync_data().map_err(|source| AuditError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// The hash of the last record: keep it elsewhere to detect a removed tail later.
    pub fn head(&self) -> &str {
        &self.head
    }

    pub fn written(&self) -> usize {
        self.written
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Seconds since the Unix epoch (UTC) as RFC 3339, with milliseconds.
#[cfg(test)]
pub(crate) fn rfc3339(secs: i64, millis: u32) -> String {
    crate::date::format_timestamp(secs, Some(millis))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOBODY: Actor = Actor {
        ci: None,
        user: None,
    };

    fn entry(user_id: &str) -> Entry<'_> {
        Entry {
            time: "2026-12-01T10:31:27.831Z".into(),
            run: "run1",
            account: "acc",
            user_id,
            email: Some("bob@example.com"),
            reason: "not_allowed",
            outcome: Recorded::Deleted,
            http_status: None,
            cf_ray: None,
            attempts: 1,
            error: None,
            desired_digest: "sha256:d",
            live_fingerprint: "sha256:l",
            actor: &NOBODY,
        }
    }

    fn record(n: u64) -> Entry<'static> {
        entry(["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"][n as usize])
    }

    fn log_with(n: u64) -> (tempfile::TempDir, PathBuf, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&path).unwrap();
        for i in 0..n {
            log.append(&record(i)).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        (dir, path, text)
    }

    #[test]
    fn a_written_chain_verifies_and_appending_continues_it() {
        let (_dir, path, text) = log_with(3);
        let (count, head) = verify(&text).unwrap();
        assert_eq!(count, 3);
        assert!(text.lines().next().unwrap().contains(GENESIS));
        let mut log = AuditLog::open(&path).unwrap();
        assert_eq!(log.head(), head);
        log.append(&record(9)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(verify(&text).unwrap().0, 4);
        assert!(text.lines().nth(3).unwrap().contains(&head));
        assert_eq!(verify("").unwrap(), (0, GENESIS.to_string()));
    }

    #[test]
    fn edits_removals_and_reorders_are_found_with_their_line() {
        let (_dir, _path, text) = log_with(4);
        let lines: Vec<&str> = text.lines().collect();
        let join = |v: Vec<&str>| v.join("\n") + "\n";

        let edited = text.replacen("\"u1\"", "\"u7\"", 1);
        assert_eq!(verify(&edited).unwrap_err().line, 2);
        let last_edited = text.replacen("\"u3\"", "\"u8\"", 1);
        assert_eq!(verify(&last_edited).unwrap_err().line, 4);

        let removed = join(vec![lines[0], lines[2], lines[3]]);
        assert_eq!(verify(&removed).unwrap_err().line, 2);
        let first_removed = join(vec![lines[1], lines[2], lines[3]]);
        assert_eq!(verify(&first_removed).unwrap_err().line, 1);

        let swapped = join(vec![lines[0], lines[2], lines[1], lines[3]]);
        assert_eq!(verify(&swapped).unwrap_err().line, 2);

        let broken = join(vec![lines[0], "{not json"]);
        assert_eq!(verify(&broken).unwrap_err().line, 2);
        let blank = join(vec![lines[0], "", lines[1]]);
        assert_eq!(verify(&blank).unwrap_err().line, 2);
    }

    #[test]
    fn a_broken_log_is_not_appended_to() {
        let (_dir, path, text) = log_with(2);
        std::fs::write(&path, text.replacen("\"u0\"", "\"ux\"", 1)).unwrap();
        let e = AuditLog::open(&path).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn an_open_log_is_locked_until_it_is_dropped() {
        let (_dir, path, _) = log_with(1);
        let mut log = AuditLog::open(&path).unwrap();
        let e = AuditLog::open(&path).unwrap_err();
        assert!(matches!(e, AuditError::Locked { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("another reconcile apply is writing it"),
            "{e}"
        );
        assert!(matches!(verify_file(&path), Err(AuditError::Locked { .. })));
        log.append(&record(1)).unwrap();
        drop(log);
        let mut again = AuditLog::open(&path).unwrap();
        again.append(&record(2)).unwrap();
        drop(again);
        assert_eq!(verify_file(&path).unwrap().0, 3);
    }

    #[test]
    fn broken_chain_messages_escape_the_log_text() {
        let e = AuditError::Broken {
            path: PathBuf::from("a\u{202e}.jsonl"),
            line: 2,
            why: "\"prev\" is \u{1b}[2K".into(),
        };
        let text = e.to_string();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text}"
        );
        assert!(
            text.contains("a\\u{202e}.jsonl: line 2: \"prev\" is \\u{1b}[2K"),
            "{text}"
        );
    }

    #[test]
    fn actor_from_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let a = Actor::from_env(&env(&[("USER", "ana")]));
        assert_eq!(
            a,
            Actor {
                user: Some("ana".into()),
                ci: None
            }
        );
        let a = Actor::from_env(&env(&[
            ("LOGNAME", "runner"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_REPOSITORY", "org/repo"),
            ("GITHUB_ACTOR", "octo"),
            ("GITHUB_SERVER_URL", "https://github.com"),
        ]));
        let ci = a.ci.unwrap();
        assert_eq!(a.user.as_deref(), Some("runner"));
        assert_eq!(ci.system, "github-actions");
        assert_eq!(
            ci.url.as_deref(),
            Some("https://github.com/org/repo/actions/runs/42")
        );
        let a = Actor::from_env(&env(&[("GITLAB_CI", "true"), ("CI_JOB_ID", "7")]));
        assert_eq!(a.ci.unwrap().job_id.as_deref(), Some("7"));
        // No USER, LOGNAME or USERNAME: the effective user id, where it can be read.
        let a = Actor::from_env(&env(&[]));
        assert_eq!(a.user, effective_uid().map(|uid| format!("uid {uid}")));
        if cfg!(target_os = "linux") {
            assert!(a.user.is_some());
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(1_798_761_599, 999), "2026-12-31T23:59:59.999Z");
        assert_eq!(
            crate::date::Clock::Fixed(1_798_761_599).rfc3339_millis(),
            "2026-12-31T23:59:59.000Z"
        );
    }

    /// The records' text, byte for byte as the log has always written it (field order included):
    /// a change here changes every hash and what the docs and log readers expect.
    #[test]
    fn records_are_written_as_they_always_were() {
        let ci = Actor {
            ci: Some(Ci {
                system: "github-actions".into(),
                run_id: Some("1".into()),
                job_id: Some("j".into()),
                repository: Some("o/r".into()),
                actor: Some("octo".into()),
                url: Some("u".into()),
            }),
            user: Some("ana".into()),
        };
        let id = "2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60";
        let base = Entry {
            actor: &ci,
            ..entry(id)
        };
        let interrupted =
            "interrupted while the deletion was in flight: the outcome is unknown; run apply again";
        let entries = [
            Entry {
                http_status: Some(403),
                cf_ray: Some("ray1"),
                attempts: 2,
                ..base.clone()
            },
            Entry {
                outcome: Recorded::Failed,
                http_status: Some(403),
                cf_ray: Some("ray1"),
                attempts: 2,
                error: Some(("boom", &[9109])),
                ..base.clone()
            },
            Entry {
                outcome: Recorded::Interrupted,
                attempts: 0,
                error: Some((interrupted, &[])),
                ..base.clone()
            },
            Entry {
                outcome: Recorded::NotAttempted,
                attempts: 0,
                ..base.clone()
            },
            Entry {
                outcome: Recorded::AlreadyGone,
                attempts: 0,
                ..entry(id)
            },
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&path).unwrap();
        for e in &entries {
            log.append(e).unwrap();
        }
        let expected = [
            r#"{"account":"acc","actor":{"ci":{"actor":"octo","job_id":"j","repository":"o/r","run_id":"1","system":"github-actions","url":"u"},"user":"ana"},"attempts":2,"cf_ray":"ray1","desired_digest":"sha256:d","email":"bob@example.com","http_status":403,"live_fingerprint":"sha256:l","outcome":"deleted","prev":"sha256:0000000000000000000000000000000000000000000000000000000000000000","reason":"not_allowed","run":"run1","time":"2026-12-01T10:31:27.831Z","tool":"reconcile 0.1.0","user_id":"2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60","hash":"sha256:b8fed5560aff6171eec7265adb3ea3016424c32e7364e1b10ce6f8cfc0aea8f9"}"#,
            r#"{"account":"acc","actor":{"ci":{"actor":"octo","job_id":"j","repository":"o/r","run_id":"1","system":"github-actions","url":"u"},"user":"ana"},"attempts":2,"cf_ray":"ray1","cloudflare_codes":[9109],"desired_digest":"sha256:d","email":"bob@example.com","error":"boom","http_status":403,"live_fingerprint":"sha256:l","outcome":"failed","prev":"sha256:b8fed5560aff6171eec7265adb3ea3016424c32e7364e1b10ce6f8cfc0aea8f9","reason":"not_allowed","run":"run1","time":"2026-12-01T10:31:27.831Z","tool":"reconcile 0.1.0","user_id":"2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60","hash":"sha256:02c545599dd78cf80d8ec6714dbb46b4dcd29beffd2a5ffd2cf5deca33955234"}"#,
            r#"{"account":"acc","actor":{"ci":{"actor":"octo","job_id":"j","repository":"o/r","run_id":"1","system":"github-actions","url":"u"},"user":"ana"},"attempts":0,"cf_ray":null,"cloudflare_codes":[],"desired_digest":"sha256:d","email":"bob@example.com","error":"interrupted while the deletion was in flight: the outcome is unknown; run apply again","http_status":null,"live_fingerprint":"sha256:l","outcome":"interrupted","prev":"sha256:02c545599dd78cf80d8ec6714dbb46b4dcd29beffd2a5ffd2cf5deca33955234","reason":"not_allowed","run":"run1","time":"2026-12-01T10:31:27.831Z","tool":"reconcile 0.1.0","user_id":"2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60","hash":"sha256:3ae0586b4f5825d2082e2bb55de90f9f2881d21a4e0a3efa82f82f4f2e2501e2"}"#,
            r#"{"account":"acc","actor":{"ci":{"actor":"octo","job_id":"j","repository":"o/r","run_id":"1","system":"github-actions","url":"u"},"user":"ana"},"attempts":0,"cf_ray":null,"desired_digest":"sha256:d","email":"bob@example.com","http_status":null,"live_fingerprint":"sha256:l","outcome":"not_attempted","prev":"sha256:3ae0586b4f5825d2082e2bb55de90f9f2881d21a4e0a3efa82f82f4f2e2501e2","reason":"not_allowed","run":"run1","time":"2026-12-01T10:31:27.831Z","tool":"reconcile 0.1.0","user_id":"2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60","hash":"sha256:69ae871c521941f60cea10c971a2ae03b9167630026b1d3d2fa57ccfd00e0a68"}"#,
            r#"{"account":"acc","actor":{},"attempts":0,"cf_ray":null,"desired_digest":"sha256:d","email":"bob@example.com","http_status":null,"live_fingerprint":"sha256:l","outcome":"already_gone","prev":"sha256:69ae871c521941f60cea10c971a2ae03b9167630026b1d3d2fa57ccfd00e0a68","reason":"not_allowed","run":"run1","time":"2026-12-01T10:31:27.831Z","tool":"reconcile 0.1.0","user_id":"2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60","hash":"sha256:9495c6843c994b88660f317221c32f4d4afa247b567e681799cef7f3b5ce83eb"}"#,
        ];
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
        assert_eq!(verify(&text).unwrap().0, 5);
    }

    #[test]
    fn records_are_read_back_once_the_chain_verifies() {
        let (_dir, path, _) = log_with(2);
        let records = read_records(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[1],
            Record {
                line: 2,
                account: "acc".into(),
                user_id: "u1".into(),
                email: Some("bob@example.com".into()),
                outcome: Some(Recorded::Deleted),
                time: "2026-12-01T10:31:27.831Z".into(),
                run: "run1".into(),
            }
        );
        // Read under the log's own lock, then appended to: the chain goes on.
        let mut log = AuditLog::open(&path).unwrap();
        assert_eq!(log.records().unwrap(), records);
        log.append(&record(5)).unwrap();
        assert_eq!(log.records().unwrap().len(), 3);
        drop(log);
        assert_eq!(verify_file(&path).unwrap().0, 3);
    }

    #[test]
    fn every_outcome_reads_back_as_written() {
        for outcome in [
            Recorded::Deleted,
            Recorded::AlreadyGone,
            Recorded::DeletedAnswerLost,
            Recorded::Failed,
            Recorded::Interrupted,
            Recorded::NotAttempted,
        ] {
            let name = serde_json::to_value(outcome).unwrap();
            assert_eq!(Recorded::from_name(name.as_str().unwrap()), Some(outcome));
        }
        assert_eq!(Recorded::from_name("vanished"), None);
    }

    #[test]
    fn a_broken_or_incomplete_log_gives_no_records() {
        let (_dir, path, text) = log_with(3);
        std::fs::write(&path, text.replacen("\"u1\"", "\"u7\"", 1)).unwrap();
        let e = read_records(&path).unwrap_err();
        assert!(matches!(e, AuditError::Broken { line: 2, .. }), "{e}");
        // A line with a valid hash that lacks a field apply always writes.
        let content = r#"{"account":"acc","prev":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}"#;
        let hash = sha256(content.as_bytes());
        let line = format!("{},\"hash\":\"{hash}\"}}\n", &content[..content.len() - 1]);
        std::fs::write(&path, line).unwrap();
        let e = read_records(&path).unwrap_err();
        assert!(matches!(e, AuditError::Unreadable { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("line 1: the record has no"), "{e}");
        let missing = path.with_file_name("none.jsonl");
        assert!(matches!(read_records(&missing), Err(AuditError::Io { .. })));
    }

    #[test]
    fn hostile_logs_give_clean_errors() {
        assert_eq!(verify("\n").unwrap_err().line, 1);
        assert_eq!(verify("").unwrap(), (0, GENESIS.to_string()));
        let long = "x".repeat(MAX_LINE_BYTES as usize + 10);
        assert!(verify(&long).unwrap_err().why.contains("longer than"));
        let bad_utf8: &[u8] = b"{\"a\":\"\xff\"}\n";
        assert!(verify_reader(bad_utf8)
            .unwrap_err()
            .why
            .contains("cannot be read as text"));
        assert!(verify("{\"hash\":\"sha256:zz\"}\n").is_err());
    }
}
