//! What `apply` did, as one JSON document (`apply --format json`), for pipelines and scripts:
//! the plan that was approved, every planned user's outcome, the counts, the verdict and what
//! the final listing found. The schema is documented in docs/output.md ("The apply report
//! (JSON)") and changes only with a new [`FORMAT_VERSION`]; it is written by the same escaping
//! writer as the JSON plan ([`crate::text::write_json_pretty`]), so printing it cannot move the
//! cursor or hide a character. Never coloured.

use std::io::{self, Write};

use serde::Serialize;

use super::{json, words, Applied, Approved};
use crate::apply::door::{DoorOutcome, DoorRun};
use crate::apply::{Outcome, Stop, Unchecked, Verification, INTERRUPTED};
use crate::plan::recheck::Skip;
use crate::plan::Decision;

/// The version of the JSON apply report.
pub(crate) const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    format_version: u32,
    kind: &'static str,
    account_id: &'a str,
    /// `plan` (apply planned afresh and approved it) or `saved_plan` (apply PLAN_FILE).
    source: &'static str,
    plan: Option<json::Document<'a>>,
    saved_plan: Option<SavedOut<'a>>,
    complete: bool,
    counts: Counts,
    results: Vec<ResultOut<'a>>,
    unconfirmed: Vec<UserRef<'a>>,
    stopped: Option<StopOut>,
    verification: VerificationOut<'a>,
    audit_log: Option<AuditOut<'a>>,
    audit_error: Option<&'a str>,
    /// The door's writes, in the order sent; `null` when the plan did not change the door.
    door: Option<DoorOut<'a>>,
}

#[derive(Serialize)]
struct DoorOut<'a> {
    /// Every write done (and recorded in the audit log, when there is one).
    complete: bool,
    writes: Vec<DoorWriteOut<'a>>,
    audit_error: Option<&'a str>,
}

#[derive(Serialize)]
struct DoorWriteOut<'a> {
    /// `create_list`, `change_list`, `create_group` or `change_group`.
    action: &'static str,
    name: &'a str,
    id: Option<&'a str>,
    added: &'a [String],
    removed: &'a [String],
    include: &'a [serde_json::Value],
    /// `done`, `failed` or `not_sent`.
    outcome: &'static str,
    error: Option<&'a str>,
    /// Done, but an answer was lost: reading back found the change made.
    answer_lost: bool,
}

#[derive(Serialize)]
struct SavedOut<'a> {
    path: &'a str,
    tool_version: &'a str,
    created_at: &'a str,
    expires_at: &'a str,
    desired_digest: &'a str,
    live_fingerprint: &'a str,
    live_count: u64,
    deletions: usize,
}

#[derive(Serialize, Default)]
struct Counts {
    planned: usize,
    deleted: usize,
    deleted_answer_lost: usize,
    already_gone: usize,
    failed: usize,
    interrupted: usize,
    not_attempted: usize,
    skipped: usize,
    unconfirmed: usize,
}

#[derive(Serialize)]
struct ResultOut<'a> {
    id: Option<&'a str>,
    email: Option<&'a str>,
    outcome: &'static str,
    /// Failed or interrupted: what went wrong, for people.
    error: Option<String>,
    /// Skipped: why the re-check did not confirm the user.
    skip: Option<SkipOut>,
    http_status: Option<u16>,
    cf_ray: Option<&'a str>,
    attempts: u32,
    cloudflare_codes: &'a [i64],
}

#[derive(Serialize)]
struct SkipOut {
    kind: &'static str,
    text: String,
}

#[derive(Serialize)]
struct UserRef<'a> {
    id: Option<&'a str>,
    email: Option<&'a str>,
}

#[derive(Serialize)]
struct StopOut {
    kind: &'static str,
    text: String,
}

#[derive(Serialize)]
struct VerificationOut<'a> {
    status: &'static str,
    text: String,
    still_present: Vec<StillOut<'a>>,
}

#[derive(Serialize)]
struct StillOut<'a> {
    id: Option<&'a str>,
    email: Option<&'a str>,
    /// The run had an outcome saying the user was deleted or gone.
    claimed_gone: bool,
}

#[derive(Serialize)]
struct AuditOut<'a> {
    path: String,
    records: usize,
    head: &'a str,
}

fn user_ref(d: &Decision) -> UserRef<'_> {
    UserRef {
        id: d.user.id.as_deref(),
        email: d.user.email.as_deref(),
    }
}

/// The stable name of an outcome: the audit log's.
pub(super) fn outcome_kind(o: &Outcome) -> &'static str {
    match o {
        Outcome::Deleted => "deleted",
        Outcome::DeletedAnswerLost => "deleted_answer_lost",
        Outcome::AlreadyGone => "already_gone",
        Outcome::Failed(_) => "failed",
        Outcome::Interrupted => "interrupted",
        Outcome::NotAttempted => "not_attempted",
    }
}

fn skip_kind(s: &Skip) -> &'static str {
    match s {
        Skip::Gone => "gone",
        Skip::EmailChanged { .. } => "email_changed",
        Skip::NotAnExtra { .. } => "not_an_extra",
        Skip::InvalidId => "invalid_id",
        Skip::SharedId => "shared_id",
    }
}

fn stop_kind(s: &Stop) -> &'static str {
    match s {
        Stop::InterruptedBeforeFirst(_) => "interrupted_before_first",
        Stop::Interrupted(_) => "interrupted",
        Stop::AuthRefused => "auth_refused",
        Stop::WaitTooLong => "wait_too_long",
        Stop::AuditWrite => "audit_write",
        Stop::PermissionRefused => "permission_refused",
    }
}

fn verification<'a>(v: Option<&'a Verification>) -> VerificationOut<'a> {
    let (status, text, still) = match v {
        None | Some(Verification::Skipped(Unchecked::NotNeeded)) => {
            ("not_needed", "nothing was to be deleted".to_string(), None)
        }
        Some(Verification::Skipped(Unchecked::StoppedEarly)) => (
            "stopped_early",
            "not listed again: the run stopped early, so some planned users are surely still present".to_string(),
            None,
        ),
        Some(Verification::Interrupted(signal)) => (
            "interrupted",
            format!("interrupted ({signal}) during the final listing; run apply again to be sure"),
            None,
        ),
        Some(Verification::Failed(e)) => (
            "failed",
            format!("the users could not be listed again to check the result: {e}"),
            None,
        ),
        Some(Verification::Listed(still)) if still.is_empty() => (
            "checked",
            "no planned user is still present".to_string(),
            None,
        ),
        Some(Verification::Listed(still)) => (
            "still_present",
            format!("{} planned user(s) still present", still.len()),
            Some(still),
        ),
    };
    VerificationOut {
        status,
        text,
        still_present: still
            .map(|s| {
                s.iter()
                    .map(|(d, claimed)| StillOut {
                        id: d.user.id.as_deref(),
                        email: d.user.email.as_deref(),
                        claimed_gone: *claimed,
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn document<'a>(applied: &'a Applied<'a>) -> Document<'a> {
    let (plan, saved_plan, source) = match applied.approved {
        Approved::Shown(plan) => (Some(json::document(plan)), None, "plan"),
        Approved::Saved { path, plan } => (
            None,
            Some(SavedOut {
                path,
                tool_version: &plan.tool_version,
                created_at: &plan.created_at,
                expires_at: &plan.expires_at,
                desired_digest: &plan.desired_digest,
                live_fingerprint: &plan.live_fingerprint,
                live_count: plan.live_count,
                deletions: plan.deletions.len(),
            }),
            "saved_plan",
        ),
    };
    let mut counts = Counts::default();
    let mut results = Vec::new();
    let mut unconfirmed = Vec::new();
    let mut stopped = None;
    let mut audit_log = None;
    let mut audit_error = None;
    let mut verified = None;
    if let Some((execution, unapplied)) = applied.run {
        let c = execution.report.counts();
        counts = Counts {
            planned: execution.report.results.len() + unapplied.dropped.len(),
            deleted: c.deleted,
            deleted_answer_lost: c.answer_lost,
            already_gone: c.already_gone,
            failed: c.failed,
            interrupted: c.interrupted,
            not_attempted: c.not_attempted,
            skipped: unapplied.dropped.len(),
            unconfirmed: unapplied.unconfirmed.len(),
        };
        for (i, r) in execution.report.results.iter().enumerate() {
            let d = execution.details.get(i);
            let error = match &r.outcome {
                Outcome::Failed(e) => Some(e.clone()),
                Outcome::Interrupted => Some(INTERRUPTED.to_string()),
                _ => None,
            };
            results.push(ResultOut {
                id: r.decision.user.id.as_deref(),
                email: r.decision.user.email.as_deref(),
                outcome: outcome_kind(&r.outcome),
                error,
                skip: None,
                http_status: d.and_then(|d| d.status),
                cf_ray: d.and_then(|d| d.cf_ray.as_deref()),
                attempts: d.map_or(0, |d| d.attempts),
                cloudflare_codes: d.map_or(&[], |d| d.codes.as_slice()),
            });
        }
        for dropped in &unapplied.dropped {
            results.push(ResultOut {
                id: dropped.decision.user.id.as_deref(),
                email: dropped.decision.user.email.as_deref(),
                outcome: "skipped",
                error: None,
                skip: Some(SkipOut {
                    kind: skip_kind(&dropped.skip),
                    text: words::skip(&dropped.skip),
                }),
                http_status: None,
                cf_ray: None,
                attempts: 0,
                cloudflare_codes: &[],
            });
        }
        unconfirmed = unapplied.unconfirmed.iter().map(user_ref).collect();
        stopped = execution.stopped.as_ref().map(|s| StopOut {
            kind: stop_kind(s),
            text: super::report::stop_text(s),
        });
        audit_log = execution
            .audit
            .as_ref()
            .map(|(path, records, head)| AuditOut {
                path: crate::text::display_path(path),
                records: *records,
                head,
            });
        audit_error = execution.audit_error.as_deref();
        verified = Some(&execution.verification);
    } else if !applied.complete() {
        // The door stopped the run before any deletion: every reviewed deletion is reported,
        // not attempted, so that the report does not read as a plan with nothing to delete.
        let reviewed: Vec<(Option<&str>, Option<&str>)> = match applied.approved {
            Approved::Shown(plan) => plan
                .delete
                .iter()
                .map(|d| (d.user.id.as_deref(), d.user.email.as_deref()))
                .collect(),
            Approved::Saved { plan, .. } => plan
                .deletions
                .iter()
                .map(|d| (Some(d.id.as_str()), Some(d.email.as_str())))
                .collect(),
        };
        counts.planned = reviewed.len();
        counts.not_attempted = reviewed.len();
        results = reviewed
            .into_iter()
            .map(|(id, email)| ResultOut {
                id,
                email,
                outcome: "not_attempted",
                error: None,
                skip: None,
                http_status: None,
                cf_ray: None,
                attempts: 0,
                cloudflare_codes: &[],
            })
            .collect();
    }
    Document {
        format_version: FORMAT_VERSION,
        kind: "apply",
        account_id: applied.account,
        source,
        plan,
        saved_plan,
        complete: applied.complete(),
        counts,
        results,
        unconfirmed,
        stopped,
        verification: match (applied.run, applied.door) {
            // The door was not kept: the deletions did not run, whatever was planned.
            (None, Some(door)) if !door.is_complete() => VerificationOut {
                status: "not_run",
                text: "nobody was deleted: the door was not fully kept".to_string(),
                still_present: Vec::new(),
            },
            _ => verification(verified),
        },
        audit_log,
        audit_error,
        door: applied.door.map(door),
    }
}

fn door(run: &DoorRun) -> DoorOut<'_> {
    DoorOut {
        complete: run.is_complete(),
        writes: run
            .writes
            .iter()
            .map(|w| DoorWriteOut {
                action: w.action.kind(),
                name: &w.name,
                id: w.id.as_deref(),
                added: &w.added,
                removed: &w.removed,
                include: &w.include,
                outcome: w.outcome.kind(),
                error: match &w.outcome {
                    DoorOutcome::Failed(why) => Some(why),
                    _ => None,
                },
                answer_lost: w.answer_lost,
            })
            .collect(),
        audit_error: run.audit_error.as_deref(),
    }
}

/// The apply report as pretty-printed JSON, followed by a newline: one document for the run.
pub(crate) fn render(applied: &Applied<'_>, out: &mut dyn Write) -> io::Result<()> {
    let document = document(applied);
    let mut buffered = io::BufWriter::with_capacity(1 << 16, &mut *out);
    crate::text::write_json_pretty(&mut buffered, &document)?;
    buffered.flush()?;
    drop(buffered);
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{Detail, Execution, Report, UserResult};
    use crate::plan::recheck::{Dropped, Unapplied};

    fn execution(plan: &crate::plan::Plan, outcome: Outcome) -> Execution {
        Execution {
            report: Report {
                results: vec![UserResult {
                    decision: plan.delete[0].clone(),
                    outcome,
                }],
            },
            details: vec![Detail {
                status: Some(500),
                cf_ray: Some("8f00aa11bb22cc33-AMS".into()),
                attempts: 6,
                codes: vec![10001],
            }],
            stopped: None,
            verification: Verification::Listed(vec![(plan.delete[0].clone(), false)]),
            audit: None,
            audit_error: None,
        }
    }

    fn written(applied: &Applied<'_>) -> (String, serde_json::Value) {
        let mut out = Vec::new();
        render(applied, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let value = serde_json::from_str(&text).unwrap();
        (text, value)
    }

    #[test]
    fn a_failure_is_reported_with_its_status_and_hostile_text_escaped() {
        let (_, _, plan) = crate::render::snapshot_tests::fixture();
        let error = "HTTP 500 \u{202e}\u{9b}31m spoof";
        let e = execution(&plan, Outcome::Failed(error.into()));
        let unapplied = Unapplied {
            dropped: vec![Dropped {
                decision: plan.delete[1].clone(),
                skip: Skip::Gone,
            }],
            unconfirmed: Vec::new(),
        };
        let applied = Applied {
            account: plan.account_id.as_str(),
            approved: Approved::Shown(&plan),
            run: Some((&e, &unapplied)),
            door: None,
        };
        let (text, doc) = written(&applied);
        // Printed, the document cannot reorder a line or start an escape sequence; parsed, it
        // holds the same text.
        assert!(
            !text.contains('\u{202e}') && !text.contains('\u{9b}'),
            "{text}"
        );
        assert!(text.contains("\\u202e"), "{text}");
        assert_eq!(doc["results"][0]["error"], error);
        assert_eq!(doc["results"][0]["outcome"], "failed");
        assert_eq!(doc["results"][0]["http_status"], 500);
        assert_eq!(doc["results"][0]["cloudflare_codes"][0], 10001);
        assert_eq!(doc["results"][1]["outcome"], "skipped");
        assert_eq!(doc["results"][1]["skip"]["kind"], "gone");
        assert_eq!(doc["counts"]["planned"], 2);
        assert_eq!(doc["counts"]["failed"], 1);
        assert_eq!(doc["complete"], false);
        assert_eq!(doc["verification"]["status"], "still_present");
        assert_eq!(
            doc["verification"]["still_present"][0]["id"],
            plan.delete[0].user.id.as_deref().unwrap()
        );
        // The plan is the JSON plan's own document.
        let mut plan_json = Vec::new();
        json::render(&plan, &mut plan_json).unwrap();
        let plan_value: serde_json::Value = serde_json::from_slice(&plan_json).unwrap();
        assert_eq!(doc["plan"], plan_value);
    }

    #[test]
    fn nothing_to_delete_is_complete_and_needs_no_check() {
        let (_, _, plan) = crate::render::snapshot_tests::fixture();
        let applied = Applied {
            account: plan.account_id.as_str(),
            approved: Approved::Shown(&plan),
            run: None,
            door: None,
        };
        let (_, doc) = written(&applied);
        assert_eq!(doc["complete"], true);
        assert_eq!(doc["results"], serde_json::json!([]));
        assert_eq!(doc["verification"]["status"], "not_needed");
        assert_eq!(doc["stopped"], serde_json::Value::Null);
    }
}
