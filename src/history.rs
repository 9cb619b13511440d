//! Past deletions, read from the audit logs earlier applies wrote (`--history FILE`, and apply's
//! own `--audit-log`), so that a plan can say who came back after being deleted
//! ([`crate::plan::returned`]).
//!
//! A log is used only whole: its chain must verify first, as `reconcile audit verify` checks it,
//! because a record that was edited or removed would mark the wrong people, or hide the right
//! ones. A missing or broken log is an error, not an empty history: a plan that silently read
//! nothing would say nobody returned.

use std::io;
use std::path::{Path, PathBuf};

use crate::audit::{self, AuditError, AuditLog, Record, Recorded};
use crate::date;
use crate::fsread::display_path;
use crate::model::{AccountId, Email, UserId};
use crate::plan::returned::{History, PastDeletion};

/// Why the past deletions could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history {}: no such file\n  help: pass an audit log written by `reconcile apply --audit-log FILE` (apply creates it; plan only reads it)", display_path(.path))]
    Missing { path: PathBuf },
    #[error("{0}")]
    Log(#[from] AuditError),
}

/// Read every log in `paths`, each verified whole, and keep the deletions in `account`.
pub(crate) fn load(paths: &[PathBuf], account: &AccountId) -> Result<History, HistoryError> {
    let mut history = History::default();
    for path in paths {
        let records = audit::read_records(path).map_err(|e| match e {
            AuditError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                HistoryError::Missing { path: path.clone() }
            }
            other => HistoryError::Log(other),
        })?;
        add(&mut history, &records, path, account)?;
    }
    Ok(history)
}

/// Add the deletions of an open log (apply's own `--audit-log`, read under its lock before the
/// run appends to it).
pub(crate) fn add_open(
    history: &mut History,
    log: &AuditLog,
    account: &AccountId,
) -> Result<(), HistoryError> {
    let records = log.records()?;
    add(history, &records, log.path(), account)
}

/// Keep the records of `account` whose user was deleted (`deleted`, `deleted_answer_lost`). A
/// record that cannot name a person to match (no address, or an id that is no UUID, which apply
/// never deletes) is passed over; one whose time does not read is refused.
fn add(
    history: &mut History,
    records: &[Record],
    path: &Path,
    account: &AccountId,
) -> Result<(), HistoryError> {
    history.files += 1;
    history.records += records.len();
    for record in records {
        let answer_lost = match record.outcome {
            Some(Recorded::Deleted) => false,
            Some(Recorded::DeletedAnswerLost) => true,
            _ => continue,
        };
        // Account ids are compared as the tool writes them: lower-case hexadecimal.
        if AccountId::parse(&record.account).ok().as_ref() != Some(account) {
            continue;
        }
        let (Some(email), Some(user_id)) = (
            record.email.as_deref().and_then(|e| Email::parse(e).ok()),
            UserId::parse(&record.user_id),
        ) else {
            continue;
        };
        let at = date::parse_timestamp(&record.time).ok_or_else(|| AuditError::Unreadable {
            path: path.to_path_buf(),
            line: record.line,
            why: "\"time\" is not an RFC 3339 timestamp".into(),
        })?;
        history.deletions.push(PastDeletion {
            email,
            user_id,
            time: record.time.clone(),
            at,
            run: record.run.clone(),
            answer_lost,
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::audit::{Actor, Entry};

    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
    const OTHER: &str = "0123456789abcdef0123456789abcdef";
    const ID: &str = "2a7c3f0e-5b1d-4d6e-9f8a-1c2b3d4e5f60";

    fn write(path: &Path, entries: &[(&str, &str, Option<&str>, Recorded)]) {
        let actor = Actor::default();
        let mut log = AuditLog::open(path).unwrap();
        for (account, id, email, outcome) in entries {
            log.append(&Entry {
                time: "2026-11-03T10:00:00.000Z".into(),
                run: "run1",
                account,
                user_id: id,
                email: *email,
                reason: "not_allowed",
                outcome: *outcome,
                http_status: Some(202),
                cf_ray: None,
                attempts: 1,
                error: None,
                desired_digest: "sha256:d",
                live_fingerprint: "sha256:l",
                actor: &actor,
            })
            .unwrap();
        }
    }

    #[test]
    fn only_deletions_in_the_account_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let bob = Some("Bob@Example.com");
        write(
            &path,
            &[
                (ACCOUNT, ID, bob, Recorded::Deleted),
                (ACCOUNT, ID, bob, Recorded::DeletedAnswerLost),
                (ACCOUNT, ID, bob, Recorded::AlreadyGone),
                (ACCOUNT, ID, bob, Recorded::Failed),
                (ACCOUNT, ID, bob, Recorded::Interrupted),
                (ACCOUNT, ID, bob, Recorded::NotAttempted),
                (OTHER, ID, bob, Recorded::Deleted),
                (&ACCOUNT.to_uppercase(), ID, None, Recorded::Deleted),
                (ACCOUNT, "not-a-uuid", bob, Recorded::Deleted),
            ],
        );
        let account = AccountId::parse(ACCOUNT).unwrap();
        let h = load(std::slice::from_ref(&path), &account).unwrap();
        assert_eq!((h.files, h.records), (1, 9));
        assert_eq!(h.deletions.len(), 2, "{h:?}");
        assert_eq!(h.deletions[0].email.as_str(), "bob@example.com");
        assert!(!h.deletions[0].answer_lost);
        assert!(h.deletions[1].answer_lost);
        assert_eq!(h.deletions[0].time, "2026-11-03T10:00:00.000Z");
        // Read twice: two files' worth.
        let h = load(&[path.clone(), path], &account).unwrap();
        assert_eq!((h.files, h.deletions.len()), (2, 4));
    }

    #[test]
    fn a_missing_or_broken_log_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let account = AccountId::parse(ACCOUNT).unwrap();
        let missing = dir.path().join("nope.jsonl");
        let e = load(&[missing], &account).unwrap_err();
        assert!(matches!(e, HistoryError::Missing { .. }), "{e}");
        assert!(e.to_string().contains("nope.jsonl: no such file"), "{e}");
        assert!(e.to_string().contains("apply --audit-log"), "{e}");
        let path = dir.path().join("audit.jsonl");
        write(
            &path,
            &[
                (ACCOUNT, ID, Some("a@example.com"), Recorded::Deleted),
                (ACCOUNT, ID, Some("b@example.com"), Recorded::Deleted),
            ],
        );
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("b@example.com", "c@example.com", 1)).unwrap();
        let e = load(&[path], &account).unwrap_err().to_string();
        assert!(e.contains("audit.jsonl: line 2"), "{e}");
    }
}
