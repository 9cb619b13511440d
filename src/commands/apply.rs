//! `reconcile apply` and `reconcile apply PLAN_FILE`: the plan shown and confirmed, or the saved
//! plan; the one re-check against a fresh listing; the deletions; the report and the exit code.

use std::io;
use std::path::{Path, PathBuf};

use crate::apply;
use crate::audit::AuditLog;
use crate::cloudflare::Client;
use crate::commands::plan::mark_returned;
use crate::commands::shared::{compute, no_credentials, now_secs, plan_door, warn_about, Approval};
use crate::commands::{Error, Exit, Streams};
use crate::config::Desired;
use crate::confirm;
use crate::date::Clock;
use crate::fsread::{self, ReadError};
use crate::history;
use crate::model::AccountId;
use crate::plan;
use crate::plan::recheck::recheck_shown;
use crate::plan::returned;
use crate::planfile::{self, PlanFileError, PlanKey, SavedPlan};
use crate::render::{self, Applied, Approved, Format, Palette};
use crate::settings::Target;

/// What one `apply` (without a saved plan) is given besides the desired state and the client.
pub(crate) struct ApplyRun<'a> {
    pub(crate) overrides: &'a plan::Overrides,
    pub(crate) approval: Approval,
    pub(crate) exec: &'a apply::ExecSettings,
    /// More audit logs to read past deletions from (`--history`), besides its own `--audit-log`.
    pub(crate) history: &'a [PathBuf],
    /// How the plan shown before the prompt is laid out.
    pub(crate) layout: render::Layout,
    /// `GITHUB_STEP_SUMMARY`: append the apply report here.
    pub(crate) step_summary: Option<&'a Path>,
    /// `--format`: the human report as the run goes, or one JSON or Markdown report at its end.
    pub(crate) format: Format,
}

/// `--format json` and `--format markdown` put one document on stdout, so there is no room for
/// the plan a person confirms before the document: like Terraform's `apply -json`, they need
/// `--auto-approve` (having reviewed `plan`) or a saved plan. Refused before the audit log is
/// opened or any request is sent.
fn document_needs_approval(format: Format, approval: &Approval) -> Result<(), Error> {
    if format == Format::Human || matches!(approval, Approval::Auto) {
        return Ok(());
    }
    let name = match format {
        Format::Json => "json",
        _ => "markdown",
    };
    Err(Error::Usage(format!(
        "apply --format {name} writes one document on stdout, so it cannot show a plan and ask first; nothing was sent or deleted\n  help: review `reconcile plan --format {name}`, then pass --auto-approve (or set RECONCILE_AUTO_APPROVE=true), or apply a saved plan: reconcile plan --out plan.json, then reconcile apply plan.json -f FILES"
    )))
}

pub(crate) async fn apply_flow(
    desired: &Desired,
    client: &Client,
    run: ApplyRun<'_>,
    palette: Palette,
    streams: &mut Streams<'_>,
) -> Result<Exit, Error> {
    let ApplyRun {
        overrides,
        approval,
        exec,
        history,
        layout,
        step_summary,
        format,
    } = run;
    document_needs_approval(format, &approval)?;
    // Before anything is listed: an audit log that cannot be written stops the run here.
    let mut audit = apply::open_audit(exec)?;
    let past = past_deletions(audit.as_ref(), history, client.account_id())?;
    // One instant for the users' plan and the door's, as `plan` does: the `expires:` of both are
    // read on the same day.
    let at = Clock::Fixed(exec.clock.unix());
    let mut shown = compute(desired, client, overrides, at).await?;
    shown.door = plan_door(desired, client, at.today(), &shown.limits).await?;
    let listed_at = exec.clock.unix();
    if let Some(past) = &past {
        mark_returned(&mut shown, past);
    }
    warn_about(desired, &shown);
    // A JSON or Markdown report holds the plan itself, at the end: stdout carries nothing else.
    // The audit records' digests of what is shown are computed meanwhile.
    let (context, shown_written) = apply::AuditContext::new_while(desired, &shown, exec, || {
        if format == Format::Human {
            // One write per 64 KiB, not one per line (stdout is line-buffered), then flushed
            // before the prompt.
            let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut *streams.stdout);
            render::human_with(&shown, layout, &mut buffered, palette)?;
            io::Write::flush(&mut buffered)?;
        }
        streams.stdout.flush()
    });
    shown_written?;
    if shown.refusal.is_some() || shown.door_refused() {
        return Err(Error::Refused(crate::commands::plan::refused(&shown)));
    }
    if !shown.has_changes() && !shown.has_door_changes() {
        let applied = Applied {
            account: client.account_id().as_str(),
            approved: Approved::Shown(&shown),
            run: None,
            door: None,
        };
        append_summary(step_summary, &applied);
        if format == Format::Human {
            render::notes::nothing_to_delete(streams.stdout)?;
        } else {
            render::applied(&applied, format, streams.stdout)?;
            streams.stdout.flush()?;
        }
        return Ok(Exit::Success);
    }
    let n = shown.delete.len();
    let door_changes = shown.door.as_ref().map_or(0, door_change_count);
    match approval {
        Approval::Auto => tracing::info!("approved by --auto-approve"),
        Approval::Impossible => {
            return Err(Error::Usage(format!(
                "refusing to {} without confirmation: stdin is not a terminal; nothing was deleted{}\n  help: review the plan above, then pass --auto-approve (or set RECONCILE_AUTO_APPROVE=true) to apply it",
                what_is_asked(n, door_changes),
                if door_changes > 0 { " and the door was not changed" } else { "" }
            )))
        }
        Approval::Ask => {
            let yes = if door_changes == 0 {
                confirm::delete_users(n, streams.prompt, streams.stdin)?
            } else {
                confirm::ask(&what_is_asked(n, door_changes), streams.prompt, streams.stdin)?
            };
            if !yes {
                return Err(Error::Declined);
            }
        }
    }
    // Invariant 1: delete only users who were shown and confirmed and are still extras now, and
    // only if every rail passes again on the fresh listing.
    let relisted;
    let fresh = if listing_still_fresh(approval, listed_at, exec.clock.unix()) {
        tracing::info!("approved without a wait: the plan's own listing is the fresh one");
        &shown
    } else {
        relisted = compute(desired, client, overrides, exec.clock).await?;
        &relisted
    };
    let (confirmed, unapplied) = recheck_shown(&shown.delete, fresh)
        .map_err(|refusal| {
            Error::Refused(format!(
                "the account changed since the plan was shown, and the plan no longer passes the safety rails: {}",
                crate::render::words::refusal(&refusal)
            ))
        })?
        .split();
    if !unapplied.dropped.is_empty() || !unapplied.unconfirmed.is_empty() {
        tracing::warn!(
            dropped = unapplied.dropped.len(),
            unconfirmed = unapplied.unconfirmed.len(),
            "the account changed since the plan was shown; only users still in the plan are deleted"
        );
    }
    // The door, before anyone is deleted: read again (unless the unattended run may reuse what
    // it read, as for the users), refused if it changed since the plan shown, then written. A
    // failed write stops the run here: nobody is deleted.
    // Ctrl-C and SIGTERM are heard from the first door write on, through the deletions.
    let mut signals = apply::ctrl_c();
    let mut door_run = None;
    if let Some(door) = shown.door.as_ref().filter(|d| d.has_changes()) {
        if !listing_still_fresh(approval, listed_at, exec.clock.unix()) {
            let again = plan_door(desired, client, at.today(), &shown.limits).await?;
            if again.as_ref().map(|d| &d.live_fingerprint) != Some(&door.live_fingerprint) {
                return Err(Error::Refused(
                    "the door changed since the plan was shown: run plan again; nothing was sent to the lists or the group".into(),
                ));
            }
        }
        let kept = KeptBy {
            client,
            context: &context,
            format,
            step_summary,
            approved: Approved::Shown(&shown),
        };
        door_run = Some(keep_the_door(door, kept, audit.as_mut(), &mut signals, streams).await?);
    }
    let execution = apply::execute_with(confirmed, client, exec, audit, &context, signals).await;
    let applied = Applied {
        account: client.account_id().as_str(),
        approved: Approved::Shown(&shown),
        run: Some((&execution, &unapplied)),
        door: door_run.as_ref(),
    };
    let written = match format {
        Format::Human => writeln!(streams.stdout).and_then(|()| {
            render::report(
                &execution.report,
                &unapplied,
                execution.is_complete(),
                streams.stdout,
                palette,
            )
        }),
        _ => Ok(()),
    };
    append_summary(step_summary, &applied);
    Ok(conclude(&applied, format, written, streams, palette))
}

/// What [`keep_the_door`] writes with and reports to.
struct KeptBy<'a> {
    client: &'a Client,
    context: &'a apply::AuditContext,
    format: Format,
    step_summary: Option<&'a Path>,
    /// The plan being applied, for the report when a door write fails.
    approved: Approved<'a>,
}

/// Write the door's changes before anyone is deleted (`apply -f` and `apply PLAN_FILE` alike),
/// each recorded in the audit log; the human report lists the writes done. When one fails, or
/// its record cannot be written, the run stops with [`Error::DoorNotKept`]: a JSON or Markdown
/// report (and the job summary) still says what was written, since the door changed, and
/// nobody is deleted.
async fn keep_the_door(
    door: &plan::door::DoorPlan,
    by: KeptBy<'_>,
    audit: Option<&mut AuditLog>,
    interrupts: &mut tokio::sync::watch::Receiver<apply::Presses>,
    streams: &mut Streams<'_>,
) -> Result<apply::door::DoorRun, Error> {
    let run = apply::door::keep(door, by.client, audit, by.context, interrupts).await;
    if by.format == Format::Human {
        for write in run.done() {
            writeln!(streams.stdout, "door: done: {}", write.describe_done())?;
        }
        streams.stdout.flush()?;
    }
    if !run.is_complete() {
        let applied = Applied {
            account: by.client.account_id().as_str(),
            approved: by.approved,
            run: None,
            door: Some(&run),
        };
        append_summary(by.step_summary, &applied);
        if by.format != Format::Human {
            render::applied(&applied, by.format, streams.stdout)?;
            streams.stdout.flush()?;
        }
        return Err(Error::DoorNotKept(apply::door::failure_words(&run)));
    }
    tracing::info!(writes = run.writes.len(), "the door is kept");
    Ok(run)
}

/// How many changes of the door the prompt counts: each list to create or change, and the group
/// when it is created or changed.
fn door_change_count(door: &plan::door::DoorPlan) -> usize {
    door.lists.iter().filter(|l| l.has_changes()).count()
        + usize::from(door.group.as_ref().is_some_and(|g| g.has_changes()))
}

/// What the prompt asks for (after "Do you want to"): the deletions, the door's changes, or both.
fn what_is_asked(users: usize, door: usize) -> String {
    let delete = format!("delete {}", crate::text::count(users, "user"));
    let change = format!("make {} to the door", crate::text::count(door, "change"));
    match (users, door) {
        (_, 0) => delete,
        (0, _) => change,
        _ => format!("{change}, then {delete}"),
    }
}

/// How long after its listing a plan approved without a prompt may be re-checked against that
/// same listing. A second listing exists to see what changed while a person read the plan; with
/// `--auto-approve` nobody reads it, and listing again at once would only double the time to the
/// first deletion (a second listing is no fresher by the time its own last page arrives). When
/// writing the plan took longer (a stdout pipe nobody drains), the account is listed again.
const UNATTENDED_FRESH_SECS: i64 = 10;

/// Whether the re-check may use the shown plan's own listing: only when nobody was asked and the
/// listing ended at most [`UNATTENDED_FRESH_SECS`] ago. A clock that went backwards counts as
/// stale.
fn listing_still_fresh(approval: Approval, listed_at: i64, now: i64) -> bool {
    approval == Approval::Auto && (0..=UNATTENDED_FRESH_SECS).contains(&(now - listed_at))
}

/// The Markdown apply report appended to `GITHUB_STEP_SUMMARY`, as `plan` appends its plan, so
/// that the job page says what was deleted. A summary that cannot be written is a warning: the
/// deletions are done, and the report on stdout and the audit log say so.
fn append_summary(path: Option<&Path>, applied: &Applied<'_>) {
    let Some(path) = path else { return };
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| {
            let mut text = render::apply_markdown(applied);
            text.push('\n');
            io::Write::write_all(&mut f, text.as_bytes())
        });
    if let Err(e) = appended {
        tracing::warn!(
            path = %path.display(),
            "cannot append the apply report to GITHUB_STEP_SUMMARY: {e}"
        );
    }
}

/// The deletions recorded in the `--history` logs and in apply's own log, which is read under
/// the lock this run holds, before it appends. `None` when there is no log to read.
fn past_deletions(
    audit: Option<&AuditLog>,
    history: &[PathBuf],
    account: &AccountId,
) -> Result<Option<returned::History>, Error> {
    if audit.is_none() && history.is_empty() {
        return Ok(None);
    }
    // The run's own log, also named by --history, is read once, through the open log: a second
    // open would meet this run's own lock.
    let own = audit.and_then(|log| std::fs::canonicalize(log.path()).ok());
    let others: Vec<PathBuf> = history
        .iter()
        .filter(|p| own.is_none() || std::fs::canonicalize(p).ok() != own)
        .cloned()
        .collect();
    let mut past = history::load(&others, account)?;
    if let Some(log) = audit {
        history::add_open(&mut past, log, account)?;
    }
    Ok(Some(past))
}

/// After the deletions: the summary (human), or the one JSON or Markdown report, and the exit
/// code that says what was done. A report that cannot be written (a closed stdout) is logged; it
/// must not hide the outcome.
fn conclude(
    applied: &Applied<'_>,
    format: Format,
    report_written: io::Result<()>,
    streams: &mut Streams<'_>,
    palette: Palette,
) -> Exit {
    let Some((execution, _)) = applied.run else {
        return Exit::Success;
    };
    let written = report_written.and_then(|()| match format {
        Format::Human => render::apply_summary(execution, streams.stdout, palette),
        _ => render::applied(applied, format, streams.stdout).and_then(|()| streams.stdout.flush()),
    });
    if let Err(e) = written {
        tracing::error!("cannot write the apply report to stdout: {e}");
    }
    if execution.is_complete() {
        Exit::Success
    } else {
        Exit::Partial
    }
}

/// Read a saved plan file through the shared bounded reader: at most
/// [`planfile::MAX_FILE_BYTES`], UTF-8; with `key`, it must be sealed under it (see
/// [`SavedPlan::parse_sealed`]). `name` is the path as shown.
fn read_saved(path: &Path, name: &str, key: Option<&PlanKey>) -> Result<SavedPlan, Error> {
    let not_a_plan = |detail: String| PlanFileError::NotAPlan {
        path: name.to_string(),
        detail,
    };
    let text = fsread::read_text(path, planfile::MAX_FILE_BYTES).map_err(|e| match e {
        ReadError::Io(e) => Error::File {
            path: name.to_string(),
            doing: "read the saved plan",
            source: e,
            help: Some("pass the file written by `reconcile plan --out FILE`"),
        },
        e @ ReadError::NotRegular { .. } => Error::Usage(format!(
            "{name}: {e}\n  help: pass the file written by `reconcile plan --out FILE`"
        )),
        ReadError::TooLarge { limit } => {
            not_a_plan(format!("it holds more than the limit of {limit} bytes")).into()
        }
        ReadError::NotUtf8 { .. } => not_a_plan("not UTF-8 text".into()).into(),
    })?;
    Ok(SavedPlan::parse_sealed(&text, name, key)?)
}

/// Where `apply PLAN_FILE` reports: stdout in `format`, and the job summary.
pub(crate) struct SavedOutput<'a> {
    /// `GITHUB_STEP_SUMMARY`: append the apply report here.
    pub(crate) step_summary: Option<&'a Path>,
    /// `--format`.
    pub(crate) format: Format,
}

/// `apply PLAN_FILE`: apply a reviewed plan without a prompt. Refuses an expired, edited or
/// unknown-version plan, one for another account, or one whose desired state changed (when `-f`
/// is given). Deletes only planned users still present with the same id and email.
pub(crate) async fn saved_apply_flow(
    path: &Path,
    target: &Target,
    exec: &apply::ExecSettings,
    plan_key: Option<&PlanKey>,
    palette: Palette,
    streams: &mut Streams<'_>,
    output: SavedOutput<'_>,
) -> Result<Exit, Error> {
    let SavedOutput {
        step_summary,
        format,
    } = output;
    let name = fsread::display_path(path);
    let saved = read_saved(path, &name, plan_key)?;
    saved.check_usable(now_secs(target.clock), &name)?;
    // Before anything is listed: an audit log that cannot be written stops the run here.
    let mut audit = apply::open_audit(exec)?;
    let account = saved.account(&name, target.account_id.as_ref())?;
    // Without the desired state, a user allowed, protected or active since the review would be
    // deleted all the same: the files are required, and must be the reviewed ones.
    if target.files.is_empty() {
        return Err(Error::Usage(format!(
            "{name}: apply PLAN_FILE needs the desired-state files too (-f PATH), so that it can check they are the ones reviewed and that every planned user is still an extra; nothing was deleted\n  help: reconcile apply {name} -f desired/"
        )));
    }
    let desired = crate::config::load(&target.files)?;
    for warning in &desired.warnings {
        tracing::warn!("{warning}");
    }
    saved.check_desired(&name, &account, &desired)?;
    let credentials = target.credentials.clone().ok_or_else(no_credentials)?;
    let client = Client::with_config(
        &target.api_url,
        credentials,
        &account,
        target.client.clone(),
    )?;
    let fresh = compute(&desired, &client, &target.overrides, target.clock).await?;
    let check = planfile::check(&saved, &fresh).map_err(|refusal| {
        Error::Refused(format!(
            "{name}: on the users listed now, the saved plan no longer passes the safety rails: {}",
            crate::render::words::refusal(&refusal)
        ))
    })?;
    if check.account_changed {
        tracing::warn!("the account's users changed since the plan was made; only users in the plan, still present with the same id and email, are deleted");
    }
    // Invariant 1: only users of the reviewed plan, still present as planned, are deleted.
    let (confirmed, unapplied) = check.recheck.split();
    // The door, read and planned again: it must be the one reviewed, and only then is it
    // written, before anyone is deleted.
    let door = plan_door(&desired, &client, exec.clock.today(), &fresh.limits).await?;
    saved.check_door(&name, door.as_ref())?;
    let context = apply::AuditContext::from_digests(
        account.as_str(),
        saved.desired_digest.clone(),
        saved.live_fingerprint.clone(),
        exec,
    );
    // Ctrl-C and SIGTERM are heard from the first door write on, through the deletions.
    let mut signals = apply::ctrl_c();
    let mut door_run = None;
    if let Some(door) = door.as_ref().filter(|d| d.has_changes()) {
        let kept = KeptBy {
            client: &client,
            context: &context,
            format,
            step_summary,
            approved: Approved::Saved {
                path: &name,
                plan: &saved,
            },
        };
        door_run = Some(keep_the_door(door, kept, audit.as_mut(), &mut signals, streams).await?);
    }
    let execution = apply::execute_with(confirmed, &client, exec, audit, &context, signals).await;
    let applied = Applied {
        account: account.as_str(),
        approved: Approved::Saved {
            path: &name,
            plan: &saved,
        },
        run: Some((&execution, &unapplied)),
        door: door_run.as_ref(),
    };
    let written = match format {
        Format::Human => render::saved_report(
            &name,
            &saved,
            &unapplied,
            &execution.report,
            execution.is_complete(),
            streams.stdout,
            palette,
        ),
        _ => Ok(()),
    };
    append_summary(step_summary, &applied);
    Ok(conclude(&applied, format, written, streams, palette))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_counts_the_users_and_the_door() {
        assert_eq!(what_is_asked(3, 0), "delete 3 users");
        assert_eq!(what_is_asked(1, 0), "delete 1 user");
        assert_eq!(what_is_asked(0, 1), "make 1 change to the door");
        assert_eq!(
            what_is_asked(2, 3),
            "make 3 changes to the door, then delete 2 users"
        );
    }

    #[test]
    fn only_an_unattended_approval_right_after_the_listing_reuses_it() {
        let at = 1_000_000;
        assert!(listing_still_fresh(Approval::Auto, at, at));
        assert!(listing_still_fresh(Approval::Auto, at, at + 10));
        assert!(!listing_still_fresh(Approval::Auto, at, at + 11));
        assert!(!listing_still_fresh(Approval::Auto, at, at - 1));
        // A person read the plan: whatever the time, list again.
        assert!(!listing_still_fresh(Approval::Ask, at, at));
        assert!(!listing_still_fresh(Approval::Impossible, at, at));
    }
}
