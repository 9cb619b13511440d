//! Carrying out a confirmed plan: delete exactly the users of a [`ConfirmedDeletions`] (built only
//! by [`crate::plan::recheck::recheck`]), `parallelism` at a time, record each outcome (and
//! write it to the audit log as it comes), stop issuing deletions at the first authentication
//! error or Ctrl-C, and list the users once more to report any planned user still present.

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};

use serde_json::{json, Map, Value};
use tokio::sync::watch;

use crate::audit::{self, Actor, AuditError, AuditLog};
use crate::cloudflare::{ApiError, Client, DeleteOutcome, Detailed};
use crate::config::Desired;
use crate::model::UserId;
use crate::plan::recheck::ConfirmedDeletions;
use crate::plan::{self, Decision, Plan};
use crate::progress::Progress;
use crate::render::Palette;

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Deleted,
    /// The API answered 404: someone (or an earlier run) deleted the user already.
    AlreadyGone,
    /// An attempt was sent but its answer was lost (a timeout, a cut connection); the retry got
    /// 404. That attempt is what deleted the user, most likely: counted as deleted.
    DeletedAnswerLost,
    Failed(String),
    /// The run stopped before this user (an authentication error on an earlier one).
    NotAttempted,
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
    pub failed: usize,
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
                Outcome::NotAttempted => c.not_attempted += 1,
            }
        }
        c
    }

    /// Every confirmed user is deleted or already gone.
    pub fn is_complete(&self) -> bool {
        let c = self.counts();
        c.failed == 0 && c.not_attempted == 0
    }
}

/// How apply carries out a plan, resolved once by `cli`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecSettings {
    /// Deletions in flight at once.
    pub parallelism: usize,
    /// Append a JSON-lines record per user to this file.
    pub audit_log: Option<PathBuf>,
    /// Who runs this, for the audit log.
    pub actor: Actor,
    pub progress: Progress,
    /// List the users again afterwards and report planned users still present.
    pub verify: bool,
}

impl Default for ExecSettings {
    fn default() -> Self {
        ExecSettings {
            parallelism: 4,
            audit_log: None,
            actor: Actor::default(),
            progress: Progress::lines(),
            verify: true,
        }
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
}

impl AuditContext {
    pub fn new(desired: &Desired, shown: &Plan, settings: &ExecSettings) -> AuditContext {
        AuditContext::from_digests(
            shown.account_id.as_str(),
            desired.digest(),
            plan::fingerprint(shown.users()),
            settings,
        )
    }

    /// For a saved plan: the digests it carries.
    pub fn from_digests(
        account: &str,
        desired_digest: String,
        live_fingerprint: String,
        settings: &ExecSettings,
    ) -> AuditContext {
        let started = audit::now_rfc3339();
        AuditContext {
            account: account.to_string(),
            desired_digest,
            live_fingerprint,
            actor: settings.actor.clone(),
            run_id: crate::digest::sha256(
                format!("{started}/{}/{account}", std::process::id()).as_bytes(),
            )[7..23]
                .to_string(),
        }
    }
}

/// Open the audit log, if one was asked for, before anything is deleted: a log that cannot be
/// written, or an existing one whose chain is broken, stops the run first.
pub fn open_audit(settings: &ExecSettings) -> Result<Option<AuditLog>, AuditError> {
    settings
        .audit_log
        .as_deref()
        .map(AuditLog::open)
        .transpose()
}

/// What planned users the final listing still found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verification {
    /// Not listed again (stopped early, or turned off).
    Skipped(String),
    /// Ctrl-C during the final listing: whether every planned user is gone is not known.
    Interrupted,
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
    pub stopped: Option<String>,
    pub verification: Verification,
    /// The audit log's path, records written by this run, and its head hash.
    pub audit: Option<(PathBuf, usize, String)>,
    /// The audit log could not be written: deletions stopped.
    pub audit_error: Option<String>,
}

impl Execution {
    /// Every planned deletion done, and the final listing ran and agrees (or was not needed).
    /// A final listing that failed or was interrupted leaves the result unverified: not complete.
    pub fn is_complete(&self) -> bool {
        self.report.is_complete()
            && self.stopped.is_none()
            && match &self.verification {
                Verification::Skipped(_) => true,
                Verification::Listed(still) => still.is_empty(),
                Verification::Interrupted | Verification::Failed(_) => false,
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

/// The signal that interrupted the run last: 0 none yet, else its number (2 SIGINT, 15 SIGTERM).
static LAST_SIGNAL: AtomicI32 = AtomicI32::new(0);
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// How the report names the interruption: Ctrl-C, or SIGTERM (what a CI runner or a service
/// manager sends to stop a job).
fn interruption() -> &'static str {
    if LAST_SIGNAL.load(Ordering::Relaxed) == SIGTERM {
        "SIGTERM"
    } else {
        "Ctrl-C"
    }
}

/// Ctrl-C (SIGINT) and SIGTERM as a watch: 1 after the first signal, 2 after the second; both
/// are handled alike, so a job stopped by its runner still finishes the deletions in flight,
/// reports, and writes their audit records. The handlers are installed before this returns (so
/// no signal is lost to the default handler) and live as long as the process; after the
/// executor is done, a signal ends the process at once, with the usual 128 + signal number.
pub fn ctrl_c() -> watch::Receiver<u8> {
    let (tx, rx) = watch::channel(0u8);
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(int), Ok(term)) => (int, term),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("cannot listen for Ctrl-C and SIGTERM: {e}");
                return rx;
            }
        }
    };
    tokio::spawn(async move {
        #[cfg(unix)]
        let (mut int, mut term) = signals;
        let mut presses = 0u8;
        loop {
            #[cfg(unix)]
            let got = tokio::select! {
                s = int.recv() => s.map(|()| SIGINT),
                s = term.recv() => s.map(|()| SIGTERM),
            };
            #[cfg(not(unix))]
            let got = tokio::signal::ctrl_c().await.ok().map(|()| SIGINT);
            let Some(number) = got else { break };
            LAST_SIGNAL.store(number, Ordering::Relaxed);
            presses = presses.saturating_add(1);
            if tx.send(presses.min(2)).is_err() {
                // Nobody listens any more: behave as the signal normally does. (Our handler
                // stays installed for the process's life, so returning would ignore it.)
                std::process::exit(128 + number);
            }
        }
    });
    rx
}

/// Delete the confirmed users, `settings.parallelism` at a time. A failure does not stop the
/// others; an authentication error, a failed audit write or Ctrl-C stops issuing new deletions
/// (those in flight finish); a second Ctrl-C abandons those in flight too. Every confirmed user
/// ends with an outcome and, with an audit log, a record.
pub async fn execute_with(
    confirmed: ConfirmedDeletions,
    client: &Client,
    settings: &ExecSettings,
    mut audit: Option<AuditLog>,
    context: &AuditContext,
    mut interrupts: watch::Receiver<u8>,
) -> Execution {
    let total = confirmed.len();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; total];
    let mut details: Vec<Detail> = vec![Detail::default(); total];
    let task = settings.progress.task("deleting users", Some(total as u64));
    let parallelism = settings.parallelism.max(1);
    let mut set: tokio::task::JoinSet<(usize, Detailed<DeleteOutcome>)> =
        tokio::task::JoinSet::new();
    let mut in_flight: HashSet<usize> = HashSet::new();
    // Which user a task deletes, so that a task that panics can still be accounted for.
    let mut task_index: std::collections::HashMap<tokio::task::Id, usize> =
        std::collections::HashMap::new();
    let mut next = 0usize;
    let mut stopped: Option<String> = None;
    let mut audit_error: Option<String> = None;
    let mut hard_stop = false;
    let mut listening = true;
    if *interrupts.borrow() > 0 {
        stopped = Some(format!(
            "interrupted ({}) before the first deletion",
            interruption()
        ));
    }
    loop {
        while stopped.is_none() && in_flight.len() < parallelism && next < total {
            let Some(user) = confirmed.get(next).cloned() else {
                break;
            };
            let (i, client) = (next, client.clone());
            let handle = set.spawn(async move { (i, client.delete_user_detailed(&user).await) });
            task_index.insert(handle.id(), i);
            in_flight.insert(i);
            next += 1;
        }
        if in_flight.is_empty() {
            break;
        }
        tokio::select! {
            changed = interrupts.changed(), if listening => {
                let presses = if changed.is_ok() { *interrupts.borrow() } else { 0 };
                if changed.is_err() {
                    listening = false;
                }
                if presses >= 1 && stopped.is_none() {
                    let what = interruption();
                    stopped = Some(format!("interrupted ({what})"));
                    task.println(&format!(
                        "{what}: no new deletions; waiting for the {} in flight ({what} again to stop at once)",
                        in_flight.len()
                    ));
                }
                if presses >= 2 {
                    hard_stop = true;
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
                task.inc(1);
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
                        if e.is_auth() && stopped.is_none() {
                            stopped = Some(
                                "the API refused the credentials; no further deletion was sent".into(),
                            );
                        }
                        if e.is_wait_too_long() && stopped.is_none() {
                            stopped = Some(
                                "the API asked for a wait longer than --max-wait; no further deletion was sent (run again later, or raise --max-wait)".into(),
                            );
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
                    let record = record(context, decision, &outcome, &details[i]);
                    if let Err(e) = log.append(record) {
                        tracing::error!("{e}");
                        audit_error = Some(e.to_string());
                        stopped.get_or_insert_with(|| {
                            "the audit log could not be written; no further deletion was sent".into()
                        });
                    }
                }
                outcomes[i] = Some(outcome);
            }
        }
    }
    task.finish();
    // Whatever has no outcome yet was in flight at a second Ctrl-C, or was never sent.
    for i in 0..total {
        if outcomes[i].is_some() {
            continue;
        }
        let outcome = if in_flight.contains(&i) || i < next {
            Outcome::Failed(
                "interrupted while the deletion was in flight: the outcome is unknown; run apply again"
                    .into(),
            )
        } else {
            Outcome::NotAttempted
        };
        if let (Some(log), Some(user)) = (audit.as_mut(), confirmed.get(i)) {
            let mut record = record(context, user.decision(), &outcome, &details[i]);
            if matches!(outcome, Outcome::Failed(_)) {
                record.insert("outcome".into(), json!("interrupted"));
            }
            if let Err(e) = log.append(record) {
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
    let verification = if hard_stop || stopped.is_some() {
        Verification::Skipped("the run stopped early".into())
    } else if !settings.verify || report.results.is_empty() {
        Verification::Skipped("nothing to check".into())
    } else {
        // Ctrl-C still works during the final listing (which may wait out a 429 block).
        let pressed_before = *interrupts.borrow();
        tokio::select! {
            v = verify(&report, client) => v,
            _ = async {
                while interrupts.changed().await.is_ok() {
                    if *interrupts.borrow() > pressed_before {
                        return;
                    }
                }
                std::future::pending::<()>().await
            } => Verification::Interrupted,
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

/// List the users once more; which confirmed users are still there?
async fn verify(report: &Report, client: &Client) -> Verification {
    tracing::info!("listing the users again to check the result");
    match client.list_users().await {
        Err(e) => Verification::Failed(e.to_string()),
        Ok(listing) => {
            let present: HashSet<UserId> = listing
                .users
                .iter()
                .filter_map(|u| u.id.as_deref().and_then(UserId::parse))
                .collect();
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
                    .map(|r| {
                        let claimed = matches!(
                            r.outcome,
                            Outcome::Deleted | Outcome::AlreadyGone | Outcome::DeletedAnswerLost
                        );
                        (r.decision.clone(), claimed)
                    })
                    .collect(),
            )
        }
    }
}

fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Deleted => "deleted",
        Outcome::AlreadyGone => "already_gone",
        Outcome::DeletedAnswerLost => "deleted_answer_lost",
        Outcome::Failed(_) => "failed",
        Outcome::NotAttempted => "not_attempted",
    }
}

/// One audit record. Nothing in it can hold a credential: error texts name requests by method
/// and path only.
fn record(
    context: &AuditContext,
    decision: &Decision,
    outcome: &Outcome,
    detail: &Detail,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("time".into(), json!(audit::now_rfc3339()));
    m.insert("run".into(), json!(context.run_id));
    m.insert("account".into(), json!(context.account));
    m.insert("user_id".into(), json!(decision.id_text()));
    m.insert("email".into(), json!(decision.user.email));
    m.insert("reason".into(), json!(decision.reason.kind()));
    m.insert("outcome".into(), json!(outcome_name(outcome)));
    m.insert("http_status".into(), json!(detail.status));
    m.insert("cf_ray".into(), json!(detail.cf_ray));
    m.insert("attempts".into(), json!(detail.attempts));
    if let Outcome::Failed(e) = outcome {
        m.insert("error".into(), json!(e));
        m.insert("cloudflare_codes".into(), json!(detail.codes));
    }
    m.insert("desired_digest".into(), json!(context.desired_digest));
    m.insert("live_fingerprint".into(), json!(context.live_fingerprint));
    m.insert(
        "actor".into(),
        serde_json::to_value(&context.actor).unwrap_or(Value::Null),
    );
    m.insert(
        "tool".into(),
        json!(concat!("reconcile ", env!("CARGO_PKG_VERSION"))),
    );
    m
}

/// After `render::report`: every failure with its status and Cloudflare codes, why the run
/// stopped, what the final listing found, and the audit log's head.
pub fn summary(execution: &Execution, out: &mut dyn Write, p: Palette) -> io::Result<()> {
    let failed: Vec<_> = execution
        .report
        .results
        .iter()
        .zip(&execution.details)
        .filter(|(r, _)| matches!(r.outcome, Outcome::Failed(_)))
        .collect();
    if !failed.is_empty() {
        writeln!(
            out,
            "
{}",
            p.bold(&format!("Failed deletions ({}):", failed.len()))
        )?;
        for (r, d) in &failed {
            let status = d
                .status
                .map_or("no response".to_string(), |s| format!("HTTP {s}"));
            let codes = if d.codes.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = d.codes.iter().map(i64::to_string).collect();
                format!(", Cloudflare error {}", list.join(", "))
            };
            let ray = d
                .cf_ray
                .as_deref()
                .map(|r| format!(", cf-ray {r}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {} {} ({}): {status}{codes}{ray}, {} attempt{}",
                p.warning("!"),
                r.decision.label(),
                r.decision.id_text(),
                d.attempts,
                if d.attempts == 1 { "" } else { "s" }
            )?;
        }
    }
    if let Some(why) = &execution.stopped {
        writeln!(
            out,
            "
Stopped early: {why}."
        )?;
    }
    match &execution.verification {
        Verification::Skipped(_) => {}
        Verification::Interrupted => writeln!(
            out,
            "{}",
            p.warning(&format!("Unverified: interrupted ({}) during the final listing; run apply again to be sure.", interruption()))
        )?,
        Verification::Failed(e) => writeln!(
            out,
            "
{}
  {e}
  The API accepted the deletions above, but whether every planned user is gone is not known.",
            p.warning("Unverified: the users could not be listed again to check the result:")
        )?,
        Verification::Listed(still) if still.is_empty() => writeln!(
            out,
            "
Checked: no planned user is still present."
        )?,
        Verification::Listed(still) => {
            writeln!(
                out,
                "
{}",
                p.warning(&format!("{} planned user(s) still present:", still.len()))
            )?;
            for (d, claimed) in still {
                writeln!(
                    out,
                    "  {} {} ({}){}",
                    p.warning("!"),
                    d.label(),
                    d.id_text(),
                    if *claimed {
                        " — the API had accepted its deletion"
                    } else {
                        ""
                    }
                )?;
            }
        }
    }
    if !execution.is_complete() {
        writeln!(out, "Run the same apply again to finish the job.")?;
    }
    if let Some(e) = &execution.audit_error {
        writeln!(
            out,
            "
{}",
            p.warning(&format!("Audit log error: {e}"))
        )?;
    }
    if let Some((path, records, head)) = &execution.audit {
        writeln!(
            out,
            "
Audit log: {} ({records} record{} written; head {head}).",
            crate::fsread::display_path(path),
            if *records == 1 { "" } else { "s" }
        )?;
    }
    Ok(())
}
