//! `run()`: one command from resolved [`Settings`] to an [`Exit`]. The one place where the stages
//! (config → cloudflare → plan → render → confirm → apply) are put together. Errors come back up
//! to `main`, which prints them and maps them to exit codes (see [`Error::exit_code`]).

use std::io::{self, BufRead, Write};

use crate::apply;
use crate::cli::{Action, Settings, Target};
use crate::cloudflare::{ApiError, Client, Credentials};
use crate::config::{self, ConfigError, Desired};
use crate::plan::{self, Plan};
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
    /// The person at the prompt did not answer `yes`.
    #[error("apply cancelled: nothing was deleted")]
    Declined,
    #[error("{0}")]
    Sandbox(#[from] sandbox::SandboxError),
    #[error("{0}")]
    Io(#[from] io::Error),
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
    let palette = settings.palette;
    match settings.action {
        Action::Plan {
            target,
            detailed_exitcode,
        } => {
            let (desired, client) = connect(&target)?;
            let plan = compute(&desired, &client).await?;
            warn_about(&desired, &plan);
            render::human(&plan, streams.stdout, palette)?;
            Ok(if detailed_exitcode && plan.has_changes() {
                Exit::Changes
            } else {
                Exit::Success
            })
        }
        Action::Apply {
            target,
            auto_approve,
            exec,
        } => {
            let (desired, client) = connect(&target)?;
            let approval = approval(auto_approve, settings.stdin_is_terminal);
            apply_flow(&desired, &client, approval, palette, streams, &exec).await
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
                (None, id) => {
                    let id = match id {
                        Some(id) => config::check_account_id(&id).map_err(Error::Usage)?,
                        None => sandbox::DEFAULT_ACCOUNT_ID.to_string(),
                    };
                    sandbox::Seed::empty(&id)
                }
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
        file.display(),
        if records == 1 { "" } else { "s" }
    )?;
    Ok(Exit::Success)
}

/// Validate the desired state, settle the account, and build the client. Nothing is sent yet.
fn connect(target: &Target) -> Result<(Desired, Client), Error> {
    let desired = config::load(&target.files)?;
    let account = account_for(&desired, target.account_id.as_deref())?;
    let credentials = target.credentials.clone().ok_or_else(|| {
        Error::Usage(
            "no Cloudflare credentials: set CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY)".into(),
        )
    })?;
    Ok((
        desired,
        Client::with_config(
            &target.api_url,
            credentials,
            &account,
            target.client.clone(),
        )?,
    ))
}

/// The account comes from the files, or from `--account-id` / `CLOUDFLARE_ACCOUNT_ID`. When both
/// are set they must agree: an allowlist written for one account, applied to another, would delete
/// that account's users.
fn account_for(desired: &Desired, flag: Option<&str>) -> Result<String, Error> {
    let flag = flag
        .map(|raw| {
            config::check_account_id(raw)
                .map_err(|e| Error::Usage(format!("--account-id / CLOUDFLARE_ACCOUNT_ID: {e}")))
        })
        .transpose()?;
    match (desired.account_id.as_ref(), flag) {
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
async fn compute(desired: &Desired, client: &Client) -> Result<Plan, Error> {
    tracing::info!(account = client.account_id(), "listing Access users");
    let listing = client.list_users().await?;
    tracing::info!(
        users = listing.users.len(),
        pages = listing.pages,
        requests = listing.requests,
        "listed Access users"
    );
    Ok(plan::compute(desired, &listing.users, client.account_id()))
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
    approval: Approval,
    palette: Palette,
    streams: &mut Streams<'_>,
    exec: &apply::ExecSettings,
) -> Result<Exit, Error> {
    // Before anything is listed: an audit log that cannot be written stops the run here.
    let audit = apply::open_audit(exec)?;
    let shown = compute(desired, client).await?;
    warn_about(desired, &shown);
    render::human(&shown, streams.stdout, palette)?;
    streams.stdout.flush()?;
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
    // Invariant 1: delete only users who were shown and confirmed and are still extras now.
    let fresh = compute(desired, client).await?;
    let recheck = plan::recheck(&shown, &fresh);
    if !recheck.dropped.is_empty() || !recheck.unconfirmed.is_empty() {
        tracing::warn!(
            dropped = recheck.dropped.len(),
            unconfirmed = recheck.unconfirmed.len(),
            "the account changed since the plan was shown; only users still in the plan are deleted"
        );
    }
    let context = apply::AuditContext::new(desired, &shown, exec);
    let execution =
        apply::execute_with(recheck, client, exec, audit, &context, apply::ctrl_c()).await;
    writeln!(streams.stdout)?;
    render::report(&execution.report, streams.stdout, palette)?;
    apply::summary(&execution, streams.stdout, palette)?;
    Ok(if execution.is_complete() {
        Exit::Success
    } else {
        Exit::Partial
    })
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
            let plan = compute(&desired, &client).await?;
            warn_about(&desired, &plan);
            render::human(&plan, streams.stdout, palette)?;
            eprintln!("\nThis was the plan. Run `reconcile demo` in a terminal, or `reconcile demo --auto-approve`, to apply it to the sandbox.");
            return Ok(Exit::Success);
        }
        approval => {
            let exec = apply::ExecSettings::default();
            apply_flow(&desired, &client, approval, palette, streams, &exec).await?
        }
    };
    writeln!(streams.stdout, "\nPlanning again after apply:\n")?;
    let after = compute(&desired, &client).await?;
    render::human(&after, streams.stdout, palette)?;
    Ok(exit)
}
