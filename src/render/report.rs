//! What `apply` did, for people: one line per user with its outcome, the users skipped or left
//! alone since the review, the verdict, and the summary (failures, why the run stopped, the final
//! check, the audit log).

use std::io::{self, Write};

use super::{words, Applied, Approved, Palette};
use crate::apply::{Execution, Outcome, Report, Stop, Verification, INTERRUPTED};
use crate::plan::recheck::{Skip, Unapplied};
use crate::planfile::SavedPlan;

/// One line per user the run tried to delete, with what happened.
pub(super) fn outcomes(report: &Report, out: &mut dyn Write, p: Palette) -> io::Result<()> {
    for r in &report.results {
        let (mark, what) = match &r.outcome {
            Outcome::Deleted => (p.removed("-"), "deleted".to_string()),
            Outcome::AlreadyGone => (p.dim("="), "already gone".to_string()),
            Outcome::DeletedAnswerLost => (
                p.removed("-"),
                "deleted (answer lost: the user is gone now)".to_string(),
            ),
            Outcome::Failed(e) => (p.warning("!"), format!("FAILED: {e}")),
            Outcome::Interrupted => (p.warning("!"), format!("FAILED: {INTERRUPTED}")),
            Outcome::NotAttempted => (
                p.warning("!"),
                "not attempted (the run stopped)".to_string(),
            ),
        };
        writeln!(
            out,
            "  {mark} {} ({}): {what}",
            r.decision.label(),
            crate::text::printable(r.decision.id_text())
        )?;
    }
    Ok(())
}

/// What `apply` did.
/// `complete` is the run's own verdict (`Execution::is_complete`: every deletion done, the final
/// check clean, the audit log written), the same that decides the exit code.
pub(crate) fn report(
    report: &Report,
    unapplied: &Unapplied,
    complete: bool,
    out: &mut dyn Write,
    p: Palette,
) -> io::Result<()> {
    outcomes(report, out, p)?;
    for d in &unapplied.dropped {
        writeln!(
            out,
            "  {} {}: skipped, no longer to delete since the plan was shown ({})",
            p.dim("="),
            d.decision.label(),
            words::skip(&d.skip)
        )?;
    }
    for d in &unapplied.unconfirmed {
        writeln!(
            out,
            "  {} {}: new extra, not in the confirmed plan, NOT deleted (run plan again)",
            p.warning("!"),
            d.label()
        )?;
    }
    let c = report.counts();
    let line = format!(
        "Apply {}: {} deleted, {} already gone, {} failed, {} not attempted.",
        if complete { "complete" } else { "incomplete" },
        c.deleted,
        c.already_gone,
        c.failed,
        c.not_attempted
    );
    writeln!(out)?;
    writeln!(out, "{}", p.bold(&line))
}

/// What `apply PLAN_FILE` did: the saved plan, each planned user's outcome or why it was skipped,
/// the new extras it left alone, and a summary.
pub(crate) fn saved_report(
    path: &str,
    saved: &SavedPlan,
    unapplied: &Unapplied,
    report: &Report,
    complete: bool,
    out: &mut dyn Write,
    p: Palette,
) -> io::Result<()> {
    let n = saved.deletions.len();
    writeln!(
        out,
        "Applying saved plan {path} for account {}",
        saved.account_id
    )?;
    writeln!(
        out,
        "  created {}, expires {}; {n} deletion{} reviewed.",
        saved.created_at,
        saved.expires_at,
        crate::text::plural(n)
    )?;
    writeln!(out)?;
    outcomes(report, out, p)?;
    for d in &unapplied.dropped {
        let mark = match d.skip {
            Skip::Gone => p.dim("="),
            _ => p.warning("!"),
        };
        writeln!(
            out,
            "  {mark} {} ({}): {}",
            d.decision.label(),
            crate::text::printable(d.decision.id_text()),
            words::skip(&d.skip)
        )?;
    }
    for d in &unapplied.unconfirmed {
        writeln!(
            out,
            "  {} {}: new extra since the plan, not in it, NOT deleted (run plan again)",
            p.warning("!"),
            d.label()
        )?;
    }
    let c = report.counts();
    writeln!(out)?;
    if report.results.is_empty() {
        let gone = unapplied
            .dropped
            .iter()
            .filter(|d| d.skip == Skip::Gone)
            .count();
        let line = if n == 0 {
            "Nothing to delete: the saved plan has no deletions.".to_string()
        } else if gone == n {
            "Nothing to delete: every user in the saved plan is already gone (applying it again is safe and does nothing).".to_string()
        } else {
            format!("Nothing deleted: none of the {n} planned users is still present as planned.")
        };
        return writeln!(out, "{}", p.bold(&line));
    }
    let gone_before = unapplied
        .dropped
        .iter()
        .filter(|d| d.skip == Skip::Gone)
        .count();
    let line = format!(
        "Apply {}: {} deleted, {} already gone, {} failed, {} not attempted, {} skipped.",
        if complete { "complete" } else { "incomplete" },
        c.deleted,
        c.already_gone + gone_before,
        c.failed,
        c.not_attempted,
        unapplied.dropped.len() - gone_before
    );
    writeln!(out, "{}", p.bold(&line))
}

/// What to grant credentials that may list but not delete. Cloudflare's spec names no
/// permission for the DELETE; "Access: Users Write" is the one its permission catalog lists for
/// Access users, and "Zero Trust: Seats Write" the one the spec gives the PUT of the same path.
pub(crate) const DELETE_PERMISSION: &str = "grant the token Access: Users Write (Cloudflare's spec names no permission for this DELETE; Users Write is the one its permission catalog lists for Access users; if it is still refused, add Zero Trust: Seats Write)";

/// Why deletions stopped early, as the summary says it.
pub(super) fn stop_text(stop: &Stop) -> String {
    match stop {
        Stop::InterruptedBeforeFirst(signal) => {
            format!("interrupted ({signal}) before the first deletion")
        }
        Stop::Interrupted(signal) => format!("interrupted ({signal})"),
        Stop::AuthRefused => {
            "the API refused the credentials; no further deletion was sent".into()
        }
        Stop::WaitTooLong => "the API asked for a wait longer than --max-wait; no further deletion was sent (run again later, or raise --max-wait)".into(),
        Stop::AuditWrite => {
            "the audit log could not be written; no further deletion was sent".into()
        }
        Stop::PermissionRefused => format!(
            "the credentials may list Access users but not delete them (HTTP 403, Cloudflare error 10000); no further deletion was sent: {DELETE_PERMISSION}, then run again"
        ),
    }
}

/// After [`report`] or [`saved_report`]: every failure with its status and Cloudflare codes, why
/// the run stopped, what the final listing found, and the audit log's head.
pub(crate) fn apply_summary(
    execution: &Execution,
    out: &mut dyn Write,
    p: Palette,
) -> io::Result<()> {
    let failed: Vec<_> = execution
        .report
        .results
        .iter()
        .zip(&execution.details)
        .filter(|(r, _)| r.outcome.is_failure())
        .collect();
    if !failed.is_empty() {
        writeln!(
            out,
            "\n{}",
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
                crate::text::plural(d.attempts as usize)
            )?;
        }
    }
    if let Some(stop) = &execution.stopped {
        writeln!(out, "\nStopped early: {}.", stop_text(stop))?;
    }
    match &execution.verification {
        Verification::Skipped(_) => {}
        Verification::Interrupted(signal) => writeln!(
            out,
            "{}",
            p.warning(&format!(
                "Unverified: interrupted ({signal}) during the final listing; run apply again to be sure."
            ))
        )?,
        Verification::Failed(e) => writeln!(
            out,
            "\n{}\n  {e}\n  The API accepted the deletions above, but whether every planned user is gone is not known.",
            p.warning("Unverified: the users could not be listed again to check the result:")
        )?,
        Verification::Listed(still) if still.is_empty() => {
            writeln!(out, "\nChecked: no planned user is still present.")?
        }
        Verification::Listed(still) => {
            writeln!(
                out,
                "\n{}",
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
        writeln!(out, "\n{}", p.warning(&format!("Audit log error: {e}")))?;
    }
    if let Some((path, records, head)) = &execution.audit {
        writeln!(
            out,
            "\nAudit log: {} ({records} record{} written; head {head}).",
            crate::text::display_path(path),
            crate::text::plural(*records)
        )?;
    }
    Ok(())
}

/// What `apply` did, as Markdown for the job summary, a pull-request comment or
/// `apply --format markdown`: the hidden marker a workflow finds its comment by, the verdict and
/// the counts, a table of every planned user with its outcome (deleted, already gone, failed,
/// not attempted, skipped), what the final listing found, then the plan that was approved (the
/// Markdown plan, one level down) or the saved plan applied. Escaped as the Markdown plan is; at
/// most [`super::markdown::MAX_BYTES`] bytes: the outcomes come first, rows beyond the limit are
/// counted in a note, and the plan gets what room is left.
/// The door's writes as a table: each write and how it went.
fn door_markdown(run: &crate::apply::door::DoorRun) -> String {
    use super::markdown::{code, escape};
    use crate::apply::door::DoorOutcome;
    let mut out = String::from("### The door\n\n| Write | Outcome |\n| --- | --- |\n");
    for w in &run.writes {
        let what = match &w.outcome {
            DoorOutcome::Done if w.answer_lost => {
                "done (answer lost; reading back found it made)".to_string()
            }
            DoorOutcome::Done => "done".to_string(),
            DoorOutcome::Failed(why) => format!("**failed**: {}", escape(why)),
            DoorOutcome::NotSent => "not sent (an earlier write failed)".to_string(),
            DoorOutcome::Interrupted => {
                "**interrupted** while it was being sent: whether it was made is unknown"
                    .to_string()
            }
        };
        out.push_str(&format!("| {} | {what} |\n", code(&w.describe())));
    }
    if let Some(e) = &run.audit_error {
        out.push_str(&format!(
            "\n**The audit log could not be written**: {}; no further door write was sent.\n",
            escape(e)
        ));
    }
    out.push('\n');
    out
}

pub(crate) fn markdown(applied: &Applied<'_>) -> String {
    use super::markdown::{code, escape, in_apply, marker, MAX_BYTES};
    use std::fmt::Write as _;
    let account = applied.account;
    let complete = applied.complete();
    let mut out = marker("apply", account);
    let heading = match applied.run {
        None if !complete => "the door was not kept, nobody was deleted",
        None => "nothing to delete",
        Some(_) if complete => "complete",
        Some(_) => "incomplete",
    };
    let _ = writeln!(out, "## reconcile apply: {heading}\n");
    let empty = Unapplied::default();
    let (report, unapplied, execution) = match applied.run {
        Some((execution, unapplied)) => (Some(&execution.report), unapplied, Some(execution)),
        None => (None, &empty, None),
    };
    let c = report.map(Report::counts).unwrap_or_default();
    let _ = writeln!(
        out,
        "Account {} · {} deleted · {} already gone · {} failed · {} not attempted · {} skipped\n",
        code(account),
        c.deleted,
        c.already_gone,
        c.failed,
        c.not_attempted,
        unapplied.dropped.len()
    );
    if let Some(door) = applied.door {
        out.push_str(&door_markdown(door));
    }
    let mut rows: Vec<String> = report
        .map(|r| r.results.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let what = match &r.outcome {
                Outcome::Deleted => "deleted".to_string(),
                Outcome::AlreadyGone => "already gone".to_string(),
                Outcome::DeletedAnswerLost => {
                    "deleted (answer lost: the user is gone now)".to_string()
                }
                Outcome::Failed(e) => format!("**failed**: {}", escape(&e.to_string())),
                Outcome::Interrupted => format!("**failed**: {}", escape(INTERRUPTED)),
                Outcome::NotAttempted => "not attempted (the run stopped)".to_string(),
            };
            format!(
                "| {} | {} | {what} |\n",
                code(&r.decision.label()),
                code(r.decision.id_text())
            )
        })
        .collect();
    rows.extend(unapplied.dropped.iter().map(|d| {
        format!(
            "| {} | {} | skipped: {} |\n",
            code(&d.decision.label()),
            code(d.decision.id_text()),
            super::markdown::skip(&d.skip)
        )
    }));
    rows.extend(unapplied.unconfirmed.iter().map(|d| {
        format!(
            "| {} | {} | new extra, not in the reviewed plan, not deleted (run plan again) |\n",
            code(&d.label()),
            code(d.id_text())
        )
    }));
    if !rows.is_empty() {
        out.push_str("| User | Id | Outcome |\n| --- | --- | --- |\n");
        let total = rows.len();
        let mut shown = 0;
        for row in rows {
            if out.len() + row.len() + 2_000 > MAX_BYTES {
                break;
            }
            out.push_str(&row);
            shown += 1;
        }
        if shown < total {
            let _ = writeln!(
                out,
                "\n_… and {} more users not shown here: the job log and the audit log have every one._",
                total - shown
            );
        }
        out.push('\n');
    }
    if let Some(stop) = execution.and_then(|e| e.stopped.as_ref()) {
        let _ = writeln!(out, "Stopped early: {}.\n", escape(&stop_text(stop)));
    }
    let checked = match execution.map(|e| &e.verification) {
        None if !complete => {
            Some("Nobody was deleted: the door was not fully kept (see above).".to_string())
        }
        None => Some("Nothing to delete: every live user is allowed or held back.".to_string()),
        Some(Verification::Skipped(_)) => None,
        Some(Verification::Interrupted(_)) => Some(
            "**Unverified**: the final listing was interrupted; run apply again to be sure.".into(),
        ),
        Some(Verification::Failed(_)) => {
            Some("**Unverified**: the users could not be listed again to check the result.".into())
        }
        Some(Verification::Listed(still)) if still.is_empty() => {
            Some("Checked: no planned user is still present.".to_string())
        }
        Some(Verification::Listed(still)) => Some(format!(
            "**{} planned user(s) still present** after the run.",
            still.len()
        )),
    };
    if let Some(line) = checked {
        let _ = writeln!(out, "{line}\n");
    }
    if !complete {
        let _ = writeln!(out, "Run the same apply again to finish the job.\n");
    }
    let closing = format!(
        "<sub>Applied by reconcile {}.</sub>\n",
        env!("CARGO_PKG_VERSION")
    );
    match applied.approved {
        Approved::Shown(plan) => {
            let room = MAX_BYTES.saturating_sub(out.len() + closing.len());
            out.push_str(&in_apply(plan, room));
        }
        Approved::Saved { path, plan } => {
            let n = plan.deletions.len();
            let _ = writeln!(
                out,
                "### The saved plan applied\n\n{} for account {}: created {}, expires {}; {n} deletion{} reviewed.\n",
                code(path),
                code(&plan.account_id),
                escape(&plan.created_at),
                escape(&plan.expires_at),
                crate::text::plural(n)
            );
        }
    }
    out.push_str(&closing);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{Execution, UserResult};
    use crate::model::LiveUser;

    fn big(extras: usize) -> crate::plan::Plan {
        let desired =
            crate::config::parse_str("users: [kept@example.com]\n", "users.yaml").unwrap();
        let live: Vec<LiveUser> = (0..extras)
            .map(|n| LiveUser {
                id: Some(format!("00000000-0000-4000-8000-{n:012}")),
                email: Some(format!("extra{n}@example.com")),
                name: Some("<b>|</b>".repeat(40)),
                ..LiveUser::default()
            })
            .collect();
        let policy = crate::plan::Policy {
            overrides: crate::plan::Overrides {
                allow_deletes: Some(extras),
                ..crate::plan::Overrides::default()
            },
            ..crate::plan::Policy::at(&crate::model::AccountId::example(), 1_795_867_200)
        };
        crate::plan::compute(&desired, &live, &policy)
    }

    #[test]
    fn a_large_apply_report_fits_a_comment_with_the_outcomes_first() {
        let plan = big(5_000);
        let execution = Execution {
            report: Report {
                results: plan
                    .delete
                    .iter()
                    .map(|d| UserResult {
                        decision: d.clone(),
                        outcome: Outcome::Deleted,
                    })
                    .collect(),
            },
            details: Vec::new(),
            stopped: None,
            verification: Verification::Listed(Vec::new()),
            audit: None,
            audit_error: None,
        };
        let unapplied = Unapplied::default();
        let text = markdown(&Applied {
            account: plan.account_id.as_str(),
            approved: Approved::Shown(&plan),
            run: Some((&execution, &unapplied)),
            door: None,
        });
        assert!(
            text.len() <= super::super::markdown::MAX_BYTES,
            "{}",
            text.len()
        );
        assert!(text.contains("more users not shown here"), "{text}");
        assert!(text.contains("### The plan applied: 5000 to delete"));
        assert!(text.contains("Checked: no planned user is still present."));
        assert_eq!(text.matches("<!-- reconcile:").count(), 1);
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count()
        );
        assert!(text.ends_with("</sub>\n"), "{}", &text[text.len() - 300..]);
    }
}
