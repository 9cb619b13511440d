//! The executor against a fake API: what it sends, what it records and what it concludes, with
//! no HTTP, no binary and no timing. Signals are presses on the watch channel; a fake deletion
//! can press them itself, so that "a signal while this deletion is in flight" is exact.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::*;
use crate::cloudflare::ApiMessage;
use crate::model::AccountId;
use crate::model::LiveUser;
use crate::plan::recheck::{recheck, Reviewed};
use crate::plan::Policy;

/// How the fake answers the DELETE of one user.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Deleted,
    AlreadyGone,
    Lost,
    /// 403 with Cloudflare's 9109: the credentials are refused.
    Refused,
    /// 403 with Cloudflare's 10000 to the DELETE: the credentials may list but not delete.
    NoPermission,
    /// 500 after 3 attempts.
    ServerError,
    /// The API asked for a wait longer than `--max-wait`: not sent.
    TooLong,
    /// Never answers.
    Hang,
    /// The deletion task panics.
    Panic,
}

#[derive(Default)]
struct Script {
    answers: HashMap<String, Answer>,
    /// Signals the fake sends when this user's DELETE arrives, before it answers.
    presses_on: HashMap<String, Vec<Signal>>,
    /// What the final listing returns: the ids still present, or a failure.
    listing: Option<Vec<UserId>>,
}

#[derive(Clone)]
struct Fake {
    script: Arc<Script>,
    signals: Arc<watch::Sender<Presses>>,
    /// Emails whose DELETE was sent, in order.
    deletes: Arc<Mutex<Vec<String>>>,
    lists: Arc<AtomicUsize>,
}

fn email(i: usize) -> String {
    format!("u{i}@example.com")
}

fn id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn press(signals: &watch::Sender<Presses>, signal: Signal) {
    signals.send_modify(|p| {
        *p = Presses {
            count: p.count.saturating_add(1).min(2),
            last: signal,
        }
    });
}

impl Api for Fake {
    fn delete(
        &self,
        user: Confirmed<'_>,
    ) -> impl Future<Output = Detailed<DeleteOutcome>> + Send + 'static {
        let email = user.decision().user.email.clone().unwrap_or_default();
        let fake = self.clone();
        async move {
            // Sent when the task runs, as the real client sends it.
            fake.deletes.lock().unwrap().push(email.clone());
            for signal in fake.script.presses_on.get(&email).into_iter().flatten() {
                press(&fake.signals, *signal);
            }
            let answer = fake
                .script
                .answers
                .get(&email)
                .copied()
                .unwrap_or(Answer::Deleted);
            let ok = |outcome| Detailed {
                result: Ok(outcome),
                status: Some(202),
                cf_ray: Some("ray-ok".into()),
                attempts: 1,
                unanswered: 0,
            };
            let status = |status: u16, code: i64, attempts: u32| Detailed {
                result: Err(ApiError::Status {
                    request: "DELETE /users/…".into(),
                    status,
                    errors: vec![ApiMessage {
                        code,
                        message: "refused".into(),
                        error_chain: Vec::new(),
                    }],
                }),
                status: Some(status),
                cf_ray: Some("ray-err".into()),
                attempts,
                unanswered: 0,
            };
            match answer {
                Answer::Deleted => ok(DeleteOutcome::Deleted),
                Answer::AlreadyGone => ok(DeleteOutcome::AlreadyGone),
                Answer::Lost => ok(DeleteOutcome::DeletedAnswerLost),
                Answer::Refused => status(403, 9109, 1),
                Answer::NoPermission => status(403, 10000, 1),
                Answer::ServerError => status(500, 10001, 3),
                Answer::TooLong => Detailed {
                    result: Err(ApiError::WaitTooLong {
                        request: "DELETE /users/…".into(),
                        asked: "a 429 asking for 2 h".into(),
                        max_wait: std::time::Duration::from_secs(900),
                        retry: false,
                    }),
                    status: None,
                    cf_ray: None,
                    attempts: 0,
                    unanswered: 0,
                },
                Answer::Hang => std::future::pending().await,
                Answer::Panic => panic!("a deletion task panics (on purpose, in a test)"),
            }
        }
    }

    async fn user_ids(&self) -> Result<Vec<UserId>, ApiError> {
        self.lists.fetch_add(1, Ordering::SeqCst);
        self.script
            .listing
            .clone()
            .ok_or_else(|| ApiError::Transport {
                request: "GET /users".into(),
                detail: "connection reset".into(),
            })
    }
}

/// `n` users to delete, confirmed the only way there is: a plan re-checked against itself.
/// (The plan is leaked: the deletions borrow it, and a test's few users live as long as it.)
fn confirmed(n: usize) -> ConfirmedDeletions<'static> {
    let desired = crate::config::parse_str("users: [keep@example.com]\n", "u.yaml").unwrap();
    let mut live: Vec<LiveUser> = (0..n)
        .map(|i| LiveUser {
            id: Some(id(i)),
            email: Some(email(i)),
            ..LiveUser::default()
        })
        .collect();
    live.push(LiveUser {
        id: Some("ffffffff-0000-4000-8000-000000000000".into()),
        email: Some("keep@example.com".into()),
        ..LiveUser::default()
    });
    let account = AccountId::parse("023e105f4ecef8ad9ca31a8372d0c353").unwrap();
    let plan: &'static Plan = Box::leak(Box::new(crate::plan::compute(
        &desired,
        &live,
        &Policy::at(&account, 1_795_867_200),
    )));
    assert_eq!(plan.delete.len(), n, "{plan:?}");
    let (confirmed, unapplied) = recheck(plan.delete.iter().map(Reviewed::shown), plan)
        .unwrap()
        .split();
    assert_eq!(unapplied, Default::default());
    confirmed
}

struct Run {
    execution: Execution,
    /// Emails whose DELETE was sent, in order.
    deletes: Vec<String>,
    lists: usize,
    /// The audit log's records.
    records: Vec<serde_json::Value>,
    /// What the executor reported to its observer, in order.
    events: Vec<Event>,
}

/// An observer that keeps every event.
#[derive(Default)]
struct Recorder(Mutex<Vec<Event>>);

impl Observer for Recorder {
    fn event(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl Run {
    fn outcome(&self, i: usize) -> &Outcome {
        let e = email(i);
        &self
            .execution
            .report
            .results
            .iter()
            .find(|r| r.decision.user.email.as_deref() == Some(e.as_str()))
            .unwrap()
            .outcome
    }

    fn recorded(&self, i: usize) -> &str {
        let e = email(i);
        self.records
            .iter()
            .find(|r| r["email"] == e.as_str())
            .and_then(|r| r["outcome"].as_str())
            .unwrap()
    }
}

struct Case {
    users: usize,
    parallelism: usize,
    script: Script,
    /// Signals pressed before the executor starts.
    pressed: Vec<Signal>,
    clock: Clock,
}

impl Case {
    fn new(users: usize) -> Case {
        Case {
            users,
            parallelism: 1,
            script: Script {
                listing: Some(Vec::new()),
                ..Script::default()
            },
            pressed: Vec::new(),
            clock: Clock::System,
        }
    }

    fn clock(mut self, clock: Clock) -> Case {
        self.clock = clock;
        self
    }

    fn answer(mut self, i: usize, answer: Answer) -> Case {
        self.script.answers.insert(email(i), answer);
        self
    }

    fn presses_on(mut self, i: usize, signals: &[Signal]) -> Case {
        self.script.presses_on.insert(email(i), signals.to_vec());
        self
    }

    fn parallelism(mut self, n: usize) -> Case {
        self.parallelism = n;
        self
    }

    fn listing(mut self, listing: Option<Vec<UserId>>) -> Case {
        self.script.listing = listing;
        self
    }

    async fn run(self) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let recorder = Arc::new(Recorder::default());
        let settings = ExecSettings {
            parallelism: self.parallelism,
            audit_log: Some(path.clone()),
            observer: recorder.clone(),
            clock: self.clock,
            ..ExecSettings::default()
        };
        let (tx, rx) = watch::channel(Presses::default());
        for signal in &self.pressed {
            press(&tx, *signal);
        }
        let fake = Fake {
            script: Arc::new(self.script),
            signals: Arc::new(tx),
            deletes: Arc::default(),
            lists: Arc::default(),
        };
        let context = AuditContext {
            account: "023e105f4ecef8ad9ca31a8372d0c353".into(),
            run_id: "run".into(),
            clock: settings.clock,
            ..AuditContext::default()
        };
        let audit = open_audit(&settings).unwrap();
        let execution =
            execute_with(confirmed(self.users), &fake, &settings, audit, &context, rx).await;
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(crate::audit::verify(&text).is_ok());
        let records = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let deletes = fake.deletes.lock().unwrap().clone();
        let events = recorder.0.lock().unwrap().clone();
        Run {
            execution,
            deletes,
            lists: fake.lists.load(Ordering::SeqCst),
            records,
            events,
        }
    }
}

fn counts(deleted: usize, already_gone: usize, failed: usize, not_attempted: usize) -> Counts {
    Counts {
        deleted,
        already_gone,
        failed,
        not_attempted,
        ..Counts::default()
    }
}

#[tokio::test]
async fn every_user_deleted_and_checked_is_complete() {
    let r = Case::new(3).parallelism(2).run().await;
    assert_eq!(r.deletes.len(), 3);
    assert_eq!(r.execution.report.counts(), counts(3, 0, 0, 0));
    assert!(r.execution.report.is_complete());
    assert_eq!(
        r.events,
        [
            Event::Started { total: 3 },
            Event::Answered,
            Event::Answered,
            Event::Answered,
            Event::Finished
        ]
    );
    assert_eq!(r.execution.stopped, None);
    assert_eq!(r.lists, 1);
    assert_eq!(r.execution.verification, Verification::Listed(Vec::new()));
    assert!(r.execution.is_complete());
    assert_eq!(r.records.len(), 3);
    let audit = r.execution.audit.as_ref().unwrap();
    assert_eq!(audit.1, 3);
    assert_eq!(r.execution.details[0].status, Some(202));
    assert_eq!(r.execution.details[0].cf_ray.as_deref(), Some("ray-ok"));
}

#[tokio::test]
async fn each_record_carries_the_time_of_the_clock_it_is_given() {
    let r = Case::new(2).clock(Clock::Fixed(1_798_761_599)).run().await;
    assert_eq!(r.records.len(), 2);
    for record in &r.records {
        assert_eq!(record["time"], "2026-12-31T23:59:59.000Z");
    }
}

#[tokio::test]
async fn each_answer_has_its_outcome_count_and_record() {
    let r = Case::new(5)
        .answer(0, Answer::Deleted)
        .answer(1, Answer::AlreadyGone)
        .answer(2, Answer::Lost)
        .answer(3, Answer::ServerError)
        .answer(4, Answer::Lost)
        .parallelism(3)
        .run()
        .await;
    assert_eq!(r.outcome(0), &Outcome::Deleted);
    assert_eq!(r.outcome(1), &Outcome::AlreadyGone);
    assert_eq!(r.outcome(2), &Outcome::DeletedAnswerLost);
    assert!(
        matches!(r.outcome(3), Outcome::Failed(e) if e.contains("HTTP 500")),
        "{:?}",
        r.outcome(3)
    );
    assert_eq!(
        r.execution.report.counts(),
        Counts {
            deleted: 3,
            answer_lost: 2,
            already_gone: 1,
            failed: 1,
            interrupted: 0,
            not_attempted: 0,
        }
    );
    // A failure does not stop the others, and the run checks what it could do.
    assert_eq!(r.deletes.len(), 5);
    assert_eq!(r.execution.stopped, None);
    assert_eq!(r.lists, 1);
    // One failure (and no user left unattempted) is enough to be incomplete.
    assert!(!r.execution.report.is_complete());
    assert!(!r.execution.is_complete());
    assert_eq!(r.recorded(0), "deleted");
    assert_eq!(r.recorded(1), "already_gone");
    assert_eq!(r.recorded(2), "deleted_answer_lost");
    assert_eq!(r.recorded(3), "failed");
    let failed = r.records.iter().find(|x| x["outcome"] == "failed").unwrap();
    assert_eq!(failed["http_status"], 500);
    assert_eq!(failed["attempts"], 3);
    assert_eq!(failed["cloudflare_codes"], serde_json::json!([10001]));
    let i = r
        .execution
        .report
        .results
        .iter()
        .position(|x| x.outcome.is_failure())
        .unwrap();
    assert_eq!(r.execution.details[i].codes, vec![10001]);
    assert_eq!(r.execution.details[i].attempts, 3);
}

#[tokio::test]
async fn an_auth_error_stops_every_further_deletion() {
    let r = Case::new(4).answer(1, Answer::Refused).run().await;
    // One at a time: after the refusal of the second, no DELETE is sent.
    assert_eq!(r.deletes, vec![email(0), email(1)]);
    assert_eq!(r.outcome(0), &Outcome::Deleted);
    assert!(matches!(r.outcome(1), Outcome::Failed(_)));
    assert_eq!(r.outcome(2), &Outcome::NotAttempted);
    assert_eq!(r.outcome(3), &Outcome::NotAttempted);
    assert_eq!(r.execution.report.counts(), counts(1, 0, 1, 2));
    assert_eq!(r.execution.stopped, Some(Stop::AuthRefused));
    assert!(!r.execution.report.is_complete());
    assert!(!r.execution.is_complete());
    // Stopped early: the users are not listed again.
    assert_eq!(r.lists, 0);
    assert_eq!(
        r.execution.verification,
        Verification::Skipped(Unchecked::StoppedEarly)
    );
    assert_eq!(r.records.len(), 4);
    assert_eq!(r.recorded(2), "not_attempted");
}

#[tokio::test]
async fn a_wait_longer_than_allowed_stops_every_further_deletion() {
    let r = Case::new(3).answer(0, Answer::TooLong).run().await;
    assert_eq!(r.deletes, vec![email(0)]);
    assert!(matches!(r.outcome(0), Outcome::Failed(e) if e.contains("--max-wait")));
    assert_eq!(r.execution.report.counts(), counts(0, 0, 1, 2));
    assert_eq!(r.execution.stopped, Some(Stop::WaitTooLong));
    assert_eq!(r.lists, 0);
    assert!(!r.execution.is_complete());
}

#[tokio::test]
async fn a_signal_before_the_first_deletion_sends_none() {
    let mut case = Case::new(3);
    case.pressed = vec![Signal::Terminate];
    let r = case.run().await;
    assert!(r.deletes.is_empty());
    assert_eq!(
        r.execution.stopped,
        Some(Stop::InterruptedBeforeFirst(Signal::Terminate))
    );
    assert_eq!(r.execution.report.counts(), counts(0, 0, 0, 3));
    assert!(!r.execution.report.is_complete());
    assert!(!r.execution.is_complete());
    assert_eq!(r.lists, 0);
    assert_eq!(r.records.len(), 3);
    assert!(r.records.iter().all(|x| x["outcome"] == "not_attempted"));
}

#[tokio::test]
async fn a_first_signal_lets_those_in_flight_finish_and_sends_no_more() {
    // The first goes alone; then two in flight, and the third's DELETE brings Ctrl-C with it.
    let r = Case::new(5)
        .parallelism(2)
        .presses_on(2, &[Signal::Interrupt])
        .run()
        .await;
    assert_eq!(r.deletes, vec![email(0), email(1), email(2)]);
    for i in 0..3 {
        assert_eq!(r.outcome(i), &Outcome::Deleted);
    }
    for i in 3..5 {
        assert_eq!(r.outcome(i), &Outcome::NotAttempted);
    }
    assert_eq!(r.execution.report.counts(), counts(3, 0, 0, 2));
    assert_eq!(
        r.execution.stopped,
        Some(Stop::Interrupted(Signal::Interrupt))
    );
    // The signal is heard before the answers that came with it: both are still in flight.
    assert_eq!(
        r.events,
        [
            Event::Started { total: 5 },
            Event::Answered,
            Event::Stopping {
                by: Signal::Interrupt,
                in_flight: 2
            },
            Event::Answered,
            Event::Answered,
            Event::Finished
        ]
    );
    assert_eq!(r.lists, 0);
    assert!(!r.execution.is_complete());
}

#[tokio::test]
async fn credentials_that_may_not_delete_are_refused_once_whatever_the_parallelism() {
    let r = Case::new(6)
        .parallelism(4)
        .answer(0, Answer::NoPermission)
        .run()
        .await;
    // The first DELETE goes alone: its refusal stops the run before any other is sent.
    assert_eq!(r.deletes, vec![email(0)]);
    assert!(matches!(r.outcome(0), Outcome::Failed(e) if e.contains("Access: Users Write")));
    for i in 1..6 {
        assert_eq!(r.outcome(i), &Outcome::NotAttempted);
    }
    assert_eq!(r.execution.stopped, Some(Stop::PermissionRefused));
    assert_eq!(r.execution.report.counts(), counts(0, 0, 1, 5));
    assert_eq!(r.lists, 0);
    assert_eq!(r.records.len(), 6);
    assert_eq!(r.recorded(0), "failed");
    assert_eq!(r.recorded(5), "not_attempted");
}

#[tokio::test]
async fn an_answer_that_proves_no_permission_does_not_open_the_gate() {
    // The first user is already gone (the API may answer 404 before it checks the permission)
    // and the first one failed with a 500: neither shows that the credentials may delete. Before,
    // the second DELETE went out with three more beside it, and all four were refused.
    for first in [Answer::AlreadyGone, Answer::ServerError] {
        let mut case = Case::new(8).parallelism(4).answer(0, first);
        for i in 1..8 {
            case = case.answer(i, Answer::NoPermission);
        }
        let r = case.run().await;
        assert_eq!(r.deletes, vec![email(0), email(1)], "{first:?}");
        assert_eq!(r.execution.stopped, Some(Stop::PermissionRefused));
        for i in 2..8 {
            assert_eq!(r.outcome(i), &Outcome::NotAttempted, "{first:?}");
        }
    }
    // Once one is deleted, the others go `parallelism` at a time.
    let r = Case::new(8)
        .parallelism(4)
        .answer(0, Answer::AlreadyGone)
        .answer(2, Answer::NoPermission)
        .answer(3, Answer::NoPermission)
        .answer(4, Answer::NoPermission)
        .answer(5, Answer::NoPermission)
        .run()
        .await;
    assert_eq!(r.deletes.len(), 6, "{:?}", r.deletes);
}

#[tokio::test]
async fn a_signal_during_the_last_deletion_leaves_the_run_incomplete() {
    // Every deletion is done, but the run was stopped: it does not claim to be complete, and the
    // users are not listed again.
    let r = Case::new(1).presses_on(0, &[Signal::Terminate]).run().await;
    assert_eq!(r.execution.report.counts(), counts(1, 0, 0, 0));
    assert!(r.execution.report.is_complete());
    assert_eq!(
        r.execution.stopped,
        Some(Stop::Interrupted(Signal::Terminate))
    );
    assert_eq!(r.lists, 0);
    assert!(!r.execution.is_complete());
}

#[tokio::test]
async fn a_second_signal_abandons_those_in_flight_as_interrupted() {
    // The first goes alone and is deleted; then two in flight hang.
    let r = Case::new(5)
        .parallelism(2)
        .answer(1, Answer::Hang)
        .answer(2, Answer::Hang)
        .presses_on(2, &[Signal::Interrupt, Signal::Interrupt])
        .run()
        .await;
    assert_eq!(r.deletes, vec![email(0), email(1), email(2)]);
    assert_eq!(r.outcome(0), &Outcome::Deleted);
    assert_eq!(r.outcome(1), &Outcome::Interrupted);
    assert_eq!(r.outcome(2), &Outcome::Interrupted);
    assert_eq!(r.outcome(3), &Outcome::NotAttempted);
    assert_eq!(r.outcome(4), &Outcome::NotAttempted);
    assert_eq!(
        r.execution.report.counts(),
        Counts {
            deleted: 1,
            failed: 2,
            interrupted: 2,
            not_attempted: 2,
            ..Counts::default()
        }
    );
    assert_eq!(
        r.execution.stopped,
        Some(Stop::Interrupted(Signal::Interrupt))
    );
    assert_eq!(r.lists, 0);
    assert!(!r.execution.is_complete());
    assert_eq!(r.records.len(), 5);
    assert_eq!(r.recorded(1), "interrupted");
    assert_eq!(r.recorded(2), "interrupted");
    assert_eq!(r.recorded(3), "not_attempted");
    let interrupted = r
        .records
        .iter()
        .find(|x| x["outcome"] == "interrupted")
        .unwrap();
    assert_eq!(interrupted["error"], INTERRUPTED);
    assert_eq!(interrupted["cloudflare_codes"], serde_json::json!([]));
    assert_eq!(interrupted["http_status"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_deletion_task_that_fails_is_interrupted_not_unattempted() {
    let r = Case::new(3).answer(1, Answer::Panic).run().await;
    assert_eq!(r.deletes, vec![email(0), email(1), email(2)]);
    assert_eq!(r.outcome(0), &Outcome::Deleted);
    assert_eq!(r.outcome(1), &Outcome::Interrupted);
    assert_eq!(r.outcome(2), &Outcome::Deleted);
    assert_eq!(r.recorded(1), "interrupted");
    assert!(!r.execution.is_complete());
}

#[tokio::test]
async fn the_final_check_reports_planned_users_still_present() {
    let still = UserId::parse(&id(1)).unwrap();
    let r = Case::new(3)
        .answer(2, Answer::ServerError)
        .listing(Some(vec![still, UserId::parse(&id(2)).unwrap()]))
        .run()
        .await;
    assert_eq!(r.lists, 1);
    let Verification::Listed(present) = &r.execution.verification else {
        panic!("{:?}", r.execution.verification)
    };
    let present: Vec<(Option<&str>, bool)> = present
        .iter()
        .map(|(d, claimed)| (d.user.email.as_deref(), *claimed))
        .collect();
    // u1 was said deleted; u2's deletion failed.
    assert_eq!(
        present,
        vec![
            (Some("u1@example.com"), true),
            (Some("u2@example.com"), false)
        ]
    );
    assert!(!r.execution.is_complete());
}

#[tokio::test]
async fn a_user_still_present_after_a_clean_run_leaves_it_incomplete() {
    let r = Case::new(2)
        .listing(Some(vec![UserId::parse(&id(0)).unwrap()]))
        .run()
        .await;
    assert!(r.execution.report.is_complete());
    assert_eq!(r.execution.stopped, None);
    assert!(!r.execution.is_complete());
}

#[tokio::test]
async fn a_failed_final_listing_leaves_the_result_unverified() {
    let r = Case::new(2).listing(None).run().await;
    assert_eq!(r.lists, 1);
    assert!(r.execution.report.is_complete());
    assert!(
        matches!(&r.execution.verification, Verification::Failed(e) if e.contains("connection reset")),
        "{:?}",
        r.execution.verification
    );
    assert!(!r.execution.is_complete());
}

#[tokio::test]
async fn no_final_check_when_nothing_was_to_delete() {
    let r = Case::new(0).listing(None).run().await;
    assert_eq!(r.lists, 0);
    assert!(r.deletes.is_empty());
    assert_eq!(
        r.execution.verification,
        Verification::Skipped(Unchecked::NotNeeded)
    );
    assert!(r.execution.is_complete());
    assert_eq!(r.records.len(), 0);
}

#[tokio::test]
async fn parallelism_bounds_the_deletions_in_flight() {
    // After the first (alone), three hang, so at most three are ever sent while they are in
    // flight; the second signal (brought by the fourth) ends the run.
    let r = Case::new(6)
        .parallelism(3)
        .answer(1, Answer::Hang)
        .answer(2, Answer::Hang)
        .answer(3, Answer::Hang)
        .presses_on(3, &[Signal::Interrupt, Signal::Interrupt])
        .run()
        .await;
    assert_eq!(r.deletes, vec![email(0), email(1), email(2), email(3)]);
    assert_eq!(r.outcome(0), &Outcome::Deleted);
    assert_eq!(r.execution.report.counts().interrupted, 3);
    assert_eq!(r.execution.report.counts().not_attempted, 2);
}

#[test]
fn counts_and_verdicts_of_a_report() {
    let c = confirmed(3);
    let report = |outcomes: [Outcome; 3]| Report {
        results: c
            .iter()
            .zip(outcomes)
            .map(|(u, outcome)| UserResult {
                decision: u.decision().clone(),
                outcome,
            })
            .collect(),
    };
    let all_gone = report([
        Outcome::Deleted,
        Outcome::AlreadyGone,
        Outcome::DeletedAnswerLost,
    ]);
    assert!(all_gone.is_complete());
    let unattempted = report([
        Outcome::Deleted,
        Outcome::NotAttempted,
        Outcome::NotAttempted,
    ]);
    assert_eq!(unattempted.counts(), counts(1, 0, 0, 2));
    assert!(!unattempted.is_complete());
    let failed = report([
        Outcome::Failed("x".into()),
        Outcome::Failed("y".into()),
        Outcome::Interrupted,
    ]);
    assert_eq!(
        failed.counts(),
        Counts {
            failed: 3,
            interrupted: 1,
            ..Counts::default()
        }
    );
    assert!(!failed.is_complete());
    let execution = |report: Report, audit_error: Option<String>| Execution {
        details: vec![Detail::default(); report.results.len()],
        report,
        stopped: None,
        verification: Verification::Skipped(Unchecked::NotNeeded),
        audit: None,
        audit_error,
    };
    assert!(execution(all_gone.clone(), None).is_complete());
    assert!(!execution(all_gone, Some("disk full".into())).is_complete());
    assert!(!execution(failed, None).is_complete());
}

#[test]
fn audit_context_carries_the_digests_and_tells_runs_apart() {
    let settings = ExecSettings {
        actor: Actor {
            ci: None,
            user: Some("ana".into()),
        },
        ..ExecSettings::default()
    };
    let account = "023e105f4ecef8ad9ca31a8372d0c353";
    let c = AuditContext::from_digests(account, "sha256:d".into(), "sha256:l".into(), &settings);
    assert_eq!(c.account, account);
    assert_eq!(c.desired_digest, "sha256:d");
    assert_eq!(c.live_fingerprint, "sha256:l");
    assert_eq!(c.actor, settings.actor);
    assert_eq!(c.run_id.len(), 16, "{}", c.run_id);
    assert!(
        c.run_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{}",
        c.run_id
    );
}

#[test]
fn the_audit_context_made_meanwhile_is_the_one_made_alone() {
    let desired = crate::config::parse_str(
        "users: [keep@example.com]\ndomains: [example.org]\n",
        "u.yaml",
    )
    .unwrap();
    let live: Vec<LiveUser> = (0..5)
        .map(|i| LiveUser {
            id: Some(id(i)),
            email: Some(email(i)),
            ..LiveUser::default()
        })
        .collect();
    let account = AccountId::parse("023e105f4ecef8ad9ca31a8372d0c353").unwrap();
    let plan = crate::plan::compute(&desired, &live, &Policy::at(&account, 1_795_867_200));
    let settings = ExecSettings {
        clock: Clock::Fixed(1_795_867_200),
        ..ExecSettings::default()
    };
    let alone = AuditContext::new(&desired, &plan, &settings);
    let (meanwhile, ran) = AuditContext::new_while(&desired, &plan, &settings, || 42);
    assert_eq!(ran, 42, "what ran meanwhile gives its own value back");
    assert_eq!(meanwhile.desired_digest, desired.digest());
    assert_eq!(
        meanwhile.live_fingerprint,
        crate::plan::fingerprint(&live),
        "the listing's own fingerprint"
    );
    assert_eq!(meanwhile, alone);
}

/// Presses a signal when the executor reports its first answer: a Ctrl-C that comes while the
/// executor handles an answer (the audit record's append and fsync happen there too).
struct PressOnFirstAnswer {
    signals: Arc<watch::Sender<Presses>>,
    pressed: std::sync::atomic::AtomicBool,
}

impl Observer for PressOnFirstAnswer {
    fn event(&self, event: Event) {
        if event == Event::Answered && !self.pressed.swap(true, Ordering::SeqCst) {
            press(&self.signals, Signal::Interrupt);
        }
    }
}

/// A Ctrl-C that comes while an answer is handled (its audit record written and synced) is
/// heard before the next DELETE is issued. (Found in review: the loop issued the next DELETE at
/// its top before it looked at the signals again, so one more user was sent.)
#[tokio::test]
async fn a_signal_that_comes_while_an_answer_is_handled_sends_no_more() {
    let (tx, rx) = watch::channel(Presses::default());
    let signals = Arc::new(tx);
    let settings = ExecSettings {
        parallelism: 1,
        observer: Arc::new(PressOnFirstAnswer {
            signals: signals.clone(),
            pressed: Default::default(),
        }),
        ..ExecSettings::default()
    };
    let fake = Fake {
        script: Arc::new(Script {
            listing: Some(Vec::new()),
            ..Script::default()
        }),
        signals,
        deletes: Arc::default(),
        lists: Arc::default(),
    };
    let execution = execute_with(
        confirmed(3),
        &fake,
        &settings,
        None,
        &AuditContext::default(),
        rx,
    )
    .await;
    assert_eq!(
        execution.stopped,
        Some(Stop::Interrupted(Signal::Interrupt))
    );
    // The Ctrl-C came before the second DELETE was issued: only the first is sent.
    assert_eq!(*fake.deletes.lock().unwrap(), vec![email(0)]);
}
