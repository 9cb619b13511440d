//! `reconcile plan`: list, plan, show; save the plan with `--out`, append it to the job summary.

use std::io::Write;
use std::path::PathBuf;

use crate::commands::shared::{
    compute, connect_showing_door, leave_to_exit, now_secs, plan_door, warn_about,
};
use crate::commands::{Error, Exit, Streams};
use crate::config::Desired;
use crate::date::Clock;
use crate::fsread;
use crate::history;
use crate::plan::{returned, Plan};
use crate::planfile::SavedPlan;
use crate::render::{self, Palette};
use crate::settings::{PlanOutput, Target};

pub(crate) async fn run(
    target: Target,
    detailed_exitcode: bool,
    output: PlanOutput,
    history: &[PathBuf],
    palette: Palette,
    streams: &mut Streams<'_>,
) -> Result<Exit, Error> {
    let (desired, client) = connect_showing_door(&target)?;
    // Before anything is listed: a history that cannot be read stops the run here.
    let past = match history {
        [] => None,
        paths => Some(history::load(paths, client.account_id())?),
    };
    // One instant for the whole plan: the users' `expires:` and the door's are read on the same
    // day, even when the run crosses midnight.
    let clock = Clock::Fixed(target.clock.unix());
    let mut plan = compute(&desired, &client, &target.overrides, clock).await?;
    plan.door = plan_door(&desired, &client, clock.today(), &plan.limits).await?;
    if let Some(past) = &past {
        mark_returned(&mut plan, past);
    }
    warn_about(&desired, &plan);
    if plan.refusal.is_some() || plan.door_refused() {
        // Shown for review, never saved: a refused plan cannot be applied later.
        let shown_only = PlanOutput {
            save_to: None,
            ..output
        };
        write_plan(&desired, &plan, &shown_only, &target, palette, streams)?;
        return Err(Error::Refused(refused(&plan)));
    }
    write_plan(&desired, &plan, &output, &target, palette, streams)?;
    let exit = if detailed_exitcode && (plan.has_changes() || plan.has_door_changes()) {
        Exit::Changes
    } else {
        Exit::Success
    };
    leave_to_exit((plan, desired));
    Ok(exit)
}

/// Why a plan may not be applied: the users' safety rail, then each error of the door (the plan
/// on stdout shows them too, but a pipeline reading JSON sees only stderr).
pub(crate) fn refused(plan: &Plan) -> String {
    let mut why = Vec::new();
    if let Some(refusal) = &plan.refusal {
        why.push(render::words::refusal(refusal));
    }
    if let Some(door) = plan.door.as_ref().filter(|d| d.is_refused()) {
        let mut text = format!(
            "the door's plan is refused ({}): nothing of this plan may be applied, neither the door nor any deletion",
            crate::text::count(door.errors.len(), "error")
        );
        for e in &door.errors {
            text.push_str("\n  - ");
            text.push_str(&render::door::line(&render::door::error_pieces(door, e)));
        }
        why.push(text);
    }
    why.join("\n")
}

/// Mark the users who came back after a past deletion, and say so on stderr too for the ones
/// whose deletion did not hold. The decisions stay as they are: [`returned::mark`] only reads.
pub(crate) fn mark_returned(plan: &mut Plan, past: &returned::History) {
    let reentry = returned::mark(plan, past);
    tracing::info!(
        files = reentry.files_read,
        deletions = reentry.deletions_read,
        returned = reentry.returned.len(),
        "read past deletions"
    );
    // On stderr as well, so that a pipeline reading JSON or Markdown on stdout still shows it.
    if !reentry.returned.is_empty() {
        tracing::warn!("{}", render::words::reentry_summary(&reentry));
    }
    for still in &reentry.still_listed {
        tracing::warn!("{}", render::words::still_listed(still));
    }
    plan.reentry = Some(reentry);
}

/// `plan`'s output: the saved plan (`--out`) first, then the plan on stdout in the chosen format,
/// then the Markdown plan appended to the job summary when `GITHUB_STEP_SUMMARY` is set.
pub(crate) fn write_plan(
    desired: &Desired,
    plan: &Plan,
    output: &PlanOutput,
    target: &Target,
    palette: Palette,
    streams: &mut Streams<'_>,
) -> Result<(), Error> {
    if let Some(path) = &output.save_to {
        let shown = fsread::display_path(path);
        let saved = SavedPlan::new(desired, plan, now_secs(target.clock), output.ttl);
        std::fs::write(path, saved.to_json_sealed(output.plan_key.as_ref())).map_err(|e| {
            Error::File {
                path: shown.clone(),
                doing: "write the saved plan",
                source: e,
                help: Some("check that its directory exists and is writable"),
            }
        })?;
        tracing::info!(
            path = %shown,
            deletions = saved.deletions.len(),
            expires_at = %saved.expires_at,
            keyed = output.plan_key.is_some(),
            "saved the plan"
        );
        let files: Vec<String> = target
            .files
            .iter()
            .map(|f| fsread::display_path(f))
            .collect();
        // A note, not a prompt: `-q` keeps only errors and the output asked for.
        render::notes::plan_saved(
            &shown,
            &files,
            saved.deletions.len(),
            &saved.expires_at,
            output.plan_key.is_some(),
            streams.notes,
        )?;
    }
    // One write per 64 KiB rather than one per line: stdout is line-buffered, and a plan of
    // 100,000 users is millions of lines of JSON.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut *streams.stdout);
    render::plan_with(plan, output.format, output.layout, &mut buffered, palette)?;
    buffered.flush()?;
    drop(buffered);
    if let Some(path) = &output.step_summary {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| {
                let mut text = render::markdown::to_string(plan, render::markdown::MAX_BYTES);
                text.push('\n');
                f.write_all(text.as_bytes())
            });
        if let Err(e) = appended {
            tracing::warn!(
                path = %path.display(),
                "cannot append the plan to GITHUB_STEP_SUMMARY: {e}"
            );
        }
    }
    Ok(())
}
