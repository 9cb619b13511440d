//! `run()`: one command from resolved [`Settings`] to an [`Exit`]. The one place where the stages
//! (config → cloudflare → plan → render → confirm → apply) are put together. Errors come back up
//! to `main`, which prints them and maps them to exit codes (see [`Error::exit_code`]).

use std::io::{self, BufRead, Write};
use std::path::Path;

use crate::apply;
use crate::cli::{Action, PlanOutput, Settings, Target};
use crate::cloudflare::{ApiError, Client, Credentials};
use crate::config::{self, ConfigError, Desired};
use crate::date::{self, Date};
use crate::explain;
use crate::export;
use crate::fsread::{self, ReadError};
use crate::model::AccountId;
use crate::plan::recheck::{recheck, Reviewed};
use crate::plan::{self, Plan};
use crate::planfile::{self, PlanFileError, PlanKey, SavedPlan};
use crate::render::{self, Palette};
use crate::sandbox;
use crate::secret::Secret;

/// How a run that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done, or nothing to do.
    Success,
    /// `plan --detailed-exitcode` found changes.
    Changes,
    /// `apply` deleted some users but not all.
    Partial,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Changes => 2,
            Exit::Partial => 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}\nnothing was deleted by this request")]
    Api(#[from] ApiError),
    #[error("{0}")]
    Usage(String),
    /// A safety rail refused the plan; the message says how to go ahead on purpose.
    #[error("{0}\nnothing was deleted")]
    Refused(String),
    /// The person at the prompt did not answer `yes`.
    #[error("apply cancelled: nothing was deleted")]
    Declined,
    #[error("{0}")]
    Sandbox(#[from] sandbox::SandboxError),
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A saved plan that cannot be applied (expired, edited, another account...).
    #[error("{0}")]
    PlanFile(#[from] PlanFileError),
    #[error("{0}")]
    Audit(#[from] crate::audit::AuditError),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        1
    }
}

/// The streams a run talks to; tests pass buffers.
pub struct Streams<'a> {
    pub stdout: &'a mut (dyn Write + Send),
    /// Prompts go here (stderr), never to stdout.
    pub prompt: &'a mut (dyn Write + Send),
    pub stdin: &'a mut (dyn BufRead + Send),
}

pub async fn run(settings: Settings, streams: &mut Streams<'_>) -> Result<Exit, Error> {
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let palette = settings.palette;
    match settings.action {
        Action::Plan {
            target,
            detailed_exitcode,
            output,
        } => {
            let (desired, client) = connect(&target)?;
            let plan = compute(&desired, &client, &target.overrides).await?;
            warn_about(&desired, &plan);
            if let Some(refusal) = &plan.refusal {
                // Shown for review, never saved: a refused plan cannot be applied later.
                let shown_only = PlanOutput {
                    save_to: None,
                    ..output
                };
                write_plan(&desired, &plan, &shown_only, palette, streams)?;
                return Err(Error::Refused(refusal.message()));
            }
            write_plan(&desired, &plan, &output, palette, streams)?;
            Ok(if detailed_exitcode && plan.has_changes() {
                Exit::Changes
            } else {
                Exit::Success
            })
        }
        Action::Apply {
            target,
            saved: Some(path),
            exec,
            plan_key,
            ..
        } => saved_apply_flow(&path, &target, &exec, plan_key.as_ref(), palette, streams).await,
        Action::Apply {
            target,
            auto_approve,
            saved: None,
            exec,
            ..
        } => {
            let (desired, client) = connect(&target)?;
            let approval = approval(auto_approve, settings.stdin_is_terminal);
            apply_flow(
                &desired,
                &client,
                &target.overrides,
                approval,
                palette,
                streams,
                &exec,
            )
            .await
        }
        Action::Validate { files } => {
            let desired = config::load(&files)?;
            for warning in &desired.warnings {
                tracing::warn!("{warning}");
            }
            let count =
                |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
            writeln!(
                streams.stdout,
                "valid: {}, {}, {} protected in {}{}",
                count(desired.entries.len(), "user"),
                count(desired.domains.len(), "domain"),
                desired.protected.len(),
                count(desired.files.len(), "file"),
                desired
                    .account()
                    .map(|a| format!(" (account {a})"))
                    .unwrap_or_default()
            )?;
            // Then the files read, one a line, so that a file left out is seen (docs/cli.md).
            for file in &desired.files {
                writeln!(streams.stdout, "  {}", crate::text::printable(file))?;
            }
            Ok(Exit::Success)
        }
        Action::Explain { email, target } => {
            let desired = config::load(&target.files)?;
            let explanation = explain::explain(&desired, &email, Date::today_utc());
            let no_account = desired.account().is_none() && target.account_id.is_none();
            let explanation = match &target.credentials {
                None => explanation,
                Some(_) if no_account => explain::Explanation {
                    live: explain::Live::NotChecked(
                        "no account id: set `account_id:` in the file, or pass --account-id".into(),
                    ),
                    ..explanation
                },
                // An account mismatch or a malformed id is an error here as in `plan`.
                Some(_) => {
                    let client = client_for(&desired, &target)?;
                    explanation.with_plan(&compute(&desired, &client, &target.overrides).await?)
                }
            };
            explanation.render(streams.stdout, palette)?;
            Ok(Exit::Success)
        }
        Action::Export {
            account_id,
            api_url,
            credentials,
            output,
            client,
        } => {
            let account = account_id.ok_or_else(|| {
                Error::Usage(
                    "no account id: pass --account-id (or set CLOUDFLARE_ACCOUNT_ID)".into(),
                )
            })?;
            let credentials = credentials.ok_or_else(no_credentials)?;
            let client = Client::with_config(&api_url, credentials, &account, client)?;
            let listing = client.list_users().await?;
            let (yaml, warnings) =
                export::to_yaml(account.as_str(), &listing.users, Date::today_utc());
            for warning in warnings {
                tracing::warn!("{warning}");
            }
            match output {
                Some(path) => {
                    std::fs::write(&path, yaml).map_err(|e| {
                        Error::Usage(format!("cannot write {}: {e}", fsread::display_path(&path)))
                    })?;
                    tracing::info!(file = %fsread::display_path(&path), users = listing.users.len(), "exported");
                }
                None => streams.stdout.write_all(yaml.as_bytes())?,
            }
            Ok(Exit::Success)
        }
        Action::Schema => {
            let schema = config::schema::json_schema();
            let text =
                serde_json::to_string_pretty(&schema).map_err(|e| Error::Usage(e.to_string()))?;
            writeln!(streams.stdout, "{text}")?;
            Ok(Exit::Success)
        }
        Action::Completions(shell) => {
            crate::cli::completions(shell, streams.stdout);
            Ok(Exit::Success)
        }
        Action::Man => {
            crate::cli::man_page(streams.stdout)?;
            Ok(Exit::Success)
        }
        Action::Demo { auto_approve } => {
            demo(
                approval(auto_approve, settings.stdin_is_terminal),
                palette,
                streams,
            )
            .await
        }
        Action::Sandbox {
            seed,
            generate,
            listen,
            token,
            account_id,
            faults,
            rate_limit,
        } => {
            let mut seed = match (seed, account_id) {
                (Some(path), None) => sandbox::Seed::from_file(&path)?,
                (Some(_), Some(_)) => return Err(Error::Usage(
                    "--account-id is for a sandbox without --seed; the seed file sets the account"
                        .into(),
                )),
                (None, id) => sandbox::Seed::empty(
                    id.as_ref()
                        .map_or(sandbox::DEFAULT_ACCOUNT_ID, AccountId::as_str),
                ),
            };
            seed.generate(generate);
            let options = sandbox::Options {
                token: token.expose().to_string(),
                ..sandbox::Options::default()
            }
            .with_faults(faults, rate_limit);
            sandbox::serve_cli(seed, options, listen, streams.stdout).await?;
            Ok(Exit::Success)
        }
        Action::AuditVerify { file } => audit_verify(&file, streams),
    }
}

/// `reconcile audit verify FILE`: 0 when the chain is intact, 1 (an error naming the first
/// broken line) otherwise.
fn audit_verify(file: &std::path::Path, streams: &mut Streams<'_>) -> Result<Exit, Error> {
    let (records, head) = crate::audit::verify_file(file)?;
    writeln!(
        streams.stdout,
        "{}: {records} record{}, chain intact; head {head}",
        fsread::display_path(file),
        if records == 1 { "" } else { "s" }
    )?;
    Ok(Exit::Success)
}

/// Validate the desired state, settle the account, and build the client. Nothing is sent yet.
fn connect(target: &Target) -> Result<(Desired, Client), Error> {
    let desired = config::load(&target.files)?;
    let client = client_for(&desired, target)?;
    Ok((desired, client))
}

/// The client for the account `desired` (or the flag) names. Nothing is sent yet.
fn client_for(desired: &Desired, target: &Target) -> Result<Client, Error> {
    let account = account_for(desired, target.account_id.as_ref())?;
    let credentials = target.credentials.clone().ok_or_else(no_credentials)?;
    Ok(Client::with_config(
        &target.api_url,
        credentials,
        &account,
        target.client.clone(),
    )?)
}

fn no_credentials() -> Error {
    Error::Usage(
        "no Cloudflare credentials: set CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY)".into(),
    )
}

/// The account comes from the files, or from `--account-id` / `CLOUDFLARE_ACCOUNT_ID`. When both
/// are set they must agree: an allowlist written for one account, applied to another, would delete
/// that account's users.
fn account_for(desired: &Desired, flag: Option<&AccountId>) -> Result<AccountId, Error> {
    match (desired.account_id.as_ref(), flag.cloned()) {
        (Some((file, _)), Some(flag)) if *file != flag => Err(Error::Usage(format!(
            "account mismatch: {} is for account {file}, but --account-id / CLOUDFLARE_ACCOUNT_ID says {flag}\n  help: run against the account the file is for, or unset CLOUDFLARE_ACCOUNT_ID",
            desired.account_id.as_ref().map(|(_, at)| at.to_string()).unwrap_or_default()
        ))),
        (Some((file, _)), _) => Ok(file.clone()),
        (None, Some(flag)) => Ok(flag),
        (None, None) => Err(Error::Usage(
            "no account id: set `account_id:` in the file, or pass --account-id (or CLOUDFLARE_ACCOUNT_ID)".into(),
        )),
    }
}

/// List every live user and compute the plan. Warnings go to the log.
async fn compute(
    desired: &Desired,
    client: &Client,
    overrides: &plan::Overrides,
) -> Result<Plan, Error> {
    tracing::info!(account = %client.account_id(), "listing Access users");
    let listing = client.list_users().await?;
    tracing::info!(
        users = listing.users.len(),
        pages = listing.pages,
        requests = listing.requests,
        "listed Access users"
    );
    let policy = plan::Policy {
        overrides: overrides.clone(),
        ..plan::Policy::at(client.account_id(), date::now_unix())
    };
    Ok(plan::compute_owned(desired, listing.users, &policy))
}

/// Warnings about the desired state and the plan, once per run, on stderr.
fn warn_about(desired: &Desired, plan: &Plan) {
    for warning in &desired.warnings {
        tracing::warn!("{warning}");
    }
    for held in &plan.held {
        tracing::warn!(
            "{} is not on the allowlist but is held back: {}",
            held.label(),
            held.reason.describe()
        );
    }
}

/// How apply gets its go-ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Approval {
    Auto,
    Ask,
    /// No terminal to ask on and no --auto-approve: refuse.
    Impossible,
}

fn approval(auto_approve: bool, stdin_is_terminal: bool) -> Approval {
    match (auto_approve, stdin_is_terminal) {
        (true, _) => Approval::Auto,
        (false, true) => Approval::Ask,
        (false, false) => Approval::Impossible,
    }
}

async fn apply_flow(
    desired: &Desired,
    client: &Client,
    overrides: &plan::Overrides,
    approval: Approval,
    palette: Palette,
    streams: &mut Streams<'_>,
    exec: &apply::ExecSettings,
) -> Result<Exit, Error> {
    // Before anything is listed: an audit log that cannot be written stops the run here.
    let audit = apply::open_audit(exec)?;
    let shown = compute(desired, client, overrides).await?;
    warn_about(desired, &shown);
    render::human(&shown, streams.stdout, palette)?;
    streams.stdout.flush()?;
    if let Some(refusal) = &shown.refusal {
        return Err(Error::Refused(refusal.message()));
    }
    if !shown.has_changes() {
        writeln!(streams.stdout, "\nNothing to delete.")?;
        return Ok(Exit::Success);
    }
    let n = shown.delete.len();
    match approval {
        Approval::Auto => tracing::info!("approved by --auto-approve"),
        Approval::Impossible => {
            return Err(Error::Usage(format!(
                "refusing to delete {n} user{} without confirmation: stdin is not a terminal; nothing was deleted\n  help: review the plan above, then pass --auto-approve (or set RECONCILE_AUTO_APPROVE=true) to apply it",
                if n == 1 { "" } else { "s" }
            )))
        }
        Approval::Ask => {
            write!(
                streams.prompt,
                "\nDo you want to delete these {n} users? Only 'yes' will be accepted to approve.\n  Enter a value: "
            )?;
            streams.prompt.flush()?;
            let mut answer = String::new();
            streams.stdin.read_line(&mut answer)?;
            if answer.trim() != "yes" {
                return Err(Error::Declined);
            }
        }
    }
    // Invariant 1: delete only users who were shown and confirmed and are still extras now, and
    // only if every rail passes again on the fresh listing.
    let fresh = compute(desired, client, overrides).await?;
    let (confirmed, unapplied) = recheck(shown.delete.iter().map(Reviewed::shown), &fresh)
        .map_err(|refusal| {
            Error::Refused(format!(
                "the account changed since the plan was shown, and the plan no longer passes the safety rails: {}",
                refusal.message()
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
    let context = apply::AuditContext::new(desired, &shown, exec);
    let execution =
        apply::execute_with(confirmed, client, exec, audit, &context, apply::ctrl_c()).await;
    let written = writeln!(streams.stdout).and_then(|()| {
        render::report(
            &execution.report,
            &unapplied,
            execution.is_complete(),
            streams.stdout,
            palette,
        )
    });
    Ok(conclude(&execution, written, streams, palette))
}

/// After the deletions: the summary, and the exit code that says what was done. A report that
/// cannot be written (a closed stdout) is logged; it must not hide the outcome.
fn conclude(
    execution: &apply::Execution,
    report_written: io::Result<()>,
    streams: &mut Streams<'_>,
    palette: Palette,
) -> Exit {
    let written =
        report_written.and_then(|()| render::apply_summary(execution, streams.stdout, palette));
    if let Err(e) = written {
        tracing::error!("cannot write the apply report to stdout: {e}");
    }
    if execution.is_complete() {
        Exit::Success
    } else {
        Exit::Partial
    }
}

const DEMO_SEED: &str = include_str!("../examples/demo/seed.yaml");
const DEMO_ALLOWLIST: &str = include_str!("../examples/demo/allowlist.yaml");
const DEMO_TOKEN: &str = "demo-token";

/// Start a sandbox in-process, then plan and apply the demo allowlist against it.
async fn demo(
    approval: Approval,
    palette: Palette,
    streams: &mut Streams<'_>,
) -> Result<Exit, Error> {
    let seed = sandbox::Seed::from_str(DEMO_SEED, "examples/demo/seed.yaml")?;
    let desired = config::parse_str(DEMO_ALLOWLIST, "examples/demo/allowlist.yaml")?;
    let options = sandbox::Options {
        token: DEMO_TOKEN.to_string(),
        ..sandbox::Options::default()
    };
    let server = sandbox::Sandbox::new(seed, options)
        .bind(([127, 0, 0, 1], 0).into())
        .await?;
    tracing::info!(url = %server.base_url(), "sandbox started");
    eprintln!(
        "Demo: a sandbox Cloudflare account is running at {} (examples/demo/seed.yaml);\nthe allowlist is examples/demo/allowlist.yaml.\n",
        server.base_url()
    );
    let account = account_for(&desired, None)?;
    let client = Client::new(
        &server.base_url(),
        Credentials::Token(Secret::new(DEMO_TOKEN)),
        &account,
    )?;
    let exit = match approval {
        // Without a terminal and without --auto-approve, show the plan and stop, as apply would
        // refuse.
        Approval::Impossible => {
            let plan = compute(&desired, &client, &plan::Overrides::default()).await?;
            warn_about(&desired, &plan);
            render::human(&plan, streams.stdout, palette)?;
            eprintln!("\nThis was the plan. Run `reconcile demo` in a terminal, or `reconcile demo --auto-approve`, to apply it to the sandbox.");
            return Ok(Exit::Success);
        }
        approval => {
            let overrides = plan::Overrides::default();
            let exec = apply::ExecSettings::default();
            apply_flow(
                &desired, &client, &overrides, approval, palette, streams, &exec,
            )
            .await?
        }
    };
    writeln!(streams.stdout, "\nPlanning again after apply:\n")?;
    let after = compute(&desired, &client, &plan::Overrides::default()).await?;
    render::human(&after, streams.stdout, palette)?;
    Ok(exit)
}

/// Seconds since the Unix epoch, now.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `plan`'s output: the saved plan (`--out`) first, then the plan on stdout in the chosen format,
/// then the Markdown plan appended to the job summary when `GITHUB_STEP_SUMMARY` is set.
fn write_plan(
    desired: &Desired,
    plan: &Plan,
    output: &PlanOutput,
    palette: Palette,
    streams: &mut Streams<'_>,
) -> Result<(), Error> {
    if let Some(path) = &output.save_to {
        let shown = fsread::display_path(path);
        let saved = SavedPlan::new(desired, plan, now_secs(), output.ttl);
        std::fs::write(path, saved.to_json_sealed(output.plan_key.as_ref())).map_err(|e| {
            Error::Usage(format!(
                "{shown}: cannot write the saved plan: {e}\n  help: check that its directory exists and is writable"
            ))
        })?;
        let sealed = if output.plan_key.is_some() {
            "sealed with the plan key"
        } else {
            "unkeyed digest"
        };
        tracing::info!(
            path = %shown,
            deletions = saved.deletions.len(),
            expires_at = %saved.expires_at,
            sealed,
            "saved the plan"
        );
        eprintln!(
            "Saved the plan to {shown} ({} deletion{}, expires {}, {sealed}). Apply it with: reconcile apply {shown}",
            saved.deletions.len(),
            if saved.deletions.len() == 1 { "" } else { "s" },
            saved.expires_at,
        );
    }
    render::plan(plan, output.format, streams.stdout, palette)?;
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

/// Read a saved plan file through the shared bounded reader: at most
/// [`planfile::MAX_FILE_BYTES`], UTF-8; with `key`, it must be sealed under it (see
/// [`SavedPlan::parse_sealed`]). `name` is the path as shown.
fn read_saved(path: &Path, name: &str, key: Option<&PlanKey>) -> Result<SavedPlan, Error> {
    let not_a_plan = |detail: String| PlanFileError::NotAPlan {
        path: name.to_string(),
        detail,
    };
    let text = fsread::read_text(path, planfile::MAX_FILE_BYTES).map_err(|e| match e {
        ReadError::Io(e) => Error::Usage(format!(
            "{name}: cannot read the saved plan: {e}\n  help: pass the file written by `reconcile plan --out FILE`"
        )),
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

/// `apply PLAN_FILE`: apply a reviewed plan without a prompt. Refuses an expired, edited or
/// unknown-version plan, one for another account, or one whose desired state changed (when `-f`
/// is given). Deletes only planned users still present with the same id and email.
async fn saved_apply_flow(
    path: &Path,
    target: &Target,
    exec: &apply::ExecSettings,
    plan_key: Option<&PlanKey>,
    palette: Palette,
    streams: &mut Streams<'_>,
) -> Result<Exit, Error> {
    let name = fsread::display_path(path);
    let saved = read_saved(path, &name, plan_key)?;
    saved.check_usable(now_secs(), &name)?;
    // Before anything is listed: an audit log that cannot be written stops the run here.
    let audit = apply::open_audit(exec)?;
    let account = AccountId::parse(&saved.account_id).map_err(|e| PlanFileError::NotAPlan {
        path: name.clone(),
        detail: format!("its account_id: {e}"),
    })?;
    let other_account = |given_by: &str, other: &AccountId| PlanFileError::OtherAccount {
        path: name.clone(),
        plan: account.to_string(),
        given_by: given_by.to_string(),
        other: other.to_string(),
    };
    if let Some(flag) = target.account_id.as_ref() {
        if *flag != account {
            return Err(other_account("--account-id / CLOUDFLARE_ACCOUNT_ID", flag).into());
        }
    }
    // Without the desired state, a user allowed, protected or active since the review would be
    // deleted all the same: the files are required, and must be the reviewed ones.
    if target.files.is_empty() {
        return Err(Error::Usage(format!(
            "{name}: apply PLAN_FILE needs the desired-state files too (-f PATH), so that it can check they are the ones reviewed and that every planned user is still an extra; nothing was deleted\n  help: reconcile apply {name} -f desired/"
        )));
    }
    let desired = config::load(&target.files)?;
    for warning in &desired.warnings {
        tracing::warn!("{warning}");
    }
    if let Some(file_account) = desired.account() {
        if *file_account != account {
            return Err(other_account("the desired-state files", file_account).into());
        }
    }
    let now = desired.digest();
    if now != saved.desired_digest {
        return Err(PlanFileError::DesiredChanged {
            path: name,
            planned: saved.desired_digest.clone(),
            now,
        }
        .into());
    }
    let credentials = target.credentials.clone().ok_or_else(no_credentials)?;
    let client = Client::with_config(
        &target.api_url,
        credentials,
        &account,
        target.client.clone(),
    )?;
    let fresh = compute(&desired, &client, &target.overrides).await?;
    let check = planfile::check(&saved, &fresh).map_err(|refusal| {
        Error::Refused(format!(
            "{name}: on the users listed now, the saved plan no longer passes the safety rails: {}",
            refusal.message()
        ))
    })?;
    if check.account_changed {
        tracing::warn!("the account's users changed since the plan was made; only users in the plan, still present with the same id and email, are deleted");
    }
    // Invariant 1: only users of the reviewed plan, still present as planned, are deleted.
    let (confirmed, unapplied) = check.recheck.split();
    let context = apply::AuditContext::from_digests(
        account.as_str(),
        saved.desired_digest.clone(),
        saved.live_fingerprint.clone(),
        exec,
    );
    let execution =
        apply::execute_with(confirmed, &client, exec, audit, &context, apply::ctrl_c()).await;
    let written = render::saved_report(
        &name,
        &saved,
        &unapplied,
        &execution.report,
        execution.is_complete(),
        streams.stdout,
        palette,
    );
    Ok(conclude(&execution, written, streams, palette))
}
