//! Carrying out a confirmed plan: delete exactly the users of a [`ConfirmedDeletions`] (built only
//! by [`crate::plan::recheck::recheck`]), `parallelism` at a time, record each outcome (and
//! write it to the audit log as it comes), stop issuing deletions at the first authentication
//! error or Ctrl-C, and list the users once more to report any planned user still present.
//!
//! It returns data only ([`Execution`]); `render` words it. The API is reached through [`Api`],
//! which the HTTP client implements and the unit tests fake.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use crate::audit::{Actor, AuditError, AuditLog, Entry, Recorded};
use crate::cloudflare::{ApiError, Client, DeleteOutcome, Detailed};
use crate::config::Desired;
use crate::date::Clock;
use crate::model::UserId;
use crate::plan::recheck::{Confirmed, ConfirmedDeletions};
use crate::plan::{Decision, Plan};

pub mod door;
mod signals;
#[cfg(test)]
mod tests;

pub use signals::{ctrl_c, unheeded, Presses, Signal};

/// What the executor tells the program while it deletes. It only reports these to the
/// [`Observer`] of its [`ExecSettings`]; the command supplies one (`crate::progress` shows them on
/// a terminal, in `render`'s words), and a test can supply one that records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Deleting starts: `total` confirmed users.
    Started { total: usize },
    /// One more deletion has an outcome.
    Answered,
    /// A first signal came: no new deletions are sent; `in_flight` are still awaited.
    Stopping { by: Signal, in_flight: usize },
    /// Deleting is over (every user has an outcome, or the rest will be accounted as unsent or
    /// interrupted).
    Finished,
}

/// Receives the executor's [`Event`]s, from the executor's own task: it should return quickly.
pub trait Observer: Send + Sync {
    fn event(&self, event: Event);
}

/// The default observer: hears everything, says nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _: Event) {}
}

/// What the executor needs of the Access users API.
pub trait Api: Clone + Send + Sync + 'static {
    /// DELETE one confirmed user (retries included), with what the last response said. The
    /// future owns what it sends (it runs as a task of its own, while the confirmed users stay
    /// borrowed from the fresh plan). This call itself only takes what the future needs: it runs
    /// in the executor, where a panic would stop the run; the request is sent, and may fail,
    /// inside the future, whose panic is accounted as an interrupted deletion.
    fn delete(
        &self,
        user: Confirmed<'_>,
    ) -> impl Future<Output = Detailed<DeleteOutcome>> + Send + 'static;
    /// The ids of every user of the account now (every page), for the final check.
    fn user_ids(&self) -> impl Future<Output = Result<Vec<UserId>, ApiError>> + Send;
}

impl Api for Client {
    fn delete(
        &self,
        user: Confirmed<'_>,
    ) -> impl Future<Output = Detailed<DeleteOutcome>> + Send + 'static {
        self.delete_user_detailed(user)
    }

    async fn user_ids(&self) -> Result<Vec<UserId>, ApiError> {
        let listing = self.list_users().await?;
        Ok(listing
            .users
            .iter()
            .filter_map(|u| u.id.as_deref().and_then(UserId::parse))
            .collect())
    }
}

/// What the report and the audit log say of a deletion in flight when the run was stopped at
/// once.
pub(crate) const INTERRUPTED: &str =
    "interrupted while the deletion was in flight: the outcome is unknown; run apply again";

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Deleted,
    /// The API answered 404: someone (or an earlier run) deleted the user already.
    AlreadyGone,
    /// An attempt was sent but its answer was lost (a timeout, a cut connection); the retry got
    /// 404. That attempt is what deleted the user, most likely: counted as deleted.
    DeletedAnswerLost,
    Failed(String),
    /// Sent, but the run was stopped at once (a second Ctrl-C or SIGTERM) before its answer
    /// came, or its task failed: whether the user is deleted is not known.
    Interrupted,
    /// The run stopped before this user (an authentication error on an earlier one).
    NotAttempted,
}

impl Outcome {
    /// The user is gone, by this run or before it.
    pub(crate) fn is_gone(&self) -> bool {
        matches!(
            self,
            Outcome::Deleted | Outcome::AlreadyGone | Outcome::DeletedAnswerLost
        )
    }

    /// Failed, or not known to have worked: listed with its status under the failures.
    pub(crate) fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_) | Outcome::Interrupted)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserResult {
    pub decision: Decision,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// One entry per confirmed user, in plan order.
    pub results: Vec<UserResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Deleted by this run, `answer_lost` included.
    pub deleted: usize,
    /// Of `deleted`: the answer was lost, the retry found the user gone.
    pub answer_lost: usize,
    pub already_gone: usize,
    /// Failed, `interrupted` included.
    pub failed: usize,
    /// Of `failed`: in flight when the run was stopped at once, outcome unknown.
    pub interrupted: usize,
    pub not_attempted: usize,
}

impl Report {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for r in &self.results {
            match r.outcome {
                Outcome::Deleted => c.deleted += 1,
                Outcome::DeletedAnswerLost => {
                    c.deleted += 1;
                    c.answer_lost += 1;
                }
                Outcome::AlreadyGone => c.already_gone += 1,
                Outcome::Failed(_) => c.failed += 1,
                Outcome::Interrupted => {
                    c.failed += 1;
                    c.interrupted += 1;
                }
                Outcome::NotAttempted => c.not_attempted += 1,
            }
        }
        c
    }

    /// Every confirmed user is deleted or already gone.
    pub(crate) fn is_complete(&self) -> bool {
        let c = self.counts();
        c.failed == 0 && c.not_attempted == 0
    }
}

/// How apply carries out a plan, resolved once by `cli`.
#[derive(Clone)]
pub struct ExecSettings {
    /// Deletions in flight at once.
    pub parallelism: usize,
    /// Append a JSON-lines record per user to this file.
    pub audit_log: Option<PathBuf>,
    /// Who runs this, for the audit log.
    pub actor: Actor,
    /// Who hears how the deleting goes (the command decides; by default nobody).
    pub observer: Arc<dyn Observer>,
    /// The time each audit record carries.
    pub clock: Clock,
}

impl Default for ExecSettings {
    fn default() -> Self {
        ExecSettings {
            parallelism: 4,
            audit_log: None,
            actor: Actor::default(),
            observer: Arc::new(Silent),
            clock: Clock::System,
        }
    }
}

impl fmt::Debug for ExecSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecSettings")
            .field("parallelism", &self.parallelism)
            .field("audit_log", &self.audit_log)
            .field("actor", &self.actor)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// What each audit record says about the plan it carries out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditContext {
    pub account: String,
    /// `Desired::digest()` of the desired state.
    pub desired_digest: String,
    /// `plan::fingerprint` of the live users the shown plan was computed from.
    pub live_fingerprint: String,
    pub actor: Actor,
    /// Tells the runs in one log apart.
    pub run_id: String,
    /// The time each record carries.
    pub clock: Clock,
}

impl AuditContext {
    pub fn new(desired: &Desired, shown: &Plan, settings: &ExecSettings) -> AuditContext {
        AuditContext::from_digests(
            shown.account_id.as_str(),
            desired.digest(),
            shown.live_fingerprint(),
            settings,
        )
    }

    /// [`AuditContext::new`], its two digests (the desired state's and the live users', each a
    /// sort and a hash of every entry: tens of milliseconds at 100,000 users) computed on a
    /// second thread while `meanwhile` runs on this one, so that they are not on the way from
    /// the approval to the first deletion. The same value as [`AuditContext::new`].
    pub fn new_while<R>(
        desired: &Desired,
        shown: &Plan,
        settings: &ExecSettings,
        meanwhile: impl FnOnce() -> R,
    ) -> (AuditContext, R) {
        let ((desired_digest, live_fingerprint), r) = std::thread::scope(|s| {
            let digests = s.spawn(|| (desired.digest(), shown.live_fingerprint()));
            let r = meanwhile();
            let digests = digests
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (digests, r)
        });
        let context = AuditContext::from_digests(
            shown.account_id.as_str(),
            desired_digest,
            live_fingerprint,
            settings,
        );
        (context, r)
    }

    /// For a saved plan: the digests it carries.
    pub(crate) fn from_digests(
        account: &str,
        desired_digest: String,
        live_fingerprint: String,
        settings: &ExecSettings,
    ) -> AuditContext {
        let started = settings.clock.rfc3339_millis();
        AuditContext {
            account: account.to_string(),
            desired_digest,
            live_fingerprint,
            actor: settings.actor.clone(),
            clock: settings.clock,
            run_id: crate::digest::sha256(
                format!("{started}/{}/{account}", std::process::id()).as_bytes(),
            )[7..23]
                .to_string(),
        }
    }
}

/// Open the audit log, if one was asked for, before anything is deleted: a log that cannot be
/// written, or an existing one whose chain is broken, stops the run first.
pub(crate) fn open_audit(settings: &ExecSettings) -> Result<Option<AuditLog>, AuditError> {
    settings
        .audit_log
        .as_deref()
        .map(AuditLog::open)
        .transpose()
}

/// Why deletions stopped being issued before every confirmed user was tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C or SIGTERM came before the first deletion was sent.
    InterruptedBeforeFirst(Signal),
    /// Ctrl-C or SIGTERM: those in flight finished (unless a second one came).
    Interrupted(Signal),
    /// The API refused the credentials.
    AuthRefused,
    /// The API asked for a wait longer than `--max-wait`.
    WaitTooLong,
    /// The audit log could not be written.
    AuditWrite,
    /// The API refused a DELETE for want of a permission (code 10000): the credentials may list
    /// but not delete.
    PermissionRefused,
}

/// Why the users were not listed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unchecked {
    /// The run stopped early: some planned users are surely still there.
    StoppedEarly,
    /// Nothing was to be deleted, or the check is turned off.
    NotNeeded,
}

/// What planned users the final listing still found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verification {
    /// Not listed again.
    Skipped(Unchecked),
    /// Ctrl-C during the final listing: whether every planned user is gone is not known.
    Interrupted(Signal),
    /// The listing failed; nothing is known.
    Failed(String),
    /// Planned users still present: `(user, whether the run said it was deleted or gone)`.
    Listed(Vec<(Decision, bool)>),
}

/// Everything an apply produced.
#[derive(Debug)]
pub struct Execution {
    pub report: Report,
    /// Per confirmed user (same order as `report.results`): HTTP status, cf-ray, attempts.
    pub details: Vec<Detail>,
    /// Why deletions stopped being issued early, if they did.
    pub stopped: Option<Stop>,
    pub verification: Verification,
    /// The audit log's path, records written by this run, and its head hash.
    pub audit: Option<(PathBuf, usize, String)>,
    /// The audit log could not be written: deletions stopped.
    pub audit_error: Option<String>,
}

impl Execution {
    /// Every planned deletion done, and the final listing ran and agrees (or was not needed).
    /// A final listing that failed or was interrupted leaves the result unverified: not complete.
    pub(crate) fn is_complete(&self) -> bool {
        self.report.is_complete()
            && self.stopped.is_none()
            && match &self.verification {
                Verification::Skipped(_) => true,
                Verification::Listed(still) => still.is_empty(),
                Verification::Interrupted(_) | Verification::Failed(_) => false,
            }
            && self.audit_error.is_none()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail {
    pub status: Option<u16>,
    pub cf_ray: Option<String>,
    pub attempts: u32,
    pub codes: Vec<i64>,
}

/// Delete the confirmed users, `settings.parallelism` at a time. A failure does not stop the
/// others; an authentication error, a failed audit write or Ctrl-C stops issuing new deletions
/// (those in flight finish); a second Ctrl-C abandons those in flight too. Every confirmed user
/// ends with an outcome and, with an audit log, a record.
pub async fn execute_with<A: Api>(
    confirmed: ConfirmedDeletions<'_>,
    api: &A,
    settings: &ExecSettings,
    mut audit: Option<AuditLog>,
    context: &AuditContext,
    mut interrupts: watch::Receiver<Presses>,
) -> Execution {
    let total = confirmed.len();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; total];
    let mut details: Vec<Detail> = vec![Detail::default(); total];
    let observer = &*settings.observer;
    observer.event(Event::Started { total });
    let parallelism = settings.parallelism.max(1);
    let mut set: tokio::task::JoinSet<(usize, Detailed<DeleteOutcome>)> =
        tokio::task::JoinSet::new();
    let mut in_flight: HashSet<usize> = HashSet::new();
    // Which user a task deletes, so that a task that panics can still be accounted for.
    let mut task_index: std::collections::HashMap<tokio::task::Id, usize> =
        std::collections::HashMap::new();
    let mut next = 0usize;
    let mut stopped: Option<Stop> = None;
    let mut audit_error: Option<String> = None;
    let mut listening = true;
    let before = *interrupts.borrow();
    if before.count > 0 {
        stopped = Some(Stop::InterruptedBeforeFirst(before.last));
    }
    // DELETEs go one at a time until one has deleted a user: credentials that may list but
    // not delete are then refused once, not `parallelism` times. An answer that proves nothing
    // of the permission (already gone, a failure) does not open the gate: the API may answer a
    // 404 before it checks the permission.
    let mut may_delete = false;
    loop {
        // A signal that came while the last answer was handled (its record written and synced)
        // is heard before the next DELETE is issued, not after it.
        heed_first(
            *interrupts.borrow(),
            &mut stopped,
            observer,
            in_flight.len(),
        );
        let cap = if may_delete { parallelism } else { 1 };
        while stopped.is_none() && in_flight.len() < cap {
            let Some(user) = confirmed.get(next) else {
                break;
            };
            let (i, delete) = (next, api.delete(user));
            let handle = set.spawn(async move { (i, delete.await) });
            task_index.insert(handle.id(), i);
            in_flight.insert(i);
            next += 1;
        }
        if in_flight.is_empty() {
            break;
        }
        tokio::select! {
            // A signal is seen before any answer that is ready with it: no deletion is issued
            // after a signal that had come.
            biased;
            changed = interrupts.changed(), if listening => {
                let presses = if changed.is_ok() { *interrupts.borrow() } else { Presses::default() };
                if changed.is_err() {
                    listening = false;
                }
                heed_first(presses, &mut stopped, observer, in_flight.len());
                if presses.count >= 2 {
                    set.abort_all();
                    break;
                }
            }
            joined = set.join_next() => {
                let Some(joined) = joined else { break };
                let (i, detailed) = match joined {
                    Ok(pair) => pair,
                    Err(e) => {
                        // A deletion task panicked or was cancelled: its outcome is unknown. Free
                        // its slot; having no outcome, the user is reported (and logged) as
                        // interrupted with an unknown outcome below.
                        tracing::error!("a deletion task failed: {e}");
                        if let Some(i) = task_index.remove(&e.id()) {
                            in_flight.remove(&i);
                        }
                        continue;
                    }
                };
                in_flight.remove(&i);
                may_delete |= matches!(
                    detailed.result,
                    Ok(DeleteOutcome::Deleted | DeleteOutcome::DeletedAnswerLost)
                );
                observer.event(Event::Answered);
                let Some(decision) = confirmed.get(i).map(|c| c.decision()) else {
                    continue;
                };
                let outcome = match &detailed.result {
                    Ok(DeleteOutcome::Deleted) => {
                        tracing::debug!(user = %decision.label(), id = decision.id_text(), "deleted");
                        Outcome::Deleted
                    }
                    Ok(DeleteOutcome::AlreadyGone) => {
                        tracing::info!(user = %decision.label(), id = decision.id_text(), "already gone");
                        Outcome::AlreadyGone
                    }
                    Ok(DeleteOutcome::DeletedAnswerLost) => {
                        tracing::info!(user = %decision.label(), id = decision.id_text(), "deleted (the answer was lost; the retry found the user gone)");
                        Outcome::DeletedAnswerLost
                    }
                    Err(e) => {
                        tracing::error!(user = %decision.label(), id = decision.id_text(), "delete failed: {e}");
                        if e.is_delete_refused() && stopped.is_none() {
                            stopped = Some(Stop::PermissionRefused);
                        }
                        if e.is_auth() && stopped.is_none() {
                            stopped = Some(Stop::AuthRefused);
                        }
                        if e.is_wait_too_long() && stopped.is_none() {
                            stopped = Some(Stop::WaitTooLong);
                        }
                        Outcome::Failed(e.to_string())
                    }
                };
                details[i] = Detail {
                    status: detailed.status,
                    cf_ray: detailed.cf_ray.clone(),
                    attempts: detailed.attempts,
                    codes: detailed.result.as_ref().err().map(ApiError::codes).unwrap_or_default(),
                };
                if let Some(log) = audit.as_mut() {
                    if let Err(e) = log.append(&entry(context, decision, &outcome, &details[i])) {
                        tracing::error!("{e}");
                        audit_error = Some(e.to_string());
                        stopped.get_or_insert(Stop::AuditWrite);
                    }
                }
                outcomes[i] = Some(outcome);
            }
        }
    }
    observer.event(Event::Finished);
    // Whatever has no outcome yet was sent (in flight at a second Ctrl-C, or its task failed),
    // or was never sent: the first `next` users are the ones sent.
    for i in 0..total {
        if outcomes[i].is_some() {
            continue;
        }
        let outcome = if i < next {
            Outcome::Interrupted
        } else {
            Outcome::NotAttempted
        };
        if let (Some(log), Some(user)) = (audit.as_mut(), confirmed.get(i)) {
            if let Err(e) = log.append(&entry(context, user.decision(), &outcome, &details[i])) {
                audit_error.get_or_insert(e.to_string());
            }
        }
        outcomes[i] = Some(outcome);
    }
    if let Some(log) = audit.as_ref() {
        if let Err(e) = log.sync() {
            audit_error.get_or_insert(e.to_string());
        }
    }
    let results = confirmed
        .iter()
        .zip(outcomes)
        .map(|(user, outcome)| UserResult {
            decision: user.decision().clone(),
            outcome: outcome.unwrap_or(Outcome::NotAttempted),
        })
        .collect();
    let report = Report { results };
    // A second signal (the only way out of the loop without an outcome for everyone) set
    // `stopped` with the first.
    let verification = if stopped.is_some() {
        Verification::Skipped(Unchecked::StoppedEarly)
    } else if report.results.is_empty() {
        Verification::Skipped(Unchecked::NotNeeded)
    } else {
        // Ctrl-C still works during the final listing (which may wait out a 429 block).
        let pressed_before = interrupts.borrow().count;
        tokio::select! {
            v = verify(&report, api) => v,
            signal = async {
                while interrupts.changed().await.is_ok() {
                    let now = *interrupts.borrow();
                    if now.count > pressed_before {
                        return now.last;
                    }
                }
                std::future::pending::<Signal>().await
            } => Verification::Interrupted(signal),
        }
    };
    Execution {
        report,
        details,
        stopped,
        verification,
        audit: audit.map(|log| {
            (
                log.path().to_path_buf(),
                log.written(),
                log.head().to_string(),
            )
        }),
        audit_error,
    }
}

/// A first signal stops the run from issuing deletions (unless it stopped already): said once.
fn heed_first(
    presses: Presses,
    stopped: &mut Option<Stop>,
    observer: &dyn Observer,
    in_flight: usize,
) {
    if presses.count >= 1 && stopped.is_none() {
        *stopped = Some(Stop::Interrupted(presses.last));
        observer.event(Event::Stopping {
            by: presses.last,
            in_flight,
        });
    }
}

/// List the users once more; which confirmed users are still there?
async fn verify<A: Api>(report: &Report, api: &A) -> Verification {
    tracing::info!("listing the users again to check the result");
    match api.user_ids().await {
        Err(e) => Verification::Failed(e.to_string()),
        Ok(ids) => {
            let present: HashSet<UserId> = ids.into_iter().collect();
            Verification::Listed(
                report
                    .results
                    .iter()
                    .filter(|r| {
                        r.decision
                            .id
                            .as_ref()
                            .is_some_and(|id| present.contains(id))
                    })
                    .map(|r| (r.decision.clone(), r.outcome.is_gone()))
                    .collect(),
            )
        }
    }
}

/// The audit record of one user's outcome. Nothing in it can hold a credential: error texts
/// name requests by method and path only.
fn entry<'a>(
    context: &'a AuditContext,
    decision: &'a Decision,
    outcome: &'a Outcome,
    detail: &'a Detail,
) -> Entry<'a> {
    let (recorded, error) = match outcome {
        Outcome::Deleted => (Recorded::Deleted, None),
        Outcome::AlreadyGone => (Recorded::AlreadyGone, None),
        Outcome::DeletedAnswerLost => (Recorded::DeletedAnswerLost, None),
        Outcome::Failed(e) => (Recorded::Failed, Some(e.as_str())),
        Outcome::Interrupted => (Recorded::Interrupted, Some(INTERRUPTED)),
        Outcome::NotAttempted => (Recorded::NotAttempted, None),
    };
    Entry {
        time: context.clock.rfc3339_millis(),
        run: &context.run_id,
        account: &context.account,
        user_id: decision.id_text(),
        email: decision.user.email.as_deref(),
        reason: decision.reason.kind(),
        outcome: recorded,
        http_status: detail.status,
        cf_ray: detail.cf_ray.as_deref(),
        attempts: detail.attempts,
        error: error.map(|e| (e, detail.codes.as_slice())),
        desired_digest: &context.desired_digest,
        live_fingerprint: &context.live_fingerprint,
        actor: &context.actor,
    }
}
